/* The CPU backend's core ops against naive loops written here, on random data. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "backend/backend.h"
#include "core/dtype.h"
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

static void test_linear(void) {
    int64_t M = 7, K = 13, N = 5;
    sn_tensor x = mk(2, SN_SHAPE(M, K), 1), w = mk(2, SN_SHAPE(N, K), 2), b = mk(1, SN_SHAPE(N), 3);
    sn_tensor y = mk(2, SN_SHAPE(M, N), 0), r = mk(2, SN_SHAPE(M, N), 0);
    sn_act acts[] = {SN_ACT_NONE, SN_ACT_SILU, SN_ACT_GELU_TANH, SN_ACT_RELU, SN_ACT_GELU};
    for (int a = 0; a < 5; a++) {
        CHECK_OK(sn_linear(&x, &w, &b, acts[a], &y));
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double s = F(b)[j];
                for (int64_t k = 0; k < K; k++) s += (double)F(x)[i * K + k] * F(w)[j * K + k];
                double v = s;
                switch (acts[a]) {
                case SN_ACT_SILU: v = s / (1 + exp(-s)); break;
                case SN_ACT_GELU_TANH: v = 0.5 * s * (1 + tanh(sqrt(2 / 3.14159265358979323846) * (s + 0.044715 * s * s * s))); break;
                case SN_ACT_RELU: v = s > 0 ? s : 0; break;
                case SN_ACT_GELU: v = 0.5 * s * (1 + erf(s / sqrt(2.0))); break;
                default: break;
                }
                F(r)[i * N + j] = (float)v;
            }
        tu_check_close("linear", F(y), F(r), (size_t)(M * N), 1e-6);
    }
    /* shape mismatch is refused, not computed */
    sn_tensor bad = mk(2, SN_SHAPE(M, K + 1), 4);
    CHECK(sn_linear(&bad, &w, &b, SN_ACT_NONE, &y) != SANA_OK, "linear accepted K mismatch");
    sn_tensor_free(&bad);
    sn_tensor_free(&x), sn_tensor_free(&w), sn_tensor_free(&b), sn_tensor_free(&y), sn_tensor_free(&r);
}

/* Weights left in a file's 16-bit type (a mapped view: be NULL, as sn_weights_mapf makes it):
 * the same products as the fp32 weights holding the same values, whatever the thread count,
 * with exactly the conversion buffer the scratch query says, and none kept. */
static void test_linear_16(void) {
    /* the last two are large enough for rows split evenly over the threads (cpu_gemm.c) */
    const struct { int64_t M, N, K; } shapes[] = {{7, 5, 13},   {33, 600, 70},    {64, 1000, 600},  {1, 700, 300},
                                                  {3, 333, 2304}, {4, 70, 15},   {512, 1152, 1152}, {520, 1000, 1040}};
    const sn_dtype types[2] = {SN_BF16, SN_F16};
    for (size_t c = 0; c < sizeof shapes / sizeof *shapes; c++)
        for (int t = 0; t < 2; t++) {
            const int64_t M = shapes[c].M, N = shapes[c].N, K = shapes[c].K;
            sn_tensor x = mk(2, SN_SHAPE(M, K), 5), w32 = mk(2, SN_SHAPE(N, K), 6), b = mk(1, SN_SHAPE(N), 7);
            sn_tensor y = mk(2, SN_SHAPE(M, N), 0), r = mk(2, SN_SHAPE(M, N), 0);
            uint16_t *h = malloc((size_t)(N * K) * 2);
            for (int64_t i = 0; i < N * K; i++) { /* the 16-bit values, and the same values in fp32 */
                h[i] = types[t] == SN_BF16 ? sn_f32_to_bf16(F(w32)[i]) : sn_f32_to_f16(F(w32)[i]);
                F(w32)[i] = types[t] == SN_BF16 ? sn_bf16_to_f32(h[i]) : sn_f16_to_f32(h[i]);
            }
            sn_tensor w16 = {types[t], 2, {N, K}, h, NULL};
            const size_t want = sn_op_scratch_bytes(be, &(sn_op_shape){.op = SN_OP_LINEAR, .x = &x, .w = &w16});
            const size_t used0 = be->scratch.used;
            be->scratch.peak = used0;
            CHECK_OK(sn_linear(&x, &w16, &b, SN_ACT_SILU, &y));
            /* a few rows against BF16 take the direct dot products, no buffer (cpu_gemm.c) */
            const int direct = types[t] == SN_BF16 && M <= 4;
            CHECK(be->scratch.used == used0 && be->scratch.peak - used0 == want && (want > 0) == !direct,
                  "linear %s scratch: query %zu, took %zu", sn_dtype_name(types[t]), want, be->scratch.peak - used0);
            CHECK_OK(sn_linear(&x, &w32, &b, SN_ACT_SILU, &r));
            char what[96];
            snprintf(what, sizeof what, "linear, %s weights, M %lld N %lld K %lld", sn_dtype_name(types[t]),
                     (long long)M, (long long)N, (long long)K);
            tu_check_close(what, F(y), F(r), (size_t)(M * N), 1e-6);
            for (int nt = 1; nt <= 3; nt += 2) {
                omp_set_num_threads(nt);
                CHECK_OK(sn_linear(&x, &w16, &b, SN_ACT_SILU, &r));
                omp_set_num_threads(2);
                CHECK(!memcmp(F(y), F(r), (size_t)(M * N) * 4), "%s: %d thread(s) and 2 threads differ", what, nt);
            }
            free(h);
            sn_tensor_free(&w16); /* a view: leaves the memory alone */
            CHECK(w16.data == NULL, "sn_tensor_free cleared the view");
            sn_tensor_free(&x), sn_tensor_free(&w32), sn_tensor_free(&b), sn_tensor_free(&y), sn_tensor_free(&r);
        }
}

