// DC-AE kernels: the columns of a row-banded convolution with fused nearest upsampling (the GEMM
// is cuBLASLt's, batched over output rows), the per-pixel channel RMSNorm, and the
// parameter-free up/down shortcuts of residual autoencoding.
#include "common.cuh"
#include "kernels.h"

using namespace sn;

#define SN_GRID_LOOP(i, n) \
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

// cols[r, (ci*kh + ky)*kw + kx, ox] for output rows oy = oy0 + r of one image: the value of the
// upsampled input at (oy*stride - pad + ky, ox*stride - pad + kx), zero outside it. x holds rows
// [x_row0, ...) of the (not upsampled) input.
template <typename T>
__global__ void k_im2col_band(const T *x, T *cols, int64_t rows, int64_t Ci, int64_t Hx, int64_t Wx, int64_t kh,
                              int64_t kw, int up, int stride, int pad, int64_t x_row0, int64_t Hin, int64_t oy0,
                              int64_t Wo) {
    int64_t K = Ci * kh * kw, Win = Wx * up;
    SN_GRID_LOOP(i, rows * K * Wo) {
        int64_t ox = i % Wo, kk = (i / Wo) % K, r = i / (Wo * K);
        int64_t ci = kk / (kh * kw), ky = (kk / kw) % kh, kx = kk % kw;
        int64_t iy = (oy0 + r) * stride - pad + ky, ix = ox * stride - pad + kx;
        float v = 0.0f;
        if (iy >= 0 && iy < Hin && ix >= 0 && ix < Win) v = ld(x, (ci * Hx + (iy / up - x_row0)) * Wx + ix / up);
        st(cols, i, v);
    }
}
// The same columns with the column row kk = (ci*kh + ky)*kw + kx and the output row r taken from
// the grid (blockIdx.y, blockIdx.z) and ox from the thread: k_im2col_band does 8 64-bit divisions
// per element, and the columns are kh*kw times the input (the GEMM path of a 1024² decode writes
// ~17 G of them: ~0.1 s by issue rate on an H200, an estimate; docs/cuda_status.md, "Audit at
// the real shapes"). Here the per-element divisions are ix / up only.
template <typename T>
__global__ void k_im2col_band_row(const T *x, T *cols, int64_t K, int64_t Hx, int Wx, int kh, int kw, int up,
                                  int stride, int pad, int64_t x_row0, int64_t Hin, int64_t oy0, int Wo) {
    int ox = blockIdx.x * blockDim.x + threadIdx.x;
    if (ox >= Wo) return;
    int kk = blockIdx.y, ci = kk / (kh * kw), ky = (kk / kw) % kh, kx = kk % kw;
    int64_t r = blockIdx.z, iy = (oy0 + r) * stride - pad + ky;
    int ix = ox * stride - pad + kx, Win = Wx * up;
    float v = 0.0f;
    if (iy >= 0 && iy < Hin && ix >= 0 && ix < Win) v = ld(x, (ci * Hx + (iy / up - x_row0)) * Wx + ix / up);
    st(cols, (r * K + kk) * Wo + ox, v);
}

#define SN_ROW_THREADS 128
static bool sn_row_grid_fits(int64_t cols, int64_t rows, int64_t planes) {
    return rows <= 65535 && planes <= 65535 && cols <= INT32_MAX - SN_ROW_THREADS;
}
static dim3 sn_row_grid(int64_t cols, int64_t rows, int64_t planes) {
    return dim3((unsigned)((cols + SN_ROW_THREADS - 1) / SN_ROW_THREADS), (unsigned)rows, (unsigned)planes);
}

