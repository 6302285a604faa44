/* Schedules and solver steps: against the oracle's goldens (DPMSolverMultistepScheduler with
 * flow sigmas, FlowMatchEulerDiscreteScheduler, SCMScheduler: timesteps exact, sigmas and every
 * step() 1e-6 relative or the case's recorded tolerance), the spec's published values, and
 * identities between the solvers. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "solver/guidance.h"
#include "solver/schedule.h"
#include "solver/scheduler.h"
#include "solver/solver.h"

/* --- schedules vs goldens ---------------------------------------------------------------------- */

static void check_exact(const char *what, const float *got, const tu_tensor *ref) {
    size_t bad = 0;
    for (size_t i = 0; i < ref->n; i++) {
        double r = ref->f ? (double)ref->f[i] : (double)ref->i[i];
        bad += (double)got[i] != r;
    }
    CHECK(bad == 0, "%s: %zu of %zu timesteps differ", what, bad, ref->n);
}

static void test_schedule_goldens(const char *case_name, sn_scheduler_class cls) {
    const tu_case *c = tu_case_find(case_name);
    if (!c) {
        printf("%s: not in the fixtures, skipped\n", case_name);
        return;
    }
    const cJSON *outs = cJSON_GetObjectItemCaseSensitive((const cJSON *)c->json, "outputs");
    const cJSON *o;
    int runs = 0;
    double worst = 0;
    cJSON_ArrayForEach(o, outs) {
        const char *name = o->valuestring;
        /* "n<steps>_shift<shift>.<field>" (shift as %g: "3", "4.5") */
        const char *dot = strrchr(name, '.'), *sh = strstr(name, "_shift");
        if (name[0] != 'n' || !dot || !sh) continue;
        int steps = atoi(name + 1);
        char num[32] = {0};
        memcpy(num, sh + 6, (size_t)(dot - sh - 6) < sizeof num - 1 ? (size_t)(dot - sh - 6) : sizeof num - 1);
        double shift = strtod(num, NULL);
        const char *field = dot + 1;
        tu_tensor ref;
        if (tu_golden(c, name, &ref)) continue;
        sn_schedule s;
        sana_status st = cls == SN_SCHED_DPM ? sn_schedule_dpm(NULL, shift, steps, &s)
                                              : sn_schedule_euler(NULL, shift, steps, &s);
        CHECK_OK(st);
        if (!strcmp(field, "timesteps")) {
            CHECK(ref.n == (size_t)s.n_timesteps, "%s: %zu timesteps, ours %d", name, ref.n, s.n_timesteps);
            if (ref.n == (size_t)s.n_timesteps) check_exact(name, s.timesteps, &ref);
            runs++;
        } else if (ref.n == (size_t)steps + 1) {
            double e = tu_rel_err(s.sigmas, ref.f, ref.n);
            worst = fmax(worst, e);
            CHECK(e <= tu_case_tol(c, name), "%s: sigmas rel err %g", name, e);
        } else {
            CHECK(0, "%s: %zu sigmas, expected %d", name, ref.n, steps + 1);
        }
        tu_tensor_free(&ref);
    }
    printf("%s: %d schedules, timesteps exact, sigmas max rel err %.3g (tol 1e-6)\n", case_name, runs, worst);
    CHECK(runs >= 32, "%s: only %d schedules compared", case_name, runs);
}

static void test_scm_schedule_goldens(void) {
    const tu_case *c = tu_case_find("schedule/scm");
    if (!c) return;
    const cJSON *runs = (const cJSON *)tu_param_json(c, "runs");
    const cJSON *r;
    int n = 0;
    cJSON_ArrayForEach(r, runs) {
        const char *key = cJSON_GetObjectItemCaseSensitive(r, "key")->valuestring;
        int steps = (int)cJSON_GetObjectItemCaseSensitive(r, "steps")->valuedouble;
        double mx = cJSON_GetObjectItemCaseSensitive(r, "max_timesteps")->valuedouble;
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(r, "intermediate_timesteps");
        double inter = cJSON_IsNumber(it) ? it->valuedouble : -1.0;
        char name[64];
        snprintf(name, sizeof name, "%s.timesteps", key);
        tu_tensor ref;
        if (tu_golden(c, name, &ref)) continue;
        sn_schedule s;
        CHECK_OK(sn_schedule_scm(steps, mx, inter, &s));
        CHECK(ref.n == (size_t)s.n_timesteps, "%s: %zu values, ours %d", name, ref.n, s.n_timesteps);
        if (ref.n == (size_t)s.n_timesteps) check_exact(name, s.timesteps, &ref);
        tu_tensor_free(&ref);
        n++;
    }
    printf("schedule/scm: %d schedules, TrigFlow times bit-exact\n", n);
    CHECK(n >= 5, "only %d SCM schedules compared", n);
}

