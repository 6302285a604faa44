/* Prompt conditioning for sana_generate (SanaPipeline.encode_prompt + the CFG/PAG concat). */
#include "api/generate_text.h"

#include <stdlib.h>
#include <string.h>

#include "encoder/prompt.h"

static _Thread_local sn_generate_text_probe_fn text_probe;
static _Thread_local void *text_probe_user;

void sn_generate_set_text_probe(sn_generate_text_probe_fn fn, void *user) {
    text_probe = fn;
    text_probe_user = user;
}

/* A backend tensor's values on the host (malloc'd). */
static sana_status to_host(const sn_tensor *t, float **out) {
    *out = malloc(sizeof(float) * (size_t)sn_numel(t));
    if (!*out) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "sana_generate: text embeddings: out of memory");
    return sn_download_f32(t, *out);
}

/* The prompt (and for CFG the negative prompt) -> embeddings [1, L, D] and masks [1, L] on the
 * host, as encode_prompt makes them (the complex human instruction for the prompt only). */
static sana_status encode(const sana_model *m, const sana_generate_params *gp, int cfg, float **cond,
                          float **cond_mask, float **unc, float **unc_mask, int32_t *len, int32_t *dim) {
    sn_prompt_params pp;
    sn_prompt_params_default(&pp);
    pp.complex_human_instruction = gp->complex_human_instruction;
    pp.max_sequence_length = gp->max_sequence_length;
    const char *prompts[1] = {gp->prompt};
    sn_tensor ce = {0}, cm = {0}, ue = {0}, um = {0};
    sana_status st;
    if (cfg)
        st = sn_prompt_encode_cfg(NULL, m->tokenizer, m->text_encoder, prompts, 1,
                                  gp->negative_prompt ? gp->negative_prompt : "", &pp, &ce, &cm, &ue, &um);
    else
        st = sn_prompt_encode(m->tokenizer, m->text_encoder, prompts, 1, &pp, &ce, &cm);
    if (st == SANA_OK && (ce.ndim != 3 || ce.shape[0] != 1 || cm.ndim != 2))
        st = sn_fail(SANA_ERR_INTERNAL, "sana_generate: prompt embeddings of rank %d", ce.ndim);
    if (st == SANA_OK) st = to_host(&ce, cond);
    if (st == SANA_OK) st = to_host(&cm, cond_mask);
    if (st == SANA_OK && cfg) st = to_host(&ue, unc);
    if (st == SANA_OK && cfg) st = to_host(&um, unc_mask);
    if (st == SANA_OK) {
        *len = (int32_t)ce.shape[1];
        *dim = (int32_t)ce.shape[2];
        if (cfg && (ue.ndim != 3 || ue.shape[1] != ce.shape[1] || ue.shape[2] != ce.shape[2]))
            st = sn_fail(SANA_ERR_INTERNAL, "sana_generate: prompt and negative prompt embeddings differ in shape");
    }
    sn_tensor_free(&ce);
    sn_tensor_free(&cm);
    sn_tensor_free(&ue);
    sn_tensor_free(&um);
    return st;
}

sana_status sn_generate_encode_text(const sana_model *m, const sana_generate_params *p, int32_t B, int cfg,
                                    int pag, sn_generate_text *out) {
    memset(out, 0, sizeof *out);
    float *cond = NULL, *cond_mask = NULL, *unc = NULL, *unc_mask = NULL;
    int32_t L = 0, D = 0;
    sana_status st = encode(m, p, cfg, &cond, &cond_mask, &unc, &unc_mask, &L, &D);
    if (st == SANA_OK && text_probe) text_probe(text_probe_user, cond, cond_mask, L, D);
    if (st == SANA_OK && D != sn_dit_caption_channels(m->transformer))
        st = sn_fail(SANA_ERR_UNSUPPORTED, "sana_generate: the text encoder gives %d channels, the "
                     "transformer takes %d", D, sn_dit_caption_channels(m->transformer));
    const int copies = 1 + (cfg ? 1 : 0) + (pag ? 1 : 0);
    const int32_t CB = copies * B;
    float *emb = NULL, *mask = NULL;
    if (st == SANA_OK) {
        emb = malloc(sizeof(float) * (size_t)CB * L * D);
        mask = malloc(sizeof(float) * (size_t)CB * L);
        if (!emb || !mask) st = sn_fail(SANA_ERR_OUT_OF_MEMORY, "sana_generate: text embeddings: out of memory");
    }
    if (st == SANA_OK) {
        /* prompt_embeds.repeat(1, n, 1).view(B, L, D); torch.cat([negative, prompt]) */
        for (int32_t r = 0; r < CB; r++) {
            int use_uncond = cfg && r < B;
            memcpy(emb + (size_t)r * L * D, use_uncond ? unc : cond, sizeof(float) * (size_t)L * D);
            memcpy(mask + (size_t)r * L, use_uncond ? unc_mask : cond_mask, sizeof(float) * (size_t)L);
        }
        sn_tensor e = {0};
        st = sn_api_activation(m, 3, SN_SHAPE(CB, L, D), &e);
        if (st == SANA_OK) st = sn_upload_convert(&e, SN_F32, emb);
        if (st == SANA_OK) st = sn_dit_prepare_text(m->transformer, &e, mask, &out->dit_text);
        sn_tensor_free(&e);
    }
    free(cond);
    free(cond_mask);
    free(unc);
    free(unc_mask);
    free(emb);
    free(mask);
    return st;
}

void sn_generate_text_free(sn_generate_text *t) {
    sn_dit_text_free(t->dit_text);
    t->dit_text = NULL;
}
