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
template <typename T>
static int depthwise_t(const void *x, const void *w, const void *bias, void *y, int wdt, int64_t B, int64_t C,
                       int64_t H, int64_t W, int64_t k, int64_t s, int64_t pad, int64_t Ho, int64_t Wo,
                       cudaStream_t st_) {
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
