/* Placeholder until the DiT lands (issue 5): the interface in dit.h, refusing to run. */
#include "dit/dit.h"

sana_status sn_dit_load(sn_backend *be, const char *dir, const char *variant, sn_dit **out) {
    (void)be;
    (void)variant;
    *out = NULL;
    return sn_fail(SANA_ERR_UNSUPPORTED, "%s: the SANA transformer is not implemented yet", dir);
}
void sn_dit_free(sn_dit *dit) { (void)dit; }
int64_t sn_dit_param_count(const sn_dit *dit) { (void)dit; return 0; }
int32_t sn_dit_in_channels(const sn_dit *dit) { (void)dit; return 32; }
int32_t sn_dit_out_channels(const sn_dit *dit) { (void)dit; return 32; }
int32_t sn_dit_patch_size(const sn_dit *dit) { (void)dit; return 1; }
int32_t sn_dit_sample_size(const sn_dit *dit) { (void)dit; return 32; }
int32_t sn_dit_caption_channels(const sn_dit *dit) { (void)dit; return 2304; }
int32_t sn_dit_hidden_size(const sn_dit *dit) { (void)dit; return 2240; }
int32_t sn_dit_num_layers(const sn_dit *dit) { (void)dit; return 20; }
int sn_dit_guidance_embeds(const sn_dit *dit) { (void)dit; return 0; }
float sn_dit_guidance_embeds_scale(const sn_dit *dit) { (void)dit; return 0.1f; }
float sn_dit_timestep_scale(const sn_dit *dit) { (void)dit; return 1.0f; }
sana_status sn_dit_prepare_text(const sn_dit *dit, const sn_tensor *embeds, const float *mask,
                                sn_dit_text **out) {
    (void)dit; (void)embeds; (void)mask;
    *out = NULL;
    return sn_fail(SANA_ERR_UNSUPPORTED, "the SANA transformer is not implemented yet");
}
void sn_dit_text_free(sn_dit_text *text) { (void)text; }
int32_t sn_dit_text_batch(const sn_dit_text *text) { (void)text; return 0; }
sana_status sn_dit_forward(const sn_dit *dit, const sn_dit_text *text, const sn_tensor *latents,
                           const float *timesteps, const float *guidance, const sn_dit_pag *pag,
                           sn_tensor *out) {
    (void)dit; (void)text; (void)latents; (void)timesteps; (void)guidance; (void)pag; (void)out;
    return sn_fail(SANA_ERR_UNSUPPORTED, "the SANA transformer is not implemented yet");
}
void sn_dit_set_probe(sn_dit *dit, sn_dit_probe_fn fn, void *user) { (void)dit; (void)fn; (void)user; }
