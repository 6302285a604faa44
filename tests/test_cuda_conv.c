/* The CUDA backend's convolutions on both of its paths, cuDNN (SANA_CUDA_CONV=cudnn) and im2col
 * + cuBLASLt (SANA_CUDA_CONV=gemm), against the CPU backend on random data: fp32 mode within 1e-4
 * relative, bf16 mode within 2e-2. The DC-AE's shapes: 3x3 pad 1, 1x1, grouped, stride 2, the
 * banded conv2d_band with and without fused 2x upsampling, bands at the top, middle and bottom
 * of images wide enough to need several of cuDNN's row chunks, ragged widths. Outputs are
 * poisoned with NaN first, so a row left unwritten fails. Bands must equal the whole image's rows
 * bit for bit on both paths (exact banded decoding). In cuDNN mode every convolution must really
 * have gone through cudnnConvolutionForward (its call counter grows), the depthwise one must not.
 * A graph replays cuDNN convolutions with new inputs. Each call takes from the scratch arena
 * exactly what sn_op_scratch_bytes said (the DC-AE budget planner adds those up). Skips (77) without a GPU; the cuDNN half
 * is left out (said so) where cuDNN cannot be loaded. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/dnn.h"
#include "cuda_pair.h"
#include "harness.h"

static const char *mode;
static int want_dnn;
static uint64_t dnn_calls;

/* the op just run went through cuDNN in cuDNN mode (expect = 1), never in GEMM mode */
static void path_was(const char *what, int expect) {
    uint64_t n = 0;
    int on = sn_cuda_conv_cudnn(gpu, &n);
    CHECK(on == want_dnn, "%s: cuDNN %s in %s mode", what, on ? "on" : "off", mode);
    if (want_dnn && expect) CHECK(n > dnn_calls, "%s did not call cuDNN", what);
    if (!want_dnn || !expect) CHECK(n == dnn_calls, "%s called cuDNN", what);
    dnn_calls = n;
}

/* The scratch query (sn_op_scratch_bytes: what the DC-AE planner adds up) against what the call
 * then takes from the arena: arm before the call, check after. */
static size_t scratch_used0, scratch_want;
static void scratch_arm(const sn_op_shape *s) {
    scratch_want = sn_op_scratch_bytes(gpu, s);
    scratch_used0 = gpu->scratch.used;
    gpu->scratch.peak = scratch_used0;
}
static void scratch_check(const char *what) {
    const size_t took = gpu->scratch.peak - scratch_used0;
    CHECK(took == scratch_want, "%s: took %zu bytes of scratch, the query said %zu", what, took, scratch_want);
}

static void conv_case(const char *what, int64_t B, int64_t Ci, int64_t H, int64_t W, int64_t Co, int64_t k,
                      int32_t stride, int32_t pad, int32_t groups, int bias, int via_dnn, uint64_t seed) {
    int64_t Ho = (H + 2 * pad - k) / stride + 1, Wo = (W + 2 * pad - k) / stride + 1;
    pair x = mk(4, SN_SHAPE(B, Ci, H, W), seed), w = mk(4, SN_SHAPE(Co, Ci / groups, k, k), seed + 1);
    pair b = mk(1, SN_SHAPE(Co), seed + 2), y = mk(4, SN_SHAPE(B, Co, Ho, Wo), 0);
    CHECK_OK(sn_fill(&y.g, NAN));
    CHECK_OK(sn_conv2d(&x.c, &w.c, bias ? &b.c : NULL, stride, pad, groups, &y.c));
    scratch_arm(&(sn_op_shape){.op = SN_OP_CONV2D, .x = &x.g, .w = &w.g, .y = &y.g, .stride = stride, .pad = pad,
                               .groups = groups});
    CHECK_OK(sn_conv2d(&x.g, &w.g, bias ? &b.g : NULL, stride, pad, groups, &y.g));
    char name[200];
    snprintf(name, sizeof name, "%s: conv2d %s", mode, what);
    scratch_check(name);
    compare(name, &y);
    path_was(name, via_dnn);
    done(&x), done(&w), done(&b), done(&y);
}

