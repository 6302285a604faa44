/* Loading transformer/: the config, then every tensor by its diffusers name with its exact
 * shape (docs/dit.md lists them with the original NVlabs names). Weights come from a source:
 * the folder's safetensors (any float dtype, converted by sn_weights_load), or random values
 * made in memory for benchmarks. The GEMM matrices (every weight only sn_linear reads) are
 * taken with sn_weights_mapf: on a backend that reads weights in place (the CPU) they stay in
 * the mapped file in its dtype, and the model keeps the file open. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "dit/dit_internal.h"
#include "io/config.h"
#include "io/weights.h"

typedef struct sn_dit_source {
    const sn_weights *w; /* NULL: random */
    uint64_t seed;
    size_t loaded;       /* tensors taken */
} sn_dit_source;

static sana_status sn_random_tensor(sn_backend *be, sn_dit_source *src, int32_t ndim,
                                    const int64_t *shape, sn_tensor *out) {
    SN_TRY(sn_tensor_alloc(be, be->weight_dtype, ndim, shape, out));
    int64_t n = sn_numel(out);
    float *host = malloc((size_t)(n ? n : 1) * sizeof(float));
    if (!host) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "random weights: %lld floats", (long long)n);
    /* uniform in +-1/sqrt(fan_in) like nn.Linear's init, so activations stay in range */
    int64_t fan_in = ndim >= 2 ? n / shape[0] : 1;
    float scale = (float)(1.0 / sqrt((double)(fan_in > 0 ? fan_in : 1)));
    uint64_t s = ++src->seed * 0x9E3779B97F4A7C15ull;
    for (int64_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        host[i] = scale * (float)((double)(s >> 11) / (double)(1ull << 53) * 2.0 - 1.0);
    }
    sana_status st = sn_upload_convert(out, SN_F32, host);
    free(host);
    return st;
}

/* How a tensor is used: SN_ANY by any op (always a copy on the backend, in its weight dtype);
 * SN_GEMM only as the weight of sn_linear, which may read it in place from the file. */
enum { SN_ANY = 0, SN_GEMM = 1 };

/* Loads tensor `fmt...` of the given shape into *out (and counts its parameters and bytes). */
static sana_status sn_take_as(sn_dit *dit, sn_dit_source *src, int use, sn_tensor *out,
                              int32_t ndim, const int64_t *shape, const char *fmt, ...)
    SN_PRINTF(7, 8);
static sana_status sn_take_as(sn_dit *dit, sn_dit_source *src, int use, sn_tensor *out,
                              int32_t ndim, const int64_t *shape, const char *fmt, ...) {
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    if (src->w && use == SN_GEMM)
        SN_TRY(sn_weights_mapf(src->w, dit->be, ndim, shape, out, "%s", name));
    else if (src->w)
        SN_TRY(sn_weights_load(src->w, dit->be, name, ndim, shape, out));
    else
        SN_TRY(sn_random_tensor(dit->be, src, ndim, shape, out));
    src->loaded++;
    dit->params += sn_numel(out);
    int64_t bytes = sn_numel(out) * (int64_t)sn_dtype_size(out->dtype);
    if (out->be) dit->owned_bytes += bytes;
    else dit->mapped_bytes += bytes; /* a view of the mapped file (sn_weights_mapf) */
    return SANA_OK;
}
#define sn_take(dit, src, ...) sn_take_as(dit, src, SN_ANY, __VA_ARGS__)
#define sn_take_gemm(dit, src, ...) sn_take_as(dit, src, SN_GEMM, __VA_ARGS__)

/* A [out, in, 1, 1] 1x1 convolution kernel, kept as the [out, in] GEMM matrix it is. */
static sana_status sn_take_1x1(sn_dit *dit, sn_dit_source *src, sn_tensor *out, int64_t co,
                               int64_t ci, const char *name) {
    SN_TRY(sn_take_gemm(dit, src, out, 4, SN_SHAPE(co, ci, 1, 1), "%s", name));
    return sn_tensor_reshape(out, 2, SN_SHAPE(co, ci), out);
}

static sana_status sn_take_mlp(sn_dit *dit, sn_dit_source *src, sn_dit_mlp *m, const char *pre) {
    int64_t D = dit->cfg.D;
    SN_TRY(sn_take_gemm(dit, src, &m->l1, 2, SN_SHAPE(D, 256), "%s.linear_1.weight", pre));
    SN_TRY(sn_take(dit, src, &m->l1b, 1, SN_SHAPE(D), "%s.linear_1.bias", pre));
    SN_TRY(sn_take_gemm(dit, src, &m->l2, 2, SN_SHAPE(D, D), "%s.linear_2.weight", pre));
    return sn_take(dit, src, &m->l2b, 1, SN_SHAPE(D), "%s.linear_2.bias", pre);
}

