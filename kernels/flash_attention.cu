// Softmax attention on the tensor cores for bf16 / fp16 storage (FlashAttention-2 shape): a block
// of 4 warps takes 64 query rows of one (batch, head); each warp owns 16 of them. Key/value tiles
// of BN rows stream through shared memory (cp.async, 16-byte chunks, two stages: the next tile
// loads while this one is used). Per tile, S = Q·Kᵀ and O += P·V are mma.sync m16n8k16 with fp32
// accumulation; the scores get the op's contract (scale, soft-cap, additive mask, causal, sliding
// window, key bounds) and an online softmax in fp32 (running max and sum per row); P is rounded
// to the storage type for the P·V product. Nothing of size Nq x Nk is ever stored.
//
// The contract is the CPU backend's (lib/backend/cpu/cpu_attention.c):
//   a = (q·k) * scale;  a = cap * tanh(a / cap) if cap > 0;  a += mask;  a = -inf where the key is
//   outside the causal / window limits;  y = softmax(a) · V, and y = 0 for a row whose scores are
//   all -inf. Grouped K/V: query head h reads K/V head h / (Hq / Hk).
//
// mma.sync.aligned.m16n8k16.row.col.f32.{bf16,f16}.{bf16,f16}.f32 fragments, as PTX ISA 9.7.14.5.8
// ("Matrix Fragments for mma.m16n8k16 with floating point type") gives their rows and columns;
// g = lane >> 2, t = lane & 3; each 32-bit register holds two 16-bit elements, the lower column
// (A, C) or the lower row (B) in the low half:
//   A (16x16, row-major), 4 regs:  a0 = A[g][2t..2t+1]      a1 = A[g+8][2t..2t+1]
//                                  a2 = A[g][2t+8..2t+9]    a3 = A[g+8][2t+8..2t+9]
//   B (16x8, "col": element (k, n) at n*ld + k), 2 regs:
//                                  b0 = B[2t..2t+1][g]      b1 = B[2t+8..2t+9][g]
//   C/D (16x8 fp32), 4 regs:       c0, c1 = C[g][2t], C[g][2t+1]    c2, c3 = C[g+8][2t], C[g+8][2t+1]
// ldmatrix.m8n8.x4.b16 (PTX ISA 9.7.14.5.15): lanes 8i..8i+7 give the row addresses (16
// contiguous bytes each) of 8x8 matrix i, and register i of lane l receives matrix i's (row l/4,
// columns 2(l%4), 2(l%4)+1); with .trans, (rows 2(l%4), 2(l%4)+1, column l/4) instead. So:
//   - Q tile rows [16w, 16w+16), cols [16kk, 16kk+16) as A: lane l points at row (l & 15), column
//     half (l >> 4): matrices (rows 0-7, cols 0-7), (8-15, 0-7), (0-7, 8-15), (8-15, 8-15) = a0..a3.
//   - K rows [8j, 8j+16) (keys) as B of S = Q·Kᵀ: B[k = d][n = key] = K[key][d], i.e. "col" layout
//     with K's rows as columns, so non-transposed ldmatrix: lane l points at key 8j + (l & 7) +
//     8 (l >> 4), d 16kk + 8 ((l >> 3) & 1): registers = b0, b1 of key block j, then of block j+1.
//   - V rows [16kk, 16kk+16) (keys) as B of O = P·V: B[k = key][n = d] = V[key][d] is row-major,
//     so ldmatrix.trans: lane l points at key 16kk + (l & 7) + 8 ((l >> 3) & 1), d 8j + 8 (l >> 4):
//     registers = b0, b1 of d block j, then b0, b1 of d block j+1.
//   - P as A of P·V straight from the S accumulators (C layout) of key blocks 2kk and 2kk+1:
//     a0 = (c0, c1) of block 2kk, a1 = (c2, c3) of 2kk, a2 = (c0, c1) of 2kk+1, a3 = (c2, c3) of 2kk+1.
// Head dims that are a multiple of 8 but not of 16 (the DiT's cross-attention: 72 for 0.6B) run
// as the next multiple of 16, DP (80): the tiles' extra columns are zero-filled by the copies, so
// they add nothing to Q·Kᵀ and leave O's extra columns 0, which are not stored.
// Shared rows are padded by 16 bytes (stride DP + 8 elements): the 8 row addresses of one
// ldmatrix matrix then fall in 8 different 16-byte bank groups for every DP here (an odd number
// of 16-byte units per row).
// scripts/flash_fragments.py replays these index formulas on the PTX rules in plain Python
// (exact S and P·V for one warp): run it after changing any of them.
// The PTX instructions themselves are wrapped in ptx.cuh (tests/cuemu/ptx.cuh emulates them on the
// CPU, from the ISA's rules, for test_cuemu_attention).
#include <limits.h>
#include <string.h>

