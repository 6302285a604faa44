/* Prompt preprocessing (lib/encoder/prompt.c, prompt_case.c): Python's lower()/strip() on
 * arbitrary bytes, then the pipeline's tokenization (CHI prefix, truncation, padding, mask) with
 * the real Gemma tokenizer, diffusers and NVlabs modes. Prompts come as C strings, so the input
 * is cut at its first NUL. */
#include "encoder/prompt.h"
#include "encoder/tokenizer.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_quiet();
    const sn_tokenizer *tok = fz_gemma_tokenizer();
    char *text = fz_cstr(data, size);
    size_t len = strlen(text);
    sn_error_clear();
    for (int lower = 0; lower < 2; lower++) {
        char *out = NULL;
        sana_status s = sn_text_lower_strip(text, len, lower, &out);
        fz_check_failure(s, "sn_text_lower_strip");
        if (s == SANA_OK && !out) abort();
        free(out);
    }
    const char *prompts[2] = {text, ""};
    for (int mode = 0; mode < 4; mode++) {
        sn_prompt_params p;
        sn_prompt_params_default(&p);
        p.nvlabs_compat = mode & 1;
        p.max_sequence_length = mode & 2 ? 7 : 300;
        int32_t *ids = NULL, *mask = NULL;
        int64_t m = 0;
        sana_status s = sn_prompt_tokenize(tok, prompts, 2, &p, !(mode & 2), &ids, &mask, &m);
        fz_check_failure(s, "sn_prompt_tokenize");
        if (s == SANA_OK) {
            for (int64_t k = 0; k < 2 * m; k++)
                if (ids[k] < 0 || ids[k] >= sn_tokenizer_vocab_size(tok) || (mask[k] != 0 && mask[k] != 1))
                    abort();
        }
        free(ids);
        free(mask);
    }
    free(text);
    return 0;
}
