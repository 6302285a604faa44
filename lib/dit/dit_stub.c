/* Placeholder until the DiT lands (issue 5). */
#include "dit/dit.h"

sana_status sn_dit_load(sn_backend *be, const char *dir, const char *variant, sn_dit **out) {
    (void)be;
    (void)variant;
    *out = NULL;
    return sn_fail(SANA_ERR_UNSUPPORTED, "%s: the SANA transformer is not implemented yet", dir);
}
void sn_dit_free(sn_dit *dit) { (void)dit; }
int64_t sn_dit_param_count(const sn_dit *dit) {
    (void)dit;
    return 0;
}
