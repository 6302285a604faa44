/* Gemma-2 folders that are not the fixture's: a transformers 4.x config (top-level rope_theta, no
 * layer_types), the "model." weight prefix, and broken folders, each refused with an error that
 * names the file and the key or tensor. Models are written here, tiny (hidden 4, 1-2 layers). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "encoder/gemma.h"
#include "harness.h"

static sn_backend *be;

typedef struct tensor_def {
    const char *name;
    int64_t rows, cols; /* rows 0: 1-D [cols] */
} tensor_def;

static void add(tensor_def *defs, char (*names)[96], int *n, int64_t rows, int64_t cols, const char *fmt, ...)
    SN_PRINTF(6, 7);
static void add(tensor_def *defs, char (*names)[96], int *n, int64_t rows, int64_t cols, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(names[*n], 96, fmt, ap);
    va_end(ap);
    defs[*n] = (tensor_def){names[*n], rows, cols};
    (*n)++;
}

/* Writes config.json and model.safetensors (F32, value 0.01 everywhere) into a new folder. */
static const char *write_model(const char *config, const char *prefix, int layers, const char *skip,
                               const char *bad_shape, const char *embed_dtype) {
    const char *dir = tu_temp_dir();
    tu_write_file(tu_path(dir, "config.json"), config, strlen(config));
    tensor_def defs[64];
    int n = 0;
    char names[64][96];
    static const char *norms[4] = {"input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                                   "post_feedforward_layernorm"};
    /* hidden 4, heads 2 x 2 (kv 1), intermediate 8, vocab 8 */
    add(defs, names, &n, 8, 4, "%sembed_tokens.weight", prefix);
    add(defs, names, &n, 0, 4, "%snorm.weight", prefix);
    for (int l = 0; l < layers; l++) {
        for (int j = 0; j < 4; j++) add(defs, names, &n, 0, 4, "%slayers.%d.%s.weight", prefix, l, norms[j]);
        add(defs, names, &n, 4, 4, "%slayers.%d.self_attn.q_proj.weight", prefix, l);
        add(defs, names, &n, 2, 4, "%slayers.%d.self_attn.k_proj.weight", prefix, l);
        add(defs, names, &n, 2, 4, "%slayers.%d.self_attn.v_proj.weight", prefix, l);
        add(defs, names, &n, 4, 4, "%slayers.%d.self_attn.o_proj.weight", prefix, l);
        add(defs, names, &n, 8, 4, "%slayers.%d.mlp.gate_proj.weight", prefix, l);
        add(defs, names, &n, 8, 4, "%slayers.%d.mlp.up_proj.weight", prefix, l);
        add(defs, names, &n, 4, 8, "%slayers.%d.mlp.down_proj.weight", prefix, l);
    }
    char hdr[16384];
    size_t hl = 0, off = 0;
    hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "{");
    int first = 1;
    for (int i = 0; i < n; i++) {
        if (skip && !strcmp(defs[i].name, skip)) continue;
        int64_t rows = defs[i].rows, cols = defs[i].cols;
        if (bad_shape && !strcmp(defs[i].name, bad_shape)) cols += 1;
        const char *dt = i == 0 && embed_dtype ? embed_dtype : "F32";
        size_t bytes = (size_t)((rows ? rows : 1) * cols) * 4;
        if (rows)
            hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[%lld,%lld],\"data_offsets\":[%zu,%zu]}",
                                   first ? "" : ",", defs[i].name, dt, (long long)rows, (long long)cols, off, off + bytes);
        else
            hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[%lld],\"data_offsets\":[%zu,%zu]}",
                                   first ? "" : ",", defs[i].name, dt, (long long)cols, off, off + bytes);
        off += bytes;
        first = 0;
    }
    snprintf(hdr + hl, sizeof hdr - hl, "}");
    float *data = malloc(off);
    for (size_t i = 0; i < off / 4; i++) data[i] = 0.01f;
    tu_write_safetensors(tu_path(dir, "model.safetensors"), hdr, data, off);
    free(data);
    return dir;
}

#define SIZES "\"vocab_size\": 8, \"hidden_size\": 4, \"intermediate_size\": 8, \"num_attention_heads\": 2, " \
              "\"num_key_value_heads\": 1, \"head_dim\": 2, \"query_pre_attn_scalar\": 2"

