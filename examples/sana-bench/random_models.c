/* Random-weight models of the real sizes for sana-bench: DiT configs as published (shared/spec/
 * dit.md §2.2), and a Gemma-2 text encoder written to a temporary folder in the real format
 * (random bf16; the loader reads files only). The token embedding stays on the host in libsana
 * (rows are gathered from the mapped file), so a small vocabulary changes neither the device
 * memory nor the compute; the layers have the real widths. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "core/dtype.h"

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
    int64_t rows, cols;
} wspec;

static int sn_write(FILE *f, const void *p, size_t n) { return fwrite(p, 1, n, f) == n ? 0 : -1; }

int bench_write_gemma(const bench_gemma_dims *d, int layers, char *dir, size_t dir_cap) {
    const int64_t V = 4096, H = d->hidden, I = d->inter, QD = (int64_t)d->heads * d->head_dim;
    const int64_t KD = (int64_t)d->kv_heads * d->head_dim;
    snprintf(dir, dir_cap, "%s/sana_bench_te_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) return -1;
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
    snprintf(ws[k].name, 96, "embed_tokens.weight"), ws[k].rows = V, ws[k++].cols = H;
    snprintf(ws[k].name, 96, "norm.weight"), ws[k].rows = 1, ws[k++].cols = H;
    static const char *norms[4] = {"input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                                   "post_feedforward_layernorm"};
    static const char *mats[7] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                                  "mlp.gate_proj",    "mlp.up_proj",      "mlp.down_proj"};
    const int64_t rows[7] = {QD, KD, KD, H, I, I, H}, cols[7] = {H, H, H, QD, H, H, I};
    for (int l = 0; l < layers; l++) {
        for (int j = 0; j < 4; j++)
            snprintf(ws[k].name, 96, "layers.%d.%s.weight", l, norms[j]), ws[k].rows = 1, ws[k++].cols = H;
        for (int j = 0; j < 7; j++)
            snprintf(ws[k].name, 96, "layers.%d.%s.weight", l, mats[j]), ws[k].rows = rows[j], ws[k++].cols = cols[j];
    }
    size_t hcap = (size_t)nt * 200 + 64, hl = 0, off = 0, maxn = 0;
    char *hdr = malloc(hcap);
    if (!hdr) return -1;
    hl += (size_t)snprintf(hdr + hl, hcap - hl, "{");
    for (int i = 0; i < nt; i++) {
        size_t n = (size_t)(ws[i].rows * ws[i].cols), bytes = n * 2;
        if (n > maxn) maxn = n;
        if (ws[i].rows == 1)
            hl += (size_t)snprintf(hdr + hl, hcap - hl,
                                   "%s\"%s\":{\"dtype\":\"BF16\",\"shape\":[%lld],\"data_offsets\":[%zu,%zu]}",
                                   i ? "," : "", ws[i].name, (long long)ws[i].cols, off, off + bytes);
        else
            hl += (size_t)snprintf(hdr + hl, hcap - hl,
                                   "%s\"%s\":{\"dtype\":\"BF16\",\"shape\":[%lld,%lld],\"data_offsets\":[%zu,%zu]}",
                                   i ? "," : "", ws[i].name, (long long)ws[i].rows, (long long)ws[i].cols, off,
                                   off + bytes);
        off += bytes;
    }
    hl += (size_t)snprintf(hdr + hl, hcap - hl, "}");
    while (hl % 8) hdr[hl++] = ' ';
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    f = fopen(path, "wb");
    uint16_t *buf = malloc(maxn * 2);
    int rc = f && buf ? 0 : -1;
    uint64_t n8 = hl, s = 12345;
    if (!rc) rc = sn_write(f, &n8, 8) || sn_write(f, hdr, hl);
    for (int i = 0; i < nt && !rc; i++) {
        int64_t n = ws[i].rows * ws[i].cols;
        float scale = ws[i].rows == 1 ? 0.1f : 1.0f / sqrtf((float)ws[i].cols);
        for (int64_t j = 0; j < n; j++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            buf[j] = sn_f32_to_bf16(((float)(s >> 40) / (float)(1 << 24) * 2.0f - 1.0f) * scale);
        }
        rc = sn_write(f, buf, (size_t)n * 2);
    }
    if (f && fclose(f)) rc = -1;
    free(buf), free(hdr), free(ws);
    return rc;
}

void bench_remove_gemma(const char *dir) {
    char path[1024];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    rmdir(dir);
}
