/* scheduler.step() of the three solvers, element by element in float32 with the reference's
 * operation order: torch evaluates `a * x - b * y` on float32 tensors as three roundings
 * (two products, one difference) and the scalar coefficients as float32 0-dim tensors. */
#include "solver/solver.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

sana_status sn_solver_init(sn_solver *s, const sn_schedule *sched, const sn_scheduler_config *cfg,
                           size_t numel) {
    memset(s, 0, sizeof *s);
    s->sched = *sched;
    if (cfg)
        s->cfg = *cfg;
    else
        sn_scheduler_config_default(sched->cls, &s->cfg);
    s->numel = numel;
    s->d_prev = malloc(numel * sizeof(float));
    s->d_cur = malloc(numel * sizeof(float));
    s->noise = sched->cls == SN_SCHED_SCM ? malloc(numel * sizeof(float)) : NULL;
    if (!s->d_prev || !s->d_cur || (sched->cls == SN_SCHED_SCM && !s->noise)) {
        sn_solver_free(s);
        return sn_fail(SANA_ERR_OUT_OF_MEMORY, "solver state for %zu latent values: out of memory", numel);
    }
    return SANA_OK;
}

void sn_solver_free(sn_solver *s) {
    free(s->d_prev);
    free(s->d_cur);
    free(s->noise);
    s->d_prev = s->d_cur = s->noise = NULL;
}

void sn_solver_begin(sn_solver *s, int32_t first) {
    s->step_index = first;
    s->lower_order_nums = 0;
}

/* tau = sin(s) / (cos(s) + sin(s)) for the SCM step i (float32). */
static float scm_tau(const sn_solver *s, int32_t i) { return sn_schedule_model_timestep(&s->sched, i); }

/* --- DPM-Solver++ (flow sigmas: alpha = 1 - sigma) ------------------------------------------- */

static float dpm_lambda(float sigma) {
    float alpha = 1.0f - sigma;
    return logf(alpha) - logf(sigma); /* +inf at sigma = 0 */
}

static void dpm_step(sn_solver *s, const float *v, float *x) {
    const int32_t i = s->step_index, n = s->sched.steps;
    const size_t numel = s->numel;
    const float sigma_s = s->sched.sigmas[i], sigma_t = s->sched.sigmas[i + 1];

    /* convert_model_output (flow_prediction): x0_pred = sample - sigma_t * model_output; the
     * history shifts: model_outputs[-2] <- [-1], [-1] <- x0_pred */
    float *tmp = s->d_prev;
    s->d_prev = s->d_cur;
    s->d_cur = tmp;
    float *d0 = s->d_cur, *d1prev = s->d_prev;
    for (size_t k = 0; k < numel; k++) d0[k] = x[k] - sigma_s * v[k];

    int lower_final = i == n - 1 && (s->cfg.euler_at_final || (s->cfg.lower_order_final && n < 15) ||
                                     s->cfg.final_sigma_zero);
    const float alpha_t = 1.0f - sigma_t;
    const float lambda_t = dpm_lambda(sigma_t), lambda_s0 = dpm_lambda(sigma_s);
    const float h = lambda_t - lambda_s0;
    const float ratio = sigma_t / sigma_s;
    const float em1 = expf(-h) - 1.0f;
    const float c = alpha_t * em1;

    if (s->cfg.solver_order == 1 || s->lower_order_nums < 1 || lower_final) {
        /* x_t = (sigma_t / sigma_s) * sample - (alpha_t * (exp(-h) - 1)) * x0_pred */
        for (size_t k = 0; k < numel; k++) x[k] = ratio * x[k] - c * d0[k];
    } else {
        /* multistep second order with m0 = x0_pred (this step), m1 = the previous one */
        const float sigma_s1 = s->sched.sigmas[i - 1];
        const float lambda_s1 = dpm_lambda(sigma_s1);
        const float h0 = lambda_s0 - lambda_s1;
        const float r0 = h0 / h;
        const float inv_r0 = 1.0f / r0;
        if (!s->cfg.solver_heun) {
            /* x_t = ratio * x - c * D0 - 0.5 * c * D1, D1 = (1 / r0) * (m0 - m1) */
            const float half_c = 0.5f * c;
            for (size_t k = 0; k < numel; k++) {
                float dd = inv_r0 * (d0[k] - d1prev[k]);
                x[k] = (ratio * x[k] - c * d0[k]) - half_c * dd;
            }
        } else {
            /* x_t = ratio * x - c * D0 + (alpha_t * ((exp(-h) - 1) / h + 1)) * D1 */
            const float ch = alpha_t * (em1 / h + 1.0f);
            for (size_t k = 0; k < numel; k++) {
                float dd = inv_r0 * (d0[k] - d1prev[k]);
                x[k] = (ratio * x[k] - c * d0[k]) + ch * dd;
            }
        }
    }
    if (s->lower_order_nums < s->cfg.solver_order) s->lower_order_nums++;
}

