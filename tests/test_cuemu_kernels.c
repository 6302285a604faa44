/* The CUDA kernels of kernels/ run on the CPU under cuemu (tests/cuemu), each through its
 * sn_k_* launcher in F32, F16 and BF16, against the CPU backend's op where the contract is the
 * same or a naive loop here. Under cuemu device pointers are host pointers and the stream is
 * NULL. Inputs are rounded to the kernel's dtype first, so the reference sees the same values;
 * outputs start as NaN, so an element a kernel fails to write cannot pass. Sizes are odd, rows
 * span several blocks, channel counts are not multiples of 32. Built and run only with
 * SANA_CUEMU=ON (ctest -L cuemu). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "core/dtype.h"
#include "harness.h"
#include "kernels.h"

static sn_backend *cpu;
static const char *DT_NAME[3] = {"f32", "f16", "bf16"};

/* F32 within 1e-5 of the reference's scale (the kernels compute in float like the CPU), F16
 * and BF16 within what rounding the output to them leaves */
static double tol_of(int dt) { return dt == SN_F32 ? 1e-5 : dt == SN_F16 ? 2e-3 : 2e-2; }

static float round_to(int dt, float v) {
    return dt == SN_F32 ? v : dt == SN_F16 ? sn_f16_to_f32(sn_f32_to_f16(v)) : sn_bf16_to_f32(sn_f32_to_bf16(v));
}

/* a buffer the kernel sees in dtype dt (d) with its values as float (h) */
typedef struct tb {
    int dt;
    int64_t n;
    void *d;
    float *h;
} tb;

static void tb_store(tb *t) {
    for (int64_t i = 0; i < t->n; i++) {
        if (t->dt == SN_F32) ((float *)t->d)[i] = t->h[i];
        else if (t->dt == SN_F16) ((uint16_t *)t->d)[i] = sn_f32_to_f16(t->h[i]);
        else ((uint16_t *)t->d)[i] = sn_f32_to_bf16(t->h[i]);
    }
}

/* the kernel's buffer is exactly n elements of dt, so that an ASan build catches a kernel
 * reading or writing past it */
static tb tb_new(int dt, int64_t n) {
    size_t es = dt == SN_F32 ? 4 : 2;
    tb t = {dt, n, calloc((size_t)(n ? n : 1), es), calloc((size_t)(n ? n : 1), 4)};
    if (!t.d || !t.h) abort();
    return t;
}

/* random values in [-scale, scale) rounded to dt */
static tb tb_rand(int dt, int64_t n, uint64_t seed, float scale) {
    tb t = tb_new(dt, n);
    tu_fill_random(t.h, (size_t)n, seed);
    for (int64_t i = 0; i < n; i++) t.h[i] = round_to(dt, t.h[i] * scale);
    tb_store(&t);
    return t;
}

/* an output: NaN in the kernel's buffer */
static tb tb_out(int dt, int64_t n) {
    tb t = tb_new(dt, n);
    for (int64_t i = 0; i < n; i++) t.h[i] = NAN;
    tb_store(&t);
    return t;
}

/* the kernel's values as float (into h) */
static const float *tb_read(tb *t) {
    CHECK(sn_convert_to_f32((sn_dtype)t->dt, t->d, t->h, t->n) == 0, "convert");
    return t->h;
}

static void tb_free(tb *t) {
    free(t->d);
    free(t->h);
}

static float *fbuf(int64_t n) {
    float *p = calloc((size_t)(n ? n : 1), sizeof(float));
    if (!p) abort();
    return p;
}

/* a CPU backend tensor over floats we own */
static sn_tensor ct(float *data, int32_t ndim, const int64_t *shape) {
    sn_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = SN_F32;
    t.ndim = ndim;
    for (int i = 0; i < ndim; i++) t.shape[i] = shape[i];
    t.data = data;
    t.be = cpu;
    return t;
}

static void close_to(const char *op, int dt, const char *detail, tb *got, const float *ref, double tol) {
    char what[160];
    snprintf(what, sizeof what, "%s %s %s", op, DT_NAME[dt], detail);
    tu_check_close(what, tb_read(got), ref, (size_t)got->n, tol);
}

static float act_ref(int a, float x) {
    switch (a) {
    case 1: return x / (1.0f + expf(-x));
    case 2: return x > 0.0f ? x : 0.0f;
    case 3: return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
    case 4: return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f));
    default: return x;
    }
}

/* --- elementwise.cu ----------------------------------------------------------------------------- */

static void test_convert_fill(void) {
    const int64_t n = 1037;
    for (int s = 0; s < 3; s++)
        for (int d = 0; d < 3; d++) {
            tb x = tb_rand(s, n, 11 + s, 3.0f), y = tb_out(d, n);
            float *ref = fbuf(n);
            for (int64_t i = 0; i < n; i++) ref[i] = round_to(d, x.h[i]);
            CHECK(sn_k_convert(x.d, s, y.d, d, n, NULL) == 0, "launch");
            char det[32];
            snprintf(det, sizeof det, "from %s", DT_NAME[s]);
            close_to("convert", d, det, &y, ref, 0.0);
            tb_free(&x), tb_free(&y), free(ref);
        }
    for (int dt = 0; dt < 3; dt++) {
        tb y = tb_out(dt, 777);
        float *ref = fbuf(777);
        for (int i = 0; i < 777; i++) ref[i] = round_to(dt, 0.3f);
        CHECK(sn_k_fill(y.d, dt, 0.3f, 777, NULL) == 0, "launch");
        close_to("fill", dt, "", &y, ref, 0.0);
        tb_free(&y), free(ref);
    }
}