/* attn.norm_q / attn.norm_k of a qk-normed model. */
static sana_status sn_take_qk(sn_dit *dit, sn_dit_source *src, int i, const char *attn,
                              const char *which, int64_t n, sn_tensor *w, sn_tensor *b) {
    const sn_dit_qk_norm *qk = &dit->cfg.qk;
    if (qk->has_weight)
        SN_TRY(sn_take(dit, src, w, 1, SN_SHAPE(n), "transformer_blocks.%d.%s.%s.weight", i, attn,
                       which));
    if (qk->has_bias)
        SN_TRY(sn_take(dit, src, b, 1, SN_SHAPE(n), "transformer_blocks.%d.%s.%s.bias", i, attn,
                       which));
    return SANA_OK;
}

static sana_status sn_take_block(sn_dit *dit, sn_dit_source *src, int i, sn_dit_block *bl) {
    const sn_dit_config *c = &dit->cfg;
    int64_t D = c->D, Dc = c->Dc, F = c->F;
#define TB(t, nd, shape, suffix) \
    SN_TRY(sn_take(dit, src, t, nd, shape, "transformer_blocks.%d." suffix, i))
#define TG(t, nd, shape, suffix) /* read by sn_linear only */ \
    SN_TRY(sn_take_gemm(dit, src, t, nd, shape, "transformer_blocks.%d." suffix, i))
    TB(&bl->table, 2, SN_SHAPE(6, D), "scale_shift_table");
    /* attn1: linear attention on the modulated image tokens */
    TG(&bl->q1, 2, SN_SHAPE(D, D), "attn1.to_q.weight");
    TG(&bl->k1, 2, SN_SHAPE(D, D), "attn1.to_k.weight");
    TG(&bl->v1, 2, SN_SHAPE(D, D), "attn1.to_v.weight");
    if (c->attention_bias) {
        TB(&bl->q1b, 1, SN_SHAPE(D), "attn1.to_q.bias");
        TB(&bl->k1b, 1, SN_SHAPE(D), "attn1.to_k.bias");
        TB(&bl->v1b, 1, SN_SHAPE(D), "attn1.to_v.bias");
    }
    if (c->qk.kind != SN_QK_NONE) {
        SN_TRY(sn_take_qk(dit, src, i, "attn1", "norm_q", D, &bl->nq1w, &bl->nq1b));
        SN_TRY(sn_take_qk(dit, src, i, "attn1", "norm_k", D, &bl->nk1w, &bl->nk1b));
    }
    TG(&bl->o1, 2, SN_SHAPE(D, D), "attn1.to_out.0.weight");
    TB(&bl->o1b, 1, SN_SHAPE(D), "attn1.to_out.0.bias");
    /* attn2: softmax cross-attention to the caption */
    TG(&bl->q2, 2, SN_SHAPE(Dc, D), "attn2.to_q.weight");
    TB(&bl->q2b, 1, SN_SHAPE(Dc), "attn2.to_q.bias");
    TG(&bl->k2, 2, SN_SHAPE(Dc, D), "attn2.to_k.weight");
    TB(&bl->k2b, 1, SN_SHAPE(Dc), "attn2.to_k.bias");
    TG(&bl->v2, 2, SN_SHAPE(Dc, D), "attn2.to_v.weight");
    TB(&bl->v2b, 1, SN_SHAPE(Dc), "attn2.to_v.bias");
    if (c->qk.kind != SN_QK_NONE) {
        SN_TRY(sn_take_qk(dit, src, i, "attn2", "norm_q", Dc, &bl->nq2w, &bl->nq2b));
        SN_TRY(sn_take_qk(dit, src, i, "attn2", "norm_k", Dc, &bl->nk2w, &bl->nk2b));
    }
    TG(&bl->o2, 2, SN_SHAPE(D, Dc), "attn2.to_out.0.weight");
    TB(&bl->o2b, 1, SN_SHAPE(D), "attn2.to_out.0.bias");
    if (c->norm_elementwise_affine) {
        TB(&bl->n2w, 1, SN_SHAPE(D), "norm2.weight");
        TB(&bl->n2b, 1, SN_SHAPE(D), "norm2.bias");
    }
    /* ff: GLUMBConv */
    char name[128];
    snprintf(name, sizeof name, "transformer_blocks.%d.ff.conv_inverted.weight", i);
    SN_TRY(sn_take_1x1(dit, src, &bl->ff_in, 2 * F, D, name));
    TB(&bl->ff_in_b, 1, SN_SHAPE(2 * F), "ff.conv_inverted.bias");
    TB(&bl->ff_dw, 4, SN_SHAPE(2 * F, 1, 3, 3), "ff.conv_depth.weight");
    TB(&bl->ff_dw_b, 1, SN_SHAPE(2 * F), "ff.conv_depth.bias");
    snprintf(name, sizeof name, "transformer_blocks.%d.ff.conv_point.weight", i);
    SN_TRY(sn_take_1x1(dit, src, &bl->ff_out, D, F, name));
#undef TB
#undef TG
    return SANA_OK;
}

