/* The tokenizer against the Python `tokenizers` package (0.23.3):
 *   - the real Gemma-2 tokenizer from ../shared/data/gemma2-tokenizer (missing = failure): every
 *     prompt of the oracle's fixture case "tokenizer/gemma2" must give exactly the reference ids,
 *     and its max_length/truncation cases must be the head of our ids;
 *   - decode round trips, special-token skipping, invalid UTF-8 (as Python's
 *     bytes.decode("utf-8", "replace") then encode), over-long prompts (all ids returned);
 *   - two small synthetic tokenizer.json files for the components Gemma does not use (Prepend,
 *     Split behaviours, lstrip/rstrip and normalized added tokens, unk fusing, merges as pairs,
 *     ignore_merges, byte fallback without unk, Strip decoder, no decoder), with ids and decodes
 *     produced by `tokenizers` (tokenizer_synth expectations below were printed by it);
 *   - broken files, each with its error. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "encoder/tokenizer.h"
#include "encoder/tokenizer_internal.h"
#include "harness.h"

typedef struct {
    const char *text;
    int32_t ids[16];
    size_t n;
    int32_t ids0[16]; /* add_special_tokens=False */
    size_t n0;
    const char *dec, *dec_skip; /* decode(ids, skip_special_tokens=False/True) */
} synth_case;

static const char *v1_json =
    "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null, \"added_tokens\": [{\"id\": 10, \"con"
    "tent\": \"[M]\", \"single_word\": false, \"lstrip\": true, \"rstrip\": true, \"normalized\": false,"
    " \"special\": false}, {\"id\": 14, \"content\": \"xy\", \"single_word\": false, \"lstrip\": false, \""
    "rstrip\": false, \"normalized\": true, \"special\": false}, {\"id\": 1, \"content\": \"<s>\", \"sing"
    "le_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}"
    ", {\"id\": 2, \"content\": \"</s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \""
    "normalized\": false, \"special\": true}], \"normalizer\": {\"type\": \"Sequence\", \"normalizers\":"
    " [{\"type\": \"Prepend\", \"prepend\": \"\\u2581\"}, {\"type\": \"Replace\", \"pattern\": {\"String\": \" "
    "\"}, \"content\": \"\\u2581\"}]}, \"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"String\": \"\\u"
    "2581\"}, \"behavior\": \"MergedWithNext\", \"invert\": false}, \"post_processor\": {\"type\": \"Temp"
    "lateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}}, {\"Sequence\": "
    "{\"id\": \"A\", \"type_id\": 0}}, {\"SpecialToken\": {\"id\": \"</s>\", \"type_id\": 0}}], \"pair\": [{\""
    "Sequence\": {\"id\": \"A\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"B\", \"type_id\": 1}}], \"specia"
    "l_tokens\": {\"<s>\": {\"id\": \"<s>\", \"ids\": [1], \"tokens\": [\"<s>\"]}, \"</s>\": {\"id\": \"</s>\", "
    "\"ids\": [2], \"tokens\": [\"</s>\"]}}}, \"decoder\": {\"type\": \"Sequence\", \"decoders\": [{\"type\":"
    " \"Replace\", \"pattern\": {\"String\": \"\\u2581\"}, \"content\": \" \"}, {\"type\": \"Fuse\"}, {\"type\":"
    " \"Strip\", \"content\": \" \", \"start\": 1, \"stop\": 0}]}, \"model\": {\"type\": \"BPE\", \"dropout\": "
    "null, \"unk_token\": \"<unk>\", \"continuing_subword_prefix\": null, \"end_of_word_suffix\": nul"
    "l, \"fuse_unk\": true, \"byte_fallback\": false, \"ignore_merges\": false, \"vocab\": {\"<unk>\": "
    "0, \"<s>\": 1, \"</s>\": 2, \"a\": 3, \"b\": 4, \"c\": 5, \"ab\": 6, \"abc\": 7, \"\\u2581\": 8, \"\\u2581a"
    "\": 9, \"[M]\": 10, \"x\": 11, \"y\": 12, \"\\u2581ab\": 13}, \"merges\": [[\"a\", \"b\"], [\"\\u2581\", \"a"
    "\"], [\"ab\", \"c\"], [\"\\u2581a\", \"b\"]]}}"
    ;
