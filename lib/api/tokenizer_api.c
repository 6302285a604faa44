/* The public tokenizer calls: thin wrappers over lib/encoder/tokenizer.h that check arguments,
 * copy into the caller's buffers and leave error text for sana_last_error(). */
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "encoder/tokenizer.h"

struct sana_tokenizer {
    sn_tokenizer *tok;
};

sana_status sana_tokenizer_load(const char *path, sana_tokenizer **out) {
    sn_error_clear();
    if (!out) return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_tokenizer_load: out is NULL");
    *out = NULL;
    if (!path) return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_tokenizer_load: path is NULL");
    sana_tokenizer *h = calloc(1, sizeof *h);
    if (!h) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "sana_tokenizer_load: out of memory");
    sana_status st = sn_tokenizer_load(path, &h->tok);
    if (st != SANA_OK) {
        free(h);
        return st;
    }
    *out = h;
    return SANA_OK;
}

void sana_tokenizer_free(sana_tokenizer *tok) {
    if (!tok) return;
    sn_tokenizer_free(tok->tok);
    free(tok);
}

sana_status sana_tokenizer_encode(const sana_tokenizer *tok, const char *text, size_t len,
                                  int32_t add_special, int32_t *ids, size_t capacity,
                                  size_t *n_ids) {
    sn_error_clear();
    if (n_ids) *n_ids = 0;
    if (!tok || !n_ids || (!text && len) || (!ids && capacity))
        return sn_fail(SANA_ERR_INVALID_ARGUMENT,
                       "sana_tokenizer_encode: NULL tokenizer, n_ids, text or ids");
    int32_t *all;
    size_t n;
    SN_TRY(sn_tokenizer_encode(tok->tok, text, len, add_special != 0, &all, &n));
    if (n && capacity) memcpy(ids, all, (n < capacity ? n : capacity) * sizeof *all);
    free(all);
    *n_ids = n;
    return SANA_OK;
}

sana_status sana_tokenizer_decode(const sana_tokenizer *tok, const int32_t *ids, size_t n_ids,
                                  int32_t skip_special, char *text, size_t capacity, size_t *len) {
    sn_error_clear();
    if (len) *len = 0;
    if (!tok || !len || (!ids && n_ids) || (!text && capacity))
        return sn_fail(SANA_ERR_INVALID_ARGUMENT,
                       "sana_tokenizer_decode: NULL tokenizer, len, ids or text");
    char *s;
    size_t n;
    SN_TRY(sn_tokenizer_decode(tok->tok, ids, n_ids, skip_special != 0, &s, &n));
    if (capacity) {
        size_t c = n < capacity - 1 ? n : capacity - 1;
        memcpy(text, s, c);
        text[c] = '\0';
    }
    free(s);
    *len = n;
    return SANA_OK;
}

int32_t sana_tokenizer_vocab_size(const sana_tokenizer *tok) {
    return tok ? sn_tokenizer_vocab_size(tok->tok) : 0;
}
