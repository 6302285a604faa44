// ReLU linear attention (SANA's LiteLA and DC-AE's multi-scale attention) in three launches, fp32
// throughout, never forming the N x N matrix:
//   1. state: each block takes one (batch, head) and one chunk of tokens and writes its partial
//      S = sum_n v_n relu(k_n)^T ([dv, d]) and z = sum_n relu(k_n) ([d]) to a float scratch;
//   2. reduce: the partials of each (batch, head) summed in chunk order (deterministic, no
//      atomics), once;
//   3. out: each block loads its head's S and z into shared memory, then
//      y_n = S relu(q_n) / (z . relu(q_n) + eps).
// The layouts differ between the DiT (token-major [B, N, H*d]) and the DC-AE (channel-major
// [B, G, 3d, N]), so every tensor is addressed through strides (sn_linattn_view).
#include "common.cuh"
#include "kernels.h"

using namespace sn;

#define LA_THREADS 256
#define LA_ACC 8      // state entries per thread per pass
#define LA_TILE 32    // tokens staged in shared memory at a time
// Shared-memory rows are padded by one float: a warp reads one column of a [rows][d] array
// (a channel of 32 tokens, or one channel of 32 rows of S), which with a row stride of d = 32
// would put all 32 reads in one bank.
#define LA_PAD(d) ((d) + 1)

struct View {
    int64_t b, h, n, c;  // strides: batch, head, token, channel
    __device__ int64_t at(int64_t bi, int64_t hi, int64_t n_, int64_t c_) const {
        return bi * b + hi * h + n_ * n + c_ * c;
    }
};

static View view_of(const sn_linattn_view &v) { return View{v.b, v.h, v.n, v.c}; }

template <typename T>
__global__ void k_linattn_state(const T *k, View kv, const T *v, View vv, int64_t H, int64_t N, int64_t d,
                                int64_t dv, int64_t chunk, float *part) {
    extern __shared__ float sm[];
    const int64_t dp = LA_PAD(d), dvp = LA_PAD(dv);
    float *ks = sm, *vs = sm + LA_TILE * dp;  // [LA_TILE][d], [LA_TILE][dv], rows padded
    int64_t bh = blockIdx.y, bi = bh / H, hi = bh % H, ci = blockIdx.x, nchunks = gridDim.x;
    int64_t n0 = ci * chunk, n1 = min(N, n0 + chunk), E = dv * d + d;
    for (int64_t base = 0; base < E; base += LA_THREADS * LA_ACC) {
        float acc[LA_ACC];
        int ii[LA_ACC], jj[LA_ACC];
#pragma unroll
        for (int t = 0; t < LA_ACC; t++) {
            int64_t e = base + threadIdx.x + (int64_t)LA_THREADS * t;
            acc[t] = 0.0f;
            ii[t] = e < dv * d ? (int)(e / d) : -1;  // -1: an entry of z
            jj[t] = e < dv * d ? (int)(e % d) : (int)(e - dv * d);
        }
        for (int64_t t0 = n0; t0 < n1; t0 += LA_TILE) {
            int64_t nt = min((int64_t)LA_TILE, n1 - t0);
            __syncthreads();
            for (int64_t idx = threadIdx.x; idx < nt * d; idx += LA_THREADS) {
                int64_t n = kv.n == 1 ? idx % nt : idx / d, j = kv.n == 1 ? idx / nt : idx % d;
                float x = ld(k, kv.at(bi, hi, t0 + n, j));
                ks[n * dp + j] = x > 0.0f ? x : 0.0f;
            }
            for (int64_t idx = threadIdx.x; idx < nt * dv; idx += LA_THREADS) {
                int64_t n = vv.n == 1 ? idx % nt : idx / dv, i = vv.n == 1 ? idx / nt : idx % dv;
                vs[n * dvp + i] = ld(v, vv.at(bi, hi, t0 + n, i));
            }
            __syncthreads();
            for (int64_t n = 0; n < nt; n++) {
#pragma unroll
                for (int t = 0; t < LA_ACC; t++) {
                    int64_t e = base + threadIdx.x + (int64_t)LA_THREADS * t;
                    if (e >= E) continue;
                    float kj = ks[n * dp + jj[t]];
                    acc[t] += ii[t] >= 0 ? vs[n * dvp + ii[t]] * kj : kj;
                }
            }
        }
#pragma unroll
        for (int t = 0; t < LA_ACC; t++) {
            int64_t e = base + threadIdx.x + (int64_t)LA_THREADS * t;
            if (e < E) part[(bh * nchunks + ci) * E + e] = acc[t];
        }
    }
}

