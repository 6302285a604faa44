// Convolution helpers: im2col for convolution as GEMM (cuBLAS does the product), a direct
// depthwise kernel (the DiT's 3x3 Mix-FFN conv and DC-AE's multi-scale aggregation), and the
// per-channel bias add.
#include "common.cuh"
#include "kernels.h"

using namespace sn;

template <typename T>
__global__ void k_im2col(const T *x, T *cols, int64_t C, int64_t H, int64_t W, int64_t kh, int64_t kw,
                         int64_t s, int64_t pad, int64_t Ho, int64_t Wo) {
    int64_t P = Ho * Wo, n = C * kh * kw * P;
    for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < n; idx += (int64_t)gridDim.x * blockDim.x) {
        int64_t p = idx % P, r = idx / P;
        int64_t c = r / (kh * kw), ky = (r / kw) % kh, kx = r % kw;
        int64_t oy = p / Wo, ox = p % Wo;
        int64_t iy = oy * s - pad + ky, ix = ox * s - pad + kx;
        float v = (iy >= 0 && iy < H && ix >= 0 && ix < W) ? ld(x, (c * H + iy) * W + ix) : 0.0f;
        st(cols, idx, v);
    }
}
template <typename T>
static int im2col_t(const void *x, void *cols, int64_t C, int64_t H, int64_t W, int64_t kh, int64_t kw,
                    int64_t s, int64_t pad, int64_t Ho, int64_t Wo, cudaStream_t st_) {
    k_im2col<<<grid_for(C * kh * kw * Ho * Wo, 256), 256, 0, st_>>>((const T *)x, (T *)cols, C, H, W, kh, kw, s,
                                                                     pad, Ho, Wo);
    return SN_LAUNCHED();
}
extern "C" int sn_k_im2col(const void *x, void *cols, int dt, int64_t C, int64_t H, int64_t W, int64_t kh,
                           int64_t kw, int64_t stride, int64_t pad, int64_t Ho, int64_t Wo, cudaStream_t s) {
    return SN_DISPATCH(dt, im2col_t, x, cols, C, H, W, kh, kw, stride, pad, Ho, Wo, s);
}

template <typename T>
__global__ void k_depthwise(const T *x, const void *w, const void *bias, T *y, int wdt, int64_t B, int64_t C,
                            int64_t H, int64_t W, int64_t k, int64_t s, int64_t pad, int64_t Ho, int64_t Wo) {
    int64_t n = B * C * Ho * Wo;
    for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < n; idx += (int64_t)gridDim.x * blockDim.x) {
        int64_t ox = idx % Wo, oy = (idx / Wo) % Ho, c = (idx / (Wo * Ho)) % C, b = idx / (Wo * Ho * C);
        const T *xc = x + (b * C + c) * H * W;
        float acc = bias ? ld_any(bias, wdt, c) : 0.0f;
        for (int64_t ky = 0; ky < k; ky++) {
            int64_t iy = oy * s - pad + ky;
            if (iy < 0 || iy >= H) continue;
            for (int64_t kx = 0; kx < k; kx++) {
                int64_t ix = ox * s - pad + kx;
                if (ix < 0 || ix >= W) continue;
                acc += ld(xc, iy * W + ix) * ld_any(w, wdt, (c * k + ky) * k + kx);
            }
        }
        st(y, idx, acc);
    }
}
// The same convolution with the image row and channel taken from the grid (blockIdx.y = oy,
// blockIdx.z = b * C + c) and ox from the thread, the weights' dtype a template argument.
// k_depthwise's 4 64-bit divisions per output and dtype switch per tap come to several hundred
// instructions per output; the DC-AE decoder's depthwise 3x3 (8C channels) and 5x5 (3C) convs
// have ~0.45 G outputs at 1024², which by issue rate is ~4 ms on an H200, ~40 % of the decode's
// FLOP floor (docs/cuda_status.md, "Audit at the real shapes"). Here the bounds are uniform over
// a row, the weights the same for the whole block, and a warp reads consecutive x. Same taps
// in the same order: the same sums.
#define SN_DEPTHWISE_THREADS 128
template <typename T, typename WT>
__global__ void k_depthwise_row(const T *x, const WT *w, const WT *bias, T *y, int C, int H, int W, int k, int s,
                                int pad, int Ho, int Wo) {
    int ox = blockIdx.x * blockDim.x + threadIdx.x;
    if (ox >= Wo) return;
    int oy = blockIdx.y, bc = blockIdx.z, c = bc % C;
    const T *xc = x + (int64_t)bc * H * W;
    const WT *wc = w + (int64_t)c * k * k;
    float acc = bias ? ld(bias, c) : 0.0f;
    for (int ky = 0; ky < k; ky++) {
        int iy = oy * s - pad + ky;
        if (iy < 0 || iy >= H) continue;
        const T *xr = xc + (int64_t)iy * W;
        for (int kx = 0; kx < k; kx++) {
            int ix = ox * s - pad + kx;
            if (ix < 0 || ix >= W) continue;
            acc += ld(xr, ix) * ld(wc, ky * k + kx);
        }
    }
    st(y, ((int64_t)bc * Ho + oy) * Wo + ox, acc);
}

