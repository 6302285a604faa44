/* Placeholder until the tokenizer lands (issue 4): the interface of tokenizer.h, all failing. */
#include <stdlib.h>

#include "encoder/tokenizer.h"

sana_status sn_tokenizer_load(const char *path, sn_tokenizer **out) {
    *out = NULL;
    return sn_fail(SANA_ERR_UNSUPPORTED, "%s: the tokenizer is not implemented yet", path);
}
void sn_tokenizer_free(sn_tokenizer *tok) { (void)tok; }
sana_status sn_tokenizer_encode(const sn_tokenizer *tok, const char *text, size_t len,
                                int add_special, int32_t **ids, size_t *n_ids) {
    (void)tok, (void)text, (void)len, (void)add_special;
    *ids = NULL;
    *n_ids = 0;
    return sn_fail(SANA_ERR_UNSUPPORTED, "the tokenizer is not implemented yet");
}
sana_status sn_tokenizer_decode(const sn_tokenizer *tok, const int32_t *ids, size_t n_ids,
                                int skip_special, char **text, size_t *len) {
    (void)tok, (void)ids, (void)n_ids, (void)skip_special;
    *text = NULL;
    *len = 0;
    return sn_fail(SANA_ERR_UNSUPPORTED, "the tokenizer is not implemented yet");
}
int32_t sn_tokenizer_vocab_size(const sn_tokenizer *tok) { (void)tok; return 0; }
int32_t sn_tokenizer_bos_id(const sn_tokenizer *tok) { (void)tok; return -1; }
int32_t sn_tokenizer_eos_id(const sn_tokenizer *tok) { (void)tok; return -1; }
int32_t sn_tokenizer_pad_id(const sn_tokenizer *tok) { (void)tok; return -1; }
int32_t sn_tokenizer_unk_id(const sn_tokenizer *tok) { (void)tok; return -1; }
int sn_tokenizer_adds_bos(const sn_tokenizer *tok) { (void)tok; return 0; }
const char *sn_tokenizer_piece(const sn_tokenizer *tok, int32_t id, size_t *len) {
    (void)tok, (void)id;
    if (len) *len = 0;
    return NULL;
}
int32_t sn_tokenizer_piece_id(const sn_tokenizer *tok, const char *piece, size_t len) {
    (void)tok, (void)piece, (void)len;
    return -1;
}
