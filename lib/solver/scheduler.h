/* scheduler/scheduler_config.json: which solver family and its settings, with the reference's
 * defaults for missing keys (diffusers DPMSolverMultistepScheduler,
 * FlowMatchEulerDiscreteScheduler, SCMScheduler). */
#ifndef SN_SOLVER_SCHEDULER_H
#define SN_SOLVER_SCHEDULER_H

#include <stdint.h>

#include "core/error.h"

typedef enum sn_scheduler_class {
    SN_SCHED_DPM = 1,   /* DPMSolverMultistepScheduler */
    SN_SCHED_EULER = 2, /* FlowMatchEulerDiscreteScheduler */
    SN_SCHED_SCM = 3    /* SCMScheduler */
} sn_scheduler_class;

typedef struct sn_scheduler_config {
    sn_scheduler_class cls;
    int32_t num_train_timesteps; /* 1000 */
    double flow_shift;           /* DPM flow_shift or Euler shift (1.0 when absent) */
    /* DPM */
    int32_t solver_order;   /* 2 */
    int32_t solver_heun;    /* solver_type "heun" (default "midpoint" = 0) */
    int32_t lower_order_final; /* 1 */
    int32_t euler_at_final;    /* 0 */
    int32_t final_sigma_zero;  /* final_sigmas_type "zero" (default) */
    /* SCM */
    double sigma_data; /* 0.5 */
} sn_scheduler_config;

/* Reads dir/scheduler_config.json. Settings the solvers here cannot reproduce (another
 * prediction type or algorithm, karras sigmas, dynamic shifting...) are SANA_ERR_UNSUPPORTED
 * naming the key. */
sana_status sn_scheduler_config_load(const char *dir, sn_scheduler_config **out);
/* The same from JSON text (origin names it in errors). */
sana_status sn_scheduler_config_parse(const char *text, const char *origin, sn_scheduler_config **out);
void sn_scheduler_config_free(sn_scheduler_config *s);
/* The defaults for a class, as the reference constructs it with no arguments except what SANA's
 * published configs set (DPM: flow_prediction, use_flow_sigmas, flow_shift 3). */
void sn_scheduler_config_default(sn_scheduler_class cls, sn_scheduler_config *c);

#endif
