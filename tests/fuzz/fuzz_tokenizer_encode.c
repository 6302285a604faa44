/* Encoding arbitrary bytes with the real Gemma tokenizer (tests/fixtures/sana_tiny/tokenizer,
 * the same file as shared/data/gemma2-tokenizer): invalid UTF-8, lone surrogates, control
 * bytes, added-token lookalikes, long runs. Ids must be in the vocabulary and decode back. */
#include "encoder/tokenizer.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_quiet();
    const sn_tokenizer *tok = fz_gemma_tokenizer();
    int32_t n_vocab = sn_tokenizer_vocab_size(tok);
    sn_error_clear();
    for (int special = 0; special < 2; special++) {
        int32_t *ids = NULL;
        size_t n = 0;
        sana_status s = sn_tokenizer_encode(tok, (const char *)data, size, special, &ids, &n);
        fz_check_failure(s, "sn_tokenizer_encode");
        if (s != SANA_OK) continue;
        for (size_t k = 0; k < n; k++)
            if (ids[k] < 0 || ids[k] >= n_vocab) abort();
        char *text = NULL;
        size_t len = 0;
        s = sn_tokenizer_decode(tok, ids, n, !special, &text, &len);
        fz_check_failure(s, "sn_tokenizer_decode");
        if (s == SANA_OK && strlen(text) > len) abort();
        free(text);
        free(ids);
    }
    /* the input read as ids: decode must refuse out-of-range ones, not read past the tables */
    if (size >= 4) {
        size_t n = size / 4;
        int32_t *ids = malloc(n * sizeof *ids);
        if (!ids) abort();
        memcpy(ids, data, n * sizeof *ids);
        char *text = NULL;
        size_t len = 0;
        sana_status s = sn_tokenizer_decode(tok, ids, n, 0, &text, &len);
        fz_check_failure(s, "sn_tokenizer_decode(ids)");
        free(text);
        free(ids);
    }
    return 0;
}
