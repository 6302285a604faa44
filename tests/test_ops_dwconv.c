/* Channel-last depthwise convolution against the NCHW grouped conv2d (itself checked against
 * naive loops in test_ops_cpu) after a permute, and against a direct loop. */
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

static void check(int64_t B, int64_t H, int64_t W, int64_t C, int64_t kk, int32_t pad, int bias) {
    int64_t Ho = H + 2 * pad - kk + 1, Wo = W + 2 * pad - kk + 1;
    sn_tensor x = mk(4, SN_SHAPE(B, H, W, C), 3), w = mk(4, SN_SHAPE(C, 1, kk, kk), 4);
    sn_tensor b = mk(1, SN_SHAPE(C), 5);
    sn_tensor y = mk(4, SN_SHAPE(B, Ho, Wo, C), 0), r = mk(4, SN_SHAPE(B, Ho, Wo, C), 0);
    CHECK_OK(sn_dwconv2d_nhwc(&x, &w, bias ? &b : NULL, pad, &y));
    for (int64_t n = 0; n < B; n++)
        for (int64_t oy = 0; oy < Ho; oy++)
            for (int64_t ox = 0; ox < Wo; ox++)
                for (int64_t c = 0; c < C; c++) {
                    double s = bias ? F(b)[c] : 0;
                    for (int64_t ky = 0; ky < kk; ky++)
                        for (int64_t kx = 0; kx < kk; kx++) {
                            int64_t iy = oy - pad + ky, ix = ox - pad + kx;
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                            s += (double)F(x)[((n * H + iy) * W + ix) * C + c] *
                                 F(w)[(c * kk + ky) * kk + kx];
                        }
                    F(r)[((n * Ho + oy) * Wo + ox) * C + c] = (float)s;
                }
    tu_check_close("dwconv2d_nhwc (loop)", F(y), F(r), (size_t)sn_numel(&y), 1e-6);

    /* the same through NCHW conv2d with groups = C */
    sn_tensor xc = mk(4, SN_SHAPE(B, C, H, W), 0), yc = mk(4, SN_SHAPE(B, C, Ho, Wo), 0);
    sn_tensor yt = mk(4, SN_SHAPE(B, Ho, Wo, C), 0);
    CHECK_OK(sn_permute(&x, (const int32_t[]){0, 3, 1, 2}, &xc));
    CHECK_OK(sn_conv2d(&xc, &w, bias ? &b : NULL, 1, pad, (int32_t)C, &yc));
    CHECK_OK(sn_permute(&yc, (const int32_t[]){0, 2, 3, 1}, &yt));
    tu_check_close("dwconv2d_nhwc (conv2d groups)", F(y), F(yt), (size_t)sn_numel(&y), 1e-6);
    sn_tensor_free(&x), sn_tensor_free(&w), sn_tensor_free(&b), sn_tensor_free(&y);
    sn_tensor_free(&r), sn_tensor_free(&xc), sn_tensor_free(&yc), sn_tensor_free(&yt);
}

int main(void) {
    CHECK_OK(sn_backend_cpu_create(2, &be));
    check(1, 4, 4, 8, 3, 1, 1);
    check(2, 3, 5, 6, 3, 1, 1); /* non-square */
    check(1, 1, 7, 5, 3, 1, 0); /* one row: every vertical tap is padding */
    check(2, 6, 4, 3, 5, 2, 1);
    sn_tensor x = mk(4, SN_SHAPE(1, 4, 4, 8), 1), w = mk(4, SN_SHAPE(7, 1, 3, 3), 2);
    sn_tensor y = mk(4, SN_SHAPE(1, 4, 4, 8), 0);
    CHECK(sn_dwconv2d_nhwc(&x, &w, NULL, 1, &y) != SANA_OK, "accepted 7 taps for 8 channels");
    sn_tensor_free(&x), sn_tensor_free(&w), sn_tensor_free(&y);
    sn_backend_free(be);
    return tu_finish("test_ops_dwconv");
}
