/* Schedules. Every expression keeps the reference's evaluation order and precision; the
 * comments give the reference line each one reproduces. */
#include "solver/schedule.h"

#include <math.h>
#include <string.h>

double sn_linspace_f64(double start, double stop, int32_t num, int32_t k) {
    if (num > 1 && k == num - 1) return stop;
    if (num <= 1) return start;
    double step = (stop - start) / (double)(num - 1);
    return (double)k * step + start;
}

static sana_status check_steps(int32_t steps, int32_t max, const char *what) {
    if (steps < 1 || steps > max)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "%s: steps must be 1..%d, not %d", what, max, steps);
    return SANA_OK;
}

sana_status sn_schedule_dpm(const sn_scheduler_config *c, double s, int32_t steps, sn_schedule *out) {
    int32_t T = c ? c->num_train_timesteps : 1000;
    SN_TRY(check_steps(steps, SN_MAX_STEPS < T ? SN_MAX_STEPS : T, "Flow-DPM-Solver"));
    if (!(s > 0.0) || !isfinite((float)s))
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "Flow-DPM-Solver: flow_shift must be finite and > 0, not %g", s);
    memset(out, 0, sizeof *out);
    out->cls = SN_SCHED_DPM;
    out->steps = steps;
    out->n_timesteps = steps;
    /* alphas = np.linspace(1, 1 / T, N + 1); sigmas = 1.0 - alphas;
     * sigmas = np.flip(shift * sigmas / (1 + (shift - 1) * sigmas))[:-1] */
    for (int32_t i = 0; i < steps; i++) {
        int32_t k = steps - i; /* flipped index */
        double u = 1.0 - sn_linspace_f64(1.0, 1.0 / (double)T, steps + 1, k);
        double sig = s * u / (1.0 + (s - 1.0) * u);
        out->sigmas[i] = (float)sig;
        /* timesteps = (sigmas * T) -> int64 (truncation) */
        out->timesteps[i] = (float)(int64_t)(sig * (double)T);
    }
    out->sigmas[steps] = 0.0f; /* final_sigmas_type "zero" */
    return SANA_OK;
}

/* shift * sigma / (1 + (shift - 1) * sigma) in float32, as torch computes it on a float32 tensor
 * with Python-float scalars. */
static float shift_f32(float shift, float sig) {
    float num = shift * sig;
    float den = 1.0f + (shift - 1.0f) * sig;
    return num / den;
}

sana_status sn_schedule_euler(const sn_scheduler_config *c, double s, int32_t steps, sn_schedule *out) {
    int32_t T = c ? c->num_train_timesteps : 1000;
    SN_TRY(check_steps(steps, SN_MAX_STEPS, "Flow-Euler"));
    if (!(s > 0.0) || !isfinite((float)s))
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "Flow-Euler: shift must be finite and > 0, not %g", s);
    memset(out, 0, sizeof *out);
    out->cls = SN_SCHED_EULER;
    out->steps = steps;
    out->n_timesteps = steps;
    /* __init__: sigmas = (float32 k for k = T..1) / T, shifted in float32;
     * sigma_max = sigmas[0], sigma_min = sigmas[-1] (Python floats of the float32 values) */
    float sig_max = shift_f32((float)s, (float)T / (float)T);
    float sig_min = shift_f32((float)s, 1.0f / (float)T);
    /* set_timesteps: timesteps = np.linspace(sigma_max * T, sigma_min * T, N) (float64);
     * sigmas = timesteps / T; sigmas = shift * sigmas / (1 + (shift - 1) * sigmas) (float64);
     * then float32, and timesteps = sigmas * T in float32 */
    for (int32_t i = 0; i < steps; i++) {
        double t = sn_linspace_f64((double)sig_max * (double)T, (double)sig_min * (double)T, steps, i);
        double sig = t / (double)T;
        sig = s * sig / (1.0 + (s - 1.0) * sig);
        out->sigmas[i] = (float)sig;
        out->timesteps[i] = out->sigmas[i] * (float)T;
    }
    out->sigmas[steps] = 0.0f;
    return SANA_OK;
}

sana_status sn_schedule_scm(int32_t steps, double max_t, double inter_t, sn_schedule *out) {
    SN_TRY(check_steps(steps, SN_MAX_STEPS, "SCM"));
    if (!(max_t > 0.0) || max_t > 1.6)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "SCM: max_timesteps must be in (0, 1.6], not %g", max_t);
    if (inter_t >= 0.0 && steps != 2)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT,
                       "SCM: an intermediate timestep is only supported with 2 steps, not %d", steps);
    if (inter_t >= 0.0 && !(inter_t < max_t))
        return sn_fail(SANA_ERR_INVALID_ARGUMENT,
                       "SCM: intermediate_timesteps %g must be below max_timesteps %g", inter_t, max_t);
    memset(out, 0, sizeof *out);
    out->cls = SN_SCHED_SCM;
    out->steps = steps;
    out->n_timesteps = steps + 1;
    if (inter_t >= 0.0) {
        /* torch.tensor([max_timesteps, intermediate_timesteps, 0]).float() */
        out->timesteps[0] = (float)max_t;
        out->timesteps[1] = (float)inter_t;
        out->timesteps[2] = 0.0f;
        return SANA_OK;
    }
    /* torch.linspace(max_timesteps, 0, N + 1) in float32: step = (end - start) / (n - 1); the
     * first half counts up from start, the second half down from end. */
    int32_t n = steps + 1;
    float start = (float)max_t, end = 0.0f;
    float step = (end - start) / (float)(n - 1);
    int32_t halfway = n / 2;
    for (int32_t k = 0; k < n; k++)
        out->timesteps[k] = k < halfway ? start + step * (float)k : end - step * (float)(n - k - 1);
    return SANA_OK;
}

float sn_schedule_model_timestep(const sn_schedule *s, int32_t i) {
    if (s->cls != SN_SCHED_SCM) return s->timesteps[i];
    float t = s->timesteps[i];
    float sn = sinf(t), cs = cosf(t);
    return sn / (cs + sn);
}
