/* Per-prompt state: everything the DiT computes from the caption alone, done once per prompt
 * instead of once per step (spec pitfall 12): caption_projection + caption_norm, then every
 * block's cross-attention K and V, kept head-major [B, Hc, R, dc] for the attention op, and the
 * additive mask [B, 1, R].
 *
 * Only the caption rows [0, R) that some entry of the batch attends are kept (sn_text_keys): a
 * key the mask drops gets the bias -10000, and exp(score - 10000 - max) is exactly 0 in the fp32
 * softmax of every backend (attention scores are nowhere near 10^4), so keys past the last one
 * any row admits add nothing to any row's softmax. For a prompt shorter than
 * max_sequence_length (300) the caption path, the K/V of every block and each step's
 * cross-attention shrink by R / 300. The mask is the one the attention uses (NVlabs'
 * unconditional rows carry the positive prompt's mask; CFG, PAG and batch > 1 stack theirs), so
 * R is the union over the batch. R is fixed when the text is prepared: every forward of a
 * generation has the same shapes (one CUDA graph capture, then replays). */
#include <stdlib.h>

#include "dit/dit_internal.h"

/* K or V of one block: y [B, T, D] -> linear -> (qk-norm) -> [B, Hc, T, dc] (persistent). */
static sana_status sn_text_proj(const sn_dit *dit, const sn_tensor *y, const sn_tensor *w,
                                const sn_tensor *b, const sn_tensor *nw, const sn_tensor *nb,
                                int norm, sn_tensor *out) {
    const sn_dit_config *c = &dit->cfg;
    int64_t B = y->shape[0], T = y->shape[1];
    sn_backend *be = sn_backend_for_call(dit->be);
    sn_tensor t;
    SN_TRY(sn_tensor_scratch(be, be->act_dtype, 3, SN_SHAPE(B, T, c->Dc), &t));
    SN_TRY(sn_linear(y, w, b, SN_ACT_NONE, &t));
    if (norm)
        SN_TRY(sn_dit_apply_qk_norm(&c->qk, nw->data ? nw : NULL, nb->data ? nb : NULL, &t));
    sn_tensor t4;
    SN_TRY(sn_tensor_reshape(&t, 4, SN_SHAPE(B, T, c->cross_heads, c->cross_head_dim), &t4));
    SN_TRY(sn_tensor_alloc(be, be->act_dtype, 4, SN_SHAPE(B, c->cross_heads, T, c->cross_head_dim), out));
    return sn_permute(&t4, (const int32_t[]){0, 2, 1, 3}, out);
}

/* How many caption rows the cross-attention needs: 1 + the last key that any row of the mask
 * (B x T, 0 = dropped) admits, at least 1; all T without a mask. A row that admits no key at all
 * keeps all T: its biases are all -10000, which cancel in the softmax, so it weighs every key
 * (diffusers does the same). Any value other than exactly 0 counts as admitted (a bias above
 * -10000 may not underflow to 0). */
static int64_t sn_text_keys(const float *mask, int64_t B, int64_t T) {
    if (!mask) return T;
    int64_t R = 1;
    for (int64_t b = 0; b < B; b++) {
        int64_t last = T - 1;
        while (last >= 0 && mask[b * T + last] == 0.0f) last--;
        if (last < 0) return T;
        if (last + 1 > R) R = last + 1;
    }
    return R;
}

/* dst [B, R, C] <- rows [0, R) of each entry of src [B, T, C] (each a contiguous run). */
static sana_status sn_text_prefix(const sn_tensor *src, int64_t R, sn_tensor *dst) {
    int64_t B = src->shape[0], T = src->shape[1], C = src->shape[2];
    size_t es = sn_dtype_size(src->dtype);
    for (int64_t b = 0; b < B; b++) {
        sn_tensor s = *src, d = *dst;
        s.ndim = d.ndim = 2;
        s.shape[0] = d.shape[0] = R;
        s.shape[1] = d.shape[1] = C;
        s.shape[2] = d.shape[2] = 0;
        s.data = (char *)src->data + (size_t)(b * T * C) * es;
        d.data = (char *)dst->data + (size_t)(b * R * C) * es;
        SN_TRY(sn_copy(&d, &s));
    }
    return SANA_OK;
}

