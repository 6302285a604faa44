/* Gemma-2 loading: config.json with the reference's defaults, then the weights. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoder/gemma_internal.h"
#include "encoder/prompt.h"
#include "io/config.h"

/* Present and null ("sliding_window": null) means "off"; absent means the reference default. */
static int sn_json_is_null(const sn_config *c, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(sn_config_json(c), key);
    return v && cJSON_IsNull(v);
}

static sana_status sn_gemma_read_config(sn_gemma *g, const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    sn_config *c = NULL;
    SN_TRY(sn_config_load(path, &c));
    sn_gemma_config *k = &g->cfg;
    int64_t v;
    double d;
    const char *s;
    sana_status st = SANA_OK;
    /* sizes go into int32 fields (and products of them into int64): a value past 2^31 must be
     * refused, not wrapped (4294967297 layers would otherwise load as 1) */
#define SN_GET_INT(key, def, dst)                                                                  \
    if (st == SANA_OK && (st = sn_config_int(c, key, def, &v)) == SANA_OK) {                       \
        if (v < 0 || v > INT32_MAX)                                                                \
            st = sn_fail(SANA_ERR_FORMAT, "%s: key \"%s\" = %lld is out of range (0..%d)", path,   \
                         key, (long long)v, INT32_MAX);                                            \
        else                                                                                       \
            dst = v;                                                                               \
    }
#define SN_GET_FLOAT(key, def, dst) \
    if (st == SANA_OK && (st = sn_config_finite(c, key, def, &d)) == SANA_OK) dst = (float)d
    /* defaults: transformers' Gemma2Config, which are gemma-2-2b's values */
    if ((st = sn_config_string(c, "model_type", "gemma2", &s)) == SANA_OK && strcmp(s, "gemma2") != 0)
        st = sn_fail(SANA_ERR_UNSUPPORTED, "%s: model_type \"%s\"; the text encoder must be gemma2", path, s);
    SN_GET_INT("vocab_size", 256000, k->vocab_size);
    SN_GET_INT("hidden_size", 2304, k->hidden_size);
    SN_GET_INT("intermediate_size", 9216, k->intermediate_size);
    SN_GET_INT("num_hidden_layers", 26, k->n_layers);
    SN_GET_INT("num_attention_heads", 8, k->n_heads);
    SN_GET_INT("num_key_value_heads", 4, k->n_kv_heads);
    SN_GET_INT("head_dim", 256, k->head_dim);
    SN_GET_FLOAT("query_pre_attn_scalar", 256, k->query_pre_attn_scalar);
    SN_GET_FLOAT("rms_norm_eps", 1e-6, k->rms_norm_eps);
    if (sn_json_is_null(c, "attn_logit_softcapping")) k->attn_softcap = 0;
    else SN_GET_FLOAT("attn_logit_softcapping", 50.0, k->attn_softcap);
    if (sn_json_is_null(c, "sliding_window")) k->sliding_window = 0;
    else SN_GET_INT("sliding_window", 4096, k->sliding_window);
    /* rope: transformers 5 writes rope_parameters {rope_type, rope_theta}; older files rope_theta */
    k->rope_theta = 10000.0f;
    const cJSON *rp = cJSON_GetObjectItemCaseSensitive(sn_config_json(c), "rope_parameters");
    if (st == SANA_OK && cJSON_IsObject(rp)) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(rp, "rope_theta");
        const cJSON *ty = cJSON_GetObjectItemCaseSensitive(rp, "rope_type");
        if (cJSON_IsNumber(t)) k->rope_theta = (float)t->valuedouble;
        if (ty && (!cJSON_IsString(ty) || strcmp(ty->valuestring, "default") != 0))
            st = sn_fail(SANA_ERR_UNSUPPORTED, "%s: rope_parameters.rope_type is not \"default\"", path);
    } else {
        SN_GET_FLOAT("rope_theta", 10000.0, k->rope_theta);
    }
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(sn_config_json(c), "rope_scaling");
    if (st == SANA_OK && rs && !cJSON_IsNull(rs))
        st = sn_fail(SANA_ERR_UNSUPPORTED, "%s: rope_scaling is not supported", path);
    int bidir = 0;
    if (st == SANA_OK && !sn_json_is_null(c, "use_bidirectional_attention") &&
        (st = sn_config_bool(c, "use_bidirectional_attention", 0, &bidir)) == SANA_OK && bidir)
        st = sn_fail(SANA_ERR_UNSUPPORTED, "%s: use_bidirectional_attention is not supported", path);
    const char *act = NULL;
    if (st == SANA_OK) st = sn_config_string(c, "hidden_act", "gelu_pytorch_tanh", &act);
    if (st == SANA_OK) st = sn_config_string(c, "hidden_activation", act, &act);
    if (st == SANA_OK) {
        if (!strcmp(act, "gelu_pytorch_tanh") || !strcmp(act, "gelu_new")) k->act = SN_ACT_GELU_TANH;
        else if (!strcmp(act, "gelu")) k->act = SN_ACT_GELU;
        else st = sn_fail(SANA_ERR_UNSUPPORTED, "%s: hidden_activation \"%s\" is not supported", path, act);
    }
    /* the float keys as the forward reads them (float): finite and in range, since a NaN scale or
     * a zero/negative rope_theta loads and then gives NaN embeddings */
    const char *bad = !(isfinite(k->query_pre_attn_scalar) && k->query_pre_attn_scalar > 0)
                          ? "query_pre_attn_scalar (> 0)"
                      : !(isfinite(k->rms_norm_eps) && k->rms_norm_eps >= 0) ? "rms_norm_eps (>= 0)"
                      : !(isfinite(k->attn_softcap) && k->attn_softcap >= 0)
                          ? "attn_logit_softcapping (>= 0 or null)"
                      : !(isfinite(k->rope_theta) && k->rope_theta > 0) ? "rope_theta (> 0)"
                                                                        : NULL;
    if (st == SANA_OK && bad)
        st = sn_fail(SANA_ERR_FORMAT, "%s: key %s is out of range or not a finite float", path, bad);
    if (st == SANA_OK &&
        (k->vocab_size < 1 || k->hidden_size < 1 || k->intermediate_size < 1 || k->n_layers < 1 ||
         k->n_heads < 1 || k->n_kv_heads < 1 || k->n_heads % k->n_kv_heads || k->head_dim < 2 ||
         k->head_dim % 2 || k->query_pre_attn_scalar <= 0 || k->n_layers > 4096))
        st = sn_fail(SANA_ERR_FORMAT, "%s: inconsistent sizes (layers %d, heads %d/%d, head_dim %lld)",
                     path, k->n_layers, k->n_heads, k->n_kv_heads, (long long)k->head_dim);
    /* which layers slide: layer_types when given, else the reference's rule (even layers) */
    if (st == SANA_OK) {
        g->layer_sliding = calloc((size_t)k->n_layers, 1);
        const char **types = calloc((size_t)k->n_layers + 1, sizeof *types);
        int32_t nt = 0;
        if (!g->layer_sliding || !types) st = sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
        if (st == SANA_OK) st = sn_config_string_array(c, "layer_types", types, k->n_layers + 1, &nt);
        if (st == SANA_OK && nt && nt != k->n_layers)
            st = sn_fail(SANA_ERR_FORMAT, "%s: layer_types has %d entries for %d layers", path, nt, k->n_layers);
        for (int32_t i = 0; st == SANA_OK && i < k->n_layers; i++) {
            if (!nt) g->layer_sliding[i] = (uint8_t)((i + 1) % 2);
            else if (!strcmp(types[i], "sliding_attention")) g->layer_sliding[i] = 1;
            else if (strcmp(types[i], "full_attention") != 0)
                st = sn_fail(SANA_ERR_UNSUPPORTED, "%s: layer_types[%d] is \"%s\"", path, i, types[i]);
        }
        free(types);
        k->layer_sliding = g->layer_sliding;
    }
