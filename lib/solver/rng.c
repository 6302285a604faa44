/* torch-compatible CPU normal noise: MT19937 + torch's Box-Muller paths (spec solvers.md §6.1).
 *
 * Every fp32 operation below is one operation of torch's AVX2 kernel (avx_mathfun.h), in the
 * same order. torch is built with GCC's default -ffp-contract=fast, which fuses each multiply
 * whose only use is an add or subtract into an FMA (first such multiply in program order wins);
 * the fmaf() calls below are exactly those fusions (checked bit for bit against torch 2.x on
 * x86-64 over 10^6 values: without them ~1 % of values differ by one ulp). The library itself is
 * compiled as ISO C, where GCC contracts nothing, so every other rounding stays where torch has
 * it. */
#include "solver/rng.h"

#include <math.h>
#include <string.h>

/* --- MT19937 (std::mt19937, as at::mt19937) ------------------------------------------------ */

void sn_rng_seed(sn_rng *r, uint64_t seed) {
    r->mt[0] = (uint32_t)(seed & 0xffffffffu);
    for (int i = 1; i < 624; i++)
        r->mt[i] = 1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + (uint32_t)i;
    r->next = 624;
    r->has_cached_normal = 0;
    r->cached_normal = 0.0;
}

static void mt_twist(sn_rng *r) {
    for (int i = 0; i < 624; i++) {
        uint32_t y = (r->mt[i] & 0x80000000u) | (r->mt[(i + 1) % 624] & 0x7fffffffu);
        r->mt[i] = r->mt[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
    }
    r->next = 0;
}

uint32_t sn_rng_u32(sn_rng *r) {
    if (r->next >= 624) mt_twist(r);
    uint32_t y = r->mt[r->next++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

/* at::uniform_real_distribution<float>(0, 1): 24 random bits. */
static float uniform_f32(sn_rng *r) {
    return (float)(sn_rng_u32(r) & 0xffffffu) * (1.0f / 16777216.0f);
}

/* at::uniform_real_distribution<double>(0, 1): 53 bits of random64() = (first << 32) | second. */
static double uniform_f64(sn_rng *r) {
    uint64_t hi = sn_rng_u32(r);
    uint64_t lo = sn_rng_u32(r);
    uint64_t v = (hi << 32) | lo;
    return (double)(v & ((UINT64_C(1) << 53) - 1)) * (1.0 / 9007199254740992.0);
}

/* --- avx_mathfun.h, one lane ------------------------------------------------------------------ */

static uint32_t f2u(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static float u2f(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float sn_rng_log_ps(float x) {
    const float p[9] = {7.0376836292E-2f,  -1.1514610310E-1f, 1.1676998740E-1f,
                        -1.2420140846E-1f, 1.4249322787E-1f,  -1.6668057665E-1f,
                        2.0000714765E-1f,  -2.4999993993E-1f, 3.3333331174E-1f};
    int invalid = x <= 0.0f; /* _CMP_LE_OS: false for NaN */
    float fmin = u2f(0x00800000u);
    x = (x > fmin) ? x : fmin; /* _mm256_max_ps(x, min): the second operand on NaN or equal */
    uint32_t bits = f2u(x);
    int32_t imm0 = (int32_t)(bits >> 23);
    x = u2f((bits & ~0x7f800000u) | f2u(0.5f));
    imm0 -= 0x7f;
    float e = (float)imm0;
    e = e + 1.0f;
    int mask = x < 0.707106781186547524f;
    float tmp = mask ? x : 0.0f;
    x = x - 1.0f;
    e = e - (mask ? 1.0f : 0.0f);
    x = x + tmp;
    float z = x * x;
    float y = p[0];
    for (int k = 1; k < 9; k++) y = fmaf(y, x, p[k]);
    y = y * x;
    tmp = e * -2.12194440e-4f;
    y = fmaf(y, z, tmp);
    y = fmaf(-z, 0.5f, y);
    x = x + y;
    x = fmaf(e, 0.693359375f, x);
    if (invalid) x = u2f(f2u(x) | 0xffffffffu);
    return x;
}

void sn_rng_sincos_ps(float x, float *s, float *c) {
    uint32_t sign_sin = f2u(x) & 0x80000000u;
    x = u2f(f2u(x) & 0x7fffffffu);
    float y = x * 1.27323954473516f; /* 4 / pi */
    int32_t j = (int32_t)y;          /* cvttps: truncation */
    j = (j + 1) & ~1;
    y = (float)j;
    uint32_t swap_sin = ((uint32_t)j & 4u) << 29;
    int poly_mask = (j & 2) == 0;
    x = fmaf(y, -0.78515625f, x);
    x = fmaf(y, -2.4187564849853515625e-4f, x);
    x = fmaf(y, -3.77489497744594108e-8f, x);
    uint32_t sign_cos = ((~(uint32_t)(j - 2)) & 4u) << 29;
    sign_sin ^= swap_sin;

    float z = x * x;
    float yc = fmaf(2.443315711809948E-005f, z, -1.388731625493765E-003f);
    yc = fmaf(yc, z, 4.166664568298827E-002f);
    yc = yc * z;
    float tmp = z * 0.5f;
    yc = fmaf(yc, z, -tmp);
    yc = yc + 1.0f;

    float ys = fmaf(-1.9515295891E-4f, z, 8.3321608736E-3f);
    ys = fmaf(ys, z, -1.6666654611E-1f);
    ys = ys * z;
    ys = fmaf(ys, x, x);

    /* Both polynomials, then the select as torch writes it (and/andnot, sub, add). */
    float ysin2 = poly_mask ? ys : 0.0f;
    float ysin1 = poly_mask ? 0.0f : yc;
    ys = ys - ysin2;
    yc = yc - ysin1;
    float sv = ysin1 + ysin2;
    float cv = yc + ys;
    *s = u2f(f2u(sv) ^ sign_sin);
    *c = u2f(f2u(cv) ^ sign_cos);
}

/* --- normal paths ------------------------------------------------------------------------------ */

/* NormalFill16 (AVX2): 8 Box-Muller pairs, cosines into the first half, sines into the second. */
static void normal_fill_16(float *d) {
    const float two_pi = (float)(2.0 * 3.14159265358979323846);
    for (int j = 0; j < 8; j++) {
        float u1 = 1.0f - d[j];
        float u2 = d[j + 8];
        float radius = sqrtf(-2.0f * sn_rng_log_ps(u1));
        float theta = two_pi * u2;
        float sn, cs;
        sn_rng_sincos_ps(theta, &sn, &cs);
        d[j] = radius * cs;     /* fmadd(n1, std = 1, mean = 0) is exact */
        d[j + 8] = radius * sn;
    }
}

/* at::normal_distribution<double>: pairs (cos, sin) with the sin half cached in the generator. */
static double normal_f64(sn_rng *r) {
    if (r->has_cached_normal) {
        r->has_cached_normal = 0;
        return r->cached_normal;
    }
    double u1 = uniform_f64(r);
    double u2 = uniform_f64(r);
    double rad = sqrt(-2.0 * log1p(-u2));
    double theta = 2.0 * 3.14159265358979323846 * u1;
    r->cached_normal = rad * sin(theta);
    r->has_cached_normal = 1;
    return rad * cos(theta);
}

void sn_rng_randn(sn_rng *r, float *out, size_t n) {
    if (n < 16) {
        for (size_t i = 0; i < n; i++) out[i] = (float)normal_f64(r);
        return;
    }
    for (size_t i = 0; i < n; i++) out[i] = uniform_f32(r);
    for (size_t i = 0; i + 16 <= n; i += 16) normal_fill_16(out + i);
    if (n % 16 != 0) {
        /* torch redraws the last 16 values and transforms them once more */
        float *d = out + n - 16;
        for (int i = 0; i < 16; i++) d[i] = uniform_f32(r);
        normal_fill_16(d);
    }
}