static sana_status sn_text_build(const sn_dit *dit, const sn_tensor *embeds, const float *mask,
                                 sn_dit_text *text) {
    const sn_dit_config *c = &dit->cfg;
    sn_backend *be = sn_backend_for_call(dit->be);
    int64_t B = embeds->shape[0], T = embeds->shape[1], D = c->D;
    int64_t R = dit->no_key_trim ? T : sn_text_keys(mask, B, T);
    text->R = (int32_t)R;

    if (mask) { /* (1 - m) * -10000, as the reference turns a 2-D mask into a bias */
        float *bias = malloc((size_t)(B * R) * sizeof(float));
        if (!bias) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "dit text: mask");
        for (int64_t b = 0; b < B; b++)
            for (int64_t j = 0; j < R; j++) bias[b * R + j] = (1.0f - mask[b * T + j]) * -10000.0f;
        sana_status st = sn_tensor_alloc(be, SN_F32, 3, SN_SHAPE(B, 1, R), &text->mask);
        if (st == SANA_OK) st = sn_upload_convert(&text->mask, SN_F32, bias);
        free(bias);
        SN_TRY(st);
        text->has_mask = 1;
    }

    /* caption_projection: linear_1 -> GELU(tanh) -> linear_2; then caption_norm (RMS, 1e-5).
     * Over the R kept rows; over all T when a probe looks (the oracle records [B, T, D]). */
    int64_t rows = dit->probe ? T : R;
    sn_tensor src = *embeds, h, y;
    if (rows < T) {
        SN_TRY(sn_tensor_scratch(be, be->act_dtype, 3, SN_SHAPE(B, rows, embeds->shape[2]), &src));
        SN_TRY(sn_text_prefix(embeds, rows, &src));
    }
    SN_TRY(sn_tensor_scratch(be, be->act_dtype, 3, SN_SHAPE(B, rows, D), &h));
    SN_TRY(sn_tensor_scratch(be, be->act_dtype, 3, SN_SHAPE(B, rows, D), &y));
    SN_TRY(sn_linear(&src, &dit->cap1, &dit->cap1b, SN_ACT_GELU_TANH, &h));
    SN_TRY(sn_linear(&h, &dit->cap2, &dit->cap2b, SN_ACT_NONE, &y));
    sn_dit_emit(dit, "caption_projection", &y);
    SN_TRY(sn_rms_norm(&y, &dit->cap_norm, NULL, 0.0f, 1e-5f, &y));
    sn_dit_emit(dit, "caption_norm", &y);
    if (rows > R) { /* the probe's full rows: K/V from the kept ones */
        sn_tensor yr;
        SN_TRY(sn_tensor_scratch(be, be->act_dtype, 3, SN_SHAPE(B, R, D), &yr));
        SN_TRY(sn_text_prefix(&y, R, &yr));
        y = yr;
    }

    for (int i = 0; i < c->num_layers; i++) {
        const sn_dit_block *bl = &dit->blocks[i];
        int norm = c->qk.kind != SN_QK_NONE;
        sn_arena_mark m = sn_scratch_mark(be);
        SN_TRY(sn_text_proj(dit, &y, &bl->k2, &bl->k2b, &bl->nk2w, &bl->nk2b, norm, &text->k[i]));
        SN_TRY(sn_text_proj(dit, &y, &bl->v2, &bl->v2b, NULL, NULL, 0, &text->v[i]));
        sn_scratch_reset(be, m);
    }
    return SANA_OK;
}

sana_status sn_dit_prepare_text(const sn_dit *dit, const sn_tensor *embeds, const float *mask,
                                sn_dit_text **out) {
    *out = NULL;
    const sn_dit_config *c = &dit->cfg;
    if (embeds->ndim != 3 || embeds->shape[2] != c->caption_channels || embeds->shape[0] < 1 ||
        embeds->shape[1] < 1 || embeds->dtype != dit->be->act_dtype)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT,
                       "dit: text embeddings must be [B, T, %d] in the backend's activation dtype, got a %d-D tensor with "
                       "last dim %lld",
                       c->caption_channels, embeds->ndim,
                       (long long)embeds->shape[embeds->ndim > 0 ? embeds->ndim - 1 : 0]);
    sn_dit_text *text = calloc(1, sizeof *text);
    if (!text) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "dit text: out of memory");
    text->B = (int32_t)embeds->shape[0];
    text->T = (int32_t)embeds->shape[1];
    text->n_layers = c->num_layers;
    size_t nl = (size_t)(c->num_layers ? c->num_layers : 1);
    text->k = calloc(nl, sizeof *text->k);
    text->v = calloc(nl, sizeof *text->v);
    sn_backend *be = sn_backend_for_call(dit->be);
    sn_arena_mark m = sn_scratch_mark(be);
    sana_status st = text->k && text->v ? sn_text_build(dit, embeds, mask, text)
                                        : sn_fail(SANA_ERR_OUT_OF_MEMORY, "dit text: out of memory");
    sn_scratch_reset(be, m);
    if (st != SANA_OK) {
        sn_dit_text_free(text);
        return st;
    }
    *out = text;
    return SANA_OK;
}

void sn_dit_text_free(sn_dit_text *text) {
    if (!text) return;
    sn_tensor_free(&text->mask);
    sn_tensor_free(&text->pe);
    for (int i = 0; i < text->n_layers; i++) {
        if (text->k) sn_tensor_free(&text->k[i]);
        if (text->v) sn_tensor_free(&text->v[i]);
    }
    free(text->k);
    free(text->v);
    free(text);
}

sana_status sn_dit_prepare_positions(const sn_dit *dit, sn_dit_text *text, int64_t height,
                                     int64_t width) {
    const sn_dit_config *c = &dit->cfg;
    if (height < 1 || width < 1 || height % c->patch_size || width % c->patch_size)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT,
                       "dit: latent size %lldx%lld is not a multiple of patch_size %d",
                       (long long)height, (long long)width, c->patch_size);
    if (!c->use_pe) return SANA_OK;
    int64_t Hp = height / c->patch_size, Wp = width / c->patch_size;
    if (text->pe.data && text->pe_hp == Hp && text->pe_wp == Wp) return SANA_OK;
    sn_tensor_free(&text->pe);
    text->pe_hp = text->pe_wp = 0;
    SN_TRY(sn_dit_pe_tensor(dit, sn_backend_for_call(dit->be), Hp, Wp, 1, &text->pe));
    text->pe_hp = Hp;
    text->pe_wp = Wp;
    return SANA_OK;
}

int32_t sn_dit_text_batch(const sn_dit_text *text) { return text ? text->B : 0; }
int32_t sn_dit_text_keys(const sn_dit_text *text) { return text ? text->R : 0; }
