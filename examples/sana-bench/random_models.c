/* Random-weight models of the real sizes for sana-bench: DiT configs as published (shared/spec/
 * dit.md §2.2), and a Gemma-2 text encoder written to a temporary folder in the real format
 * (random bf16; the loader reads files only); with --dit-file the DiT too (a transformer/ folder
 * in the dtype asked, loaded as a model's is). The token embedding stays on the host in libsana
 * (rows are gathered from the mapped file), so a small vocabulary changes neither the device
 * memory nor the compute; the layers have the real widths. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "core/dtype.h"
#include "dit/dit_internal.h"
#include "io/config.h"

#define SN_DIT_COMMON                                                                              \
    "\"_class_name\": \"SanaTransformer2DModel\", \"in_channels\": 32, \"out_channels\": 32,"      \
    " \"attention_head_dim\": 32, \"caption_channels\": 2304, \"mlp_ratio\": 2.5,"                  \
    " \"dropout\": 0.0, \"attention_bias\": false, \"patch_size\": 1,"                            \
    " \"norm_elementwise_affine\": false, \"norm_eps\": 1e-06, "

/* Sana_600M_1024px, Sana_1600M_1024px / _4Kpx, Sana_Sprint_0.6B_1024px; "tiny" for CPU tests. */
static const bench_config k_configs[] = {
    {"sana-0.6b",
     "{" SN_DIT_COMMON "\"num_attention_heads\": 36, \"num_layers\": 28, \"num_cross_attention_heads\": 16,"
     " \"cross_attention_head_dim\": 72, \"cross_attention_dim\": 1152, \"sample_size\": 32,"
     " \"interpolation_scale\": null}",
     0, 20, 4.5f, 1024, {2304, 9216, 26, 8, 4, 256}},
    {"sana-1.6b",
     "{" SN_DIT_COMMON "\"num_attention_heads\": 70, \"num_layers\": 20, \"num_cross_attention_heads\": 20,"
     " \"cross_attention_head_dim\": 112, \"cross_attention_dim\": 2240, \"sample_size\": 32,"
     " \"interpolation_scale\": null}",
     0, 20, 4.5f, 1024, {2304, 9216, 26, 8, 4, 256}},
    {"sana-1.6b-4k",
     "{" SN_DIT_COMMON "\"num_attention_heads\": 70, \"num_layers\": 20, \"num_cross_attention_heads\": 20,"
     " \"cross_attention_head_dim\": 112, \"cross_attention_dim\": 2240, \"sample_size\": 128,"
     " \"interpolation_scale\": 2.0}",
     0, 20, 4.5f, 4096, {2304, 9216, 26, 8, 4, 256}},
    {"sprint-0.6b",
     "{" SN_DIT_COMMON "\"num_attention_heads\": 36, \"num_layers\": 28, \"num_cross_attention_heads\": 16,"
     " \"cross_attention_head_dim\": 72, \"cross_attention_dim\": 1152, \"sample_size\": 32,"
     " \"interpolation_scale\": null, \"qk_norm\": \"rms_norm_across_heads\", \"guidance_embeds\": true,"
     " \"guidance_embeds_scale\": 0.1}",
     1, 2, 4.5f, 1024, {2304, 9216, 26, 8, 4, 256}},
    {"tiny",
     "{\"_class_name\": \"SanaTransformer2DModel\", \"in_channels\": 32, \"out_channels\": 32,"
     " \"attention_head_dim\": 8, \"caption_channels\": 64, \"mlp_ratio\": 2.5, \"patch_size\": 1,"
     " \"norm_elementwise_affine\": false, \"norm_eps\": 1e-06, \"num_attention_heads\": 4,"
     " \"num_layers\": 2, \"num_cross_attention_heads\": 2, \"cross_attention_head_dim\": 16,"
     " \"cross_attention_dim\": 32, \"sample_size\": 32, \"interpolation_scale\": null}",
     0, 2, 4.5f, 128, {64, 128, 2, 2, 1, 32}},
};

const bench_config *bench_find_config(const char *name) {
    for (size_t i = 0; i < sizeof k_configs / sizeof k_configs[0]; i++)
        if (!strcmp(k_configs[i].name, name)) return &k_configs[i];
    return NULL;
}

typedef struct wspec {
    char name[96];
    int32_t ndim;
    int64_t shape[4];
    float scale; /* values uniform in +-scale */
} wspec;