static const synth_case v1_cases[] = {
    {"ab abc", {1, 8, 6, 8, 7, 2}, 6, {8, 6, 8, 7}, 4, "<s> ab abc</s>", "ab abc"},
    {"zz q", {1, 8, 0, 8, 0, 2}, 6, {8, 0, 8, 0}, 4, "<s> <unk> <unk></s>", "<unk> <unk>"},
    {"x [M]  abc", {1, 8, 11, 10, 8, 7, 2}, 7, {8, 11, 10, 8, 7}, 5, "<s> x[M] abc</s>", "x[M] abc"},
    {"abxyc", {1, 8, 6, 11, 12, 5, 2}, 7, {8, 6, 11, 12, 5}, 5, "<s> abxyc</s>", "abxyc"},
    {"", {1, 2}, 2, {0}, 0, "<s></s>", ""},
    {"  ", {1, 8, 8, 8, 2}, 5, {8, 8, 8}, 3, "<s>   </s>", "  "},
    {"cab", {1, 8, 5, 6, 2}, 5, {8, 5, 6}, 3, "<s> cab</s>", "cab"},
    {"ab\xc2""\xa0""[M]\xe3""\x80""\x80""c", {1, 8, 6, 10, 8, 5, 2}, 7, {8, 6, 10, 8, 5}, 5, "<s> ab[M] c</s>", "ab[M] c"},
    {"[M][M]", {1, 10, 10, 2}, 4, {10, 10}, 2, "<s>[M][M]</s>", "[M][M]"},
    {" xy", {1, 8, 14, 2}, 4, {8, 14}, 2, "<s>  xy</s>", " xy"},
    {"a xyb xy", {1, 9, 14, 4, 14, 2}, 6, {9, 14, 4, 14}, 4, "<s> a xyb xy</s>", "a xyb xy"},
};
static const char *v2_json =
    "{\"version\": \"1.0\", \"added_tokens\": [], \"normalizer\": null, \"pre_tokenizer\": null, \"post_"
    "processor\": null, \"decoder\": null, \"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\""
    ": null, \"fuse_unk\": false, \"byte_fallback\": true, \"ignore_merges\": true, \"vocab\": {\"a\": "
    "0, \"b\": 1, \"c\": 2, \"bc\": 3, \"abc\": 4, \"ab\": 5, \"<0xC3>\": 6, \"<0xA9>\": 7}, \"merges\": [\"b "
    "c\", \"a b\"]}}"
    ;
