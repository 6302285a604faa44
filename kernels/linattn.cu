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

// A position (n, c) of a [rows][C] tile walked by a block: element idx = o * inner + in, with the
// fastest axis (`inner`) the one that is contiguous in memory, advanced by blockDim.x per step
// with a carry instead of a division per element (a 64-bit division chain per element cost more
// than the arithmetic here).
struct Walk {
    int o, in, so, si, inner;
    __device__ Walk(int inner_) : inner(inner_ > 0 ? inner_ : 1) {
        o = threadIdx.x / inner, in = threadIdx.x % inner;
        so = blockDim.x / inner, si = blockDim.x % inner;
    }
    __device__ void next() {
        in += si, o += so;
        if (in >= inner) in -= inner, o++;
    }
};

// Tokens [t0, t0 + nt) of channels [0, C) of one head into s[n * sp + c] as float (relu'd if
// RELU), read channel-fastest from token-major views and token-fastest from channel-major ones,
// so that a warp's loads coalesce either way.
template <bool RELU, typename T>
__device__ void la_stage(const T *x, const View &xv, int64_t bi, int64_t hi, int64_t t0, int nt, int C, float *s,
                         int sp) {
    const bool tok_fast = xv.n == 1;
    Walk w(tok_fast ? nt : C);
    for (int idx = threadIdx.x; idx < nt * C; idx += blockDim.x, w.next()) {
        int n = tok_fast ? w.in : w.o, c = tok_fast ? w.o : w.in;
        float v = ld(x, xv.at(bi, hi, t0 + n, c));
        s[n * sp + c] = RELU ? (v > 0.0f ? v : 0.0f) : v;
    }
}

