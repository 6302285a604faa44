/* DC-AE ops on the CPU: a row-banded convolution (with fused nearest upsampling), the per-pixel
 * channel RMSNorm, the multi-scale ReLU linear attention, and the parameter-free up/down
 * shortcuts of residual autoencoding. Element offsets are 64-bit throughout. */
#include <math.h>
#include <string.h>


#include "backend/cpu/cpu.h"
#include "core/pool.h"

/* Scratch of each op below, one arena allocation each (sn_cpu_scratch_bytes reports them). */
static size_t sn_cpu_band_cols_bytes(int64_t K, int64_t Wo) { return (size_t)(K * Wo) * sizeof(float); }
static size_t sn_cpu_linattn_bytes(int64_t d, int64_t N) {
    return (size_t)((2 * d + 2 * (d + 1)) * N + (d + 1) * d) * sizeof(float);
}
static size_t sn_cpu_linattn_pass_bytes(int64_t d, int64_t N) { /* state and apply */
    return (size_t)((2 * d + 1) * N) * sizeof(float);
}

typedef struct {
    const float *xn, *Wt, *bias;
    float *cols, *yr;
    int64_t Ci, Co, Hx, Wx, Ho, Wo, kh, kw, K, Hin, Win, x_row0, oy;
    int32_t up, stride, pad;
} sn_band_job;

/* im2col of output row oy, input channel-rows (ci, ky) [t0, t1) */
static void sn_band_im2col(const sn_band_job *j, int64_t t0, int64_t t1) {
    const int64_t Wo = j->Wo, kw = j->kw, stride = j->stride, pad = j->pad, up = j->up;
    for (int64_t t = t0; t < t1; t++) {
        const int64_t ci = t / j->kh, ky = t % j->kh;
        const int64_t iy = j->oy * stride - pad + ky; /* row of the (upsampled) input */
        for (int64_t kx = 0; kx < kw; kx++) {
            float *row = j->cols + (t * kw + kx) * Wo;
            if (iy < 0 || iy >= j->Hin) {
                memset(row, 0, (size_t)Wo * sizeof(float));
                continue;
            }
            const float *src = j->xn + (ci * j->Hx + (iy / up - j->x_row0)) * j->Wx;
            /* output columns whose input column is inside: [lo, hi) */
            int64_t lo = 0, hi = Wo;
            while (lo < Wo && lo * stride - pad + kx < 0) lo++;
            while (hi > lo && (hi - 1) * stride - pad + kx >= j->Win) hi--;
            for (int64_t ox = 0; ox < lo; ox++) row[ox] = 0.0f;
            for (int64_t ox = hi; ox < Wo; ox++) row[ox] = 0.0f;
            const int64_t off = kx - pad;
            if (stride == 1 && up == 1) {
                memcpy(row + lo, src + lo + off, (size_t)(hi - lo) * sizeof(float));
            } else if (stride == 1 && up == 2) {
                for (int64_t ox = lo; ox < hi; ox++) row[ox] = src[(ox + off) >> 1];
            } else if (up == 1) {
                for (int64_t ox = lo; ox < hi; ox++) row[ox] = src[ox * stride + off];
            } else {
                for (int64_t ox = lo; ox < hi; ox++) row[ox] = src[(ox * stride + off) / up];
            }
        }
    }
}

static void sn_band_im2col_task(void *p, int tid, int nt) {
    const sn_band_job *j = p;
    int64_t t0, t1;
    sn_pool_share(j->Ci * j->kh, tid, nt, &t0, &t1);
    sn_band_im2col(j, t0, t1);
}

/* this thread's slice of W[Co, K] · cols -> y[:, row, :], plus the bias */
static void sn_band_gemm_task(void *p, int tid, int nt) {
    const sn_band_job *j = p;
    const int64_t ldy = j->Ho * j->Wo;
    sn_cpu_sgemm_team(tid, nt, 0, j->Co, j->Wo, j->K, 1.0f, j->Wt, j->K, j->cols, j->Wo, 0.0f,
                      j->yr, ldy);
    if (j->bias) {
        sn_gemm_slice sl;
        sn_cpu_gemm_slice(j->Co, j->Wo, tid, nt, &sl);
        for (int64_t c = sl.m0; c < sl.m1; c++)
            for (int64_t ox = sl.n0; ox < sl.n1; ox++) j->yr[c * ldy + ox] += j->bias[c];
    }
}