/* rows [r0, r0 + n) of every image and channel of host [B, C, H, W] (malloc'd) */
static float *host_rows(const float *a, int64_t BC, int64_t H, int64_t W, int64_t r0, int64_t n) {
    float *o = malloc((size_t)(BC * n * W) * 4);
    CHECK(o != NULL, "host rows");
    for (int64_t i = 0; i < BC; i++) memcpy(o + i * n * W, a + (i * H + r0) * W, (size_t)(n * W) * 4);
    return o;
}

/* dst [B, C, n, W] = rows [r0, r0 + n) of the GPU tensor src [B, C, H, W] */
static void device_rows(const sn_tensor *src, int64_t r0, sn_tensor *dst) {
    int64_t BC = src->shape[0] * src->shape[1], H = src->shape[2], W = src->shape[3], n = dst->shape[2];
    size_t es = sn_dtype_size(src->dtype);
    for (int64_t i = 0; i < BC; i++) {
        sn_tensor s = *src, d = *dst;
        s.data = (char *)src->data + (size_t)((i * H + r0) * W) * es;
        d.data = (char *)dst->data + (size_t)(i * n * W) * es;
        s.ndim = d.ndim = 1;
        s.shape[0] = d.shape[0] = n * W;
        CHECK_OK(sn_copy(&d, &s));
    }
}

/* conv2d_band on the whole image, then on the bands [cuts[i], cuts[i+1]) of output rows, each
 * from an x that holds exactly the input rows the band needs. */
static void band_case(const char *what, int64_t B, int64_t Ci, int64_t h_full, int64_t Wx, int64_t Co, int64_t k,
                      int32_t up, int32_t stride, int32_t pad, int bias, const int64_t *cuts, int n_bands,
                      uint64_t seed) {
    const int64_t Hin = h_full * up, Win = Wx * up;
    const int64_t Ho = (Hin + 2 * pad - k) / stride + 1, Wo = (Win + 2 * pad - k) / stride + 1;
    pair x = mk(4, SN_SHAPE(B, Ci, h_full, Wx), seed), w = mk(4, SN_SHAPE(Co, Ci, k, k), seed + 1);
    pair b = mk(1, SN_SHAPE(Co), seed + 2), y = mk(4, SN_SHAPE(B, Co, Ho, Wo), 0);
    const sn_tensor *bc = bias ? &b.c : NULL, *bg = bias ? &b.g : NULL;
    CHECK_OK(sn_fill(&y.g, NAN));
    CHECK_OK(sn_conv2d_band(&x.c, 0, h_full, &w.c, bc, up, stride, pad, &y.c, 0));
    scratch_arm(&(sn_op_shape){.op = SN_OP_CONV2D_BAND, .x = &x.g, .w = &w.g, .y = &y.g, .up = up, .stride = stride,
                               .pad = pad, .groups = 1, .h_full = h_full});
    CHECK_OK(sn_conv2d_band(&x.g, 0, h_full, &w.g, bg, up, stride, pad, &y.g, 0));
    char name[240];
    snprintf(name, sizeof name, "%s: conv2d_band %s, whole image %lldx%lld", mode, what, (long long)Ho,
             (long long)Wo);
    scratch_check(name);
    compare(name, &y);
    path_was(name, 1);
    float *whole = fetch(&y.g);
    for (int i = 0; i < n_bands; i++) {
        int64_t r0 = cuts[i], r1 = cuts[i + 1];
        int64_t lo = r0 * stride - pad, hi = (r1 - 1) * stride - pad + k - 1; /* upsampled input rows */
        lo = lo < 0 ? 0 : lo;
        hi = hi >= Hin ? Hin - 1 : hi;
        int64_t x0 = lo / up, xn = hi / up - x0 + 1;
        sn_tensor xb, yb;
        CHECK_OK(sn_tensor_alloc(gpu, gpu->act_dtype, 4, SN_SHAPE(B, Ci, xn, Wx), &xb));
        CHECK_OK(sn_tensor_alloc(gpu, gpu->act_dtype, 4, SN_SHAPE(B, Co, r1 - r0, Wo), &yb));
        device_rows(&x.g, x0, &xb);
        CHECK_OK(sn_fill(&yb, NAN));
        scratch_arm(&(sn_op_shape){.op = SN_OP_CONV2D_BAND, .x = &xb, .w = &w.g, .y = &yb, .up = up,
                                   .stride = stride, .pad = pad, .groups = 1, .h_full = h_full});
        CHECK_OK(sn_conv2d_band(&xb, x0, h_full, &w.g, bg, up, stride, pad, &yb, r0));
        snprintf(name, sizeof name, "%s: conv2d_band %s, rows [%lld, %lld) from input rows [%lld, %lld)", mode, what,
                 (long long)r0, (long long)r1, (long long)x0, (long long)(x0 + xn));
        scratch_check(name);
        path_was(name, 1);
        float *got = fetch(&yb), *ref = host_rows(y.c.data, B * Co, Ho, Wo, r0, r1 - r0);
        float *same = host_rows(whole, B * Co, Ho, Wo, r0, r1 - r0);
        size_t n = (size_t)(B * Co * (r1 - r0) * Wo);
        tu_check_close(name, got, ref, n, tol);
        int exact = !memcmp(got, same, n * 4);
        printf("%s: %s the whole image's rows\n", name, exact ? "equal to" : "DIFFERENT FROM");
        CHECK(exact, "%s: banded rows differ from the whole image's", name);
        free(got), free(ref), free(same);
        sn_tensor_free(&xb), sn_tensor_free(&yb);
    }
    free(whole);
    done(&x), done(&w), done(&b), done(&y);
}

