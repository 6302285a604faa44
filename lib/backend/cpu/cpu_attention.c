/* Softmax attention with additive mask, soft-cap, causal and sliding-window limits, and grouped
 * K/V. Work is split into (batch, head, block of query rows); each block is one single-threaded
 * sgemm S = scale·Q·Kᵀ, then soft-cap, mask, causal/window limits and softmax (fp32, max
 * subtracted) on S in place, then Y = P·V. A block's keys are cut to the range
 * its causal/window limits allow (the keys outside are -inf for every row of the block, weight
 * 0). Rows with no key left (all -inf) give zeros. Each thread's block of scores comes from the
 * scratch arena (one allocation for the team, sn_cpu_attention_scratch counts it). */
#include <math.h>

#include "backend/cpu/cpu.h"
#include "core/pool.h"

#define SN_ATT_ROWS 64          /* most query rows per task */
#define SN_ATT_SCORES (1 << 18) /* floats of scores per thread (1 MiB) when Nk allows */

static int sn_att_allowed(const sn_attn_params *p, int64_t i, int64_t j) {
    return !(p->causal && j > i) && !(p->window > 0 && j <= i - p->window);
}

/* exp(s - mx) in place and 1 / their sum (in double, in key order) */
static float sn_att_exp_row(float mx, int64_t n, float *s) {
    double sum = 0.0;
    for (int64_t jj = 0; jj < n; jj++) {
        /* below -104 expf rounds to +0 anyway (2^-150 = e^-103.97), but reaches it through glibc's
         * slow underflow path: masked keys (a large negative bias) landed there for every query */
        float e = s[jj] - mx;
        s[jj] = e < -104.0f ? 0.0f : expf(e);
        sum += s[jj];
    }
    return (float)(1.0 / sum);
}

/* The softmax of a row without soft-cap, causal or window limits (the DiT's cross-attention):
 * the same operations as sn_att_softmax_row, in loops that vectorize. The maximum is taken over
 * 16 interleaved partial maxima: the same value (a maximum does not depend on order; a +0 / -0
 * tie gives the same s - mx). */
static SN_CPU_VECTOR void sn_att_softmax_plain(const float *mrow, int64_t n, float *s) {
    if (mrow)
        for (int64_t jj = 0; jj < n; jj++) s[jj] += mrow[jj];
    float part[16];
    for (int k = 0; k < 16; k++) part[k] = -INFINITY;
    int64_t jj = 0;
    for (; jj + 16 <= n; jj += 16)
        for (int k = 0; k < 16; k++) part[k] = s[jj + k] > part[k] ? s[jj + k] : part[k];
    float mx = -INFINITY;
    for (int k = 0; k < 16; k++) mx = part[k] > mx ? part[k] : mx;
    for (; jj < n; jj++) mx = s[jj] > mx ? s[jj] : mx;
    if (mx == -INFINITY) { /* nothing to attend to: zeros */
        for (jj = 0; jj < n; jj++) s[jj] = 0.0f;
        return;
    }
    const float inv = sn_att_exp_row(mx, n, s);
    for (jj = 0; jj < n; jj++) s[jj] *= inv;
}

/* Scores s[n] of query row i over keys j0..j0+n-1 -> softmax weights in place; 0 when the row
 * has nothing to attend to. */
static void sn_att_softmax_row(const sn_attn_params *p, const float *mrow, int64_t i, int64_t j0,
                               int64_t n, float *s) {
    if (p->softcap <= 0.0f && !p->causal && p->window <= 0) {
        sn_att_softmax_plain(mrow ? mrow + j0 : NULL, n, s);
        return;
    }
    float mx = -INFINITY;
    for (int64_t jj = 0; jj < n; jj++) {
        float a = s[jj];
        if (p->softcap > 0.0f) a = p->softcap * tanhf(a / p->softcap);
        if (mrow) a += mrow[j0 + jj];
        if (!sn_att_allowed(p, i, j0 + jj)) a = -INFINITY;
        s[jj] = a;
        if (a > mx) mx = a;
    }
    if (mx == -INFINITY) { /* nothing to attend to: zeros */
        for (int64_t jj = 0; jj < n; jj++) s[jj] = 0.0f;
        return;
    }
    const float inv = sn_att_exp_row(mx, n, s);
    for (int64_t jj = 0; jj < n; jj++) s[jj] *= inv;
}

/* Query rows per task, tasks and threads of a call, and each thread's scores (floats, a
 * whole number of arena alignments so that threads never share a cache line) */
typedef struct {
    int64_t rows, blocks, tasks, stride;
    int nt;
} sn_att_plan;

static sn_att_plan sn_att_plan_of(int64_t B, int64_t Hq, int64_t Nq, int64_t Nk) {
    sn_att_plan a;
    a.rows = Nk > 0 ? SN_ATT_SCORES / Nk : SN_ATT_ROWS;
    if (a.rows > SN_ATT_ROWS) a.rows = SN_ATT_ROWS;
    if (a.rows < 1) a.rows = 1;
    a.blocks = (Nq + a.rows - 1) / a.rows;
    a.tasks = B * Hq * a.blocks;
    a.nt = sn_pool_threads(); /* before sn_cpu_blas_enter, which makes it read 1 */
    if (a.nt > a.tasks) a.nt = (int)a.tasks;
    a.stride = (int64_t)(sn_arena_round((size_t)(a.rows * Nk) * sizeof(float)) / sizeof(float));
    return a;
}

