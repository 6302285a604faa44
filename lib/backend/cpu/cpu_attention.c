/* Softmax attention with additive mask, soft-cap, causal and sliding-window limits, and grouped
 * K/V. Work is split into (batch, head, block of query rows); each block transposes its K once
 * so that the scores of a row are a sum of axpys over the head dim (vectorised, and each score
 * still accumulates q·k in head-dim order). Softmax in fp32 with the max subtracted. */
#include <math.h>
#include <stdlib.h>

#include "backend/cpu/cpu.h"

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
        s[j] = s[j] == -INFINITY ? 0.0f : expf(s[j] - mx);
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

sana_status sn_cpu_attention(sn_backend *be, const sn_tensor *q, const sn_tensor *k,
                             const sn_tensor *v, const sn_attn_params *p, sn_tensor *y) {
    (void)be;
    int64_t B = q->shape[0], Hq = q->shape[1], Nq = q->shape[2], D = q->shape[3];
    int64_t Hk = k->shape[1], Nk = k->shape[2], Dv = v->shape[3];
    int64_t group = Hq / Hk, blocks = (Nq + SN_ATT_ROWS - 1) / SN_ATT_ROWS;
    const float *Q = SN_CF(q), *K = SN_CF(k), *V = SN_CF(v);
    const float *M = p->mask ? SN_CF(p->mask) : NULL;
    int64_t mask_rows = p->mask ? (p->mask->ndim >= 2 ? p->mask->shape[p->mask->ndim - 2] : 1) : 0;
    float *Y = SN_F(y);
    int failed = 0;

#pragma omp parallel
    {
        /* per thread: K of one head transposed [D, Nk], and one row of scores */
        float *kt = malloc((size_t)(D * Nk + Nk + 1) * sizeof(float));
        float *s = kt ? kt + D * Nk : NULL;
        if (!kt) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for collapse(3) schedule(static)
        for (int64_t b = 0; b < B; b++)
            for (int64_t h = 0; h < Hq; h++)
                for (int64_t blk = 0; blk < blocks; blk++) {
                    if (!kt) continue;
                    const float *kb = K + (b * Hk + h / group) * Nk * D;
                    const float *vb = V + (b * Hk + h / group) * Nk * Dv;
                    for (int64_t j = 0; j < Nk; j++)
                        for (int64_t d = 0; d < D; d++) kt[d * Nk + j] = kb[j * D + d];
                    int64_t i1 = (blk + 1) * SN_ATT_ROWS < Nq ? (blk + 1) * SN_ATT_ROWS : Nq;
                    for (int64_t i = blk * SN_ATT_ROWS; i < i1; i++) {
                        const float *mrow =
                            M ? M + (b * mask_rows + (mask_rows > 1 ? i : 0)) * Nk : NULL;
                        sn_att_row(p, Q + ((b * Hq + h) * Nq + i) * D, kt, vb, mrow, i, Nk, D, Dv, s,
                                   Y + ((b * Hq + h) * Nq + i) * Dv);
                    }
                }
        free(kt);
    }
    if (failed) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "attention: score buffer");
    return SANA_OK;
}
