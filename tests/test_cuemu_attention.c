/* The attention kernels under cuemu (the CPU emulator, tests/cuemu) against the CPU backend:
 *   - sn_k_flash_attention (tensor cores: mma.sync, ldmatrix, cp.async emulated by
 *     tests/cuemu/ptx.cuh) in bf16 and f16, and sn_k_attention (warp per row) in f32, f16 and
 *     bf16, on the cases below: head dims 32 / 64 / 72 (run as 80) / 112 / 128 / 256, lengths
 *     off the 64-row and 64- or 32-key tiles (1, 17, 77, 130), grouped K/V 2:1 and 4:1, soft-cap,
 *     causal, sliding window,
 *     key masks [B, 1, Nk] with a fully masked batch, Gemma's [B, L, L] masks of finfo.min, and
 *     per-row masks with -inf holes and fully masked rows (attention_cases.h, shared with
 *     test_cuda_attention). Flash must run on every case it supports and refuse the others
 *     (SN_K_NOT_APPLICABLE) without writing.
 *   - sn_k_linattn (one pass) and sn_k_linattn_state + sn_k_linattn_apply (two passes) against
 *     the CPU's linear_attention (token-major, q, k, v interleaved in one buffer: strided views)
 *     and linear_attention_relu / _state / _apply (channel-major qkv [B, G, 3d, N]), N around and
 *     across SN_LINATTN_CHUNK (1, 255, 256, 257, 700), head dims 32 and odd ones, f32 / f16 / bf16.
 * Inputs are rounded to the kernel's dtype before the reference sees them; outputs start as NaN
 * so an unwritten element fails; every launch is followed by cudaDeviceSynchronize (the emulated
 * runtime may queue it, as a GPU does). Tolerance (max |emu - cpu| / max |cpu|): 1e-4 in f32, 2e-2 in
 * f16 and bf16. Prints the CPU time it took. Built and run only with SANA_CUEMU=ON.
 * As test_cuemu_attention_races (ThreadSanitizer, ~13x slower) it runs a subset: bf16 only (a
 * race does not depend on the dtype), every flash case, the simple kernel on the smaller ones. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attention_cases.h"
#include "backend/backend.h"
#include "core/dtype.h"
#include "harness.h"
#include "kernels.h"

static sn_backend *cpu;
static const char *DT_NAME[3] = {"f32", "f16", "bf16"};

#ifdef CUEMU_RACES
enum { RACES = 1, DT_FIRST = SN_BF16 };
#else
enum { RACES = 0, DT_FIRST = SN_F32 };
#endif

static double tol_of(int dt) { return dt == SN_F32 ? 1e-4 : 2e-2; }

static float round_to(int dt, float v) {
    return dt == SN_F32 ? v : dt == SN_F16 ? sn_f16_to_f32(sn_f32_to_f16(v)) : sn_bf16_to_f32(sn_f32_to_bf16(v));
}

/* what a kernel sees in dtype dt (d, 64-byte aligned: the flash kernel wants 16) and its values
 * as float (h) */
typedef struct buf {
    int dt;
    int64_t n;
    void *d;
    float *h;
} buf;

static buf buf_new(int dt, int64_t n) {
    size_t bytes = ((size_t)(n ? n : 1) * 4 + 63) / 64 * 64;
    buf t = {dt, n, aligned_alloc(64, bytes), calloc((size_t)(n ? n : 1), 4)};
    if (!t.d || !t.h) abort();
    return t;
}

static void buf_store(buf *t) {
    for (int64_t i = 0; i < t->n; i++) {
        if (t->dt == SN_F32) ((float *)t->d)[i] = t->h[i];
        else if (t->dt == SN_F16) ((uint16_t *)t->d)[i] = sn_f32_to_f16(t->h[i]);
        else ((uint16_t *)t->d)[i] = sn_f32_to_bf16(t->h[i]);
    }
}

/* random values in [-1, 1) rounded to dt */
static buf buf_rand(int dt, int64_t n, uint64_t seed) {
    buf t = buf_new(dt, n);
    tu_fill_random(t.h, (size_t)n, seed);
    for (int64_t i = 0; i < n; i++) t.h[i] = round_to(dt, t.h[i]);
    buf_store(&t);
    return t;
}

