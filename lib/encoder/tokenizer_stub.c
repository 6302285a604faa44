/* Placeholder until the tokenizer lands (issue 4). */
#include "encoder/tokenizer.h"

sana_status sn_tokenizer_load(const char *path, sn_tokenizer **out) {
    *out = NULL;
    return sn_fail(SANA_ERR_UNSUPPORTED, "%s: the tokenizer is not implemented yet", path);
}
void sn_tokenizer_free(sn_tokenizer *tok) { (void)tok; }
