/* Gemma-2 forward (transformers' Gemma2Model, eager attention), one block at a time.
 *
 *   x = E[ids] * sqrt(hidden)                                   [B, L, H]
 *   per layer:
 *     h = rms(x) * (1 + w_in)
 *     q, k, v = h Wq^T, h Wk^T, h Wv^T  -> heads, RoPE on q and k
 *     a = softmax(softcap(q k^T * qpas^-1/2) + mask) v           grouped K/V
 *     x = x + rms(a Wo^T) * (1 + w_post_attn)
 *     h = rms(x) * (1 + w_pre_ff)
 *     x = x + rms(down(gelu_tanh(h Wg^T) * (h Wu^T))) * (1 + w_post_ff)
 *   out = rms(x) * (1 + w_final)
 *
 * The mask is built as transformers builds it for eager attention: allowed (query i, key j) iff
 * j <= i, key j is not padding, and on sliding layers j > i - window; disallowed pairs get
 * finfo(dtype).min (-FLT_MAX in fp32) added after the soft-cap. That finite value matters for pad
 * rows whose sliding window holds no real key: every score becomes exactly -FLT_MAX and the
 * softmax is uniform over all L keys, which is what the reference returns for those rows. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/call.h"
#include "encoder/gemma_internal.h"

/* x [B, L, H] <- rows of the mapped embedding table, converted, times the normalizer. The
 * reference multiplies by sqrt(hidden) cast to the weight dtype (bf16 for SANA's bf16 text
 * encoder: exact for 2304, 48.0). */
static sana_status sn_gemma_embed(const sn_gemma *g, const int32_t *ids, int64_t n, sn_tensor *x) {
    const sn_st_tensor *E = g->embed;
    int64_t H = g->cfg.hidden_size, V = g->cfg.vocab_size;
    size_t es = sn_dtype_size(E->dtype), row = (size_t)H * es;
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= V)
            return sn_fail(SANA_ERR_INVALID_ARGUMENT, "text encoder: token id %d at position %lld is outside the vocabulary [0, %lld)",
                           ids[i], (long long)i, (long long)V);
    char *rows = malloc((size_t)n * row);
    if (!rows) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "text encoder: out of memory for %lld embedding rows", (long long)n);
    for (int64_t i = 0; i < n; i++) memcpy(rows + (size_t)i * row, (const char *)E->data + (size_t)ids[i] * row, row);
    sana_status st = sn_upload_convert(x, E->dtype, rows);
    free(rows);
    SN_TRY(st);
    float normalizer = (float)sqrt((double)H);
    if (x->dtype == SN_BF16) normalizer = sn_bf16_to_f32(sn_f32_to_bf16(normalizer));
    if (x->dtype == SN_F16) normalizer = sn_f16_to_f32(sn_f32_to_f16(normalizer));
    return sn_scale(x, normalizer, 0.0f, x);
}

/* Additive masks [B, L, L] for full and (when any layer slides) sliding layers. */
static sana_status sn_gemma_masks(const sn_gemma *g, const int32_t *mask, int64_t B, int64_t L,
                                  sn_tensor *full, sn_tensor *sliding, int *have_sliding) {
    sn_backend *be = sn_backend_for_call(g->be);
    int64_t W = g->cfg.sliding_window;
    *have_sliding = 0;
    for (int32_t i = 0; i < g->cfg.n_layers; i++) *have_sliding |= g->cfg.layer_sliding[i] && W > 0 && W < L;
    /* finfo(dtype).min of the mask's dtype: -FLT_MAX would round to -inf in bf16 */
    float masked = be->act_dtype == SN_BF16 ? sn_bf16_to_f32(0xFF7F) : be->act_dtype == SN_F16 ? -65504.0f : -FLT_MAX;
    float *m = malloc((size_t)(B * L * L) * sizeof(float));
    if (!m) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "text encoder: out of memory for the attention mask");
    sana_status st = SANA_OK;
    for (int pass = 0; pass < 1 + *have_sliding && st == SANA_OK; pass++) {
        for (int64_t b = 0; b < B; b++)
            for (int64_t i = 0; i < L; i++)
                for (int64_t j = 0; j < L; j++) {
                    int ok = j <= i && (!mask || mask[b * L + j]) && (pass == 0 || j > i - W);
                    m[(b * L + i) * L + j] = ok ? 0.0f : masked;
                }
        sn_tensor *t = pass == 0 ? full : sliding;
        st = sn_tensor_scratch(be, be->act_dtype, 3, SN_SHAPE(B, L, L), t);
        if (st == SANA_OK) st = sn_upload_convert(t, SN_F32, m);
    }
    free(m);
    return st;
}

