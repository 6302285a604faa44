/* Prompt conditioning for sana_generate (SanaPipeline.encode_prompt + the CFG/PAG concat). */
#include "api/generate_text.h"

#include <stdlib.h>
#include <string.h>

static _Thread_local sn_generate_text_probe_fn text_probe;
static _Thread_local void *text_probe_user;

void sn_generate_set_text_probe(sn_generate_text_probe_fn fn, void *user) {
    text_probe = fn;
    text_probe_user = user;
}

/* One prompt -> embeddings [1, L, D] (malloc'd) and mask [1, L], as the encoder module computes
 * them (complex human instruction for the prompt, none for the negative one). */
static sana_status encode_one(const sana_model *m, const char *text, int negative,
                              const sana_generate_params *p, float **emb, float **mask, int32_t *len,
                              int32_t *dim) {
    (void)m, (void)text, (void)negative, (void)p;
    *emb = *mask = NULL;
    *len = *dim = 0;
    return sn_fail(SANA_ERR_UNSUPPORTED, "sana_generate: prompt encoding is not available yet in this libsana");
}

sana_status sn_generate_encode_text(const sana_model *m, const sana_generate_params *p, int32_t B, int cfg,
                                    int pag, sn_generate_text *out) {
    memset(out, 0, sizeof *out);
    float *cond = NULL, *cond_mask = NULL, *unc = NULL, *unc_mask = NULL;
    int32_t L = 0, D = 0, Lu = 0, Du = 0;
    sana_status st = encode_one(m, p->prompt, 0, p, &cond, &cond_mask, &L, &D);
    if (st == SANA_OK && text_probe) text_probe(text_probe_user, cond, cond_mask, L, D);
    if (st == SANA_OK && cfg)
        st = encode_one(m, p->negative_prompt ? p->negative_prompt : "", 1, p, &unc, &unc_mask, &Lu, &Du);
    if (st == SANA_OK && cfg && (Lu != L || Du != D))
        st = sn_fail(SANA_ERR_INTERNAL, "sana_generate: prompt (%d x %d) and negative prompt (%d x %d) "
                     "embeddings differ in shape", L, D, Lu, Du);
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
        st = sn_tensor_alloc(m->be, SN_F32, 3, SN_SHAPE(CB, L, D), &e);
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