template <typename T>
static int im2col_band_t(const void *x, void *cols, int64_t rows, int64_t Ci, int64_t Hx, int64_t Wx, int64_t kh,
                         int64_t kw, int up, int stride, int pad, int64_t x_row0, int64_t Hin, int64_t oy0,
                         int64_t Wo, cudaStream_t s) {
    const int64_t K = Ci * kh * kw;
    if (rows * K * Wo == 0) return 0; /* a grid of zero blocks is a launch error */
    if (sn_row_grid_fits(Wo, K, rows) && Wx * up <= INT32_MAX && (Wo + kw) * stride + pad <= INT32_MAX) {
        k_im2col_band_row<<<sn_row_grid(Wo, K, rows), SN_ROW_THREADS, 0, s>>>(
            (const T *)x, (T *)cols, K, Hx, (int)Wx, (int)kh, (int)kw, up, stride, pad, x_row0, Hin, oy0, (int)Wo);
        return SN_LAUNCHED();
    }
    k_im2col_band<<<grid_for(rows * Ci * kh * kw * Wo, 256), 256, 0, s>>>(
        (const T *)x, (T *)cols, rows, Ci, Hx, Wx, kh, kw, up, stride, pad, x_row0, Hin, oy0, Wo);
    return SN_LAUNCHED();
}
extern "C" int sn_k_im2col_band(const void *x, void *cols, int dt, int64_t rows, int64_t Ci, int64_t Hx,
                                int64_t Wx, int64_t kh, int64_t kw, int up, int stride, int pad, int64_t x_row0,
                                int64_t h_full, int64_t oy0, int64_t Wo, cudaStream_t s) {
    return SN_DISPATCH(dt, im2col_band_t, x, cols, rows, Ci, Hx, Wx, kh, kw, up, stride, pad, x_row0,
                       h_full * up, oy0, Wo, s);
}

// The cuDNN form of conv2d_band (lib/backend/cuda/cuda_dnn.c) works on fixed chunks of output
// rows. gather: xin[c, r, ix] = up(x_full)[c, iy0 + r, ix] for r < Rin, ix < Wx*up; zero where
// that row is outside the image (the top and bottom zero padding) or not in x, which holds rows
// [x_row0, x_row0 + Hx) of x_full (rows x lacks feed only output rows outside the band).
template <typename T>
__global__ void k_band_gather(const T *x, T *xin, int64_t Ci, int64_t Hx, int64_t Wx, int up, int64_t x_row0,
                              int64_t Hin, int64_t iy0, int64_t Rin) {
    int64_t Win = Wx * up;
    SN_GRID_LOOP(i, Ci * Rin * Win) {
        int64_t ix = i % Win, r = (i / Win) % Rin, c = i / (Win * Rin);
        int64_t iy = iy0 + r, xr = (iy < 0 ? -1 : iy / up) - x_row0;
        float v = 0.0f;
        if (iy >= 0 && iy < Hin && xr >= 0 && xr < Hx) v = ld(x, (c * Hx + xr) * Wx + ix / up);
        st(xin, i, v);
    }
}
// The per-element kernels here (gather, copy-out, shortcut) spend 4-9 64-bit divisions per
// element (~150-250 instructions); the decode at 1024² moves ~3.5 G elements through the gather and
// copy-out alone, which by issue rate is ~13 ms on an H200, more than the whole decode's FLOP floor
// (docs/cuda_status.md, "Audit at the real shapes"). Their *_row forms take the row and channel
// from the grid (blockIdx.y, blockIdx.z) and the column from the thread: a warp copies 32
// consecutive values of one row, and the only per-element division is by `up` / `f`. They are
// used when the grid fits (rows and channels <= 65535, sn_row_grid_fits), the others otherwise.
template <typename T>
__global__ void k_band_gather_row(const T *x, T *xin, int64_t Hx, int Wx, int up, int64_t x_row0, int64_t Hin,
                                  int64_t iy0, int64_t Rin) {
    int ix = blockIdx.x * blockDim.x + threadIdx.x, Win = Wx * up;
    if (ix >= Win) return;
    int64_t r = blockIdx.y, c = blockIdx.z, iy = iy0 + r, xr = (iy < 0 ? -1 : iy / up) - x_row0;
    float v = 0.0f;
    if (iy >= 0 && iy < Hin && xr >= 0 && xr < Hx) v = ld(x, (c * Hx + xr) * Wx + ix / up);
    st(xin, (c * Rin + r) * Win + ix, v);
}

