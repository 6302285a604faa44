/* The cross-attention attends only the caption rows [0, R) that some entry of the batch admits
 * (lib/dit/dit_text.c): R = 1 + the last key any row of the mask keeps, all T without a mask or
 * when a row keeps none. The dropped keys had weight exactly 0, so the trimmed forward must equal
 * the untrimmed one (sn_dit_set_key_trim(dit, 0), the code before the trim) up to summation
 * order: relative error (max |diff| / max |ref|) <= 5e-6, about 40 fp32 ulps of the largest
 * output (measured up to 1.4e-6 over 9 seeds: the caption GEMMs and the attention run over R
 * rows instead of T, another summation order; the oracle's own fp32-vs-fp64 error on these
 * outputs is ~1e-6).
 * Batches as the pipeline makes them: a short prompt, CFG [uncond "", cond] (different lengths),
 * NVlabs' CFG (the uncond rows carry the positive prompt's mask), PAG [uncond, cond, perturbed],
 * two prompts with CFG, Sprint (no CFG, guidance), plus a mask with a hole, no mask, and a row
 * that keeps no key. Every embedding row, pads included, is random and non-zero (exact_padding /
 * NVlabs pads), so a key wrongly dropped changes the output: the test also checks that dropping
 * the last kept key moves it by far more than the tolerance. */
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "dit/dit.h"
#include "harness.h"

#define T 300 /* max_sequence_length, as the pipeline passes it */
#define TOL 5e-6

static sn_backend *be;

typedef struct kcase {
    const char *name;
    int32_t B;
    int32_t keep[4];   /* per entry: keys [0, keep) admitted; -1: no mask at all */
    int32_t hole;      /* > 0: entry 0 also drops key `hole` (a mask that is not a prefix) */
    int32_t R;         /* expected sn_dit_text_keys */
    int32_t pag_from;  /* > 0: PAG perturbs entries [pag_from, B) in block 1 */
} kcase;

static void fill_mask(const kcase *k, float *mask) {
    for (int32_t b = 0; b < k->B; b++)
        for (int32_t j = 0; j < T; j++) mask[b * T + j] = j < k->keep[b] ? 1.0f : 0.0f;
    if (k->hole > 0) mask[k->hole] = 0.0f;
}

/* out (host, B*32*H*W floats) of the forward on a text prepared with trimming on or off. */
static sana_status run(sn_dit *dit, int trim, const sn_tensor *emb, const float *mask,
                       const sn_tensor *lat, const float *t, const float *g, const sn_dit_pag *pag,
                       sn_tensor *out, float *host, int32_t *keys) {
    sn_dit_set_key_trim(dit, trim);
    sn_dit_text *text = NULL;
    sana_status st = sn_dit_prepare_text(dit, emb, mask, &text);
    if (st == SANA_OK) {
        *keys = sn_dit_text_keys(text);
        st = sn_dit_forward(dit, text, lat, t, g, pag, out);
    }
    if (st == SANA_OK) st = sn_download_f32(out, host);
    sn_dit_text_free(text);
    sn_dit_set_key_trim(dit, 1);
    return st;
}

static void noop_probe(void *user, const char *name, const sn_tensor *t) { (void)user, (void)name, (void)t; }