/* an output: NaN in the kernel's buffer */
static buf buf_out(int dt, int64_t n) {
    buf t = buf_new(dt, n);
    for (int64_t i = 0; i < n; i++) t.h[i] = NAN;
    buf_store(&t);
    return t;
}

static const float *buf_read(buf *t) {
    CHECK(sn_convert_to_f32((sn_dtype)t->dt, t->d, t->h, t->n) == 0, "convert");
    return t->h;
}

static void buf_free(buf *t) {
    free(t->d);
    free(t->h);
}

/* a CPU backend tensor over host floats */
static sn_tensor host_f32(float *data, int ndim, const int64_t *shape) {
    sn_tensor t = {SN_F32, ndim, {0}, data, cpu};
    for (int i = 0; i < ndim; i++) t.shape[i] = shape[i];
    return t;
}

static float *fbuf(int64_t n) {
    float *p = calloc((size_t)(n ? n : 1), sizeof(float));
    if (!p) abort();
    return p;
}

/* ============================== softmax attention ============================================ */

/* clang-format off */
static const att_case cases[] = {
    /* name                                                B  Hq Hk   Nq   Nk    D   Dv  scale       cap    causal window mask        gw  flash misalign */
    {"d32, 1 query x 1 key",                               2, 1, 1,    1,   1,  32,  32, 0.1767767f, 0,     0, 0,    MASK_NONE,  0,  1, 0},
    {"d32, 77 x 17, scale 1, GQA 2:1, key mask",           2, 2, 1,   77,  17,  32,  32, 1.0f,       0,     0, 0,    MASK_KEYS,  0,  1, 0},
    {"d64, 130 x 77, GQA 4:1, causal, key mask",           2, 4, 1,  130,  77,  64,  64, 0.125f,     0,     1, 0,    MASK_KEYS,  0,  1, 0},
    {"d64, 130 x 17, window 5: rows past it see nothing",  2, 2, 2,  130,  17,  64,  64, 0.125f,     0,     0, 5,    MASK_NONE,  0,  1, 0},
    {"d128, 130 x 130, causal, window 40, soft-cap 1, 4:1",2, 4, 1,  130, 130, 128, 128, 0.5f,       1.0f,  1, 40,   MASK_NONE,  0,  1, 0},
    {"d128, 17 x 130, per-row mask, fully masked rows",    2, 2, 2,   17, 130, 128, 128, 0.0883883f, 0,     0, 0,    MASK_ROWS,  0,  1, 0},
    {"d256 gemma, 77 tokens, cap 50, [B,L,L] mask, 2:1",   2, 4, 2,   77,  77, 256, 256, 0.0625f,    50.0f, 0, 0,    MASK_GEMMA, 0,  1, 0},
    {"d256 gemma sliding 17 (mask+causal+window), 130",    2, 2, 1,  130, 130, 256, 256, 0.0625f,    50.0f, 1, 17,   MASK_GEMMA, 17, 1, 0},
    {"d72 (as 80: padded columns), 77 x 130, key mask",    2, 2, 2,   77, 130,  72,  72, 0.1178511f, 0,     0, 0,    MASK_KEYS,  0,  1, 0},
    {"d72, causal, window 9, GQA 2:1, 70 x 70",            2, 4, 2,   70,  70,  72,  72, 0.1178511f, 0,     1, 9,    MASK_NONE,  0,  1, 0},
    {"d112 (sana 1.6b cross-attn), 65 x 77, key mask",     2, 2, 2,   65,  77, 112, 112, 0.0944911f, 0,     0, 0,    MASK_KEYS,  0,  1, 0},
    {"d48: not flash",                                     2, 2, 2,   17,  33,  48,  48, 0.144f,     0,     0, 0,    MASK_KEYS,  0,  0, 0},
    {"d32 with dv 64, causal: not flash",                  2, 2, 1,   17,  33,  32,  64, 0.1767767f, 0,     1, 0,    MASK_NONE,  0,  0, 0},
    {"d32, q not 16-byte aligned: not flash",              2, 2, 2,   17,  17,  32,  32, 0.1767767f, 0,     0, 0,    MASK_KEYS,  0,  0, 1},
};
/* clang-format on */

