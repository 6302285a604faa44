/* Gemma-2 as SANA's text encoder: Gemma2Model's last_hidden_state (after the final norm).
 * Spec: shared/spec/text_encoder.md part A; reference: transformers 5.24 modeling_gemma2.py
 * (eager attention, soft-cap on).
 *
 * Loading reads text_encoder/config.json (reference defaults for missing keys) and the sharded
 * safetensors (with or without the "model." prefix). Every weight but the embedding table is
 * converted to the backend's weight dtype; the vocab x hidden table stays in the mapped file and
 * only the rows of the ids at hand are read and converted, per forward.
 *
 * Thread safety: a loaded sn_gemma is read-only; a forward uses the backend's scratch arena, so
 * forwards on the same backend must not overlap (the API layer serialises calls per context). */
#ifndef SN_ENCODER_GEMMA_H
#define SN_ENCODER_GEMMA_H

#include "backend/backend.h"

typedef struct sn_gemma sn_gemma;

typedef struct sn_gemma_config {
    int64_t vocab_size;        /* 256000 */
    int64_t hidden_size;       /* 2304 */
    int64_t intermediate_size; /* 9216 */
    int32_t n_layers;          /* 26 */
    int32_t n_heads;           /* 8 */
    int32_t n_kv_heads;        /* 4 */
    int64_t head_dim;          /* 256 (not hidden / heads) */
    float query_pre_attn_scalar; /* attention scale = this^-0.5 */
    float attn_softcap;          /* 50; 0 = none (config null) */
    float rope_theta;            /* 10000 */
    float rms_norm_eps;          /* 1e-6 */
    int64_t sliding_window;      /* 4096; 0 = none */
    sn_act act;                  /* gelu_pytorch_tanh */
    const uint8_t *layer_sliding; /* [n_layers]: 1 = sliding_attention layer */
} sn_gemma_config;

sana_status sn_gemma_load(sn_backend *be, const char *dir, const char *variant, sn_gemma **out);
void sn_gemma_free(sn_gemma *g);
int64_t sn_gemma_param_count(const sn_gemma *g);
const sn_gemma_config *sn_gemma_get_config(const sn_gemma *g);
sn_backend *sn_gemma_backend(const sn_gemma *g);
/* A number unique to this load in the process (cache keys must not trust reused pointers). */
uint64_t sn_gemma_serial(const sn_gemma *g);
/* The encoder's own cache of unconditional embeddings (see prompt.h); it lives and dies with the
 * encoder, so generations reuse the negative prompt's embedding without the caller keeping one. */
struct sn_prompt_cache *sn_gemma_uncond_cache(const sn_gemma *g);

/* Called by a forward with intermediate results: layer -1 is the scaled embedding, layer i the
 * residual stream after decoder layer i (before the final norm), as transformers' hooks see
 * them. `x` is [B, L, hidden] on the backend, valid during the call only. The callback may
 * overwrite x's values (not its shape, dtype or storage): the forward goes on from what it
 * leaves there (tests feed each layer of one backend the other backend's input). */
typedef sana_status (*sn_gemma_layer_fn)(int32_t layer, sn_tensor *x, void *user_data);

/* The encoder over B right-padded sequences of length L: ids [B * L] and mask [B * L] (host;
 * 1 = token, 0 = padding; NULL = all tokens). Writes last_hidden_state to `out` [B, L, hidden]
 * (a backend tensor the caller allocated). Pad rows get exactly what the reference computes
 * for them (they attend to the visible real keys; a row with none left in its sliding window
 * averages every value row, as eager attention with a finfo.min mask does). */
sana_status sn_gemma_forward(const sn_gemma *g, const int32_t *ids, const int32_t *mask, int64_t B,
                             int64_t L, sn_tensor *out, sn_gemma_layer_fn on_layer,
                             void *user_data);

#endif