static void test_bias_act(void) {
    const int64_t M = 7, N = 300;
    for (int dt = 0; dt < 3; dt++)
        for (int a = 0; a <= 4; a++)
            for (int bk = 0; bk < 3; bk++) { /* bias: none, f32, the tensor's dtype */
                int bdt = bk == 1 ? SN_F32 : dt;
                tb y = tb_rand(dt, M * N, 20 + a, 3.0f), b = tb_rand(bdt, N, 30, 1.0f);
                float *ref = fbuf(M * N);
                for (int64_t i = 0; i < M * N; i++) ref[i] = act_ref(a, y.h[i] + (bk ? b.h[i % N] : 0.0f));
                CHECK(sn_k_bias_act(y.d, dt, bk ? b.d : NULL, bdt, M, N, a, NULL) == 0, "launch");
                char det[48];
                snprintf(det, sizeof det, "act %d bias %s", a, bk ? DT_NAME[bdt] : "none");
                close_to("bias_act", dt, det, &y, ref, tol_of(dt));
                tb_free(&y), tb_free(&b), free(ref);
            }
}

static void test_unary_scale(void) {
    const int64_t n = 2 * 3 * 171;
    for (int dt = 0; dt < 3; dt++) {
        tb x = tb_rand(dt, n, 40, 4.0f);
        for (int a = 0; a <= 4; a++) {
            tb y = tb_out(dt, n);
            float *ref = fbuf(n);
            sn_tensor xc = ct(x.h, 3, SN_SHAPE(2, 3, 171)), yc = ct(ref, 3, SN_SHAPE(2, 3, 171));
            CHECK_OK(sn_unary((sn_act)a, &xc, &yc));
            CHECK(sn_k_unary(x.d, y.d, dt, n, a, NULL) == 0, "launch");
            char det[16];
            snprintf(det, sizeof det, "act %d", a);
            close_to("unary", dt, det, &y, ref, tol_of(dt));
            tb_free(&y), free(ref);
        }
        tb y = tb_out(dt, n);
        float *ref = fbuf(n);
        for (int64_t i = 0; i < n; i++) ref[i] = x.h[i] * 0.7f - 0.25f;
        CHECK(sn_k_scale(x.d, y.d, dt, n, 0.7f, -0.25f, NULL) == 0, "launch");
        close_to("scale", dt, "", &y, ref, tol_of(dt));
        tb_free(&x), tb_free(&y), free(ref);
    }
}

static void test_binary(void) {
    static const int64_t A[4] = {3, 5, 7, 33};
    static const int64_t BS[3][4] = {{1, 5, 1, 33}, {1, 1, 1, 33}, {3, 1, 7, 1}}; /* b's shapes */
    const int64_t n = 3 * 5 * 7 * 33;
    for (int dt = 0; dt < 3; dt++)
        for (int bi = 0; bi < 3; bi++)
            for (int op = 0; op < 3; op++) {
                int bdt = op == 1 ? SN_F32 : dt; /* b of another dtype too */
                int64_t bstr[4], st = 1, bn = 1;
                for (int d = 3; d >= 0; d--) {
                    bstr[d] = BS[bi][d] == 1 ? 0 : st;
                    st *= BS[bi][d];
                }
                bn = st;
                tb a = tb_rand(dt, n, 50, 2.0f), b = tb_rand(bdt, bn, 51 + bi, 2.0f), y = tb_out(dt, n);
                float *ref = fbuf(n);
                for (int64_t i = 0; i < n; i++) {
                    int64_t rem = i, bo = 0;
                    for (int d = 3; d >= 0; d--) {
                        bo += (rem % A[d]) * bstr[d];
                        rem /= A[d];
                    }
                    float u = a.h[i], v = b.h[bo];
                    ref[i] = op == 0 ? u + v : op == 1 ? u * v : u - v;
                }
                CHECK(sn_k_binary(a.d, b.d, bdt, y.d, dt, op, 4, A, bstr, NULL) == 0, "launch");
                char det[48];
                snprintf(det, sizeof det, "op %d b shape %d", op, bi);
                close_to("binary", dt, det, &y, ref, tol_of(dt));
                tb_free(&a), tb_free(&b), tb_free(&y), free(ref);
            }
}

static void test_permute(void) {
    static const int64_t X[4] = {4, 5, 6, 7};
    static const int32_t P[3][4] = {{3, 1, 0, 2}, {0, 2, 1, 3}, {2, 0, 1, 3}};
    const int64_t n = 4 * 5 * 6 * 7;
    for (int dt = 0; dt < 3; dt++)
        for (int pi = 0; pi < 3; pi++) {
            tb x = tb_rand(dt, n, 60, 1.0f), y = tb_out(dt, n);
            float *ref = fbuf(n);
            int64_t xs[4], ys[4], str[4], st = 1;
            for (int d = 3; d >= 0; d--) {
                xs[d] = st;
                st *= X[d];
            }
            for (int d = 0; d < 4; d++) {
                ys[d] = X[P[pi][d]];
                str[d] = xs[P[pi][d]];
            }
            sn_tensor xc = ct(x.h, 4, X), yc = ct(ref, 4, ys);
            CHECK_OK(sn_permute(&xc, P[pi], &yc));
            CHECK(sn_k_permute(x.d, y.d, dt, 4, ys, str, NULL) == 0, "launch");
            char det[16];
            snprintf(det, sizeof det, "perm %d", pi);
            close_to("permute", dt, det, &y, ref, 0.0);
            tb_free(&x), tb_free(&y), free(ref);
        }
}

/* fewer than 4 axes, as the backend passes them: b of a's trailing dims (b_strides as
 * lib/backend/cuda computes them) and a 2-D / 3-D transpose */
