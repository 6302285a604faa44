/* sana_encode_prompt: the public low-level prompt encoder (lib/encoder/prompt.h does the work). */
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "encoder/gemma.h"
#include "encoder/prompt.h"

void sana_encode_params_init(sana_encode_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->complex_human_instruction = 1;
    p->max_sequence_length = 300;
}

/* A backend tensor copied into a new host sana_tensor. */
static sana_status sn_to_host(const sn_tensor *t, sana_tensor **out) {
    SN_TRY(sn_api_tensor_new(t->ndim, t->shape, out));
    sana_status st = sn_download_f32(t, (*out)->data);
    if (st != SANA_OK) {
        sana_tensor_free(*out);
        *out = NULL;
    }
    return st;
}

static sana_status sn_encode(const sana_model *model, const char *const *prompts, int32_t n,
                             const sana_encode_params *params, sana_tensor **embeddings, sana_tensor **mask) {
    if (!model || !prompts || n < 1 || !embeddings || !mask)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_encode_prompt: model, prompts (n >= 1), embeddings and mask are required");
    for (int32_t i = 0; i < n; i++)
        if (!prompts[i]) return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_encode_prompt: prompts[%d] is NULL", i);
    sana_encode_params ep;
    sana_encode_params_init(&ep);
    SN_TRY(sn_params_read(&ep, sizeof ep, params, "sana_encode_params"));
    if (ep.max_sequence_length < 1 || ep.max_sequence_length > 8192)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_encode_params: max_sequence_length is %d (1..8192)",
                       ep.max_sequence_length);
    if (!model->tokenizer) return sn_fail(SANA_ERR_UNSUPPORTED, "%s: the model has no tokenizer loaded", model->path);
    if (!model->text_encoder)
        return sn_fail(SANA_ERR_UNSUPPORTED, "%s: the text encoder is not loaded (or was released)", model->path);
    /* the text encoder runs the n prompts as one batch: a few [n, M, hidden] and [n, M,
     * intermediate] activations, M being L plus the instruction's tokens (a few hundred) */
    const sn_gemma_config *gc = sn_gemma_get_config(model->text_encoder);
    const double rows = (double)n * (ep.max_sequence_length + 512.0);
    SN_TRY(sn_api_check_memory(rows * (4.0 * gc->hidden_size + 2.0 * gc->intermediate_size) * sizeof(float),
                               "sana_encode_prompt", "these prompts"));
    sn_prompt_params p;
    sn_prompt_params_default(&p);
    p.complex_human_instruction = ep.complex_human_instruction != 0;
    p.max_sequence_length = ep.max_sequence_length;
    p.nvlabs_compat = ep.nvlabs_compat != 0;
    p.exact_padding = ep.exact_padding != 0 || p.nvlabs_compat; /* a negative is not told apart here */
    sn_tensor e, m;
    SN_TRY(sn_prompt_encode(model->tokenizer, model->text_encoder, prompts, n, &p, &e, &m));
    sana_status st = sn_to_host(&e, embeddings);
    if (st == SANA_OK && (st = sn_to_host(&m, mask)) != SANA_OK) {
        sana_tensor_free(*embeddings);
        *embeddings = NULL;
    }
    sn_tensor_free(&e);
    sn_tensor_free(&m);
    return st;
}

sana_status sana_encode_prompt(sana_context *ctx, const sana_model *model, const char *const *prompts,
                               int32_t n, const sana_encode_params *params, sana_tensor **embeddings,
                               sana_tensor **mask) {
    if (embeddings) *embeddings = NULL;
    if (mask) *mask = NULL;
    if (!ctx) return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_encode_prompt: ctx is NULL");
    sn_api_enter(ctx);
    return sn_api_leave(ctx, sn_encode(model, prompts, n, params, embeddings, mask));
}