static sana_status sn_take_all(sn_dit *dit, sn_dit_source *src, const char *config_path) {
    const sn_dit_config *c = &dit->cfg;
    int64_t D = c->D, p = c->patch_size;
    SN_TRY(sn_take(dit, src, &dit->pe_w, 4, SN_SHAPE(D, c->in_channels, p, p), "patch_embed.proj.weight"));
    SN_TRY(sn_take(dit, src, &dit->pe_b, 1, SN_SHAPE(D), "patch_embed.proj.bias"));
    if (c->guidance_embeds) { /* SanaCombinedTimestepGuidanceEmbeddings: no ".emb." level */
        SN_TRY(sn_take_mlp(dit, src, &dit->t_mlp, "time_embed.timestep_embedder"));
        SN_TRY(sn_take_mlp(dit, src, &dit->g_mlp, "time_embed.guidance_embedder"));
    } else { /* AdaLayerNormSingle */
        SN_TRY(sn_take_mlp(dit, src, &dit->t_mlp, "time_embed.emb.timestep_embedder"));
    }
    SN_TRY(sn_take_gemm(dit, src, &dit->t_lin, 2, SN_SHAPE(6 * D, D), "time_embed.linear.weight"));
    SN_TRY(sn_take(dit, src, &dit->t_lin_b, 1, SN_SHAPE(6 * D), "time_embed.linear.bias"));
    SN_TRY(sn_take_gemm(dit, src, &dit->cap1, 2, SN_SHAPE(D, c->caption_channels), "caption_projection.linear_1.weight"));
    SN_TRY(sn_take(dit, src, &dit->cap1b, 1, SN_SHAPE(D), "caption_projection.linear_1.bias"));
    SN_TRY(sn_take_gemm(dit, src, &dit->cap2, 2, SN_SHAPE(D, D), "caption_projection.linear_2.weight"));
    SN_TRY(sn_take(dit, src, &dit->cap2b, 1, SN_SHAPE(D), "caption_projection.linear_2.bias"));
    SN_TRY(sn_take(dit, src, &dit->cap_norm, 1, SN_SHAPE(D), "caption_norm.weight"));
    /* num_layers against the weights before the blocks are allocated (the key may be 2^24) */
    char last[64];
    snprintf(last, sizeof last, "transformer_blocks.%d.scale_shift_table", c->num_layers - 1);
    if (src->w && c->num_layers > 0 && !sn_weights_find(src->w, last))
        return sn_fail(SANA_ERR_NOT_FOUND, "%s: key \"num_layers\" = %d, but the weights have no tensor %s",
                       config_path, c->num_layers, last);
    dit->blocks = calloc((size_t)(c->num_layers ? c->num_layers : 1), sizeof *dit->blocks);
    if (!dit->blocks) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "dit: out of memory");
    for (int i = 0; i < c->num_layers; i++) SN_TRY(sn_take_block(dit, src, i, &dit->blocks[i]));
    SN_TRY(sn_take(dit, src, &dit->out_table, 2, SN_SHAPE(2, D), "scale_shift_table"));
    int64_t po = p * p * c->out_channels;
    SN_TRY(sn_take_gemm(dit, src, &dit->proj, 2, SN_SHAPE(po, D), "proj_out.weight"));
    return sn_take(dit, src, &dit->proj_b, 1, SN_SHAPE(po), "proj_out.bias");
}

static sana_status sn_dit_build(sn_backend *be, const sn_config *cfg, sn_dit_source *src,
                                sn_dit **out) {
    *out = NULL;
    sn_dit *dit = calloc(1, sizeof *dit);
    if (!dit) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "dit: out of memory");
    dit->be = be;
    sana_status st = sn_dit_config_read(cfg, &dit->cfg);
    if (st == SANA_OK) st = sn_take_all(dit, src, sn_config_path(cfg));
    if (st != SANA_OK) {
        sn_dit_free(dit);
        return st;
    }
    *out = dit;
    return SANA_OK;
}

