// Elementwise-shaped ops of the DiT and the text encoder: rotary embedding (fp32 angles), GLU,
// gated residual add, and the channel-last depthwise convolution of the Mix-FFN. One thread per
// output element (per pair for RoPE); values in float, stored in the tensor's dtype.
#include "common.cuh"
#include "kernels.h"

using namespace sn;

#define SN_GRID_LOOP(i, n) \
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

// Rotate-half RoPE over x[BH, N, D]: pair (d, d + D/2) of row n turns by (pos0 + n) * inv_freq(d),
// inv_freq computed like transformers (1 / theta^(2d/D)) in fp32. Both values are read before
// either is written, so y may be x.
template <typename T>
__global__ void k_rope(const T *x, T *y, int64_t rows, int64_t N, int64_t D, float theta, int64_t pos0) {
    int64_t half = D / 2;
    SN_GRID_LOOP(i, rows * half) {
        int64_t d = i % half, r = i / half, n = r % N;
        float inv_freq = 1.0f / powf(theta, (float)(2 * d) / (float)D);
        float ang = (float)(pos0 + n) * inv_freq;
        float c = cosf(ang), s = sinf(ang);
        const T *xr = x + r * D;
        float a = ld(xr, d), b = ld(xr, d + half);
        T *yr = y + r * D;
        st(yr, d, a * c - b * s);
        st(yr, d + half, b * c + a * s);
    }
}
template <typename T>
static int rope_t(const void *x, void *y, int64_t rows, int64_t N, int64_t D, float theta, int64_t pos0,
                  cudaStream_t s) {
    k_rope<<<grid_for(rows * (D / 2), 256), 256, 0, s>>>((const T *)x, (T *)y, rows, N, D, theta, pos0);
    return SN_LAUNCHED();
}
extern "C" int sn_k_rope(const void *x, void *y, int dt, int64_t rows, int64_t N, int64_t D, float theta,
                         int64_t pos0, cudaStream_t s) {
    return SN_DISPATCH(dt, rope_t, x, y, rows, N, D, theta, pos0, s);
}

// y[r, c] = x[r, c] * act(x[r, F + c])
template <typename T>
__global__ void k_glu(const T *x, T *y, int64_t R, int64_t F, int a) {
    SN_GRID_LOOP(i, R * F) {
        int64_t r = i / F, c = i % F;
        const T *xr = x + r * 2 * F;
        st(y, i, ld(xr, c) * act(a, ld(xr, F + c)));
    }
}
template <typename T>
static int glu_t(const void *x, void *y, int64_t R, int64_t F, int a, cudaStream_t s) {
    k_glu<<<grid_for(R * F, 256), 256, 0, s>>>((const T *)x, (T *)y, R, F, a);
    return SN_LAUNCHED();
}
extern "C" int sn_k_glu(const void *x, void *y, int dt, int64_t R, int64_t F, int act, cudaStream_t s) {
    return SN_DISPATCH(dt, glu_t, x, y, R, F, act, s);
}

// x[r, c] += gate[r / per_batch, c] * y[r, c] (gate NULL: x += y)
template <typename T>
__global__ void k_gated_add(T *x, const T *y, const T *gate, int64_t R, int64_t C, int64_t per_batch) {
    SN_GRID_LOOP(i, R * C) {
        int64_t r = i / C, c = i % C;
        float v = ld(y, i);
        if (gate) v *= ld(gate, (r / per_batch) * C + c);
        st(x, i, ld(x, i) + v);
    }
}
template <typename T>
static int gated_add_t(void *x, const void *y, const void *gate, int64_t R, int64_t C, int64_t pb,
                       cudaStream_t s) {
    k_gated_add<<<grid_for(R * C, 256), 256, 0, s>>>((T *)x, (const T *)y, (const T *)gate, R, C, pb);
    return SN_LAUNCHED();
}
extern "C" int sn_k_gated_add(void *x, const void *y, const void *gate, int dt, int64_t R, int64_t C,
                              int64_t per_batch, cudaStream_t s) {
    return SN_DISPATCH(dt, gated_add_t, x, y, gate, R, C, per_batch, s);
}