/* One output row at a time: im2col of that row into cols[Ci*kh*kw, Wo], then one GEMM
 * W[Co, K] · cols -> y[:, row, :], cut over the threads by sn_cpu_sgemm_team (the cut depends
 * only on the shape). Every output element therefore sees exactly the same GEMM shape and
 * operands whatever the band it belongs to, which is what makes banded decoding bit-identical
 * to whole-image decoding; the scratch is one row's columns. */
sana_status sn_cpu_conv2d_band(sn_backend *be, const sn_tensor *x, int64_t x_row0, int64_t h_full,
                               const sn_tensor *w, const sn_tensor *b, int32_t up, int32_t stride,
                               int32_t pad, sn_tensor *y, int64_t y_row0) {
    const int64_t B = x->shape[0], Ci = x->shape[1], Hx = x->shape[2], Wx = x->shape[3];
    const int64_t Co = w->shape[0], kh = w->shape[2], kw = w->shape[3];
    const int64_t Ho = y->shape[2], Wo = y->shape[3], K = Ci * kh * kw;

    sn_arena_mark m = sn_scratch_mark(be);
    float *cols = sn_arena_alloc(&be->scratch, sn_cpu_band_cols_bytes(K, Wo));
    if (!cols) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "conv2d_band: %zu bytes of columns",
                              sn_cpu_band_cols_bytes(K, Wo));
    sn_band_job j = {NULL, SN_CF(w), b ? SN_CF(b) : NULL, cols, NULL, Ci, Co, Hx, Wx, Ho, Wo,
                     kh, kw, K, h_full * up, Wx * up, x_row0, 0, up, stride, pad};
    const int nt = sn_cpu_gemm_threads(Co, Wo, K);
    sn_cpu_blas_enter();
    for (int64_t n = 0; n < B; n++) {
        j.xn = SN_CF(x) + n * Ci * Hx * Wx;
        for (int64_t r = 0; r < Ho; r++) {
            j.oy = y_row0 + r; /* row in the whole output */
            j.yr = SN_F(y) + n * Co * Ho * Wo + r * Wo;
            sn_pool_run(nt, sn_band_im2col_task, &j);
            sn_pool_run(nt, sn_band_gemm_task, &j);
        }
    }
    sn_cpu_blas_leave();
    sn_scratch_reset(be, m);
    return SANA_OK;
}

typedef struct {
    const float *X, *Wv, *Bv;
    float *Y;
    int64_t C, P, nblk;
    float eps;
    sn_act act;
} sn_cnorm_job;

enum { SN_CNORM_BLK = 256 }; /* pixels per task: one task keeps its sums in registers/L1 */

static void sn_cnorm_blocks(void *p, int64_t i0, int64_t i1) {
    const sn_cnorm_job *j = p;
    const int64_t C = j->C, P = j->P, blk = SN_CNORM_BLK;
    const float *Wv = j->Wv, *Bv = j->Bv;
    for (int64_t it = i0; it < i1; it++) {
        const int64_t n = it / j->nblk, t = it % j->nblk;
        const int64_t p0 = t * blk, np = P - p0 < blk ? P - p0 : blk;
        double ss[SN_CNORM_BLK];
        float inv[SN_CNORM_BLK];
        const float *xn = j->X + n * C * P + p0;
        float *yn = j->Y + n * C * P + p0;
        for (int64_t i = 0; i < np; i++) ss[i] = 0.0;
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < np; i++) {
                const double v = xn[c * P + i];
                ss[i] += v * v;
            }
        for (int64_t i = 0; i < np; i++)
            inv[i] = (float)(1.0 / sqrt(ss[i] / (double)C + (double)j->eps));
        for (int64_t c = 0; c < C; c++) {
            const float wc = Wv[c], bc = Bv ? Bv[c] : 0.0f;
            for (int64_t i = 0; i < np; i++)
                yn[c * P + i] = sn_cpu_act(j->act, xn[c * P + i] * inv[i] * wc + bc);
        }
    }
}

/* RMSNorm over the channel axis of NCHW, per pixel: sum of squares in double, then
 * y = act(x * rsqrt(mean + eps) * w + b), the affine part in float as the reference does. */
sana_status sn_cpu_channel_norm(sn_backend *be, const sn_tensor *x, const sn_tensor *w,
                                const sn_tensor *b, float eps, sn_act act, sn_tensor *y) {
    (void)be;
    const int64_t B = x->shape[0], C = x->shape[1], P = x->shape[2] * x->shape[3];
    const int64_t nblk = (P + SN_CNORM_BLK - 1) / SN_CNORM_BLK;
    sn_cnorm_job j = {SN_CF(x), SN_CF(w), b ? SN_CF(b) : NULL, SN_F(y), C, P, nblk, eps, act};
    sn_parallel_for(B * nblk, sn_cnorm_blocks, &j);
    return SANA_OK;
}

