// Softmax attention: one warp per query row with an online (running max) softmax in float, so
// no score matrix is ever stored. Grouped K/V, soft-cap, causal / sliding-window limits and an
// additive mask [B, 1 or Nq, Nk]. Each lane owns head-dim slices of the output row. The fp32
// check mode and every call the tensor-core kernel (flash_attention.cu) does not cover run here,
// and SANA_CUDA_ATTENTION=simple sends all calls here (lib/backend/cuda/cuda_backend.c).
#include "common.cuh"
#include "kernels.h"

using namespace sn;

#define SN_ATT_MAX_DV 256

template <typename T>
__global__ void k_attention(const T *q, const T *k, const T *v, T *y, int64_t B, int64_t Hq, int64_t Hk,
                            int64_t Nq, int64_t Nk, int64_t D, int64_t Dv, float scale, float softcap,
                            int causal, int window, const void *mask, int mdt, int64_t mask_rows) {
    int64_t row = blockIdx.x * (int64_t)(blockDim.x / 32) + threadIdx.x / 32;
    int lane = threadIdx.x & 31;
    if (row >= B * Hq * Nq) return;
    int64_t i = row % Nq, h = (row / Nq) % Hq, b = row / (Nq * Hq);
    int64_t hk = h / (Hq / Hk);
    const T *qi = q + row * D;
    const T *kb = k + (b * Hk + hk) * Nk * D;
    const T *vb = v + (b * Hk + hk) * Nk * Dv;
    int64_t mrow = mask ? (b * mask_rows + (mask_rows > 1 ? i : 0)) * Nk : 0;

    float acc[SN_ATT_MAX_DV / 32];
    for (int t = 0; t < SN_ATT_MAX_DV / 32; t++) acc[t] = 0.0f;
    float m = -INFINITY, l = 0.0f;
    for (int64_t j = 0; j < Nk; j++) {
        if ((causal && j > i) || (window > 0 && j <= i - window)) continue;
        float part = 0.0f;
        for (int64_t d = lane; d < D; d += 32) part += ld(qi, d) * ld(kb, j * D + d);
        float sc = warp_sum(part) * scale;
        if (softcap > 0.0f) sc = softcap * tanhf(sc / softcap);
        if (mask) sc += ld_any(mask, mdt, mrow + j);
        if (sc == -INFINITY) continue;
        float mn = fmaxf(m, sc);
        float corr = __expf(m - mn), p = __expf(sc - mn);
        l = l * corr + p;
#pragma unroll
        for (int t = 0; t < SN_ATT_MAX_DV / 32; t++) {
            int64_t d = lane + 32 * t;
            acc[t] = acc[t] * corr + (d < Dv ? p * ld(vb, j * Dv + d) : 0.0f);
        }
        m = mn;
    }
    T *yi = y + row * Dv;
    float inv = l > 0.0f ? 1.0f / l : 0.0f;
#pragma unroll
    for (int t = 0; t < SN_ATT_MAX_DV / 32; t++) {
        int64_t d = lane + 32 * t;
        if (d < Dv) st(yi, d, acc[t] * inv);
    }
}

template <typename T>
static int attention_t(const void *q, const void *k, const void *v, void *y, int64_t B, int64_t Hq, int64_t Hk,
                       int64_t Nq, int64_t Nk, int64_t D, int64_t Dv, float scale, float softcap, int causal,
                       int window, const void *mask, int mdt, int64_t mask_rows, cudaStream_t s) {
    int64_t rows = B * Hq * Nq;
    const int warps = 8;
    unsigned grid = (unsigned)((rows + warps - 1) / warps);
    k_attention<<<grid, warps * 32, 0, s>>>((const T *)q, (const T *)k, (const T *)v, (T *)y, B, Hq, Hk, Nq, Nk,
                                            D, Dv, scale, softcap, causal, window, mask, mdt, mask_rows);
    return SN_LAUNCHED();
}

extern "C" int sn_k_attention(const void *q, const void *k, const void *v, void *y, int dt, int64_t B,
                              int64_t Hq, int64_t Hk, int64_t Nq, int64_t Nk, int64_t D, int64_t Dv,
                              float scale, float softcap, int causal, int window, const void *mask,
                              int mask_dt, int64_t mask_rows, cudaStream_t s) {
    if (Dv > SN_ATT_MAX_DV) return (int)cudaErrorInvalidValue;
    return SN_DISPATCH(dt, attention_t, q, k, v, y, B, Hq, Hk, Nq, Nk, D, Dv, scale, softcap, causal, window,
                       mask, mask_dt, mask_rows, s);
}
