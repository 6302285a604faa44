// Shared device helpers: typed loads/stores through float, dtype dispatch, grid sizing.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

namespace sn {

enum { F32 = 0, F16 = 1, BF16 = 2 };  // the sn_dtype codes for the float types

__device__ __forceinline__ float ld(const float *p, int64_t i) { return p[i]; }
__device__ __forceinline__ float ld(const __half *p, int64_t i) { return __half2float(p[i]); }
__device__ __forceinline__ float ld(const __nv_bfloat16 *p, int64_t i) { return __bfloat162float(p[i]); }
__device__ __forceinline__ void st(float *p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void st(__half *p, int64_t i, float v) { p[i] = __float2half_rn(v); }
__device__ __forceinline__ void st(__nv_bfloat16 *p, int64_t i, float v) { p[i] = __float2bfloat16_rn(v); }

// Loads element i of an untyped pointer of dtype dt (for small side inputs like bias or mask).
__device__ __forceinline__ float ld_any(const void *p, int dt, int64_t i) {
    if (dt == F32) return ((const float *)p)[i];
    if (dt == F16) return __half2float(((const __half *)p)[i]);
    return __bfloat162float(((const __nv_bfloat16 *)p)[i]);
}

__device__ __forceinline__ float act(int a, float x) {
    switch (a) {
    case 1: return x / (1.0f + __expf(-x));                                      // silu
    case 2: return x > 0.0f ? x : 0.0f;                                          // relu
    case 3: return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
    case 4: return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f));            // gelu
    default: return x;
    }
}

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

inline unsigned grid_for(int64_t n, int block) {
    int64_t g = (n + block - 1) / block;
    return (unsigned)(g > 65535 * 32 ? 65535 * 32 : (g < 1 ? 1 : g));
}

}  // namespace sn

// Calls F<T>(args) with T the C++ type of dtype code DT.
#define SN_DISPATCH(DT, F, ...)                                                                  \
    ((DT) == sn::F32   ? F<float>(__VA_ARGS__)                                                   \
     : (DT) == sn::F16 ? F<__half>(__VA_ARGS__)                                                  \
                       : F<__nv_bfloat16>(__VA_ARGS__))

#define SN_LAUNCHED() ((int)cudaGetLastError())