static void test_low_rank(void) {
    const int64_t A[3] = {4, 9, 37}, n = 4 * 9 * 37;
    for (int dt = 0; dt < 3; dt++) {
        for (int bi = 0; bi < 2; bi++) { /* b [37] or b [4, 1, 37] */
            int64_t bstr[3] = {0, 0, 1}, bn = bi ? 4 * 37 : 37;
            if (bi) bstr[0] = 37;
            tb a = tb_rand(dt, n, 55, 2.0f), b = tb_rand(dt, bn, 56 + bi, 2.0f), y = tb_out(dt, n);
            float *ref = fbuf(n);
            for (int64_t i = 0; i < n; i++) ref[i] = a.h[i] - b.h[bi ? (i / (9 * 37)) * 37 + i % 37 : i % 37];
            CHECK(sn_k_binary(a.d, b.d, dt, y.d, dt, 2, 3, A, bstr, NULL) == 0, "launch");
            close_to("binary", dt, bi ? "3-D, b [4, 1, 37]" : "3-D, b [37]", &y, ref, tol_of(dt));
            tb_free(&a), tb_free(&b), tb_free(&y), free(ref);
        }
        for (int nd = 2; nd <= 3; nd++) { /* [37, 45] -> [45, 37]; [4, 9, 37] -> [37, 4, 9] */
            int64_t m = nd == 2 ? 37 * 45 : n;
            const int64_t *xs = nd == 2 ? SN_SHAPE(37, 45) : A;
            const int32_t *perm = nd == 2 ? (const int32_t[]){1, 0} : (const int32_t[]){2, 0, 1};
            int64_t ys[3], str[3], xstr[3], st = 1;
            for (int d = nd - 1; d >= 0; d--) {
                xstr[d] = st;
                st *= xs[d];
            }
            for (int d = 0; d < nd; d++) {
                ys[d] = xs[perm[d]];
                str[d] = xstr[perm[d]];
            }
            tb x = tb_rand(dt, m, 57, 1.0f), y = tb_out(dt, m);
            float *ref = fbuf(m);
            sn_tensor xc = ct(x.h, nd, xs), yc = ct(ref, nd, ys);
            CHECK_OK(sn_permute(&xc, perm, &yc));
            CHECK(sn_k_permute(x.d, y.d, dt, nd, ys, str, NULL) == 0, "launch");
            close_to("permute", dt, nd == 2 ? "2-D" : "3-D", &y, ref, 0.0);
            tb_free(&x), tb_free(&y), free(ref);
        }
    }
}

/* --- norm.cu ------------------------------------------------------------------------------------ */

static void test_norms(void) {
    static const int64_t SH[3][3] = {{2, 33, 300}, {3, 5, 17}, {1, 2, 1000}}; /* [B, N, C] */
    for (int dt = 0; dt < 3; dt++)
        for (int si = 0; si < 3; si++) {
            int64_t B = SH[si][0], N = SH[si][1], C = SH[si][2], n = B * N * C;
            int wdt = si == 1 ? dt : SN_F32;
            tb x = tb_rand(dt, n, 70 + si, 3.0f), w = tb_rand(wdt, C, 71, 1.0f), b = tb_rand(wdt, C, 72, 0.5f);
            tb shift = tb_rand(dt, B * C, 73, 0.5f), scale = tb_rand(dt, B * C, 74, 0.5f);
            for (int64_t i = 0; i < n; i++) x.h[i] = round_to(dt, x.h[i] + 1.5f); /* a mean far from 0 */
            tb_store(&x);
            for (int mode = 0; mode < 3; mode++) { /* w, b, shift, scale (rms: 1 + w); none; w only (rms: w) */
                int uw = mode != 1, ub = mode == 0;
                float off = mode == 2 ? 0.0f : 1.0f;
                tb y = tb_out(dt, n);
                float *ref = fbuf(n);
                sn_tensor xc = ct(x.h, 3, SH[si]), yc = ct(ref, 3, SH[si]), wc = ct(w.h, 1, &C), bc = ct(b.h, 1, &C);
                sn_tensor shc = ct(shift.h, 2, SN_SHAPE(B, C)), scc = ct(scale.h, 2, SN_SHAPE(B, C));
                CHECK_OK(sn_layer_norm(&xc, uw ? &wc : NULL, ub ? &bc : NULL, ub ? &shc : NULL, ub ? &scc : NULL, 1e-6f,
                                       &yc));
                CHECK(sn_k_layer_norm(x.d, y.d, dt, uw ? w.d : NULL, ub ? b.d : NULL, wdt, ub ? shift.d : NULL,
                                      ub ? scale.d : NULL, B * N, C, N, 1e-6f, NULL) == 0,
                      "launch");
                char det[48];
                snprintf(det, sizeof det, "C %lld %s", (long long)C,
                         mode == 0 ? "affine + modulation" : mode == 1 ? "plain" : "w only");
                close_to("layer_norm", dt, det, &y, ref, tol_of(dt));
                tb_free(&y);
                y = tb_out(dt, n);
                CHECK_OK(sn_rms_norm(&xc, uw ? &wc : NULL, ub ? &bc : NULL, off, 1e-6f, &yc));
                CHECK(sn_k_rms_norm(x.d, y.d, dt, uw ? w.d : NULL, ub ? b.d : NULL, wdt, off, B * N, C, 1e-6f, NULL) == 0,
                      "launch");
                close_to("rms_norm", dt, det, &y, ref, tol_of(dt));
                tb_free(&y), free(ref);
            }
            tb_free(&x), tb_free(&w), tb_free(&b), tb_free(&shift), tb_free(&scale);
        }
}

/* --- dit_ops.cu --------------------------------------------------------------------------------- */

