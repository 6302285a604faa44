/* The rope op against a naive double-precision loop (rotate-half pairing, HF inv_freq), in place
 * and out of place, with a position offset. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "harness.h"

int main(void) {
    sn_backend *be = NULL;
    CHECK_OK(sn_backend_cpu_create(2, &be));
    if (!be) return tu_finish("test_ops_rope");
    int64_t B = 2, H = 3, N = 37, D = 12;
    const float theta = 10000.0f;
    const int64_t pos0 = 5;
    sn_tensor x, y;
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(B, H, N, D), &x));
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(B, H, N, D), &y));
    size_t n = (size_t)(B * H * N * D);
    tu_fill_random(x.data, n, 11);
    float *X = x.data, *ref = malloc(n * sizeof(float));
    for (int64_t bh = 0; bh < B * H; bh++)
        for (int64_t i = 0; i < N; i++)
            for (int64_t d = 0; d < D / 2; d++) {
                double ang = (double)(pos0 + i) * pow(theta, -2.0 * (double)d / (double)D);
                const float *xi = X + (bh * N + i) * D;
                float *ri = ref + (bh * N + i) * D;
                ri[d] = (float)(xi[d] * cos(ang) - xi[d + D / 2] * sin(ang));
                ri[d + D / 2] = (float)(xi[d + D / 2] * cos(ang) + xi[d] * sin(ang));
            }
    CHECK_OK(sn_rope(&x, theta, pos0, &y));
    tu_check_close("rope", y.data, ref, n, 2e-6);
    /* position 0 is the identity */
    CHECK_OK(sn_rope(&x, theta, 0, &y));
    int same = 1;
    for (int64_t bh = 0; bh < B * H; bh++)
        for (int64_t d = 0; d < D; d++) same &= ((float *)y.data)[bh * N * D + d] == X[bh * N * D + d];
    CHECK(same, "rope at position 0 changed the row");
    /* in place */
    CHECK_OK(sn_rope(&x, theta, pos0, &x));
    tu_check_close("rope in place", x.data, ref, n, 2e-6);
    /* odd head_dim is refused */
    sn_tensor odd;
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(1, 1, 2, 5), &odd));
    CHECK(sn_rope(&odd, theta, 0, &odd) != SANA_OK, "rope accepted an odd head_dim");
    sn_tensor_free(&odd);
    free(ref);
    sn_tensor_free(&x);
    sn_tensor_free(&y);
    sn_backend_free(be);
    return tu_finish("test_ops_rope");
}