/* the CPU backend's attention on the values the kernel sees */
static void ref_attention(const att_case *c, buf *q, buf *k, buf *v, const float *mask, int64_t mrows, float *y) {
    sn_tensor tq = host_f32(q->h, 4, SN_SHAPE(c->B, c->Hq, c->Nq, c->D));
    sn_tensor tk = host_f32(k->h, 4, SN_SHAPE(c->B, c->Hk, c->Nk, c->D));
    sn_tensor tv = host_f32(v->h, 4, SN_SHAPE(c->B, c->Hk, c->Nk, c->Dv));
    sn_tensor ty = host_f32(y, 4, SN_SHAPE(c->B, c->Hq, c->Nq, c->Dv));
    sn_tensor tm = host_f32((float *)mask, 3, SN_SHAPE(c->B, mrows, c->Nk));
    sn_attn_params p = {c->scale, c->softcap, c->causal, c->window, mask ? &tm : NULL};
    CHECK_OK(sn_attention(&tq, &tk, &tv, &p, &ty));
}

static void run_case(const att_case *c, int dt, uint64_t seed) {
    buf q = buf_rand(dt, c->B * c->Hq * c->Nq * c->D + 8, seed); /* + 8: room for the misaligned view */
    buf k = buf_rand(dt, c->B * c->Hk * c->Nk * c->D, seed + 1);
    buf v = buf_rand(dt, c->B * c->Hk * c->Nk * c->Dv, seed + 2);
    int64_t ny = c->B * c->Hq * c->Nq * c->Dv;
    if (c->misalign) { /* q one element further on: the values the reference reads move too */
        memmove((char *)q.d + sn_dtype_size((sn_dtype)dt), q.d, (size_t)(q.n - 1) * sn_dtype_size((sn_dtype)dt));
        memmove(q.h + 1, q.h, (size_t)(q.n - 1) * 4);
    }
    const void *qd = c->misalign ? (const char *)q.d + sn_dtype_size((sn_dtype)dt) : q.d;
    buf qr = {dt, q.n, NULL, c->misalign ? q.h + 1 : q.h};

    /* the mask as the models upload it: key and row masks in f32, Gemma's in the act dtype */
    int64_t mrows = c->mask == MASK_KEYS ? 1 : c->Nq;
    int mdt = c->mask == MASK_GEMMA ? dt : SN_F32;
    buf m = buf_new(mdt, c->mask == MASK_NONE ? 0 : c->B * mrows * c->Nk);
    if (c->mask == MASK_KEYS) key_mask(c, m.h, seed + 3);
    if (c->mask == MASK_GEMMA) gemma_mask(c, m.h, (sn_dtype)dt);
    if (c->mask == MASK_ROWS) row_mask(c, m.h, seed + 3);
    for (int64_t i = 0; i < m.n; i++) m.h[i] = round_to(mdt, m.h[i]);
    buf_store(&m);
    const void *md = c->mask == MASK_NONE ? NULL : m.d;

    float *ref = fbuf(ny);
    ref_attention(c, &qr, &k, &v, c->mask == MASK_NONE ? NULL : m.h, mrows, ref);

    for (int flash = 0; flash < 2; flash++) {
        if (flash && dt == SN_F32) continue; /* refused: checked in check_refusals */
        if (RACES && !flash && c->B * c->Hq * c->Nq * c->Nk > 20000) continue;
        buf y = buf_out(dt, ny);
        clock_t t0 = clock();
        int e = flash ? sn_k_flash_attention(qd, k.d, v.d, y.d, dt, c->B, c->Hq, c->Hk, c->Nq, c->Nk, c->D, c->Dv,
                                             c->scale, c->softcap, c->causal, c->window, md, mdt, mrows, NULL)
                      : sn_k_attention(qd, k.d, v.d, y.d, dt, c->B, c->Hq, c->Hk, c->Nq, c->Nk, c->D, c->Dv, c->scale,
                                       c->softcap, c->causal, c->window, md, mdt, mrows, NULL);
        if (e == 0) e = (int)cudaDeviceSynchronize();
        if (flash && !c->flash) {
            buf_read(&y);
            int untouched = 1;
            for (int64_t i = 0; i < ny; i++) untouched &= isnan(y.h[i]);
            CHECK(e == SN_K_NOT_APPLICABLE && untouched, "%s %s: flash should refuse (returned %d)", c->name,
                  DT_NAME[dt], e);
        } else {
            CHECK(e == 0, "%s %s %s: launch returned %d", c->name, DT_NAME[dt], flash ? "flash" : "simple", e);
            double err = tu_rel_err(buf_read(&y), ref, (size_t)ny);
            printf("%-5s %-6s %-52s rel err %.3g (%.2f CPU-s)\n", DT_NAME[dt], flash ? "flash" : "simple", c->name,
                   err, (double)(clock() - t0) / CLOCKS_PER_SEC);
            CHECK(err <= tol_of(dt), "%s %s %s: rel err %.3g > %.3g", c->name, DT_NAME[dt],
                  flash ? "flash" : "simple", err, tol_of(dt));
        }
        buf_free(&y);
    }
    free(ref);
    buf_free(&q), buf_free(&k), buf_free(&v), buf_free(&m);
}

