/* sana-bench internals: model configurations of the real sizes, random text encoders on disk,
 * and the JSON report (report.c). See main.c for the program. */
#ifndef SANA_BENCH_H
#define SANA_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "core/dtype.h"

typedef struct bench_gemma_dims {
    int64_t hidden, inter;
    int layers, heads, kv_heads, head_dim;
} bench_gemma_dims;

typedef struct bench_config {
    const char *name;
    const char *dit_json; /* transformer/config.json */
    int sprint;           /* guidance embedding, no CFG, SCM steps */
    int steps;            /* the pipeline's default */
    float guidance;
    int size;             /* default image side in pixels */
    bench_gemma_dims gemma;
} bench_config;

const bench_config *bench_find_config(const char *name);

/* Writes a Gemma-2 folder (config.json + model.safetensors, random bf16) with `layers` layers of
 * the given widths into a new temporary directory (returned in dir); 0 on success. */
int bench_write_gemma(const bench_gemma_dims *d, int layers, char *dir, size_t dir_cap);
void bench_remove_gemma(const char *dir);
/* Writes a transformer/ folder (config.json = dit_json + diffusion_pytorch_model.safetensors,
 * random values of `dtype` (SN_F32, SN_F16, SN_BF16) spread as sn_dit_create_random's) into a new
 * temporary directory (returned in dir); 0 on success. */
int bench_write_dit(const char *dit_json, sn_dtype dtype, char *dir, size_t dir_cap);
void bench_remove_dit(const char *dir);

/* The stages, in JSON key order. */
enum { ST_TEXT = 0, ST_STEP, ST_LOOP, ST_DECODE, ST_E2E, ST_COUNT };
extern const char *const bench_stage_names[ST_COUNT];

typedef struct bench_report {
    const char *backend, *device, *precision, *config, *model, *weights;
    int width, height, steps, batch, runs, cfg, graphs, text_tokens;
    float guidance;
    uint64_t seed;
    int64_t dit_params;
    double *samples[ST_COUNT]; /* ms, n_samples[i] of them */
    int n_samples[ST_COUNT], cap_samples[ST_COUNT];
    char *errors[ST_COUNT]; /* why a stage has no time (NULL: it has one) */
    int has_peak;
    size_t peak_device_bytes;
    double dit_flop_per_step; /* 0: unknown */
} bench_report;

void bench_add(bench_report *r, int stage, double ms);
void bench_error(bench_report *r, int stage, const char *fmt, ...);
double bench_median(const bench_report *r, int stage); /* < 0: none */
void bench_print(const bench_report *r);
void bench_report_free(bench_report *r);

#endif
