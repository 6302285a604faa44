/* The forward pass of SanaTransformer2DModel, one stage at a time (spec §1). Activations are
 * token-major [B, N, D] (N = Hp * Wp, n = row * Wp + col), so every linear and 1x1 conv is one
 * GEMM over B * N rows and the depthwise 3x3 runs on the [B, Hp, Wp, C] grid in place. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/call.h"
#include "dit/dit_internal.h"

#define ACT(be) ((be)->act_dtype)

/* Batch entries [b0, b0 + nb) of x, as a tensor over the same memory. */
static sn_tensor sn_batch_view(const sn_tensor *x, int64_t b0, int64_t nb) {
    sn_tensor v = *x;
    int64_t per = sn_numel(x) / x->shape[0];
    v.shape[0] = nb;
    v.data = (char *)x->data + (size_t)(b0 * per) * sn_dtype_size(x->dtype);
    return v;
}

/* Row r of a [R, B, D] table, as [B, D]. */
static sn_tensor sn_row(const sn_tensor *t, int64_t r) {
    sn_tensor v = sn_batch_view(t, r, 1);
    v.ndim = 2;
    v.shape[0] = t->shape[1];
    v.shape[1] = t->shape[2];
    v.shape[2] = 0;
    return v;
}

static sana_status sn_scratch(sn_backend *be, int32_t ndim, const int64_t *shape, sn_tensor *t) {
    return sn_tensor_scratch(be, ACT(be), ndim, shape, t);
}

static const sn_tensor *sn_opt(const sn_tensor *t) { return t->data ? t : NULL; }

/* --- 1.2 patch embedding: conv(p x p, stride p) -> [B, N, D] (+ 2-D sin-cos table) ---------- */
static sana_status sn_patch_embed(const sn_dit *dit, const sn_dit_text *text,
                                  const sn_tensor *latents, int64_t Hp, int64_t Wp, sn_tensor *x) {
    const sn_dit_config *c = &dit->cfg;
    sn_backend *be = sn_backend_for_call(dit->be);
    int64_t B = latents->shape[0], D = c->D, N = Hp * Wp;
    sn_tensor conv, conv3;
    SN_TRY(sn_scratch(be, 4, SN_SHAPE(B, D, Hp, Wp), &conv));
    SN_TRY(sn_conv2d(latents, &dit->pe_w, &dit->pe_b, c->patch_size, 0, 1, &conv));
    SN_TRY(sn_tensor_reshape(&conv, 3, SN_SHAPE(B, D, N), &conv3));
    SN_TRY(sn_permute(&conv3, (const int32_t[]){0, 2, 1}, x));
    if (c->use_pe) {
        /* the table prepared for this grid (once per generation), else made for this call */
        sn_tensor pe = text->pe;
        if (!pe.data || text->pe_hp != Hp || text->pe_wp != Wp)
            SN_TRY(sn_dit_pe_tensor(dit, be, Hp, Wp, 0, &pe));
        SN_TRY(sn_binary(SN_ADD, x, &pe, x));
    }
    return SANA_OK;
}

/* --- 1.3 timestep embedding: sinusoid(256) -> linear -> SiLU -> linear ----------------------- */
static sana_status sn_time_mlp(const sn_dit *dit, const sn_dit_mlp *m, const float *t, int64_t B,
                               sn_tensor *out) {
    sn_backend *be = sn_backend_for_call(dit->be);
    float *host = malloc((size_t)(B * 256) * sizeof(float));
    if (!host) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "dit: timestep sinusoid");
    sn_dit_timestep_sinusoid(t, (int32_t)B, host);
    sn_tensor s, h;
    sana_status st = sn_scratch(be, 2, SN_SHAPE(B, 256), &s);
    if (st == SANA_OK) st = sn_upload_convert(&s, SN_F32, host);
    free(host);
    SN_TRY(st);
    SN_TRY(sn_scratch(be, 2, SN_SHAPE(B, dit->cfg.D), &h));
    SN_TRY(sn_linear(&s, &m->l1, &m->l1b, SN_ACT_SILU, &h));
    return sn_linear(&h, &m->l2, &m->l2b, SN_ACT_NONE, out);
}