// Depthwise conv over x[B, H, W, C] (channel fastest: a warp reads consecutive channels), taps in
// the CPU's order (ky, kx) starting from the bias.
template <typename T>
__global__ void k_dwconv_nhwc(const T *x, const void *w, const void *bias, int wdt, T *y, int64_t B, int64_t H,
                              int64_t W, int64_t C, int64_t kh, int64_t kw, int64_t pad, int64_t Ho, int64_t Wo) {
    SN_GRID_LOOP(i, B * Ho * Wo * C) {
        int64_t c = i % C, ox = (i / C) % Wo, oy = (i / (C * Wo)) % Ho, n = i / (C * Wo * Ho);
        float acc = bias ? ld_any(bias, wdt, c) : 0.0f;
        for (int64_t ky = 0; ky < kh; ky++) {
            int64_t iy = oy - pad + ky;
            if (iy < 0 || iy >= H) continue;
            for (int64_t kx = 0; kx < kw; kx++) {
                int64_t ix = ox - pad + kx;
                if (ix < 0 || ix >= W) continue;
                acc += ld(x, ((n * H + iy) * W + ix) * C + c) * ld_any(w, wdt, (c * kh + ky) * kw + kx);
            }
        }
        st(y, i, acc);
    }
}
// The same convolution with the output pixel taken from the grid (blockIdx.y = ox, blockIdx.z =
// image row n * Ho + oy) and the channel from the thread, the weights' dtype a template argument:
// k_dwconv_nhwc spends ~6 64-bit divisions per output and a dtype switch per tap, of the order
// of 300 instructions per output, which at the Mix-FFN's 2 x 32 x 32 x 5760 outputs (Sana-0.6B
// 1024², CFG) is ~0.1 ms per call on an H200 by issue rate, 28 calls a step (docs/cuda_status.md,
// "Audit at the real shapes"). Here a thread does one 32-bit division and 9 taps whose bounds
// are uniform over the block (no divergence). Same taps in the same order: the same sums.
#define SN_DW_THREADS 128
template <typename T, typename WT>
__global__ void k_dwconv_nhwc_px(const T *x, const WT *w, const WT *bias, T *y, int H, int W, int C, int kh,
                                 int kw, int pad, int Ho, int Wo) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    int ox = blockIdx.y, row = blockIdx.z, n = row / Ho, oy = row - n * Ho;
    const T *xn = x + (int64_t)n * H * W * C + c;
    const WT *wc = w + (int64_t)c * kh * kw;
    float acc = bias ? ld(bias, c) : 0.0f;
    for (int ky = 0; ky < kh; ky++) {
        int iy = oy - pad + ky;
        if (iy < 0 || iy >= H) continue;
        const T *xr = xn + (int64_t)iy * W * C;
        for (int kx = 0; kx < kw; kx++) {
            int ix = ox - pad + kx;
            if (ix < 0 || ix >= W) continue;
            acc += ld(xr, (int64_t)ix * C) * ld(wc, ky * kw + kx);
        }
    }
    st(y, ((int64_t)row * Wo + ox) * C + c, acc);
}

template <typename T, typename WT>
static int dwconv_px(const void *x, const void *w, const void *bias, void *y, int64_t B, int64_t H, int64_t W,
                     int64_t C, int64_t kh, int64_t kw, int64_t pad, int64_t Ho, int64_t Wo, cudaStream_t s) {
    dim3 grid((unsigned)((C + SN_DW_THREADS - 1) / SN_DW_THREADS), (unsigned)Wo, (unsigned)(B * Ho));
    k_dwconv_nhwc_px<<<grid, SN_DW_THREADS, 0, s>>>((const T *)x, (const WT *)w, (const WT *)bias, (T *)y, (int)H,
                                                     (int)W, (int)C, (int)kh, (int)kw, (int)pad, (int)Ho, (int)Wo);
    return SN_LAUNCHED();
}

template <typename T>
static int dwconv_nhwc_t(const void *x, const void *w, const void *bias, int wdt, void *y, int64_t B, int64_t H,
                         int64_t W, int64_t C, int64_t kh, int64_t kw, int64_t pad, int64_t Ho, int64_t Wo,
                         cudaStream_t s) {
    if (B * Ho * Wo * C == 0) return 0; /* a grid of zero blocks is a launch error */
    /* the grid's y and z limits (65535); dims that fit in int (the per-tap offsets are 64-bit) */
    if (Wo <= 65535 && B * Ho <= 65535 && H <= INT32_MAX && W <= INT32_MAX && C <= INT32_MAX && kh * kw <= 1024 &&
        pad <= kh + kw) {
        if (wdt == F32) return dwconv_px<T, float>(x, w, bias, y, B, H, W, C, kh, kw, pad, Ho, Wo, s);
        if (wdt == F16) return dwconv_px<T, __half>(x, w, bias, y, B, H, W, C, kh, kw, pad, Ho, Wo, s);
        return dwconv_px<T, __nv_bfloat16>(x, w, bias, y, B, H, W, C, kh, kw, pad, Ho, Wo, s);
    }
    k_dwconv_nhwc<<<grid_for(B * Ho * Wo * C, 256), 256, 0, s>>>((const T *)x, w, bias, wdt, (T *)y, B, H, W, C, kh,
                                                                  kw, pad, Ho, Wo);
    return SN_LAUNCHED();
}
extern "C" int sn_k_dwconv_nhwc(const void *x, const void *w, const void *bias, void *y, int dt, int wdt,
                                int64_t B, int64_t H, int64_t W, int64_t C, int64_t kh, int64_t kw, int64_t pad,
                                int64_t Ho, int64_t Wo, cudaStream_t s) {
    return SN_DISPATCH(dt, dwconv_nhwc_t, x, w, bias, wdt, y, B, H, W, C, kh, kw, pad, Ho, Wo, s);
}