/* f32 goes to the simple kernel: flash refuses it, as it does head dims it lacks and Dv != D */
static void check_refusals(void) {
    buf x = buf_rand(SN_F32, 2 * 64 * 64, 5), y = buf_out(SN_F32, 2 * 64 * 64);
    CHECK(sn_k_flash_attention(x.d, x.d, x.d, y.d, SN_F32, 1, 2, 2, 64, 64, 64, 64, 0.125f, 0, 0, 0, NULL, SN_F32, 1,
                               NULL) == SN_K_NOT_APPLICABLE,
          "flash in f32");
    CHECK(sn_k_flash_attention(x.d, x.d, x.d, y.d, SN_BF16, 1, 2, 2, 64, 64, 96, 96, 0.125f, 0, 0, 0, NULL, SN_F32, 1,
                               NULL) == SN_K_NOT_APPLICABLE,
          "flash with head dim 96");
    CHECK(sn_k_flash_attention(x.d, x.d, x.d, y.d, SN_BF16, 1, 2, 3, 64, 64, 64, 64, 0.125f, 0, 0, 0, NULL, SN_F32, 1,
                               NULL) == SN_K_NOT_APPLICABLE,
          "flash with Hq not a multiple of Hk");
    buf_free(&x), buf_free(&y);
}

/* ============================== linear attention ============================================= */

long cuemu_launch_count(const char *label); /* tests/cuemu/cuemu_sched.cc */

typedef struct la_case {
    int64_t B, H, N, d, dv;
} la_case;

/* token-major (the DiT): q, k, v of one token side by side in one buffer [B, N, H*d | H*d | H*dv],
 * so each is a strided view; y dense [B, N, H*dv]. Against the CPU's linear_attention on dense
 * copies. */
