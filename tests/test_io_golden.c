/* The harness's golden helpers against the committed fixtures: cases by name and kind, params of
 * each JSON type, per-output tolerances, and golden tensors read back equal to the raw bytes of
 * the file (floats and int64). Skips when the fixtures are not there. */
#include <cjson/cJSON.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"
#include "io/safetensors.h"

/* tu_golden's floats must equal the file's F32 bytes exactly. */
static void check_against_raw(const tu_case *c, const char *name, const tu_tensor *t) {
    sn_safetensors *st = NULL;
    CHECK_OK(sn_safetensors_open(tu_path(tu_fixtures_dir(), c->golden), &st));
    const sn_st_tensor *raw = sn_safetensors_find(st, name);
    CHECK(raw && (size_t)sn_st_numel(raw) == t->n, "%s: numel", name);
    if (raw && raw->dtype == SN_F32 && t->f)
        CHECK(memcmp(raw->data, t->f, t->n * 4) == 0, "%s: floats differ from the file", name);
    if (raw && raw->dtype == SN_I64 && t->i)
        CHECK(memcmp(raw->data, t->i, t->n * 8) == 0, "%s: int64 differ from the file", name);
    sn_safetensors_close(st);
}

int main(void) {
    const tu_case *c = tu_case_require("text_encoder/batch2_padded");
    CHECK(strcmp(c->kind, "text_encoder") == 0, "kind %s", c->kind);
    CHECK(c->model && strcmp(c->model, "sana_tiny/text_encoder") == 0, "model");
    struct stat sb;
    CHECK(stat(tu_case_model_dir(c), &sb) == 0 && S_ISDIR(sb.st_mode), "model dir %s",
          tu_case_model_dir(c));
    CHECK(c->tolerance > 0 && c->tolerance < 1e-3, "tolerance %g", c->tolerance);
    CHECK(tu_case_tol(c, "last_hidden_state") > 0 && tu_case_tol(c, "last_hidden_state") <= c->tolerance,
          "per-output tolerance %g", tu_case_tol(c, "last_hidden_state"));
    CHECK(tu_case_tol(c, "not_an_output") == c->tolerance, "fallback tolerance");
    CHECK(tu_param_num(c, "max_length", -1) == 16, "max_length");
    CHECK(tu_param_num(c, "missing", 3.5) == 3.5, "default number");
    const cJSON *prompts = tu_param_json(c, "prompts");
    CHECK(cJSON_IsArray(prompts) && cJSON_GetArraySize(prompts) == 2, "prompts array");

    tu_tensor ids, mask, h;
    CHECK(tu_golden(c, "input_ids", &ids) == 0 && ids.i && !ids.f && ids.ndim == 2 &&
              ids.shape[0] == 2 && ids.shape[1] == 16 && ids.n == 32,
          "input_ids int64 [2, 16]");
    CHECK(tu_golden(c, "attention_mask", &mask) == 0 && mask.i && mask.n == 32, "mask");
    int ones = 0, binary = 1;
    for (size_t k = 0; k < mask.n; k++) ones += mask.i[k] == 1, binary &= mask.i[k] == 0 || mask.i[k] == 1;
    CHECK(binary && ones > 0 && ones < 32, "mask is 0/1 with padding (%d ones)", ones);
    CHECK(ids.i && ids.i[0] == 2, "first id is Gemma's <bos> (2), got %lld", ids.i ? (long long)ids.i[0] : -1);
    CHECK(tu_golden(c, "last_hidden_state", &h) == 0 && h.f && h.ndim == 3 && h.shape[0] == 2,
          "hidden [2, L, C] floats");
    check_against_raw(c, "input_ids", &ids);
    check_against_raw(c, "last_hidden_state", &h);
    tu_tensor_free(&ids);
    tu_tensor_free(&mask);
    tu_tensor_free(&h);

    /* params of other types */
    c = tu_case_require("dit/sana_tiny_batch2");
    double nk[4], ts[4];
    CHECK(tu_param_nums(c, "n_keep", nk, 4) == 2, "n_keep count");
    CHECK(tu_param_nums(c, "timestep", ts, 4) == 2 && ts[0] == 999.0 && ts[1] == 250.0,
          "timesteps %g %g", ts[0], ts[1]);
    CHECK(tu_param_nums(c, "B", nk, 4) == 1 && nk[0] == 2, "a number as an array of one");
    CHECK(tu_param_nums(c, "missing", nk, 4) == -1, "missing array");
    c = tu_case_require("dit/sana15_qknorm");
    CHECK(strcmp(tu_param_str(c, "variant", ""), "bf16") == 0, "string param");
    CHECK(strcmp(tu_param_str(c, "missing", "dflt"), "dflt") == 0, "string default");

    /* UTF-8 text stored as U8 */
    c = tu_case_require("tokenizer/gemma2");
    tu_tensor txt;
    CHECK(tu_golden(c, "text.0", &txt) == 0 && txt.text && strlen(txt.text) <= txt.n, "text.0");
    printf("  tokenizer text.0: \"%.40s\"\n", txt.text ? txt.text : "");
    tu_tensor_free(&txt);

    /* by kind; absent names */
    const tu_case *dits[64];
    int n = tu_cases_of_kind("dit", dits, 64);
    CHECK(n >= 5, "dit cases %d", n);
    for (int i = 0; i < n && i < 64; i++) CHECK(strcmp(dits[i]->kind, "dit") == 0, "kind");
    CHECK(tu_cases_of_kind("no-such-kind", dits, 64) == 0, "unknown kind");
    CHECK(tu_case_find("no/such/case") == NULL, "unknown case");
    printf("  %d dit cases; first %s (tol %g)\n", n, n ? dits[0]->name : "-", n ? dits[0]->tolerance : 0.0);
    return tu_finish("test_io_golden");
}