static void test_matmul(void) {
    int64_t B = 3, M = 4, K = 6, N = 5;
    sn_tensor a = mk(3, SN_SHAPE(B, M, K), 5), bt = mk(3, SN_SHAPE(B, N, K), 6);
    sn_tensor y = mk(3, SN_SHAPE(B, M, N), 0);
    float r[3 * 4 * 5];
    CHECK_OK(sn_matmul(&a, &bt, 1, 0.5f, &y));
    for (int64_t z = 0; z < B; z++)
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double s = 0;
                for (int64_t k = 0; k < K; k++) s += (double)F(a)[(z * M + i) * K + k] * F(bt)[(z * N + j) * K + k];
                r[(z * M + i) * N + j] = (float)(0.5 * s);
            }
    tu_check_close("matmul trans_b", F(y), r, (size_t)(B * M * N), 1e-6);
    sn_tensor bn = mk(3, SN_SHAPE(B, K, N), 7);
    CHECK_OK(sn_matmul(&a, &bn, 0, 1.0f, &y));
    for (int64_t z = 0; z < B; z++)
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double s = 0;
                for (int64_t k = 0; k < K; k++) s += (double)F(a)[(z * M + i) * K + k] * F(bn)[(z * K + k) * N + j];
                r[(z * M + i) * N + j] = (float)s;
            }
    tu_check_close("matmul", F(y), r, (size_t)(B * M * N), 1e-6);
    sn_tensor_free(&a), sn_tensor_free(&bt), sn_tensor_free(&bn), sn_tensor_free(&y);
}

static void conv_case(int64_t B, int64_t Ci, int64_t Co, int64_t H, int64_t W, int64_t k, int s, int p, int g) {
    int64_t Ho = (H + 2 * p - k) / s + 1, Wo = (W + 2 * p - k) / s + 1;
    sn_tensor x = mk(4, SN_SHAPE(B, Ci, H, W), 11), w = mk(4, SN_SHAPE(Co, Ci / g, k, k), 12);
    sn_tensor b = mk(1, SN_SHAPE(Co), 13), y = mk(4, SN_SHAPE(B, Co, Ho, Wo), 0);
    float *r = calloc((size_t)(B * Co * Ho * Wo), 4);
    CHECK_OK(sn_conv2d(&x, &w, &b, s, p, g, &y));
    int64_t cig = Ci / g, cog = Co / g;
    for (int64_t n = 0; n < B; n++)
        for (int64_t co = 0; co < Co; co++)
            for (int64_t oy = 0; oy < Ho; oy++)
                for (int64_t ox = 0; ox < Wo; ox++) {
                    double acc = F(b)[co];
                    int64_t gi = co / cog;
                    for (int64_t ci = 0; ci < cig; ci++)
                        for (int64_t ky = 0; ky < k; ky++)
                            for (int64_t kx = 0; kx < k; kx++) {
                                int64_t iy = oy * s - p + ky, ix = ox * s - p + kx;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                acc += (double)F(x)[((n * Ci + gi * cig + ci) * H + iy) * W + ix] *
                                       F(w)[((co * cig + ci) * k + ky) * k + kx];
                            }
                    r[((n * Co + co) * Ho + oy) * Wo + ox] = (float)acc;
                }
    char what[96];
    snprintf(what, sizeof what, "conv2d k%lld s%d p%d g%d", (long long)k, s, p, g);
    tu_check_close(what, F(y), r, (size_t)(B * Co * Ho * Wo), 1e-6);
    free(r);
    sn_tensor_free(&x), sn_tensor_free(&w), sn_tensor_free(&b), sn_tensor_free(&y);
}