/* t_emb [B, D] (embedded_timestep; + the guidance embedding for Sprint) and the block
 * modulation tmod laid out as [6, B, D], so that each of its rows is a [B, D] tensor. */
static sana_status sn_time_embed(const sn_dit *dit, const float *t, const float *g, int64_t B,
                                 sn_tensor *t_emb, sn_tensor *tmod6) {
    sn_backend *be = sn_backend_for_call(dit->be);
    int64_t D = dit->cfg.D;
    SN_TRY(sn_time_mlp(dit, &dit->t_mlp, t, B, t_emb));
    if (dit->cfg.guidance_embeds) {
        sn_tensor ge;
        SN_TRY(sn_scratch(be, 2, SN_SHAPE(B, D), &ge));
        SN_TRY(sn_time_mlp(dit, &dit->g_mlp, g, B, &ge));
        SN_TRY(sn_binary(SN_ADD, t_emb, &ge, t_emb));
    }
    sn_tensor act, tmod, tmod3;
    SN_TRY(sn_scratch(be, 2, SN_SHAPE(B, D), &act));
    SN_TRY(sn_scratch(be, 2, SN_SHAPE(B, 6 * D), &tmod));
    SN_TRY(sn_unary(SN_ACT_SILU, t_emb, &act));
    SN_TRY(sn_linear(&act, &dit->t_lin, &dit->t_lin_b, SN_ACT_NONE, &tmod));
    sn_dit_emit(dit, "time_embed.timestep", &tmod);
    sn_dit_emit(dit, "time_embed.embedded_timestep", t_emb);
    SN_TRY(sn_tensor_reshape(&tmod, 3, SN_SHAPE(B, 6, D), &tmod3));
    return sn_permute(&tmod3, (const int32_t[]){1, 0, 2}, tmod6);
}

/* --- 1.5a linear self-attention on u = modulated LN1(x); out [B, N, D] ------------------------ */
static sana_status sn_self_attention(const sn_dit *dit, const sn_dit_block *bl, const sn_tensor *u,
                                     int64_t perturbed_from, sn_tensor *out) {
    const sn_dit_config *c = &dit->cfg;
    sn_backend *be = sn_backend_for_call(dit->be);
    int64_t B = u->shape[0];
    sn_tensor q, k, v, a;
    SN_TRY(sn_scratch(be, 3, u->shape, &q));
    SN_TRY(sn_scratch(be, 3, u->shape, &k));
    SN_TRY(sn_scratch(be, 3, u->shape, &v));
    SN_TRY(sn_scratch(be, 3, u->shape, &a));
    SN_TRY(sn_linear(u, &bl->v1, sn_opt(&bl->v1b), SN_ACT_NONE, &v));
    if (perturbed_from > 0) {
        /* q, k only for the entries that attend; perturbed ones never read them */
        sn_tensor u0 = sn_batch_view(u, 0, perturbed_from), q0 = sn_batch_view(&q, 0, perturbed_from);
        sn_tensor k0 = sn_batch_view(&k, 0, perturbed_from), v0 = sn_batch_view(&v, 0, perturbed_from);
        sn_tensor a0 = sn_batch_view(&a, 0, perturbed_from);
        SN_TRY(sn_linear(&u0, &bl->q1, sn_opt(&bl->q1b), SN_ACT_NONE, &q0));
        SN_TRY(sn_linear(&u0, &bl->k1, sn_opt(&bl->k1b), SN_ACT_NONE, &k0));
        /* The reference's PAG processors do not apply norm_q/norm_k: only unperturbed blocks
         * (perturbed_from == B) are normed. */
        if (perturbed_from == B) {
            SN_TRY(sn_dit_apply_qk_norm(&c->qk, sn_opt(&bl->nq1w), sn_opt(&bl->nq1b), &q0));
            SN_TRY(sn_dit_apply_qk_norm(&c->qk, sn_opt(&bl->nk1w), sn_opt(&bl->nk1b), &k0));
        }
        SN_TRY(sn_linear_attention(&q0, &k0, &v0, c->heads, 1e-15f, &a0));
    }
    if (perturbed_from < B) { /* PAG identity attention: the values pass straight to to_out */
        sn_tensor vp = sn_batch_view(&v, perturbed_from, B - perturbed_from);
        sn_tensor ap = sn_batch_view(&a, perturbed_from, B - perturbed_from);
        SN_TRY(sn_copy(&ap, &vp));
    }
    return sn_linear(&a, &bl->o1, &bl->o1b, SN_ACT_NONE, out);
}