static void test_rope(void) {
    static const int64_t SH[2][4] = {{2, 3, 17, 64}, {1, 2, 5, 6}};
    for (int dt = 0; dt < 3; dt++)
        for (int si = 0; si < 2; si++)
            for (int inplace = 0; inplace < 2; inplace++) {
                int64_t n = SH[si][0] * SH[si][1] * SH[si][2] * SH[si][3], D = SH[si][3];
                tb x = tb_rand(dt, n, 80 + si, 1.0f), y = tb_out(dt, n);
                float *ref = fbuf(n);
                sn_tensor xc = ct(x.h, 4, SH[si]), yc = ct(ref, 4, SH[si]);
                CHECK_OK(sn_rope(&xc, 10000.0f, 5, &yc));
                CHECK(sn_k_rope(x.d, inplace ? x.d : y.d, dt, n / D, SH[si][2], D, 10000.0f, 5, NULL) == 0, "launch");
                char det[48];
                snprintf(det, sizeof det, "D %lld%s", (long long)D, inplace ? " in place" : "");
                /* the angle (pos * inv_freq) and its sin/cos in fp32 on both sides: 1e-5 of
                 * values of size 1 after up to 21 radians */
                close_to("rope", dt, det, inplace ? &x : &y, ref, dt == SN_F32 ? 2e-5 : tol_of(dt));
                tb_free(&x), tb_free(&y), free(ref);
            }
}

static void test_glu_gated_add(void) {
    for (int dt = 0; dt < 3; dt++) {
        for (int a = 1; a <= 4; a++) {
            const int64_t R = 21, F = 45;
            tb x = tb_rand(dt, R * 2 * F, 90 + a, 3.0f), y = tb_out(dt, R * F);
            float *ref = fbuf(R * F);
            sn_tensor xc = ct(x.h, 3, SN_SHAPE(3, 7, 2 * F)), yc = ct(ref, 3, SN_SHAPE(3, 7, F));
            CHECK_OK(sn_glu(&xc, (sn_act)a, &yc));
            CHECK(sn_k_glu(x.d, y.d, dt, R, F, a, NULL) == 0, "launch");
            char det[16];
            snprintf(det, sizeof det, "act %d", a);
            close_to("glu", dt, det, &y, ref, tol_of(dt));
            tb_free(&x), tb_free(&y), free(ref);
        }
        for (int g = 0; g < 2; g++) {
            const int64_t B = 2, N = 19, C = 40, n = B * N * C;
            tb x = tb_rand(dt, n, 100, 1.0f), y = tb_rand(dt, n, 101, 1.0f), gate = tb_rand(dt, B * C, 102, 1.0f);
            float *ref = fbuf(n);
            memcpy(ref, x.h, (size_t)n * sizeof(float));
            sn_tensor xc = ct(ref, 3, SN_SHAPE(B, N, C)), yc = ct(y.h, 3, SN_SHAPE(B, N, C));
            sn_tensor gc = ct(gate.h, 2, SN_SHAPE(B, C));
            CHECK_OK(sn_gated_add(&xc, &yc, g ? &gc : NULL));
            CHECK(sn_k_gated_add(x.d, y.d, g ? gate.d : NULL, dt, B * N, C, N, NULL) == 0, "launch");
            close_to("gated_add", dt, g ? "gate" : "no gate", &x, ref, tol_of(dt));
            tb_free(&x), tb_free(&y), tb_free(&gate), free(ref);
        }
    }
}

const char *cuemu_last_launch(unsigned grid[3], unsigned block[3]); /* tests/cuemu/cuemu_sched.cc */

/* The last launch was kernel `name` (its label: the name before <<<) with at least min_blocks
 * blocks: the launcher took the path meant for the shape. */
static void check_launch(const char *what, const char *name, uint64_t min_blocks) {
    unsigned g[3], b[3];
    const char *got = cuemu_last_launch(g, b);
    uint64_t blocks = (uint64_t)g[0] * g[1] * g[2];
    CHECK(strcmp(got, name) == 0, "%s: launched %s, expected %s", what, got, name);
    CHECK(blocks >= min_blocks, "%s: %llu blocks, expected at least %llu", what, (unsigned long long)blocks,
          (unsigned long long)min_blocks);
}

static void test_dwconv_nhwc(void) {
    /* kh, kw, pad, then channels and weight dtype (-1: the activations'): the last two are the
     * Mix-FFN's 3x3 over 2 * 2880 (Sana-0.6B) and 2 * 5600 (1.6B) channels with bf16 weights */
    static const int64_t K[6][5] = {{3, 3, 1, 37, SN_F32}, {5, 5, 2, 37, -1},   {3, 3, 0, 37, SN_F32},
                                    {3, 5, 2, 37, SN_F32}, {3, 3, 1, 5760, -1}, {3, 3, 1, 11200, SN_BF16}};
    const int64_t B = 2;
    for (int dt = 0; dt < 3; dt++)
        for (int ki = 0; ki < 6; ki++) {
            const int64_t H = ki < 4 ? 9 : 3, W = ki < 4 ? 11 : 4, C = K[ki][3];
            int64_t kh = K[ki][0], kw = K[ki][1], pad = K[ki][2], Ho = H + 2 * pad - kh + 1, Wo = W + 2 * pad - kw + 1;
            int wdt = K[ki][4] < 0 ? dt : (int)K[ki][4], bias = ki != 1;
            tb x = tb_rand(dt, B * H * W * C, 110, 1.0f), w = tb_rand(wdt, C * kh * kw, 111 + ki, 1.0f);
            tb b = tb_rand(wdt, C, 114, 1.0f), y = tb_out(dt, B * Ho * Wo * C);
            float *ref = fbuf(B * Ho * Wo * C);
            sn_tensor xc = ct(x.h, 4, SN_SHAPE(B, H, W, C)), wc = ct(w.h, 4, SN_SHAPE(C, 1, kh, kw));
            sn_tensor bc = ct(b.h, 1, &C), yc = ct(ref, 4, SN_SHAPE(B, Ho, Wo, C));
            CHECK_OK(sn_dwconv2d_nhwc(&xc, &wc, bias ? &bc : NULL, (int32_t)pad, &yc));
            CHECK(sn_k_dwconv_nhwc(x.d, w.d, bias ? b.d : NULL, y.d, dt, wdt, B, H, W, C, kh, kw, pad, Ho, Wo, NULL) == 0,
                  "launch");
            char det[48];
            snprintf(det, sizeof det, "%lldx%lld pad %lld, %lld ch", (long long)kh, (long long)kw, (long long)pad,
                     (long long)C);
            /* the pixel-per-block kernel (no per-element 64-bit divisions), a block per 128
             * channels of each output pixel */
            check_launch(det, "k_dwconv_nhwc_px", (uint64_t)(B * Ho * Wo * ((C + 127) / 128)));
            close_to("dwconv_nhwc", dt, det, &y, ref, tol_of(dt));
            tb_free(&x), tb_free(&w), tb_free(&b), tb_free(&y), free(ref);
        }
}

