/* ReLU linear attention (SANA's LiteLA / SanaLinearAttnProcessor2_0).
 *
 * Per (batch, head) two passes over the N tokens: first the (dv x d) state S = sum_n v_n k_n^T
 * and the key sum z = sum_n k_n (the reference gets both at once by padding V with a row of
 * ones), then y_n = S q_n / (z^T q_n + eps). Sums are kept in double: this is the reference
 * backend, and it keeps the result within fp32 rounding of the reference's fp32 matmuls. */
#include <stdlib.h>

#include "backend/cpu/cpu.h"

static inline float sn_relu(float x) { return x > 0.0f ? x : 0.0f; }

sana_status sn_cpu_linear_attention(sn_backend *be, const sn_tensor *q, const sn_tensor *k,
                                    const sn_tensor *v, int32_t heads, float eps, sn_tensor *y) {
    (void)be;
    int64_t B = q->shape[0], N = q->shape[1], Dq = q->shape[2], Dv = v->shape[2];
    int64_t d = Dq / heads, dv = Dv / heads;
    const float *Q = SN_CF(q), *K = SN_CF(k), *V = SN_CF(v);
    float *Y = SN_F(y);
    int failed = 0;

#pragma omp parallel
    {
        double *S = malloc((size_t)(dv * d + d) * sizeof(double)); /* S then z */
        if (!S) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for collapse(2) schedule(static)
        for (int64_t b = 0; b < B; b++)
            for (int64_t h = 0; h < heads; h++) {
                if (!S) continue;
                double *z = S + dv * d;
                for (int64_t i = 0; i < dv * d + d; i++) S[i] = 0.0;
                for (int64_t n = 0; n < N; n++) {
                    const float *kn = K + (b * N + n) * Dq + h * d;
                    const float *vn = V + (b * N + n) * Dv + h * dv;
                    for (int64_t j = 0; j < d; j++) {
                        double kj = sn_relu(kn[j]);
                        if (kj == 0.0) continue;
                        z[j] += kj;
                        for (int64_t i = 0; i < dv; i++) S[i * d + j] += (double)vn[i] * kj;
                    }
                }
                for (int64_t n = 0; n < N; n++) {
                    const float *qn = Q + (b * N + n) * Dq + h * d;
                    float *yn = Y + (b * N + n) * Dv + h * dv;
                    double den = 0.0;
                    for (int64_t j = 0; j < d; j++) den += z[j] * sn_relu(qn[j]);
                    float inv_den = (float)den + eps;
                    for (int64_t i = 0; i < dv; i++) {
                        double num = 0.0;
                        for (int64_t j = 0; j < d; j++) num += S[i * d + j] * sn_relu(qn[j]);
                        yn[i] = (float)num / inv_den;
                    }
                }
            }
        free(S);
    }
    if (failed) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "linear_attention: state buffer");
    return SANA_OK;
}