static void run_linattn_tokens(const la_case *c, int dt, uint64_t seed) {
    const int64_t B = c->B, H = c->H, N = c->N, d = c->d, dv = c->dv, W = H * (2 * d + dv);
    buf x = buf_rand(dt, B * N * W, seed);
    float *q = fbuf(B * N * H * d), *k = fbuf(B * N * H * d), *v = fbuf(B * N * H * dv), *ref = fbuf(B * N * H * dv);
    for (int64_t t = 0; t < B * N; t++) {
        memcpy(q + t * H * d, x.h + t * W, (size_t)(H * d) * 4);
        memcpy(k + t * H * d, x.h + t * W + H * d, (size_t)(H * d) * 4);
        memcpy(v + t * H * dv, x.h + t * W + 2 * H * d, (size_t)(H * dv) * 4);
    }
    sn_tensor tq = host_f32(q, 3, SN_SHAPE(B, N, H * d)), tk = host_f32(k, 3, SN_SHAPE(B, N, H * d));
    sn_tensor tv = host_f32(v, 3, SN_SHAPE(B, N, H * dv)), ty = host_f32(ref, 3, SN_SHAPE(B, N, H * dv));
    const float eps = 1e-6f;
    CHECK_OK(sn_linear_attention(&tq, &tk, &tv, (int32_t)H, eps, &ty));

    size_t es = sn_dtype_size((sn_dtype)dt);
    sn_linattn_view qv = {N * W, d, W, 1}, vv = {N * W, dv, W, 1}, yv = {N * H * dv, dv, H * dv, 1};
    buf y = buf_out(dt, B * N * H * dv);
    float *scratch = fbuf(sn_k_linattn_scratch_floats(B, H, N, d, dv));
    const long tiled0 = cuemu_launch_count("k_linattn_state_tiled");
    int e = sn_k_linattn(x.d, qv, (char *)x.d + (size_t)(H * d) * es, qv, (char *)x.d + (size_t)(2 * H * d) * es, vv,
                         y.d, yv, dt, B, H, N, d, dv, eps, scratch, NULL);
    if (e == 0) e = (int)cudaDeviceSynchronize();
    CHECK(e == 0, "linattn returned %d", e);
    /* the register-tiled state kernel (each thread a 4 x 2 tile, no per-element divisions) ran */
    CHECK(cuemu_launch_count("k_linattn_state_tiled") == tiled0 + 1,
          "linattn token-major: the tiled state kernel did not run");
    double err = tu_rel_err(buf_read(&y), ref, (size_t)y.n);
    printf("%-5s linattn token-major B%lld H%lld N%-4lld d%-3lld dv%-3lld          rel err %.3g\n", DT_NAME[dt],
           (long long)B, (long long)H, (long long)N, (long long)d, (long long)dv, err);
    CHECK(err <= tol_of(dt), "linattn token-major %s N %lld d %lld dv %lld: rel err %.3g", DT_NAME[dt], (long long)N,
          (long long)d, (long long)dv, err);
    free(q), free(k), free(v), free(ref), free(scratch);
    buf_free(&x), buf_free(&y);
}

/* channel-major (the DC-AE): qkv [B, G, 3d, N]; the one-pass kernel against linear_attention_relu,
 * then the two-pass state (added to a random state of dtype sdt) and apply against
 * linear_attention_state / _apply */
