/* The DC-AE ops of the CPU backend against naive loops written from the PyTorch definitions
 * (interpolate nearest, conv2d, repeat_interleave, pixel_shuffle / pixel_unshuffle, mean). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "harness.h"

static sn_backend *be;

static sn_tensor mk(int64_t a, int64_t b, int64_t c, int64_t d, uint64_t seed) {
    sn_tensor t;
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(a, b, c, d), &t));
    if (seed) tu_fill_random(t.data, (size_t)sn_numel(&t), seed);
    else memset(t.data, 0, (size_t)sn_numel(&t) * 4);
    return t;
}

#define F(t) ((float *)(t).data)

/* naive conv2d (groups 1) of up-sampled x, double accumulation */
static void naive_conv(const sn_tensor *x, const sn_tensor *w, const sn_tensor *b, int up, int s,
                       int pad, float *y, int64_t Ho, int64_t Wo) {
    int64_t B = x->shape[0], Ci = x->shape[1], H = x->shape[2] * up, W = x->shape[3] * up;
    int64_t Co = w->shape[0], kh = w->shape[2], kw = w->shape[3];
    const float *X = x->data, *Wt = w->data;
    for (int64_t n = 0; n < B; n++)
        for (int64_t co = 0; co < Co; co++)
            for (int64_t oy = 0; oy < Ho; oy++)
                for (int64_t ox = 0; ox < Wo; ox++) {
                    double acc = b ? ((float *)b->data)[co] : 0.0;
                    for (int64_t ci = 0; ci < Ci; ci++)
                        for (int64_t ky = 0; ky < kh; ky++)
                            for (int64_t kx = 0; kx < kw; kx++) {
                                int64_t iy = oy * s - pad + ky, ix = ox * s - pad + kx;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                acc += (double)X[((n * Ci + ci) * x->shape[2] + iy / up) * x->shape[3] + ix / up] *
                                       Wt[((co * Ci + ci) * kh + ky) * kw + kx];
                            }
                    y[((n * Co + co) * Ho + oy) * Wo + ox] = (float)acc;
                }
}

static void test_conv_band(int up, int stride, int64_t H, int64_t W, int64_t Ci, int64_t Co) {
    int64_t B = 2;
    sn_tensor x = mk(B, Ci, H, W, 11), w = mk(Co, Ci, 3, 3, 12), b = mk(1, 1, 1, Co, 13);
    int64_t Ho = (H * up + 2 - 3) / stride + 1, Wo = (W * up + 2 - 3) / stride + 1;
    sn_tensor y = mk(B, Co, Ho, Wo, 0);
    float *ref = malloc((size_t)(B * Co * Ho * Wo) * 4);
    naive_conv(&x, &w, &b, up, stride, 1, ref, Ho, Wo);
    CHECK_OK(sn_conv2d_band(&x, 0, H, &w, &b, up, stride, 1, &y, 0));
    char what[96];
    snprintf(what, sizeof what, "conv2d_band up=%d stride=%d %lldx%lld %lld->%lld", up, stride,
             (long long)H, (long long)W, (long long)Ci, (long long)Co);
    CHECK(tu_check_close(what, F(y), ref, (size_t)sn_numel(&y), 1e-5), "%s", what);

    /* every band of 1..Ho rows, from an input band holding just the rows it needs, must give
     * the whole-image rows bit for bit */
    for (int64_t r0 = 0; r0 < Ho; r0 += 2)
        for (int64_t r1 = r0 + 1; r1 <= Ho; r1 += 3) {
            int64_t lo = r0 * stride - 1, hi = (r1 - 1) * stride + 1;
            lo = lo < 0 ? 0 : lo / up;
            hi = hi >= H * up ? H - 1 : hi / up;
            sn_tensor xb = mk(B, Ci, hi - lo + 1, W, 0), yb = mk(B, Co, r1 - r0, Wo, 0);
            for (int64_t n = 0; n < B; n++)
                for (int64_t c = 0; c < Ci; c++)
                    memcpy(F(xb) + ((n * Ci + c) * (hi - lo + 1)) * W, F(x) + ((n * Ci + c) * H + lo) * W,
                           (size_t)((hi - lo + 1) * W) * 4);
            CHECK_OK(sn_conv2d_band(&xb, lo, H, &w, &b, up, stride, 1, &yb, r0));
            int same = 1;
            for (int64_t n = 0; n < B; n++)
                for (int64_t c = 0; c < Co; c++)
                    same &= !memcmp(F(yb) + (n * Co + c) * (r1 - r0) * Wo,
                                    F(y) + ((n * Co + c) * Ho + r0) * Wo, (size_t)((r1 - r0) * Wo) * 4);
            CHECK(same, "%s: band rows [%lld, %lld) differ from the whole image", what,
                  (long long)r0, (long long)r1);
            if (lo > 0) { /* one input row short: refused */
                sn_tensor xs = xb;
                xs.shape[2] -= 1;
                xs.data = F(xb) + W;
                CHECK(sn_conv2d_band(&xs, lo + 1, H, &w, &b, up, stride, 1, &yb, r0) != SANA_OK,
                      "missing halo row accepted");
            }
            sn_tensor_free(&xb);
            sn_tensor_free(&yb);
        }
    /* agrees with the generic conv2d op */
    if (up == 1) {
        sn_tensor y2 = mk(B, Co, Ho, Wo, 0);
        CHECK_OK(sn_conv2d(&x, &w, &b, stride, 1, 1, &y2));
        CHECK(tu_check_close("conv2d_band vs conv2d", F(y), F(y2), (size_t)sn_numel(&y), 1e-6), "vs conv2d");
        sn_tensor_free(&y2);
    }
    free(ref);
    sn_tensor_free(&x), sn_tensor_free(&w), sn_tensor_free(&b), sn_tensor_free(&y);
}