size_t sn_cpu_attention_scratch(const sn_op_shape *s) {
    const sn_att_plan a = sn_att_plan_of(s->x->shape[0], s->x->shape[1], s->x->shape[2], s->w->shape[2]);
    return a.nt < 1 ? 0 : sn_arena_round((size_t)(a.nt * a.stride) * sizeof(float));
}

/* Y[m, Dv] = P[m, n] · V[n, Dv] as axpys over the keys in key order, zero weights skipped: an
 * sgemm here sums in another order, which for the pad rows of Gemma-2's sliding layers (uniform
 * weights over every key) drifted 10x further from the reference (test_prompt, 4.6e-7 ->
 * 5.1e-6) */
static SN_CPU_VECTOR void sn_att_pv(const float *P, int64_t m, int64_t n, const float *V,
                                    int64_t Dv, float *Y) {
    for (int64_t r = 0; r < m; r++) {
        float *yi = Y + r * Dv;
        const float *pr = P + r * n;
        for (int64_t d = 0; d < Dv; d++) yi[d] = 0.0f;
        for (int64_t jj = 0; jj < n; jj++) {
            const float pj = pr[jj];
            if (pj == 0.0f) continue;
            const float *vj = V + jj * Dv;
            for (int64_t d = 0; d < Dv; d++) yi[d] += pj * vj[d];
        }
    }
}

typedef struct {
    const sn_attn_params *p;
    const float *Q, *K, *V, *M;
    float *Y, *scores; /* thread tid's at scores + tid * stride */
    int64_t Hq, Hk, Nq, Nk, D, Dv, group, rows, blocks, mask_rows, tasks, stride;
} sn_att_job;

/* this thread's share of the (batch, head, block of query rows) tasks */
static void sn_att_task(void *arg, int tid, int nt) {
    sn_att_job *j = arg;
    const sn_attn_params *p = j->p;
    const int64_t Nk = j->Nk, D = j->D, Dv = j->Dv, Nq = j->Nq, Hq = j->Hq, R = j->rows;
    int64_t t0, t1;
    sn_pool_share(j->tasks, tid, nt, &t0, &t1);
    if (t1 <= t0) return;
    float *s = j->scores + tid * j->stride; /* scores of one block */
    for (int64_t t = t0; t < t1; t++) {
        const int64_t b = t / (Hq * j->blocks), h = t / j->blocks % Hq, blk = t % j->blocks;
        const int64_t i0 = blk * R, i1 = i0 + R < Nq ? i0 + R : Nq, m = i1 - i0;
        const float *kb = j->K + (b * j->Hk + h / j->group) * Nk * D;
        const float *vb = j->V + (b * j->Hk + h / j->group) * Nk * Dv;
        const float *qb = j->Q + ((b * Hq + h) * Nq + i0) * D;
        float *yb = j->Y + ((b * Hq + h) * Nq + i0) * Dv;
        /* keys some row of the block may see: j <= i1 - 1 (causal), j > i0 - window (window) */
        int64_t j0 = 0, j1 = Nk;
        if (p->causal && i1 < j1) j1 = i1;
        if (p->window > 0 && i0 - p->window + 1 > j0) j0 = i0 - p->window + 1;
        if (j1 <= j0) {
            for (int64_t e = 0; e < m * Dv; e++) yb[e] = 0.0f;
            continue;
        }
        const int64_t n = j1 - j0;
        sn_cpu_sgemm_team(0, 1, 1, m, n, D, p->scale, qb, D, kb + j0 * D, D, 0.0f, s, n);
        for (int64_t i = i0; i < i1; i++) {
            const float *mrow =
                j->M ? j->M + (b * j->mask_rows + (j->mask_rows > 1 ? i : 0)) * Nk : NULL;
            sn_att_softmax_row(p, mrow, i, j0, n, s + (i - i0) * n);
        }
        sn_att_pv(s, m, n, vb + j0 * Dv, Dv, yb);
    }
}

sana_status sn_cpu_attention(sn_backend *be, const sn_tensor *q, const sn_tensor *k,
                             const sn_tensor *v, const sn_attn_params *p, sn_tensor *y) {
    const int64_t B = q->shape[0], Hq = q->shape[1], Nq = q->shape[2], Nk = k->shape[2];
    const sn_att_plan a = sn_att_plan_of(B, Hq, Nq, Nk);
    if (a.nt < 1) return SANA_OK;
    sn_arena_mark mk = sn_scratch_mark(be);
    float *scores = sn_arena_alloc(&be->scratch, (size_t)(a.nt * a.stride) * sizeof(float));
    if (!scores) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "attention: %zu bytes of score scratch",
                                (size_t)(a.nt * a.stride) * sizeof(float));
    sn_att_job j = {p, SN_CF(q), SN_CF(k), SN_CF(v), p->mask ? SN_CF(p->mask) : NULL, SN_F(y), scores, Hq,
                    k->shape[1], Nq, Nk, q->shape[3], v->shape[3], Hq / k->shape[1], a.rows, a.blocks,
                    p->mask ? (p->mask->ndim >= 2 ? p->mask->shape[p->mask->ndim - 2] : 1) : 0,
                    a.tasks, a.stride};
    sn_cpu_blas_enter();
    sn_pool_run(a.nt, sn_att_task, &j);
    sn_cpu_blas_leave();
    sn_scratch_reset(be, mk);
    return SANA_OK;
}