static void run_linattn_channels(const la_case *c, int dt, int sdt, uint64_t seed) {
    const int64_t B = c->B, G = c->H, N = c->N, d = c->d;
    buf qkv = buf_rand(dt, B * G * 3 * d * N, seed);
    sn_tensor tqkv = host_f32(qkv.h, 4, SN_SHAPE(B, G, 3 * d, N));
    float *ref = fbuf(B * G * d * N);
    sn_tensor ty = host_f32(ref, 4, SN_SHAPE(B, G, d, N));
    const float eps = 1e-4f;
    CHECK_OK(sn_linear_attention_relu(&tqkv, eps, &ty));

    size_t es = sn_dtype_size((sn_dtype)dt);
    const char *base = qkv.d;
    sn_linattn_view hv = {G * 3 * d * N, 3 * d * N, 1, N}, yv = {G * d * N, d * N, 1, N};
    buf y = buf_out(dt, B * G * d * N);
    float *scratch = fbuf(sn_k_linattn_scratch_floats(B, G, N, d, d));
    int e = sn_k_linattn(base, hv, base + (size_t)(d * N) * es, hv, base + (size_t)(2 * d * N) * es, hv, y.d, yv, dt,
                         B, G, N, d, d, eps, scratch, NULL);
    if (e == 0) e = (int)cudaDeviceSynchronize();
    CHECK(e == 0, "linattn returned %d", e);
    double err = tu_rel_err(buf_read(&y), ref, (size_t)y.n);

    /* two passes: state += [v; 1] relu(k)ᵀ onto a random state, then apply */
    buf s = buf_rand(sdt, B * G * (d + 1) * d, seed + 7);
    float *sref = fbuf(s.n);
    memcpy(sref, s.h, (size_t)s.n * 4);
    sn_tensor ts = host_f32(sref, 4, SN_SHAPE(B, G, d + 1, d));
    CHECK_OK(sn_linear_attention_state(&tqkv, &ts));
    for (int64_t i = 0; i < s.n; i++) sref[i] = round_to(sdt, sref[i]); /* the kernel stores the sum in sdt */
    e = sn_k_linattn_state(base + (size_t)(d * N) * es, hv, base + (size_t)(2 * d * N) * es, hv, dt, B, G, N, d, d,
                           scratch, s.d, sdt, NULL);
    if (e == 0) e = (int)cudaDeviceSynchronize();
    CHECK(e == 0, "linattn_state returned %d", e);
    double err_s = tu_rel_err(buf_read(&s), sref, (size_t)s.n);
    /* apply both from the kernel's state, so that the state's own rounding is not counted twice */
    CHECK_OK(sn_linear_attention_apply(&tqkv, &(sn_tensor){SN_F32, 4, {B, G, d + 1, d}, s.h, cpu}, eps, &ty));
    buf y2 = buf_out(dt, B * G * d * N);
    e = sn_k_linattn_apply(base, hv, y2.d, yv, dt, B, G, N, d, d, eps, s.d, sdt, NULL);
    if (e == 0) e = (int)cudaDeviceSynchronize();
    CHECK(e == 0, "linattn_apply returned %d", e);
    double err_a = tu_rel_err(buf_read(&y2), ref, (size_t)y2.n);

    printf("%-5s linattn channel-major B%lld G%lld N%-4lld d%-3lld state %-4s     rel err %.3g, state %.3g, "
           "apply %.3g\n",
           DT_NAME[dt], (long long)B, (long long)G, (long long)N, (long long)d, DT_NAME[sdt], err, err_s, err_a);
    /* the state holds sums over up to N tokens: its rounding to sdt is the reference's too */
    CHECK(err <= tol_of(dt) && err_s <= tol_of(sdt == SN_F32 ? dt : sdt) && err_a <= tol_of(dt),
          "linattn channel-major %s N %lld d %lld: rel err %.3g, state %.3g, apply %.3g", DT_NAME[dt], (long long)N,
          (long long)d, err, err_s, err_a);
    free(ref), free(sref), free(scratch);
    buf_free(&qkv), buf_free(&y), buf_free(&y2), buf_free(&s);
}

int main(void) {
    clock_t t0 = clock();
    CHECK_OK(sn_backend_cpu_create(1, &cpu));
    if (!cpu) return tu_finish("test_cuemu_attention");

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int dt = DT_FIRST; dt <= SN_BF16; dt++) run_case(&cases[i], dt, 100 * (uint64_t)i + 10 * (uint64_t)dt + 1);
    check_refusals();
    clock_t t1 = clock();

    static const la_case tok[] = {{2, 2, 1, 32, 32},   {2, 2, 255, 32, 32}, {2, 2, 256, 32, 32},
                                  {2, 2, 257, 32, 32}, {2, 2, 700, 32, 32}, {2, 3, 257, 7, 5},
                                  {1, 2, 300, 33, 17}};
    static const la_case chn[] = {{2, 2, 1, 32, 32}, {2, 2, 256, 32, 32}, {2, 2, 257, 32, 32},
                                  {1, 2, 700, 32, 32}, {2, 3, 255, 7, 7}, {1, 2, 300, 17, 17}};
    for (int dt = DT_FIRST; dt <= SN_BF16; dt++) {
        for (size_t i = 0; i < sizeof tok / sizeof tok[0]; i++) run_linattn_tokens(&tok[i], dt, 7000 + 10 * i + dt);
        for (size_t i = 0; i < sizeof chn / sizeof chn[0]; i++)
            run_linattn_channels(&chn[i], dt, i % 2 ? SN_BF16 : SN_F32, 8000 + 10 * i + dt);
    }
    clock_t t2 = clock();
    printf("CPU time: softmax attention %.1f s, linear attention %.1f s\n", (double)(t1 - t0) / CLOCKS_PER_SEC,
           (double)(t2 - t1) / CLOCKS_PER_SEC);
    sn_backend_free(cpu);
    return tu_finish("test_cuemu_attention");
}