static void test_conv(void) {
    conv_case(2, 6, 4, 7, 5, 3, 1, 1, 1);
    conv_case(1, 6, 9, 8, 8, 3, 2, 1, 3);
    conv_case(2, 5, 5, 6, 7, 3, 1, 1, 5); /* depthwise */
    conv_case(1, 4, 4, 6, 9, 5, 1, 2, 4); /* depthwise 5x5 (DC-AE multi-scale qkv) */
    conv_case(1, 3, 3, 7, 8, 3, 2, 1, 3); /* depthwise, stride 2 */
    conv_case(1, 2, 2, 3, 2, 5, 1, 2, 2); /* depthwise, kernel wider than the image */
    conv_case(1, 4, 8, 5, 5, 1, 1, 0, 1); /* 1x1 */
    conv_case(1, 3, 4, 9, 9, 2, 2, 0, 1); /* patchify */
}

static void test_norms(void) {
    int64_t B = 2, N = 5, C = 8;
    sn_tensor x = mk(3, SN_SHAPE(B, N, C), 21), w = mk(1, SN_SHAPE(C), 22), bb = mk(1, SN_SHAPE(C), 23);
    sn_tensor sh = mk(2, SN_SHAPE(B, C), 24), sc = mk(2, SN_SHAPE(B, C), 25);
    sn_tensor y = mk(3, SN_SHAPE(B, N, C), 0);
    float r[2 * 5 * 8];
    CHECK_OK(sn_layer_norm(&x, NULL, NULL, &sh, &sc, 1e-6f, &y));
    for (int64_t i = 0; i < B * N; i++) {
        double m = 0, v = 0;
        for (int64_t c = 0; c < C; c++) m += F(x)[i * C + c];
        m /= C;
        for (int64_t c = 0; c < C; c++) v += pow(F(x)[i * C + c] - m, 2);
        v /= C;
        int64_t bi = i / N;
        for (int64_t c = 0; c < C; c++)
            r[i * C + c] = (float)((F(x)[i * C + c] - m) / sqrt(v + 1e-6) * (1 + F(sc)[bi * C + c]) + F(sh)[bi * C + c]);
    }
    tu_check_close("layer_norm + modulation", F(y), r, (size_t)(B * N * C), 1e-5);
    CHECK_OK(sn_rms_norm(&x, &w, &bb, 1.0f, 1e-6f, &y));
    for (int64_t i = 0; i < B * N; i++) {
        double ss = 0;
        for (int64_t c = 0; c < C; c++) ss += pow(F(x)[i * C + c], 2);
        double inv = 1 / sqrt(ss / C + 1e-6);
        for (int64_t c = 0; c < C; c++) r[i * C + c] = (float)(F(x)[i * C + c] * inv * (1 + F(w)[c]) + F(bb)[c]);
    }
    tu_check_close("rms_norm (1 + w) + b", F(y), r, (size_t)(B * N * C), 1e-5);
    sn_tensor_free(&x), sn_tensor_free(&w), sn_tensor_free(&bb), sn_tensor_free(&sh), sn_tensor_free(&sc), sn_tensor_free(&y);
}

/* Sizes the pool's two threads split in the middle of a last-axis run: every broadcast form of
 * binary (no broadcast, last axis broadcast, leading axes broadcast) and unary in place. */
