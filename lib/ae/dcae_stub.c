/* Placeholder until the DC-AE lands (issue 6). */
#include "ae/dcae.h"

sana_status sn_dcae_load(sn_backend *be, const char *dir, const char *variant, sn_dcae **out) {
    (void)be;
    (void)variant;
    *out = NULL;
    return sn_fail(SANA_ERR_UNSUPPORTED, "%s: the DC-AE autoencoder is not implemented yet", dir);
}
void sn_dcae_free(sn_dcae *ae) { (void)ae; }
int64_t sn_dcae_param_count(const sn_dcae *ae) {
    (void)ae;
    return 0;
}