static void test_channel_norm(void) {
    int64_t B = 2, C = 37, H = 5, W = 61; /* P = 305 > one 256-pixel block */
    sn_tensor x = mk(B, C, H, W, 21), w = mk(1, 1, 1, C, 22), b = mk(1, 1, 1, C, 23), y = mk(B, C, H, W, 0);
    for (int64_t i = 0; i < sn_numel(&x); i++) F(x)[i] *= 3.0f;
    float *ref = malloc((size_t)sn_numel(&x) * 4);
    int64_t P = H * W;
    for (int64_t n = 0; n < B; n++)
        for (int64_t p = 0; p < P; p++) {
            double ss = 0;
            for (int64_t c = 0; c < C; c++) ss += (double)F(x)[(n * C + c) * P + p] * F(x)[(n * C + c) * P + p];
            double inv = 1.0 / sqrt(ss / C + 1e-5);
            for (int64_t c = 0; c < C; c++) {
                double v = F(x)[(n * C + c) * P + p] * inv * F(w)[c] + F(b)[c];
                ref[(n * C + c) * P + p] = (float)(v > 0 ? v : 0);
            }
        }
    CHECK_OK(sn_channel_norm(&x, &w, &b, 1e-5f, SN_ACT_RELU, &y));
    CHECK(tu_check_close("channel_norm+relu", F(y), ref, (size_t)sn_numel(&y), 1e-6), "channel_norm");
    CHECK_OK(sn_channel_norm(&x, &w, &b, 1e-5f, SN_ACT_NONE, &x)); /* in place, no act */
    int neg = 0;
    for (int64_t i = 0; i < sn_numel(&x); i++) neg |= F(x)[i] < 0;
    CHECK(neg, "without act some outputs must stay negative");
    free(ref);
    sn_tensor_free(&x), sn_tensor_free(&w), sn_tensor_free(&b), sn_tensor_free(&y);
}

