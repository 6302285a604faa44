/* The CUDA backend's ops against the CPU backend on random data: fp32 mode within 1e-4 relative,
 * bf16 mode within 2e-2. Skips (77) where no GPU or no CUDA build is at hand. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "cuda_pair.h"
#include "harness.h"

static void run_all(void) {
    pair x = mk(2, SN_SHAPE(37, 64), 1), w = mk(2, SN_SHAPE(48, 64), 2), b = mk(1, SN_SHAPE(48), 3);
    pair y = mk(2, SN_SHAPE(37, 48), 0);
    CHECK_OK(sn_linear(&x.c, &w.c, &b.c, SN_ACT_GELU_TANH, &y.c));
    CHECK_OK(sn_linear(&x.g, &w.g, &b.g, SN_ACT_GELU_TANH, &y.g));
    compare("linear + bias + gelu_tanh", &y);

    /* a bias 16 bytes into its buffer (a view, as fused weights give): the fused epilogue's
     * algorithm must be chosen for that alignment, not for a fresh allocation's 256 bytes */
    int64_t off = 16 / (int64_t)sn_dtype_size(gpu->act_dtype);
    pair bb16 = mk(1, SN_SHAPE(48 + off), 19);
    sn_tensor bvc = bb16.c, bvg = bb16.g;
    bvc.shape[0] = bvg.shape[0] = 48;
    bvc.data = (char *)bb16.c.data + off * 4;
    bvg.data = (char *)bb16.g.data + 16;
    CHECK_OK(sn_linear(&x.c, &w.c, &bvc, SN_ACT_NONE, &y.c));
    CHECK_OK(sn_linear(&x.g, &w.g, &bvg, SN_ACT_NONE, &y.g));
    compare("linear + bias 16 bytes into its buffer", &y);
    done(&bb16);

    pair a3 = mk(3, SN_SHAPE(3, 17, 32), 4), b3 = mk(3, SN_SHAPE(3, 24, 32), 5), y3 = mk(3, SN_SHAPE(3, 17, 24), 0);
    CHECK_OK(sn_matmul(&a3.c, &b3.c, 1, 0.25f, &y3.c));
    CHECK_OK(sn_matmul(&a3.g, &b3.g, 1, 0.25f, &y3.g));
    compare("matmul trans_b", &y3);

    pair xi = mk(4, SN_SHAPE(2, 8, 9, 7), 6), wc = mk(4, SN_SHAPE(12, 4, 3, 3), 7), bc = mk(1, SN_SHAPE(12), 8);
    pair yc = mk(4, SN_SHAPE(2, 12, 5, 4), 0);
    CHECK_OK(sn_conv2d(&xi.c, &wc.c, &bc.c, 2, 1, 2, &yc.c));
    CHECK_OK(sn_conv2d(&xi.g, &wc.g, &bc.g, 2, 1, 2, &yc.g));
    compare("conv2d 3x3 stride 2 groups 2", &yc);
    pair wd = mk(4, SN_SHAPE(8, 1, 3, 3), 9), bd = mk(1, SN_SHAPE(8), 10), yd = mk(4, SN_SHAPE(2, 8, 9, 7), 0);
    CHECK_OK(sn_conv2d(&xi.c, &wd.c, &bd.c, 1, 1, 8, &yd.c));
    CHECK_OK(sn_conv2d(&xi.g, &wd.g, &bd.g, 1, 1, 8, &yd.g));
    compare("depthwise conv2d", &yd);

    pair n3 = mk(3, SN_SHAPE(2, 33, 96), 11), sh = mk(2, SN_SHAPE(2, 96), 12), sc = mk(2, SN_SHAPE(2, 96), 13);
    pair yn = mk(3, SN_SHAPE(2, 33, 96), 0), wn = mk(1, SN_SHAPE(96), 14);
    CHECK_OK(sn_layer_norm(&n3.c, NULL, NULL, &sh.c, &sc.c, 1e-6f, &yn.c));
    CHECK_OK(sn_layer_norm(&n3.g, NULL, NULL, &sh.g, &sc.g, 1e-6f, &yn.g));
    compare("layer_norm + modulation", &yn);
    CHECK_OK(sn_rms_norm(&n3.c, &wn.c, NULL, 1.0f, 1e-6f, &yn.c));
    CHECK_OK(sn_rms_norm(&n3.g, &wn.g, NULL, 1.0f, 1e-6f, &yn.g));
    compare("rms_norm (1 + w)", &yn);

    CHECK_OK(sn_unary(SN_ACT_SILU, &n3.c, &yn.c));
    CHECK_OK(sn_unary(SN_ACT_SILU, &n3.g, &yn.g));
    compare("silu", &yn);
    pair bb = mk(3, SN_SHAPE(2, 1, 96), 15);
    CHECK_OK(sn_binary(SN_MUL, &n3.c, &bb.c, &yn.c));
    CHECK_OK(sn_binary(SN_MUL, &n3.g, &bb.g, &yn.g));
    compare("broadcast mul", &yn);
    pair yp = mk(3, SN_SHAPE(96, 2, 33), 0);
    CHECK_OK(sn_permute(&n3.c, (const int32_t[]){2, 0, 1}, &yp.c));
    CHECK_OK(sn_permute(&n3.g, (const int32_t[]){2, 0, 1}, &yp.g));
    compare("permute", &yp);

    pair q = mk(4, SN_SHAPE(2, 4, 19, 32), 16), k = mk(4, SN_SHAPE(2, 2, 23, 32), 17), v = mk(4, SN_SHAPE(2, 2, 23, 32), 18);
    pair ya = mk(4, SN_SHAPE(2, 4, 19, 32), 0), mask = mk(3, SN_SHAPE(2, 1, 23), 0);
    for (int j = 20; j < 23; j++) ((float *)mask.c.data)[23 + j] = -INFINITY;
    /* the mask goes up as float32 either way: the attention reads it in its own dtype */
    sn_tensor_free(&mask.g);
    CHECK_OK(sn_tensor_alloc(gpu, SN_F32, 3, SN_SHAPE(2, 1, 23), &mask.g));
    CHECK_OK(sn_upload_convert(&mask.g, SN_F32, mask.c.data));
    sn_attn_params pc = {1.0f / sqrtf(32.0f), 0.0f, 0, 0, &mask.c}, pg = pc;
    pg.mask = &mask.g;
    CHECK_OK(sn_attention(&q.c, &k.c, &v.c, &pc, &ya.c));
    CHECK_OK(sn_attention(&q.g, &k.g, &v.g, &pg, &ya.g));
    compare("attention, masked, grouped K/V", &ya);

    pair pairs[] = {x, w, b, y, a3, b3, y3, xi, wc, bc, yc, wd, bd, yd, n3, sh, sc, yn, wn, bb, yp, q, k, v, ya, mask};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) done(&pairs[i]);
}

int main(void) {
    gpu = cuda_or_skip(SANA_PRECISION_F32);
    CHECK_OK(sn_backend_cpu_create(0, &cpu));
    tol = 1e-4;
    run_all();
    sn_backend_free(gpu);
    gpu = NULL;
    CHECK_OK(sn_backend_cuda_create(0, SANA_PRECISION_BF16, &gpu)); /* a failure here fails the test */
    if (gpu) {
        tol = 2e-2;
        run_all();
        sn_backend_free(gpu);
    }
    sn_backend_free(cpu);
    return tu_finish("test_cuda_ops");
}