/* One head's operands: q = relu(h[0:d]), k = relu(h[d:2d]), vp = h[2d:3d] (each NULL: skipped). */
typedef struct {
    const float *h;
    float *q, *k, *vp;
    int64_t dN;
} sn_la_split_job;

static void sn_la_split(void *p, int64_t i0, int64_t i1) {
    const sn_la_split_job *j = p;
    const float *h = j->h;
    for (int64_t i = i0; i < i1; i++) {
        if (j->q) j->q[i] = h[i] > 0.0f ? h[i] : 0.0f;
        if (j->k) j->k[i] = h[j->dN + i] > 0.0f ? h[j->dN + i] : 0.0f;
        if (j->vp) j->vp[i] = h[2 * j->dN + i];
    }
}

/* y[:, i] = o[:d, i] / (o[d, i] + eps) for tokens [i0, i1) */
typedef struct {
    const float *o;
    float *yh;
    int64_t d, N;
    float eps;
} sn_la_div_job;

static void sn_la_div(void *p, int64_t i0, int64_t i1) {
    const sn_la_div_job *j = p;
    const int64_t d = j->d, N = j->N;
    for (int64_t i = i0; i < i1; i++) {
        const float den = j->o[d * N + i] + j->eps;
        for (int64_t c = 0; c < d; c++) j->yh[c * N + i] = j->o[c * N + i] / den;
    }
}

/* ReLU linear attention per head, diffusers' formulation: v padded with a row of ones,
 * s = [v; 1] · relu(k)ᵀ ([d+1, d]), o = s · relu(q) ([d+1, N]), y = o[:d] / (o[d] + eps). All in
 * fp32 (GEMM sums in float). */
sana_status sn_cpu_linear_attention_relu(sn_backend *be, const sn_tensor *qkv, float eps,
                                         sn_tensor *y) {
    const int64_t B = qkv->shape[0], G = qkv->shape[1], d = qkv->shape[2] / 3, N = qkv->shape[3];
    const float *X = SN_CF(qkv);
    float *Y = SN_F(y);
    sn_arena_mark m = sn_scratch_mark(be);
    const size_t need = sn_cpu_linattn_bytes(d, N);
    float *q = sn_arena_alloc(&be->scratch, need);
    if (!q) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "linear attention: %zu bytes of scratch", need);
    float *k = q + d * N, *vp = k + d * N, *o = vp + (d + 1) * N, *s = o + (d + 1) * N;
    for (int64_t n = 0; n < B; n++)
        for (int64_t g = 0; g < G; g++) {
            sn_la_split_job sj = {X + (n * G + g) * 3 * d * N, q, k, vp, d * N};
            sn_parallel_for(d * N, sn_la_split, &sj);
            for (int64_t i = 0; i < N; i++) vp[d * N + i] = 1.0f;
            sn_cpu_sgemm(1, d + 1, d, N, 1.0f, vp, N, k, N, 0.0f, s, d);
            sn_cpu_sgemm(0, d + 1, N, d, 1.0f, s, d, q, N, 0.0f, o, N);
            sn_la_div_job dj = {o, Y + (n * G + g) * d * N, d, N, eps};
            sn_parallel_for(N, sn_la_div, &dj);
        }
    sn_scratch_reset(be, m);
    return SANA_OK;
}

/* Two-pass form for token chunks: the state s = [v; 1] · relu(k)ᵀ accumulates over chunks
 * (GEMM with beta = 1), then each chunk's tokens are read out. */
sana_status sn_cpu_linear_attention_state(sn_backend *be, const sn_tensor *qkv, sn_tensor *s) {
    if (s->dtype != SN_F32)
        return sn_fail(SANA_ERR_UNSUPPORTED, "cpu linear_attention_state: the state must be F32");
    const int64_t B = qkv->shape[0], G = qkv->shape[1], d = qkv->shape[2] / 3, N = qkv->shape[3];
    const float *X = SN_CF(qkv);
    float *S = SN_F(s);
    sn_arena_mark m = sn_scratch_mark(be);
    const size_t need = sn_cpu_linattn_pass_bytes(d, N);
    float *k = sn_arena_alloc(&be->scratch, need);
    if (!k) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "linear attention state: %zu bytes of scratch", need);
    float *vp = k + d * N;
    for (int64_t n = 0; n < B; n++)
        for (int64_t g = 0; g < G; g++) {
            sn_la_split_job sj = {X + (n * G + g) * 3 * d * N, NULL, k, vp, d * N};
            sn_parallel_for(d * N, sn_la_split, &sj);
            for (int64_t i = 0; i < N; i++) vp[d * N + i] = 1.0f;
            sn_cpu_sgemm(1, d + 1, d, N, 1.0f, vp, N, k, N, 1.0f, S + (n * G + g) * (d + 1) * d, d);
        }
    sn_scratch_reset(be, m);
    return SANA_OK;
}

