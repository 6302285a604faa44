/* Gemma-2 (lib/encoder/gemma*) against transformers' Gemma2Model on the tiny fixture model
 * (bf16 shards on disk, sliding window 4 that bites, soft-cap 4, head_dim*heads != hidden,
 * query_pre_attn_scalar != head_dim): last_hidden_state for a padded batch of 2 and a long CHI
 * prompt, and every layer for one padded prompt. Tolerances are those index.json records. */
#include <stdlib.h>
#include <string.h>

#include "encoder/gemma.h"
#include "text_rows.h"

static sn_backend *be;
static sn_gemma *gm;

typedef struct layer_check {
    const tu_case *c;
    const int64_t *mask;
    int seen;
} layer_check;

static sana_status check_layer(int32_t layer, sn_tensor *x, void *user) {
    layer_check *lc = user;
    char name[32];
    if (layer < 0) snprintf(name, sizeof name, "embed");
    else snprintf(name, sizeof name, "layer.%d", layer);
    tu_tensor ref;
    size_t n = (size_t)sn_numel(x), H = (size_t)x->shape[2];
    if (tu_golden(lc->c, name, &ref) == 0 && ref.f && ref.n == n) {
        float *got = malloc(n * sizeof(float));
        CHECK_OK(sn_download_f32(x, got));
        tr_check_rows(name, got, ref.f, lc->mask, n / H, H, tu_case_tol(lc->c, name), 1);
        free(got);
    } else {
        CHECK(0, "%s: golden missing or %zu values for %zu", name, ref.n, n);
    }
    tu_tensor_free(&ref);
    lc->seen++;
    return SANA_OK;
}

static void run_case(const char *name, int per_layer) {
    const tu_case *c = tu_case_require(name);
    tu_tensor ids_t, mask_t, ref;
    if (tu_golden(c, "input_ids", &ids_t) || tu_golden(c, "attention_mask", &mask_t) ||
        tu_golden(c, "last_hidden_state", &ref) || ids_t.ndim != 2 || !ids_t.i || !mask_t.i)
        return;
    int64_t B = ids_t.shape[0], L = ids_t.shape[1], H = sn_gemma_get_config(gm)->hidden_size;
    int32_t *ids = malloc((size_t)(B * L) * 4), *mask = malloc((size_t)(B * L) * 4);
    for (int64_t i = 0; i < B * L; i++) ids[i] = (int32_t)ids_t.i[i], mask[i] = (int32_t)mask_t.i[i];
    sn_tensor out;
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 3, SN_SHAPE(B, L, H), &out));
    layer_check lc = {c, mask_t.i, 0};
    printf("%s: B %lld, L %lld\n", name, (long long)B, (long long)L);
    CHECK_OK(sn_gemma_forward(gm, ids, mask, B, L, &out, per_layer ? check_layer : NULL, &lc));
    if (per_layer) CHECK(lc.seen == 1 + sn_gemma_get_config(gm)->n_layers, "hook saw %d results", lc.seen);
    CHECK(ref.n == (size_t)(B * L * H), "golden has %zu values", ref.n);
    if (ref.n == (size_t)(B * L * H))
        tr_check_rows("last_hidden_state", out.data, ref.f, mask_t.i, (size_t)(B * L), (size_t)H,
                      tu_case_tol(c, "last_hidden_state"), 1);
    sn_tensor_free(&out);
    free(ids), free(mask);
    tu_tensor_free(&ids_t), tu_tensor_free(&mask_t), tu_tensor_free(&ref);
}

int main(void) {
    const tu_case *c = tu_case_require("text_encoder/batch2_padded");
    CHECK_OK(sn_backend_cpu_create(0, &be));
    CHECK_OK(sn_gemma_load(be, tu_case_model_dir(c), NULL, &gm));
    if (!gm) return tu_finish("test_gemma");
    const sn_gemma_config *k = sn_gemma_get_config(gm);
    /* the config as the fixture declares it (transformers 5.24: rope_parameters, layer_types) */
    CHECK(k->hidden_size == 16 && k->head_dim == 6 && k->n_heads == 4 && k->n_kv_heads == 2, "config sizes");
    CHECK(k->sliding_window == 4 && k->layer_sliding[0] && !k->layer_sliding[1] && k->layer_sliding[2],
          "layer_types: sliding, full, sliding");
    CHECK(k->attn_softcap == 4.0f && k->query_pre_attn_scalar == 10.0f && k->rope_theta == 10000.0f, "attention config");
    CHECK(sn_gemma_param_count(gm) == 256000LL * 16 + 16 + 3LL * (4 * 16 + 24 * 16 * 2 + 12 * 16 * 2 + 3 * 32 * 16),
          "param count %lld", (long long)sn_gemma_param_count(gm));

    run_case("text_encoder/batch2_padded", 0);
    run_case("text_encoder/chi_prompt", 0);
    run_case("text_encoder/padded_all_layers", 1);

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
    return tu_finish("test_gemma");
}