static void convs(void) {
    conv_case("3x3 pad 1, bias", 2, 16, 9, 13, 24, 3, 1, 1, 1, 1, 1, 11);
    conv_case("1x1, bias", 2, 32, 7, 11, 16, 1, 1, 0, 1, 1, 1, 12);
    conv_case("1x1, no bias", 1, 24, 5, 17, 48, 1, 1, 0, 1, 0, 1, 13);
    conv_case("3x3 pad 1, groups 4", 2, 16, 6, 7, 8, 3, 1, 1, 4, 1, 1, 14);
    conv_case("1x1 groups 12 (multi-scale projection)", 2, 36, 5, 7, 36, 1, 1, 0, 12, 0, 1, 15);
    conv_case("3x3 stride 2 pad 1, ragged", 1, 8, 17, 15, 12, 3, 2, 1, 1, 1, 1, 16);
    conv_case("2x2 stride 2 (patch embedding)", 2, 4, 8, 10, 32, 2, 2, 0, 1, 1, 1, 17);
    conv_case("5x5 depthwise (own kernel, not cuDNN)", 2, 12, 6, 9, 12, 5, 1, 2, 12, 0, 0, 18);
}

static void bands(void) {
    /* wide: cuDNN's chunks are ~65536 output pixels, 32 rows at width 2048; bands cross them */
    const int64_t c100[] = {0, 37, 70, 100};
    band_case("3x3 pad 1, width 2048", 1, 4, 100, 2048, 6, 3, 1, 1, 1, 1, c100, 3, 21);
    const int64_t c100u[] = {0, 33, 64, 100};
    band_case("3x3 pad 1, up 2 (fused), width 1024 -> 2048", 1, 4, 50, 1024, 6, 3, 2, 1, 1, 1, c100u, 3, 22);
    /* small, ragged, batch 2: one chunk holds the whole image */
    const int64_t c16[] = {0, 5, 11, 16};
    band_case("3x3 pad 1, up 2, 8x9 -> 16x18, batch 2", 2, 6, 8, 9, 5, 3, 2, 1, 1, 1, c16, 3, 23);
    const int64_t c10[] = {0, 3, 7, 10};
    band_case("1x1, width 13, batch 2", 2, 8, 10, 13, 5, 1, 1, 1, 0, 1, c10, 3, 24);
    const int64_t c13[] = {0, 1, 12, 13};
    band_case("3x3 pad 1, width 13, one-row edge bands, no bias", 1, 8, 13, 13, 3, 3, 1, 1, 1, 0, c13, 3, 25);
    const int64_t c5[] = {0, 2, 5};
    band_case("3x3 stride 2 pad 1 (downsample), batch 2", 2, 4, 9, 9, 6, 3, 1, 2, 1, 0, c5, 2, 26);
}

