/* scheduler_config.json → sn_scheduler_config. */
#include "solver/scheduler.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/config.h"

void sn_scheduler_config_default(sn_scheduler_class cls, sn_scheduler_config *c) {
    memset(c, 0, sizeof *c);
    c->cls = cls;
    c->num_train_timesteps = 1000;
    c->flow_shift = cls == SN_SCHED_DPM ? 3.0 : cls == SN_SCHED_EULER ? 3.0 : 1.0;
    c->solver_order = 2;
    c->lower_order_final = 1;
    c->final_sigma_zero = 1;
    c->sigma_data = 0.5;
}

/* A key whose value must equal `want` (string) for the solvers here to be exact. */
static sana_status require_string(const sn_config *j, const char *key, const char *def,
                                  const char *want, const char *origin) {
    const char *v;
    SN_TRY(sn_config_string(j, key, def, &v));
    if (strcmp(v, want) != 0)
        return sn_fail(SANA_ERR_UNSUPPORTED, "%s: %s is \"%s\"; only \"%s\" is supported", origin, key,
                       v, want);
    return SANA_OK;
}

static sana_status require_false(const sn_config *j, const char *key, const char *origin) {
    int v;
    SN_TRY(sn_config_bool(j, key, 0, &v));
    if (v) return sn_fail(SANA_ERR_UNSUPPORTED, "%s: %s = true is not supported", origin, key);
    return SANA_OK;
}

static sana_status parse_dpm(const sn_config *j, const char *origin, sn_scheduler_config *c) {
    int64_t i;
    double d;
    int b;
    const char *s;
    SN_TRY(require_string(j, "prediction_type", "epsilon", "flow_prediction", origin));
    SN_TRY(require_string(j, "algorithm_type", "dpmsolver++", "dpmsolver++", origin));
    SN_TRY(sn_config_bool(j, "use_flow_sigmas", 0, &b));
    if (!b) return sn_fail(SANA_ERR_UNSUPPORTED, "%s: use_flow_sigmas must be true (SANA's flow schedule)", origin);
    SN_TRY(require_false(j, "thresholding", origin));
    SN_TRY(require_false(j, "use_karras_sigmas", origin));
    SN_TRY(require_false(j, "use_exponential_sigmas", origin));
    SN_TRY(require_false(j, "use_beta_sigmas", origin));
    SN_TRY(require_false(j, "use_lu_lambdas", origin));
    SN_TRY(require_false(j, "use_dynamic_shifting", origin));
    SN_TRY(sn_config_positive(j, "flow_shift", 1.0, &d));
    c->flow_shift = d;
    SN_TRY(sn_config_int(j, "solver_order", 2, &i));
    if (i < 1 || i > 2)
        return sn_fail(SANA_ERR_UNSUPPORTED, "%s: solver_order %lld (only 1 or 2)", origin, (long long)i);
    c->solver_order = (int32_t)i;
    SN_TRY(sn_config_string(j, "solver_type", "midpoint", &s));
    if (strcmp(s, "midpoint") && strcmp(s, "heun"))
        return sn_fail(SANA_ERR_UNSUPPORTED, "%s: solver_type \"%s\"", origin, s);
    c->solver_heun = !strcmp(s, "heun");
    SN_TRY(sn_config_bool(j, "lower_order_final", 1, &b));
    c->lower_order_final = b;
    SN_TRY(sn_config_bool(j, "euler_at_final", 0, &b));
    c->euler_at_final = b;
    SN_TRY(require_string(j, "final_sigmas_type", "zero", "zero", origin));
    c->final_sigma_zero = 1;
    return SANA_OK;
}

static sana_status parse_euler(const sn_config *j, const char *origin, sn_scheduler_config *c) {
    double d;
    SN_TRY(require_false(j, "use_dynamic_shifting", origin));
    SN_TRY(require_false(j, "invert_sigmas", origin));
    SN_TRY(require_false(j, "use_karras_sigmas", origin));
    SN_TRY(require_false(j, "use_exponential_sigmas", origin));
    SN_TRY(require_false(j, "use_beta_sigmas", origin));
    SN_TRY(require_false(j, "stochastic_sampling", origin));
    if (sn_config_has(j, "shift_terminal")) {
        SN_TRY(sn_config_float(j, "shift_terminal", 0.0, &d));
        if (d != 0.0) return sn_fail(SANA_ERR_UNSUPPORTED, "%s: shift_terminal is not supported", origin);
    }
    SN_TRY(sn_config_positive(j, "shift", 1.0, &d));
    c->flow_shift = d;
    return SANA_OK;
}

static sana_status parse_scm(const sn_config *j, const char *origin, sn_scheduler_config *c) {
    SN_TRY(require_string(j, "prediction_type", "trigflow", "trigflow", origin));
    SN_TRY(sn_config_positive(j, "sigma_data", 0.5, &c->sigma_data));
    return SANA_OK;
}

static sana_status parse_config(const sn_config *j, const char *origin, sn_scheduler_config *c) {
    const char *cls;
    SN_TRY(sn_config_string(j, "_class_name", "", &cls));
    sn_scheduler_class k = !strcmp(cls, "DPMSolverMultistepScheduler")       ? SN_SCHED_DPM
                           : !strcmp(cls, "FlowMatchEulerDiscreteScheduler") ? SN_SCHED_EULER
                           : !strcmp(cls, "SCMScheduler")                    ? SN_SCHED_SCM
                                                                             : 0;
    if (!k)
        return sn_fail(SANA_ERR_UNSUPPORTED, "%s: scheduler class \"%s\" is not supported "
                       "(DPMSolverMultistepScheduler, FlowMatchEulerDiscreteScheduler, SCMScheduler)",
                       origin, cls);
    sn_scheduler_config_default(k, c);
    int64_t n;
    SN_TRY(sn_config_int(j, "num_train_timesteps", 1000, &n));
    if (n < 1 || n > 1000000)
        return sn_fail(SANA_ERR_FORMAT, "%s: num_train_timesteps %lld is out of range", origin, (long long)n);
    c->num_train_timesteps = (int32_t)n;
    if (k == SN_SCHED_DPM) return parse_dpm(j, origin, c);
    if (k == SN_SCHED_EULER) return parse_euler(j, origin, c);
    return parse_scm(j, origin, c);
}

static sana_status finish(sn_config *j, const char *origin, sn_scheduler_config **out) {
    sn_scheduler_config *c = calloc(1, sizeof *c);
    if (!c) {
        sn_config_free(j);
        return sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory", origin);
    }
    sana_status st = parse_config(j, origin, c);
    sn_config_free(j);
    if (st != SANA_OK) {
        free(c);
        return st;
    }
    *out = c;
    return SANA_OK;
}

sana_status sn_scheduler_config_load(const char *dir, sn_scheduler_config **out) {
    *out = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/scheduler_config.json", dir);
    sn_config *j = NULL;
    SN_TRY(sn_config_load(path, &j));
    return finish(j, path, out);
}

sana_status sn_scheduler_config_parse(const char *text, const char *origin, sn_scheduler_config **out) {
    *out = NULL;
    sn_config *j = NULL;
    SN_TRY(sn_config_parse(text, strlen(text), origin, &j));
    return finish(j, origin, out);
}

void sn_scheduler_config_free(sn_scheduler_config *s) { free(s); }
