/* SANA prompt conditioning (lib/encoder/prompt*) against diffusers' SanaPipeline.encode_prompt
 * on the tiny fixture pipeline: embeddings and masks with and without the complex human
 * instruction, a batch of 2 (with Cyrillic upper case to lower), an over-long prompt (truncated),
 * a prompt starting with a digit; negative prompt "" from the cache. Plus truncation, empty
 * prompts, and the NVlabs mode. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "encoder/prompt.h"
#include "text_rows.h"

static sn_backend *be;
static sn_tokenizer *tok;
static sn_gemma *gm;
static sn_prompt_cache *cache;

static float *download(const sn_tensor *t) {
    float *h = malloc((size_t)sn_numel(t) * sizeof(float));
    CHECK_OK(sn_download_f32(t, h));
    return h;
}

/* Embeddings are compared on their mask rows, then on their pad rows (against the golden with
 * exact padding, else they must be zero); masks exactly. */
static void compare(const tu_case *c, const char *name, const char *mask_name, const sn_tensor *t, int exact) {
    tu_tensor ref, m;
    memset(&m, 0, sizeof m);
    if (tu_golden(c, name, &ref) == 0 && (!mask_name || tu_golden(c, mask_name, &m) == 0)) {
        float *got = download(t);
        size_t n = (size_t)sn_numel(t), H = (size_t)t->shape[t->ndim - 1];
        float *rf = ref.f;
        if (!rf && ref.i) { /* an int64 mask */
            rf = malloc(ref.n * sizeof(float));
            for (size_t i = 0; i < ref.n; i++) rf[i] = (float)ref.i[i];
        }
        CHECK(ref.n == n, "%s: %zu golden values for %zu", name, ref.n, n);
        if (ref.n == n && mask_name) tr_check_rows(name, got, rf, m.i, n / H, H, tu_case_tol(c, name), exact);
        else if (ref.n == n) {
            printf("  %-31s rel err %.3g (tol %.3g)\n", name, tu_rel_err(got, rf, n), tu_case_tol(c, name));
            tu_check_close(name, got, rf, n, tu_case_tol(c, name));
        }
        if (rf != ref.f) free(rf);
        free(got);
    }
    tu_tensor_free(&ref), tu_tensor_free(&m);
}

static void run_case(const char *name) {
    const tu_case *c = tu_case_require(name);
    const cJSON *params = cJSON_GetObjectItemCaseSensitive((const cJSON *)c->json, "params");
    const cJSON *chi = cJSON_GetObjectItemCaseSensitive(params, "chi_text");
    const cJSON *inputs = cJSON_GetObjectItemCaseSensitive((const cJSON *)c->json, "inputs");
    sn_prompt_params p;
    sn_prompt_params_default(&p);
    p.complex_human_instruction = cJSON_IsString(chi);
    if (p.complex_human_instruction)
        CHECK(!strcmp(chi->valuestring, sn_chi_diffusers), "%s: the reference's CHI differs from sn_chi_diffusers", name);
    int32_t n = cJSON_GetArraySize(inputs);
    tu_tensor text[4];
    const char *prompts[4] = {0};
    memset(text, 0, sizeof text);
    for (int32_t i = 0; i < n && i < 4; i++) {
        tu_golden(c, cJSON_GetArrayItem(inputs, i)->valuestring, &text[i]);
        prompts[i] = text[i].text ? text[i].text : "";
    }
    /* exact padding first (every row against the golden), then the default: the mask rows within
     * 1e-6 of it (attention is causal and the run only stops earlier; the same sums, some in
     * another order where a vector loop over the keys ends elsewhere) */
    float *exact_out[2] = {NULL, NULL};
    for (int exact = 1; exact >= 0; exact--) {
        p.exact_padding = exact;
        printf("%s: %d prompt(s), chi %d, exact padding %d\n", name, n, p.complex_human_instruction, exact);
        sn_tensor ce, cm, ue, um;
        CHECK_OK(sn_prompt_encode_cfg(cache, tok, gm, prompts, n, "", &p, &ce, &cm, &ue, &um));
        if (!ce.data) continue;
        compare(c, "prompt_embeds", "prompt_attention_mask", &ce, exact);
        compare(c, "prompt_attention_mask", NULL, &cm, exact);
        compare(c, "negative_prompt_embeds", "negative_prompt_attention_mask", &ue, exact);
        compare(c, "negative_prompt_attention_mask", NULL, &um, exact);
        const sn_tensor *embs[2] = {&ce, &ue}, *masks[2] = {&cm, &um};
        for (int k = 0; k < 2; k++) {
            float *e = download(embs[k]), *m = download(masks[k]);
            int64_t rows = sn_numel(masks[k]), H = embs[k]->shape[2];
            double worst = 0, scale = 0;
            for (int64_t r = 0; r < rows && !exact && exact_out[k]; r++)
                for (int64_t j = 0; j < H && m[r] != 0.0f; j++) {
                    worst = fmax(worst, fabs((double)e[r * H + j] - exact_out[k][r * H + j]));
                    scale = fmax(scale, fabs((double)exact_out[k][r * H + j]));
                }
            if (!exact) printf("  %s mask rows against the exact-padding run: max abs diff %.3g of max %.3g\n",
                               k ? "uncond" : "cond", worst, scale);
            CHECK(worst <= 1e-6 * scale, "%s: mask rows %.3g from the exact-padding run", k ? "uncond" : "cond", worst);
            if (exact) exact_out[k] = e;
            else free(e);
            free(m);
        }
        sn_tensor_free(&ce), sn_tensor_free(&cm), sn_tensor_free(&ue), sn_tensor_free(&um);
    }
    free(exact_out[0]), free(exact_out[1]);
    for (int32_t i = 0; i < n && i < 4; i++) tu_tensor_free(&text[i]);
}

