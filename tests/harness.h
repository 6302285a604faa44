/* A small test harness: checks that count failures, float comparisons, paths to fixtures. */
#ifndef SANA_TEST_HARNESS_H
#define SANA_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sana/sana.h"

extern int tu_failures;
extern int tu_checks;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        tu_checks++;                                                                               \
        if (!(cond)) {                                                                             \
            tu_failures++;                                                                         \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

/* A call that must succeed; prints the library's error text otherwise. */
#define CHECK_OK(expr)                                                                             \
    do {                                                                                           \
        sana_status tu_st_ = (expr);                                                               \
        CHECK(tu_st_ == SANA_OK, "%s -> %s (%s)", #expr, sana_status_string(tu_st_),               \
              tu_last_error());                                                                    \
    } while (0)

/* A call that must fail with `code`. */
#define CHECK_STATUS(expr, code)                                                                   \
    do {                                                                                           \
        sana_status tu_st_ = (expr);                                                               \
        CHECK(tu_st_ == (code), "%s -> %s, expected %s (%s)", #expr, sana_status_string(tu_st_),   \
              sana_status_string(code), tu_last_error());                                          \
    } while (0)

/* The internal thread-local error text (what sana_last_error() returns). */
const char *tu_last_error(void);

/* max|a-b| / max|b| (b the reference); 0 when both are all zero. NaN anywhere gives +inf. */
double tu_rel_err(const float *a, const float *b, size_t n);
/* Checks tu_rel_err <= tol and prints the figures either way when verbose. */
int tu_check_close(const char *what, const float *got, const float *ref, size_t n, double tol);

/* Deterministic pseudo-random floats in [-1, 1). */
void tu_fill_random(float *x, size_t n, uint64_t seed);

/* Paths: fixtures folder, shared folder; tu_path() joins into a static buffer ring. */
const char *tu_fixtures_dir(void);
const char *tu_shared_dir(void);
const char *tu_path(const char *a, const char *b);

/* Ends a test: prints "N passed, M failed" and returns the exit code. */
int tu_finish(const char *name);
/* Exits 77 (skip) with a reason. */
void tu_skip(const char *why);

#endif