static void test_elementwise_runs(void) {
    sn_tensor a = mk(3, SN_SHAPE(3, 5, 7), 41), y = mk(3, SN_SHAPE(3, 5, 7), 0);
    sn_tensor full = mk(3, SN_SHAPE(3, 5, 7), 42), last = mk(3, SN_SHAPE(3, 5, 1), 43), lead = mk(2, SN_SHAPE(5, 7), 44);
    float r[105];
    CHECK_OK(sn_binary(SN_MUL, &a, &full, &y));
    for (int i = 0; i < 105; i++) r[i] = F(a)[i] * F(full)[i];
    tu_check_close("binary mul, same shape", F(y), r, 105, 0);
    CHECK_OK(sn_binary(SN_SUB, &a, &last, &y));
    for (int i = 0; i < 105; i++) r[i] = F(a)[i] - F(last)[i / 7];
    tu_check_close("binary sub, last axis broadcast", F(y), r, 105, 0);
    CHECK_OK(sn_binary(SN_ADD, &a, &lead, &y));
    for (int i = 0; i < 105; i++) r[i] = F(a)[i] + F(lead)[i % 35];
    tu_check_close("binary add, leading axis broadcast", F(y), r, 105, 0);
    const float edge[] = {-INFINITY, -1000.0f, -88.5f, -87.5f, -20.0f, 0.0f, 20.0f, 87.5f, 88.5f, 1000.0f, INFINITY};
    for (int i = 0; i < 105; i++) F(a)[i] *= 12.0f;
    memcpy(F(a), edge, sizeof edge);
    const sn_act acts[] = {SN_ACT_NONE, SN_ACT_SILU, SN_ACT_RELU, SN_ACT_GELU_TANH, SN_ACT_GELU};
    for (int k = 0; k < 5; k++) {
        for (int i = 0; i < 105; i++) {
            double s = F(a)[i], v = s;
            switch (acts[k]) {
            case SN_ACT_SILU: v = s < -700 ? -0.0 : s / (1 + exp(-s)); break;
            case SN_ACT_RELU: v = s > 0 ? s : 0; break;
            case SN_ACT_GELU_TANH: v = 0.5 * s * (1 + tanh(sqrt(2 / 3.14159265358979323846) * (s + 0.044715 * s * s * s))); break;
            case SN_ACT_GELU: v = 0.5 * s * (1 + erf(s / sqrt(2.0))); break;
            default: break;
            }
            r[i] = (float)v;
        }
        CHECK_OK(sn_copy(&y, &a));
        CHECK_OK(sn_unary(acts[k], &y, &y)); /* in place */
        for (int i = 0; i < 105; i++) /* GELU of +-inf is left unspecified */
            CHECK(isinf(F(a)[i]) && (acts[k] == SN_ACT_GELU_TANH || acts[k] == SN_ACT_GELU) ? 1 : isfinite(r[i]) ? fabsf(F(y)[i] - r[i]) <= 1e-6f * (1.0f + fabsf(r[i])) : F(y)[i] == r[i] || (isnan(F(y)[i]) && isnan(r[i])),
                  "unary act %d at %d (x %g): %g, expected %g", (int)acts[k], i, F(a)[i], F(y)[i], r[i]);
    }
    sn_tensor_free(&a), sn_tensor_free(&y), sn_tensor_free(&full), sn_tensor_free(&last), sn_tensor_free(&lead);
}