/* Over-long prompts keep their head (truncation=True); empty prompts give <bos> (+ "▁" with CHI). */
static void test_truncation_and_empty(void) {
    sn_prompt_params p;
    sn_prompt_params_default(&p);
    p.complex_human_instruction = 0;
    p.max_sequence_length = 8;
    const char *long_prompt[1] = {"one two three four five six seven eight nine ten eleven twelve"};
    int32_t *ids = NULL, *mask = NULL, *full = NULL;
    int64_t M = 0;
    size_t nfull = 0;
    CHECK_OK(sn_prompt_tokenize(tok, long_prompt, 1, &p, 0, &ids, &mask, &M));
    CHECK_OK(sn_tokenizer_encode(tok, long_prompt[0], strlen(long_prompt[0]), 1, &full, &nfull));
    CHECK(M == 8 && nfull > 8, "M %lld, %zu ids in full", (long long)M, nfull);
    int same = ids && full && nfull >= 8;
    for (int i = 0; same && i < 8; i++) same = ids[i] == full[i] && mask[i] == 1;
    CHECK(same, "truncation keeps the first max_length ids, <bos> included");
    free(ids), free(mask), free(full);

    /* empty prompt, with and without the instruction: finite rows, mask [1, (1,) 0...] */
    for (int with_chi = 0; with_chi < 2; with_chi++) {
        sn_prompt_params q;
        sn_prompt_params_default(&q);
        q.complex_human_instruction = with_chi;
        q.max_sequence_length = 300;
        const char *empty[1] = {""};
        sn_tensor e, m;
        CHECK_OK(sn_prompt_encode(tok, gm, empty, 1, &q, &e, &m));
        if (!e.data) continue;
        float *eh = download(&e), *mh = download(&m);
        int finite = 1;
        for (int64_t i = 0; i < sn_numel(&e); i++) finite &= isfinite(eh[i]) != 0;
        float msum = 0;
        for (int64_t i = 0; i < 300; i++) msum += mh[i];
        CHECK(finite, "empty prompt: non-finite embedding");
        CHECK(e.shape[0] == 1 && e.shape[1] == 300 && mh[0] == 1 && msum == 1 + with_chi,
              "empty prompt (chi %d): mask sum %g", with_chi, msum);
        free(eh), free(mh);
        sn_tensor_free(&e), sn_tensor_free(&m);
    }
}

