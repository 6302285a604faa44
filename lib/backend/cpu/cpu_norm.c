/* LayerNorm (with adaLN modulation) and RMSNorm over the last dim; statistics in double. */
#include <math.h>

#include "backend/cpu/cpu.h"

sana_status sn_cpu_layer_norm(sn_backend *be, const sn_tensor *x, const sn_tensor *w,
                              const sn_tensor *b, const sn_tensor *shift, const sn_tensor *scale,
                              float eps, sn_tensor *y) {
    (void)be;
    int64_t C = x->shape[x->ndim - 1], R = sn_numel(x) / C;
    int64_t per_batch = R / x->shape[0];
    const float *X = SN_CF(x), *Wv = w ? SN_CF(w) : NULL, *Bv = b ? SN_CF(b) : NULL;
    const float *Sh = shift ? SN_CF(shift) : NULL, *Sc = scale ? SN_CF(scale) : NULL;
    float *Y = SN_F(y);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < R; r++) {
        const float *xr = X + r * C;
        float *yr = Y + r * C;
        double mean = 0.0, var = 0.0;
        for (int64_t c = 0; c < C; c++) mean += xr[c];
        mean /= (double)C;
        for (int64_t c = 0; c < C; c++) var += ((double)xr[c] - mean) * ((double)xr[c] - mean);
        var /= (double)C;
        float inv = (float)(1.0 / sqrt(var + (double)eps));
        int64_t bi = r / per_batch;
        for (int64_t c = 0; c < C; c++) {
            float v = ((float)(xr[c] - mean)) * inv;
            if (Wv) v *= Wv[c];
            if (Bv) v += Bv[c];
            if (Sc) v *= 1.0f + Sc[bi * C + c];
            if (Sh) v += Sh[bi * C + c];
            yr[c] = v;
        }
    }
    return SANA_OK;
}

sana_status sn_cpu_rms_norm(sn_backend *be, const sn_tensor *x, const sn_tensor *w,
                            const sn_tensor *b, float w_offset, float eps, sn_tensor *y) {
    (void)be;
    int64_t C = x->shape[x->ndim - 1], R = sn_numel(x) / C;
    const float *X = SN_CF(x), *Wv = w ? SN_CF(w) : NULL, *Bv = b ? SN_CF(b) : NULL;
    float *Y = SN_F(y);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < R; r++) {
        const float *xr = X + r * C;
        float *yr = Y + r * C;
        double ss = 0.0;
        for (int64_t c = 0; c < C; c++) ss += (double)xr[c] * xr[c];
        float inv = (float)(1.0 / sqrt(ss / (double)C + (double)eps));
        for (int64_t c = 0; c < C; c++) {
            float v = xr[c] * inv;
            if (Wv) v *= Wv[c] + w_offset;
            if (Bv) v += Bv[c];
            yr[c] = v;
        }
    }
    return SANA_OK;
}
