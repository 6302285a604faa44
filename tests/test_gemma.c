/* Gemma-2 (lib/encoder/gemma*) against transformers' Gemma2Model on the tiny fixture model
 * (bf16 shards on disk, sliding window 4 that bites, soft-cap 4, head_dim*heads != hidden,
 * query_pre_attn_scalar != head_dim): last_hidden_state for a padded batch of 2 and a long CHI
 * prompt, and every layer for one padded prompt. Tolerances are those index.json records. */
#include <stdlib.h>
#include <string.h>

#include "encoder/gemma.h"
#include "text_golden.h"

static sn_backend *be;
static sn_gemma *gm;

typedef struct layer_check {
    const sn_safetensors *st;
    const cJSON *c;
    int seen;
} layer_check;

static sana_status check_layer(int32_t layer, const sn_tensor *x, void *user) {
    layer_check *lc = user;
    char name[32];
    if (layer < 0) snprintf(name, sizeof name, "embed");
    else snprintf(name, sizeof name, "layer.%d", layer);
    size_t n = 0;
    float *ref = tg_floats(lc->st, name, &n);
    CHECK(ref && n == (size_t)sn_numel(x), "%s: %zu golden values for %lld", name, n, (long long)sn_numel(x));
    if (ref && n == (size_t)sn_numel(x)) {
        float *got = malloc(n * sizeof(float));
        CHECK_OK(sn_download_f32(x, got));
        double tol = tg_tolerance(lc->c, name);
        printf("  %-8s rel err %.3g (tol %.3g)\n", name, tu_rel_err(got, ref, n), tol);
        tu_check_close(name, got, ref, n, tol);
        free(got);
    }
    free(ref);
    lc->seen++;
    return SANA_OK;
}

static void run_case(const sn_config *idx, const char *name, int per_layer) {
    const cJSON *c = tg_case(idx, name);
    sn_safetensors *st = c ? tg_open(c) : NULL;
    if (!st) return;
    const sn_st_tensor *ids_t = tg_tensor(st, "input_ids");
    if (!ids_t || ids_t->ndim != 2) {
        sn_safetensors_close(st);
        return;
    }
    int64_t B = ids_t->shape[0], L = ids_t->shape[1], H = sn_gemma_get_config(gm)->hidden_size;
    int32_t *ids = tg_ints(st, "input_ids", NULL), *mask = tg_ints(st, "attention_mask", NULL);
    size_t n = 0;
    float *ref = tg_floats(st, "last_hidden_state", &n);
    sn_tensor out;
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 3, SN_SHAPE(B, L, H), &out));
    layer_check lc = {st, c, 0};
    printf("%s: B %lld, L %lld\n", name, (long long)B, (long long)L);
    CHECK_OK(sn_gemma_forward(gm, ids, mask, B, L, &out, per_layer ? check_layer : NULL, &lc));
    if (per_layer) CHECK(lc.seen == 1 + sn_gemma_get_config(gm)->n_layers, "hook saw %d results", lc.seen);
    CHECK(n == (size_t)(B * L * H), "golden has %zu values", n);
    if (n == (size_t)(B * L * H)) {
        double tol = tg_tolerance(c, "last_hidden_state");
        printf("  last_hidden_state rel err %.3g (tol %.3g)\n", tu_rel_err(out.data, ref, n), tol);
        tu_check_close(name, out.data, ref, n, tol);
    }
    sn_tensor_free(&out);
    free(ids), free(mask), free(ref);
    sn_safetensors_close(st);
}

int main(void) {
    sn_config *idx = tg_index();
    CHECK_OK(sn_backend_cpu_create(0, &be));
    const char *dir = tu_path(tu_fixtures_dir(), "sana_tiny/text_encoder");
    CHECK_OK(sn_gemma_load(be, dir, NULL, &gm));
    if (!gm) return tu_finish("test_gemma");
    const sn_gemma_config *k = sn_gemma_get_config(gm);
    /* the config as the fixture declares it */
    CHECK(k->hidden_size == 16 && k->head_dim == 6 && k->n_heads == 4 && k->n_kv_heads == 2, "config sizes");
    CHECK(k->sliding_window == 4 && k->layer_sliding[0] && !k->layer_sliding[1] && k->layer_sliding[2],
          "layer_types: sliding, full, sliding");
    CHECK(k->attn_softcap == 4.0f && k->query_pre_attn_scalar == 10.0f && k->rope_theta == 10000.0f, "attention config");
    CHECK(sn_gemma_param_count(gm) == 256000LL * 16 + 16 + 3LL * (4 * 16 + 24 * 16 * 2 + 12 * 16 * 2 + 3 * 32 * 16),
          "param count %lld", (long long)sn_gemma_param_count(gm));

    run_case(idx, "text_encoder/batch2_padded", 0);
    run_case(idx, "text_encoder/chi_prompt", 0);
    run_case(idx, "text_encoder/padded_all_layers", 1);

    /* an id outside the vocabulary is refused, not read out of bounds */
    sn_tensor out;
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 3, SN_SHAPE(1, 2, k->hidden_size), &out));
    int32_t bad[2] = {2, 256000};
    CHECK_STATUS(sn_gemma_forward(gm, bad, NULL, 1, 2, &out, NULL, NULL), SANA_ERR_INVALID_ARGUMENT);
    sn_tensor_free(&out);

    /* a missing folder names itself */
    sn_gemma *none = NULL;
    CHECK(sn_gemma_load(be, "/nonexistent/text_encoder", NULL, &none) != SANA_OK && !none, "loaded a missing folder");
    CHECK(strstr(tu_last_error(), "/nonexistent/text_encoder") != NULL, "error text: %s", tu_last_error());

    sn_gemma_free(gm);
    sn_backend_free(be);
    sn_config_free(idx);
    return tu_finish("test_gemma");
}