/* --- solver traces vs goldens ----------------------------------------------------------------- */

static void test_trace(const tu_case *c) {
    const char *name = c->name;
    int steps = (int)tu_param_num(c, "steps", 0);
    double shape[4];
    int nd = tu_param_nums(c, "shape", shape, 4);
    size_t n = 1;
    for (int i = 0; i < nd; i++) n *= (size_t)shape[i];
    sn_schedule s;
    sn_scheduler_class cls = strstr(name, "/dpm") ? SN_SCHED_DPM : strstr(name, "/euler") ? SN_SCHED_EULER : SN_SCHED_SCM;
    if (cls == SN_SCHED_SCM) {
        const cJSON *it = (const cJSON *)tu_param_json(c, "intermediate_timesteps");
        CHECK_OK(sn_schedule_scm(steps, tu_param_num(c, "max_timesteps", 1.5708),
                                 cJSON_IsNumber(it) ? it->valuedouble : -1.0, &s));
    } else if (cls == SN_SCHED_DPM) {
        CHECK_OK(sn_schedule_dpm(NULL, tu_param_num(c, "shift", 3), steps, &s));
    } else {
        CHECK_OK(sn_schedule_euler(NULL, tu_param_num(c, "shift", 3), steps, &s));
    }
    sn_scheduler_config cfg;
    sn_scheduler_config_default(cls, &cfg);
    cfg.sigma_data = tu_param_num(c, "sigma_data", 0.5);
    sn_solver sv;
    CHECK_OK(sn_solver_init(&sv, &s, &cfg, n));
    sn_solver_begin(&sv, 0);
    sn_rng rng;
    sn_rng_seed(&rng, (uint64_t)tu_param_num(c, "generator_seed", 0));
    float *x = malloc(n * sizeof(float));
    double worst = 0;
    for (int i = 0; i < steps; i++) {
        char key[64];
        tu_tensor sample, mo, ts, prev;
        snprintf(key, sizeof key, "step.%d.sample", i);
        int bad = tu_golden(c, key, &sample);
        snprintf(key, sizeof key, "step.%d.model_output", i);
        bad |= tu_golden(c, key, &mo);
        snprintf(key, sizeof key, "step.%d.timestep", i);
        bad |= tu_golden(c, key, &ts);
        snprintf(key, sizeof key, "step.%d.prev_sample", i);
        bad |= tu_golden(c, key, &prev);
        if (bad || sample.n != n) break;
        /* the timestep the pipeline passes step() is the schedule's */
        double t_ref = ts.f ? ts.f[0] : (double)ts.i[0];
        CHECK(s.timesteps[i] == (float)t_ref, "%s step %d: timestep %.9g, reference %.9g", name, i, s.timesteps[i], t_ref);
        memcpy(x, sample.f, n * sizeof(float)); /* each step from the reference's sample */
        CHECK_OK(sn_solver_step(&sv, mo.f, x, &rng));
        snprintf(key, sizeof key, "step.%d.prev_sample", i);
        double e = tu_rel_err(x, prev.f, n);
        worst = fmax(worst, e);
        CHECK(e <= tu_case_tol(c, key), "%s %s: rel err %.3g > %.3g", name, key, e, tu_case_tol(c, key));
        if (cls == SN_SCHED_SCM) {
            tu_tensor den, noise;
            snprintf(key, sizeof key, "step.%d.denoised", i);
            if (!tu_golden(c, key, &den)) {
                double ed = tu_rel_err(sv.d_cur, den.f, n);
                worst = fmax(worst, ed);
                CHECK(ed <= tu_case_tol(c, key), "%s %s: rel err %.3g", name, key, ed);
                tu_tensor_free(&den);
            }
            snprintf(key, sizeof key, "step.%d.noise", i);
            if (!tu_golden(c, key, &noise)) {
                CHECK(memcmp(sv.noise, noise.f, n * sizeof(float)) == 0, "%s %s: renoise draw differs from torch", name, key);
                tu_tensor_free(&noise);
            }
        }
        tu_tensor_free(&sample);
        tu_tensor_free(&mo);
        tu_tensor_free(&ts);
        tu_tensor_free(&prev);
    }
    printf("%s: %d steps, max rel err %.3g (tolerance %.3g)\n", name, steps, worst, c->tolerance);
    free(x);
    sn_solver_free(&sv);
}