/* NVlabs mode: no lower-casing, the uncond branch gets the positive mask, the "..." CHI. */
static void test_nvlabs(void) {
    sn_prompt_params p;
    sn_prompt_params_default(&p);
    p.nvlabs_compat = 1;
    CHECK(strstr(sn_chi_nvlabs, "\"Enhanced prompt\"") && strstr(sn_chi_diffusers, "'Enhanced prompt'") &&
              strlen(sn_chi_nvlabs) == strlen(sn_chi_diffusers),
          "the two instructions differ only in their quotes");
    int32_t *ids = NULL, *mask = NULL, *ids2 = NULL, *mask2 = NULL;
    int64_t M = 0, M2 = 0;
    const char *upper[1] = {"A CAT"}, *lower[1] = {"a cat"};
    p.complex_human_instruction = 0;
    CHECK_OK(sn_prompt_tokenize(tok, upper, 1, &p, 1, &ids, &mask, &M));
    CHECK_OK(sn_prompt_tokenize(tok, lower, 1, &p, 1, &ids2, &mask2, &M2));
    CHECK(ids && ids2 && M == M2 && memcmp(ids, ids2, (size_t)M * 4) != 0, "NVlabs mode lower-cased the prompt");
    free(ids), free(mask), free(ids2), free(mask2);

    /* prepare_prompt_ar: NVlabs cuts positive prompts at the first flag (a plain substring) and
     * strips; negatives, and every prompt in diffusers mode, keep the text */
    const char *cases[][2] = {{"a cat --ar 16:9", "a cat"},      {"  a cat --hw 512:768 --ar 1:2", "a cat"},
                              {"a cat--aspect_ratio 2:1", "a cat"}, {"a --art cat", "a"},
                              {"--ar 1:1", ""},                     {"a cat - ar", "a cat - ar"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int mode = 0; mode < 3; mode++) { /* NVlabs positive, NVlabs negative, diffusers positive */
            sn_prompt_params q = p, as_given = p; /* as_given: an NVlabs negative, taken as it is */
            q.nvlabs_compat = mode < 2;
            const char *in[1] = {cases[i][0]};
            CHECK_OK(sn_prompt_tokenize(tok, in, 1, &q, mode != 1, &ids, &mask, &M));
            char *trimmed = NULL; /* what each mode should have made of the text */
            const char *want = mode == 0 ? cases[i][1] : cases[i][0];
            CHECK_OK(sn_text_lower_strip(want, strlen(want), mode == 2, &trimmed));
            const char *w1[1] = {mode == 1 ? want : trimmed};
            CHECK_OK(sn_prompt_tokenize(tok, w1, 1, &as_given, 0, &ids2, &mask2, &M2));
            CHECK(ids && ids2 && M == M2 && !memcmp(ids, ids2, (size_t)M * 4), "\"%s\" (mode %d) is not \"%s\"",
                  cases[i][0], mode, w1[0]);
            free(trimmed), free(ids), free(mask), free(ids2), free(mask2);
        }
    }

    /* with the diffusers text as its instruction and an already lower-case prompt, NVlabs mode
     * gives diffusers' embedding; the uncond mask is then the positive one */
    const tu_case *c = tu_case_require("prompt/chi");
    p.complex_human_instruction = 1;
    p.chi = sn_chi_diffusers;
    const char *prompt[1] = {"a cat sitting on a windowsill"};
    sn_tensor ce, cm, ue, um;
    CHECK_OK(sn_prompt_encode_cfg(cache, tok, gm, prompt, 1, "", &p, &ce, &cm, &ue, &um));
    if (ce.data) {
        compare(c, "prompt_embeds", "prompt_attention_mask", &ce, 0);
        /* NVlabs' uncond branch attends the negative's pad rows: they are always exact */
        compare(c, "negative_prompt_embeds", "negative_prompt_attention_mask", &ue, 1);
        compare(c, "prompt_attention_mask", NULL, &um, 0); /* the positive mask, in the uncond slot */
        sn_tensor_free(&ce), sn_tensor_free(&cm), sn_tensor_free(&ue), sn_tensor_free(&um);
    }
}

int main(void) {
    tu_case_require("prompt/no_chi");
    CHECK_OK(sn_backend_cpu_create(0, &be));
    sana_status ts = sn_tokenizer_load(tu_path(tu_fixtures_dir(), "sana_tiny/tokenizer"), &tok);
    if (ts == SANA_ERR_UNSUPPORTED) tu_skip(tu_last_error()); /* the tokenizer is not in this build yet */
    CHECK_OK(ts);
    CHECK_OK(sn_gemma_load(be, tu_path(tu_fixtures_dir(), "sana_tiny/text_encoder"), NULL, &gm));
    CHECK_OK(sn_prompt_cache_create(&cache));
    if (!tok || !gm || !cache) return tu_finish("test_prompt");

    const char *cases[] = {"prompt/no_chi", "prompt/chi", "prompt/chi_batch2", "prompt/chi_long",
                           "prompt/chi_digit_start"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(cases[i]);
    int64_t hits = 0, misses = 0;
    sn_prompt_cache_stats(cache, &hits, &misses);
    /* once per padding mode */
    CHECK(misses == 2 && hits == 8, "the negative \"\" was encoded %lld times (%lld reuses)", (long long)misses,
          (long long)hits);

    /* cache NULL: the encoder's own cache; a second generation reuses the negative */
    const char *one[1] = {"a red car"};
    for (int r = 0; r < 2; r++) {
        sn_tensor ce, cm, ue, um;
        CHECK_OK(sn_prompt_encode_cfg(NULL, tok, gm, one, 1, "blurry", &(sn_prompt_params){.complex_human_instruction = 1, .max_sequence_length = 300}, &ce, &cm,
                                      &ue, &um));
        if (ce.data) sn_tensor_free(&ce), sn_tensor_free(&cm), sn_tensor_free(&ue), sn_tensor_free(&um);
    }
    sn_prompt_cache_stats(sn_gemma_uncond_cache(gm), &hits, &misses);
    CHECK(misses == 1 && hits == 1, "encoder cache: %lld misses, %lld hits", (long long)misses, (long long)hits);

    test_truncation_and_empty();
    test_nvlabs();

    sn_prompt_cache_free(cache);
    sn_gemma_free(gm);
    sn_tokenizer_free(tok);
    sn_backend_free(be);
    return tu_finish("test_prompt");
}
