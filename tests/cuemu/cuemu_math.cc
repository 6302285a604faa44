// Host definitions of the device intrinsics the toolkit's headers declare (extern "C", device
// only) and the kernels use. The fast-math ones compute the accurate value: cuemu checks index
// math and control flow, not the last bits of the GPU's approximations.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cuemu.h"

extern "C" {
float __expf(float x) __THROW { return expf(x); }
float __exp10f(float x) __THROW { return exp10f(x); }
float __logf(float x) __THROW { return logf(x); }
float __log2f(float x) __THROW { return log2f(x); }
float __powf(float x, float y) __THROW { return powf(x, y); }
float __sinf(float x) __THROW { return sinf(x); }
float __cosf(float x) __THROW { return cosf(x); }
float __tanf(float x) __THROW { return tanf(x); }
float __fdividef(float x, float y) { return x / y; }
float __saturatef(float x) { return x < 0.0f ? 0.0f : x > 1.0f ? 1.0f : x; }
float __fmaf_rn(float x, float y, float z) { return fmaf(x, y, z); }
float __frcp_rn(float x) { return 1.0f / x; }
float __fsqrt_rn(float x) { return sqrtf(x); }
int __popc(unsigned int x) { return __builtin_popcount(x); }
int __ffs(int x) { return __builtin_ffs(x); }
int __clz(int x) { return x == 0 ? 32 : __builtin_clz((unsigned)x); }
void __threadfence(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
void __trap(void) {
    fprintf(stderr, "cuemu: __trap() in a kernel\n");
    abort();
}
}