template <typename T, typename WT>
static int depthwise_row(const void *x, const void *w, const void *bias, void *y, int64_t B, int64_t C, int64_t H,
                         int64_t W, int64_t k, int64_t s, int64_t pad, int64_t Ho, int64_t Wo, cudaStream_t st_) {
    dim3 grid((unsigned)((Wo + SN_DEPTHWISE_THREADS - 1) / SN_DEPTHWISE_THREADS), (unsigned)Ho, (unsigned)(B * C));
    k_depthwise_row<<<grid, SN_DEPTHWISE_THREADS, 0, st_>>>((const T *)x, (const WT *)w, (const WT *)bias, (T *)y,
                                                            (int)C, (int)H, (int)W, (int)k, (int)s, (int)pad, (int)Ho,
                                                            (int)Wo);
    return SN_LAUNCHED();
}

template <typename T>
static int depthwise_t(const void *x, const void *w, const void *bias, void *y, int wdt, int64_t B, int64_t C,
                       int64_t H, int64_t W, int64_t k, int64_t s, int64_t pad, int64_t Ho, int64_t Wo,
                       cudaStream_t st_) {
    if (B * C * Ho * Wo == 0) return 0; /* a grid of zero blocks is a launch error */
    /* the grid's y and z limits (65535); sizes that fit in int (offsets into x, y are 64-bit) */
    if (Ho <= 65535 && B * C <= 65535 && H <= INT32_MAX && W <= INT32_MAX && Wo <= INT32_MAX && k <= 32 &&
        s <= 1024 && pad <= 1024) {
        if (wdt == F32) return depthwise_row<T, float>(x, w, bias, y, B, C, H, W, k, s, pad, Ho, Wo, st_);
        if (wdt == F16) return depthwise_row<T, __half>(x, w, bias, y, B, C, H, W, k, s, pad, Ho, Wo, st_);
        return depthwise_row<T, __nv_bfloat16>(x, w, bias, y, B, C, H, W, k, s, pad, Ho, Wo, st_);
    }
    k_depthwise<<<grid_for(B * C * Ho * Wo, 256), 256, 0, st_>>>((const T *)x, w, bias, (T *)y, wdt, B, C, H, W, k,
                                                                  s, pad, Ho, Wo);
    return SN_LAUNCHED();
}
extern "C" int sn_k_depthwise(const void *x, const void *w, const void *bias, void *y, int dt, int wdt,
                              int64_t B, int64_t C, int64_t H, int64_t W, int64_t k, int64_t stride,
                              int64_t pad, int64_t Ho, int64_t Wo, cudaStream_t s) {
    return SN_DISPATCH(dt, depthwise_t, x, w, bias, y, wdt, B, C, H, W, k, stride, pad, Ho, Wo, s);
}

template <typename T>
__global__ void k_bias_channels(T *y, const void *bias, int bdt, int64_t C, int64_t P, int64_t n) {
    for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < n; idx += (int64_t)gridDim.x * blockDim.x)
        st(y, idx, ld(y, idx) + ld_any(bias, bdt, (idx / P) % C));
}
template <typename T>
static int bias_channels_t(void *y, const void *bias, int bdt, int64_t B, int64_t C, int64_t P, cudaStream_t s) {
    k_bias_channels<<<grid_for(B * C * P, 256), 256, 0, s>>>((T *)y, bias, bdt, C, P, B * C * P);
    return SN_LAUNCHED();
}
extern "C" int sn_k_bias_channels(void *y, int dt, const void *bias, int bias_dt, int64_t B, int64_t C, int64_t P,
                                  cudaStream_t s) {
    return SN_DISPATCH(dt, bias_channels_t, y, bias, bias_dt, B, C, P, s);
}