sana_status sn_cpu_linear_attention_apply(sn_backend *be, const sn_tensor *qkv, const sn_tensor *s,
                                          float eps, sn_tensor *y) {
    if (s->dtype != SN_F32)
        return sn_fail(SANA_ERR_UNSUPPORTED, "cpu linear_attention_apply: the state must be F32");
    const int64_t B = qkv->shape[0], G = qkv->shape[1], d = qkv->shape[2] / 3, N = qkv->shape[3];
    const float *X = SN_CF(qkv), *S = SN_CF(s);
    float *Y = SN_F(y);
    sn_arena_mark m = sn_scratch_mark(be);
    const size_t need = sn_cpu_linattn_pass_bytes(d, N);
    float *q = sn_arena_alloc(&be->scratch, need);
    if (!q) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "linear attention apply: %zu bytes of scratch", need);
    float *o = q + d * N;
    for (int64_t n = 0; n < B; n++)
        for (int64_t g = 0; g < G; g++) {
            sn_la_split_job sj = {X + (n * G + g) * 3 * d * N, q, NULL, NULL, d * N};
            sn_parallel_for(d * N, sn_la_split, &sj);
            sn_cpu_sgemm(0, d + 1, N, d, 1.0f, S + (n * G + g) * (d + 1) * d, d, q, N, 0.0f, o, N);
            sn_la_div_job dj = {o, Y + (n * G + g) * d * N, d, N, eps};
            sn_parallel_for(N, sn_la_div, &dj);
        }
    sn_scratch_reset(be, m);
    return SANA_OK;
}

/* What the ops above take from the arena (conv2d_band: its Winograd path's or its row path's,
 * as sn_cpu_conv2d_band_fast chooses), softmax attention's scores and the conversion buffer of
 * a linear with 16-bit weights (arena too), and conv2d's
 * im2col columns (malloc'd; none for depthwise and 1x1 stride-1 convolutions). */
size_t sn_cpu_scratch_bytes(sn_backend *be, const sn_op_shape *s) {
    (void)be;
    const sn_tensor *x = s->x, *w = s->w, *y = s->y;
    switch (s->op) {
    case SN_OP_CONV2D: {
        const int64_t G = s->groups > 0 ? s->groups : 1, Cig = x->shape[1] / G, Cog = w->shape[0] / G;
        const int64_t kh = w->shape[2], kw = w->shape[3];
        if ((Cig == 1 && Cog == 1) || (kh == 1 && kw == 1 && s->stride == 1 && s->pad == 0)) return 0;
        return (size_t)(Cig * kh * kw * y->shape[2] * y->shape[3]) * sizeof(float);
    }
    case SN_OP_CONV2D_BAND: {
        size_t wino;
        if (sn_cpu_conv2d_band_wino_scratch(s, &wino)) return wino;
        return sn_arena_round(sn_cpu_band_cols_bytes(x->shape[1] * w->shape[2] * w->shape[3], y->shape[3]));
    }
    case SN_OP_LINATTN_RELU:
        return sn_arena_round(sn_cpu_linattn_bytes(x->shape[2] / 3, x->shape[3]));
    case SN_OP_LINATTN_STATE:
    case SN_OP_LINATTN_APPLY:
        return sn_arena_round(sn_cpu_linattn_pass_bytes(x->shape[2] / 3, x->shape[3]));
    case SN_OP_ATTENTION:
        return sn_cpu_attention_scratch(s);
    case SN_OP_LINEAR:
        return sn_cpu_linear_scratch(x, w);
    }
    return 0;
}

typedef struct {
    const float *X;
    float *Y;
    int64_t Ci, Co, Hx, Wx, Hy, Wy, x_row0, y_row0, f;
} sn_shortcut_job;