/* --- 1.5b cross-attention: queries from the raw residual x, K/V cached per prompt ------------ */
static sana_status sn_cross_attention(const sn_dit *dit, const sn_dit_block *bl,
                                      const sn_dit_text *text, int i, const sn_tensor *x,
                                      sn_tensor *out) {
    const sn_dit_config *c = &dit->cfg;
    sn_backend *be = sn_backend_for_call(dit->be);
    int64_t B = x->shape[0], N = x->shape[1], Hc = c->cross_heads, dc = c->cross_head_dim;
    sn_tensor q, q4, qh, oh, o, o4;
    SN_TRY(sn_scratch(be, 3, SN_SHAPE(B, N, c->Dc), &q));
    SN_TRY(sn_linear(x, &bl->q2, &bl->q2b, SN_ACT_NONE, &q));
    SN_TRY(sn_dit_apply_qk_norm(&c->qk, sn_opt(&bl->nq2w), sn_opt(&bl->nq2b), &q));
    SN_TRY(sn_tensor_reshape(&q, 4, SN_SHAPE(B, N, Hc, dc), &q4));
    SN_TRY(sn_scratch(be, 4, SN_SHAPE(B, Hc, N, dc), &qh));
    SN_TRY(sn_permute(&q4, (const int32_t[]){0, 2, 1, 3}, &qh));
    SN_TRY(sn_scratch(be, 4, SN_SHAPE(B, Hc, N, dc), &oh));
    sn_attn_params p = {(float)(1.0 / sqrt((double)dc)), 0.0f, 0, 0,
                        text->has_mask ? &text->mask : NULL};
    SN_TRY(sn_attention(&qh, &text->k[i], &text->v[i], &p, &oh));
    SN_TRY(sn_scratch(be, 4, SN_SHAPE(B, N, Hc, dc), &o4));
    SN_TRY(sn_permute(&oh, (const int32_t[]){0, 2, 1, 3}, &o4));
    SN_TRY(sn_tensor_reshape(&o4, 3, SN_SHAPE(B, N, c->Dc), &o));
    return sn_linear(&o, &bl->o2, &bl->o2b, SN_ACT_NONE, out);
}

/* --- 1.5c Mix-FFN (GLUMBConv) on u = modulated LN2(x), on the Hp x Wp grid ------------------- */
static sana_status sn_mix_ffn(const sn_dit *dit, const sn_dit_block *bl, const sn_tensor *u,
                              int64_t Hp, int64_t Wp, sn_tensor *out) {
    sn_backend *be = sn_backend_for_call(dit->be);
    int64_t B = u->shape[0], F = dit->cfg.F;
    sn_tensor h, hg, d, g;
    SN_TRY(sn_scratch(be, 4, SN_SHAPE(B, Hp, Wp, 2 * F), &h));
    SN_TRY(sn_scratch(be, 4, SN_SHAPE(B, Hp, Wp, 2 * F), &d));
    SN_TRY(sn_scratch(be, 4, SN_SHAPE(B, Hp, Wp, F), &g));
    SN_TRY(sn_tensor_reshape(&h, 3, SN_SHAPE(B, Hp * Wp, 2 * F), &hg));
    SN_TRY(sn_linear(u, &bl->ff_in, &bl->ff_in_b, SN_ACT_SILU, &hg)); /* 1x1 expand + SiLU */
    SN_TRY(sn_dwconv2d_nhwc(&h, &bl->ff_dw, &bl->ff_dw_b, 1, &d));   /* depthwise 3x3 */
    SN_TRY(sn_glu(&d, SN_ACT_SILU, &g));                            /* value * SiLU(gate) */
    sn_tensor g3;
    SN_TRY(sn_tensor_reshape(&g, 3, SN_SHAPE(B, Hp * Wp, F), &g3));
    return sn_linear(&g3, &bl->ff_out, NULL, SN_ACT_NONE, out);     /* 1x1 project */
}

