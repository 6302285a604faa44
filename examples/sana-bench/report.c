/* The JSON report of sana-bench. Keys (shared with bench/python/bench_diffusers_gpu.py):
 *   bench, backend, device, precision, config, model, weights, width, height, steps,
 *   guidance_scale, cfg, batch, seed, runs, graphs, text_tokens, dit_params,
 *   times_ms {text_encode, dit_step, loop, decode, end_to_end}   medians; null = not measured
 *   samples_ms {...}                                              every measured value
 *   images_per_second, peak_device_bytes (null: the backend does not count device memory),
 *   dit_tflop_per_step (matrix FLOP of one step, CFG included), dit_tflops_achieved (that over
 *   the dit_step median), errors {stage: why} */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

const char *const bench_stage_names[ST_COUNT] = {"text_encode", "dit_step", "loop", "decode", "end_to_end"};

void bench_add(bench_report *r, int stage, double ms) {
    if (r->n_samples[stage] == r->cap_samples[stage]) {
        int cap = r->cap_samples[stage] ? 2 * r->cap_samples[stage] : 16;
        double *s = realloc(r->samples[stage], (size_t)cap * sizeof *s);
        if (!s) return;
        r->samples[stage] = s;
        r->cap_samples[stage] = cap;
    }
    r->samples[stage][r->n_samples[stage]++] = ms;
}

void bench_error(bench_report *r, int stage, const char *fmt, ...) {
    if (r->errors[stage]) return; /* the first reason */
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    r->errors[stage] = strdup(buf);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_median(const bench_report *r, int stage) {
    int n = r->n_samples[stage];
    if (n == 0 || r->errors[stage]) return -1.0;
    double *s = malloc((size_t)n * sizeof *s);
    if (!s) return -1.0;
    memcpy(s, r->samples[stage], (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double m = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    free(s);
    return m;
}

static void json_str(const char *s) {
    if (!s) {
        printf("null");
        return;
    }
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

static void json_num(double v) {
    if (v < 0) printf("null");
    else printf("%.6g", v);
}

void bench_print(const bench_report *r) {
    printf("{\"bench\": \"sana-bench\", \"backend\": ");
    json_str(r->backend);
    printf(", \"device\": ");
    json_str(r->device);
    printf(", \"precision\": ");
    json_str(r->precision);
    printf(", \"config\": ");
    json_str(r->config);
    printf(", \"model\": ");
    json_str(r->model);
    printf(", \"weights\": ");
    json_str(r->weights);
    printf(", \"width\": %d, \"height\": %d, \"steps\": %d, \"guidance_scale\": %g, \"cfg\": %s, \"batch\": %d, "
           "\"seed\": %llu, \"runs\": %d, \"graphs\": %s, \"text_tokens\": %d, \"dit_params\": %lld",
           r->width, r->height, r->steps, (double)r->guidance, r->cfg ? "true" : "false", r->batch,
           (unsigned long long)r->seed, r->runs, r->graphs ? "true" : "false", r->text_tokens,
           (long long)r->dit_params);
    printf(",\n \"times_ms\": {");
    for (int i = 0; i < ST_COUNT; i++) {
        printf("%s\"%s\": ", i ? ", " : "", bench_stage_names[i]);
        json_num(bench_median(r, i));
    }
    printf("},\n \"samples_ms\": {");
    for (int i = 0; i < ST_COUNT; i++) {
        printf("%s\"%s\": [", i ? ", " : "", bench_stage_names[i]);
        for (int j = 0; j < r->n_samples[i] && !r->errors[i]; j++) printf("%s%.6g", j ? ", " : "", r->samples[i][j]);
        printf("]");
    }
    double e2e = bench_median(r, ST_E2E), step = bench_median(r, ST_STEP);
    printf("},\n \"images_per_second\": ");
    json_num(e2e > 0 ? r->batch / (e2e * 1e-3) : -1.0);
    printf(", \"peak_device_bytes\": ");
    if (r->has_peak) printf("%zu", r->peak_device_bytes);
    else printf("null");
    printf(", \"dit_tflop_per_step\": ");
    json_num(r->dit_flop_per_step > 0 ? r->dit_flop_per_step * 1e-12 : -1.0);
    printf(", \"dit_tflops_achieved\": ");
    json_num(r->dit_flop_per_step > 0 && step > 0 ? r->dit_flop_per_step / (step * 1e-3) * 1e-12 : -1.0);
    printf(",\n \"errors\": {");
    int first = 1;
    for (int i = 0; i < ST_COUNT; i++)
        if (r->errors[i]) {
            printf("%s\"%s\": ", first ? "" : ", ", bench_stage_names[i]);
            json_str(r->errors[i]);
            first = 0;
        }
    printf("}}\n");
    fflush(stdout);
}

void bench_report_free(bench_report *r) {
    for (int i = 0; i < ST_COUNT; i++) {
        free(r->samples[i]);
        free(r->errors[i]);
    }
}
