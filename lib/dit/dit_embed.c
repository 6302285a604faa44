/* The fixed (weight-free) tables of the DiT, computed on the host the way the reference does:
 * the timestep sinusoid (diffusers get_timestep_embedding, fp32) and the 2-D sin-cos positional
 * embedding (get_2d_sincos_pos_embed: fp32 grid, fp64 frequencies). Also the q/k norms. */
#include <math.h>
#include <stdlib.h>

#include "dit/dit_internal.h"

/* Timesteps(256, flip_sin_to_cos=True, downscale_freq_shift=0): exponent_k = -ln(10000) * k in
 * fp32, / 128, exp; a = t * f in fp32; [cos a, sin a]. exp/sin/cos are evaluated in double and
 * rounded once, i.e. the correctly rounded fp32 results the reference's kernels aim for. */
void sn_dit_timestep_sinusoid(const float *t, int32_t n, float *out) {
    const int half = 128;
    const float neg_log = (float)-9.210340371976184; /* -math.log(10000) as a float32 scalar */
    for (int32_t b = 0; b < n; b++)
        for (int k = 0; k < half; k++) {
            float e = neg_log * (float)k / (float)half;
            float f = (float)exp((double)e);
            float a = t[b] * f;
            out[b * 2 * half + k] = (float)cos((double)a);
            out[b * 2 * half + half + k] = (float)sin((double)a);
        }
}

/* PatchEmbed's table for an Hp x Wp grid (recomputed for any grid, as diffusers does when the
 * grid differs from sample_size): grid_h[i] = i / (Hp / base) / interp in fp32 (likewise
 * grid_w); channels [0, D/2) encode the column, [D/2, D) the row, each half [sin | cos] over
 * D/4 frequencies 10000^(-k / (D/4)) in fp64. */
void sn_dit_sincos_pe(int32_t D, int32_t Hp, int32_t Wp, double base_size, double interp,
                      float *out) {
    int32_t quarter = D / 4;
    float h_div = (float)((double)Hp / base_size), w_div = (float)((double)Wp / base_size);
    float fi = (float)interp;
    for (int32_t i = 0; i < Hp; i++)
        for (int32_t j = 0; j < Wp; j++) {
            double pos[2] = {(double)((float)j / w_div / fi), (double)((float)i / h_div / fi)};
            float *row = out + ((int64_t)i * Wp + j) * D;
            for (int half = 0; half < 2; half++)
                for (int32_t k = 0; k < quarter; k++) {
                    double omega = 1.0 / pow(10000.0, (double)k / (double)quarter);
                    double a = pos[half] * omega;
                    row[half * 2 * quarter + k] = (float)sin(a);
                    row[half * 2 * quarter + quarter + k] = (float)cos(a);
                }
        }
}

sana_status sn_dit_pe_tensor(const sn_dit *dit, sn_backend *be, int64_t Hp, int64_t Wp,
                             int persistent, sn_tensor *out) {
    const sn_dit_config *c = &dit->cfg;
    int64_t N = Hp * Wp, D = c->D;
    float *host = malloc((size_t)(N * D) * sizeof(float));
    if (!host) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "dit: positional embedding table for a %lldx%lld grid",
                              (long long)Hp, (long long)Wp);
    sn_dit_sincos_pe((int32_t)D, (int32_t)Hp, (int32_t)Wp, (double)(c->sample_size / c->patch_size),
                     c->interpolation_scale, host);
    sana_status st = persistent ? sn_tensor_alloc(be, SN_F32, 2, SN_SHAPE(N, D), out)
                                : sn_tensor_scratch(be, SN_F32, 2, SN_SHAPE(N, D), out);
    if (st == SANA_OK) st = sn_upload_convert(out, SN_F32, host);
    if (st != SANA_OK && persistent) sn_tensor_free(out);
    free(host);
    return st;
}

sana_status sn_dit_apply_qk_norm(const sn_dit_qk_norm *qn, const sn_tensor *w, const sn_tensor *b,
                                 sn_tensor *x) {
    if (qn->kind == SN_QK_RMS) return sn_rms_norm(x, w, b, 0.0f, qn->eps, x);
    if (qn->kind == SN_QK_LAYER) return sn_layer_norm(x, w, b, NULL, NULL, qn->eps, x);
    return SANA_OK;
}