static void test_elementwise(void) {
    sn_tensor a = mk(3, SN_SHAPE(2, 3, 4), 31), b = mk(3, SN_SHAPE(2, 1, 4), 32), y = mk(3, SN_SHAPE(2, 3, 4), 0);
    float r[24];
    CHECK_OK(sn_binary(SN_MUL, &a, &b, &y));
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++) r[(i * 3 + j) * 4 + k] = F(a)[(i * 3 + j) * 4 + k] * F(b)[i * 4 + k];
    tu_check_close("binary broadcast mul", F(y), r, 24, 0);
    sn_tensor c = mk(1, SN_SHAPE(4), 33);
    CHECK_OK(sn_binary(SN_ADD, &a, &c, &y));
    for (int i = 0; i < 24; i++) r[i] = F(a)[i] + F(c)[i % 4];
    tu_check_close("binary trailing add", F(y), r, 24, 0);
    CHECK_OK(sn_scale(&a, 2.0f, 1.0f, &y));
    for (int i = 0; i < 24; i++) r[i] = F(a)[i] * 2 + 1;
    tu_check_close("scale", F(y), r, 24, 0);
    sn_tensor p = mk(3, SN_SHAPE(4, 2, 3), 0);
    CHECK_OK(sn_permute(&a, (const int32_t[]){2, 0, 1}, &p));
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++) r[(k * 2 + i) * 3 + j] = F(a)[(i * 3 + j) * 4 + k];
    tu_check_close("permute", F(p), r, 24, 0);
    /* [0, 2, 1, 3] (the cross-attention's heads): the last axis stays, rows are copied whole */
    sn_tensor p4 = mk(4, SN_SHAPE(1, 3, 2, 4), 0), a4;
    CHECK_OK(sn_tensor_reshape(&a, 4, SN_SHAPE(1, 2, 3, 4), &a4));
    CHECK_OK(sn_permute(&a4, (const int32_t[]){0, 2, 1, 3}, &p4));
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++) r[(j * 2 + i) * 4 + k] = F(a)[(i * 3 + j) * 4 + k];
    tu_check_close("permute 0213", F(p4), r, 24, 0);
    sn_tensor_free(&p4);
    sn_tensor_free(&a), sn_tensor_free(&b), sn_tensor_free(&c), sn_tensor_free(&y), sn_tensor_free(&p);
}

typedef struct {
    int64_t B, Hq, Hk, Nq, Nk, D, Dv;
    int causal, window;
    float softcap;
    int mask; /* 0 none; 1 [B,1,Nk]: batch 1 loses its last 2 keys; 2 [B,Nq,Nk]: some rows lose
               * every key (-inf), others get a -1e4 bias; 3 [B,1,Nk]: batch 1 loses every key */
} attn_case;

/* sn_attention against a naive double-precision loop; rows with no key left must be zeros */
static void attention_case(attn_case c) {
    const int64_t B = c.B, Hq = c.Hq, Hk = c.Hk, Nq = c.Nq, Nk = c.Nk, D = c.D, Dv = c.Dv;
    sn_tensor q = mk(4, SN_SHAPE(B, Hq, Nq, D), 41), k = mk(4, SN_SHAPE(B, Hk, Nk, D), 42);
    sn_tensor v = mk(4, SN_SHAPE(B, Hk, Nk, Dv), 43), y = mk(4, SN_SHAPE(B, Hq, Nq, Dv), 44);
    const int64_t mr = c.mask == 2 ? Nq : 1;
    sn_tensor m = mk(3, SN_SHAPE(B, mr, Nk), 0);
    for (int64_t b = 0; b < B; b++)
        for (int64_t i = 0; i < mr; i++)
            for (int64_t j = 0; j < Nk; j++) {
                float *e = &F(m)[(b * mr + i) * Nk + j];
                if (c.mask == 1) *e = b == 1 && j >= Nk - 2 ? -INFINITY : 0.0f;
                if (c.mask == 2) *e = i % 5 == 2 ? -INFINITY : (j + i) % 3 == 0 ? -1e4f : 0.0f;
                if (c.mask == 3) *e = b == 1 ? -INFINITY : 0.0f;
            }
    sn_attn_params p = {1.0f / sqrtf((float)D), c.softcap, c.causal, c.window, c.mask ? &m : NULL};
    /* its scores come from the scratch arena (nothing else allocates), exactly what the scratch
     * query says: memory planners add it up */
    const size_t want = sn_op_scratch_bytes(be, &(sn_op_shape){.op = SN_OP_ATTENTION, .x = &q, .w = &k});
    const size_t used0 = be->scratch.used;
    be->scratch.peak = used0;
    CHECK_OK(sn_attention(&q, &k, &v, &p, &y));
    CHECK(be->scratch.used == used0 && be->scratch.peak - used0 == want && want > 0,
          "attention scratch: query %zu, took %zu, kept %zu", want, be->scratch.peak - used0, be->scratch.used - used0);
    float *r = calloc((size_t)(B * Hq * Nq * Dv), 4);
    double *s = calloc((size_t)Nk + 1, sizeof(double));
    const int64_t g = Hq / Hk;
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < Hq; h++)
            for (int64_t i = 0; i < Nq; i++) {
                double mx = -INFINITY, sum = 0;
                for (int64_t j = 0; j < Nk; j++) {
                    double a = 0;
                    for (int64_t d = 0; d < D; d++)
                        a += (double)F(q)[((b * Hq + h) * Nq + i) * D + d] * F(k)[((b * Hk + h / g) * Nk + j) * D + d];
                    a *= p.scale;
                    if (c.softcap > 0) a = c.softcap * tanh(a / c.softcap);
                    if (c.mask) a += F(m)[(b * mr + (mr > 1 ? i : 0)) * Nk + j];
                    if ((c.causal && j > i) || (c.window > 0 && j <= i - c.window)) a = -INFINITY;
                    s[j] = a;
                    if (a > mx) mx = a;
                }
                if (mx == -INFINITY) continue; /* r stays 0 */
                for (int64_t j = 0; j < Nk; j++) sum += s[j] = exp(s[j] - mx);
                for (int64_t d = 0; d < Dv; d++) {
                    double acc = 0;
                    for (int64_t j = 0; j < Nk; j++) acc += s[j] / sum * F(v)[((b * Hk + h / g) * Nk + j) * Dv + d];
                    r[((b * Hq + h) * Nq + i) * Dv + d] = (float)acc;
                }
            }
    char what[160];
    snprintf(what, sizeof what, "attention B=%d Hq=%d Hk=%d Nq=%d Nk=%d D=%d Dv=%d causal=%d window=%d softcap=%g mask=%d",
             (int)B, (int)Hq, (int)Hk, (int)Nq, (int)Nk, (int)D, (int)Dv, c.causal, c.window, c.softcap, c.mask);
    tu_check_close(what, F(y), r, (size_t)(B * Hq * Nq * Dv), 1e-5);
    free(r), free(s);
    sn_tensor_free(&q), sn_tensor_free(&k), sn_tensor_free(&v), sn_tensor_free(&y), sn_tensor_free(&m);
}

