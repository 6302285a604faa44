/* What a sana_sampler holds, shared by sampler.c, denoise.c and generate.c. */
#ifndef SN_API_SAMPLER_H
#define SN_API_SAMPLER_H

#include "api/internal.h"
#include "solver/schedule.h"
#include "solver/scheduler.h"

struct sana_sampler {
    sn_scheduler_config cfg; /* of the solver that runs (flow_shift resolved) */
    int32_t steps;           /* default steps */
    double max_timesteps;    /* SCM */
    double intermediate_timesteps; /* SCM with 2 steps; < 0 = None */
};

/* The sampler a generation uses when the caller gives none: the model's scheduler config and
 * default steps. `params` may be NULL. */
sana_status sn_sampler_make(const sana_model *model, const sana_sampler_params *params,
                            struct sana_sampler *out);
/* The schedule for `steps` (> 0) or the sampler's default steps (0). */
sana_status sn_sampler_schedule(const struct sana_sampler *s, int32_t steps, sn_schedule *out);
/* "Flow-DPM-Solver" / "Flow-Euler" / "SCM". */
const char *sn_sampler_name(const struct sana_sampler *s);

#endif

/* --- the denoising loop (SanaPipeline / SanaPAGPipeline / SanaSprintPipeline, step 7) ------- */

#include "dit/dit.h"
#include "solver/rng.h"
#include "solver/solver.h"

/* Tests: sees each step's transformer call and result. `what` is "model_input" (the call batch,
 * copies x batch), "timestep" (one per call-batch entry), "guidance" (Sprint), "model_output"
 * (the call's output, before guidance) and "latents" (after the step). */
typedef void (*sn_denoise_probe_fn)(void *user, int32_t step, const char *what, const float *data,
                                    size_t n);
/* Installs a probe for the calls made on this thread (NULL removes it). sana_generate also
 * reports "initial_noise" (the randn draw, step -1) and "final_latents" (what is decoded, times
 * scaling_factor, step -1). */
void sn_denoise_set_probe(sn_denoise_probe_fn fn, void *user);
void sn_denoise_probe_initial(const float *noise, size_t n);
void sn_denoise_probe_final(const float *latents, size_t n);

typedef struct sn_denoise_run {
    const sana_model *model;
    sn_dit_text *text;                  /* prepared for the whole call batch (+ positions) */
    int32_t batch, channels, height, width; /* the latents [batch, C, h, w] */
    int cfg, pag;                       /* call batch [uncond, cond, perturbed] subsets */
    float guidance_scale;               /* CFG scale, or the Sprint embedded guidance */
    float pag_scale;
    const int32_t *pag_layers;
    int32_t n_pag_layers;
    const sn_schedule *sched;
    const sn_scheduler_config *sched_cfg;
    int32_t first_step;                 /* img2img: the first step to run */
    sn_rng *rng;                        /* the pipeline's generator (SCM renoise) */
    sana_progress_fn progress;
    void *progress_user;
    sana_preview_fn preview;
    void *preview_user;
} sn_denoise_run;

/* Runs steps first_step..N-1 on `latents` (batch*C*h*w host floats, the initial state). On
 * return `latents` holds what the pipeline decodes (times scaling_factor): the final state, or
 * for SCM the last denoised prediction / sigma_data. Progress after every step; cancellation
 * between steps (SANA_ERR_CANCELLED). */
sana_status sn_denoise_loop(const sn_denoise_run *r, float *latents);