template <typename T>
static int band_gather_t(const void *x, void *xin, int64_t Ci, int64_t Hx, int64_t Wx, int up, int64_t x_row0,
                         int64_t Hin, int64_t iy0, int64_t Rin, cudaStream_t s) {
    if (Ci * Rin * Wx * up == 0) return 0; /* a grid of zero blocks is a launch error */
    if (sn_row_grid_fits(Wx * up, Rin, Ci)) {
        k_band_gather_row<<<sn_row_grid(Wx * up, Rin, Ci), SN_ROW_THREADS, 0, s>>>((const T *)x, (T *)xin, Hx, (int)Wx,
                                                                                  up, x_row0, Hin, iy0, Rin);
        return SN_LAUNCHED();
    }
    k_band_gather<<<grid_for(Ci * Rin * Wx * up, 256), 256, 0, s>>>((const T *)x, (T *)xin, Ci, Hx, Wx, up, x_row0,
                                                                     Hin, iy0, Rin);
    return SN_LAUNCHED();
}
extern "C" int sn_k_band_gather(const void *x, void *xin, int dt, int64_t Ci, int64_t Hx, int64_t Wx, int up,
                                int64_t x_row0, int64_t h_full, int64_t iy0, int64_t Rin, cudaStream_t s) {
    return SN_DISPATCH(dt, band_gather_t, x, xin, Ci, Hx, Wx, up, x_row0, h_full * up, iy0, Rin, s);
}

// scatter: y[co, dst_row0 + r, :] = out[co, src_row0 + r, :] (+ bias[co]) for r < rows; out holds
// R rows per channel, y Hy rows (one image of each).
template <typename T>
__global__ void k_band_scatter(const T *out, int64_t R, int64_t src_row0, T *y, int64_t Hy, int64_t dst_row0,
                               int64_t Co, int64_t rows, int64_t Wo, const void *bias, int bdt) {
    SN_GRID_LOOP(i, Co * rows * Wo) {
        int64_t ox = i % Wo, r = (i / Wo) % rows, co = i / (Wo * rows);
        float v = ld(out, (co * R + src_row0 + r) * Wo + ox);
        if (bias) v += ld_any(bias, bdt, co);
        st(y, (co * Hy + dst_row0 + r) * Wo + ox, v);
    }
}
template <typename T>
__global__ void k_band_scatter_row(const T *out, int64_t R, int64_t src_row0, T *y, int64_t Hy, int64_t dst_row0,
                                   int Wo, const void *bias, int bdt) {
    int ox = blockIdx.x * blockDim.x + threadIdx.x;
    if (ox >= Wo) return;
    int64_t r = blockIdx.y, co = blockIdx.z;
    float v = ld(out, (co * R + src_row0 + r) * Wo + ox);
    if (bias) v += ld_any(bias, bdt, co);
    st(y, (co * Hy + dst_row0 + r) * Wo + ox, v);
}

template <typename T>
static int band_scatter_t(const void *out, int64_t R, int64_t src_row0, void *y, int64_t Hy, int64_t dst_row0,
                          int64_t Co, int64_t rows, int64_t Wo, const void *bias, int bdt, cudaStream_t s) {
    if (Co * rows * Wo == 0) return 0;
    if (sn_row_grid_fits(Wo, rows, Co)) {
        k_band_scatter_row<<<sn_row_grid(Wo, rows, Co), SN_ROW_THREADS, 0, s>>>((const T *)out, R, src_row0, (T *)y,
                                                                               Hy, dst_row0, (int)Wo, bias, bdt);
        return SN_LAUNCHED();
    }
    k_band_scatter<<<grid_for(Co * rows * Wo, 256), 256, 0, s>>>((const T *)out, R, src_row0, (T *)y, Hy, dst_row0,
                                                                  Co, rows, Wo, bias, bdt);
    return SN_LAUNCHED();
}
extern "C" int sn_k_band_scatter(const void *out, int64_t R, int64_t src_row0, void *y, int dt, int64_t Hy,
                                 int64_t dst_row0, int64_t Co, int64_t rows, int64_t Wo, const void *bias,
                                 int bias_dt, cudaStream_t s) {
    return SN_DISPATCH(dt, band_scatter_t, out, R, src_row0, y, Hy, dst_row0, Co, rows, Wo, bias, bias_dt, s);
}