#include "common.cuh"
#include "kernels.h"
#include "ptx.cuh"

using namespace sn;
using namespace sn::ptx;

namespace {

constexpr int kWarps = 4;
constexpr int kBM = 16 * kWarps;  // query rows per block

template <int D>
struct FaShape {
    static_assert(D % 8 == 0, "rows are copied in 16-byte chunks");
    static constexpr int DP = (D + 15) / 16 * 16;   // the head dim the tensor cores see
    static constexpr int BN = DP >= 256 ? 32 : 64;  // keys per tile
    static constexpr int LD = DP + 8;               // shared row stride in elements
    // Q tile + two stages of K and V tiles, 16-bit elements
    static constexpr size_t smem = (size_t)(kBM + 4 * BN) * LD * 2;
};

template <typename T>
__device__ __forceinline__ uint32_t pack2(float lo, float hi);
template <>
__device__ __forceinline__ uint32_t pack2<__nv_bfloat16>(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);  // .x (low half) = lo
    uint32_t u;
    memcpy(&u, &v, 4);  // not a cast pointer: that breaks C++ aliasing rules (g++ under cuemu)
    return u;
}
template <>
__device__ __forceinline__ uint32_t pack2<__half>(float lo, float hi) {
    __half2 v = __floats2half2_rn(lo, hi);
    uint32_t u;
    memcpy(&u, &v, 4);
    return u;
}

// Rows [r0, r0 + ROWS) of a dense [n, D] matrix into shared s (row stride LD, DP columns); rows
// >= n and columns >= D are zeros.
template <int ROWS, int D, typename T>
__device__ __forceinline__ void load_tile(T *s, const T *g, int r0, int n) {
    constexpr int CH = FaShape<D>::DP / 8, LD = FaShape<D>::LD;  // 16-byte chunks per shared row
    static_assert((ROWS * CH) % (kWarps * 32) == 0, "tile chunks must split evenly over the block");
#pragma unroll
    for (int n_i = 0; n_i < ROWS * CH / (kWarps * 32); n_i++) {
        const int i = threadIdx.x + n_i * kWarps * 32, r = i / CH, c = i % CH;
        const bool ok = r0 + r < n && c < D / 8;
        const T *src = ok ? g + (int64_t)(r0 + r) * D + c * 8 : g;
        cp_async16(s + r * LD + c * 8, src, ok);
    }
}

template <typename T, int D>
__global__ void __launch_bounds__(kWarps * 32)
    k_flash_attention(const T *__restrict__ q, const T *__restrict__ k, const T *__restrict__ v, T *__restrict__ y,
                      int Hq, int group, int Nq, int Nk, float scale, float softcap, int causal, int window,
                      const void *__restrict__ mask, int mdt, int mask_rows) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800  // mma.sync bf16, cp.async: sm_80 (host pass: parsed only)
    constexpr int BN = FaShape<D>::BN, LD = FaShape<D>::LD, DP = FaShape<D>::DP;
    extern __shared__ __align__(16) unsigned char fa_smem[];
    T *sQ = reinterpret_cast<T *>(fa_smem);  // [kBM][LD]
    T *sK = sQ + kBM * LD;                    // [2][BN][LD]
    T *sV = sK + 2 * BN * LD;                 // [2][BN][LD]

    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
    const int bh = blockIdx.y, b = bh / Hq, h = bh % Hq;
    const int q0 = blockIdx.x * kBM;
    const T *qb = q + (int64_t)bh * Nq * D;
    const int64_t kv = ((int64_t)b * (Hq / group) + h / group) * Nk * D;
    const T *kb = k + kv, *vb = v + kv;

    // the key tiles any row of this block can see (the rest is -inf for every row: skipped)
    const int q_last = min(q0 + kBM, Nq) - 1;
    const int kv_hi = causal ? min(Nk, q_last + 1) : Nk;
    const int kv_lo = window > 0 ? max(0, q0 - window + 1) : 0;
    const int t_lo = kv_lo / BN, t_hi = (kv_hi + BN - 1) / BN;

    // this thread's two query rows (g and g + 8 of its warp) and their mask rows
    int row[2];
    int64_t mrow[2];
