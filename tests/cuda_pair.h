/* For the CUDA-vs-CPU tests: the same values on both backends, compared after the op ran on
 * each. Each test sets `cpu`, `gpu` and `tol` before using these. */
#ifndef SANA_TEST_CUDA_PAIR_H
#define SANA_TEST_CUDA_PAIR_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "harness.h"

static sn_backend *cpu, *gpu;
static double tol;

typedef struct pair {
    sn_tensor c, g;
} pair;

/* The CUDA backend in `precision`, or exit 77 (skip) when there is none to have: a build without
 * CUDA, or no device (both SANA_ERR_UNSUPPORTED). Any other failure is a failed test, not a skip:
 * on a GPU machine it is the first thing to look at. */
static inline sn_backend *cuda_or_skip(sana_precision precision) {
    sn_backend *be = NULL;
    sana_status st = sn_backend_cuda_create(0, precision, &be);
    if (st == SANA_OK) return be;
    char why[512];
    snprintf(why, sizeof why, "no CUDA backend here: %s", tu_last_error());
    if (st == SANA_ERR_UNSUPPORTED) tu_skip(why);
    fprintf(stderr, "FAIL: creating the CUDA backend: %s (%s)\n", sana_status_string(st), tu_last_error());
    exit(1);
}

/* GPU outputs start as NaN, so that an element an op fails to write cannot pass for a value */
static inline void poison(const sn_tensor *g) {
    sn_tensor t = *g;
    CHECK_OK(sn_fill(&t, NAN));
}

/* the same values on both backends (rounded to the GPU's dtype first); seed 0: an output, zeros
 * on the CPU and NaN on the GPU */
static inline pair mk(int32_t ndim, const int64_t *shape, uint64_t seed) {
    pair p;
    CHECK_OK(sn_tensor_alloc(cpu, SN_F32, ndim, shape, &p.c));
    CHECK_OK(sn_tensor_alloc(gpu, gpu->act_dtype, ndim, shape, &p.g));
    size_t n = (size_t)sn_numel(&p.c);
    if (!seed) {
        memset(p.c.data, 0, n * 4);
        poison(&p.g);
        return p;
    }
    tu_fill_random(p.c.data, n, seed);
    CHECK_OK(sn_upload_convert(&p.g, SN_F32, p.c.data));
    if (gpu->act_dtype != SN_F32) CHECK_OK(sn_download_f32(&p.g, p.c.data));
    return p;
}

static inline void done(pair *p) {
    sn_tensor_free(&p->c);
    sn_tensor_free(&p->g);
}

/* the GPU tensor's values as host floats (malloc'd) */
static inline float *fetch(const sn_tensor *g) {
    float *h = malloc((size_t)sn_numel(g) * 4);
    CHECK(h != NULL, "host buffer");
    CHECK_OK(sn_download_f32(g, h));
    return h;
}

static inline void compare(const char *what, pair *p) {
    float *got = fetch(&p->g);
    tu_check_close(what, got, p->c.data, (size_t)sn_numel(&p->c), tol);
    free(got);
}

#endif
