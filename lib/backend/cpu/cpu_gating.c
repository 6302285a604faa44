/* Gating elementwise ops of the DiT: GLU over the last dim and the gated residual add. */
#include "backend/cpu/cpu.h"

sana_status sn_cpu_glu(sn_backend *be, const sn_tensor *x, sn_act act, sn_tensor *y) {
    (void)be;
    int64_t F = y->shape[y->ndim - 1], R = sn_numel(y) / F;
    const float *X = SN_CF(x);
    float *Y = SN_F(y);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < R; r++) {
        const float *value = X + r * 2 * F, *gate = value + F;
        float *yr = Y + r * F;
        for (int64_t c = 0; c < F; c++) yr[c] = value[c] * sn_cpu_act(act, gate[c]);
    }
    return SANA_OK;
}

sana_status sn_cpu_gated_add(sn_backend *be, sn_tensor *x, const sn_tensor *y,
                             const sn_tensor *gate) {
    (void)be;
    int64_t Bn = x->shape[0], C = x->shape[x->ndim - 1];
    int64_t R = sn_numel(x) / C, per_batch = R / Bn;
    float *X = SN_F(x);
    const float *Yv = SN_CF(y), *G = gate ? SN_CF(gate) : NULL;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < R; r++) {
        float *xr = X + r * C;
        const float *yr = Yv + r * C;
        if (G) {
            const float *g = G + (r / per_batch) * C;
            for (int64_t c = 0; c < C; c++) xr[c] += g[c] * yr[c];
        } else {
            for (int64_t c = 0; c < C; c++) xr[c] += yr[c];
        }
    }
    return SANA_OK;
}
