/* ReLU linear attention against the reference's formulation written as naive loops: V padded
 * with a row of ones, (V_pad K^T) Q, last row the divisor. */
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

static void check(int64_t B, int64_t N, int64_t H, int64_t d, int64_t dv, float eps, uint64_t seed) {
    sn_tensor q = mk(3, SN_SHAPE(B, N, H * d), seed), k = mk(3, SN_SHAPE(B, N, H * d), seed + 1);
    sn_tensor v = mk(3, SN_SHAPE(B, N, H * dv), seed + 2);
    sn_tensor y = mk(3, SN_SHAPE(B, N, H * dv), 0), r = mk(3, SN_SHAPE(B, N, H * dv), 0);
    /* one query all-negative: relu(q) = 0, so its output must be exactly 0 */
    for (int64_t j = 0; j < d; j++) F(q)[j] = -fabsf(F(q)[j]) - 0.1f;
    CHECK_OK(sn_linear_attention(&q, &k, &v, (int32_t)H, eps, &y));
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++) {
            /* scores[(dv+1) x d] = V_pad (dv+1 x N) . relu(K) (N x d) */
            double sc[17][16];
            for (int64_t i = 0; i <= dv; i++)
                for (int64_t j = 0; j < d; j++) {
                    double s = 0;
                    for (int64_t n = 0; n < N; n++) {
                        double vv = i < dv ? F(v)[(b * N + n) * H * dv + h * dv + i] : 1.0;
                        double kk = F(k)[(b * N + n) * H * d + h * d + j];
                        s += vv * (kk > 0 ? kk : 0);
                    }
                    sc[i][j] = s;
                }
            for (int64_t n = 0; n < N; n++) {
                double o[17];
                for (int64_t i = 0; i <= dv; i++) {
                    double s = 0;
                    for (int64_t j = 0; j < d; j++) {
                        double qq = F(q)[(b * N + n) * H * d + h * d + j];
                        s += sc[i][j] * (qq > 0 ? qq : 0);
                    }
                    o[i] = s;
                }
                for (int64_t i = 0; i < dv; i++)
                    F(r)[(b * N + n) * H * dv + h * dv + i] = (float)(o[i] / (o[dv] + eps));
            }
        }
    tu_check_close("linear_attention", F(y), F(r), (size_t)sn_numel(&y), 1e-5);
    for (int64_t i = 0; i < dv; i++) CHECK(F(y)[i] == 0.0f, "zero query gave %g", F(y)[i]);
    sn_tensor_free(&q), sn_tensor_free(&k), sn_tensor_free(&v), sn_tensor_free(&y), sn_tensor_free(&r);
}

int main(void) {
    CHECK_OK(sn_backend_cpu_create(2, &be));
    check(1, 17, 3, 8, 8, 1e-15f, 11);
    check(2, 33, 2, 16, 16, 1e-15f, 21);
    check(2, 5, 4, 4, 6, 1e-8f, 31); /* dv != d */
    check(1, 2100, 2, 8, 5, 1e-15f, 41); /* tokens over three chunks (cpu_linattn.c: 1024) */
    /* shape mismatch refused */
    sn_tensor q = mk(3, SN_SHAPE(1, 4, 8), 1), k = mk(3, SN_SHAPE(1, 5, 8), 2);
    sn_tensor y = mk(3, SN_SHAPE(1, 4, 8), 0);
    CHECK(sn_linear_attention(&q, &k, &q, 2, 1e-15f, &y) != SANA_OK, "accepted N mismatch");
    CHECK(sn_linear_attention(&q, &q, &q, 3, 1e-15f, &y) != SANA_OK, "accepted 8 %% 3 heads");
    sn_tensor_free(&q), sn_tensor_free(&k), sn_tensor_free(&y);
    sn_backend_free(be);
    return tu_finish("test_ops_linattn");
}