static void sn_shortcut_dup_planes(void *p, int64_t i0, int64_t i1) {
    const sn_shortcut_job *jb = p;
    const int64_t Ci = jb->Ci, Co = jb->Co, Hx = jb->Hx, Wx = jb->Wx, Hy = jb->Hy, Wy = jb->Wy;
    const int64_t f = jb->f, r = f * f * Co / Ci;
    for (int64_t it = i0; it < i1; it++) {
        const int64_t n = it / Co, c = it % Co;
        for (int64_t row = 0; row < Hy; row++) {
            const int64_t oy = jb->y_row0 + row, i = oy % f;
            const int64_t sy = oy / f - jb->x_row0;
            float *yr = jb->Y + ((n * Co + c) * Hy + row) * Wy;
            if (f == 1) { /* residual / channel repeat: one source row */
                const float *xr = jb->X + ((n * Ci + c / r) * Hx + sy) * Wx;
                for (int64_t ox = 0; ox < Wy; ox++) yr[ox] += xr[ox];
            } else if (f == 2 && Wy == 2 * Wx) { /* even / odd columns from two source rows */
                const float *x0 = jb->X + ((n * Ci + (4 * c + 2 * i) / r) * Hx + sy) * Wx;
                const float *x1 = jb->X + ((n * Ci + (4 * c + 2 * i + 1) / r) * Hx + sy) * Wx;
                for (int64_t k = 0; k < Wx; k++) {
                    yr[2 * k] += x0[k];
                    yr[2 * k + 1] += x1[k];
                }
            } else {
                for (int64_t ox = 0; ox < Wy; ox++) {
                    const int64_t j = ox % f, sc = (f * f * c + f * i + j) / r;
                    yr[ox] += jb->X[((n * Ci + sc) * Hx + sy) * Wx + ox / f];
                }
            }
        }
    }
}

/* y += pixel_shuffle(repeat_interleave(x, r, channels), f), r = f²·Co/Ci:
 * y[c, fY+i, fX+j] += x[(f²c + f·i + j) / r, Y, X]. Rows are banded: y holds rows
 * [y_row0, ...) of the whole output and x rows [x_row0, ...) of the whole input. */
sana_status sn_cpu_shortcut_dup(sn_backend *be, const sn_tensor *x, int64_t x_row0, int32_t f,
                                sn_tensor *y, int64_t y_row0) {
    (void)be;
    sn_shortcut_job j = {SN_CF(x), SN_F(y), x->shape[1], y->shape[1], x->shape[2], x->shape[3],
                         y->shape[2], y->shape[3], x_row0, y_row0, f};
    sn_parallel_for(y->shape[0] * j.Co, sn_shortcut_dup_planes, &j);
    return SANA_OK;
}

static void sn_shortcut_avg_planes(void *p, int64_t i0, int64_t i1) {
    const sn_shortcut_job *jb = p;
    const int64_t Ci = jb->Ci, Co = jb->Co, Hx = jb->Hx, Wx = jb->Wx, Hy = jb->Hy, Wy = jb->Wy;
    const int64_t f = jb->f, g = f * f * Ci / Co, ff = f * f;
    for (int64_t it = i0; it < i1; it++) {
        const int64_t n = it / Co, o = it % Co;
        for (int64_t oy = 0; oy < Hy; oy++)
            for (int64_t ox = 0; ox < Wy; ox++) {
                float s = 0.0f;
                for (int64_t t = 0; t < g; t++) {
                    const int64_t u = o * g + t, c = u / ff, i = (u % ff) / f, j = u % f;
                    s += jb->X[((n * Ci + c) * Hx + f * oy + i) * Wx + f * ox + j];
                }
                jb->Y[((n * Co + o) * Hy + oy) * Wy + ox] += s / (float)g;
            }
    }
}

/* y += mean over consecutive groups of g = f²·Ci/Co channels of pixel_unshuffle(x, f), where
 * pixel_unshuffle(x)[c·f² + i·f + j, Y, X] = x[c, fY+i, fX+j]. Sum in float in channel order,
 * then divide by g (torch's mean). */
sana_status sn_cpu_shortcut_avg(sn_backend *be, const sn_tensor *x, int32_t f, sn_tensor *y) {
    (void)be;
    sn_shortcut_job j = {SN_CF(x), SN_F(y), x->shape[1], y->shape[1], x->shape[2], x->shape[3],
                         y->shape[2], y->shape[3], 0, 0, f};
    sn_parallel_for(y->shape[0] * j.Co, sn_shortcut_avg_planes, &j);
    return SANA_OK;
}