/* --- 1.5 one transformer block, x [B, N, D] updated in place ---------------------------------- */
static sana_status sn_block(const sn_dit *dit, int i, const sn_dit_text *text,
                            const sn_tensor *tmod6, int64_t perturbed_from, int64_t Hp,
                            int64_t Wp, sn_tensor *x) {
    const sn_dit_config *c = &dit->cfg;
    const sn_dit_block *bl = &dit->blocks[i];
    sn_backend *be = sn_backend_for_call(dit->be);
    int64_t B = x->shape[0], D = c->D;
    int probe = dit->probe && i == 0;

    /* tab = scale_shift_table + tmod: shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp,
     * gate_mlp, each [B, D] */
    sn_tensor tab, table3;
    SN_TRY(sn_scratch(be, 3, SN_SHAPE(6, B, D), &tab));
    SN_TRY(sn_tensor_reshape(&bl->table, 3, SN_SHAPE(6, 1, D), &table3));
    SN_TRY(sn_binary(SN_ADD, tmod6, &table3, &tab));
    sn_tensor shift_msa = sn_row(&tab, 0), scale_msa = sn_row(&tab, 1), gate_msa = sn_row(&tab, 2);
    sn_tensor shift_mlp = sn_row(&tab, 3), scale_mlp = sn_row(&tab, 4), gate_mlp = sn_row(&tab, 5);

    sn_tensor u, branch;
    SN_TRY(sn_scratch(be, 3, x->shape, &u));
    SN_TRY(sn_scratch(be, 3, x->shape, &branch));

    /* a. x += gate_msa * attn1(LN1(x) * (1 + scale_msa) + shift_msa) */
    SN_TRY(sn_layer_norm(x, NULL, NULL, &shift_msa, &scale_msa, (float)c->norm_eps, &u));
    SN_TRY(sn_self_attention(dit, bl, &u, perturbed_from, &branch));
    if (probe) sn_dit_emit(dit, "block.0.attn1", &branch);
    SN_TRY(sn_gated_add(x, &branch, &gate_msa));

    /* b. x += attn2(x, caption): no norm, no modulation, no gate */
    SN_TRY(sn_cross_attention(dit, bl, text, i, x, &branch));
    if (probe) sn_dit_emit(dit, "block.0.attn2", &branch);
    SN_TRY(sn_gated_add(x, &branch, NULL));

    /* c. x += gate_mlp * ff(LN2(x) * (1 + scale_mlp) + shift_mlp) */
    SN_TRY(sn_layer_norm(x, sn_opt(&bl->n2w), sn_opt(&bl->n2b), &shift_mlp, &scale_mlp,
                         (float)c->norm_eps, &u));
    SN_TRY(sn_mix_ffn(dit, bl, &u, Hp, Wp, &branch));
    if (probe) sn_dit_emit(dit, "block.0.ff", &branch);
    return sn_gated_add(x, &branch, &gate_mlp);
}