// One thread per pixel: sum of squares over the channels in fp32 (a warp reads 32 consecutive
// pixels of one channel), then y = act(x * rsqrt(mean + eps) * w + b). y may be x.
template <typename T>
__global__ void k_channel_norm(const T *x, T *y, const void *w, const void *b, int wdt, int64_t B, int64_t C,
                               int64_t P, float eps, int a) {
    SN_GRID_LOOP(i, B * P) {
        int64_t n = i / P, p = i % P;
        const T *xp = x + n * C * P + p;
        float ss = 0.0f;
        for (int64_t c = 0; c < C; c++) {
            float v = ld(xp, c * P);
            ss += v * v;
        }
        float inv = rsqrtf(ss / (float)C + eps);
        T *yp = y + n * C * P + p;
        for (int64_t c = 0; c < C; c++) {
            float o = ld(xp, c * P) * inv * ld_any(w, wdt, c) + (b ? ld_any(b, wdt, c) : 0.0f);
            st(yp, c * P, act(a, o));
        }
    }
}
template <typename T>
static int channel_norm_t(const void *x, void *y, const void *w, const void *b, int wdt, int64_t B, int64_t C,
                          int64_t P, float eps, int a, cudaStream_t s) {
    k_channel_norm<<<grid_for(B * P, 128), 128, 0, s>>>((const T *)x, (T *)y, w, b, wdt, B, C, P, eps, a);
    return SN_LAUNCHED();
}
extern "C" int sn_k_channel_norm(const void *x, void *y, int dt, const void *w, const void *b, int wdt, int64_t B,
                                 int64_t C, int64_t P, float eps, int act, cudaStream_t s) {
    return SN_DISPATCH(dt, channel_norm_t, x, y, w, b, wdt, B, C, P, eps, act, s);
}

// y[n, c, oy, ox] += x[n, (f²c + f·(oy%f) + ox%f) / r, oy/f - x_row0, ox/f], r = f²·Co/Ci, for the
// band of output rows oy = y_row0 + row.
template <typename T>
__global__ void k_shortcut_dup(const T *x, T *y, int64_t B, int64_t Ci, int64_t Hx, int64_t Wx, int64_t Co,
                               int64_t Hy, int64_t Wy, int f, int64_t x_row0, int64_t y_row0) {
    int64_t r = (int64_t)f * f * Co / Ci;
    SN_GRID_LOOP(idx, B * Co * Hy * Wy) {
        int64_t ox = idx % Wy, row = (idx / Wy) % Hy, c = (idx / (Wy * Hy)) % Co, n = idx / (Wy * Hy * Co);
        int64_t oy = y_row0 + row, sc = ((int64_t)f * f * c + f * (oy % f) + ox % f) / r;
        st(y, idx, ld(y, idx) + ld(x, ((n * Ci + sc) * Hx + oy / f - x_row0) * Wx + ox / f));
    }
}
template <typename T>
__global__ void k_shortcut_dup_row(const T *x, T *y, int Ci, int64_t Hx, int64_t Wx, int Co, int64_t Hy, int Wy,
                                   int f, int r, int64_t x_row0, int64_t y_row0) {
    int ox = blockIdx.x * blockDim.x + threadIdx.x;
    if (ox >= Wy) return;
    int64_t row = blockIdx.y, oy = y_row0 + row;
    int nc = blockIdx.z, n = nc / Co, c = nc - n * Co;
    int sc = (f * f * c + f * (int)(oy % f) + ox % f) / r;
    int64_t idx = ((int64_t)nc * Hy + row) * Wy + ox;
    st(y, idx, ld(y, idx) + ld(x, (((int64_t)n * Ci + sc) * Hx + oy / f - x_row0) * Wx + ox / f));
}

