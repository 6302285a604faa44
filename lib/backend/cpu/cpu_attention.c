/* Softmax attention with additive mask, soft-cap, causal and sliding-window limits, and grouped
 * K/V. One query row at a time: scores in fp32, max-subtracted softmax. */
#include <math.h>
#include <stdlib.h>

#include "backend/cpu/cpu.h"

sana_status sn_cpu_attention(sn_backend *be, const sn_tensor *q, const sn_tensor *k,
                             const sn_tensor *v, const sn_attn_params *p, sn_tensor *y) {
    (void)be;
    int64_t B = q->shape[0], Hq = q->shape[1], Nq = q->shape[2], D = q->shape[3];
    int64_t Hk = k->shape[1], Nk = k->shape[2], Dv = v->shape[3];
    int64_t group = Hq / Hk;
    const float *Q = SN_CF(q), *K = SN_CF(k), *V = SN_CF(v);
    const float *M = p->mask ? SN_CF(p->mask) : NULL;
    int64_t mask_rows = p->mask ? (p->mask->ndim >= 2 ? p->mask->shape[p->mask->ndim - 2] : 1) : 0;
    float *Y = SN_F(y);
    int failed = 0;

#pragma omp parallel
    {
        float *s = malloc((size_t)(Nk > 0 ? Nk : 1) * sizeof(float));
        if (!s) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for collapse(3) schedule(static)
        for (int64_t b = 0; b < B; b++)
            for (int64_t h = 0; h < Hq; h++)
                for (int64_t i = 0; i < Nq; i++) {
                    if (!s) continue;
                    const float *qi = Q + ((b * Hq + h) * Nq + i) * D;
                    const float *kb = K + (b * Hk + h / group) * Nk * D;
                    const float *vb = V + (b * Hk + h / group) * Nk * Dv;
                    const float *mrow =
                        M ? M + (b * mask_rows + (mask_rows > 1 ? i : 0)) * Nk : NULL;
                    float mx = -INFINITY;
                    for (int64_t j = 0; j < Nk; j++) {
                        int allowed = !(p->causal && j > i) && !(p->window > 0 && j <= i - p->window);
                        if (!allowed) {
                            s[j] = -INFINITY;
                            continue;
                        }
                        float acc = 0.0f;
                        for (int64_t d = 0; d < D; d++) acc += qi[d] * kb[j * D + d];
                        acc *= p->scale;
                        if (p->softcap > 0.0f) acc = p->softcap * tanhf(acc / p->softcap);
                        if (mrow) acc += mrow[j];
                        s[j] = acc;
                        if (acc > mx) mx = acc;
                    }
                    float *yi = Y + ((b * Hq + h) * Nq + i) * Dv;
                    for (int64_t d = 0; d < Dv; d++) yi[d] = 0.0f;
                    if (mx == -INFINITY) continue; /* nothing to attend to: zeros */
                    double sum = 0.0;
                    for (int64_t j = 0; j < Nk; j++) {
                        s[j] = s[j] == -INFINITY ? 0.0f : expf(s[j] - mx);
                        sum += s[j];
                    }
                    float inv = (float)(1.0 / sum);
                    for (int64_t j = 0; j < Nk; j++) {
                        float pj = s[j] * inv;
                        if (pj == 0.0f) continue;
                        for (int64_t d = 0; d < Dv; d++) yi[d] += pj * vb[j * Dv + d];
                    }
                }
        free(s);
    }
    if (failed) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "attention: score buffer");
    return SANA_OK;
}