static void expect_fail(const char *what, const char *dir, sana_status code, const char *needle) {
    sn_gemma *g = NULL;
    sana_status st = sn_gemma_load(be, dir, NULL, &g);
    CHECK(st == code && !g, "%s: status %s, expected %s", what, sana_status_string(st), sana_status_string(code));
    CHECK(strstr(tu_last_error(), needle) != NULL, "%s: error \"%s\" does not name \"%s\"", what, tu_last_error(), needle);
    printf("  %-26s -> %s\n", what, tu_last_error());
    sn_gemma_free(g);
}

int main(void) {
    CHECK_OK(sn_backend_cpu_create(1, &be));

    /* transformers 4.x style: rope_theta at the top, no layer_types (even layers slide),
     * soft-cap null (off), "model." prefix */
    const char *cfg4 = "{\"model_type\": \"gemma2\", " SIZES ", \"num_hidden_layers\": 2, \"rope_theta\": 500.0, "
                       "\"attn_logit_softcapping\": null, \"hidden_act\": \"gelu_pytorch_tanh\"}";
    sn_gemma *g = NULL;
    CHECK_OK(sn_gemma_load(be, write_model(cfg4, "model.", 2, NULL, NULL, NULL), NULL, &g));
    if (g) {
        const sn_gemma_config *k = sn_gemma_get_config(g);
        CHECK(k->rope_theta == 500.0f && k->attn_softcap == 0.0f && k->sliding_window == 4096, "4.x config values");
        CHECK(k->layer_sliding[0] == 1 && k->layer_sliding[1] == 0, "default layer types: even layers slide");
        CHECK(k->act == SN_ACT_GELU_TANH, "activation");
        /* a forward runs and gives finite values */
        sn_tensor out;
        CHECK_OK(sn_tensor_alloc(be, SN_F32, 3, SN_SHAPE(1, 3, 4), &out));
        int32_t ids[3] = {2, 5, 7}, mask[3] = {1, 1, 0};
        CHECK_OK(sn_gemma_forward(g, ids, mask, 1, 3, &out, NULL, NULL));
        int finite = 1;
        for (int i = 0; i < 12; i++) finite &= ((float *)out.data)[i] == ((float *)out.data)[i];
        CHECK(finite, "forward gave NaN");
        sn_tensor_free(&out);
        sn_gemma_free(g);
    }

    /* defaults of a config that says almost nothing: the 2B's values */
    const char *cfg5 = "{\"model_type\": \"gemma2\", " SIZES ", \"num_hidden_layers\": 1, "
                       "\"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 10000.0}}";
    g = NULL;
    CHECK_OK(sn_gemma_load(be, write_model(cfg5, "", 1, NULL, NULL, NULL), NULL, &g));
    if (g) {
        const sn_gemma_config *k = sn_gemma_get_config(g);
        CHECK(k->attn_softcap == 50.0f && k->sliding_window == 4096 && k->rms_norm_eps == 1e-6f, "2B defaults");
        sn_gemma_free(g);
    }

    printf("broken folders:\n");
    expect_fail("model_type gemma", write_model("{\"model_type\": \"gemma\", " SIZES "}", "", 1, NULL, NULL, NULL),
                SANA_ERR_UNSUPPORTED, "model_type");
    expect_fail("rope_type linear",
                write_model("{" SIZES ", \"num_hidden_layers\": 1, \"rope_parameters\": {\"rope_type\": \"linear\", \"factor\": 2}}",
                            "", 1, NULL, NULL, NULL),
                SANA_ERR_UNSUPPORTED, "rope_type");
    expect_fail("layer_types count",
                write_model("{" SIZES ", \"num_hidden_layers\": 1, \"layer_types\": [\"full_attention\", \"full_attention\"]}", "",
                            1, NULL, NULL, NULL),
                SANA_ERR_FORMAT, "layer_types");
    expect_fail("unknown layer type",
                write_model("{" SIZES ", \"num_hidden_layers\": 1, \"layer_types\": [\"chunked_attention\"]}", "", 1, NULL, NULL, NULL),
                SANA_ERR_UNSUPPORTED, "chunked_attention");
    expect_fail("activation relu",
                write_model("{" SIZES ", \"num_hidden_layers\": 1, \"hidden_activation\": \"relu\"}", "", 1, NULL, NULL, NULL),
                SANA_ERR_UNSUPPORTED, "hidden_activation");
    expect_fail("bidirectional",
                write_model("{" SIZES ", \"num_hidden_layers\": 1, \"use_bidirectional_attention\": true}", "", 1, NULL, NULL, NULL),
                SANA_ERR_UNSUPPORTED, "use_bidirectional_attention");
    expect_fail("heads not grouped",
                write_model("{\"vocab_size\": 8, \"hidden_size\": 4, \"num_attention_heads\": 3, \"num_key_value_heads\": 2, "
                            "\"num_hidden_layers\": 1}", "", 1, NULL, NULL, NULL),
                SANA_ERR_FORMAT, "config.json");
    expect_fail("hidden_size a string",
                write_model("{\"vocab_size\": 8, \"hidden_size\": \"4\", \"num_hidden_layers\": 1}", "", 1, NULL, NULL, NULL),
                SANA_ERR_FORMAT, "hidden_size");
    /* an int32 size past 2^31 is refused, not wrapped (it loaded as 1 layer) */
    expect_fail("layers 2^32 + 1",
                write_model("{" SIZES ", \"num_hidden_layers\": 4294967297}", "", 1, NULL, NULL, NULL),
                SANA_ERR_FORMAT, "num_hidden_layers");
    /* float keys that load but make every embedding NaN (they were accepted): checked as the
     * forward reads them, in float */
    expect_fail("query_pre_attn_scalar inf",
                write_model("{\"vocab_size\": 8, \"hidden_size\": 4, \"num_hidden_layers\": 1, \"query_pre_attn_scalar\": 1e999}",
                            "", 1, NULL, NULL, NULL),
                SANA_ERR_FORMAT, "query_pre_attn_scalar");
    expect_fail("query_pre_attn_scalar 1e60",
                write_model("{\"vocab_size\": 8, \"hidden_size\": 4, \"num_hidden_layers\": 1, \"query_pre_attn_scalar\": 1e60}",
                            "", 1, NULL, NULL, NULL),
                SANA_ERR_FORMAT, "query_pre_attn_scalar");
    expect_fail("rms_norm_eps negative",
                write_model("{" SIZES ", \"num_hidden_layers\": 1, \"rms_norm_eps\": -1}", "", 1, NULL, NULL, NULL),
                SANA_ERR_FORMAT, "rms_norm_eps");
    expect_fail("softcap negative",
                write_model("{" SIZES ", \"num_hidden_layers\": 1, \"attn_logit_softcapping\": -50}", "", 1, NULL, NULL, NULL),
                SANA_ERR_FORMAT, "attn_logit_softcapping");
    expect_fail("rope_theta 0",
                write_model("{" SIZES ", \"num_hidden_layers\": 1, \"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 0}}",
                            "", 1, NULL, NULL, NULL),
                SANA_ERR_FORMAT, "rope_theta");
    expect_fail("rope_theta inf (4.x key)",
                write_model("{" SIZES ", \"num_hidden_layers\": 1, \"rope_theta\": 1e999}", "", 1, NULL, NULL, NULL),
                SANA_ERR_FORMAT, "rope_theta");
    expect_fail("missing tensor", write_model(cfg5, "", 1, "layers.0.mlp.up_proj.weight", NULL, NULL), SANA_ERR_NOT_FOUND,
                "layers.0.mlp.up_proj.weight");
    expect_fail("wrong shape", write_model(cfg5, "", 1, NULL, "layers.0.self_attn.q_proj.weight", NULL), SANA_ERR_FORMAT,
                "layers.0.self_attn.q_proj.weight");
    expect_fail("embedding dtype I32", write_model(cfg5, "", 1, NULL, NULL, "I32"), SANA_ERR_FORMAT, "embed_tokens.weight");
    expect_fail("layers missing", write_model(cfg4, "model.", 1, NULL, NULL, NULL), SANA_ERR_NOT_FOUND, "layers.1.");
    const char *nocfg = tu_temp_dir();
    expect_fail("no config.json", nocfg, SANA_ERR_NOT_FOUND, "config.json");

    sn_backend_free(be);
    return tu_finish("test_gemma_load");
}