/* --- conv.cu ------------------------------------------------------------------------------------ */

static void test_conv(void) {
    for (int dt = 0; dt < 3; dt++) {
        /* im2col: 5 channels of 9 x 11, 3x3 stride 2 pad 1 -> 5 x 6 */
        const int64_t C = 5, H = 9, W = 11, k = 3, s = 2, pad = 1, Ho = 5, Wo = 6, P = Ho * Wo;
        tb x = tb_rand(dt, C * H * W, 120, 1.0f), cols = tb_out(dt, C * k * k * P);
        float *ref = fbuf(C * k * k * P);
        for (int64_t c = 0; c < C; c++)
            for (int64_t ky = 0; ky < k; ky++)
                for (int64_t kx = 0; kx < k; kx++)
                    for (int64_t oy = 0; oy < Ho; oy++)
                        for (int64_t ox = 0; ox < Wo; ox++) {
                            int64_t iy = oy * s - pad + ky, ix = ox * s - pad + kx;
                            ref[((c * k + ky) * k + kx) * P + oy * Wo + ox] =
                                iy >= 0 && iy < H && ix >= 0 && ix < W ? x.h[(c * H + iy) * W + ix] : 0.0f;
                        }
        CHECK(sn_k_im2col(x.d, cols.d, dt, C, H, W, k, k, s, pad, Ho, Wo, NULL) == 0, "launch");
        close_to("im2col", dt, "3x3 stride 2", &cols, ref, 0.0);
        tb_free(&x), tb_free(&cols), free(ref);

        /* depthwise NCHW: 2 x 7 channels of 9 x 10, 3x3 stride 2 pad 1 -> 5 x 5; and the DC-AE's
         * multi-scale 5x5 pad 2 (stride 1) on rows wider than a block (150 -> 2 blocks a row) */
        static const int64_t DW[2][7] = {{2, 7, 9, 10, 3, 2, 1}, {1, 5, 6, 150, 5, 1, 2}}; /* B C H W k s pad */
        for (int ci = 0; ci < 2; ci++) {
            const int64_t B = DW[ci][0], Cd = DW[ci][1], Hd = DW[ci][2], Wd = DW[ci][3], kd = DW[ci][4];
            const int64_t sd = DW[ci][5], pd = DW[ci][6];
            const int64_t Hod = (Hd + 2 * pd - kd) / sd + 1, Wod = (Wd + 2 * pd - kd) / sd + 1;
            int wdt = dt == SN_F32 ? SN_F32 : ci == 0 && dt == SN_F16 ? SN_F32 : dt;
            tb xd = tb_rand(dt, B * Cd * Hd * Wd, 121, 1.0f), w = tb_rand(wdt, Cd * kd * kd, 122, 1.0f);
            tb bias = tb_rand(wdt, Cd, 123, 1.0f), yd = tb_out(dt, B * Cd * Hod * Wod);
            float *refd = fbuf(B * Cd * Hod * Wod);
            for (int64_t bi = 0; bi < B; bi++)
                for (int64_t c = 0; c < Cd; c++)
                    for (int64_t oy = 0; oy < Hod; oy++)
                        for (int64_t ox = 0; ox < Wod; ox++) {
                            float acc = bias.h[c];
                            for (int64_t ky = 0; ky < kd; ky++)
                                for (int64_t kx = 0; kx < kd; kx++) {
                                    int64_t iy = oy * sd - pd + ky, ix = ox * sd - pd + kx;
                                    if (iy >= 0 && iy < Hd && ix >= 0 && ix < Wd)
                                        acc += xd.h[((bi * Cd + c) * Hd + iy) * Wd + ix] * w.h[(c * kd + ky) * kd + kx];
                                }
                            refd[((bi * Cd + c) * Hod + oy) * Wod + ox] = acc;
                        }
            CHECK(sn_k_depthwise(xd.d, w.d, bias.d, yd.d, dt, wdt, B, Cd, Hd, Wd, kd, sd, pd, Hod, Wod, NULL) == 0,
                  "launch");
            char det[48];
            snprintf(det, sizeof det, "%lldx%lld stride %lld, width %lld", (long long)kd, (long long)kd, (long long)sd,
                     (long long)Wd);
            close_to("depthwise", dt, det, &yd, refd, tol_of(dt));
            /* the row kernel (no per-element 64-bit divisions): a block per 128 outputs of a row */
            check_launch(det, "k_depthwise_row", (uint64_t)(B * Cd * Hod * ((Wod + 127) / 128)));
            tb_free(&xd), tb_free(&w), tb_free(&bias), tb_free(&yd), free(refd);
        }

        /* bias over channels */
        const int64_t B = 2, Cb = 37, Pb = 29;
        tb yb = tb_rand(dt, B * Cb * Pb, 124, 1.0f), bb = tb_rand(SN_F32, Cb, 125, 1.0f);
        float *refb = fbuf(B * Cb * Pb);
        for (int64_t i = 0; i < B * Cb * Pb; i++) refb[i] = yb.h[i] + bb.h[(i / Pb) % Cb];
        CHECK(sn_k_bias_channels(yb.d, dt, bb.d, SN_F32, B, Cb, Pb, NULL) == 0, "launch");
        close_to("bias_channels", dt, "", &yb, refb, tol_of(dt));
        tb_free(&yb), tb_free(&bb), free(refb);
    }
}