static int sn_write(FILE *f, const void *p, size_t n) { return fwrite(p, 1, n, f) == n ? 0 : -1; }

static int64_t wspec_numel(const wspec *w) {
    int64_t n = 1;
    for (int d = 0; d < w->ndim; d++) n *= w->shape[d];
    return n;
}

/* Writes the nt tensors of ws as one safetensors file of `dtype` (SN_F32, SN_F16 or SN_BF16),
 * random values from one LCG stream seeded with 12345. */
static int write_safetensors(const char *path, const wspec *ws, int nt, sn_dtype dtype) {
    const char *dname = dtype == SN_F32 ? "F32" : dtype == SN_F16 ? "F16" : "BF16";
    const size_t es = sn_dtype_size(dtype);
    size_t hcap = (size_t)nt * 200 + 64, hl = 0, off = 0, maxn = 0;
    char *hdr = malloc(hcap);
    if (!hdr) return -1;
    hl += (size_t)snprintf(hdr + hl, hcap - hl, "{");
    for (int i = 0; i < nt; i++) {
        size_t n = (size_t)wspec_numel(&ws[i]), bytes = n * es;
        if (n > maxn) maxn = n;
        hl += (size_t)snprintf(hdr + hl, hcap - hl, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", i ? "," : "",
                               ws[i].name, dname);
        for (int d = 0; d < ws[i].ndim; d++)
            hl += (size_t)snprintf(hdr + hl, hcap - hl, "%s%lld", d ? "," : "", (long long)ws[i].shape[d]);
        hl += (size_t)snprintf(hdr + hl, hcap - hl, "],\"data_offsets\":[%zu,%zu]}", off, off + bytes);
        off += bytes;
    }
    hl += (size_t)snprintf(hdr + hl, hcap - hl, "}");
    while (hl % 8) hdr[hl++] = ' ';
    FILE *f = fopen(path, "wb");
    unsigned char *buf = malloc(maxn * es);
    int rc = f && buf ? 0 : -1;
    uint64_t n8 = hl, s = 12345;
    if (!rc) rc = sn_write(f, &n8, 8) || sn_write(f, hdr, hl);
    for (int i = 0; i < nt && !rc; i++) {
        int64_t n = wspec_numel(&ws[i]);
        for (int64_t j = 0; j < n; j++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            float v = ((float)(s >> 40) / (float)(1 << 24) * 2.0f - 1.0f) * ws[i].scale;
            if (dtype == SN_F32) memcpy(buf + j * 4, &v, 4);
            else {
                uint16_t h = dtype == SN_F16 ? sn_f32_to_f16(v) : sn_f32_to_bf16(v);
                memcpy(buf + j * 2, &h, 2);
            }
        }
        rc = sn_write(f, buf, (size_t)n * es);
    }
    if (f && fclose(f)) rc = -1;
    free(buf), free(hdr);
    return rc;
}

static int make_temp_dir(const char *what, char *dir, size_t dir_cap) {
    snprintf(dir, dir_cap, "%s/sana_bench_%s_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", what);
    return mkdtemp(dir) ? 0 : -1;
}

/* The next entry of ws: its name, shape and the range of its uniform values (+-scale). */
static wspec *wnext(wspec *ws, int *k, float scale, int32_t ndim, const int64_t *shape, const char *fmt, va_list ap) {
    wspec *w = &ws[(*k)++];
    vsnprintf(w->name, sizeof w->name, fmt, ap);
    w->ndim = ndim;
    memcpy(w->shape, shape, (size_t)ndim * sizeof *shape);
    w->scale = scale;
    return w;
}

