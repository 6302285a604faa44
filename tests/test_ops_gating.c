/* GLU over the last dim and the gated residual add, against naive loops. */
#include <math.h>
#include <string.h>

#include "backend/backend.h"
#include "harness.h"

static sn_backend *be;

static sn_tensor mk(int32_t ndim, const int64_t *shape, uint64_t seed) {
    sn_tensor t;
    CHECK_OK(sn_tensor_alloc(be, SN_F32, ndim, shape, &t));
    if (seed) tu_fill_random(t.data, (size_t)sn_numel(&t), seed);
    else memset(t.data, 0, (size_t)sn_numel(&t) * 4);
    return t;
}

#define F(t) ((float *)(t).data)

static void test_glu(void) {
    int64_t B = 2, N = 5, Fh = 7;
    sn_tensor x = mk(3, SN_SHAPE(B, N, 2 * Fh), 1), y = mk(3, SN_SHAPE(B, N, Fh), 0);
    sn_tensor r = mk(3, SN_SHAPE(B, N, Fh), 0);
    for (int64_t i = 0; i < sn_numel(&x); i++) F(x)[i] *= 6.0f;
    CHECK_OK(sn_glu(&x, SN_ACT_SILU, &y));
    for (int64_t row = 0; row < B * N; row++)
        for (int64_t c = 0; c < Fh; c++) {
            double v = F(x)[row * 2 * Fh + c], g = F(x)[row * 2 * Fh + Fh + c];
            F(r)[row * Fh + c] = (float)(v * g / (1 + exp(-g))); /* first half value, second gate */
        }
    tu_check_close("glu silu", F(y), F(r), (size_t)sn_numel(&y), 1e-6);
    sn_tensor bad = mk(3, SN_SHAPE(B, N, Fh + 1), 0);
    CHECK(sn_glu(&x, SN_ACT_SILU, &bad) != SANA_OK, "glu accepted a wrong output width");
    sn_tensor_free(&x), sn_tensor_free(&y), sn_tensor_free(&r), sn_tensor_free(&bad);
}

static void test_gated_add(void) {
    int64_t B = 3, N = 4, C = 6;
    sn_tensor x = mk(3, SN_SHAPE(B, N, C), 2), y = mk(3, SN_SHAPE(B, N, C), 3);
    sn_tensor g = mk(2, SN_SHAPE(B, C), 4), r = mk(3, SN_SHAPE(B, N, C), 0);
    for (int64_t b = 0; b < B; b++)
        for (int64_t n = 0; n < N; n++)
            for (int64_t c = 0; c < C; c++) {
                int64_t i = (b * N + n) * C + c;
                F(r)[i] = F(x)[i] + F(g)[b * C + c] * F(y)[i];
            }
    CHECK_OK(sn_gated_add(&x, &y, &g));
    tu_check_close("gated_add", F(x), F(r), (size_t)sn_numel(&x), 1e-7);
    for (int64_t i = 0; i < sn_numel(&x); i++) F(r)[i] = F(x)[i] + F(y)[i];
    CHECK_OK(sn_gated_add(&x, &y, NULL));
    tu_check_close("gated_add (no gate)", F(x), F(r), (size_t)sn_numel(&x), 1e-7);
    sn_tensor g2 = mk(2, SN_SHAPE(B, C + 1), 5);
    CHECK(sn_gated_add(&x, &y, &g2) != SANA_OK, "gated_add accepted a wrong gate");
    sn_tensor_free(&x), sn_tensor_free(&y), sn_tensor_free(&g), sn_tensor_free(&r), sn_tensor_free(&g2);
}

int main(void) {
    CHECK_OK(sn_backend_cpu_create(2, &be));
    test_glu();
    test_gated_add();
    sn_backend_free(be);
    return tu_finish("test_ops_gating");
}