/* --- 1.6 output head: LN_out * (1 + scale) + shift from t_emb, proj_out, unpatchify ---------- */
static sana_status sn_output(const sn_dit *dit, const sn_tensor *x, const sn_tensor *t_emb,
                             int64_t Hp, int64_t Wp, sn_tensor *out) {
    const sn_dit_config *c = &dit->cfg;
    sn_backend *be = sn_backend_for_call(dit->be);
    int64_t B = x->shape[0], D = c->D, N = Hp * Wp, p = c->patch_size, Co = c->out_channels;
    sn_tensor tab, table3, y, proj;
    SN_TRY(sn_scratch(be, 3, SN_SHAPE(2, B, D), &tab));
    for (int r = 0; r < 2; r++) {
        sn_tensor row = sn_row(&tab, r);
        SN_TRY(sn_copy(&row, t_emb));
    }
    SN_TRY(sn_tensor_reshape(&dit->out_table, 3, SN_SHAPE(2, 1, D), &table3));
    SN_TRY(sn_binary(SN_ADD, &tab, &table3, &tab));
    sn_tensor shift = sn_row(&tab, 0), scale = sn_row(&tab, 1);
    SN_TRY(sn_scratch(be, 3, x->shape, &y));
    SN_TRY(sn_layer_norm(x, NULL, NULL, &shift, &scale, 1e-6f, &y));
    sn_dit_emit(dit, "norm_out", &y);
    SN_TRY(sn_scratch(be, 3, SN_SHAPE(B, N, p * p * Co), &proj));
    SN_TRY(sn_linear(&y, &dit->proj, &dit->proj_b, SN_ACT_NONE, &proj));
    sn_dit_emit(dit, "proj_out", &proj);

    /* proj [B, Hp, Wp, p, p, Co] -> out [B, Co, Hp, p, Wp, p]: first [B*Hp, Wp, p, p*Co] ->
     * [B*Hp, p, Wp, p*Co] (now [b, hp, pi, wp, pj, c]), then [B, H*W, Co] -> [B, Co, H*W]. */
    sn_tensor rows = proj, pix, out3;
    if (p > 1) {
        sn_tensor p4;
        SN_TRY(sn_tensor_reshape(&proj, 4, SN_SHAPE(B * Hp, Wp, p, p * Co), &p4));
        SN_TRY(sn_scratch(be, 4, SN_SHAPE(B * Hp, p, Wp, p * Co), &pix));
        SN_TRY(sn_permute(&p4, (const int32_t[]){0, 2, 1, 3}, &pix));
        SN_TRY(sn_tensor_reshape(&pix, 3, SN_SHAPE(B, N * p * p, Co), &rows));
    }
    SN_TRY(sn_tensor_reshape(out, 3, SN_SHAPE(B, Co, N * p * p), &out3));
    return sn_permute(&rows, (const int32_t[]){0, 2, 1}, &out3);
}

static sana_status sn_check_inputs(const sn_dit *dit, const sn_dit_text *text,
                                   const sn_tensor *latents, const float *timesteps,
                                   const float *guidance, const sn_dit_pag *pag,
                                   const sn_tensor *out) {
    const sn_dit_config *c = &dit->cfg;
    if (!text || !latents || !timesteps || !out)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "dit forward: text, latents, timesteps and out are required");
    if (latents->ndim != 4 || latents->shape[1] != c->in_channels || latents->shape[0] < 1 ||
        latents->dtype != ACT(dit->be))
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "dit forward: latents must be [B, %d, H, W]",
                       c->in_channels);
    int64_t B = latents->shape[0], H = latents->shape[2], W = latents->shape[3];
    if (H < 1 || W < 1 || H % c->patch_size || W % c->patch_size)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT,
                       "dit forward: latent size %lldx%lld is not a multiple of patch_size %d",
                       (long long)H, (long long)W, c->patch_size);
    if (out->ndim != 4 || out->shape[0] != B || out->shape[1] != c->out_channels ||
        out->shape[2] != H || out->shape[3] != W || out->dtype != ACT(dit->be))
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "dit forward: out must be [%lld, %d, %lld, %lld]",
                       (long long)B, c->out_channels, (long long)H, (long long)W);
    if (text->B != B)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT,
                       "dit forward: the text was prepared for batch %d, the latents have %lld",
                       text->B, (long long)B);
    if (text->n_layers != c->num_layers)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "dit forward: the text belongs to another model");
    if (c->guidance_embeds && !guidance)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT,
                       "dit forward: this model embeds a guidance value (guidance_embeds): "
                       "guidance is required");
    if (!c->guidance_embeds && guidance)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT,
                       "dit forward: guidance given, but this model has no guidance embedder");
    if (pag) {
        if (pag->perturbed_from < 0 || pag->perturbed_from > B || (pag->n_blocks > 0 && !pag->blocks))
            return sn_fail(SANA_ERR_INVALID_ARGUMENT, "dit forward: pag.perturbed_from %d is not in 0..%lld",
                           pag->perturbed_from, (long long)B);
        for (int32_t j = 0; j < pag->n_blocks; j++)
            if (pag->blocks[j] < 0 || pag->blocks[j] >= c->num_layers)
                return sn_fail(SANA_ERR_INVALID_ARGUMENT, "dit forward: pag block %d does not exist (%d blocks)",
                               pag->blocks[j], c->num_layers);
    }
    return SANA_OK;
}