sana_status sn_dit_load(sn_backend *be, const char *dir, const char *variant, sn_dit **out) {
    *out = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    sn_config *cfg = NULL;
    SN_TRY(sn_config_load(path, &cfg));
    sn_weights *w = NULL;
    sana_status st = sn_weights_open(dir, variant, &w);
    if (st == SANA_OK) {
        sn_dit_source src = {w, 0, 0};
        st = sn_dit_build(be, cfg, &src, out);
        if (st == SANA_OK && src.loaded != sn_weights_count(w))
            sn_log(SANA_LOG_WARN, "%s: %zu tensors in the weights are not used by this config",
                   dir, sn_weights_count(w) - src.loaded);
        if (st == SANA_OK && (*out)->mapped_bytes > 0) { /* its views need the mapping */
            (*out)->weights = w;
            w = NULL;
        }
    }
    sn_weights_close(w);
    sn_config_free(cfg);
    return st;
}

sana_status sn_dit_create_random(sn_backend *be, const char *config_json, uint64_t seed,
                                 sn_dit **out) {
    *out = NULL;
    sn_config *cfg = NULL;
    SN_TRY(sn_config_parse(config_json, strlen(config_json), "random DiT config", &cfg));
    sn_dit_source src = {NULL, seed, 0};
    sana_status st = sn_dit_build(be, cfg, &src, out);
    sn_config_free(cfg);
    return st;
}

static void sn_free_block(sn_dit_block *bl) {
    sn_tensor *all[] = {&bl->table, &bl->q1, &bl->k1, &bl->v1, &bl->q1b, &bl->k1b, &bl->v1b,
                        &bl->nq1w, &bl->nq1b, &bl->nk1w, &bl->nk1b, &bl->o1, &bl->o1b,
                        &bl->q2, &bl->q2b, &bl->k2, &bl->k2b, &bl->v2, &bl->v2b, &bl->nq2w,
                        &bl->nq2b, &bl->nk2w, &bl->nk2b, &bl->o2, &bl->o2b, &bl->n2w, &bl->n2b,
                        &bl->ff_in, &bl->ff_in_b, &bl->ff_dw, &bl->ff_dw_b, &bl->ff_out};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) sn_tensor_free(all[i]);
}

void sn_dit_free(sn_dit *dit) {
    if (!dit) return;
    sn_tensor *all[] = {&dit->pe_w, &dit->pe_b, &dit->t_mlp.l1, &dit->t_mlp.l1b, &dit->t_mlp.l2,
                        &dit->t_mlp.l2b, &dit->g_mlp.l1, &dit->g_mlp.l1b, &dit->g_mlp.l2,
                        &dit->g_mlp.l2b, &dit->t_lin, &dit->t_lin_b, &dit->cap1, &dit->cap1b,
                        &dit->cap2, &dit->cap2b, &dit->cap_norm, &dit->out_table, &dit->proj,
                        &dit->proj_b};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) sn_tensor_free(all[i]);
    if (dit->blocks)
        for (int i = 0; i < dit->cfg.num_layers; i++) sn_free_block(&dit->blocks[i]);
    free(dit->blocks);
    sn_weights_close(dit->weights); /* after the tensors: some were views of it */
    free(dit);
}

int64_t sn_dit_param_count(const sn_dit *dit) { return dit ? dit->params : 0; }
int64_t sn_dit_weight_bytes(const sn_dit *dit, int64_t *mapped) {
    if (mapped) *mapped = dit ? dit->mapped_bytes : 0;
    return dit ? dit->owned_bytes : 0;
}
int32_t sn_dit_in_channels(const sn_dit *dit) { return dit->cfg.in_channels; }
int32_t sn_dit_out_channels(const sn_dit *dit) { return dit->cfg.out_channels; }
int32_t sn_dit_patch_size(const sn_dit *dit) { return dit->cfg.patch_size; }
int32_t sn_dit_sample_size(const sn_dit *dit) { return dit->cfg.sample_size; }
int32_t sn_dit_caption_channels(const sn_dit *dit) { return dit->cfg.caption_channels; }
int32_t sn_dit_hidden_size(const sn_dit *dit) { return dit->cfg.D; }
int32_t sn_dit_num_layers(const sn_dit *dit) { return dit->cfg.num_layers; }
int sn_dit_guidance_embeds(const sn_dit *dit) { return dit->cfg.guidance_embeds; }
float sn_dit_guidance_embeds_scale(const sn_dit *dit) { return (float)dit->cfg.guidance_embeds_scale; }
float sn_dit_timestep_scale(const sn_dit *dit) { return (float)dit->cfg.timestep_scale; }

void sn_dit_set_probe(sn_dit *dit, sn_dit_probe_fn fn, void *user) {
    dit->probe = fn;
    dit->probe_user = user;
}

void sn_dit_set_key_trim(sn_dit *dit, int on) { dit->no_key_trim = !on; }
