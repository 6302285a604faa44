/* GEMM-shaped ops: linear, batched matmul, conv2d (im2col + GEMM). */
#include <math.h>
#include <stdlib.h>
#include <string.h>


#include "backend/cpu/cpu.h"
#include "core/pool.h"

#ifdef SANA_HAVE_CBLAS
#include <cblas.h>
#endif

/* One single-threaded sgemm (called inside a parallel region, or where OpenBLAS was told to
 * use one thread: see cpu_blas_threads.c). */
static void sn_sgemm_1(int trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                       int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    if (M == 0 || N == 0) return;
#ifdef SANA_HAVE_CBLAS
    cblas_sgemm(CblasRowMajor, CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)M, (int)N,
                (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
#else
    /* Portable fallback: dot products accumulated in float, in k order. */
    for (int64_t i = 0; i < M; i++) {
        float *c = C + i * ldc;
        const float *a = A + i * lda;
        if (trans_b) {
            for (int64_t j = 0; j < N; j++) {
                const float *b = B + j * ldb;
                float s = 0.0f;
                for (int64_t k = 0; k < K; k++) s += a[k] * b[k];
                c[j] = alpha * s + (beta != 0.0f ? beta * c[j] : 0.0f);
            }
        } else {
            for (int64_t j = 0; j < N; j++) c[j] = beta != 0.0f ? beta * c[j] : 0.0f;
            for (int64_t k = 0; k < K; k++) {
                const float *b = B + k * ldb;
                float av = alpha * a[k];
                for (int64_t j = 0; j < N; j++) c[j] += av * b[j];
            }
        }
    }
#endif
}

/* The longer side of C is cut into whole blocks (16 columns: the BLAS kernels' vector width
 * along a row; 4 rows), as evenly as the blocks allow. The cut depends only on (M, N, nt):
 * a banded DC-AE decode sees the same cut for the same GEMM shape in every band. */
void sn_cpu_gemm_slice(int64_t M, int64_t N, int tid, int nt, sn_gemm_slice *s) {
    const int by_cols = N >= M;
    const int64_t len = by_cols ? N : M, align = by_cols ? 16 : 4;
    const int64_t blocks = (len + align - 1) / align;
    const int64_t parts = nt < blocks ? nt : blocks;
    int64_t lo = 0, hi = 0;
    if (tid < parts) {
        lo = tid * blocks / parts * align;
        hi = (tid + 1) * blocks / parts * align;
        if (hi > len) hi = len;
    }
    s->m0 = 0, s->m1 = M, s->n0 = 0, s->n1 = N;
    if (by_cols) s->n0 = lo, s->n1 = hi;
    else s->m0 = lo, s->m1 = hi;
}

void sn_cpu_sgemm_team(int tid, int nt, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                       const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                       float *C, int64_t ldc) {
    sn_gemm_slice s;
    sn_cpu_gemm_slice(M, N, tid, nt, &s);
    if (s.m1 <= s.m0 || s.n1 <= s.n0) return;
    const float *Bs = trans_b ? B + s.n0 * ldb : B + s.n0;
    sn_sgemm_1(trans_b, s.m1 - s.m0, s.n1 - s.n0, K, alpha, A + s.m0 * lda, lda, Bs, ldb, beta,
               C + s.m0 * ldc + s.n0, ldc);
}

int sn_cpu_gemm_threads(int64_t M, int64_t N, int64_t K) {
    /* Every slice keeps at least ~2^23 multiply-adds (a slice gets at least half of its even
     * share of 2^24): enough to pay for a fork/join and for each thread packing its operands,
     * and above the sizes where OpenBLAS switches to its small-matrix and "direct" sgemm kernels
     * (<= 1e6 and < 7.3e6 multiply-adds), which sum in another order. Large products computed
     * whole or in slices then take the same kernel, each element the same arithmetic, so the
     * result does not depend on the thread count (tests/test_cpu_gemm_threads.c). */
    const double macs = (double)M * (double)N * (double)K;
    if (macs < 2.0 * 16777216.0) return 1;
    const double most = macs / 16777216.0;
    const int nt = sn_pool_threads();
    return (double)nt < most ? nt : (int)most;
}

typedef struct {
    int trans_b;
    int64_t M, N, K;
    float alpha, beta;
    const float *A, *B;
    int64_t lda, ldb, ldc;
    float *C;
} sn_sgemm_job;

static void sn_sgemm_task(void *p, int tid, int nt) {
    const sn_sgemm_job *j = p;
    sn_cpu_sgemm_team(tid, nt, j->trans_b, j->M, j->N, j->K, j->alpha, j->A, j->lda, j->B, j->ldb,
                      j->beta, j->C, j->ldc);
}

void sn_cpu_sgemm(int trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                  int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    if (M == 0 || N == 0) return;
    const int nt = sn_cpu_gemm_threads(M, N, K);
    sn_cpu_blas_enter();
    if (nt <= 1) {
        sn_sgemm_1(trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    } else {
        sn_sgemm_job j = {trans_b, M, N, K, alpha, beta, A, B, lda, ldb, ldc, C};
        sn_pool_run(nt, sn_sgemm_task, &j);
    }
    sn_cpu_blas_leave();
}

typedef struct {
    float *Y;
    const float *bias;
    int64_t N;
    sn_act act;
} sn_bias_act_job;

static SN_CPU_VECTOR void sn_bias_act_rows(void *p, int64_t i0, int64_t i1) {
    const sn_bias_act_job *j = p;
    for (int64_t i = i0; i < i1; i++) {
        float *y = j->Y + i * j->N;
        if (j->bias)
            for (int64_t c = 0; c < j->N; c++) y[c] += j->bias[c];
        sn_cpu_act_row(j->act, y, j->N);
    }
}

/* Weights still in a file's 16-bit type (sn_weights_mapf: a view of the mapped file) are
 * converted to fp32 a chunk of at most SN_WBLOCK rows at a time, into a buffer per thread, each
 * chunk then one single-threaded sgemm for those columns of Y. A chunk is wide enough that
 * repacking X for each one stays small against its products.
 * The sums must not depend on the thread count. Large products (every 16-row chunk at least
 * 2^23 multiply-adds: BLAS's general kernel, where a column's sum does not depend on the columns
 * around it; see sn_cpu_gemm_threads) split the rows evenly over the team, in 16-row units, so
 * that no thread waits for another (1152 rows in 256-row blocks went 2:3 over two threads).
 * Smaller ones keep blocks fixed at multiples of SN_WBLOCK, each thread taking whole ones. */
#define SN_WBLOCK 256

static int sn_cpu_linear_team(int64_t M, int64_t N, int64_t K) {
    const int64_t blocks = (N + SN_WBLOCK - 1) / SN_WBLOCK;
    const int nt = sn_cpu_gemm_threads(M, N, K);
    return (int64_t)nt < blocks ? nt : (int)blocks;
}

/* A few rows of X against a BF16 matrix (the unconditional prompt's single <bos> row runs all of
 * Gemma-2 so): every output is one dot product straight from the 16-bit values, 16 partial sums
 * then added in a fixed order; no conversion buffer, and W is read once for all M rows. Each
 * output is one thread's, computed the same way whatever the team or vector width. */
#define SN_GEMV_MAX_ROWS 4

static int sn_cpu_linear_gemv(int64_t M, const sn_tensor *w) { return w->dtype == SN_BF16 && M <= SN_GEMV_MAX_ROWS; }

typedef struct {
    const float *X;
    const uint16_t *W;
    float *Y;
    int64_t M, N, K;
} sn_gemv_job;

static SN_CPU_VECTOR void sn_gemv_bf16_rows(void *p, int64_t n0, int64_t n1) {
    const sn_gemv_job *j = p;
    const int64_t K = j->K, K16 = K / 16 * 16;
    for (int64_t n = n0; n < n1; n++) {
        const uint16_t *w = j->W + n * K;
        for (int64_t m = 0; m < j->M; m++) {
            const float *x = j->X + m * K;
            float acc[16] = {0};
            for (int64_t k = 0; k < K16; k += 16)
                for (int l = 0; l < 16; l++) {
                    const uint32_t u = (uint32_t)w[k + l] << 16;
                    float f;
                    memcpy(&f, &u, sizeof f);
                    acc[l] += x[k + l] * f;
                }
            float s = 0.0f;
            for (int l = 0; l < 16; l++) s += acc[l];
            for (int64_t k = K16; k < K; k++) s += x[k] * sn_bf16_to_f32(w[k]);
            j->Y[m * j->N + n] = s;
        }
    }
}

size_t sn_cpu_linear_scratch(const sn_tensor *x, const sn_tensor *w) {
    if (w->dtype == SN_F32) return 0;
    const int64_t N = w->shape[0], K = w->shape[1], M = sn_numel(x) / K;
    if (sn_cpu_linear_gemv(M, w)) return 0;
    const int64_t rows = N < SN_WBLOCK ? N : SN_WBLOCK;
    return sn_arena_round((size_t)(sn_cpu_linear_team(M, N, K) * rows * K) * sizeof(float));
}

typedef struct {
    const float *X;
    const char *W;
    sn_dtype wt;
    float *Y, *buf;
    int64_t M, N, K;
    int even; /* large products: rows split evenly (above) */
} sn_wlinear_job;

static void sn_wlinear_task(void *p, int tid, int nt) {
    const sn_wlinear_job *j = p;
    const int64_t K = j->K, N = j->N, rows = N < SN_WBLOCK ? N : SN_WBLOCK;
    float *wf = j->buf + (int64_t)tid * rows * K;
    const size_t es = sn_dtype_size(j->wt);
    /* this thread's rows [r0, r1) and their chunks, in units of u rows */
    const int64_t u = j->even ? 16 : SN_WBLOCK, units = (N + u - 1) / u;
    const int64_t r0 = tid * units / nt * u, r1 = (tid + 1) * units / nt * u;
    const int64_t n_units = (r1 - r0) / u, chunks = (n_units * u + SN_WBLOCK - 1) / SN_WBLOCK;
    for (int64_t c = 0; c < chunks; c++) {
        const int64_t n0 = r0 + c * n_units / chunks * u;
        int64_t n1 = r0 + (c + 1) * n_units / chunks * u;
        if (n1 > N) n1 = N;
        if (n1 <= n0) continue;
        sn_convert_to_f32(j->wt, j->W + (size_t)(n0 * K) * es, wf, (n1 - n0) * K);
        sn_sgemm_1(1, j->M, n1 - n0, K, 1.0f, j->X, K, wf, K, 0.0f, j->Y + n0, N);
    }
}

static sana_status sn_cpu_linear_16(sn_backend *be, const sn_tensor *x, const sn_tensor *w, float *Y) {
    const int64_t N = w->shape[0], K = w->shape[1], M = sn_numel(x) / K;
    if (sn_cpu_linear_gemv(M, w)) {
        sn_gemv_job g = {SN_CF(x), w->data, Y, M, N, K};
        sn_parallel_for(N, sn_gemv_bf16_rows, &g);
        return SANA_OK;
    }
    const size_t bytes = sn_cpu_linear_scratch(x, w);
    sn_arena_mark mk = sn_scratch_mark(be);
    float *buf = sn_arena_alloc(&be->scratch, bytes);
    if (!buf) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "linear: %zu bytes to convert %s weights", bytes, sn_dtype_name(w->dtype));
    sn_wlinear_job j = {SN_CF(x), w->data, w->dtype, Y, buf, M, N, K, (double)M * (double)K * 16.0 >= 8388608.0};
    const int nt = sn_cpu_linear_team(M, N, K);
    sn_cpu_blas_enter();
    if (nt <= 1) sn_wlinear_task(&j, 0, 1);
    else sn_pool_run(nt, sn_wlinear_task, &j);
    sn_cpu_blas_leave();
    sn_scratch_reset(be, mk);
    return SANA_OK;
}

sana_status sn_cpu_linear(sn_backend *be, const sn_tensor *x, const sn_tensor *w,
                          const sn_tensor *b, sn_act act, sn_tensor *y) {
    int64_t N = w->shape[0], K = w->shape[1], M = sn_numel(x) / K;
    float *Y = SN_F(y);
    if (w->dtype != SN_F32) SN_TRY(sn_cpu_linear_16(be, x, w, Y));
    else sn_cpu_sgemm(1, M, N, K, 1.0f, SN_CF(x), K, SN_CF(w), K, 0.0f, Y, N);
    if (b || act != SN_ACT_NONE) {
        sn_bias_act_job j = {Y, b ? SN_CF(b) : NULL, N, act};
        sn_parallel_for(M, sn_bias_act_rows, &j);
    }
    return SANA_OK;
}

sana_status sn_cpu_matmul(sn_backend *be, const sn_tensor *a, const sn_tensor *bm, int32_t trans_b,
                          float alpha, sn_tensor *y) {
    (void)be;
    int64_t Bt = a->shape[0], M = a->shape[1], K = a->shape[2];
    int64_t N = y->shape[2];
    for (int64_t i = 0; i < Bt; i++)
        sn_cpu_sgemm(trans_b, M, N, K, alpha, SN_CF(a) + i * M * K, K, SN_CF(bm) + i * K * N,
                     trans_b ? K : N, 0.0f, SN_F(y) + i * M * N, N);
    return SANA_OK;
}

typedef struct {
    const float *X, *Wt, *bias;
    float *Y;
    int64_t Ci, Co, H, W, Ho, Wo, kh, kw, s, pad;
    float *cols; /* im2col */
    int64_t P, c0; /* im2col: output pixels, first input channel */
} sn_conv_job;

/* depthwise: one task per (image, channel). Each output row accumulates in place, one tap at a
 * time over the columns whose input is inside (contiguous multiply-adds for stride 1): every
 * pixel still sums bias, then the taps in (ky, kx) order, as a per-pixel loop would. */
static void sn_dw_planes(void *p, int64_t i0, int64_t i1) {
    const sn_conv_job *j = p;
    const int64_t H = j->H, W = j->W, Ho = j->Ho, Wo = j->Wo, kh = j->kh, kw = j->kw;
    const int64_t s = j->s, pad = j->pad;
    for (int64_t i = i0; i < i1; i++) {
        const int64_t n = i / j->Co, c = i % j->Co;
        const float *xc = j->X + (n * j->Ci + c) * H * W;
        const float *wc = j->Wt + c * kh * kw;
        float *yc = j->Y + (n * j->Co + c) * Ho * Wo;
        const float b = j->bias ? j->bias[c] : 0.0f;
        for (int64_t oy = 0; oy < Ho; oy++) {
            float *yr = yc + oy * Wo;
            for (int64_t ox = 0; ox < Wo; ox++) yr[ox] = b;
            for (int64_t ky = 0; ky < kh; ky++) {
                const int64_t iy = oy * s - pad + ky;
                if (iy < 0 || iy >= H) continue;
                const float *xr = xc + iy * W;
                for (int64_t kx = 0; kx < kw; kx++) {
                    /* columns ox with 0 <= ox*s - pad + kx < W: [lo, hi) */
                    const int64_t off = kx - pad;
                    int64_t lo = off < 0 ? (-off + s - 1) / s : 0;
                    int64_t hi = W - 1 - off >= 0 ? (W - 1 - off) / s + 1 : 0;
                    if (hi > Wo) hi = Wo;
                    const float wt = wc[ky * kw + kx];
                    if (s == 1) {
                        for (int64_t ox = lo; ox < hi; ox++) yr[ox] += xr[ox + off] * wt;
                    } else {
                        for (int64_t ox = lo; ox < hi; ox++) yr[ox] += xr[ox * s + off] * wt;
                    }
                }
            }
        }
    }
}

/* im2col rows [r0, r1) of cols[Ci_g*kh*kw, Ho*Wo] for the group starting at channel c0 */
static void sn_im2col_rows(void *p, int64_t r0, int64_t r1) {
    const sn_conv_job *j = p;
    const int64_t H = j->H, W = j->W, Wo = j->Wo, kh = j->kh, kw = j->kw;
    const float *xg = j->X + j->c0 * H * W;
    for (int64_t r = r0; r < r1; r++) {
        int64_t c = r / (kh * kw), ky = (r / kw) % kh, kx = r % kw;
        float *row = j->cols + r * j->P;
        for (int64_t oy = 0; oy < j->Ho; oy++) {
            int64_t iy = oy * j->s - j->pad + ky;
            for (int64_t ox = 0; ox < Wo; ox++) {
                int64_t ix = ox * j->s - j->pad + kx;
                row[oy * Wo + ox] =
                    (iy >= 0 && iy < H && ix >= 0 && ix < W) ? xg[(c * H + iy) * W + ix] : 0.0f;
            }
        }
    }
}

/* Convolution as GEMM per group: W[Co_g, Ci_g*kh*kw] · cols[Ci_g*kh*kw, Ho*Wo]. A 1x1 stride-1
 * convolution needs no im2col at all. Depthwise convolutions (Ci_g = 1) take a direct loop. */
sana_status sn_cpu_conv2d(sn_backend *be, const sn_tensor *x, const sn_tensor *w,
                          const sn_tensor *b, const sn_conv_params *p, sn_tensor *y) {
    int64_t B = x->shape[0], Ci = x->shape[1], H = x->shape[2], W = x->shape[3];
    int64_t Co = w->shape[0], kh = w->shape[2], kw = w->shape[3];
    int64_t Ho = y->shape[2], Wo = y->shape[3];
    int64_t G = p->groups, Cig = Ci / G, Cog = Co / G;
    int64_t s = p->stride, pad = p->pad;
    const float *X = SN_CF(x), *Wt = SN_CF(w), *bias = b ? SN_CF(b) : NULL;
    float *Y = SN_F(y);
    (void)be;
    sn_conv_job j = {X, Wt, bias, Y, Ci, Co, H, W, Ho, Wo, kh, kw, s, pad, NULL, Ho * Wo, 0};

    if (Cig == 1 && Cog == 1) { /* depthwise */
        sn_parallel_for(B * Co, sn_dw_planes, &j);
        return SANA_OK;
    }

    int64_t Kd = Cig * kh * kw, P = Ho * Wo;
    int direct = kh == 1 && kw == 1 && s == 1 && pad == 0;
    float *cols = NULL;
    if (!direct) {
        cols = malloc((size_t)(Kd * P) * sizeof(float));
        if (!cols) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "conv2d: im2col buffer");
    }
    for (int64_t n = 0; n < B; n++)
        for (int64_t g = 0; g < G; g++) {
            const float *xg = X + (n * Ci + g * Cig) * H * W;
            const float *src = xg;
            if (!direct) {
                j.cols = cols;
                j.c0 = n * Ci + g * Cig;
                sn_parallel_for(Kd, sn_im2col_rows, &j);
                src = cols;
            }
            float *yg = Y + (n * Co + g * Cog) * P;
            sn_cpu_sgemm(0, Cog, P, Kd, 1.0f, Wt + g * Cog * Kd, Kd, src, P, 0.0f, yg, P);
            if (bias)
                for (int64_t c = 0; c < Cog; c++)
                    for (int64_t i = 0; i < P; i++) yg[c * P + i] += bias[g * Cog + c];
        }
    free(cols);
    return SANA_OK;
}