/* --- dcae.cu ------------------------------------------------------------------------------------ */

/* rows [row0, row0 + rows) of x_full[C, H, W] as a dense [C, rows, W] buffer of dtype dt */
static tb band_of(int dt, const float *x_full, int64_t C, int64_t H, int64_t W, int64_t row0, int64_t rows) {
    tb t = tb_new(dt, C * rows * W);
    for (int64_t c = 0; c < C; c++)
        memcpy(t.h + c * rows * W, x_full + (c * H + row0) * W, (size_t)(rows * W) * sizeof(float));
    tb_store(&t);
    return t;
}

static void test_im2col_band(void) {
    /* {Ci, h_full, Wx, k, up, stride, pad, x_row0, Hx, oy0, rows} */
    /* the last: rows of 140 outputs (two blocks), up 2, the image's bottom edge */
    static const int64_t CASES[3][11] = {
        {4, 9, 7, 3, 2, 1, 1, 2, 5, 5, 3}, {3, 11, 13, 3, 1, 2, 1, 0, 11, 0, 6}, {2, 4, 70, 3, 2, 1, 1, 1, 3, 5, 3}};
    static const char *NAME[3] = {"up 2, a band of x", "stride 2", "up 2, rows of 140"};
    for (int dt = 0; dt < 3; dt++)
        for (int ci = 0; ci < 3; ci++) {
            const int64_t *c = CASES[ci];
            int64_t Ci = c[0], Hf = c[1], Wx = c[2], k = c[3], up = c[4], st = c[5], pad = c[6], x_row0 = c[7];
            int64_t Hx = c[8], oy0 = c[9], rows = c[10], Win = Wx * up, Hin = Hf * up;
            int64_t Wo = (Win + 2 * pad - k) / st + 1, K = Ci * k * k;
            tb full = tb_rand(dt, Ci * Hf * Wx, 130 + ci, 1.0f);
            tb x = band_of(dt, full.h, Ci, Hf, Wx, x_row0, Hx), cols = tb_out(dt, rows * K * Wo);
            float *ref = fbuf(rows * K * Wo);
            for (int64_t r = 0; r < rows; r++)
                for (int64_t kk = 0; kk < K; kk++)
                    for (int64_t ox = 0; ox < Wo; ox++) {
                        int64_t ch = kk / (k * k), ky = (kk / k) % k, kx = kk % k;
                        int64_t iy = (oy0 + r) * st - pad + ky, ix = ox * st - pad + kx;
                        ref[(r * K + kk) * Wo + ox] = iy >= 0 && iy < Hin && ix >= 0 && ix < Win
                                                          ? full.h[(ch * Hf + iy / up) * Wx + ix / up]
                                                          : 0.0f;
                    }
            CHECK(sn_k_im2col_band(x.d, cols.d, dt, rows, Ci, Hx, Wx, k, k, (int)up, (int)st, (int)pad, x_row0, Hf, oy0,
                                   Wo, NULL) == 0,
                  "launch");
            close_to("im2col_band", dt, NAME[ci], &cols, ref, 0.0);
            /* the row kernel (no per-element 64-bit divisions): a block per 128 columns of a row */
            check_launch(NAME[ci], "k_im2col_band_row", (uint64_t)(rows * K * ((Wo + 127) / 128)));
            tb_free(&full), tb_free(&x), tb_free(&cols), free(ref);
        }
}

static void test_band_gather_scatter(void) {
    /* {Ci, h_full, Wx, up, x_row0, Hx, iy0, Rin}: rows above x's band, the top padding, the bottom */
    static const int64_t G[4][8] = {{3, 10, 5, 2, 3, 4, 5, 6}, {2, 6, 9, 1, 0, 6, -2, 4}, {2, 5, 3, 2, 2, 3, 7, 5},
                                    {2, 6, 70, 2, 0, 6, -1, 5}}; /* the last: rows of 140, two blocks */
    for (int dt = 0; dt < 3; dt++) {
        for (int gi = 0; gi < 4; gi++) {
            const int64_t *g = G[gi];
            int64_t Ci = g[0], Hf = g[1], Wx = g[2], up = g[3], x_row0 = g[4], Hx = g[5], iy0 = g[6], Rin = g[7];
            int64_t Win = Wx * up;
            tb full = tb_rand(dt, Ci * Hf * Wx, 140 + gi, 1.0f);
            tb x = band_of(dt, full.h, Ci, Hf, Wx, x_row0, Hx), xin = tb_out(dt, Ci * Rin * Win);
            float *ref = fbuf(Ci * Rin * Win);
            for (int64_t c = 0; c < Ci; c++)
                for (int64_t r = 0; r < Rin; r++)
                    for (int64_t ix = 0; ix < Win; ix++) {
                        int64_t iy = iy0 + r, xr = iy >= 0 ? iy / up : -1;
                        int held = iy >= 0 && iy < Hf * up && xr >= x_row0 && xr < x_row0 + Hx;
                        ref[(c * Rin + r) * Win + ix] = held ? full.h[(c * Hf + xr) * Wx + ix / up] : 0.0f;
                    }
            CHECK(sn_k_band_gather(x.d, xin.d, dt, Ci, Hx, Wx, (int)up, x_row0, Hf, iy0, Rin, NULL) == 0, "launch");
            char det[16];
            snprintf(det, sizeof det, "case %d", gi);
            close_to("band_gather", dt, det, &xin, ref, 0.0);
            /* the row kernel (no per-element 64-bit divisions): a block per 128 values of a row */
            check_launch(det, "k_band_gather_row", (uint64_t)(Ci * Rin * ((Win + 127) / 128)));
            tb_free(&full), tb_free(&x), tb_free(&xin), free(ref);
        }
        for (int bk = 0; bk < 2; bk++) {
            const int64_t Co = 5, R = 6, Wo = 9, src_row0 = 1, rows = 4, Hy = 10, dst_row0 = 3;
            tb out = tb_rand(dt, Co * R * Wo, 150, 1.0f), y = tb_rand(dt, Co * Hy * Wo, 151, 1.0f);
            tb bias = tb_rand(SN_F32, Co, 152, 1.0f);
            float *ref = fbuf(Co * Hy * Wo);
            memcpy(ref, y.h, (size_t)(Co * Hy * Wo) * sizeof(float));
            for (int64_t co = 0; co < Co; co++)
                for (int64_t r = 0; r < rows; r++)
                    for (int64_t ox = 0; ox < Wo; ox++)
                        ref[(co * Hy + dst_row0 + r) * Wo + ox] =
                            out.h[(co * R + src_row0 + r) * Wo + ox] + (bk ? bias.h[co] : 0.0f);
            CHECK(sn_k_band_scatter(out.d, R, src_row0, y.d, dt, Hy, dst_row0, Co, rows, Wo, bk ? bias.d : NULL, SN_F32,
                                    NULL) == 0,
                  "launch");
            close_to("band_scatter", dt, bk ? "bias" : "no bias", &y, ref, bk ? tol_of(dt) : 0.0);
            check_launch("band_scatter", "k_band_scatter_row", (uint64_t)(Co * rows));
            tb_free(&out), tb_free(&y), tb_free(&bias), free(ref);
        }
    }
}