// The partial states of each (batch, head) summed in chunk order into its first chunk's slot.
__global__ void k_linattn_reduce(float *part, int64_t nchunks, int64_t E) {
    int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (e >= E) return;
    float *pb = part + blockIdx.y * nchunks * E;
    float s = pb[e];
    for (int64_t c = 1; c < nchunks; c++) s += pb[c * E + e];
    pb[e] = s;
}

// Adds the chunk-ordered sum of each head's partial states to s ([B*H][dv + 1][d], any float
// dtype): the two-pass form's state accumulation.
__global__ void k_linattn_add_state(const float *part, int64_t nchunks, int64_t E, void *s, int sdt) {
    int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (e >= E) return;
    const float *pb = part + blockIdx.y * nchunks * E;
    float sum = pb[e];
    for (int64_t c = 1; c < nchunks; c++) sum += pb[c * E + e];
    int64_t i = blockIdx.y * E + e;
    float v = ld_any(s, sdt, i) + sum;
    if (sdt == F32) ((float *)s)[i] = v;
    else if (sdt == F16) ((__half *)s)[i] = __float2half_rn(v);
    else ((__nv_bfloat16 *)s)[i] = __float2bfloat16_rn(v);
}

// state: per head [S (dv x d); z (d)] at state + bh * sstride, of dtype sdt
template <typename T>
__global__ void k_linattn_out(const T *q, View qv, T *y, View yv, const void *state, int sdt, int64_t sstride,
                              int64_t H, int64_t N, int64_t d, int64_t dv, float eps) {
    extern __shared__ float sm[];
    const int64_t E = dv * d + d, dp = LA_PAD(d);
    float *S = sm, *z = sm + dv * dp, *qs = z + d;  // S [dv][d], qs [LA_TILE][d] relu(q); rows padded
    int64_t bh = blockIdx.y, bi = bh / H, hi = bh % H;
    for (int64_t e = threadIdx.x; e < E; e += blockDim.x) {
        float x = ld_any(state, sdt, bh * sstride + e);
        if (e < dv * d) S[(e / d) * dp + e % d] = x;
        else z[e - dv * d] = x;
    }
    int64_t t0 = blockIdx.x * (int64_t)LA_TILE, nt = min((int64_t)LA_TILE, N - t0);
    for (int64_t idx = threadIdx.x; idx < nt * d; idx += blockDim.x) {
        int64_t n = qv.n == 1 ? idx % nt : idx / d, j = qv.n == 1 ? idx / nt : idx % d;
        float x = ld(q, qv.at(bi, hi, t0 + n, j));
        qs[n * dp + j] = x > 0.0f ? x : 0.0f;
    }
    __syncthreads();
    for (int64_t idx = threadIdx.x; idx < nt * dv; idx += blockDim.x) {
        // token-fastest when y is channel-major, so that stores coalesce either way
        int64_t n = yv.n == 1 ? idx % nt : idx / dv, i = yv.n == 1 ? idx / nt : idx % dv;
        const float *qn = qs + n * dp, *Si = S + i * dp;
        float num = 0.0f, den = 0.0f;
        for (int64_t j = 0; j < d; j++) {
            num += Si[j] * qn[j];
            den += z[j] * qn[j];
        }
        st(y, yv.at(bi, hi, t0 + n, i), num / (den + eps));
    }
}

