/* The public prompt encoder, sana_encode_prompt, on the tiny fixture pipeline: host tensors of
 * the documented shapes that match SanaPipeline.encode_prompt (with and without the complex
 * human instruction, and the negative prompt "" as a prompt without it), and clear refusals of
 * bad arguments and of a released text encoder. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "text_rows.h"

static void compare(const char *case_name, const char *out, const char *mask_name, const sana_tensor *t, int exact) {
    const tu_case *c = tu_case_require(case_name);
    tu_tensor ref, m;
    if (tu_golden(c, out, &ref) || tu_golden(c, mask_name, &m)) return;
    size_t n = (size_t)sana_tensor_numel(t), H = (size_t)sana_tensor_dim(t, 2);
    CHECK(ref.n == n && sana_tensor_ndim(t) == 3, "%s: %zu values, golden %zu", out, n, ref.n);
    if (ref.n == n) {
        float *got = malloc(n * sizeof(float));
        CHECK_OK(sana_tensor_read(t, got, n));
        tr_check_rows(out, got, ref.f, m.i, n / H, H, tu_case_tol(c, out), exact);
        free(got);
    }
    tu_tensor_free(&ref), tu_tensor_free(&m);
}

static void compare_mask(const char *case_name, const char *name, const sana_tensor *t) {
    const tu_case *c = tu_case_require(case_name);
    tu_tensor ref;
    if (tu_golden(c, name, &ref)) return;
    size_t n = (size_t)sana_tensor_numel(t);
    float *got = malloc(n * sizeof(float));
    CHECK_OK(sana_tensor_read(t, got, n));
    int same = ref.n == n && sana_tensor_ndim(t) == 2;
    for (size_t i = 0; same && i < n; i++) same = got[i] == (float)ref.i[i];
    CHECK(same, "%s: mask differs", name);
    free(got);
    tu_tensor_free(&ref);
}

int main(void) {
    const tu_case *c = tu_case_require("prompt/chi");
    sana_context_params cp;
    sana_context_params_init(&cp);
    cp.backend = SANA_BACKEND_CPU;
    sana_context *ctx = NULL;
    CHECK_OK(sana_context_create(&cp, &ctx));
    sana_model_params mp;
    sana_model_params_init(&mp);
    mp.components = SANA_COMPONENT_TOKENIZER | SANA_COMPONENT_TEXT_ENCODER;
    sana_model *model = NULL;
    sana_status st = sana_model_load(ctx, tu_path(tu_fixtures_dir(), c->model), &mp, &model);
    if (st == SANA_ERR_UNSUPPORTED) tu_skip(sana_context_last_error(ctx)); /* a component not in this build yet */
    CHECK(st == SANA_OK, "sana_model_load: %s", sana_context_last_error(ctx));
    if (!model) return tu_finish("test_prompt_api");

    const char *prompt[1] = {"A Cat sitting on a Windowsill"};
    sana_tensor *e = NULL, *m = NULL;
    CHECK_OK(sana_encode_prompt(ctx, model, prompt, 1, NULL, &e, &m)); /* defaults: CHI on, L 300 */
    CHECK(e && m && sana_tensor_dim(e, 0) == 1 && sana_tensor_dim(e, 1) == 300 && sana_tensor_dim(e, 2) == 16 &&
              sana_tensor_dim(m, 1) == 300,
          "shapes");
    if (e && m) {
        compare("prompt/chi", "prompt_embeds", "prompt_attention_mask", e, 0);
        compare_mask("prompt/chi", "prompt_attention_mask", m);
    }
    sana_tensor_free(e), sana_tensor_free(m);

    sana_encode_params ep;
    sana_encode_params_init(&ep);
    ep.complex_human_instruction = 0;
    CHECK_OK(sana_encode_prompt(ctx, model, prompt, 1, &ep, &e, &m));
    if (e && m) {
        compare("prompt/no_chi", "prompt_embeds", "prompt_attention_mask", e, 0);
        compare_mask("prompt/no_chi", "prompt_attention_mask", m);
    }
    sana_tensor_free(e), sana_tensor_free(m);
    /* the negative prompt: a prompt without the instruction; its pad rows zero (default), as
     * the reference computes them (exact_padding), and so in NVlabs mode */
    const char *neg[2] = {"", ""};
    for (int mode = 0; mode < 3; mode++) {
        ep.exact_padding = mode == 1;
        ep.nvlabs_compat = mode == 2;
        CHECK_OK(sana_encode_prompt(ctx, model, neg, 2, &ep, &e, &m));
        if (e && m) {
            CHECK(sana_tensor_dim(e, 0) == 2, "batch of 2");
            compare("prompt/chi_batch2", "negative_prompt_embeds", "negative_prompt_attention_mask", e, mode > 0);
            compare_mask("prompt/chi_batch2", "negative_prompt_attention_mask", m);
        }
        sana_tensor_free(e), sana_tensor_free(m);
    }
    ep.exact_padding = ep.nvlabs_compat = 0;

    /* refusals: they name the problem and leave the outputs NULL */
    e = m = (sana_tensor *)1;
    CHECK_STATUS(sana_encode_prompt(ctx, model, prompt, 0, NULL, &e, &m), SANA_ERR_INVALID_ARGUMENT);
    CHECK(!e && !m, "outputs not cleared on failure");
    const char *null_prompt[1] = {NULL};
    CHECK_STATUS(sana_encode_prompt(ctx, model, null_prompt, 1, NULL, &e, &m), SANA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(sana_context_last_error(ctx), "prompts[0]") != NULL, "error: %s", sana_context_last_error(ctx));
    sana_encode_params bad;
    memset(&bad, 0, sizeof bad);
    CHECK_STATUS(sana_encode_prompt(ctx, model, prompt, 1, &bad, &e, &m), SANA_ERR_INVALID_ARGUMENT);
    ep.max_sequence_length = 0;
    CHECK_STATUS(sana_encode_prompt(ctx, model, prompt, 1, &ep, &e, &m), SANA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(sana_context_last_error(ctx), "max_sequence_length") != NULL, "error: %s", sana_context_last_error(ctx));
    ep.max_sequence_length = 300;
    /* 4 Mi prompts: the one batch of the text encoder needs far more memory than a machine has
     * (about 1.6 TiB even for this tiny Gemma); refused before tokenizing (it tokenized them all,
     * minutes of work, and then allocated) */
    const int32_t many = 1 << 22;
    const double need = (double)many * 812.0 * 512.0;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    if (pages > 0 && page > 0 && (double)pages * (double)page < need) {
        const char **lots = malloc(sizeof *lots * (size_t)many);
        for (int32_t i = 0; lots && i < many; i++) lots[i] = "a";
        if (lots) {
            CHECK_STATUS(sana_encode_prompt(ctx, model, lots, many, &ep, &e, &m), SANA_ERR_OUT_OF_MEMORY);
            CHECK(strstr(sana_context_last_error(ctx), "GiB of host memory") != NULL, "error: %s",
                  sana_context_last_error(ctx));
            printf("refused: %s\n", sana_context_last_error(ctx));
        }
        free(lots);
    } else {
        printf("note: this machine has enough memory that the prompt-batch refusal is not tried\n");
    }
    CHECK_OK(sana_model_release_text_encoder(model));
    CHECK_STATUS(sana_encode_prompt(ctx, model, prompt, 1, NULL, &e, &m), SANA_ERR_UNSUPPORTED);
    CHECK(strstr(sana_context_last_error(ctx), "text encoder") != NULL, "error: %s", sana_context_last_error(ctx));

    sana_model_free(model);
    sana_context_free(ctx);
    return tu_finish("test_prompt_api");
}