static void test_trace_goldens(void) {
    const tu_case *cases[32];
    int n = tu_cases_of_kind("solver_trace", cases, 32);
    for (int i = 0; i < n && i < 32; i++) test_trace(cases[i]);
    if (!n) printf("solver traces: not in the fixtures, skipped\n");
}

/* --- the spec's values and identities --------------------------------------------------------- */

static void test_spec_values(void) {
    static const int t3[20] = {999, 982, 963, 944, 922, 899, 874, 847, 817, 785,
                               749, 710, 666, 617, 562, 499, 428, 345, 249, 136};
    static const int t4[20] = {999, 986, 972, 957, 940, 922, 902, 881, 856, 829,
                               799, 765, 726, 682, 631, 571, 499, 413, 307, 173};
    static const int t6[20] = {999, 991, 981, 971, 959, 947, 933, 917, 899, 879,
                               856, 830, 799, 763, 719, 666, 599, 513, 399, 239};
    const int *tl[3] = {t3, t4, t6};
    const double shifts[3] = {3, 4, 6};
    for (int k = 0; k < 3; k++) {
        sn_schedule s;
        CHECK_OK(sn_schedule_dpm(NULL, shifts[k], 20, &s));
        int bad = 0;
        for (int i = 0; i < 20; i++) bad += s.timesteps[i] != (float)tl[k][i];
        CHECK(bad == 0, "DPM shift %g: %d timesteps differ from the spec", shifts[k], bad);
        CHECK(s.sigmas[20] == 0.0f, "final sigma must be 0");
    }
    sn_schedule s;
    CHECK_OK(sn_schedule_dpm(NULL, 3, 20, &s));
    CHECK(fabs(s.sigmas[0] - 0.99966644) < 1e-7, "sigma_0 %.8f", s.sigmas[0]);
    CHECK_OK(sn_schedule_euler(NULL, 3, 28, &s));
    CHECK(s.sigmas[0] == 1.0f && fabs(s.sigmas[27] - 0.008929) < 1e-6 && s.sigmas[28] == 0.0f,
          "Euler sigmas %.6f .. %.6f", s.sigmas[0], s.sigmas[27]);
    CHECK(s.timesteps[0] == 1000.0f, "Euler first timestep %g", s.timesteps[0]);
    CHECK_OK(sn_schedule_scm(2, 1.5708, 1.3, &s));
    CHECK(s.timesteps[0] == 1.5708f && s.timesteps[1] == 1.3f && s.timesteps[2] == 0.0f, "SCM 2-step times");
    float tau = sn_schedule_model_timestep(&s, 0);
    CHECK(tau > 1.0f && tau < 1.00001f, "SCM tau at 1.5708: %.8f", tau);
    /* refusals */
    CHECK_STATUS(sn_schedule_dpm(NULL, 3, 0, &s), SANA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(sn_schedule_euler(NULL, 3, -2, &s), SANA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(sn_schedule_dpm(NULL, 0, 20, &s), SANA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(sn_schedule_scm(3, 1.5708, 1.3, &s), SANA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(sn_schedule_scm(2, 1.5708, 1.9, &s), SANA_ERR_INVALID_ARGUMENT);
}

/* First-order DPM-Solver++ is the Euler step, x + (sigma_t - sigma_s) v; with N = 1 it is
 * x - sigma_0 v. */
static void test_identities(void) {
    const size_t n = 64;
    float x[64], v[64], y[64], want[64];
    tu_fill_random(x, n, 1);
    tu_fill_random(v, n, 2);
    sn_schedule s;
    CHECK_OK(sn_schedule_dpm(NULL, 3, 1, &s));
    sn_solver sv;
    CHECK_OK(sn_solver_init(&sv, &s, NULL, n));
    memcpy(y, x, sizeof y);
    CHECK_OK(sn_solver_step(&sv, v, y, NULL));
    for (size_t k = 0; k < n; k++) want[k] = x[k] - s.sigmas[0] * v[k];
    double e1 = tu_rel_err(y, want, n);
    CHECK(e1 < 1e-6, "DPM N=1 is x - sigma_0 v: rel err %g", e1);
    sn_solver_free(&sv);

    CHECK_OK(sn_schedule_dpm(NULL, 3, 20, &s));
    CHECK_OK(sn_solver_init(&sv, &s, NULL, n));
    memcpy(y, x, sizeof y);
    CHECK_OK(sn_solver_step(&sv, v, y, NULL)); /* step 0 is first order */
    for (size_t k = 0; k < n; k++) want[k] = x[k] + (s.sigmas[1] - s.sigmas[0]) * v[k];
    double e2 = tu_rel_err(y, want, n);
    CHECK(e2 < 1e-6, "first-order DPM == Euler step: rel err %g", e2);
    /* after the last step the state is the data prediction x - sigma v */
    for (int i = 1; i < 19; i++) CHECK_OK(sn_solver_step(&sv, v, y, NULL));
    float before[64];
    memcpy(before, y, sizeof y);
    CHECK_OK(sn_solver_step(&sv, v, y, NULL));
    for (size_t k = 0; k < n; k++) want[k] = before[k] - s.sigmas[19] * v[k];
    double e3 = tu_rel_err(y, want, n);
    CHECK(e3 < 1e-6, "last DPM step (to sigma 0) returns x0: rel err %g", e3);
    CHECK_STATUS(sn_solver_step(&sv, v, y, NULL), SANA_ERR_INTERNAL);
    printf("identities: DPM N=1 %.2g, first order = Euler %.2g, final = x0 %.2g\n", e1, e2, e3);
    sn_solver_free(&sv);
}

static void test_guidance(void) {
    float out[12] = {1, 2, 3, 4, /* uncond */ 5, 6, 7, 8, /* cond */ 0, 1, 0, 1 /* perturbed */};
    float v[4];
    sn_guidance_combine(out, 4, 1, 0, 4.5f, 0, v);
    CHECK(v[0] == 1 + 4.5f * 4 && v[3] == 4 + 4.5f * 4, "CFG %g %g", v[0], v[3]);
    sn_guidance_combine(out, 4, 1, 1, 4.5f, 2.0f, v);
    CHECK(v[0] == (1 + 4.5f * 4) + 2.0f * 5 && v[1] == (2 + 4.5f * 4) + 2.0f * 5, "CFG+PAG %g %g", v[0], v[1]);
    sn_guidance_combine(out + 4, 4, 0, 1, 0, 2.0f, v);
    CHECK(v[0] == 5 + 2.0f * 5 && v[1] == 6 + 2.0f * 5, "PAG alone %g %g", v[0], v[1]);
    sn_guidance_combine(out + 4, 4, 0, 0, 0, 0, v);
    CHECK(v[2] == 7, "no guidance passes cond through");
    CHECK(sn_guidance_copies(1, 1) == 3 && sn_guidance_copies(0, 1) == 2 && sn_guidance_copies(0, 0) == 1, "copies");
}

static void test_scheduler_config(void) {
    sn_scheduler_config *c = NULL;
    CHECK_OK(sn_scheduler_config_parse(
        "{\"_class_name\": \"DPMSolverMultistepScheduler\", \"prediction_type\": \"flow_prediction\","
        " \"use_flow_sigmas\": true, \"flow_shift\": 3.0, \"lambda_min_clipped\": -Infinity}", "t1", &c));
    CHECK(c && c->cls == SN_SCHED_DPM && c->flow_shift == 3.0 && c->solver_order == 2, "DPM config");
    sn_scheduler_config_free(c);
    CHECK_OK(sn_scheduler_config_parse("{\"_class_name\": \"FlowMatchEulerDiscreteScheduler\", \"shift\": 4.5}", "t2", &c));
    CHECK(c && c->cls == SN_SCHED_EULER && c->flow_shift == 4.5, "Euler config");
    sn_scheduler_config_free(c);
    CHECK_OK(sn_scheduler_config_parse("{\"_class_name\": \"SCMScheduler\"}", "t3", &c));
    CHECK(c && c->cls == SN_SCHED_SCM && c->sigma_data == 0.5, "SCM config");
    sn_scheduler_config_free(c);
    CHECK_STATUS(sn_scheduler_config_parse("{\"_class_name\": \"DDIMScheduler\"}", "t4", &c), SANA_ERR_UNSUPPORTED);
    CHECK(strstr(tu_last_error(), "DDIMScheduler") != NULL, "message names the class: %s", tu_last_error());
    CHECK_STATUS(sn_scheduler_config_parse("{\"_class_name\": \"DPMSolverMultistepScheduler\", \"prediction_type\": "
                                           "\"flow_prediction\", \"use_flow_sigmas\": true, \"use_karras_sigmas\": true}",
                                           "t5", &c), SANA_ERR_UNSUPPORTED);
    CHECK(strstr(tu_last_error(), "use_karras_sigmas") != NULL, "message names the key: %s", tu_last_error());
    CHECK_STATUS(sn_scheduler_config_parse("{\"_class_name\": \"DPMSolverMultistepScheduler\"}", "t6", &c),
                 SANA_ERR_UNSUPPORTED); /* epsilon prediction */
    CHECK_STATUS(sn_scheduler_config_parse("{\"_class_name\": ", "t7", &c), SANA_ERR_FORMAT);
    /* shifts and sigma_data that parse but cannot sample: NaN/zero/negative ones failed only at
     * sampler creation (without the file's name), an infinite one loaded and sampled NaN */
    const char *bad[][2] = {
        {"{\"_class_name\": \"DPMSolverMultistepScheduler\", \"prediction_type\": \"flow_prediction\", "
         "\"use_flow_sigmas\": true, \"flow_shift\": Infinity}", "flow_shift"},
        {"{\"_class_name\": \"DPMSolverMultistepScheduler\", \"prediction_type\": \"flow_prediction\", "
         "\"use_flow_sigmas\": true, \"flow_shift\": 0}", "flow_shift"},
        {"{\"_class_name\": \"FlowMatchEulerDiscreteScheduler\", \"shift\": -3}", "shift"},
        {"{\"_class_name\": \"FlowMatchEulerDiscreteScheduler\", \"shift\": 1e300}", "shift"},
        {"{\"_class_name\": \"SCMScheduler\", \"sigma_data\": 0}", "sigma_data"},
        {"{\"_class_name\": \"SCMScheduler\", \"sigma_data\": 1e999}", "sigma_data"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        c = NULL;
        CHECK_STATUS(sn_scheduler_config_parse(bad[i][0], "bad_range.json", &c), SANA_ERR_FORMAT);
        CHECK(!c && strstr(tu_last_error(), bad[i][1]) && strstr(tu_last_error(), "bad_range.json"),
              "case %zu: the message names the file and %s: %s", i, bad[i][1], tu_last_error());
    }
    /* and the schedules themselves refuse an infinite shift (it gave NaN sigmas) */
    sn_schedule sch;
    CHECK_STATUS(sn_schedule_euler(NULL, INFINITY, 4, &sch), SANA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(sn_schedule_dpm(NULL, INFINITY, 4, &sch), SANA_ERR_INVALID_ARGUMENT);
    /* the fixture models' own configs */
    const char *dirs[2] = {"sana_tiny/scheduler", "sprint_tiny/scheduler"};
    for (int i = 0; i < 2; i++) {
        const char *d = tu_path(tu_fixtures_dir(), dirs[i]);
        c = NULL;
        sana_status st = sn_scheduler_config_load(d, &c);
        if (st == SANA_ERR_NOT_FOUND) continue;
        CHECK_OK(st);
        CHECK(c && c->cls == (i ? SN_SCHED_SCM : SN_SCHED_DPM), "%s class", dirs[i]);
        sn_scheduler_config_free(c);
    }
}

int main(void) {
    test_schedule_goldens("schedule/dpm_flow", SN_SCHED_DPM);
    test_schedule_goldens("schedule/flow_euler", SN_SCHED_EULER);
    test_scm_schedule_goldens();
    test_trace_goldens();
    test_spec_values();
    test_identities();
    test_guidance();
    test_scheduler_config();
    return tu_finish("test_solver");
}
