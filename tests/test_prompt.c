/* SANA prompt conditioning (lib/encoder/prompt*) against diffusers' SanaPipeline.encode_prompt
 * on the tiny fixture pipeline: embeddings and masks with and without the complex human
 * instruction, a batch of 2 (with Cyrillic upper case to lower), an over-long prompt (truncated),
 * a prompt starting with a digit; negative prompt "" from the cache. Plus Python's
 * str.lower().strip() on fixed strings, truncation and empty prompts, and the NVlabs mode. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "encoder/prompt.h"
#include "text_golden.h"

static sn_backend *be;
static sn_tokenizer *tok;
static sn_gemma *gm;
static sn_prompt_cache *cache;

static void check_lower(const char *in, const char *want_hex) {
    char *out = NULL;
    CHECK_OK(sn_text_lower_strip(in, strlen(in), 1, &out));
    char hex[512] = "";
    for (size_t i = 0; out && out[i] && i < 250; i++) sprintf(hex + 2 * i, "%02x", (unsigned char)out[i]);
    CHECK(!strcmp(hex, want_hex), "lower().strip() of \"%s\": %s, want %s", in, hex, want_hex);
    free(out);
}

static void test_lower_strip(void) {
    /* expected bytes from Python 3.11: s.lower().strip().encode().hex() */
    check_lower("  Два КОТА 🐱 in the rain  ", "d0b4d0b2d0b020d0bad0bed182d0b020f09f90b120696e20746865207261696e");
    check_lower("ΟΔΟΣ Σ ΑΣ.Σ", "cebfceb4cebfcf8220cf8320ceb1cf832ecf82"); /* final sigma rules */
    check_lower("İstanbul ǅ ẞ Ⅻ ＡＢＣ", "69cc877374616e62756c20c78620c39f20e285bb20efbd81efbd82efbd83");
    check_lower("\u00a0\u2028 x \u3000\xc2\x85", "78"); /* Unicode whitespace is stripped */
    check_lower("ΑΣ\u0301 ΑΣ\u0301Β", "ceb1cf82cc8120ceb1cf83cc81ceb2");
    check_lower("ꭰ Ꭰ 𐐀 𞤀", "eaadb020eaadb020f09090a820f09ea4a2");
    check_lower("A\xff\xc3 B\xe2\x82", "61ffc32062e282"); /* invalid bytes pass through */
    check_lower("", "");
    char *out = NULL;
    CHECK_OK(sn_text_lower_strip(" ABC ", 5, 0, &out)); /* strip only (NVlabs) */
    CHECK(out && !strcmp(out, "ABC"), "strip: %s", out ? out : "(null)");
    free(out);
}

static float *download(const sn_tensor *t) {
    float *h = malloc((size_t)sn_numel(t) * sizeof(float));
    CHECK_OK(sn_download_f32(t, h));
    return h;
}

static void compare(const cJSON *c, const sn_safetensors *st, const char *name, const sn_tensor *t) {
    size_t n = 0;
    float *ref = tg_floats(st, name, &n);
    CHECK(n == (size_t)sn_numel(t), "%s: %zu golden values for %lld", name, n, (long long)sn_numel(t));
    if (ref && n == (size_t)sn_numel(t)) {
        float *got = download(t);
        double tol = tg_tolerance(c, name);
        printf("  %-31s rel err %.3g (tol %.3g)\n", name, tu_rel_err(got, ref, n), tol);
        tu_check_close(name, got, ref, n, tol);
        free(got);
    }
    free(ref);
}

static char *golden_text(const sn_safetensors *st, const char *name) {
    const sn_st_tensor *t = tg_tensor(st, name);
    if (!t) return strdup("");
    char *s = malloc(t->nbytes + 1);
    memcpy(s, t->data, t->nbytes);
    s[t->nbytes] = 0;
    return s;
}

