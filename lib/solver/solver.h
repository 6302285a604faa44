/* The solvers' step(): one call per model evaluation, on host float32 arrays, reproducing
 * scheduler.step() of DPMSolverMultistepScheduler (flow sigmas, DPM-Solver++ 1st/2nd order),
 * FlowMatchEulerDiscreteScheduler and SCMScheduler. Spec solvers.md §2-§5. */
#ifndef SN_SOLVER_SOLVER_H
#define SN_SOLVER_SOLVER_H

#include <stddef.h>

#include "solver/rng.h"
#include "solver/schedule.h"

typedef struct sn_solver {
    sn_schedule sched;
    sn_scheduler_config cfg;
    size_t numel;        /* elements of the latent batch */
    int32_t step_index;  /* next step to run */
    int32_t lower_order_nums;
    float *d_prev;       /* DPM: the previous data prediction (model_outputs[-2]) */
    float *d_cur;        /* DPM: this step's data prediction; SCM: pred_x0 of the last step */
    float *noise;        /* SCM: renoise draw */
} sn_solver;

/* A solver over `sched` for latents of `numel` floats; cfg may be NULL (defaults). */
sana_status sn_solver_init(sn_solver *s, const sn_schedule *sched, const sn_scheduler_config *cfg,
                           size_t numel);
void sn_solver_free(sn_solver *s);
/* Starts at step `first` (img2img; 0 otherwise), like scheduler.set_begin_index(first). */
void sn_solver_begin(sn_solver *s, int32_t first);

/* scheduler.step(model_output, t_i, sample): updates `sample` in place. `rng` is the generator
 * the pipeline passes (the SCM draws its renoise from it; others ignore it). */
sana_status sn_solver_step(sn_solver *s, const float *model_output, float *sample, sn_rng *rng);

/* Sprint (SanaSprintPipeline) around the transformer call, at step i:
 *  model input  x_in = (x / sigma_data) * sqrt(tau^2 + (1 - tau)^2)
 *  model output out  = ((1 - 2 tau) x_in + (1 - 2 tau + 2 tau^2) v) / sqrt(...) * sigma_data
 * (`v` and `out` may alias). */
void sn_scm_model_input(const sn_solver *s, int32_t i, const float *x, float *x_in);
void sn_scm_model_output(const sn_solver *s, int32_t i, const float *x_in, const float *v, float *out);
/* After the last SCM step: the latent to decode, denoised / sigma_data. */
void sn_scm_final_latents(const sn_solver *s, float *out);

#endif