#pragma unroll
    for (int r = 0; r < 2; r++) {
        row[r] = q0 + warp * 16 + g + 8 * r;
        const int mr = mask_rows > 1 ? min(row[r], Nq - 1) : 0;  // rows past Nq are computed, not stored
        mrow[r] = ((int64_t)b * mask_rows + mr) * Nk;
    }

    load_tile<kBM, D>(sQ, qb, q0, Nq);
    if (t_lo < t_hi) {
        load_tile<BN, D>(sK, kb, t_lo * BN, Nk);
        load_tile<BN, D>(sV, vb, t_lo * BN, Nk);
    }
    cp_async_commit();

    float o[DP / 8][4];  // O rows (g, g + 8) of this warp; d block j holds columns 8j + 2t, 8j + 2t + 1
#pragma unroll
    for (int j = 0; j < DP / 8; j++) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.0f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};  // running max; this thread's part of the sum

    for (int it = t_lo; it < t_hi; it++) {
        const int stage = (it - t_lo) & 1;
        if (it + 1 < t_hi) {  // the next tile goes into the other stage while this one is used
            load_tile<BN, D>(sK + (stage ^ 1) * BN * LD, kb, (it + 1) * BN, Nk);
            load_tile<BN, D>(sV + (stage ^ 1) * BN * LD, vb, (it + 1) * BN, Nk);
        }
        cp_async_commit();
        cp_async_wait<1>();  // everything but the newest group has landed: Q and this tile
        __syncthreads();
        const T *tK = sK + stage * BN * LD, *tV = sV + stage * BN * LD;
        const int n0 = it * BN;

        // S = Q·Kᵀ for this warp's 16 rows and the tile's BN keys
        float s[BN / 8][4];
#pragma unroll
        for (int j = 0; j < BN / 8; j++) s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.0f;
#pragma unroll
        for (int kk = 0; kk < DP / 16; kk++) {
            uint32_t a[4];
            ldsm_x4(a, sQ + (warp * 16 + (lane & 15)) * LD + kk * 16 + (lane >> 4) * 8);
#pragma unroll
            for (int j = 0; j < BN / 8; j += 2) {
                uint32_t bk[4];
                ldsm_x4(bk, tK + (j * 8 + (lane & 7) + (lane >> 4) * 8) * LD + kk * 16 + ((lane >> 3) & 1) * 8);
                mma16816<T>(s[j], a, bk[0], bk[1]);
                mma16816<T>(s[j + 1], a, bk[2], bk[3]);
            }
        }

        // the op's score transform; element e of key block j is (row[e >> 1], key 8j + 2t + (e & 1))
#pragma unroll
        for (int j = 0; j < BN / 8; j++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int key = n0 + j * 8 + 2 * t + (e & 1), i = row[e >> 1];
                float x = s[j][e] * scale;
                if (softcap > 0.0f) x = softcap * tanhf(x / softcap);
                const bool ok = key < Nk && !(causal && key > i) && !(window > 0 && key <= i - window);
                if (ok && mask) x += ld_any(mask, mdt, mrow[e >> 1] + key);
                s[j][e] = ok ? x : -INFINITY;
            }

        // online softmax per row; a row's 4 owners (t = 0..3) are lanes 4g..4g+3
#pragma unroll
        for (int r = 0; r < 2; r++) {
            float mx = m[r];
#pragma unroll
            for (int j = 0; j < BN / 8; j++) mx = fmaxf(mx, fmaxf(s[j][2 * r], s[j][2 * r + 1]));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
            // all -inf so far: subtract 0 instead, so that exp gives 0, never exp(-inf + inf) = NaN
            const float base = mx == -INFINITY ? 0.0f : mx;
            const float corr = __expf(m[r] - base);  // 0 when m was -inf
            m[r] = mx;
            float sum = 0.0f;
#pragma unroll
            for (int j = 0; j < BN / 8; j++) {
                const float p0 = __expf(s[j][2 * r] - base), p1 = __expf(s[j][2 * r + 1] - base);
                s[j][2 * r] = p0;
                s[j][2 * r + 1] = p1;
                sum += p0 + p1;
            }
            l[r] = l[r] * corr + sum;
#pragma unroll
            for (int j = 0; j < DP / 8; j++) {
                o[j][2 * r] *= corr;
                o[j][2 * r + 1] *= corr;
            }
        }

        // O += P·V, P rounded to T
#pragma unroll
        for (int kk = 0; kk < BN / 16; kk++) {
            uint32_t a[4];
            a[0] = pack2<T>(s[2 * kk][0], s[2 * kk][1]);
            a[1] = pack2<T>(s[2 * kk][2], s[2 * kk][3]);
            a[2] = pack2<T>(s[2 * kk + 1][0], s[2 * kk + 1][1]);
            a[3] = pack2<T>(s[2 * kk + 1][2], s[2 * kk + 1][3]);
#pragma unroll
            for (int j = 0; j < DP / 8; j += 2) {
                uint32_t bv[4];
                ldsm_x4_trans(bv, tV + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LD + j * 8 + (lane >> 4) * 8);
                mma16816<T>(o[j], a, bv[0], bv[1]);
                mma16816<T>(o[j + 1], a, bv[2], bv[3]);
            }
        }
        __syncthreads();  // this stage is refilled two tiles from now: every warp is done with it
    }
    cp_async_wait<0>();  // with no key tile at all, Q's copy may still be in flight
    __syncthreads();

    // y = O / sum; a row that saw nothing (sum 0) gets zeros, as on the CPU
    float inv[2];
