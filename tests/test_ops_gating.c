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

/* SiLU of the GLU gate (the CPU backend's polynomial e^-x, vectorized) value by value against
 * double precision over [-100, 100] and at the edges: within 4 ulp where SiLU is normal and
 * above 1e-30 in magnitude, and never more than 1e-30 off below that; no NaN for -inf. */
static void test_glu_silu_sweep(void) {
    enum { n = 20011 };
    const float edge[] = {0.0f, -0.0f, 1e-30f, -1e-30f, 87.0f, 87.5f, 88.0f, -87.0f, -88.0f,
                          -88.5f, -88.8f, -89.0f, -104.0f, 1e30f, -1e30f, INFINITY, -INFINITY};
    const int ne = (int)(sizeof edge / sizeof edge[0]);
    sn_tensor x = mk(2, SN_SHAPE(n + ne, 2), 0), y = mk(2, SN_SHAPE(n + ne, 1), 0);
    for (int i = 0; i < n + ne; i++) {
        F(x)[2 * i] = 1.0f;
        F(x)[2 * i + 1] = i < n ? -100.0f + 200.0f * (float)i / (float)(n - 1) : edge[i - n];
    }
    CHECK_OK(sn_glu(&x, SN_ACT_SILU, &y));
    int bad = 0;
    for (int i = 0; i < n + ne; i++) {
        const double g = F(x)[2 * i + 1];
        const double ref = isinf(g) ? (g > 0 ? g : 0.0) : g / (1.0 + exp(-g));
        const double got = F(y)[i], err = fabs(got - ref);
        const int ok = isinf(ref) ? got == ref
                       : fabs(ref) < 1e-30 ? err <= 1e-30
                                           : err <= 4.0 * 5.96e-8 * fabs(ref);
        if (!ok && bad++ < 5) CHECK(0, "silu(%.9g) = %.9g, expected %.9g", g, got, ref);
    }
    CHECK(bad == 0, "%d of %d SiLU values off", bad, n + ne);
    sn_tensor_free(&x), sn_tensor_free(&y);
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
    test_glu_silu_sweep();
    test_gated_add();
    sn_backend_free(be);
    return tu_finish("test_ops_gating");
}