static void run_case(const sn_config *idx, const char *name) {
    const cJSON *c = tg_case(idx, name);
    sn_safetensors *st = c ? tg_open(c) : NULL;
    if (!st) return;
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(c, "params");
    const cJSON *chi = cJSON_GetObjectItemCaseSensitive(params, "chi_text");
    const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(c, "inputs");
    sn_prompt_params p;
    sn_prompt_params_default(&p);
    p.complex_human_instruction = cJSON_IsString(chi);
    if (p.complex_human_instruction)
        CHECK(!strcmp(chi->valuestring, sn_chi_diffusers), "%s: the reference's CHI differs from sn_chi_diffusers", name);
    int32_t n = cJSON_GetArraySize(inputs);
    char *prompts[4] = {0};
    for (int32_t i = 0; i < n && i < 4; i++) prompts[i] = golden_text(st, cJSON_GetArrayItem(inputs, i)->valuestring);
    printf("%s: %d prompt(s), chi %d\n", name, n, p.complex_human_instruction);
    sn_tensor ce, cm, ue, um;
    CHECK_OK(sn_prompt_encode_cfg(cache, tok, gm, (const char *const *)prompts, n, "", &p, &ce, &cm, &ue, &um));
    if (ce.data) {
        compare(c, st, "prompt_embeds", &ce);
        compare(c, st, "prompt_attention_mask", &cm);
        compare(c, st, "negative_prompt_embeds", &ue);
        compare(c, st, "negative_prompt_attention_mask", &um);
        sn_tensor_free(&ce), sn_tensor_free(&cm), sn_tensor_free(&ue), sn_tensor_free(&um);
    }
    for (int32_t i = 0; i < n && i < 4; i++) free(prompts[i]);
    sn_safetensors_close(st);
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
static void test_nvlabs(const sn_config *idx) {
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

    /* with the diffusers text as its instruction and an already lower-case prompt, NVlabs mode
     * gives diffusers' embedding; the uncond mask is then the positive one */
    const cJSON *c = tg_case(idx, "prompt/chi");
    sn_safetensors *st = c ? tg_open(c) : NULL;
    p.complex_human_instruction = 1;
    p.chi = sn_chi_diffusers;
    const char *prompt[1] = {"a cat sitting on a windowsill"};
    sn_tensor ce, cm, ue, um;
    CHECK_OK(sn_prompt_encode_cfg(cache, tok, gm, prompt, 1, "", &p, &ce, &cm, &ue, &um));
    if (st && ce.data) {
        compare(c, st, "prompt_embeds", &ce);
        compare(c, st, "negative_prompt_embeds", &ue);
        compare(c, st, "prompt_attention_mask", &um); /* the positive mask, in the uncond slot */
        sn_tensor_free(&ce), sn_tensor_free(&cm), sn_tensor_free(&ue), sn_tensor_free(&um);
    }
    sn_safetensors_close(st);
}

int main(void) {
    test_lower_strip();
    sn_config *idx = tg_index();
    CHECK_OK(sn_backend_cpu_create(0, &be));
    CHECK_OK(sn_tokenizer_load(tu_path(tu_fixtures_dir(), "sana_tiny/tokenizer"), &tok));
    CHECK_OK(sn_gemma_load(be, tu_path(tu_fixtures_dir(), "sana_tiny/text_encoder"), NULL, &gm));
    CHECK_OK(sn_prompt_cache_create(&cache));
    if (!tok || !gm || !cache) return tu_finish("test_prompt");

    const char *cases[] = {"prompt/no_chi", "prompt/chi", "prompt/chi_batch2", "prompt/chi_long",
                           "prompt/chi_digit_start"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(idx, cases[i]);
    int64_t hits = 0, misses = 0;
    sn_prompt_cache_stats(cache, &hits, &misses);
    CHECK(misses == 1 && hits == 4, "the negative \"\" was encoded %lld times (%lld reuses)", (long long)misses,
          (long long)hits);

    test_truncation_and_empty();
    test_nvlabs(idx);

    sn_prompt_cache_free(cache);
    sn_gemma_free(gm);
    sn_tokenizer_free(tok);
    sn_backend_free(be);
    sn_config_free(idx);
    return tu_finish("test_prompt");
}
