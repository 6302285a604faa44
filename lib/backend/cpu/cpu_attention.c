/* Softmax attention with additive mask, soft-cap, causal and sliding-window limits, and grouped
 * K/V. Work is split into (batch, head, block of query rows); each block transposes its K once
 * so that the scores of a row are a sum of axpys over the head dim (vectorised, and each score
 * still accumulates q·k in head-dim order). Softmax in fp32 with the max subtracted. */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "backend/cpu/cpu.h"
#include "core/pool.h"

#define SN_ATT_ROWS 64 /* query rows per task */

static int sn_att_allowed(const sn_attn_params *p, int64_t i, int64_t j) {
    return !(p->causal && j > i) && !(p->window > 0 && j <= i - p->window);
}

/* One query row: scores into s[Nk], then y = softmax(s) · V. */
static void sn_att_row(const sn_attn_params *p, const float *qi, const float *kt, const float *vb,
                       const float *mrow, int64_t i, int64_t Nk, int64_t D, int64_t Dv, float *s,
                       float *yi) {
    for (int64_t j = 0; j < Nk; j++) s[j] = 0.0f;
    for (int64_t d = 0; d < D; d++) {
        const float qd = qi[d], *kd = kt + d * Nk;
        for (int64_t j = 0; j < Nk; j++) s[j] += qd * kd[j];
    }
    float mx = -INFINITY;
    for (int64_t j = 0; j < Nk; j++) {
        float a = s[j] * p->scale;
        if (p->softcap > 0.0f) a = p->softcap * tanhf(a / p->softcap);
        if (mrow) a += mrow[j];
        if (!sn_att_allowed(p, i, j)) a = -INFINITY;
        s[j] = a;
        if (a > mx) mx = a;
    }
    for (int64_t d = 0; d < Dv; d++) yi[d] = 0.0f;
    if (mx == -INFINITY) return; /* nothing to attend to: zeros */
    double sum = 0.0;
    for (int64_t j = 0; j < Nk; j++) {
        /* below -104 expf rounds to +0 anyway (2^-150 = e^-103.97), but reaches it through glibc's
         * slow underflow path: masked keys (a large negative bias) landed there for every query */
        float e = s[j] - mx;
        s[j] = e < -104.0f ? 0.0f : expf(e);
        sum += s[j];
    }
    float inv = (float)(1.0 / sum);
    for (int64_t j = 0; j < Nk; j++) {
        float pj = s[j] * inv;
        if (pj == 0.0f) continue;
        const float *vj = vb + j * Dv;
        for (int64_t d = 0; d < Dv; d++) yi[d] += pj * vj[d];
    }
}

typedef struct {
    const sn_attn_params *p;
    const float *Q, *K, *V, *M;
    float *Y;
    int64_t Hq, Hk, Nq, Nk, D, Dv, group, blocks, mask_rows, tasks;
    atomic_int failed;
} sn_att_job;

/* this thread's share of the (batch, head, block of query rows) tasks */
static void sn_att_task(void *arg, int tid, int nt) {
    sn_att_job *j = arg;
    const int64_t Nk = j->Nk, D = j->D, Dv = j->Dv, Nq = j->Nq, Hq = j->Hq;
    int64_t t0, t1;
    sn_pool_share(j->tasks, tid, nt, &t0, &t1);
    if (t1 <= t0) return;
    /* K of one head transposed [D, Nk], and one row of scores */
    float *kt = malloc((size_t)(D * Nk + Nk + 1) * sizeof(float));
    if (!kt) {
        atomic_store(&j->failed, 1);
        return;
    }
    float *s = kt + D * Nk;
    for (int64_t t = t0; t < t1; t++) {
        const int64_t b = t / (Hq * j->blocks), h = t / j->blocks % Hq, blk = t % j->blocks;
        const float *kb = j->K + (b * j->Hk + h / j->group) * Nk * D;
        const float *vb = j->V + (b * j->Hk + h / j->group) * Nk * Dv;
        for (int64_t jj = 0; jj < Nk; jj++)
            for (int64_t d = 0; d < D; d++) kt[d * Nk + jj] = kb[jj * D + d];
        int64_t i1 = (blk + 1) * SN_ATT_ROWS < Nq ? (blk + 1) * SN_ATT_ROWS : Nq;
        for (int64_t i = blk * SN_ATT_ROWS; i < i1; i++) {
            const float *mrow =
                j->M ? j->M + (b * j->mask_rows + (j->mask_rows > 1 ? i : 0)) * Nk : NULL;
            sn_att_row(j->p, j->Q + ((b * Hq + h) * Nq + i) * D, kt, vb, mrow, i, Nk, D, Dv, s,
                       j->Y + ((b * Hq + h) * Nq + i) * Dv);
        }
    }
    free(kt);
}

sana_status sn_cpu_attention(sn_backend *be, const sn_tensor *q, const sn_tensor *k,
                             const sn_tensor *v, const sn_attn_params *p, sn_tensor *y) {
    (void)be;
    int64_t B = q->shape[0], Hq = q->shape[1], Nq = q->shape[2];
    int64_t blocks = (Nq + SN_ATT_ROWS - 1) / SN_ATT_ROWS;
    sn_att_job j = {p, SN_CF(q), SN_CF(k), SN_CF(v), p->mask ? SN_CF(p->mask) : NULL, SN_F(y), Hq,
                    k->shape[1], Nq, k->shape[2], q->shape[3], v->shape[3], Hq / k->shape[1],
                    blocks, p->mask ? (p->mask->ndim >= 2 ? p->mask->shape[p->mask->ndim - 2] : 1) : 0,
                    B * Hq * blocks, 0};
    int nt = sn_pool_threads();
    if (nt > j.tasks) nt = (int)j.tasks;
    sn_pool_run(nt, sn_att_task, &j);
    if (atomic_load(&j.failed)) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "attention: score buffer");
    return SANA_OK;
}
