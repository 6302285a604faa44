/* LayerNorm (with adaLN modulation) and RMSNorm over the last dim; statistics in double. */
#include <math.h>

#include "backend/cpu/cpu.h"
#include "core/pool.h"

typedef struct {
    const float *X, *Wv, *Bv, *Sh, *Sc;
    float *Y;
    int64_t C, per_batch;
    float eps, w_offset;
} sn_norm_job;

static SN_CPU_VECTOR void sn_layer_norm_rows(void *p, int64_t r0, int64_t r1) {
    const sn_norm_job *j = p;
    const int64_t C = j->C;
    for (int64_t r = r0; r < r1; r++) {
        const float *xr = j->X + r * C;
        float *yr = j->Y + r * C;
        double mean = 0.0, var = 0.0;
        for (int64_t c = 0; c < C; c++) mean += xr[c];
        mean /= (double)C;
        for (int64_t c = 0; c < C; c++) var += ((double)xr[c] - mean) * ((double)xr[c] - mean);
        var /= (double)C;
        float inv = (float)(1.0 / sqrt(var + (double)j->eps));
        int64_t bi = r / j->per_batch;
        for (int64_t c = 0; c < C; c++) {
            float v = ((float)(xr[c] - mean)) * inv;
            if (j->Wv) v *= j->Wv[c];
            if (j->Bv) v += j->Bv[c];
            if (j->Sc) v *= 1.0f + j->Sc[bi * C + c];
            if (j->Sh) v += j->Sh[bi * C + c];
            yr[c] = v;
        }
    }
}

sana_status sn_cpu_layer_norm(sn_backend *be, const sn_tensor *x, const sn_tensor *w,
                              const sn_tensor *b, const sn_tensor *shift, const sn_tensor *scale,
                              float eps, sn_tensor *y) {
    (void)be;
    int64_t C = x->shape[x->ndim - 1], R = sn_numel(x) / C;
    sn_norm_job j = {SN_CF(x),
                     w ? SN_CF(w) : NULL,
                     b ? SN_CF(b) : NULL,
                     shift ? SN_CF(shift) : NULL,
                     scale ? SN_CF(scale) : NULL,
                     SN_F(y),
                     C,
                     R / x->shape[0],
                     eps,
                     0.0f};
    sn_parallel_for(R, sn_layer_norm_rows, &j);
    return SANA_OK;
}

static void sn_rms_norm_rows(void *p, int64_t r0, int64_t r1) {
    const sn_norm_job *j = p;
    const int64_t C = j->C;
    for (int64_t r = r0; r < r1; r++) {
        const float *xr = j->X + r * C;
        float *yr = j->Y + r * C;
        double ss = 0.0;
        for (int64_t c = 0; c < C; c++) ss += (double)xr[c] * xr[c];
        float inv = (float)(1.0 / sqrt(ss / (double)C + (double)j->eps));
        for (int64_t c = 0; c < C; c++) {
            float v = xr[c] * inv;
            if (j->Wv) v *= j->Wv[c] + j->w_offset;
            if (j->Bv) v += j->Bv[c];
            yr[c] = v;
        }
    }
}

sana_status sn_cpu_rms_norm(sn_backend *be, const sn_tensor *x, const sn_tensor *w,
                            const sn_tensor *b, float w_offset, float eps, sn_tensor *y) {
    (void)be;
    int64_t C = x->shape[x->ndim - 1], R = sn_numel(x) / C;
    sn_norm_job j = {SN_CF(x), w ? SN_CF(w) : NULL, b ? SN_CF(b) : NULL, NULL, NULL, SN_F(y), C, 1,
                     eps,      w_offset};
    sn_parallel_for(R, sn_rms_norm_rows, &j);
    return SANA_OK;
}
