/* Comparing text-encoder outputs [B, L, H] with a golden the way index.json asks: on the rows
 * whose mask is 1 ("compare_rows"), at the recorded tolerance. The pad rows are then checked
 * too: with exact_pads against the golden at the same tolerance (the encoder computed them as the
 * reference does), else they must be exactly zero (the default: pad rows are not computed). */
#ifndef SANA_TEST_TEXT_ROWS_H
#define SANA_TEST_TEXT_ROWS_H

#include <stdlib.h>

#include "harness.h"

static inline void tr_check_rows(const char *what, const float *got, const float *ref, const int64_t *mask,
                                 size_t rows, size_t H, double tol, int exact_pads) {
    float *g = malloc(rows * H * sizeof(float)), *r = malloc(rows * H * sizeof(float));
    size_t k = 0;
    for (size_t i = 0; i < rows; i++)
        if (mask[i]) {
            for (size_t j = 0; j < H; j++) g[k * H + j] = got[i * H + j], r[k * H + j] = ref[i * H + j];
            k++;
        }
    double e_real = tu_rel_err(g, r, k * H), e_all = tu_rel_err(got, ref, rows * H);
    tu_check_close(what, g, r, k * H, tol);
    if (exact_pads) {
        printf("  %-31s rel err %.3g on %zu mask rows, %.3g on all %zu rows (tol %.3g)\n", what, e_real, k, e_all,
               rows, tol);
        tu_check_close(what, got, ref, rows * H, tol);
    } else {
        size_t nonzero = 0;
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < H && !mask[i]; j++) nonzero += got[i * H + j] != 0.0f;
        printf("  %-31s rel err %.3g on %zu mask rows; %zu pad rows, %zu nonzero values (tol %.3g)\n", what, e_real,
               k, rows - k, nonzero, tol);
        CHECK(nonzero == 0, "%s: %zu values of pad rows are not zero", what, nonzero);
    }
    free(g), free(r);
}

#endif