#undef SN_GET_INT
#undef SN_GET_FLOAT
    sn_config_free(c);
    return st;
}

static sana_status sn_gemma_load_weights(sn_gemma *g) {
    const sn_gemma_config *k = &g->cfg;
    sn_weights *w = g->weights;
    sn_backend *be = g->be;
    /* diffusers' SANA repos save a bare Gemma2Model (no prefix); Gemma2ForCausalLM has "model." */
    const char *pre = sn_weights_find(w, "embed_tokens.weight") ? "" : "model.";
    char name[256];
    snprintf(name, sizeof name, "%sembed_tokens.weight", pre);
    SN_TRY(sn_weights_get(w, name, 2, SN_SHAPE(k->vocab_size, k->hidden_size), &g->embed));
    if (g->embed->dtype != SN_F32 && g->embed->dtype != SN_F16 && g->embed->dtype != SN_BF16)
        return sn_fail(SANA_ERR_FORMAT, "%s: tensor '%s' has dtype %s; expected F32, F16 or BF16",
                       g->embed->file, name, sn_dtype_name(g->embed->dtype));
    int64_t H = k->hidden_size, I = k->intermediate_size;
    int64_t QD = k->n_heads * k->head_dim, KD = k->n_kv_heads * k->head_dim;
    g->layers = calloc((size_t)k->n_layers, sizeof *g->layers);
    if (!g->layers) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "gemma: out of memory");
    for (int32_t i = 0; i < k->n_layers; i++) {
        sn_gemma_layer *l = &g->layers[i];
        const char *L = "layers";
        SN_TRY(sn_weights_loadf(w, be, 1, SN_SHAPE(H), &l->input_norm, "%s%s.%d.input_layernorm.weight", pre, L, i));
        SN_TRY(sn_weights_loadf(w, be, 1, SN_SHAPE(H), &l->post_attn_norm, "%s%s.%d.post_attention_layernorm.weight", pre, L, i));
        SN_TRY(sn_weights_loadf(w, be, 1, SN_SHAPE(H), &l->pre_ff_norm, "%s%s.%d.pre_feedforward_layernorm.weight", pre, L, i));
        SN_TRY(sn_weights_loadf(w, be, 1, SN_SHAPE(H), &l->post_ff_norm, "%s%s.%d.post_feedforward_layernorm.weight", pre, L, i));
        SN_TRY(sn_weights_mapf(w, be, 2, SN_SHAPE(QD, H), &l->q, "%s%s.%d.self_attn.q_proj.weight", pre, L, i));
        SN_TRY(sn_weights_mapf(w, be, 2, SN_SHAPE(KD, H), &l->k, "%s%s.%d.self_attn.k_proj.weight", pre, L, i));
        SN_TRY(sn_weights_mapf(w, be, 2, SN_SHAPE(KD, H), &l->v, "%s%s.%d.self_attn.v_proj.weight", pre, L, i));
        SN_TRY(sn_weights_mapf(w, be, 2, SN_SHAPE(H, QD), &l->o, "%s%s.%d.self_attn.o_proj.weight", pre, L, i));
        SN_TRY(sn_weights_mapf(w, be, 2, SN_SHAPE(I, H), &l->gate, "%s%s.%d.mlp.gate_proj.weight", pre, L, i));
        SN_TRY(sn_weights_mapf(w, be, 2, SN_SHAPE(I, H), &l->up, "%s%s.%d.mlp.up_proj.weight", pre, L, i));
        SN_TRY(sn_weights_mapf(w, be, 2, SN_SHAPE(H, I), &l->down, "%s%s.%d.mlp.down_proj.weight", pre, L, i));
    }
    SN_TRY(sn_weights_loadf(w, be, 1, SN_SHAPE(H), &g->final_norm, "%snorm.weight", pre));
    /* the parameters of Gemma2Model (an lm_head, if the file has one, is not ours) */
    g->param_count = k->vocab_size * H + H +
                     (int64_t)k->n_layers * (4 * H + QD * H * 2 + KD * H * 2 + 3 * I * H);
    return SANA_OK;
}