static void test_linear_attention(void) {
    int64_t B = 2, G = 3, d = 8, N = 50;
    sn_tensor qkv = mk(B, G, 3 * d, N, 31), y = mk(B, G, d, N, 0);
    float *ref = malloc((size_t)sn_numel(&y) * 4);
    for (int64_t n = 0; n < B; n++)
        for (int64_t g = 0; g < G; g++) {
            const float *h = F(qkv) + (n * G + g) * 3 * d * N;
            for (int64_t i = 0; i < N; i++) { /* quadratic form: sum_j v_j (k_j . q_i) / sum_j k_j . q_i */
                double num[64] = {0}, den = 0;
                for (int64_t j = 0; j < N; j++) {
                    double s = 0;
                    for (int64_t c = 0; c < d; c++) {
                        double q = h[c * N + i] > 0 ? h[c * N + i] : 0, k = h[(d + c) * N + j] > 0 ? h[(d + c) * N + j] : 0;
                        s += q * k;
                    }
                    den += s;
                    for (int64_t c = 0; c < d; c++) num[c] += h[(2 * d + c) * N + j] * s;
                }
                for (int64_t c = 0; c < d; c++) ref[((n * G + g) * d + c) * N + i] = (float)(num[c] / (den + 1e-15));
            }
        }
    CHECK_OK(sn_linear_attention_relu(&qkv, 1e-15f, &y));
    CHECK(tu_check_close("linear_attention_relu", F(y), ref, (size_t)sn_numel(&y), 1e-5), "linear attention");
    /* two passes over token chunks of 20 + 30: state accumulated, then read out per chunk */
    sn_tensor st = mk(B, G, d + 1, d, 0), y2 = mk(B, G, d, N, 0);
    for (int pass = 0; pass < 2; pass++)
        for (int ci = 0; ci < 2; ci++) {
            const int64_t t0 = ci ? 20 : 0, nt = ci ? N - 20 : 20; /* chunks [0,20) [20,50) */
            sn_tensor c = mk(B, G, 3 * d, nt, 0), yc = mk(B, G, d, nt, 0);
            for (int64_t r = 0; r < B * G * 3 * d; r++) memcpy(F(c) + r * nt, F(qkv) + r * N + t0, (size_t)nt * 4);
            if (pass == 0) CHECK_OK(sn_linear_attention_state(&c, &st));
            else {
                CHECK_OK(sn_linear_attention_apply(&c, &st, 1e-15f, &yc));
                for (int64_t r = 0; r < B * G * d; r++) memcpy(F(y2) + r * N + t0, F(yc) + r * nt, (size_t)nt * 4);
            }
            sn_tensor_free(&c), sn_tensor_free(&yc);
        }
    CHECK(tu_check_close("linear_attention state+apply (2 chunks)", F(y2), ref, (size_t)sn_numel(&y2), 1e-5),
          "chunked linear attention");
    /* the state is fp32 (it sums over every chunk): the CPU ops refuse any other dtype rather
     * than read its bytes as floats */
    sn_tensor sb;
    CHECK_OK(sn_tensor_alloc(be, SN_BF16, 4, SN_SHAPE(B, G, d + 1, d), &sb));
    CHECK_STATUS(sn_linear_attention_state(&qkv, &sb), SANA_ERR_UNSUPPORTED);
    CHECK_STATUS(sn_linear_attention_apply(&qkv, &sb, 1e-15f, &y2), SANA_ERR_UNSUPPORTED);
    CHECK(strstr(tu_last_error(), "F32") != NULL, "message: %s", tu_last_error());
    sn_tensor_free(&sb);
    sn_tensor_free(&st), sn_tensor_free(&y2);
    free(ref);
    sn_tensor_free(&qkv), sn_tensor_free(&y);
}