/* x += post_norm(attention(input_norm(x))) */
static sana_status sn_gemma_attention_block(const sn_gemma *g, const sn_gemma_layer *l, const sn_tensor *mask,
                                            sn_tensor *x) {
    sn_backend *be = sn_backend_for_call(g->be);
    const sn_gemma_config *k = &g->cfg;
    sn_dtype dt = be->act_dtype;
    int64_t B = x->shape[0], L = x->shape[1], H = k->hidden_size, D = k->head_dim;
    int64_t nh = k->n_heads, nkv = k->n_kv_heads;
    static const int32_t to_heads[4] = {0, 2, 1, 3}; /* [B, L, h, D] <-> [B, h, L, D] */
    sn_tensor h, q, kk, v, qh, kh, vh, oh, o, a, view;
    SN_TRY(sn_tensor_scratch(be, dt, 3, SN_SHAPE(B, L, H), &h));
    SN_TRY(sn_rms_norm(x, &l->input_norm, NULL, 1.0f, k->rms_norm_eps, &h));
    SN_TRY(sn_tensor_scratch(be, dt, 3, SN_SHAPE(B, L, nh * D), &q));
    SN_TRY(sn_tensor_scratch(be, dt, 3, SN_SHAPE(B, L, nkv * D), &kk));
    SN_TRY(sn_tensor_scratch(be, dt, 3, SN_SHAPE(B, L, nkv * D), &v));
    SN_TRY(sn_linear(&h, &l->q, NULL, SN_ACT_NONE, &q));
    SN_TRY(sn_linear(&h, &l->k, NULL, SN_ACT_NONE, &kk));
    SN_TRY(sn_linear(&h, &l->v, NULL, SN_ACT_NONE, &v));
    SN_TRY(sn_tensor_scratch(be, dt, 4, SN_SHAPE(B, nh, L, D), &qh));
    SN_TRY(sn_tensor_scratch(be, dt, 4, SN_SHAPE(B, nkv, L, D), &kh));
    SN_TRY(sn_tensor_scratch(be, dt, 4, SN_SHAPE(B, nkv, L, D), &vh));
    SN_TRY(sn_tensor_reshape(&q, 4, SN_SHAPE(B, L, nh, D), &view));
    SN_TRY(sn_permute(&view, to_heads, &qh));
    SN_TRY(sn_tensor_reshape(&kk, 4, SN_SHAPE(B, L, nkv, D), &view));
    SN_TRY(sn_permute(&view, to_heads, &kh));
    SN_TRY(sn_tensor_reshape(&v, 4, SN_SHAPE(B, L, nkv, D), &view));
    SN_TRY(sn_permute(&view, to_heads, &vh));
    /* right padding: positions are 0..L-1 for every row, pads included (cache_position) */
    SN_TRY(sn_rope(&qh, k->rope_theta, 0, &qh));
    SN_TRY(sn_rope(&kh, k->rope_theta, 0, &kh));
    sn_attn_params p = {0};
    p.scale = (float)pow((double)k->query_pre_attn_scalar, -0.5);
    p.softcap = k->attn_softcap;
    p.mask = mask; /* causal, window and padding are all in the mask */
    SN_TRY(sn_tensor_scratch(be, dt, 4, SN_SHAPE(B, nh, L, D), &oh));
    SN_TRY(sn_attention(&qh, &kh, &vh, &p, &oh));
    SN_TRY(sn_tensor_scratch(be, dt, 4, SN_SHAPE(B, L, nh, D), &o));
    SN_TRY(sn_permute(&oh, to_heads, &o));
    SN_TRY(sn_tensor_reshape(&o, 3, SN_SHAPE(B, L, nh * D), &o));
    SN_TRY(sn_tensor_scratch(be, dt, 3, SN_SHAPE(B, L, H), &a));
    SN_TRY(sn_linear(&o, &l->o, NULL, SN_ACT_NONE, &a));
    SN_TRY(sn_rms_norm(&a, &l->post_attn_norm, NULL, 1.0f, k->rms_norm_eps, &a));
    return sn_binary(SN_ADD, x, &a, x);
}