// mode 0: whole attention; 1: state only, added to `state` (sdt); 2: apply `state` only
template <typename T>
static int linattn_t(int mode, const void *q, View qv, const void *k, View kv, const void *v, View vv, void *y,
                     View yv, int64_t B, int64_t H, int64_t N, int64_t d, int64_t dv, float eps, float *part,
                     int64_t chunk, void *state, int sdt, cudaStream_t s) {
    int64_t nchunks = (N + chunk - 1) / chunk, E = dv * d + d;
    size_t sm1 = (size_t)LA_TILE * (LA_PAD(d) + LA_PAD(dv)) * sizeof(float);
    size_t sm2 = (size_t)(dv * LA_PAD(d) + d + LA_TILE * LA_PAD(d)) * sizeof(float);
    if (sm1 > 48 * 1024 || sm2 > 48 * 1024 || B * H > 65535) return (int)cudaErrorInvalidValue;
    if (B * H == 0) return 0; /* a grid of zero blocks is a launch error */
    int e = 0;
    if (mode == 2) {
        k_linattn_out<<<dim3((unsigned)((N + LA_TILE - 1) / LA_TILE), (unsigned)(B * H)), LA_THREADS, sm2, s>>>(
            (const T *)q, qv, (T *)y, yv, state, sdt, E, H, N, d, dv, eps);
        return SN_LAUNCHED();
    }
    k_linattn_state<<<dim3((unsigned)nchunks, (unsigned)(B * H)), LA_THREADS, sm1, s>>>(
        (const T *)k, kv, (const T *)v, vv, H, N, d, dv, chunk, part);
    if ((e = SN_LAUNCHED())) return e;
    if (mode == 1) {
        k_linattn_add_state<<<dim3((unsigned)((E + 255) / 256), (unsigned)(B * H)), 256, 0, s>>>(part, nchunks, E,
                                                                                                  state, sdt);
        return SN_LAUNCHED();
    }
    if (nchunks > 1) {
        k_linattn_reduce<<<dim3((unsigned)((dv * d + d + 255) / 256), (unsigned)(B * H)), 256, 0, s>>>(part, nchunks,
                                                                                                     dv * d + d);
        if ((e = SN_LAUNCHED())) return e;
    }
    /* the summed state is in each head's first chunk slot */
    k_linattn_out<<<dim3((unsigned)((N + LA_TILE - 1) / LA_TILE), (unsigned)(B * H)), LA_THREADS, sm2, s>>>(
        (const T *)q, qv, (T *)y, yv, part, F32, nchunks * E, H, N, d, dv, eps);
    return SN_LAUNCHED();
}

extern "C" int64_t sn_k_linattn_scratch_floats(int64_t B, int64_t H, int64_t N, int64_t d, int64_t dv) {
    int64_t nchunks = (N + SN_LINATTN_CHUNK - 1) / SN_LINATTN_CHUNK;
    return B * H * nchunks * (dv * d + d);
}

extern "C" int sn_k_linattn(const void *q, sn_linattn_view qv, const void *k, sn_linattn_view kv, const void *v,
                            sn_linattn_view vv, void *y, sn_linattn_view yv, int dt, int64_t B, int64_t H,
                            int64_t N, int64_t d, int64_t dv, float eps, float *scratch, cudaStream_t s) {
    if (N == 0) return 0;
    return SN_DISPATCH(dt, linattn_t, 0, q, view_of(qv), k, view_of(kv), v, view_of(vv), y, view_of(yv), B, H, N, d,
                       dv, eps, scratch, (int64_t)SN_LINATTN_CHUNK, (void *)NULL, F32, s);
}

extern "C" int sn_k_linattn_state(const void *k, sn_linattn_view kv, const void *v, sn_linattn_view vv, int dt,
                                  int64_t B, int64_t H, int64_t N, int64_t d, int64_t dv, float *scratch,
                                  void *state, int state_dt, cudaStream_t s) {
    if (N == 0) return 0;
    View none = {0, 0, 0, 0};
    return SN_DISPATCH(dt, linattn_t, 1, (const void *)NULL, none, k, view_of(kv), v, view_of(vv), (void *)NULL,
                       none, B, H, N, d, dv, 0.0f, scratch, (int64_t)SN_LINATTN_CHUNK, state, state_dt, s);
}

extern "C" int sn_k_linattn_apply(const void *q, sn_linattn_view qv, void *y, sn_linattn_view yv, int dt,
                                  int64_t B, int64_t H, int64_t N, int64_t d, int64_t dv, float eps,
                                  const void *state, int state_dt, cudaStream_t s) {
    if (N == 0) return 0;
    View none = {0, 0, 0, 0};
    return SN_DISPATCH(dt, linattn_t, 2, q, view_of(qv), (const void *)NULL, none, (const void *)NULL, none, y,
                       view_of(yv), B, H, N, d, dv, eps, (float *)NULL, (int64_t)SN_LINATTN_CHUNK,
                       (void *)state, state_dt, s);
}