/* shortcut_dup against repeat_interleave then pixel_shuffle, materialised */
static void test_shortcut_dup(int f, int64_t Ci, int64_t Co) {
    int64_t B = 2, H = 3, W = 4, r = f * f * Co / Ci;
    sn_tensor x = mk(B, Ci, H, W, 41), y = mk(B, Co, H * f, W * f, 42);
    float *ref = malloc((size_t)sn_numel(&y) * 4), *rep = malloc((size_t)(B * Ci * r * H * W) * 4);
    for (int64_t n = 0; n < B; n++)
        for (int64_t k = 0; k < Ci * r; k++) /* repeat_interleave: channel k <- k / r */
            memcpy(rep + (n * Ci * r + k) * H * W, F(x) + (n * Ci + k / r) * H * W, (size_t)(H * W) * 4);
    for (int64_t n = 0; n < B; n++) /* pixel_shuffle: out[c, fY+i, fX+j] = in[c f² + i f + j, Y, X] */
        for (int64_t c = 0; c < Co; c++)
            for (int64_t Y = 0; Y < H * f; Y++)
                for (int64_t X = 0; X < W * f; X++) {
                    int64_t i = Y % f, j = X % f;
                    int64_t idx = ((n * Co + c) * H * f + Y) * W * f + X;
                    ref[idx] = F(y)[idx] + rep[((n * Ci * r + c * f * f + i * f + j) * H + Y / f) * W + X / f];
                }
    sn_tensor yb = mk(B, Co, 3, W * f, 0); /* a band: output rows [2, 5) from input rows [1, 3) */
    if (f == 2) /* only f = 2 has the 6 output rows the band needs */
        for (int64_t n = 0; n < B; n++)
            for (int64_t c = 0; c < Co; c++)
                memcpy(F(yb) + (n * Co + c) * 3 * W * f, F(y) + ((n * Co + c) * H * f + 2) * W * f, (size_t)(3 * W * f) * 4);
    CHECK_OK(sn_shortcut_dup(&x, 0, f, &y, 0));
    char what[64];
    snprintf(what, sizeof what, "shortcut_dup f=%d %lld->%lld", f, (long long)Ci, (long long)Co);
    CHECK(tu_check_close(what, F(y), ref, (size_t)sn_numel(&y), 0), "%s", what);
    if (f == 2) {
        /* input rows 1..2 of every channel */
        sn_tensor xs = mk(B, Ci, 2, W, 0);
        for (int64_t k = 0; k < B * Ci; k++) memcpy(F(xs) + k * 2 * W, F(x) + (k * H + 1) * W, (size_t)(2 * W) * 4);
        CHECK_OK(sn_shortcut_dup(&xs, 1, f, &yb, 2));
        int same = 1;
        for (int64_t n = 0; n < B; n++)
            for (int64_t c = 0; c < Co; c++)
                same &= !memcmp(F(yb) + (n * Co + c) * 3 * W * f, ref + ((n * Co + c) * H * f + 2) * W * f, (size_t)(3 * W * f) * 4);
        CHECK(same, "%s: banded rows differ", what);
        sn_tensor_free(&xs);
    }
    free(ref), free(rep);
    sn_tensor_free(&x), sn_tensor_free(&y), sn_tensor_free(&yb);
}

/* shortcut_avg against pixel_unshuffle then unflatten + mean, materialised */
static void test_shortcut_avg(int f, int64_t Ci, int64_t Co) {
    int64_t B = 2, H = 3, W = 4, g = f * f * Ci / Co;
    sn_tensor x = mk(B, Ci, H * f, W * f, 51), y = mk(B, Co, H, W, 52);
    float *ref = malloc((size_t)sn_numel(&y) * 4), *U = malloc((size_t)(B * Ci * f * f * H * W) * 4);
    for (int64_t n = 0; n < B; n++)
        for (int64_t c = 0; c < Ci; c++)
            for (int64_t i = 0; i < f; i++)
                for (int64_t j = 0; j < f; j++)
                    for (int64_t Y = 0; Y < H; Y++)
                        for (int64_t X = 0; X < W; X++)
                            U[((n * Ci * f * f + c * f * f + i * f + j) * H + Y) * W + X] =
                                F(x)[((n * Ci + c) * H * f + f * Y + i) * W * f + f * X + j];
    for (int64_t n = 0; n < B; n++)
        for (int64_t o = 0; o < Co; o++)
            for (int64_t p = 0; p < H * W; p++) {
                double s = 0;
                for (int64_t t = 0; t < g; t++) s += U[(n * Ci * f * f + o * g + t) * H * W + p];
                ref[(n * Co + o) * H * W + p] = F(y)[(n * Co + o) * H * W + p] + (float)(s / g);
            }
    CHECK_OK(sn_shortcut_avg(&x, f, &y));
    char what[64];
    snprintf(what, sizeof what, "shortcut_avg f=%d %lld->%lld", f, (long long)Ci, (long long)Co);
    CHECK(tu_check_close(what, F(y), ref, (size_t)sn_numel(&y), 1e-6), "%s", what);
    free(ref), free(U);
    sn_tensor_free(&x), sn_tensor_free(&y);
}