/* x += post_norm(down(act(gate(h)) * up(h))), h = pre_norm(x) */
static sana_status sn_gemma_mlp_block(const sn_gemma *g, const sn_gemma_layer *l, sn_tensor *x) {
    sn_backend *be = sn_backend_for_call(g->be);
    const sn_gemma_config *k = &g->cfg;
    sn_dtype dt = be->act_dtype;
    int64_t B = x->shape[0], L = x->shape[1], H = k->hidden_size, I = k->intermediate_size;
    sn_tensor h, gt, up, d;
    SN_TRY(sn_tensor_scratch(be, dt, 3, SN_SHAPE(B, L, H), &h));
    SN_TRY(sn_rms_norm(x, &l->pre_ff_norm, NULL, 1.0f, k->rms_norm_eps, &h));
    SN_TRY(sn_tensor_scratch(be, dt, 3, SN_SHAPE(B, L, I), &gt));
    SN_TRY(sn_tensor_scratch(be, dt, 3, SN_SHAPE(B, L, I), &up));
    SN_TRY(sn_linear(&h, &l->gate, NULL, k->act, &gt));
    SN_TRY(sn_linear(&h, &l->up, NULL, SN_ACT_NONE, &up));
    SN_TRY(sn_binary(SN_MUL, &gt, &up, &gt));
    SN_TRY(sn_tensor_scratch(be, dt, 3, SN_SHAPE(B, L, H), &d));
    SN_TRY(sn_linear(&gt, &l->down, NULL, SN_ACT_NONE, &d));
    SN_TRY(sn_rms_norm(&d, &l->post_ff_norm, NULL, 1.0f, k->rms_norm_eps, &d));
    return sn_binary(SN_ADD, x, &d, x);
}

static sana_status sn_gemma_run(const sn_gemma *g, const int32_t *ids, const int32_t *mask, int64_t B, int64_t L,
                                sn_tensor *out, sn_gemma_layer_fn on_layer, void *user_data) {
    sn_backend *be = sn_backend_for_call(g->be);
    const sn_gemma_config *k = &g->cfg;
    sn_tensor x, m_full, m_sliding;
    int have_sliding;
    SN_TRY(sn_tensor_scratch(be, be->act_dtype, 3, SN_SHAPE(B, L, k->hidden_size), &x));
    SN_TRY(sn_gemma_embed(g, ids, B * L, &x));
    if (on_layer) SN_TRY(on_layer(-1, &x, user_data));
    SN_TRY(sn_gemma_masks(g, mask, B, L, &m_full, &m_sliding, &have_sliding));
    for (int32_t i = 0; i < k->n_layers; i++) {
        if (sn_cancel_requested()) return sn_fail(SANA_ERR_CANCELLED, "text encoder: cancelled at layer %d", i);
        const sn_tensor *m = k->layer_sliding[i] && have_sliding ? &m_sliding : &m_full;
        sn_arena_mark lm = sn_scratch_mark(be);
        sana_status st = sn_gemma_attention_block(g, &g->layers[i], m, &x);
        if (st == SANA_OK) st = sn_gemma_mlp_block(g, &g->layers[i], &x);
        sn_scratch_reset(be, lm);
        SN_TRY(st);
        if (on_layer) SN_TRY(on_layer(i, &x, user_data));
    }
    return sn_rms_norm(&x, &g->final_norm, NULL, 1.0f, k->rms_norm_eps, out);
}

sana_status sn_gemma_forward(const sn_gemma *g, const int32_t *ids, const int32_t *mask, int64_t B,
                             int64_t L, sn_tensor *out, sn_gemma_layer_fn on_layer, void *user_data) {
    if (!g) return sn_fail(SANA_ERR_UNSUPPORTED, "the text encoder is not loaded (or was released)");
    if (B < 1 || L < 1 || out->ndim != 3 || out->shape[0] != B || out->shape[1] != L ||
        out->shape[2] != g->cfg.hidden_size)
        return sn_fail(SANA_ERR_INTERNAL, "text encoder: output tensor does not fit [%lld, %lld, %lld]",
                       (long long)B, (long long)L, (long long)g->cfg.hidden_size);
    sn_backend *be = sn_backend_for_call(g->be);
    sn_arena_mark m = sn_scratch_mark(be);
    sana_status st = sn_gemma_run(g, ids, mask, B, L, out, on_layer, user_data);
    sn_scratch_reset(be, m);
    return st;
}
