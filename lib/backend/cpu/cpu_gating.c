/* Gating elementwise ops of the DiT: GLU over the last dim and the gated residual add. */
#include "backend/cpu/cpu.h"
#include "core/pool.h"

typedef struct {
    const float *X, *G;
    float *Y;
    int64_t F, per_batch;
    sn_act act;
} sn_gating_job;

static SN_CPU_VECTOR void sn_glu_rows(void *p, int64_t r0, int64_t r1) {
    const sn_gating_job *j = p;
    const int64_t F = j->F;
    for (int64_t r = r0; r < r1; r++) {
        const float *value = j->X + r * 2 * F, *gate = value + F;
        float *yr = j->Y + r * F;
        for (int64_t c = 0; c < F; c++) yr[c] = gate[c];
        sn_cpu_act_row(j->act, yr, F);
        for (int64_t c = 0; c < F; c++) yr[c] *= value[c];
    }
}

sana_status sn_cpu_glu(sn_backend *be, const sn_tensor *x, sn_act act, sn_tensor *y) {
    (void)be;
    int64_t F = y->shape[y->ndim - 1], R = sn_numel(y) / F;
    sn_gating_job j = {SN_CF(x), NULL, SN_F(y), F, 1, act};
    sn_parallel_for(R, sn_glu_rows, &j);
    return SANA_OK;
}

/* x[r] += gate[batch of r] * y[r]; here X is y and Y is x (the one written) */
static SN_CPU_VECTOR void sn_gated_add_rows(void *p, int64_t r0, int64_t r1) {
    const sn_gating_job *j = p;
    const int64_t C = j->F;
    for (int64_t r = r0; r < r1; r++) {
        float *xr = j->Y + r * C;
        const float *yr = j->X + r * C;
        if (j->G) {
            const float *g = j->G + (r / j->per_batch) * C;
            for (int64_t c = 0; c < C; c++) xr[c] += g[c] * yr[c];
        } else {
            for (int64_t c = 0; c < C; c++) xr[c] += yr[c];
        }
    }
}

sana_status sn_cpu_gated_add(sn_backend *be, sn_tensor *x, const sn_tensor *y,
                             const sn_tensor *gate) {
    (void)be;
    int64_t Bn = x->shape[0], C = x->shape[x->ndim - 1];
    int64_t R = sn_numel(x) / C;
    sn_gating_job j = {SN_CF(y), gate ? SN_CF(gate) : NULL, SN_F(x), C, R / Bn, SN_ACT_NONE};
    sn_parallel_for(R, sn_gated_add_rows, &j);
    return SANA_OK;
}
