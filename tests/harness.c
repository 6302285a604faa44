#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

int tu_failures = 0;
int tu_checks = 0;

const char *tu_last_error(void) { return sn_error_text(); }

double tu_rel_err(const float *a, const float *b, size_t n) {
    double maxdiff = 0.0, maxref = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(a[i]) || isnan(b[i]) || isinf(a[i])) return INFINITY;
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > maxdiff) maxdiff = d;
        if (fabs((double)b[i]) > maxref) maxref = fabs((double)b[i]);
    }
    if (maxref == 0.0) return maxdiff == 0.0 ? 0.0 : INFINITY;
    return maxdiff / maxref;
}

int tu_check_close(const char *what, const float *got, const float *ref, size_t n, double tol) {
    double e = tu_rel_err(got, ref, n);
    int ok = e <= tol;
    tu_checks++;
    if (!ok) {
        tu_failures++;
        fprintf(stderr, "FAIL %s: rel err %.3g > tol %.3g (%zu values)\n", what, e, tol, n);
    } else if (getenv("SANA_TEST_VERBOSE")) {
        fprintf(stderr, "ok   %s: rel err %.3g <= %.3g\n", what, e, tol);
    }
    return ok;
}

void tu_fill_random(float *x, size_t n, uint64_t seed) {
    uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
    for (size_t i = 0; i < n; i++) {
        s ^= s >> 33;
        s *= 0xff51afd7ed558ccdull;
        s ^= s >> 29;
        x[i] = (float)((double)(s >> 11) / (double)(1ull << 53) * 2.0 - 1.0);
    }
}

const char *tu_fixtures_dir(void) {
    const char *e = getenv("SANA_FIXTURES_DIR");
    return e && *e ? e : SANA_FIXTURES_DIR;
}

const char *tu_shared_dir(void) {
    const char *e = getenv("SANA_SHARED_DIR");
    return e && *e ? e : SANA_SHARED_DIR;
}

const char *tu_path(const char *a, const char *b) {
    static char ring[8][4096];
    static int next = 0;
    char *buf = ring[next++ & 7];
    snprintf(buf, sizeof ring[0], "%s/%s", a, b);
    return buf;
}

int tu_finish(const char *name) {
    printf("%s: %d passed, %d failed\n", name, tu_checks - tu_failures, tu_failures);
    return tu_failures ? 1 : 0;
}

void tu_skip(const char *why) {
    printf("SKIP: %s\n", why);
    exit(77);
}
