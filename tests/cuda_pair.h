/* For the CUDA-vs-CPU tests: the same values on both backends, compared after the op ran on
 * each. Each test sets `cpu`, `gpu` and `tol` before using these. */
#ifndef SANA_TEST_CUDA_PAIR_H
#define SANA_TEST_CUDA_PAIR_H

#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "harness.h"

static sn_backend *cpu, *gpu;
static double tol;

typedef struct pair {
    sn_tensor c, g;
} pair;

/* the same values on both backends (rounded to the GPU's dtype first); seed 0: zeros */
static inline pair mk(int32_t ndim, const int64_t *shape, uint64_t seed) {
    pair p;
    CHECK_OK(sn_tensor_alloc(cpu, SN_F32, ndim, shape, &p.c));
    CHECK_OK(sn_tensor_alloc(gpu, gpu->act_dtype, ndim, shape, &p.g));
    size_t n = (size_t)sn_numel(&p.c);
    if (seed) tu_fill_random(p.c.data, n, seed);
    else memset(p.c.data, 0, n * 4);
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
