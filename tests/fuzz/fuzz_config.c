/* The config readers, all on the same JSON text: lib/io/config.c (the parse, Python's Infinity
 * and NaN literals, every typed getter), the transformer's config.json (sn_dit_config_read), the
 * scheduler's scheduler_config.json and the schedule it gives, and the DC-AE's and Gemma-2's
 * config.json (their loaders read the config first; the folder has no weights, so a config that
 * passes stops at "no weights" without touching the backend, which is NULL here). */
#include "ae/dcae.h"
#include "dit/dit_internal.h"
#include "encoder/gemma.h"
#include "fuzz_common.h"
#include "io/config.h"
#include "solver/schedule.h"

static void fz_getters(const sn_config *c) {
    static const char *const keys[] = {"in_channels", "num_layers", "flow_shift", "_class_name",
                                       "encoder_block_out_channels", "layer_types", "x", ""};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        int64_t iv, ia[8];
        double fv, fa[8];
        int bv;
        const char *sv, *sa[8];
        int32_t n;
        fz_check_failure(sn_config_int(c, keys[i], 0, &iv), "sn_config_int");
        fz_check_failure(sn_config_float(c, keys[i], 0, &fv), "sn_config_float");
        fz_check_failure(sn_config_bool(c, keys[i], 0, &bv), "sn_config_bool");
        fz_check_failure(sn_config_string(c, keys[i], NULL, &sv), "sn_config_string");
        fz_check_failure(sn_config_int_array(c, keys[i], ia, 8, &n), "sn_config_int_array");
        fz_check_failure(sn_config_float_array(c, keys[i], fa, 8, &n), "sn_config_float_array");
        fz_check_failure(sn_config_string_array(c, keys[i], sa, 8, &n), "sn_config_string_array");
        (void)sn_config_has(c, keys[i]);
    }
}

static void fz_scheduler(const char *text) {
    sn_scheduler_config *sc = NULL;
    sana_status s = sn_scheduler_config_parse(text, "scheduler_config.json", &sc);
    fz_check_failure(s, "sn_scheduler_config_parse");
    if (s != SANA_OK) return;
    static sn_schedule sched; /* 8 KB: not on the stack */
    const int32_t steps[] = {1, 2, 20};
    for (int i = 0; i < 3; i++) {
        if (sc->cls == SN_SCHED_DPM)
            s = sn_schedule_dpm(sc, sc->flow_shift, steps[i], &sched);
        else if (sc->cls == SN_SCHED_EULER)
            s = sn_schedule_euler(sc, sc->flow_shift, steps[i], &sched);
        else
            s = sn_schedule_scm(steps[i], 1.57080, steps[i] == 2 ? 1.3 : -1, &sched);
        fz_check_failure(s, "sn_schedule");
        for (int32_t k = 0; s == SANA_OK && k < sched.steps; k++)
            (void)sn_schedule_model_timestep(&sched, k);
    }
    sn_scheduler_config_free(sc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_quiet();
    char *text = fz_cstr(data, size);
    sn_error_clear();

    sn_config *c = NULL;
    sana_status s = sn_config_parse(text, size, "config.json", &c);
    fz_check_failure(s, "sn_config_parse");
    if (s == SANA_OK) {
        fz_getters(c);
        sn_dit_config dc;
        fz_check_failure(sn_dit_config_read(c, &dc), "sn_dit_config_read");
        sn_config_free(c);
    }

    fz_scheduler(text);

    /* the loaders take a folder: config.json in it, nothing else */
    char dir[FZ_PATH_MAX], file[FZ_PATH_MAX];
    fz_mkdir(fz_join(dir, fz_dir(), "component"));
    fz_write(fz_join(file, dir, "config.json"), data, size);
    sn_dcae *ae = NULL;
    s = sn_dcae_load(NULL, dir, NULL, &ae);
    fz_check_failure(s, "sn_dcae_load");
    if (s == SANA_OK) abort(); /* no weights in the folder */
    sn_gemma *g = NULL;
    s = sn_gemma_load(NULL, dir, NULL, &g);
    fz_check_failure(s, "sn_gemma_load");
    if (s == SANA_OK) abort();

    free(text);
    return 0;
}
