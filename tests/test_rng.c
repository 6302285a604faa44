/* The torch-compatible generator: MT19937, the serial double path (< 16 values), the
 * vectorised Box-Muller path, stream continuation, against the spec's published values and the
 * oracle's torch.randn goldens (bit for bit). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "solver/rng.h"

/* The first values torch prints (4 decimals), spec solvers.md §6.1. */
static void check_prefix(const char *what, uint64_t seed, size_t n, const float *want, size_t nw) {
    float *x = malloc(n * sizeof(float));
    sn_rng r;
    sn_rng_seed(&r, seed);
    sn_rng_randn(&r, x, n);
    double worst = 0;
    for (size_t i = 0; i < nw; i++) worst = fmax(worst, fabs((double)x[i] - want[i]));
    printf("%s: first %zu values within %.2g of torch's printed ones (x[0] = %.6f)\n", what, nw, worst, x[0]);
    CHECK(worst <= 0.5e-4 + 1e-7, "%s: max deviation %g", what, worst);
    free(x);
}

static void test_known_values(void) {
    sn_rng r;
    sn_rng_seed(&r, 5489);
    uint32_t first = sn_rng_u32(&r);
    CHECK(first == 3499211612u, "mt19937(5489) first output %u", first);
    check_prefix("seed 0 randn(4,4)", 0, 16,
                 (const float[]){-1.1258f, -1.1524f, -0.2506f, -0.4339f, 0.8487f, 0.6920f, -0.3160f,
                                 -2.1152f, 0.3223f, -1.2633f, 0.3500f, 0.3081f, 0.1198f, 1.2377f,
                                 1.1168f, -0.2473f},
                 16);
    check_prefix("seed 0 randn(3)", 0, 3, (const float[]){1.5410f, -0.2934f, -2.1788f}, 3);
    check_prefix("seed 42 randn(6)", 42, 6,
                 (const float[]){0.3367f, 0.1288f, 0.2345f, 0.2303f, -1.1229f, -0.1863f}, 6);
    check_prefix("seed 42 randn(1,32,32,32)", 42, 32768,
                 (const float[]){1.9269f, 1.4873f, 0.9007f, -2.1055f, 0.6784f, -1.2345f, -0.0431f, -1.6047f}, 8);
}

/* Bit-exact comparison; returns the number of differing values. */
static size_t count_diff(const float *a, const float *b, size_t n) {
    size_t d = 0;
    for (size_t i = 0; i < n; i++) d += memcmp(&a[i], &b[i], 4) != 0;
    return d;
}

static void test_goldens(void) {
    const tu_case *c = tu_case_find("rng/torch_cpu_randn");
    if (!c) {
        printf("rng goldens: not in the fixtures, skipped\n");
        return;
    }
    const cJSON *outs = cJSON_GetObjectItemCaseSensitive((const cJSON *)c->json, "outputs");
    const cJSON *o;
    int n_cases = 0;
    size_t n_values = 0, n_bad = 0;
    sn_rng stream;
    int stream_started = 0;
    cJSON_ArrayForEach(o, outs) {
        if (!cJSON_IsString(o)) continue;
        const char *name = o->valuestring;
        tu_tensor ref;
        if (tu_golden(c, name, &ref)) continue;
        float *got = malloc(ref.n * sizeof(float));
        if (!strncmp(name, "seed", 4)) {
            /* "seed<S>.<shape>": a fresh generator */
            sn_rng r;
            sn_rng_seed(&r, strtoull(name + 4, NULL, 10));
            sn_rng_randn(&r, got, ref.n);
        } else if (!strncmp(name, "stream", 6)) {
            /* "stream<S>.<i>.<shape>": consecutive draws from one generator, in order */
            if (!stream_started) sn_rng_seed(&stream, strtoull(name + 6, NULL, 10)), stream_started = 1;
            sn_rng_randn(&stream, got, ref.n);
        } else {
            free(got);
            tu_tensor_free(&ref);
            continue;
        }
        size_t d = count_diff(got, ref.f, ref.n);
        CHECK(d == 0, "rng %s: %zu of %zu values differ from torch", name, d, ref.n);
        n_cases++;
        n_values += ref.n;
        n_bad += d;
        free(got);
        tu_tensor_free(&ref);
    }
    printf("rng goldens: %d draws, %zu values, %zu differ from torch.randn (bit for bit)\n", n_cases,
           n_values, n_bad);
    CHECK(n_cases >= 40, "only %d rng goldens were compared", n_cases);
}

/* The public call: same values as the generator, and its argument checks. */
static void test_noise_fill(void) {
    int64_t shape[4] = {1, 32, 4, 4};
    sana_tensor *t = NULL;
    CHECK_OK(sana_tensor_create(4, shape, NULL, &t));
    CHECK_OK(sana_noise_fill(SANA_NOISE_TORCH_CPU, 42, t));
    float want[512], got[512];
    sn_rng r;
    sn_rng_seed(&r, 42);
    sn_rng_randn(&r, want, 512);
    CHECK_OK(sana_tensor_read(t, got, 512));
    CHECK(count_diff(got, want, 512) == 0, "sana_noise_fill differs from the generator");
    CHECK_STATUS(sana_noise_fill((sana_noise)7, 42, t), SANA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(sana_noise_fill(SANA_NOISE_TORCH_CPU, 42, NULL), SANA_ERR_INVALID_ARGUMENT);
    sana_tensor_free(t);
    /* seeds differing only above bit 32 give the same stream (manual_seed keeps 32 bits) */
    float a[16], b[16];
    sn_rng_seed(&r, 7);
    sn_rng_randn(&r, a, 16);
    sn_rng_seed(&r, 7 + (UINT64_C(1) << 32));
    sn_rng_randn(&r, b, 16);
    CHECK(count_diff(a, b, 16) == 0, "the seed's high 32 bits changed the stream");
}

/* The fp32 log/sincos ports stay close to libm (they are Cephes polynomials, ~1 ulp). */
static void test_math_ports(void) {
    double worst_log = 0, worst_sc = 0;
    for (int i = 1; i <= 100000; i++) {
        float u = (float)i / 100000.0f;
        worst_log = fmax(worst_log, fabs((double)sn_rng_log_ps(u) - log((double)u)));
        float th = 6.2831855f * u, s, c;
        sn_rng_sincos_ps(th, &s, &c);
        worst_sc = fmax(worst_sc, fmax(fabs(s - sin(th)), fabs(c - cos(th))));
    }
    printf("log port max abs error %.3g, sincos port %.3g\n", worst_log, worst_sc);
    CHECK(worst_log < 2e-6 && worst_sc < 2e-6, "math ports drift: %g %g", worst_log, worst_sc);
    CHECK(isnan(sn_rng_log_ps(-1.0f)), "log of a negative number must be NaN");
}

int main(void) {
    test_known_values();
    test_goldens();
    test_noise_fill();
    test_math_ports();
    return tu_finish("test_rng");
}