static void test_channel_norm(void) {
    const int64_t B = 2, C = 37, H = 5, W = 7, n = B * C * H * W;
    for (int dt = 0; dt < 3; dt++)
        for (int a = 0; a < 2; a++) { /* no activation, no bias / SiLU with bias, in place */
            int act = a ? SN_ACT_SILU : SN_ACT_NONE, wdt = a ? dt : SN_F32;
            tb x = tb_rand(dt, n, 160, 2.0f), w = tb_rand(wdt, C, 161, 1.0f), b = tb_rand(wdt, C, 162, 0.5f);
            tb y = tb_out(dt, n);
            float *ref = fbuf(n);
            sn_tensor xc = ct(x.h, 4, SN_SHAPE(B, C, H, W)), yc = ct(ref, 4, SN_SHAPE(B, C, H, W));
            sn_tensor wc = ct(w.h, 1, &C), bc = ct(b.h, 1, &C);
            CHECK_OK(sn_channel_norm(&xc, &wc, a ? &bc : NULL, 1e-5f, (sn_act)act, &yc));
            CHECK(sn_k_channel_norm(x.d, a ? x.d : y.d, dt, w.d, a ? b.d : NULL, wdt, B, C, H * W, 1e-5f, act, NULL) == 0,
                  "launch");
            close_to("channel_norm", dt, a ? "silu, bias, in place" : "plain", a ? &x : &y, ref, tol_of(dt));
            tb_free(&x), tb_free(&w), tb_free(&b), tb_free(&y), free(ref);
        }
}

static void test_shortcuts(void) {
    /* {B, Ci, Co, f, h_full (of x), Wx, x_row0, Hx, y_row0, Hy} */
    static const int64_t D[4][10] = {{2, 8, 4, 2, 6, 5, 1, 4, 4, 4}, {1, 3, 6, 1, 7, 9, 0, 7, 0, 7},
                                     {1, 4, 4, 2, 5, 3, 0, 5, 2, 7}, {1, 4, 2, 2, 3, 70, 0, 3, 0, 6}};
    for (int dt = 0; dt < 3; dt++) {
        for (int di = 0; di < 4; di++) {
            const int64_t *d = D[di];
            int64_t B = d[0], Ci = d[1], Co = d[2], f = d[3], Wx = d[5], x_row0 = d[6], Hx = d[7], y_row0 = d[8];
            int64_t Hy = d[9], Wy = Wx * f;
            tb x = tb_rand(dt, B * Ci * Hx * Wx, 170 + di, 1.0f), y = tb_rand(dt, B * Co * Hy * Wy, 173, 1.0f);
            float *ref = fbuf(B * Co * Hy * Wy);
            memcpy(ref, y.h, (size_t)(B * Co * Hy * Wy) * sizeof(float));
            sn_tensor xc = ct(x.h, 4, SN_SHAPE(B, Ci, Hx, Wx)), yc = ct(ref, 4, SN_SHAPE(B, Co, Hy, Wy));
            CHECK_OK(sn_shortcut_dup(&xc, x_row0, (int32_t)f, &yc, y_row0));
            CHECK(sn_k_shortcut_dup(x.d, y.d, dt, B, Ci, Hx, Wx, Co, Hy, Wy, (int)f, x_row0, y_row0, NULL) == 0,
                  "launch");
            char det[16];
            snprintf(det, sizeof det, "case %d", di);
            close_to("shortcut_dup", dt, det, &y, ref, tol_of(dt));
            check_launch(det, "k_shortcut_dup_row", (uint64_t)(B * Co * Hy * ((Wy + 127) / 128)));
            tb_free(&x), tb_free(&y), free(ref);
        }
        for (int ai = 0; ai < 2; ai++) { /* {Ci 4 -> Co 8, f 2: groups of 2}, {Ci 6 -> Co 3, f 1: groups of 2} */
            int64_t B = 2, Ci = ai ? 6 : 4, Co = ai ? 3 : 8, f = ai ? 1 : 2, Hx = 8, Wx = 6, Hy = Hx / f, Wy = Wx / f;
            tb x = tb_rand(dt, B * Ci * Hx * Wx, 180 + ai, 1.0f), y = tb_rand(dt, B * Co * Hy * Wy, 182, 1.0f);
            float *ref = fbuf(B * Co * Hy * Wy);
            memcpy(ref, y.h, (size_t)(B * Co * Hy * Wy) * sizeof(float));
            sn_tensor xc = ct(x.h, 4, SN_SHAPE(B, Ci, Hx, Wx)), yc = ct(ref, 4, SN_SHAPE(B, Co, Hy, Wy));
            CHECK_OK(sn_shortcut_avg(&xc, (int32_t)f, &yc));
            CHECK(sn_k_shortcut_avg(x.d, y.d, dt, B, Ci, Hx, Wx, Co, Hy, Wy, (int)f, NULL) == 0, "launch");
            close_to("shortcut_avg", dt, ai ? "f 1" : "f 2", &y, ref, tol_of(dt));
            tb_free(&x), tb_free(&y), free(ref);
        }
    }
}