/* --- Flow-Euler ------------------------------------------------------------------------------- */

static void euler_step(sn_solver *s, const float *v, float *x) {
    const int32_t i = s->step_index;
    const float dt = s->sched.sigmas[i + 1] - s->sched.sigmas[i];
    for (size_t k = 0; k < s->numel; k++) x[k] = x[k] + dt * v[k];
}

/* --- SCM (TrigFlow) ---------------------------------------------------------------------------- */

static void scm_step(sn_solver *s, const float *v, float *x, sn_rng *rng) {
    const int32_t i = s->step_index;
    const float ts = s->sched.timesteps[i], tt = s->sched.timesteps[i + 1];
    const float cs = cosf(ts), ss = sinf(ts);
    float *x0 = s->d_cur;
    /* pred_x0 = cos(s) * sample - sin(s) * model_output */
    for (size_t k = 0; k < s->numel; k++) x0[k] = cs * x[k] - ss * v[k];
    /* noise = randn(shape, generator) * sigma_data, drawn even on the last step;
     * prev_sample = cos(t) * pred_x0 + sin(t) * noise */
    const float sd = (float)s->cfg.sigma_data;
    sn_rng_randn(rng, s->noise, s->numel);
    const float ct = cosf(tt), st = sinf(tt);
    for (size_t k = 0; k < s->numel; k++) {
        float z = s->noise[k] * sd;
        x[k] = ct * x0[k] + st * z;
    }
}

sana_status sn_solver_step(sn_solver *s, const float *v, float *x, sn_rng *rng) {
    if (s->step_index < 0 || s->step_index >= s->sched.steps)
        return sn_fail(SANA_ERR_INTERNAL, "solver: step %d of %d", s->step_index, s->sched.steps);
    switch (s->sched.cls) {
    case SN_SCHED_DPM: dpm_step(s, v, x); break;
    case SN_SCHED_EULER: euler_step(s, v, x); break;
    case SN_SCHED_SCM:
        if (!rng) return sn_fail(SANA_ERR_INTERNAL, "SCM step without a generator");
        scm_step(s, v, x, rng);
        break;
    }
    s->step_index++;
    return SANA_OK;
}

/* --- Sprint pipeline around the transformer ---------------------------------------------------- */

/* sqrt(tau**2 + (1 - tau)**2) in float32. */
static float scm_norm(float tau) {
    float a = tau * tau, b = (1.0f - tau) * (1.0f - tau);
    return sqrtf(a + b);
}

void sn_scm_model_input(const sn_solver *s, int32_t i, const float *x, float *x_in) {
    const float tau = scm_tau(s, i), sq = scm_norm(tau), sd = (float)s->cfg.sigma_data;
    for (size_t k = 0; k < s->numel; k++) x_in[k] = (x[k] / sd) * sq;
}

void sn_scm_model_output(const sn_solver *s, int32_t i, const float *x_in, const float *v, float *out) {
    const float tau = scm_tau(s, i), sq = scm_norm(tau), sd = (float)s->cfg.sigma_data;
    const float c1 = 1.0f - 2.0f * tau;
    const float c2 = (1.0f - 2.0f * tau) + 2.0f * (tau * tau);
    for (size_t k = 0; k < s->numel; k++) {
        float f = (c1 * x_in[k] + c2 * v[k]) / sq;
        out[k] = f * sd;
    }
}

void sn_scm_final_latents(const sn_solver *s, float *out) {
    const float sd = (float)s->cfg.sigma_data;
    for (size_t k = 0; k < s->numel; k++) out[k] = s->d_cur[k] / sd;
}
