/* Timestep/sigma schedules, computed as the reference computes them (numpy float64, then cast;
 * torch float32 where it uses torch). Spec solvers.md §2.1, §3, §5. */
#ifndef SN_SOLVER_SCHEDULE_H
#define SN_SOLVER_SCHEDULE_H

#include <stdint.h>

#include "core/error.h"
#include "solver/scheduler.h"

#define SN_MAX_STEPS 1000

typedef struct sn_schedule {
    sn_scheduler_class cls;
    int32_t steps;  /* model evaluations */
    /* scheduler.timesteps: DPM N integers (as floats, exact), Euler N floats, SCM N+1 TrigFlow
     * times ending in 0 */
    float timesteps[SN_MAX_STEPS + 1];
    int32_t n_timesteps;
    /* scheduler.sigmas (DPM, Euler): N+1 flow sigmas ending in 0; unused for SCM */
    float sigmas[SN_MAX_STEPS + 1];
} sn_schedule;

/* DPMSolverMultistepScheduler.set_timesteps(N) with use_flow_sigmas and final sigma zero. */
sana_status sn_schedule_dpm(const sn_scheduler_config *c, double flow_shift, int32_t steps,
                            sn_schedule *out);
/* FlowMatchEulerDiscreteScheduler(shift).set_timesteps(N). */
sana_status sn_schedule_euler(const sn_scheduler_config *c, double flow_shift, int32_t steps,
                              sn_schedule *out);
/* SCMScheduler.set_timesteps(N, max_timesteps, intermediate_timesteps); intermediate < 0 means
 * None (required for N != 2, as diffusers requires). */
sana_status sn_schedule_scm(int32_t steps, double max_timesteps, double intermediate_timesteps,
                            sn_schedule *out);

/* The timestep the pipeline hands the transformer at step i, as a float: DPM the integer
 * timestep, Euler 1000*sigma (float32), SCM the flow time tau = sin(s) / (cos(s) + sin(s)) of
 * the TrigFlow time s (float32, as the Sprint pipeline computes it). */
float sn_schedule_model_timestep(const sn_schedule *s, int32_t i);

/* numpy.linspace(start, stop, num) in float64: start + k*step, the last value exactly stop. */
double sn_linspace_f64(double start, double stop, int32_t num, int32_t k);

#endif
