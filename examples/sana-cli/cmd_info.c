/* sana-cli info MODEL_DIR [--variant fp16|bf16]
 *
 * What a model folder holds, read from the files alone (nothing is loaded onto a device): per
 * component its class, folder, weight files, on-disk dtypes, parameter count (the sum of numel
 * over the safetensors headers) and the few config fields that say its size. Exit 0 when every
 * component is readable; 1 (after printing what could be read) when any is missing or corrupt;
 * 2 for bad usage.
 *
 * Output, one block per component:
 *   [transformer] SanaTransformer2DModel
 *     folder:  path/transformer
 *     weights: diffusion_pytorch_model.safetensors
 *     dtypes:  F16 x54
 *     params:  55392 (55.4K)
 *     config:  num_layers=2 num_attention_heads=4 ... */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/error.h"
#include "io/config.h"
#include "io/pipeline_dir.h"
#include "io/weights.h"

/* The config file of each kind of component and the fields worth showing. */
typedef struct info_kind {
    const char *name;
    const char *config_file;
    int has_weights;
    const char *keys[16];
} info_kind;

static const info_kind kinds[] = {
    {"transformer", "config.json", 1,
     {"num_layers", "num_attention_heads", "attention_head_dim", "num_cross_attention_heads",
      "cross_attention_head_dim", "caption_channels", "in_channels", "out_channels", "sample_size",
      "patch_size", "mlp_ratio", "qk_norm", "guidance_embeds", "interpolation_scale", NULL}},
    {"vae", "config.json", 1,
     {"latent_channels", "in_channels", "scaling_factor", "encoder_block_out_channels",
      "decoder_block_out_channels", "encoder_layers_per_block", "decoder_layers_per_block",
      "attention_head_dim", "upsample_block_type", NULL}},
    {"text_encoder", "config.json", 1,
     {"model_type", "hidden_size", "num_hidden_layers", "num_attention_heads",
      "num_key_value_heads", "head_dim", "intermediate_size", "vocab_size", "sliding_window",
      "attn_logit_softcapping", NULL}},
    {"scheduler", "scheduler_config.json", 0,
     {"_class_name", "flow_shift", "prediction_type", "algorithm_type", "solver_order",
      "use_flow_sigmas", "sigma_data", "num_train_timesteps", NULL}},
    {"tokenizer", "tokenizer_config.json", 0,
     {"tokenizer_class", "model_max_length", "padding_side", "add_bos_token", "add_eos_token",
      NULL}},
};

static const info_kind *kind_of(const char *name) {
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (strcmp(kinds[i].name, name) == 0) return &kinds[i];
    return NULL;
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* 55392 -> "55.4K", 1600000000 -> "1.60B" */
static void human(int64_t n, char *buf, size_t cap) {
    const char *unit[] = {"", "K", "M", "B", "T"};
    double v = (double)n;
    int u = 0;
    while (v >= 1000.0 && u < 4) v /= 1000.0, u++;
    if (u == 0)
        snprintf(buf, cap, "%" PRId64, n);
    else
        snprintf(buf, cap, v >= 100 ? "%.0f%s" : v >= 10 ? "%.1f%s" : "%.2f%s", v, unit[u]);
}

/* Prints the weights block; adds the parameter count to *total. Returns 1 on failure. */
static int print_weights(const char *folder, const char *variant, int64_t *total) {
    sn_weights *w = NULL;
    if (sn_weights_open(folder, variant, &w) != SANA_OK) {
        printf("  weights: ERROR\n");
        fprintf(stderr, "sana-cli info: %s\n", sn_error_text());
        return 1;
    }
    printf("  weights:");
    for (size_t i = 0; i < sn_weights_file_count(w); i++)
        printf(" %s", base_name(sn_weights_file(w, i)));
    if (*sn_weights_index_file(w)) printf(" (index %s)", base_name(sn_weights_index_file(w)));
    printf("\n  dtypes: ");
    size_t per_dtype[SN_DTYPE_COUNT] = {0};
    for (size_t i = 0; i < sn_weights_count(w); i++) per_dtype[sn_weights_at(w, i)->dtype]++;
    for (int d = 0; d < SN_DTYPE_COUNT; d++)
        if (per_dtype[d]) printf(" %s x%zu", sn_dtype_name((sn_dtype)d), per_dtype[d]);
    char h[32];
    human(sn_weights_param_count(w), h, sizeof h);
    printf("\n  tensors: %zu\n  params:  %" PRId64 " (%s)\n", sn_weights_count(w),
           sn_weights_param_count(w), h);
    *total += sn_weights_param_count(w);
    sn_weights_close(w);
    return 0;
}

static int print_config(const char *folder, const info_kind *k) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", folder, k->config_file);
    sn_config *c = NULL;
    sana_status st = sn_config_load(path, &c);
    if (st == SANA_ERR_NOT_FOUND && strcmp(k->name, "tokenizer") == 0) return 0; /* optional */
    if (st != SANA_OK) {
        printf("  config:  ERROR\n");
        fprintf(stderr, "sana-cli info: %s\n", sn_error_text());
        return 1;
    }
    printf("  config: ");
    for (int i = 0; k->keys[i]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(sn_config_json(c), k->keys[i]);
        if (!v) continue;
        if (cJSON_IsString(v)) {
            printf(" %s=%s", k->keys[i], v->valuestring);
        } else {
            char *text = cJSON_PrintUnformatted(v);
            printf(" %s=%s", k->keys[i], text ? text : "?");
            free(text);
        }
    }
    printf("\n");
    sn_config_free(c);
    return 0;
}

int cmd_info(int argc, char **argv) {
    const char *dir = NULL, *variant = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--variant") == 0 && i + 1 < argc)
            variant = argv[++i];
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            dir = NULL, i = argc;
        else if (argv[i][0] != '-' && !dir)
            dir = argv[i];
        else
            dir = NULL, i = argc;
    }
    if (!dir) {
        fprintf(stderr, "usage: sana-cli info MODEL_DIR [--variant fp16|bf16]\n");
        return 2;
    }
    sn_pipeline_dir *d = NULL;
    if (sn_pipeline_dir_open(dir, &d) != SANA_OK) {
        fprintf(stderr, "sana-cli info: %s\n", sn_error_text());
        return 1;
    }
    printf("%s: %s%s\n", sn_pipeline_dir_path(d), sn_pipeline_dir_class(d),
           sn_pipeline_dir_is_single(d) ? " (single component)" : "");
    int failed = 0;
    int64_t total = 0;
    for (size_t i = 0; i < sn_pipeline_dir_count(d); i++) {
        const char *name = sn_pipeline_dir_name_at(d, i);
        const char *folder = sn_pipeline_dir_component(d, name);
        const info_kind *k = kind_of(name);
        printf("\n[%s] %s\n  folder:  %s\n", name, sn_pipeline_dir_component_class(d, name),
               folder);
        if (!k) continue; /* a component libsana does not use: listed only */
        if (k->has_weights) failed |= print_weights(folder, variant, &total);
        failed |= print_config(folder, k);
    }
    char h[32];
    human(total, h, sizeof h);
    printf("\ntotal params: %" PRId64 " (%s)\n", total, h);
    sn_pipeline_dir_close(d);
    return failed ? 1 : 0;
}