static const synth_case v2_cases[] = {
    {"abc", {4}, 1, {4}, 1, "abc", "abc"},
    {"ab", {5}, 1, {5}, 1, "ab", "ab"},
    {"\xc3""\xa9""", {6, 7}, 2, {6, 7}, 2, "<0xC3> <0xA9>", "<0xC3> <0xA9>"},
    {"\xc3""\x9f""", {0}, 0, {0}, 0, "", ""},
    {"a\xc3""\xa9"" b", {0, 6, 7, 1}, 4, {0, 6, 7, 1}, 4, "a <0xC3> <0xA9> b", "a <0xC3> <0xA9> b"},
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int ids_equal(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

static void print_ids(const char *what, const int32_t *v, size_t n) {
    fprintf(stderr, "  %s (%zu):", what, n);
    for (size_t i = 0; i < n && i < 48; i++) fprintf(stderr, " %d", v[i]);
    fprintf(stderr, n > 48 ? " ...\n" : "\n");
}

/* Encodes and compares; prints both on a mismatch. */
static void check_encode(const sn_tokenizer *t, const char *what, const char *text, size_t len,
                         int add_special, const int32_t *ref, size_t nref) {
    int32_t *ids = NULL;
    size_t n = 0;
    CHECK_OK(sn_tokenizer_encode(t, text, len, add_special, &ids, &n));
    int ok = ids_equal(ids, n, ref, nref);
    CHECK(ok, "%s: ids differ from the reference", what);
    if (!ok) {
        print_ids("reference", ref, nref);
        print_ids("libsana  ", ids, n);
    }
    free(ids);
}

static void check_decode(const sn_tokenizer *t, const char *what, const int32_t *ids, size_t n,
                         int skip, const char *ref) {
    char *s = NULL;
    size_t len = 0;
    CHECK_OK(sn_tokenizer_decode(t, ids, n, skip, &s, &len));
    CHECK(s && len == strlen(ref) && memcmp(s, ref, len) == 0 && s[len] == '\0',
          "%s: decode gives \"%s\", reference \"%s\"", what, s ? s : "(null)", ref);
    free(s);
}

/* ---- the real Gemma-2 tokenizer ----------------------------------------------------------- */

static void test_fixture_prompts(const sn_tokenizer *t) {
    const tu_case *c = tu_case_require("tokenizer/gemma2");
    const cJSON *inputs = cJSON_GetObjectItemCaseSensitive((const cJSON *)c->json, "inputs");
    CHECK(cJSON_IsArray(inputs), "tokenizer/gemma2 has no inputs");
    int n_prompts = 0, n_trunc = 0;
    const cJSON *in;
    cJSON_ArrayForEach(in, inputs) {
        const char *name = cJSON_GetStringValue(in);
        if (!name) continue;
        tu_tensor text, ids;
        char out_name[256];
        if (!strncmp(name, "text.", 5)) {
            /* text.N -> ids.N: the whole encoding, <bos> included */
            snprintf(out_name, sizeof out_name, "ids.%s", name + 5);
            if (tu_golden(c, name, &text) || tu_golden(c, out_name, &ids)) continue;
            int32_t *ref = malloc((ids.n ? ids.n : 1) * sizeof *ref);
            for (size_t i = 0; i < ids.n; i++) ref[i] = (int32_t)ids.i[i];
            char what[300];
            snprintf(what, sizeof what, "fixture %s (%zu bytes)", name, text.n);
            check_encode(t, what, text.text, text.n, 1, ref, ids.n);
            /* round trip: the Gemma decoder inverts the encoding when the text holds no "▁"
             * (invalid UTF-8 comes back as the U+FFFD-replaced text) */
            if (!strstr(text.text, "\xE2\x96\x81") && ids.n > 0) {
                char *s, *owned;
                const char *want;
                size_t len, want_len;
                CHECK_OK(sn_utf8_sanitize(text.text, text.n, &want, &want_len, &owned));
                CHECK_OK(sn_tokenizer_decode(t, ref + 1, ids.n - 1, 0, &s, &len));
                CHECK(len == want_len && memcmp(s, want, len) == 0,
                      "%s: decode(encode(text)) != text%s", what, owned ? " (U+FFFD-replaced)" : "");
                free(s);
                free(owned);
            }
            free(ref);
            tu_tensor_free(&ids);
            tu_tensor_free(&text);
            n_prompts++;
        } else {
            /* X.text -> X.ids/X.mask: tokenizer(text, max_length=M, truncation=True,
             * padding="max_length"). Our ids are never truncated, so the reference must be
             * their first M, then <pad>. */
            size_t bl = strlen(name);
            if (bl < 5 || strcmp(name + bl - 5, ".text")) continue;
            tu_tensor mask;
            snprintf(out_name, sizeof out_name, "%.*s.ids", (int)(bl - 5), name);
            char mask_name[256];
            snprintf(mask_name, sizeof mask_name, "%.*s.mask", (int)(bl - 5), name);
            if (tu_golden(c, name, &text) || tu_golden(c, out_name, &ids) ||
                tu_golden(c, mask_name, &mask))
                continue;
            int32_t *got;
            size_t n;
            CHECK_OK(sn_tokenizer_encode(t, text.text, text.n, 1, &got, &n));
            size_t M = ids.n, k = n < M ? n : M;
            int ok = mask.n == M;
            for (size_t i = 0; i < M && ok; i++) {
                int64_t want_mask = i < k;
                int64_t want_id = i < k ? got[i] : sn_tokenizer_pad_id(t);
                ok = mask.i[i] == want_mask && ids.i[i] == want_id;
                if (!ok)
                    fprintf(stderr, "  %s: position %zu: reference id %lld mask %lld, ours %lld/%lld\n",
                            name, i, (long long)ids.i[i], (long long)mask.i[i],
                            (long long)want_id, (long long)want_mask);
            }
            CHECK(ok, "%s: the padded/truncated reference is not the head of our %zu ids", name, n);
            printf("  %s: %zu ids, reference window %zu\n", name, n, M);
            free(got);
            tu_tensor_free(&mask);
            tu_tensor_free(&ids);
            tu_tensor_free(&text);
            n_trunc++;
        }
    }
    printf("fixture tokenizer/gemma2: %d prompts and %d max_length cases checked\n", n_prompts,
           n_trunc);
    CHECK(n_prompts >= 40, "only %d fixture prompts", n_prompts);
}

static void test_gemma_basics(const sn_tokenizer *t) {
    CHECK(sn_tokenizer_vocab_size(t) == 256000, "vocab size %d", sn_tokenizer_vocab_size(t));
    CHECK(sn_tokenizer_bos_id(t) == 2 && sn_tokenizer_eos_id(t) == 1 && sn_tokenizer_pad_id(t) == 0 &&
              sn_tokenizer_unk_id(t) == 3,
          "special ids bos %d eos %d pad %d unk %d", sn_tokenizer_bos_id(t), sn_tokenizer_eos_id(t),
          sn_tokenizer_pad_id(t), sn_tokenizer_unk_id(t));
    CHECK(sn_tokenizer_adds_bos(t), "Gemma adds <bos>");
    size_t len;
    const char *p = sn_tokenizer_piece(t, 217, &len);
    CHECK(p && len == 6 && !strcmp(p, "<0x00>"), "piece 217 is %s", p ? p : "(null)");
    CHECK(sn_tokenizer_piece_id(t, "<start_of_turn>", 15) == 106, "<start_of_turn> id");
    CHECK(sn_tokenizer_piece(t, 256000, NULL) == NULL, "piece beyond the vocab");

    /* Google's test vector, with and without <bos> */
    static const int32_t sky[] = {2, 18177, 603, 573, 8203, 3868, 235336};
    check_encode(t, "why is the sky blue?", "why is the sky blue?", 20, 1, sky, 7);
    check_encode(t, "why is the sky blue? (no bos)", "why is the sky blue?", 20, 0, sky + 1, 6);
    static const int32_t bos_only[] = {2};
    check_encode(t, "empty", "", 0, 1, bos_only, 1);
    int32_t *ids;
    size_t n;
    CHECK_OK(sn_tokenizer_encode(t, "", 0, 0, &ids, &n));
    CHECK(n == 0 && ids != NULL, "empty text without specials: %zu ids", n);
    free(ids);

    /* decode: specials kept or skipped, byte pieces merged back, invalid byte runs -> U+FFFD */
    static const int32_t d1[] = {2, 235250, 4401, 1};
    check_decode(t, "decode keep specials", d1, 4, 0, "<bos>a cat<eos>");
    check_decode(t, "decode skip specials", d1, 4, 1, "a cat");
    static const int32_t bytes_ok[] = {217 + 0xF0, 217 + 0x93, 217 + 0x80, 217 + 0x80};
    check_decode(t, "byte pieces", bytes_ok, 4, 0, "\xF0\x93\x80\x80");
    static const int32_t bytes_bad[] = {235250, 217 + 0xF0, 217 + 0x93, 235250};
    check_decode(t, "invalid byte run", bytes_bad, 4, 0, "a\xEF\xBF\xBD\xEF\xBF\xBD" "a");
    static const int32_t bad_id[] = {2, 256000};
    char *s;
    CHECK_STATUS(sn_tokenizer_decode(t, bad_id, 2, 0, &s, &n), SANA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(tu_last_error(), "256000") != NULL, "error names the id: %s", tu_last_error());
}

/* Invalid UTF-8: the ids of what Python's bytes.decode("utf-8", "replace") gives (each maximal
 * invalid subsequence -> one U+FFFD), computed with tokenizers 0.23.3. */
static void test_invalid_utf8(const sn_tokenizer *t) {
    static const struct {
        const char *bytes;
        size_t n;
        int32_t ids[6];
        size_t nid;
    } cases[] = {
        {"a\xE2\x96" "b", 4, {2, 235250, 236193, 235268}, 4},     /* truncated 3-byte sequence */
        {"\xF0\x9F\x98", 3, {2, 236193}, 2},                       /* truncated at the end */
        {"\xED\xA0\x80" "x", 4, {2, 135502, 235297}, 3},           /* surrogate: 3 x U+FFFD */
        {"\xC0\xAF", 2, {2, 23484}, 2},                            /* overlong: 2 x U+FFFD */
        {"caf\xE9 ok", 7, {2, 67504, 236193, 4634}, 4},            /* Latin-1 byte */
        {"\xFF\xFE", 2, {2, 23484}, 2},                            /* never-valid bytes */
        {"\xF4\x90\x80\x80", 4, {2, 52772}, 2},                    /* above U+10FFFF */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char what[64];
        snprintf(what, sizeof what, "invalid UTF-8 case %zu", k);
        check_encode(t, what, cases[k].bytes, cases[k].n, 1, cases[k].ids, cases[k].nid);
    }
}

static void test_long_prompt(const sn_tokenizer *t) {
    /* no truncation here: 2002 ids from tokenizers for "a cat " x 1000 */
    size_t reps = 1000, len = 6 * reps;
    char *text = malloc(len + 1);
    for (size_t i = 0; i < reps; i++) memcpy(text + 6 * i, "a cat ", 6);
    int32_t *ids;
    size_t n;
    double t0 = now_s();
    CHECK_OK(sn_tokenizer_encode(t, text, len, 1, &ids, &n));
    double dt = now_s() - t0;
    CHECK(n == 2002, "\"a cat \" x 1000: %zu ids, reference 2002", n);
    printf("long prompt: %zu bytes -> %zu ids in %.2f ms\n", len, n, dt * 1e3);
    free(ids);
    free(text);
}

/* ---- synthetic files ---------------------------------------------------------------------- */

static sn_tokenizer *load_text(const char *name, const char *json) {
    const char *dir = tu_temp_dir();
    const char *path = tu_path(dir, name);
    tu_write_file(path, json, strlen(json));
    sn_tokenizer *t = NULL;
    CHECK_OK(sn_tokenizer_load(path, &t));
    return t;
}

static void run_synth(const char *name, const char *json, const synth_case *cases, size_t n) {
    sn_tokenizer *t = load_text(name, json);
    if (!t) return;
    for (size_t k = 0; k < n; k++) {
        char what[96];
        snprintf(what, sizeof what, "%s \"%s\"", name, cases[k].text);
        size_t len = strlen(cases[k].text);
        check_encode(t, what, cases[k].text, len, 1, cases[k].ids, cases[k].n);
        check_encode(t, what, cases[k].text, len, 0, cases[k].ids0, cases[k].n0);
        check_decode(t, what, cases[k].ids, cases[k].n, 0, cases[k].dec);
        check_decode(t, what, cases[k].ids, cases[k].n, 1, cases[k].dec_skip);
    }
    sn_tokenizer_free(t);
}

static void test_config_overrides(void) {
    /* tokenizer_config.json next to the file: add_eos_token rebuilds the template as
     * transformers' GemmaTokenizerFast does ("<s> $A </s>" -> with add_bos_token false: "$A </s>") */
    const char *dir = tu_temp_dir();
    tu_write_file(tu_path(dir, "tokenizer.json"), v1_json, strlen(v1_json));
    const char *cfg = "{\"add_bos_token\": false, \"add_eos_token\": true, \"bos_token\": \"<s>\","
                      " \"eos_token\": {\"content\": \"</s>\"}, \"pad_token\": \"<unk>\"}";
    tu_write_file(tu_path(dir, "tokenizer_config.json"), cfg, strlen(cfg));
    sn_tokenizer *t = NULL;
    CHECK_OK(sn_tokenizer_load(dir, &t));
    if (!t) return;
    static const int32_t want[] = {8, 6, 2};
    check_encode(t, "config add_eos_token", "ab", 2, 1, want, 3);
    CHECK(!sn_tokenizer_adds_bos(t), "add_bos_token false");
    CHECK(sn_tokenizer_pad_id(t) == 0 && sn_tokenizer_eos_id(t) == 2 && sn_tokenizer_bos_id(t) == 1,
          "config special ids pad %d eos %d bos %d", sn_tokenizer_pad_id(t), sn_tokenizer_eos_id(t),
          sn_tokenizer_bos_id(t));
    sn_tokenizer_free(t);
}

/* ---- broken files --------------------------------------------------------------------------- */

static void expect_load_error(const char *what, const char *json, size_t len, sana_status code,
                              const char *needle) {
    const char *dir = tu_temp_dir();
    const char *path = tu_path(dir, "tokenizer.json");
    tu_write_file(path, json, len);
    sn_tokenizer *t = (sn_tokenizer *)1;
    CHECK_STATUS(sn_tokenizer_load(path, &t), code);
    CHECK(t == NULL, "%s: handle not cleared", what);
    CHECK(strstr(tu_last_error(), needle) != NULL, "%s: error \"%s\" does not mention \"%s\"", what,
          tu_last_error(), needle);
    printf("  %-28s -> %s\n", what, tu_last_error());
}

#define MODEL_HEAD "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, "

static void test_bad_files(void) {
    sn_tokenizer *t = (sn_tokenizer *)1;
    CHECK_STATUS(sn_tokenizer_load("/nonexistent/libsana/tokenizer.json", &t), SANA_ERR_NOT_FOUND);
    CHECK(t == NULL && strstr(tu_last_error(), "/nonexistent/libsana") != NULL, "missing file: %s",
          tu_last_error());
    CHECK_STATUS(sn_tokenizer_load(tu_temp_dir(), &t), SANA_ERR_NOT_FOUND);
    CHECK(strstr(tu_last_error(), "no tokenizer.json") != NULL, "empty folder: %s", tu_last_error());

    struct {
        const char *what, *json;
        sana_status code;
        const char *needle;
    } bad[] = {
        {"missing model", "{\"added_tokens\": []}", SANA_ERR_FORMAT, "\"model\""},
        {"unknown model type", "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}",
         SANA_ERR_UNSUPPORTED, "WordPiece"},
        {"merge with unknown piece", MODEL_HEAD "\"merges\": [\"a b\", \"b q\"]}}", SANA_ERR_FORMAT,
         "merges[1]: piece \"q\" is not in the vocabulary"},
        {"merged piece unknown", MODEL_HEAD "\"merges\": [[\"b\", \"a\"]]}}", SANA_ERR_FORMAT,
         "\"ba\" is not in the vocabulary"},
        {"merge without a space", MODEL_HEAD "\"merges\": [\"ab\"]}}", SANA_ERR_FORMAT,
         "merges[0]"},
        {"vocab not an object", "{\"model\": {\"type\": \"BPE\", \"vocab\": [], \"merges\": []}}",
         SANA_ERR_FORMAT, "model.vocab"},
        {"negative id", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -1}, \"merges\": []}}",
         SANA_ERR_FORMAT, "model.vocab[\"a\"]"},
        {"unk not in vocab", MODEL_HEAD "\"merges\": [], \"unk_token\": \"<unk>\"}}",
         SANA_ERR_FORMAT, "unk_token"},
        {"dropout", MODEL_HEAD "\"merges\": [], \"dropout\": 0.1}}", SANA_ERR_UNSUPPORTED, "dropout"},
        {"unknown normalizer",
         MODEL_HEAD "\"merges\": []}, \"normalizer\": {\"type\": \"NFKC\"}}", SANA_ERR_UNSUPPORTED,
         "NFKC"},
        {"regex split",
         MODEL_HEAD "\"merges\": []}, \"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": "
                    "{\"Regex\": \"\\\\s+\"}, \"behavior\": \"Isolated\", \"invert\": false}}",
         SANA_ERR_UNSUPPORTED, "Regex"},
        {"unknown pre-tokenizer",
         MODEL_HEAD "\"merges\": []}, \"pre_tokenizer\": {\"type\": \"ByteLevel\"}}",
         SANA_ERR_UNSUPPORTED, "ByteLevel"},
        {"unknown decoder", MODEL_HEAD "\"merges\": []}, \"decoder\": {\"type\": \"WordPiece\"}}",
         SANA_ERR_UNSUPPORTED, "decoder type \"WordPiece\""},
        {"unknown post-processor",
         MODEL_HEAD "\"merges\": []}, \"post_processor\": {\"type\": \"BertProcessing\"}}",
         SANA_ERR_UNSUPPORTED, "BertProcessing"},
        {"post-processor id in a vocabulary gap",
         "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 2}, \"merges\": []}, "
         "\"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": "
         "{\"id\": \"<s>\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}], "
         "\"special_tokens\": {\"<s>\": {\"id\": \"<s>\", \"ids\": [1], \"tokens\": [\"<s>\"]}}}}",
         SANA_ERR_FORMAT, "id 1 is not in the vocabulary"},
        {"single_word added token",
         MODEL_HEAD "\"merges\": []}, \"added_tokens\": [{\"id\": 3, \"content\": \"[X]\", "
                    "\"single_word\": true, \"special\": true}]}",
         SANA_ERR_UNSUPPORTED, "single_word"},
        {"not JSON", "model: BPE", SANA_ERR_FORMAT, "line 1, column 1"},
        {"bad literal mid-file", "{\n  \"model\": nope\n}", SANA_ERR_FORMAT, "line 2, column 12"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        expect_load_error(bad[k].what, bad[k].json, strlen(bad[k].json), bad[k].code, bad[k].needle);
    /* a file cut short: every prefix of a valid file is an error, never a crash */
    size_t full = strlen(v1_json), fails = 0;
    const char *path = tu_path(tu_temp_dir(), "tokenizer.json");
    for (size_t cut = 0; cut < full; cut += 7) {
        tu_write_file(path, v1_json, cut);
        sn_tokenizer *tt = NULL;
        if (sn_tokenizer_load(path, &tt) == SANA_ERR_FORMAT && !tt) fails++;
        sn_tokenizer_free(tt);
    }
    CHECK(fails == (full + 6) / 7, "truncated files: %zu of %zu refused", fails, (full + 6) / 7);
    expect_load_error("truncated JSON", v1_json, full / 2, SANA_ERR_FORMAT, "truncated JSON");
}

/* ---- the public API ------------------------------------------------------------------------- */

static void test_public_api(const char *dir) {
    sana_tokenizer *tok = NULL;
    CHECK_OK(sana_tokenizer_load(dir, &tok));
    if (!tok) return;
    CHECK(sana_tokenizer_vocab_size(tok) == 256000, "public vocab size");
    size_t n = 0;
    CHECK_OK(sana_tokenizer_encode(tok, "a cat", 5, 1, NULL, 0, &n)); /* sizing call */
    CHECK(n == 3, "sizing call: %zu ids", n);
    int32_t ids[2] = {-1, -1};
    CHECK_OK(sana_tokenizer_encode(tok, "a cat", 5, 1, ids, 2, &n)); /* short buffer */
    CHECK(n == 3 && ids[0] == 2 && ids[1] == 235250, "short buffer: n %zu ids %d %d", n, ids[0],
          ids[1]);
    static const int32_t d[] = {2, 235250, 4401};
    char buf[4];
    size_t len = 0;
    CHECK_OK(sana_tokenizer_decode(tok, d, 3, 1, buf, sizeof buf, &len));
    CHECK(len == 5 && !strcmp(buf, "a c"), "decode into 4 bytes: len %zu \"%s\"", len, buf);
    CHECK_STATUS(sana_tokenizer_encode(NULL, "a", 1, 1, NULL, 0, &n), SANA_ERR_INVALID_ARGUMENT);
    sana_tokenizer_free(tok);
    sana_tokenizer *bad = (sana_tokenizer *)1;
    CHECK_STATUS(sana_tokenizer_load("/nonexistent/tok", &bad), SANA_ERR_NOT_FOUND);
    CHECK(bad == NULL && strstr(sana_last_error(), "/nonexistent/tok"), "public load error: %s",
          sana_last_error());
}

int main(void) {
    char dir[4096]; /* tu_path's buffers are recycled */
    snprintf(dir, sizeof dir, "%s", tu_path(tu_shared_dir(), "data/gemma2-tokenizer"));
    sn_tokenizer *t = NULL;
    double t0 = now_s();
    CHECK_OK(sn_tokenizer_load(dir, &t)); /* must exist: a missing tokenizer is a failure */
    printf("loaded %s in %.0f ms\n", dir, (now_s() - t0) * 1e3);
    if (t) {
        test_gemma_basics(t);
        test_fixture_prompts(t);
        test_invalid_utf8(t);
        test_long_prompt(t);
        sn_tokenizer_free(t);
        test_public_api(dir);
    }
    run_synth("v1.json", v1_json, v1_cases, sizeof v1_cases / sizeof v1_cases[0]);
    run_synth("v2.json", v2_json, v2_cases, sizeof v2_cases / sizeof v2_cases[0]);
    test_config_overrides();
    test_bad_files();
    return tu_finish("test_tokenizer");
}