#pragma unroll
    for (int r = 0; r < 2; r++) {
        float sum = l[r];
        sum += __shfl_xor_sync(0xffffffffu, sum, 1);
        sum += __shfl_xor_sync(0xffffffffu, sum, 2);
        inv[r] = sum > 0.0f ? 1.0f / sum : 0.0f;
    }
    // through this warp's own Q rows in shared memory, then 16-byte stores of whole rows
    T *sO = sQ + warp * 16 * LD;
#pragma unroll
    for (int j = 0; j < DP / 8; j++) {
        *reinterpret_cast<uint32_t *>(sO + g * LD + j * 8 + 2 * t) = pack2<T>(o[j][0] * inv[0], o[j][1] * inv[0]);
        *reinterpret_cast<uint32_t *>(sO + (g + 8) * LD + j * 8 + 2 * t) =
            pack2<T>(o[j][2] * inv[1], o[j][3] * inv[1]);
    }
    __syncwarp();
    constexpr int CH = D / 8;  // the row's real columns only
#pragma unroll
    for (int n_i = 0; n_i < (16 * CH + 31) / 32; n_i++) {
        const int i = lane + 32 * n_i, r = i / CH, c = i % CH, qi = q0 + warp * 16 + r;
        if (i < 16 * CH && qi < Nq)
            *reinterpret_cast<uint4 *>(y + ((int64_t)bh * Nq + qi) * D + c * 8) =
                *reinterpret_cast<const uint4 *>(sO + r * LD + c * 8);
    }
#else
    __trap();  // never launched: flash_launch checks the architecture the kernel was built for
#endif
}

template <typename T, int D>
int flash_launch(const void *q, const void *k, const void *v, void *y, int B, int Hq, int Hk, int Nq, int Nk,
                 float scale, float softcap, int causal, int window, const void *mask, int mdt, int mask_rows,
                 cudaStream_t s) {
    const size_t smem = FaShape<D>::smem;
    int dev = 0, optin = 0;
    int e = (int)cudaGetDevice(&dev);
    if (e == 0) e = (int)cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev);
    if (e != 0) return e;
    if (smem > (size_t)optin) return SN_K_NOT_APPLICABLE;
    auto kern = k_flash_attention<T, D>;
    // the code the device runs must come from sm_80+ source (a build for older targets only, JIT
    // compiled for this GPU, has an empty body): ptxVersion is the virtual architecture it came from
    cudaFuncAttributes fa;
    e = (int)cudaFuncGetAttributes(&fa, kern);
    if (e != 0) return e;
    if (fa.ptxVersion < 80 || fa.binaryVersion < 80) return SN_K_NOT_APPLICABLE;
    if (smem > 48 * 1024) {
        e = (int)cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
        if (e != 0) return e;
    }
    dim3 grid((unsigned)((Nq + kBM - 1) / kBM), (unsigned)(B * Hq));
    kern<<<grid, kWarps * 32, smem, s>>>((const T *)q, (const T *)k, (const T *)v, (T *)y, Hq, Hq / Hk, Nq, Nk,
                                         scale, softcap, causal, window, mask, mdt, mask_rows);
    return SN_LAUNCHED();
}