/* A graph: new values uploaded into x, then conv2d_band (up 2) and a 1x1 conv2d. */
typedef struct conv_graph {
    const float *host;
    sn_tensor *x, *y, *z;
    const sn_tensor *w, *b, *w1;
} conv_graph;

static sana_status conv_graph_fn(void *user) {
    conv_graph *g = user;
    sana_status st = sn_upload_convert(g->x, SN_F32, g->host);
    if (st == SANA_OK) st = sn_conv2d_band(g->x, 0, g->x->shape[2], g->w, g->b, 2, 1, 1, g->y, 0);
    if (st == SANA_OK) st = sn_conv2d(g->y, g->w1, NULL, 1, 0, 1, g->z);
    return st;
}

static void graph(void) {
    pair x = mk(4, SN_SHAPE(1, 4, 6, 7), 31), w = mk(4, SN_SHAPE(8, 4, 3, 3), 32), b = mk(1, SN_SHAPE(8), 33);
    pair w1 = mk(4, SN_SHAPE(5, 8, 1, 1), 34), y = mk(4, SN_SHAPE(1, 8, 12, 14), 0), z = mk(4, SN_SHAPE(1, 5, 12, 14), 0);
    sn_graph *gr = NULL;
    float host[4 * 6 * 7];
    for (int call = 0; call < 3; call++) {
        pair in = mk(4, SN_SHAPE(1, 4, 6, 7), 40 + (uint64_t)call);
        memcpy(host, in.c.data, sizeof host);
        CHECK_OK(sn_conv2d_band(&in.c, 0, 6, &w.c, &b.c, 2, 1, 1, &y.c, 0));
        CHECK_OK(sn_conv2d(&y.c, &w1.c, NULL, 1, 0, 1, &z.c));
        conv_graph g = {host, &x.g, &y.g, &z.g, &w.g, &b.g, &w1.g};
        CHECK_OK(sn_graph_run(gpu, &gr, conv_graph_fn, &g));
        CHECK_OK(sn_backend_sync(gpu));
        char name[96];
        snprintf(name, sizeof name, "%s: graph run %d of conv2d_band + conv2d", mode, call);
        compare(name, &z);
        done(&in);
    }
    sn_graph_free(gpu, gr);
    done(&x), done(&w), done(&b), done(&w1), done(&y), done(&z);
}

int main(void) {
    gpu = cuda_or_skip(SANA_PRECISION_F32); /* skips only without CUDA or a device */
    sn_backend_free(gpu);
    CHECK_OK(sn_backend_cpu_create(0, &cpu));
    const char *modes[2] = {"gemm", "cudnn"};
    const sana_precision precs[2] = {SANA_PRECISION_F32, SANA_PRECISION_BF16};
    const double tols[2] = {1e-4, 2e-2};
    for (int m = 0; m < 2; m++) {
        setenv("SANA_CUDA_CONV", modes[m], 1);
        want_dnn = m == 1;
        for (int p = 0; p < 2; p++) {
            CHECK_OK(sn_backend_cuda_create(0, precs[p], &gpu));
            if (!gpu) break;
            char label[64];
            snprintf(label, sizeof label, "%s %s", modes[m], p ? "bf16" : "fp32");
            mode = label;
            tol = tols[p];
            if (want_dnn && !sn_cuda_conv_cudnn(gpu, &dnn_calls)) {
                CHECK(!sn_cudnn_available(), "cuDNN loaded, yet the backend does not use it");
                printf("cuDNN cannot be loaded here (SANA_CUDNN_LIBRARY?): the cuDNN path was NOT tested\n");
                sn_backend_free(gpu);
                break;
            }
            printf("--- %s, tolerance %g\n", mode, tol);
            convs();
            bands();
            graph();
            sn_backend_free(gpu);
        }
    }
    sn_backend_free(cpu);
    return tu_finish("test_cuda_conv");
}
