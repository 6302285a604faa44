/* Placeholder until the solvers land (issue 7). */
#include "solver/scheduler.h"

sana_status sn_scheduler_config_load(const char *dir, sn_scheduler_config **out) {
    *out = NULL;
    return sn_fail(SANA_ERR_UNSUPPORTED, "%s: the schedulers are not implemented yet", dir);
}
void sn_scheduler_config_free(sn_scheduler_config *s) { (void)s; }