static void wadd(wspec *ws, int *k, float scale, int32_t ndim, const int64_t *shape, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void wadd(wspec *ws, int *k, float scale, int32_t ndim, const int64_t *shape, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    wnext(ws, k, scale, ndim, shape, fmt, ap);
    va_end(ap);
}

int bench_write_gemma(const bench_gemma_dims *d, int layers, char *dir, size_t dir_cap) {
    const int64_t V = 4096, H = d->hidden, I = d->inter, QD = (int64_t)d->heads * d->head_dim;
    const int64_t KD = (int64_t)d->kv_heads * d->head_dim;
    if (make_temp_dir("te", dir, dir_cap)) return -1;
    char path[1024];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f,
            "{\"model_type\": \"gemma2\", \"vocab_size\": %lld, \"num_hidden_layers\": %d, \"hidden_size\": %lld,"
            " \"intermediate_size\": %lld, \"num_attention_heads\": %d, \"num_key_value_heads\": %d,"
            " \"head_dim\": %d, \"query_pre_attn_scalar\": %d}\n",
            (long long)V, layers, (long long)H, (long long)I, d->heads, d->kv_heads, d->head_dim, d->head_dim);
    fclose(f);

    int nt = 2 + 11 * layers, k = 0;
    wspec *ws = calloc((size_t)nt, sizeof *ws);
    if (!ws) return -1;
    wadd(ws, &k, 1.0f / sqrtf((float)H), 2, (int64_t[]){V, H}, "embed_tokens.weight");
    wadd(ws, &k, 0.1f, 1, (int64_t[]){H}, "norm.weight");
    static const char *norms[4] = {"input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                                   "post_feedforward_layernorm"};
    static const char *mats[7] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                                  "mlp.gate_proj",    "mlp.up_proj",      "mlp.down_proj"};
    const int64_t rows[7] = {QD, KD, KD, H, I, I, H}, cols[7] = {H, H, H, QD, H, H, I};
    for (int l = 0; l < layers; l++) {
        for (int j = 0; j < 4; j++) wadd(ws, &k, 0.1f, 1, (int64_t[]){H}, "layers.%d.%s.weight", l, norms[j]);
        for (int j = 0; j < 7; j++)
            wadd(ws, &k, 1.0f / sqrtf((float)cols[j]), 2, (int64_t[]){rows[j], cols[j]}, "layers.%d.%s.weight", l,
                 mats[j]);
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    int rc = write_safetensors(path, ws, nt, SN_BF16);
    free(ws);
    return rc;
}

/* A tensor of the DiT with values uniform in +-1/sqrt(fan_in), fan_in = numel / shape[0] (1 for
 * vectors), as sn_dit_create_random makes them. */
static void dadd(wspec *ws, int *k, int32_t ndim, const int64_t *shape, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void dadd(wspec *ws, int *k, int32_t ndim, const int64_t *shape, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    wspec *w = wnext(ws, k, 1.0f, ndim, shape, fmt, ap);
    va_end(ap);
    int64_t fan_in = ndim >= 2 ? wspec_numel(w) / shape[0] : 1;
    w->scale = 1.0f / sqrtf((float)fan_in);
}

static void dit_mlp(wspec *ws, int *k, int64_t D, const char *pre) {
    dadd(ws, k, 2, (int64_t[]){D, 256}, "%s.linear_1.weight", pre);
    dadd(ws, k, 1, (int64_t[]){D}, "%s.linear_1.bias", pre);
    dadd(ws, k, 2, (int64_t[]){D, D}, "%s.linear_2.weight", pre);
    dadd(ws, k, 1, (int64_t[]){D}, "%s.linear_2.bias", pre);
}

/* attn.norm_q / norm_k of a qk-normed config (n channels). */
static void dit_qk(wspec *ws, int *k, const sn_dit_config *c, int i, const char *attn, int64_t n) {
    static const char *which[2] = {"norm_q", "norm_k"};
    for (int j = 0; j < 2; j++) {
        if (c->qk.has_weight) dadd(ws, k, 1, (int64_t[]){n}, "transformer_blocks.%d.%s.%s.weight", i, attn, which[j]);
        if (c->qk.has_bias) dadd(ws, k, 1, (int64_t[]){n}, "transformer_blocks.%d.%s.%s.bias", i, attn, which[j]);
    }
}

int bench_write_dit(const char *dit_json, sn_dtype dtype, char *dir, size_t dir_cap) {
    sn_config *cj = NULL;
    sn_dit_config c;
    if (sn_config_parse(dit_json, strlen(dit_json), "bench DiT config", &cj)) return -1;
    int bad = sn_dit_config_read(cj, &c) != SANA_OK;
    sn_config_free(cj);
    if (bad || make_temp_dir("dit", dir, dir_cap)) return -1;
    char path[1024];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    if (!f || sn_write(f, dit_json, strlen(dit_json)) || fclose(f)) return -1;

    const int64_t D = c.D, Dc = c.Dc, F = c.F, p = c.patch_size, po = p * p * c.out_channels;
    int cap = 32 + c.num_layers * 40, k = 0;
    wspec *ws = calloc((size_t)cap, sizeof *ws);
    if (!ws) return -1;
    /* the names and shapes lib/dit/dit_load.c takes, in its order */
    dadd(ws, &k, 4, (int64_t[]){D, c.in_channels, p, p}, "patch_embed.proj.weight");
    dadd(ws, &k, 1, (int64_t[]){D}, "patch_embed.proj.bias");
    if (c.guidance_embeds) {
        dit_mlp(ws, &k, D, "time_embed.timestep_embedder");
        dit_mlp(ws, &k, D, "time_embed.guidance_embedder");
    } else {
        dit_mlp(ws, &k, D, "time_embed.emb.timestep_embedder");
    }
    dadd(ws, &k, 2, (int64_t[]){6 * D, D}, "time_embed.linear.weight");
    dadd(ws, &k, 1, (int64_t[]){6 * D}, "time_embed.linear.bias");
    dadd(ws, &k, 2, (int64_t[]){D, c.caption_channels}, "caption_projection.linear_1.weight");
    dadd(ws, &k, 1, (int64_t[]){D}, "caption_projection.linear_1.bias");
    dadd(ws, &k, 2, (int64_t[]){D, D}, "caption_projection.linear_2.weight");
    dadd(ws, &k, 1, (int64_t[]){D}, "caption_projection.linear_2.bias");
    dadd(ws, &k, 1, (int64_t[]){D}, "caption_norm.weight");
    for (int i = 0; i < c.num_layers; i++) {
#define TB(nd, shape, suffix) dadd(ws, &k, nd, (int64_t[])shape, "transformer_blocks.%d." suffix, i)
#define S(...) {__VA_ARGS__}
        TB(2, S(6, D), "scale_shift_table");
        TB(2, S(D, D), "attn1.to_q.weight");
        TB(2, S(D, D), "attn1.to_k.weight");
        TB(2, S(D, D), "attn1.to_v.weight");
        if (c.attention_bias) {
            TB(1, S(D), "attn1.to_q.bias");
            TB(1, S(D), "attn1.to_k.bias");
            TB(1, S(D), "attn1.to_v.bias");
        }
        if (c.qk.kind != SN_QK_NONE) dit_qk(ws, &k, &c, i, "attn1", D);
        TB(2, S(D, D), "attn1.to_out.0.weight");
        TB(1, S(D), "attn1.to_out.0.bias");
        TB(2, S(Dc, D), "attn2.to_q.weight");
        TB(1, S(Dc), "attn2.to_q.bias");
        TB(2, S(Dc, D), "attn2.to_k.weight");
        TB(1, S(Dc), "attn2.to_k.bias");
        TB(2, S(Dc, D), "attn2.to_v.weight");
        TB(1, S(Dc), "attn2.to_v.bias");
        if (c.qk.kind != SN_QK_NONE) dit_qk(ws, &k, &c, i, "attn2", Dc);
        TB(2, S(D, Dc), "attn2.to_out.0.weight");
        TB(1, S(D), "attn2.to_out.0.bias");
        if (c.norm_elementwise_affine) {
            TB(1, S(D), "norm2.weight");
            TB(1, S(D), "norm2.bias");
        }
        TB(4, S(2 * F, D, 1, 1), "ff.conv_inverted.weight");
        TB(1, S(2 * F), "ff.conv_inverted.bias");
        TB(4, S(2 * F, 1, 3, 3), "ff.conv_depth.weight");
        TB(1, S(2 * F), "ff.conv_depth.bias");
        TB(4, S(D, F, 1, 1), "ff.conv_point.weight");
#undef S
#undef TB
    }
    dadd(ws, &k, 2, (int64_t[]){2, D}, "scale_shift_table");
    dadd(ws, &k, 2, (int64_t[]){po, D}, "proj_out.weight");
    dadd(ws, &k, 1, (int64_t[]){po}, "proj_out.bias");
    snprintf(path, sizeof path, "%s/diffusion_pytorch_model.safetensors", dir);
    int rc = k <= cap ? write_safetensors(path, ws, k, dtype) : -1;
    free(ws);
    return rc;
}

/* Removes a folder written by bench_write_gemma or bench_write_dit. */
static void remove_files(const char *dir, const char *weights) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, weights);
    unlink(path);
    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    rmdir(dir);
}

void bench_remove_dit(const char *dir) { remove_files(dir, "diffusion_pytorch_model.safetensors"); }

void bench_remove_gemma(const char *dir) { remove_files(dir, "model.safetensors"); }
