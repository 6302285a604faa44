/* ReLU linear attention (SANA's LiteLA / SanaLinearAttnProcessor2_0), computed as the reference
 * does: per (batch, head), V padded with a row of ones, S = V_pad · relu(K) ((dv+1) x d, its
 * last row the key sum z), then (S · relu(Q))[:dv] / ((S · relu(Q))[dv] + eps). Both products
 * are single-threaded fp32 sgemms (the reference's are fp32 matmuls); threads take whole
 * (batch, head) tasks, so the result does not depend on the thread count.
 *
 * The tokens are taken in chunks of SN_LA_CHUNK (the state accumulates over chunks, beta = 1),
 * so a thread's buffers stay small at any image size. */
#include <stdatomic.h>
#include <stdlib.h>

#include "backend/cpu/cpu.h"
#include "core/pool.h"

#define SN_LA_CHUNK 1024 /* tokens per chunk */

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
    const int64_t N = jb->N, Dq = jb->Dq, Dv = jb->Dv, d = jb->d, dv = jb->dv, e = dv + 1;
    const int64_t T = N < SN_LA_CHUNK ? N : SN_LA_CHUNK;
    int64_t t0, t1;
    sn_pool_share(jb->tasks, tid, nt, &t0, &t1);
    if (t1 <= t0) return;
    /* S [e, d]; Vt [e, T]: the chunk's V_pad; R [T, d]: relu(K) or relu(Q) of the chunk;
     * Yp [T, e]: (relu(Q) · Sᵀ) of the chunk, numerators then the divisor */
    float *S = malloc((size_t)(e * d + e * T + T * d + T * e) * sizeof(float));
    if (!S) {
        atomic_store(&jb->failed, 1);
        return;
    }
    float *Vt = S + e * d, *R = Vt + e * T, *Yp = R + T * d;
    for (int64_t n = 0; n < T; n++) Vt[dv * T + n] = 1.0f; /* the row of ones */
    for (int64_t t = t0; t < t1; t++) {
        const int64_t b = t / jb->heads, h = t % jb->heads;
        const float *Kb = jb->K + b * N * Dq + h * d, *Qb = jb->Q + b * N * Dq + h * d;
        const float *Vb = jb->V + b * N * Dv + h * dv;
        float *Yb = jb->Y + b * N * Dv + h * dv;
        for (int64_t n0 = 0; n0 < N; n0 += T) {
            const int64_t m = N - n0 < T ? N - n0 : T;
            for (int64_t n = 0; n < m; n++) {
                const float *kn = Kb + (n0 + n) * Dq, *vn = Vb + (n0 + n) * Dv;
                for (int64_t j = 0; j < d; j++) R[n * d + j] = sn_relu(kn[j]);
                for (int64_t i = 0; i < dv; i++) Vt[i * T + n] = vn[i];
            }
            /* S (+)= V_pad[:, chunk] · relu(K)[chunk] */
            sn_cpu_sgemm_team(0, 1, 0, e, d, m, 1.0f, Vt, T, R, d, n0 ? 1.0f : 0.0f, S, d);
        }
        for (int64_t n0 = 0; n0 < N; n0 += T) {
            const int64_t m = N - n0 < T ? N - n0 : T;
            for (int64_t n = 0; n < m; n++) {
                const float *qn = Qb + (n0 + n) * Dq;
                for (int64_t j = 0; j < d; j++) R[n * d + j] = sn_relu(qn[j]);
            }
            sn_cpu_sgemm_team(0, 1, 1, m, e, d, 1.0f, R, d, S, d, 0.0f, Yp, e);
            for (int64_t n = 0; n < m; n++) {
                const float *yp = Yp + n * e;
                float *yn = Yb + (n0 + n) * Dv;
                const float den = yp[dv] + jb->eps;
                for (int64_t i = 0; i < dv; i++) yn[i] = yp[i] / den;
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
    int nt = sn_pool_threads(); /* before sn_cpu_blas_enter, which makes it read 1 */
    if (nt > j.tasks) nt = (int)j.tasks;
    if (nt < 1 || j.N < 1) return SANA_OK;
    sn_cpu_blas_enter();
    sn_pool_run(nt, sn_linattn_task, &j);
    sn_cpu_blas_leave();
    if (atomic_load(&j.failed)) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "linear_attention: buffers");
    return SANA_OK;
}
