/* Placeholder until the text encoder lands (issue 4). */
#include "encoder/gemma.h"

sana_status sn_gemma_load(sn_backend *be, const char *dir, const char *variant, sn_gemma **out) {
    (void)be;
    (void)variant;
    *out = NULL;
    return sn_fail(SANA_ERR_UNSUPPORTED, "%s: the Gemma-2 text encoder is not implemented yet", dir);
}
void sn_gemma_free(sn_gemma *g) { (void)g; }
int64_t sn_gemma_param_count(const sn_gemma *g) {
    (void)g;
    return 0;
}
