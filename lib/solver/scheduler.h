/* scheduler/scheduler_config.json: which solver family and its settings. */
#ifndef SN_SOLVER_SCHEDULER_H
#define SN_SOLVER_SCHEDULER_H

#include "core/error.h"

typedef struct sn_scheduler_config sn_scheduler_config;

sana_status sn_scheduler_config_load(const char *dir, sn_scheduler_config **out);
void sn_scheduler_config_free(sn_scheduler_config *s);

#endif