template <typename T>
int flash_dims(int64_t D, const void *q, const void *k, const void *v, void *y, int B, int Hq, int Hk, int Nq,
               int Nk, float scale, float softcap, int causal, int window, const void *mask, int mdt, int mask_rows,
               cudaStream_t s) {
    switch (D) {
    case 32: return flash_launch<T, 32>(q, k, v, y, B, Hq, Hk, Nq, Nk, scale, softcap, causal, window, mask, mdt, mask_rows, s);
    case 64: return flash_launch<T, 64>(q, k, v, y, B, Hq, Hk, Nq, Nk, scale, softcap, causal, window, mask, mdt, mask_rows, s);
    case 72: return flash_launch<T, 72>(q, k, v, y, B, Hq, Hk, Nq, Nk, scale, softcap, causal, window, mask, mdt, mask_rows, s);
    case 112: return flash_launch<T, 112>(q, k, v, y, B, Hq, Hk, Nq, Nk, scale, softcap, causal, window, mask, mdt, mask_rows, s);
    case 128: return flash_launch<T, 128>(q, k, v, y, B, Hq, Hk, Nq, Nk, scale, softcap, causal, window, mask, mdt, mask_rows, s);
    case 256: return flash_launch<T, 256>(q, k, v, y, B, Hq, Hk, Nq, Nk, scale, softcap, causal, window, mask, mdt, mask_rows, s);
    default: return SN_K_NOT_APPLICABLE;
    }
}

}  // namespace

extern "C" int sn_k_flash_attention(const void *q, const void *k, const void *v, void *y, int dt, int64_t B,
                                    int64_t Hq, int64_t Hk, int64_t Nq, int64_t Nk, int64_t D, int64_t Dv,
                                    float scale, float softcap, int causal, int window, const void *mask,
                                    int mask_dt, int64_t mask_rows, cudaStream_t s) {
    if (dt != F16 && dt != BF16) return SN_K_NOT_APPLICABLE;  // fp32 is the check mode: the simple kernel
    // the DiT's cross-attention (72: 0.6B, 112: 1.6B), Gemma-2 (256), and the common powers of two
    if (D != Dv || (D != 32 && D != 64 && D != 72 && D != 112 && D != 128 && D != 256)) return SN_K_NOT_APPLICABLE;
    if ((((uintptr_t)q | (uintptr_t)k | (uintptr_t)v | (uintptr_t)y) & 15) != 0) return SN_K_NOT_APPLICABLE;
    if (Hk < 1 || Hq % Hk != 0 || B * Hq > 65535 || Nq > INT_MAX - kBM || Nk > INT_MAX - 64 ||
        mask_rows > INT_MAX)
        return SN_K_NOT_APPLICABLE;
    if (B == 0 || Hq == 0 || Nq == 0) return 0;  // nothing to write
    int dev = 0, major = 0;
    int e = (int)cudaGetDevice(&dev);
    if (e == 0) e = (int)cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev);
    if (e != 0) return e;
    if (major < 8) return SN_K_NOT_APPLICABLE;  // mma.sync with bf16 and cp.async need sm_80
    if (dt == BF16)
        return flash_dims<__nv_bfloat16>(D, q, k, v, y, (int)B, (int)Hq, (int)Hk, (int)Nq, (int)Nk, scale, softcap,
                                         causal, window, mask, mask_dt, (int)mask_rows, s);
    return flash_dims<__half>(D, q, k, v, y, (int)B, (int)Hq, (int)Hk, (int)Nq, (int)Nk, scale, softcap, causal,
                              window, mask, mask_dt, (int)mask_rows, s);
}