/* empty tensors: a grid of zero blocks is a launch error, so each launcher must size its grid to
 * at least one block or launch nothing */
static void test_empty(void) {
    float v = 1.0f, w = 1.0f;
    void *p = &v;
    const int64_t z4[4] = {0, 3, 1, 1}, s4[4] = {0, 0, 0, 0};
    CHECK(sn_k_convert(p, SN_F32, p, SN_BF16, 0, NULL) == 0, "convert");
    CHECK(sn_k_fill(p, SN_F16, 2.0f, 0, NULL) == 0, "fill");
    CHECK(sn_k_bias_act(p, SN_F32, &w, SN_F32, 0, 5, 1, NULL) == 0, "bias_act");
    CHECK(sn_k_unary(p, p, SN_F32, 0, 1, NULL) == 0, "unary");
    CHECK(sn_k_binary(p, &w, SN_F32, p, SN_F32, 0, 4, z4, s4, NULL) == 0, "binary");
    CHECK(sn_k_scale(p, p, SN_F32, 0, 2.0f, 1.0f, NULL) == 0, "scale");
    CHECK(sn_k_permute(p, p, SN_F32, 4, z4, s4, NULL) == 0, "permute");
    CHECK(sn_k_layer_norm(p, p, SN_F32, NULL, NULL, SN_F32, NULL, NULL, 0, 8, 1, 1e-6f, NULL) == 0, "layer_norm");
    CHECK(sn_k_rms_norm(p, p, SN_F32, NULL, NULL, SN_F32, 0.0f, 0, 8, 1e-6f, NULL) == 0, "rms_norm");
    CHECK(sn_k_rope(p, p, SN_F32, 0, 4, 8, 1e4f, 0, NULL) == 0, "rope");
    CHECK(sn_k_glu(p, p, SN_F32, 0, 4, 1, NULL) == 0, "glu");
    CHECK(sn_k_gated_add(p, p, NULL, SN_F32, 0, 4, 1, NULL) == 0, "gated_add");
    CHECK(sn_k_dwconv_nhwc(p, &w, NULL, p, SN_F32, SN_F32, 0, 3, 3, 4, 1, 1, 0, 3, 3, NULL) == 0, "dwconv_nhwc");
    CHECK(sn_k_im2col(p, p, SN_F32, 0, 3, 3, 1, 1, 1, 0, 3, 3, NULL) == 0, "im2col");
    CHECK(sn_k_depthwise(p, &w, NULL, p, SN_F32, SN_F32, 0, 2, 3, 3, 1, 1, 0, 3, 3, NULL) == 0, "depthwise");
    CHECK(sn_k_bias_channels(p, SN_F32, &w, SN_F32, 0, 2, 5, NULL) == 0, "bias_channels");
    CHECK(sn_k_im2col_band(p, p, SN_F32, 0, 2, 3, 3, 3, 3, 1, 1, 1, 0, 3, 0, 3, NULL) == 0, "im2col_band");
    CHECK(sn_k_band_gather(p, p, SN_F32, 2, 3, 3, 1, 0, 3, 0, 0, NULL) == 0, "band_gather");
    CHECK(sn_k_band_scatter(p, 3, 0, p, SN_F32, 3, 0, 2, 0, 3, NULL, SN_F32, NULL) == 0, "band_scatter");
    CHECK(sn_k_channel_norm(p, p, SN_F32, &w, NULL, SN_F32, 0, 4, 9, 1e-5f, 0, NULL) == 0, "channel_norm");
    CHECK(sn_k_shortcut_dup(p, p, SN_F32, 0, 2, 2, 2, 2, 4, 4, 2, 0, 0, NULL) == 0, "shortcut_dup");
    CHECK(sn_k_shortcut_avg(p, p, SN_F32, 0, 2, 4, 4, 2, 2, 2, 2, NULL) == 0, "shortcut_avg");
    CHECK(v == 1.0f, "an empty op wrote %g", v);
}

int cuemu_detects_races(void); /* tests/cuemu/cuemu_sched.cc */

int main(void) {
    /* the *_races build must run the race-detecting scheduler (libsana brings the plain one too) */
    if (getenv("CUEMU_EXPECT_RACES")) CHECK(cuemu_detects_races() == 1, "the plain cuemu scheduler got linked");
    CHECK_OK(sn_backend_cpu_create(1, &cpu));
    test_convert_fill();
    test_bias_act();
    test_unary_scale();
    test_binary();
    test_permute();
    test_low_rank();
    test_norms();
    test_rope();
    test_glu_gated_add();
    test_dwconv_nhwc();
    test_conv();
    test_im2col_band();
    test_band_gather_scatter();
    test_channel_norm();
    test_shortcuts();
    test_empty();
    sn_backend_free(cpu);
    return tu_finish("test_cuemu_kernels");
}