static void test_attention(void) {
    attention_case((attn_case){2, 4, 2, 6, 6, 8, 8, 0, 0, 0.0f, 0});
    attention_case((attn_case){2, 4, 2, 6, 6, 8, 8, 1, 0, 50.0f, 0});
    attention_case((attn_case){2, 4, 2, 6, 6, 8, 8, 1, 3, 0.5f, 0});
    attention_case((attn_case){2, 4, 2, 6, 6, 8, 8, 0, 0, 0.0f, 1});
    /* ragged: query rows over several blocks, Nk unlike Nq, Dv unlike D, groups of 3 */
    attention_case((attn_case){2, 6, 2, 150, 37, 24, 40, 0, 0, 0.0f, 0});
    attention_case((attn_case){2, 6, 2, 150, 37, 24, 40, 0, 0, 0.0f, 1});
    attention_case((attn_case){2, 6, 3, 150, 37, 24, 40, 0, 0, 0.0f, 2});
    attention_case((attn_case){2, 6, 2, 150, 37, 24, 40, 0, 0, 3.0f, 3});
    /* causal and sliding window across blocks (Gemma-2's self-attention, its soft-cap 50) */
    attention_case((attn_case){1, 4, 2, 150, 150, 16, 16, 1, 0, 50.0f, 0});
    attention_case((attn_case){1, 4, 2, 150, 150, 16, 16, 1, 40, 50.0f, 0});
    attention_case((attn_case){2, 4, 1, 150, 150, 16, 16, 1, 7, 0.0f, 2});
    attention_case((attn_case){2, 2, 2, 70, 130, 16, 16, 1, 20, 0.0f, 1}); /* causal, Nk > Nq */
    attention_case((attn_case){2, 2, 2, 130, 70, 16, 16, 1, 20, 0.0f, 3}); /* rows past every key */
    attention_case((attn_case){1, 2, 1, 9, 0, 8, 8, 0, 0, 0.0f, 0});       /* no keys: zeros */
}

int main(void) {
    CHECK_OK(sn_backend_cpu_create(2, &be));
    test_linear();
    test_linear_16();
    test_matmul();
    test_conv();
    test_norms();
    test_elementwise();
    test_elementwise_runs();
    test_attention();
    sn_backend_free(be);
    return tu_finish("test_ops_cpu");
}