// Each thread owns an LA_TI x LA_TJ tile of the extended state [v; 1] · relu(k)ᵀ ((dv + 1) x d:
// row dv is z = sum relu(k)), so a token costs it LA_TI + LA_TJ shared loads for LA_TI * LA_TJ
// FMAs. (Before: 8 single entries per thread, two shared loads per FMA, and at d = dv = 32 half
// the slots empty; ~27 µs per DiT block at Sana-0.6B 1024² with CFG by issue rate, see
// docs/cuda_status.md, "Audit at the real shapes".) Each entry sums its tokens in order, as before.
#define LA_TI 4
#define LA_TJ 2
template <typename T>
__global__ void k_linattn_state_tiled(const T *k, View kv, const T *v, View vv, int64_t H, int64_t N, int d, int dv,
                                      int64_t chunk, float *part) {
    extern __shared__ float sm[];
    const int dp = LA_PAD(d), dvp = LA_PAD(dv);
    float *ks = sm, *vs = sm + LA_TILE * dp;  // [LA_TILE][d], [LA_TILE][dv], rows padded
    int64_t bh = blockIdx.y, bi = bh / H, hi = bh % H, ci = blockIdx.x, nchunks = gridDim.x;
    int64_t n0 = ci * chunk, n1 = min(N, n0 + chunk), E = (int64_t)dv * d + d;
    const int ntj = (d + LA_TJ - 1) / LA_TJ, ntiles = ((dv + 1 + LA_TI - 1) / LA_TI) * ntj;
    for (int base = 0; base < ntiles; base += LA_THREADS) {
        const int tile = base + threadIdx.x;
        const bool active = tile < ntiles;
        const int i0 = active ? tile / ntj * LA_TI : 0, j0 = active ? tile % ntj * LA_TJ : 0;
        int vi_at[LA_TI], kj_at[LA_TJ];  // shared columns read (clamped: entries past the edge are dropped)
#pragma unroll
        for (int a = 0; a < LA_TI; a++) vi_at[a] = min(i0 + a, dv - 1);
#pragma unroll
        for (int b = 0; b < LA_TJ; b++) kj_at[b] = min(j0 + b, d - 1);
        float acc[LA_TI][LA_TJ];
#pragma unroll
        for (int a = 0; a < LA_TI; a++)
#pragma unroll
            for (int b = 0; b < LA_TJ; b++) acc[a][b] = 0.0f;
        for (int64_t t0 = n0; t0 < n1; t0 += LA_TILE) {
            const int nt = (int)min((int64_t)LA_TILE, n1 - t0);
            __syncthreads();
            la_stage<true>(k, kv, bi, hi, t0, nt, d, ks, dp);
            la_stage<false>(v, vv, bi, hi, t0, nt, dv, vs, dvp);
            __syncthreads();
            if (!active) continue;
            for (int n = 0; n < nt; n++) {
                float vi[LA_TI], kj[LA_TJ];
#pragma unroll
                for (int a = 0; a < LA_TI; a++) vi[a] = i0 + a < dv ? vs[n * dvp + vi_at[a]] : 1.0f;  // row dv: z
#pragma unroll
                for (int b = 0; b < LA_TJ; b++) kj[b] = ks[n * dp + kj_at[b]];
#pragma unroll
                for (int a = 0; a < LA_TI; a++)
#pragma unroll
                    for (int b = 0; b < LA_TJ; b++) acc[a][b] += vi[a] * kj[b];
            }
        }
        if (!active) continue;
        float *out = part + (bh * nchunks + ci) * E;
#pragma unroll
        for (int a = 0; a < LA_TI; a++)
#pragma unroll
            for (int b = 0; b < LA_TJ; b++) {
                const int i = i0 + a, j = j0 + b;
                if (i <= dv && j < d) out[(int64_t)i * d + j] = acc[a][b];  // i == dv: z, right after S
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

// state: per head [S (dv x d); z (d)] at state + bh * sstride, of dtype sdt. The denominator
// z · relu(q_n) once per token (it was once per output, dv times), then each output's numerator;
// positions walked without per-element divisions.
template <typename T>
__global__ void k_linattn_out(const T *q, View qv, T *y, View yv, const void *state, int sdt, int64_t sstride,
                              int64_t H, int64_t N, int d, int dv, float eps) {
    extern __shared__ float sm[];
    const int dp = LA_PAD(d);
    // S [dv][d], z [d], qs [LA_TILE][d] relu(q), den [LA_TILE]; rows padded
    float *S = sm, *z = sm + dv * dp, *qs = z + d, *den = qs + LA_TILE * dp;
    int64_t bh = blockIdx.y, bi = bh / H, hi = bh % H;
    {
        Walk w(d);  // o: row of S (dv: z), in: column
        for (int e = threadIdx.x; e < (dv + 1) * d; e += blockDim.x, w.next())
            (w.o < dv ? S + w.o * dp : z)[w.in] = ld_any(state, sdt, bh * sstride + e);
    }
    const int64_t t0 = blockIdx.x * (int64_t)LA_TILE;
    const int nt = (int)min((int64_t)LA_TILE, N - t0);
    la_stage<true>(q, qv, bi, hi, t0, nt, d, qs, dp);
    __syncthreads();
    for (int n = threadIdx.x; n < nt; n += blockDim.x) {
        float s = 0.0f;
        for (int j = 0; j < d; j++) s += z[j] * qs[n * dp + j];
        den[n] = s + eps;
    }
    __syncthreads();
    // token-fastest when y is channel-major, so that stores coalesce either way
    const bool tok_fast = yv.n == 1;
    Walk w(tok_fast ? nt : dv);
    for (int idx = threadIdx.x; idx < nt * dv; idx += blockDim.x, w.next()) {
        const int n = tok_fast ? w.in : w.o, i = tok_fast ? w.o : w.in;
        const float *qn = qs + n * dp, *Si = S + i * dp;
        float num = 0.0f;
        for (int j = 0; j < d; j++) num += Si[j] * qn[j];
        st(y, yv.at(bi, hi, t0 + n, i), num / den[n]);
    }
}

// mode 0: whole attention; 1: state only, added to `state` (sdt); 2: apply `state` only
template <typename T>
static int linattn_t(int mode, const void *q, View qv, const void *k, View kv, const void *v, View vv, void *y,
                     View yv, int64_t B, int64_t H, int64_t N, int64_t d, int64_t dv, float eps, float *part,
                     int64_t chunk, void *state, int sdt, cudaStream_t s) {
    int64_t nchunks = (N + chunk - 1) / chunk, E = dv * d + d;
    size_t sm1 = (size_t)LA_TILE * (LA_PAD(d) + LA_PAD(dv)) * sizeof(float);
    size_t sm2 = (size_t)(dv * LA_PAD(d) + d + LA_TILE * LA_PAD(d) + LA_TILE) * sizeof(float);
    if (sm1 > 48 * 1024 || sm2 > 48 * 1024 || B * H > 65535) return (int)cudaErrorInvalidValue;
    if (B * H == 0) return 0; /* a grid of zero blocks is a launch error */
    int e = 0;
    if (mode == 2) {
        k_linattn_out<<<dim3((unsigned)((N + LA_TILE - 1) / LA_TILE), (unsigned)(B * H)), LA_THREADS, sm2, s>>>(
            (const T *)q, qv, (T *)y, yv, state, sdt, E, H, N, (int)d, (int)dv, eps);
        return SN_LAUNCHED();
    }
    k_linattn_state_tiled<<<dim3((unsigned)nchunks, (unsigned)(B * H)), LA_THREADS, sm1, s>>>(
        (const T *)k, kv, (const T *)v, vv, H, N, (int)d, (int)dv, chunk, part);
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
        (const T *)q, qv, (T *)y, yv, part, F32, nchunks * E, H, N, (int)d, (int)dv, eps);
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
