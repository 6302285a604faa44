/* ReLU linear attention (SANA's LiteLA / SanaLinearAttnProcessor2_0).
 *
 * Per (batch, head) two passes over the N tokens: first the (dv x d) state S = sum_n v_n k_n^T
 * and the key sum z = sum_n k_n (the reference gets both at once by padding V with a row of
 * ones), then y_n = S q_n / (z^T q_n + eps). Sums are kept in double: this is the reference
 * backend, and it keeps the result within fp32 rounding of the reference's fp32 matmuls. */
#include <stdatomic.h>
#include <stdlib.h>

#include "backend/cpu/cpu.h"
#include "core/pool.h"

static inline float sn_relu(float x) { return x > 0.0f ? x : 0.0f; }

typedef struct {
    const float *Q, *K, *V;
    float *Y;
    int64_t heads, N, Dq, Dv, d, dv, tasks;
    float eps;
    atomic_int failed;
} sn_linattn_job;

/* this thread's share of the (batch, head) tasks */
static void sn_linattn_task(void *arg, int tid, int nt) {
    sn_linattn_job *jb = arg;
    const int64_t N = jb->N, Dq = jb->Dq, Dv = jb->Dv, d = jb->d, dv = jb->dv;
    int64_t t0, t1;
    sn_pool_share(jb->tasks, tid, nt, &t0, &t1);
    if (t1 <= t0) return;
    double *S = malloc((size_t)(dv * d + d) * sizeof(double)); /* S then z */
    if (!S) {
        atomic_store(&jb->failed, 1);
        return;
    }
    double *z = S + dv * d;
    for (int64_t t = t0; t < t1; t++) {
        const int64_t b = t / jb->heads, h = t % jb->heads;
        for (int64_t i = 0; i < dv * d + d; i++) S[i] = 0.0;
        for (int64_t n = 0; n < N; n++) {
            const float *kn = jb->K + (b * N + n) * Dq + h * d;
            const float *vn = jb->V + (b * N + n) * Dv + h * dv;
            for (int64_t j = 0; j < d; j++) {
                double kj = sn_relu(kn[j]);
                if (kj == 0.0) continue;
                z[j] += kj;
                for (int64_t i = 0; i < dv; i++) S[i * d + j] += (double)vn[i] * kj;
            }
        }
        for (int64_t n = 0; n < N; n++) {
            const float *qn = jb->Q + (b * N + n) * Dq + h * d;
            float *yn = jb->Y + (b * N + n) * Dv + h * dv;
            double den = 0.0;
            for (int64_t j = 0; j < d; j++) den += z[j] * sn_relu(qn[j]);
            float inv_den = (float)den + jb->eps;
            for (int64_t i = 0; i < dv; i++) {
                double num = 0.0;
                for (int64_t j = 0; j < d; j++) num += S[i * d + j] * sn_relu(qn[j]);
                yn[i] = (float)num / inv_den;
            }
        }
    }
    free(S);
}

sana_status sn_cpu_linear_attention(sn_backend *be, const sn_tensor *q, const sn_tensor *k,
                                    const sn_tensor *v, int32_t heads, float eps, sn_tensor *y) {
    (void)be;
    int64_t B = q->shape[0], Dq = q->shape[2], Dv = v->shape[2];
    sn_linattn_job j = {SN_CF(q), SN_CF(k), SN_CF(v), SN_F(y), heads, q->shape[1], Dq, Dv,
                        Dq / heads, Dv / heads, B * heads, eps, 0};
    int nt = sn_pool_threads();
    if (nt > j.tasks) nt = (int)j.tasks;
    sn_pool_run(nt, sn_linattn_task, &j);
    if (atomic_load(&j.failed)) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "linear_attention: state buffer");
    return SANA_OK;
}