template <typename T>
static int shortcut_dup_t(const void *x, void *y, int64_t B, int64_t Ci, int64_t Hx, int64_t Wx, int64_t Co,
                          int64_t Hy, int64_t Wy, int f, int64_t x_row0, int64_t y_row0, cudaStream_t s) {
    if (B * Co * Hy * Wy == 0) return 0;
    int64_t r = (int64_t)f * f * Co / Ci;
    if (sn_row_grid_fits(Wy, Hy, B * Co) && (int64_t)f * f * Co <= INT32_MAX && Ci <= INT32_MAX && r >= 1) {
        k_shortcut_dup_row<<<sn_row_grid(Wy, Hy, B * Co), SN_ROW_THREADS, 0, s>>>(
            (const T *)x, (T *)y, (int)Ci, Hx, Wx, (int)Co, Hy, (int)Wy, f, (int)r, x_row0, y_row0);
        return SN_LAUNCHED();
    }
    k_shortcut_dup<<<grid_for(B * Co * Hy * Wy, 256), 256, 0, s>>>((const T *)x, (T *)y, B, Ci, Hx, Wx, Co, Hy, Wy,
                                                                    f, x_row0, y_row0);
    return SN_LAUNCHED();
}
extern "C" int sn_k_shortcut_dup(const void *x, void *y, int dt, int64_t B, int64_t Ci, int64_t Hx, int64_t Wx,
                                 int64_t Co, int64_t Hy, int64_t Wy, int f, int64_t x_row0, int64_t y_row0,
                                 cudaStream_t s) {
    return SN_DISPATCH(dt, shortcut_dup_t, x, y, B, Ci, Hx, Wx, Co, Hy, Wy, f, x_row0, y_row0, s);
}

// y[n, o, Y, X] += mean over t < g of pixel_unshuffle(x, f)[o·g + t, Y, X], g = f²·Ci/Co; the sum
// in float in channel order, then / g, as the CPU does.
template <typename T>
__global__ void k_shortcut_avg(const T *x, T *y, int64_t B, int64_t Ci, int64_t Hx, int64_t Wx, int64_t Co,
                               int64_t Hy, int64_t Wy, int f) {
    int64_t ff = (int64_t)f * f, g = ff * Ci / Co;
    SN_GRID_LOOP(idx, B * Co * Hy * Wy) {
        int64_t ox = idx % Wy, oy = (idx / Wy) % Hy, o = (idx / (Wy * Hy)) % Co, n = idx / (Wy * Hy * Co);
        float s = 0.0f;
        for (int64_t t = 0; t < g; t++) {
            int64_t u = o * g + t, c = u / ff, i = (u % ff) / f, j = u % f;
            s += ld(x, ((n * Ci + c) * Hx + f * oy + i) * Wx + f * ox + j);
        }
        st(y, idx, ld(y, idx) + s / (float)g);
    }
}
template <typename T>
static int shortcut_avg_t(const void *x, void *y, int64_t B, int64_t Ci, int64_t Hx, int64_t Wx, int64_t Co,
                          int64_t Hy, int64_t Wy, int f, cudaStream_t s) {
    k_shortcut_avg<<<grid_for(B * Co * Hy * Wy, 256), 256, 0, s>>>((const T *)x, (T *)y, B, Ci, Hx, Wx, Co, Hy, Wy,
                                                                    f);
    return SN_LAUNCHED();
}
extern "C" int sn_k_shortcut_avg(const void *x, void *y, int dt, int64_t B, int64_t Ci, int64_t Hx, int64_t Wx,
                                 int64_t Co, int64_t Hy, int64_t Wy, int f, cudaStream_t s) {
    return SN_DISPATCH(dt, shortcut_avg_t, x, y, B, Ci, Hx, Wx, Co, Hy, Wy, f, s);
}