static sana_status sn_forward(const sn_dit *dit, const sn_dit_text *text, const sn_tensor *latents,
                              const float *timesteps, const float *guidance,
                              const sn_dit_pag *pag, sn_dit_block_fn on_block, void *user,
                              sn_tensor *out) {
    const sn_dit_config *c = &dit->cfg;
    sn_backend *be = sn_backend_for_call(dit->be);
    int64_t B = latents->shape[0], D = c->D;
    int64_t Hp = latents->shape[2] / c->patch_size, Wp = latents->shape[3] / c->patch_size;
    int64_t N = Hp * Wp;
    char name[32];

    /* 1. input: tokens, timestep embedding and modulation */
    sn_tensor x, t_emb, tmod6;
    SN_TRY(sn_scratch(be, 3, SN_SHAPE(B, N, D), &x));
    SN_TRY(sn_patch_embed(dit, text, latents, Hp, Wp, &x));
    sn_dit_emit(dit, "patch_embed", &x);
    if (on_block) SN_TRY(on_block(-1, &x, user));
    SN_TRY(sn_scratch(be, 2, SN_SHAPE(B, D), &t_emb));
    SN_TRY(sn_scratch(be, 3, SN_SHAPE(6, B, D), &tmod6));
    SN_TRY(sn_time_embed(dit, timesteps, guidance, B, &t_emb, &tmod6));

    /* 2. the blocks; each one's scratch is given back before the next */
    for (int i = 0; i < c->num_layers; i++) {
        if (sn_cancel_requested()) return sn_fail(SANA_ERR_CANCELLED, "dit forward: cancelled");
        int64_t perturbed_from = B;
        if (pag)
            for (int32_t j = 0; j < pag->n_blocks; j++)
                if (pag->blocks[j] == i) perturbed_from = pag->perturbed_from;
        sn_arena_mark m = sn_scratch_mark(be);
        SN_TRY(sn_block(dit, i, text, &tmod6, perturbed_from, Hp, Wp, &x));
        sn_scratch_reset(be, m);
        if (dit->probe) {
            snprintf(name, sizeof name, "block.%d", i);
            sn_dit_emit(dit, name, &x);
        }
        if (on_block) SN_TRY(on_block(i, &x, user));
    }

    /* 3. output head and unpatchify */
    return sn_output(dit, &x, &t_emb, Hp, Wp, out);
}

sana_status sn_dit_forward_staged(const sn_dit *dit, const sn_dit_text *text,
                                  const sn_tensor *latents, const float *timesteps,
                                  const float *guidance, const sn_dit_pag *pag,
                                  sn_dit_block_fn on_block, void *user_data, sn_tensor *out) {
    if (!dit) return sn_fail(SANA_ERR_INVALID_ARGUMENT, "dit forward: no model");
    SN_TRY(sn_check_inputs(dit, text, latents, timesteps, guidance, pag, out));
    sn_backend *be = sn_backend_for_call(dit->be);
    sn_arena_mark m = sn_scratch_mark(be);
    sana_status st = sn_forward(dit, text, latents, timesteps, guidance, pag, on_block, user_data, out);
    sn_scratch_reset(be, m);
    return st;
}

sana_status sn_dit_forward(const sn_dit *dit, const sn_dit_text *text, const sn_tensor *latents,
                           const float *timesteps, const float *guidance, const sn_dit_pag *pag,
                           sn_tensor *out) {
    return sn_dit_forward_staged(dit, text, latents, timesteps, guidance, pag, NULL, NULL, out);
}
