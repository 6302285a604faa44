/* What a loaded Gemma-2 holds; shared by gemma_load.c and gemma_forward.c only. */
#ifndef SN_ENCODER_GEMMA_INTERNAL_H
#define SN_ENCODER_GEMMA_INTERNAL_H

#include "encoder/gemma.h"
#include "io/weights.h"

typedef struct sn_gemma_layer {
    sn_tensor input_norm, post_attn_norm, pre_ff_norm, post_ff_norm; /* [hidden], stored as w (used as 1 + w) */
    sn_tensor q, k, v;  /* [heads * head_dim, hidden], [kv_heads * head_dim, hidden] x2 */
    sn_tensor o;        /* [hidden, heads * head_dim] */
    sn_tensor gate, up; /* [intermediate, hidden] */
    sn_tensor down;     /* [hidden, intermediate] */
} sn_gemma_layer;

struct sn_gemma {
    sn_backend *be;
    sn_gemma_config cfg;
    uint8_t *layer_sliding;
    sn_gemma_layer *layers;
    sn_tensor final_norm;
    sn_weights *weights;       /* kept open: the embedding rows are read from the mapping */
    const sn_st_tensor *embed; /* [vocab, hidden] in the file's dtype */
    int64_t param_count;
    uint64_t serial;
    char *dir;
    struct sn_prompt_cache *uncond_cache; /* prompt.h: unconditional embeddings of this encoder */
};

#endif
