/* sana-bench (the CUDA benchmark program) on the CPU backend, so that it is exercised where there
 * is no GPU: the fixture model folder through the public API, and the tiny random-weight config
 * through the internal modules. Checks the JSON report's shape: every key, a time for each stage
 * that exists in this build, and for each stage without one, the reason under "errors". */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static const char *const stages[5] = {"text_encode", "dit_step", "loop", "decode", "end_to_end"};

/* sana-bench sits beside sana-cli in the build tree: examples/sana-bench/sana-bench */
static int bench_path(char *out, size_t cap) {
    const char *cli = SANA_CLI_PATH;
    const char *tail = strstr(cli, "sana-cli/sana-cli");
    if (!tail || (size_t)(tail - cli) + 32 > cap) return -1;
    snprintf(out, cap, "%.*ssana-bench/sana-bench", (int)(tail - cli), cli);
    return access(out, X_OK);
}

static char *run(const char *cmd) {
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf && n + 1 < cap) {
        size_t k = fread(buf + n, 1, cap - 1 - n, p);
        if (k == 0) break;
        n += k;
    }
    int rc = pclose(p);
    if (!buf) return NULL;
    buf[n] = 0;
    CHECK(rc == 0, "%s exited with %d", cmd, rc);
    return buf;
}

static void check_report(const char *what, const char *json, const char *const *must_time, int n_must) {
    printf("%s: %s", what, json);
    cJSON *r = cJSON_Parse(json);
    CHECK(r != NULL, "%s: the output is not JSON", what);
    if (!r) return;
    static const char *const keys[] = {"bench", "backend", "device", "precision", "config", "model", "weights",
                                       "width", "height", "steps", "guidance_scale", "cfg", "batch", "seed",
                                       "runs", "graphs", "text_tokens", "dit_params", "times_ms", "samples_ms",
                                       "images_per_second", "peak_device_bytes", "dit_tflop_per_step",
                                       "dit_tflops_achieved", "errors"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        CHECK(cJSON_HasObjectItem(r, keys[i]), "%s: no key \"%s\"", what, keys[i]);
    const cJSON *bench = cJSON_GetObjectItem(r, "bench"), *backend = cJSON_GetObjectItem(r, "backend");
    CHECK(cJSON_IsString(bench) && !strcmp(bench->valuestring, "sana-bench"), "%s: bench", what);
    CHECK(cJSON_IsString(backend) && !strcmp(backend->valuestring, "cpu"), "%s: backend", what);
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(r, "peak_device_bytes")), "%s: the CPU counts no device memory", what);
    const cJSON *times = cJSON_GetObjectItem(r, "times_ms"), *samples = cJSON_GetObjectItem(r, "samples_ms");
    const cJSON *errors = cJSON_GetObjectItem(r, "errors");
    CHECK(cJSON_IsObject(times) && cJSON_IsObject(samples) && cJSON_IsObject(errors), "%s: objects", what);
    int runs = cJSON_GetObjectItem(r, "runs") ? cJSON_GetObjectItem(r, "runs")->valueint : -1;
    for (int i = 0; i < 5; i++) {
        const cJSON *t = cJSON_GetObjectItem(times, stages[i]), *s = cJSON_GetObjectItem(samples, stages[i]);
        const cJSON *e = cJSON_GetObjectItem(errors, stages[i]);
        CHECK(t && (cJSON_IsNumber(t) || cJSON_IsNull(t)), "%s: times_ms.%s", what, stages[i]);
        CHECK(cJSON_IsArray(s), "%s: samples_ms.%s", what, stages[i]);
        if (cJSON_IsNumber(t)) {
            CHECK(t->valuedouble > 0 && !e, "%s: %s: %g ms, error %s", what, stages[i], t->valuedouble,
                  e ? e->valuestring : "none");
            CHECK(cJSON_GetArraySize(s) == runs, "%s: %d samples of %s for %d runs", what, cJSON_GetArraySize(s),
                  stages[i], runs);
        } else {
            CHECK(cJSON_IsString(e) && e->valuestring[0], "%s: %s has no time and no reason", what, stages[i]);
        }
    }
    for (int i = 0; i < n_must; i++)
        CHECK(cJSON_IsNumber(cJSON_GetObjectItem(times, must_time[i])), "%s: no time for %s (%s)", what,
              must_time[i], cJSON_IsString(cJSON_GetObjectItem(errors, must_time[i]))
                                 ? cJSON_GetObjectItem(errors, must_time[i])->valuestring
                                 : "");
    const cJSON *e2e = cJSON_GetObjectItem(times, "end_to_end"), *ips = cJSON_GetObjectItem(r, "images_per_second");
    const cJSON *batch = cJSON_GetObjectItem(r, "batch");
    if (cJSON_IsNumber(e2e))
        CHECK(cJSON_IsNumber(ips) && fabs(ips->valuedouble - batch->valueint / (e2e->valuedouble * 1e-3)) <
                                         1e-3 * ips->valuedouble,
              "%s: images_per_second", what);
    else
        CHECK(cJSON_IsNull(ips), "%s: images_per_second without an end-to-end time", what);
    cJSON_Delete(r);
}

int main(void) {
    char exe[1024], cmd[2048];
    if (bench_path(exe, sizeof exe)) tu_skip("sana-bench is not built (SANA_BUILD_EXAMPLES=OFF)");
    /* the stages that must have a time with what is on main: sana_decode_latents may still be
     * a stub (then the folder run's decode is null with its reason) */
    static const char *const have_folder[4] = {"text_encode", "dit_step", "loop", "end_to_end"};
    static const char *const have_random[5] = {"text_encode", "dit_step", "loop", "decode", "end_to_end"};

    /* one OpenMP thread: the tiny models gain nothing from more, and CI machines are shared */
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 %s --backend cpu --model %s --size 64 --steps 2 --runs 1 --warmup 0",
             exe, tu_path(tu_fixtures_dir(), "sana_tiny"));
    char *out = run(cmd);
    CHECK(out != NULL, "running %s", cmd);
    if (out) check_report("fixture folder", out, have_folder, 4);
    free(out);

    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 %s --backend cpu --config tiny --size 64 --runs 1 --warmup 0", exe);
    out = run(cmd);
    CHECK(out != NULL, "running %s", cmd);
    if (out) check_report("random tiny config", out, have_random, 5);
    free(out);

    /* the DiT written to a bf16 file and loaded from it (on the CPU: read in place) */
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 %s --backend cpu --config tiny --size 64 --runs 1 --warmup 0 --dit-file bf16",
             exe);
    out = run(cmd);
    CHECK(out != NULL, "running %s", cmd);
    if (out) check_report("random tiny config, DiT from a bf16 file", out, have_random, 5);
    free(out);

    snprintf(cmd, sizeof cmd, "%s --backend cpu --config no-such-config >/dev/null 2>&1; echo $?", exe);
    FILE *p = popen(cmd, "r");
    int rc = -1;
    if (p) {
        if (fscanf(p, "%d", &rc) != 1) rc = -1;
        pclose(p);
    }
    CHECK(rc == 2, "an unknown config exits with 2, got %d", rc);
    return tu_finish("test_cuda_bench");
}
