// Elementwise kernels: dtype conversion, fill, bias + activation, unary, broadcasting binary,
// scale, permute. Grid-stride loops; values computed in float.
#include "common.cuh"
#include "kernels.h"

using namespace sn;

template <typename S, typename D>
__global__ void k_convert(const S *src, D *dst, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        st(dst, i, ld(src, i));
}

template <typename S>
static int convert_from(const S *src, void *dst, int dst_dt, int64_t n, cudaStream_t s) {
    unsigned g = grid_for(n, 256);
    if (dst_dt == F32) k_convert<<<g, 256, 0, s>>>(src, (float *)dst, n);
    else if (dst_dt == F16) k_convert<<<g, 256, 0, s>>>(src, (__half *)dst, n);
    else k_convert<<<g, 256, 0, s>>>(src, (__nv_bfloat16 *)dst, n);
    return SN_LAUNCHED();
}

template <typename S>
static int convert_t(const void *src, void *dst, int dst_dt, int64_t n, cudaStream_t s) {
    return convert_from((const S *)src, dst, dst_dt, n, s);
}

extern "C" int sn_k_convert(const void *src, int src_dt, void *dst, int dst_dt, int64_t n, cudaStream_t s) {
    return SN_DISPATCH(src_dt, convert_t, src, dst, dst_dt, n, s);
}

template <typename T>
__global__ void k_fill(T *y, float v, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        st(y, i, v);
}
template <typename T>
static int fill_t(void *y, float v, int64_t n, cudaStream_t s) {
    k_fill<<<grid_for(n, 256), 256, 0, s>>>((T *)y, v, n);
    return SN_LAUNCHED();
}
extern "C" int sn_k_fill(void *dst, int dt, float value, int64_t n, cudaStream_t s) {
    return SN_DISPATCH(dt, fill_t, dst, value, n, s);
}

template <typename T>
__global__ void k_bias_act(T *y, const void *bias, int bdt, int64_t M, int64_t N, int a) {
    int64_t n = M * N;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        float v = ld(y, i) + (bias ? ld_any(bias, bdt, i % N) : 0.0f);
        st(y, i, act(a, v));
    }
}
template <typename T>
static int bias_act_t(void *y, const void *bias, int bdt, int64_t M, int64_t N, int a, cudaStream_t s) {
    k_bias_act<<<grid_for(M * N, 256), 256, 0, s>>>((T *)y, bias, bdt, M, N, a);
    return SN_LAUNCHED();
}
extern "C" int sn_k_bias_act(void *y, int dt, const void *bias, int bias_dt, int64_t M, int64_t N, int a,
                             cudaStream_t s) {
    return SN_DISPATCH(dt, bias_act_t, y, bias, bias_dt, M, N, a, s);
}

template <typename T>
__global__ void k_unary(const T *x, T *y, int64_t n, int a) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        st(y, i, act(a, ld(x, i)));
}
template <typename T>
static int unary_t(const void *x, void *y, int64_t n, int a, cudaStream_t s) {
    k_unary<<<grid_for(n, 256), 256, 0, s>>>((const T *)x, (T *)y, n, a);
    return SN_LAUNCHED();
}
extern "C" int sn_k_unary(const void *x, void *y, int dt, int64_t n, int a, cudaStream_t s) {
    return SN_DISPATCH(dt, unary_t, x, y, n, a, s);
}

struct Shape4 {
    int64_t a[4];
    int64_t bs[4];
};

// b may have another float dtype than a and y (e.g. an fp32 table added to bf16 activations)
template <typename T>
__global__ void k_binary(const T *a, const void *b, int bdt, T *y, int op, Shape4 sh, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t rem = i, bo = 0;
        // all 4 axes, unrolled: a run-time index into sh would copy it to local memory (a stack
        // frame, a local load per axis and element); axes past nd have size 1 and stride 0 and
        // skip their (slow, 64-bit) division
#pragma unroll
        for (int d = 3; d >= 0; d--) {
            if (sh.a[d] == 1) continue;
            bo += (rem % sh.a[d]) * sh.bs[d];
            rem /= sh.a[d];
        }
        float u = ld(a, i), v = ld_any(b, bdt, bo);
        st(y, i, op == 0 ? u + v : op == 1 ? u * v : u - v);
    }
}
template <typename T>
static int binary_t(const void *a, const void *b, int bdt, void *y, int op, Shape4 sh, int64_t n,
                    cudaStream_t s) {
    k_binary<<<grid_for(n, 256), 256, 0, s>>>((const T *)a, b, bdt, (T *)y, op, sh, n);
    return SN_LAUNCHED();
}
extern "C" int sn_k_binary(const void *a, const void *b, int b_dt, void *y, int dt, int op, int ndim,
                           const int64_t *a_shape, const int64_t *b_strides, cudaStream_t s) {
    Shape4 sh;
    int64_t n = 1;
    for (int d = 0; d < 4; d++) {
        sh.a[d] = d < ndim ? a_shape[d] : 1;
        sh.bs[d] = d < ndim ? b_strides[d] : 0;
        n *= sh.a[d];
    }
    return SN_DISPATCH(dt, binary_t, a, b, b_dt, y, op, sh, n, s);
}

template <typename T>
__global__ void k_scale(const T *x, T *y, int64_t n, float al, float be) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        st(y, i, ld(x, i) * al + be);
}
template <typename T>
static int scale_t(const void *x, void *y, int64_t n, float al, float be, cudaStream_t s) {
    k_scale<<<grid_for(n, 256), 256, 0, s>>>((const T *)x, (T *)y, n, al, be);
    return SN_LAUNCHED();
}
extern "C" int sn_k_scale(const void *x, void *y, int dt, int64_t n, float alpha, float beta, cudaStream_t s) {
    return SN_DISPATCH(dt, scale_t, x, y, n, alpha, beta, s);
}

template <typename T>
__global__ void k_permute(const T *x, T *y, Shape4 sh, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t rem = i, xo = 0;
#pragma unroll
        for (int d = 3; d >= 0; d--) {  // unrolled, as in k_binary
            if (sh.a[d] == 1) continue;
            xo += (rem % sh.a[d]) * sh.bs[d];
            rem /= sh.a[d];
        }
        y[i] = x[xo];
    }
}
template <typename T>
static int permute_t(const void *x, void *y, Shape4 sh, int64_t n, cudaStream_t s) {
    k_permute<<<grid_for(n, 256), 256, 0, s>>>((const T *)x, (T *)y, sh, n);
    return SN_LAUNCHED();
}
extern "C" int sn_k_permute(const void *x, void *y, int dt, int ndim, const int64_t *y_shape,
                            const int64_t *x_strides_of_y, cudaStream_t s) {
    Shape4 sh;
    int64_t n = 1;
    for (int d = 0; d < 4; d++) {
        sh.a[d] = d < ndim ? y_shape[d] : 1;
        sh.bs[d] = d < ndim ? x_strides_of_y[d] : 0;
        n *= sh.a[d];
    }
    return SN_DISPATCH(dt, permute_t, x, y, sh, n, s);
}
