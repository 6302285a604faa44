/* Placeholder until the solvers and the generate call land (issue 7). */
#include <string.h>

#include "api/internal.h"

#define SN_NOT_YET(what) sn_fail(SANA_ERR_UNSUPPORTED, "%s is not implemented yet in this libsana", what)

void sana_sampler_params_init(sana_sampler_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
}
sana_status sana_sampler_create(const sana_model *model, const sana_sampler_params *params,
                                sana_sampler **out) {
    (void)model;
    (void)params;
    sn_error_clear();
    if (out) *out = NULL;
    return SN_NOT_YET("sana_sampler_create");
}
void sana_sampler_free(sana_sampler *sampler) { (void)sampler; }
sana_status sana_sampler_timesteps(const sana_sampler *sampler, float *timesteps, size_t capacity,
                                   size_t *count) {
    (void)sampler;
    (void)timesteps;
    (void)capacity;
    if (count) *count = 0;
    sn_error_clear();
    return SN_NOT_YET("sana_sampler_timesteps");
}

void sana_generate_params_init(sana_generate_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->width = 1024;
    p->height = 1024;
    p->resolution_binning = 1;
    p->batch = 1;
    p->guidance_scale = 4.5f;
    p->complex_human_instruction = 1;
    p->strength = 0.8f;
    p->max_sequence_length = 300;
}
sana_status sana_generate(sana_context *ctx, const sana_model *model,
                          const sana_generate_params *params, sana_image **images) {
    (void)model;
    (void)params;
    (void)images;
    if (!ctx) return SN_NOT_YET("sana_generate");
    sn_api_enter(ctx);
    return sn_api_leave(ctx, SN_NOT_YET("sana_generate"));
}

void sana_denoise_params_init(sana_denoise_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->guidance_scale = 4.5f;
}
sana_status sana_denoise(sana_context *ctx, const sana_model *model,
                         const sana_denoise_params *params, sana_tensor *latents) {
    (void)model;
    (void)params;
    (void)latents;
    if (!ctx) return SN_NOT_YET("sana_denoise");
    sn_api_enter(ctx);
    return sn_api_leave(ctx, SN_NOT_YET("sana_denoise"));
}

sana_status sana_noise_fill(sana_noise kind, uint64_t seed, sana_tensor *latents) {
    (void)kind;
    (void)seed;
    (void)latents;
    sn_error_clear();
    return SN_NOT_YET("sana_noise_fill");
}