/* sn_op_scratch_bytes says exactly what each op then takes from the scratch arena (the DC-AE
 * budget planner adds it up instead of running the op). */
static size_t arena_take(sn_op_shape sh) {
    const size_t used0 = be->scratch.used;
    be->scratch.peak = used0;
    sana_status st = SANA_OK;
    switch (sh.op) {
    case SN_OP_CONV2D:
        st = sn_conv2d(sh.x, sh.w, NULL, sh.stride, sh.pad, sh.groups, (sn_tensor *)sh.y);
        break;
    case SN_OP_CONV2D_BAND:
        st = sn_conv2d_band(sh.x, 0, sh.h_full, sh.w, NULL, sh.up, sh.stride, sh.pad, (sn_tensor *)sh.y, 0);
        break;
    case SN_OP_LINATTN_RELU: st = sn_linear_attention_relu(sh.x, 1e-15f, (sn_tensor *)sh.y); break;
    case SN_OP_LINATTN_STATE: st = sn_linear_attention_state(sh.x, (sn_tensor *)sh.y); break;
    case SN_OP_LINATTN_APPLY: st = sn_linear_attention_apply(sh.x, sh.w, 1e-15f, (sn_tensor *)sh.y); break;
    case SN_OP_ATTENTION: /* test_ops_cpu checks softmax attention's and linear's */
    case SN_OP_LINEAR: break;
    }
    CHECK_OK(st);
    CHECK(be->scratch.used == used0, "op %d kept scratch", (int)sh.op);
    return be->scratch.peak - used0;
}