static void run_case(sn_dit *dit, const char *model, const kcase *k, uint64_t seed) {
    const int64_t B = k->B, C = sn_dit_caption_channels(dit), H = 4, W = 6, Cin = sn_dit_in_channels(dit);
    const int sprint = sn_dit_guidance_embeds(dit);
    sn_tensor emb, lat, out;
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 3, SN_SHAPE(B, T, C), &emb));
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(B, Cin, H, W), &lat));
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(B, Cin, H, W), &out));
    tu_fill_random(emb.data, (size_t)sn_numel(&emb), seed);
    tu_fill_random(lat.data, (size_t)sn_numel(&lat), seed + 1);
    float mask[4 * T], t[4], g[4];
    fill_mask(k, mask);
    const float *m = k->keep[0] < 0 ? NULL : mask;
    for (int b = 0; b < B; b++) t[b] = sprint ? 0.3f + 0.1f * (float)b : 900.0f - 100.0f * (float)b, g[b] = 0.45f;
    const int32_t pag_block = 1;
    const sn_dit_pag pag = {&pag_block, 1, k->pag_from};
    const sn_dit_pag *pp = k->pag_from > 0 ? &pag : NULL;
    const size_t n = (size_t)sn_numel(&out);
    float *full = malloc(n * sizeof(float)), *trim = malloc(n * sizeof(float));
    int32_t keys_full = 0, keys_trim = 0;

    CHECK_OK(run(dit, 0, &emb, m, &lat, t, sprint ? g : NULL, pp, &out, full, &keys_full));
    CHECK_OK(run(dit, 1, &emb, m, &lat, t, sprint ? g : NULL, pp, &out, trim, &keys_trim));
    CHECK(keys_full == T, "%s %s: untrimmed text attends %d keys, expected %d", model, k->name, keys_full, T);
    CHECK(keys_trim == k->R, "%s %s: R = %d, expected %d", model, k->name, keys_trim, k->R);
    char what[160];
    snprintf(what, sizeof what, "%s %s: trimmed (R %d) vs all %d keys", model, k->name, keys_trim, T);
    tu_check_close(what, trim, full, n, TOL);

    /* with a probe attached the caption path runs over all T rows (the oracle records them),
     * the K/V over R: the same output */
    sn_dit_set_probe(dit, noop_probe, NULL);
    float *probed = malloc(n * sizeof(float));
    int32_t keys_probed = 0;
    CHECK_OK(run(dit, 1, &emb, m, &lat, t, sprint ? g : NULL, pp, &out, probed, &keys_probed));
    sn_dit_set_probe(dit, NULL, NULL);
    CHECK(keys_probed == k->R, "%s %s: R with a probe = %d", model, k->name, keys_probed);
    snprintf(what, sizeof what, "%s %s: trimmed with a probe", model, k->name);
    tu_check_close(what, probed, full, n, TOL);

    /* the comparison can fail: without the last kept key of the longest row the output moves by
     * far more than TOL (a trim one key short would be caught) */
    if (m && k->R < T) {
        for (int32_t b = 0; b < k->B; b++) mask[b * T + k->R - 1] = 0.0f;
        CHECK_OK(run(dit, 0, &emb, mask, &lat, t, sprint ? g : NULL, pp, &out, probed, &keys_full));
        double e = tu_rel_err(probed, full, n);
        CHECK(e > 1e3 * TOL, "%s %s: dropping key %d changes the output by only %.3g", model, k->name,
              k->R - 1, e);
    }
    free(full), free(trim), free(probed);
    sn_tensor_free(&emb), sn_tensor_free(&lat), sn_tensor_free(&out);
}

static void model_cases(const char *model, const kcase *cases, int n) {
    sn_dit *dit = NULL;
    CHECK_OK(sn_dit_load(be, tu_path(tu_fixtures_dir(), model), NULL, &dit));
    if (!dit) return;
    for (int i = 0; i < n; i++) {
        int before = tu_failures;
        run_case(dit, model, &cases[i], 100 + (uint64_t)i);
        fprintf(stderr, "%s %s %s\n", tu_failures == before ? "ok  " : "FAIL", model, cases[i].name);
    }
    sn_dit_free(dit);
}

int main(void) {
    CHECK_OK(sn_backend_cpu_create(0, &be));
    if (!be) return tu_finish("test_dit_keys");
    /* base model (no qk-norm); CFG is [uncond, cond] */
    static const kcase sana[] = {
        {"short prompt", 1, {7}, 0, 7, 0},
        {"CFG, diffusers (uncond \"\" keeps <bos>)", 2, {1, 12}, 0, 12, 0},
        {"CFG, NVlabs (uncond with the prompt's mask)", 2, {12, 12}, 0, 12, 0},
        {"CFG + PAG [uncond, cond, perturbed]", 3, {1, 12, 12}, 0, 12, 2},
        {"PAG without CFG [cond, perturbed]", 2, {9, 9}, 0, 9, 1},
        {"two prompts with CFG", 4, {1, 1, 5, 20}, 0, 20, 0},
        {"a mask with a hole", 1, {10}, 4, 10, 0},
        {"a full-length prompt", 2, {1, T}, 0, T, 0},
        {"no mask", 2, {-1, -1}, 0, T, 0},
        {"an entry that keeps no key", 2, {0, 5}, 0, T, 0},
    };
    model_cases("sana_tiny/transformer", sana, (int)(sizeof sana / sizeof sana[0]));
    /* Sprint: qk-norm on the cached K, guidance embedding, no CFG */
    static const kcase sprint[] = {
        {"batch 2", 2, {3, 16}, 0, 16, 0},
        {"short prompt", 1, {2}, 0, 2, 0},
    };
    model_cases("sprint_tiny/transformer", sprint, (int)(sizeof sprint / sizeof sprint[0]));
    sn_backend_free(be);
    return tu_finish("test_dit_keys");
}
