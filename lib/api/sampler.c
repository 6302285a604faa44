/* sana_sampler: which solver, how many steps, with what shift, from the model's scheduler
 * config unless the caller overrides it. */
#include "api/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void sana_sampler_params_init(sana_sampler_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->solver = SANA_SOLVER_DEFAULT;
}

/* The model is a Sprint (TrigFlow) model: its scheduler is SCM, or its pipeline class says so. */
static int model_is_sprint(const sana_model *m) {
    if (m->scheduler) return m->scheduler->cls == SN_SCHED_SCM;
    return m->info.kind == SANA_MODEL_SPRINT;
}

sana_status sn_sampler_make(const sana_model *model, const sana_sampler_params *params,
                            struct sana_sampler *out) {
    sana_sampler_params p;
    sana_sampler_params_init(&p);
    SN_TRY(sn_params_read(&p, sizeof p, params, "sana_sampler_params"));
    memset(out, 0, sizeof *out);
    const int sprint = model_is_sprint(model);
    sn_scheduler_class cls;
    switch (p.solver) {
    case SANA_SOLVER_DEFAULT:
        cls = model->scheduler ? model->scheduler->cls : sprint ? SN_SCHED_SCM : SN_SCHED_DPM;
        break;
    case SANA_SOLVER_FLOW_DPM: cls = SN_SCHED_DPM; break;
    case SANA_SOLVER_FLOW_EULER: cls = SN_SCHED_EULER; break;
    case SANA_SOLVER_SCM: cls = SN_SCHED_SCM; break;
    default:
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_sampler_params.solver: unknown solver %d", (int)p.solver);
    }
    if ((cls == SN_SCHED_SCM) != sprint)
        return sn_fail(SANA_ERR_UNSUPPORTED,
                       sprint ? "%s: a SANA-Sprint model samples with the SCM solver only"
                              : "%s: the SCM solver needs a SANA-Sprint model",
                       model->path ? model->path : "model");
    if (model->scheduler && model->scheduler->cls == cls)
        out->cfg = *model->scheduler;
    else {
        /* another flow solver than the config's: its defaults, with the model's flow shift */
        sn_scheduler_config_default(cls, &out->cfg);
        if (model->scheduler) {
            out->cfg.flow_shift = model->scheduler->flow_shift;
            out->cfg.num_train_timesteps = model->scheduler->num_train_timesteps;
        }
    }
    if (p.flow_shift != 0.0f) {
        if (!(p.flow_shift > 0.0f) || !isfinite(p.flow_shift))
            return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_sampler_params.flow_shift must be > 0, not %g",
                           (double)p.flow_shift);
        out->cfg.flow_shift = p.flow_shift;
    }
    if (p.steps < 0 || p.steps > SN_MAX_STEPS)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_sampler_params.steps must be 0..%d, not %d",
                       SN_MAX_STEPS, p.steps);
    out->steps = p.steps ? p.steps : cls == SN_SCHED_DPM ? 20 : cls == SN_SCHED_EULER ? 28 : 2;
    out->max_timesteps = p.max_timesteps != 0.0f ? (double)p.max_timesteps : 1.57080;
    out->intermediate_timesteps =
        p.intermediate_timesteps != 0.0f ? (double)p.intermediate_timesteps : 1.3;
    /* a negative intermediate time would be read as "none" by the 2-step schedule */
    if (!isfinite(out->max_timesteps) || !isfinite(out->intermediate_timesteps) ||
        out->intermediate_timesteps < 0.0)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_sampler_params: SCM timesteps must be finite and > 0 "
                       "(0 = the default), not max %g, intermediate %g", out->max_timesteps,
                       out->intermediate_timesteps);
    /* validate once with the default steps */
    sn_schedule sched;
    return sn_sampler_schedule(out, 0, &sched);
}

sana_status sn_sampler_schedule(const struct sana_sampler *s, int32_t steps, sn_schedule *out) {
    int32_t n = steps > 0 ? steps : s->steps;
    switch (s->cfg.cls) {
    case SN_SCHED_DPM: return sn_schedule_dpm(&s->cfg, s->cfg.flow_shift, n, out);
    case SN_SCHED_EULER: return sn_schedule_euler(&s->cfg, s->cfg.flow_shift, n, out);
    case SN_SCHED_SCM:
        /* the pipeline passes the intermediate time only with 2 steps (diffusers requires None
         * otherwise) */
        return sn_schedule_scm(n, s->max_timesteps, n == 2 ? s->intermediate_timesteps : -1.0, out);
    }
    return sn_fail(SANA_ERR_INTERNAL, "sampler: unknown scheduler class %d", (int)s->cfg.cls);
}

const char *sn_sampler_name(const struct sana_sampler *s) {
    return s->cfg.cls == SN_SCHED_DPM ? "Flow-DPM-Solver" : s->cfg.cls == SN_SCHED_EULER ? "Flow-Euler" : "SCM";
}

sana_status sana_sampler_create(const sana_model *model, const sana_sampler_params *params,
                                sana_sampler **out) {
    sn_error_clear();
    if (!out) return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_sampler_create: out is NULL");
    *out = NULL;
    if (!model) return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_sampler_create: model is NULL");
    sana_sampler *s = calloc(1, sizeof *s);
    if (!s) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "sana_sampler_create: out of memory");
    sana_status st = sn_sampler_make(model, params, s);
    if (st != SANA_OK) {
        free(s);
        return st;
    }
    *out = s;
    return SANA_OK;
}

void sana_sampler_free(sana_sampler *sampler) { free(sampler); }

sana_status sana_sampler_timesteps(const sana_sampler *sampler, float *timesteps, size_t capacity,
                                   size_t *count) {
    sn_error_clear();
    if (count) *count = 0;
    if (!sampler || !count)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_sampler_timesteps: sampler or count is NULL");
    if (capacity && !timesteps)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_sampler_timesteps: timesteps is NULL");
    sn_schedule sched;
    SN_TRY(sn_sampler_schedule(sampler, 0, &sched));
    /* what the transformer is given at each step (SCM: the flow time in [0, 1]) */
    for (int32_t i = 0; i < sched.steps && (size_t)i < capacity; i++)
        timesteps[i] = sn_schedule_model_timestep(&sched, i);
    *count = (size_t)sched.steps;
    return SANA_OK;
}