static void test_scratch_query(void) {
    struct {
        int up, stride;
        int64_t Ci, Co, k, H, W;
    } bands[] = {{1, 1, 5, 4, 3, 6, 7}, {2, 1, 3, 2, 3, 4, 5}, {1, 2, 4, 3, 3, 8, 9}, {1, 1, 6, 3, 1, 3, 4}};
    for (size_t i = 0; i < sizeof bands / sizeof *bands; i++) {
        const int up = bands[i].up, s = bands[i].stride;
        const int64_t k = bands[i].k, p = k / 2, Ho = (bands[i].H * up + 2 * p - k) / s + 1;
        const int64_t Wo = (bands[i].W * up + 2 * p - k) / s + 1;
        sn_tensor x = mk(1, bands[i].Ci, bands[i].H, bands[i].W, 3), w = mk(bands[i].Co, bands[i].Ci, k, k, 4);
        sn_tensor y = mk(1, bands[i].Co, Ho, Wo, 0);
        sn_op_shape sh = {.op = SN_OP_CONV2D_BAND, .x = &x, .w = &w, .y = &y, .up = up, .stride = s, .pad = (int32_t)p, .groups = 1,
                          .h_full = bands[i].H};
        const size_t want = sn_op_scratch_bytes(be, &sh), got = arena_take(sh);
        CHECK(want == got && got > 0, "conv2d_band case %zu: query %zu, took %zu", i, want, got);
        sn_tensor_free(&x), sn_tensor_free(&w), sn_tensor_free(&y);
    }
    /* 1x1 and depthwise convolutions take none */
    sn_tensor x = mk(1, 6, 5, 5, 5), w1 = mk(4, 6, 1, 1, 6), wd = mk(6, 1, 3, 3, 7), y1 = mk(1, 4, 5, 5, 0), yd = mk(1, 6, 5, 5, 0);
    sn_op_shape c1 = {.op = SN_OP_CONV2D, .x = &x, .w = &w1, .y = &y1, .stride = 1, .pad = 0, .groups = 1};
    sn_op_shape cd = {.op = SN_OP_CONV2D, .x = &x, .w = &wd, .y = &yd, .stride = 1, .pad = 1, .groups = 6};
    CHECK(sn_op_scratch_bytes(be, &c1) == 0 && arena_take(c1) == 0, "1x1 conv scratch");
    CHECK(sn_op_scratch_bytes(be, &cd) == 0 && arena_take(cd) == 0, "depthwise conv scratch");
    const int64_t G = 3, d = 8, N = 37;
    sn_tensor qkv = mk(1, G, 3 * d, N, 8), ya = mk(1, G, d, N, 0), st = mk(1, G, d + 1, d, 0);
    sn_op_shape la[3] = {{.op = SN_OP_LINATTN_RELU, .x = &qkv, .y = &ya},
                         {.op = SN_OP_LINATTN_STATE, .x = &qkv, .y = &st},
                         {.op = SN_OP_LINATTN_APPLY, .x = &qkv, .w = &st, .y = &ya}};
    for (int i = 0; i < 3; i++) {
        const size_t want = sn_op_scratch_bytes(be, &la[i]), got = arena_take(la[i]);
        CHECK(want == got && got > 0, "linear attention op %d: query %zu, took %zu", (int)la[i].op, want, got);
    }
    sn_tensor_free(&x), sn_tensor_free(&w1), sn_tensor_free(&wd), sn_tensor_free(&y1), sn_tensor_free(&yd);
    sn_tensor_free(&qkv), sn_tensor_free(&ya), sn_tensor_free(&st);
    printf("op scratch queries equal what the ops take from the arena\n");
}

int main(void) {
    CHECK_OK(sn_backend_cpu_create(2, &be));
    test_conv_band(1, 1, 9, 6, 5, 7);
    test_conv_band(2, 1, 5, 3, 5, 7);
    test_conv_band(1, 2, 10, 8, 5, 7);
    /* the Winograd path's edges: odd width and height, tile rows longer than one block (259
     * tiles: two blocks of 130), output channels in chunks (520 x 520 > 2^18 weights) */
    test_conv_band(1, 1, 7, 9, 3, 4);
    test_conv_band(1, 1, 5, 517, 3, 2);
    test_conv_band(2, 1, 3, 259, 2, 3);
    test_conv_band(2, 1, 4, 3, 520, 520);
    test_channel_norm();
    test_linear_attention();
    test_scratch_query();
    test_shortcut_dup(2, 4, 4);  /* r = 4: nearest upsample */
    test_shortcut_dup(2, 4, 2);  /* r = 2: halving upsampler */
    test_shortcut_dup(1, 2, 8);  /* decoder input shortcut: repeat_interleave(4) */
    test_shortcut_avg(2, 4, 4);  /* g = 4: 2x2 average pool */
    test_shortcut_avg(2, 2, 4);  /* g = 2 */
    test_shortcut_avg(1, 8, 2);  /* encoder output shortcut: mean of 4 consecutive channels */
    /* shape errors are refused, not crashed on */
    sn_tensor a = mk(1, 3, 4, 4, 1), w = mk(2, 4, 3, 3, 1), o = mk(1, 2, 4, 4, 0);
    CHECK(sn_conv2d_band(&a, 0, 4, &w, NULL, 1, 1, 1, &o, 0) != SANA_OK, "channel mismatch accepted");
    CHECK(sn_shortcut_dup(&a, 0, 2, &o, 0) != SANA_OK, "bad shortcut accepted");
    sn_tensor_free(&a), sn_tensor_free(&w), sn_tensor_free(&o);
    sn_backend_free(be);
    return tu_finish("test_ops_dcae");
}
