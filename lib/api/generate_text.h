/* The text side of sana_generate: the prompt (and the negative prompt for CFG) encoded once,
 * repeated for the batch and laid out as the transformer's call batch
 * [uncond x B; cond x B; (cond x B for PAG)], with the cross-attention K/V prepared once. */
#ifndef SN_API_GENERATE_TEXT_H
#define SN_API_GENERATE_TEXT_H

#include "api/internal.h"
#include "dit/dit.h"

typedef struct sn_generate_text {
    sn_dit_text *dit_text;
} sn_generate_text;

sana_status sn_generate_encode_text(const sana_model *model, const sana_generate_params *p, int32_t batch,
                                    int cfg, int pag, sn_generate_text *out);
void sn_generate_text_free(sn_generate_text *t);

/* Tests: sees the cond embeddings [1, L, D] and mask [1, L] (NULL removes it). */
typedef void (*sn_generate_text_probe_fn)(void *user, const float *embeds, const float *mask,
                                          int32_t len, int32_t dim);
void sn_generate_set_text_probe(sn_generate_text_probe_fn fn, void *user);

#endif
