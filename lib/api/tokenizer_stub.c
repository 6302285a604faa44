/* Placeholder until the tokenizer lands (issue 4). */
#include <string.h>

#include "api/internal.h"

#define SN_NOT_YET(what) sn_fail(SANA_ERR_UNSUPPORTED, "%s is not implemented yet in this libsana", what)

sana_status sana_tokenizer_load(const char *path, sana_tokenizer **out) {
    (void)path;
    sn_error_clear();
    if (out) *out = NULL;
    return SN_NOT_YET("sana_tokenizer_load");
}
void sana_tokenizer_free(sana_tokenizer *tok) { (void)tok; }
sana_status sana_tokenizer_encode(const sana_tokenizer *tok, const char *text, size_t len,
                                  int32_t add_special, int32_t *ids, size_t capacity, size_t *n_ids) {
    (void)tok;
    (void)text;
    (void)len;
    (void)add_special;
    (void)ids;
    (void)capacity;
    if (n_ids) *n_ids = 0;
    sn_error_clear();
    return SN_NOT_YET("sana_tokenizer_encode");
}
sana_status sana_tokenizer_decode(const sana_tokenizer *tok, const int32_t *ids, size_t n_ids,
                                  int32_t skip_special, char *text, size_t capacity, size_t *len) {
    (void)tok;
    (void)ids;
    (void)n_ids;
    (void)skip_special;
    (void)text;
    (void)capacity;
    if (len) *len = 0;
    sn_error_clear();
    return SN_NOT_YET("sana_tokenizer_decode");
}
int32_t sana_tokenizer_vocab_size(const sana_tokenizer *tok) {
    (void)tok;
    return 0;
}