sana_status sn_gemma_load(sn_backend *be, const char *dir, const char *variant, sn_gemma **out) {
    static atomic_uint_fast64_t serial_counter = 1;
    *out = NULL;
    sn_gemma *g = calloc(1, sizeof *g);
    if (!g) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory", dir);
    g->be = be;
    g->serial = atomic_fetch_add(&serial_counter, 1);
    g->dir = strdup(dir);
    sana_status st = g->dir ? SANA_OK : sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory", dir);
    if (st == SANA_OK) st = sn_gemma_read_config(g, dir);
    if (st == SANA_OK) st = sn_weights_open(dir, variant, &g->weights);
    if (st == SANA_OK) st = sn_gemma_load_weights(g);
    if (st == SANA_OK) st = sn_prompt_cache_create(&g->uncond_cache);
    if (st != SANA_OK) {
        sn_gemma_free(g);
        return sn_fail_prefix(st, "loading the text encoder: ");
    }
    *out = g;
    return SANA_OK;
}

void sn_gemma_free(sn_gemma *g) {
    if (!g) return;
    if (g->layers) {
        for (int32_t i = 0; i < g->cfg.n_layers; i++) {
            sn_gemma_layer *l = &g->layers[i];
            sn_tensor *ts[] = {&l->input_norm, &l->post_attn_norm, &l->pre_ff_norm, &l->post_ff_norm,
                               &l->q, &l->k, &l->v, &l->o, &l->gate, &l->up, &l->down};
            for (size_t j = 0; j < sizeof ts / sizeof ts[0]; j++) sn_tensor_free(ts[j]);
        }
        free(g->layers);
    }
    sn_prompt_cache_free(g->uncond_cache); /* its tensors are on g->be: before anything else goes */
    sn_tensor_free(&g->final_norm);
    sn_weights_close(g->weights);
    free(g->layer_sliding);
    free(g->dir);
    free(g);
}

int64_t sn_gemma_param_count(const sn_gemma *g) { return g ? g->param_count : 0; }
const sn_gemma_config *sn_gemma_get_config(const sn_gemma *g) { return &g->cfg; }
sn_backend *sn_gemma_backend(const sn_gemma *g) { return sn_backend_for_call(g->be); }
uint64_t sn_gemma_serial(const sn_gemma *g) { return g->serial; }
struct sn_prompt_cache *sn_gemma_uncond_cache(const sn_gemma *g) { return g->uncond_cache; }
