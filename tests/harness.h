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

/* A pipeline folder of tests/fixtures (e.g. "sana_tiny") loaded whole on ctx; NULL, with a note
 * saying why, when it does not load here. */
sana_model *tu_fixture_model(sana_context *ctx, const char *name);

/* === Files for tests (io section) ============================================================
 * Bad-input tests write their files themselves, into a fresh temporary folder. */

/* A new empty folder under $TMPDIR (else /dev/shm, else /tmp), removed with everything in it at
 * exit (kept when SANA_TEST_KEEP is set). */
const char *tu_temp_dir(void);
/* Writes `n` bytes to `path`; returns 0 (a failed write counts as a failed check). */
int tu_write_file(const char *path, const void *bytes, size_t n);
/* Writes a safetensors file: the 8-byte length, `header_json` padded with spaces to a multiple
 * of 8 bytes, then `n` bytes of data. Returns 0 (a failure counts as a failed check). */
int tu_write_safetensors(const char *path, const char *header_json, const void *data, size_t n);

/* === Golden fixtures (io section) ============================================================
 * tests/fixtures/index.json, written by tests/reference (the oracle):
 *   {"format": 1, "files": {path: sha256}, "cases": [{"name", "kind", "model", "golden",
 *    "inputs": [...], "outputs": [...], "params": {...}, "tolerance", "tolerances": {out: tol}}]}
 * Each case's golden is a safetensors file holding its inputs and outputs by name.
 *
 *   const tu_case *c = tu_case_require("dit/sana_base");   // skips when there are no fixtures
 *   tu_tensor x; tu_golden(c, "hidden_states", &x);         // x.f: floats, x.shape, x.n
 *   tu_check_close("dit out", got, y.f, y.n, tu_case_tol(c, "out"));
 *   tu_tensor_free(&x);
 */

typedef struct tu_case {
    const char *name;   /* "dit/sana_base" */
    const char *kind;   /* "dit", "dcae_decode", "tokenizer", ... */
    const char *model;  /* model folder relative to the fixtures ("sana_tiny/vae"), or NULL */
    const char *golden; /* golden file relative to the fixtures */
    double tolerance;   /* the case's overall tolerance (max of the per-output ones) */
    const void *json;   /* the case's cJSON object (cast to const cJSON *) */
} tu_case;

/* The case named `name`, or NULL when the fixtures or the case are absent. */
const tu_case *tu_case_find(const char *name);
/* Same, but exits 77 (skip) when the fixtures are not there at all, and fails (exits 1) when
 * index.json exists but has no such case. */
const tu_case *tu_case_require(const char *name);
/* Up to `cap` cases of `kind` into out[]; returns how many there are (may exceed cap). */
int tu_cases_of_kind(const char *kind, const tu_case **out, int cap);

/* Absolute path of the case's model folder (NULL when it has none). */
const char *tu_case_model_dir(const tu_case *c);
/* The tolerance for output `output` ("tolerances" map), else the case's overall tolerance. */
double tu_case_tol(const tu_case *c, const char *output);
/* params: a missing (or null) key gives `def`; the wrong type is a failed check and `def`. */
double tu_param_num(const tu_case *c, const char *key, double def);
const char *tu_param_str(const tu_case *c, const char *key, const char *def);
int tu_param_bool(const tu_case *c, const char *key, int def);
/* A number array (or one number): fills up to cap; returns the count, -1 when missing. */
int tu_param_nums(const tu_case *c, const char *key, double *out, int cap);
/* The params value itself (a const cJSON *, NULL when missing), for nested objects. */
const void *tu_param_json(const tu_case *c, const char *key);

/* A tensor of a golden file, copied out: float dtypes (F32/F16/BF16/F64) into `f`, integer and
 * bool dtypes into `i` (int64); the other pointer is NULL. U8 tensors also get `text`, their
 * bytes with a NUL after them (the oracle stores strings as UTF-8 bytes). */
typedef struct tu_tensor {
    int32_t ndim;
    int64_t shape[8];
    size_t n;      /* number of elements */
    float *f;      /* float tensors */
    int64_t *i;    /* integer tensors */
    char *text;    /* U8 tensors */
} tu_tensor;

/* Reads tensor `name` of the case's golden. Returns 0; a missing file or tensor is a failed
 * check (with the reason printed) and returns -1 with *out zeroed. */
int tu_golden(const tu_case *c, const char *name, tu_tensor *out);
/* Same for any safetensors file. */
int tu_read_tensor(const char *path, const char *name, tu_tensor *out);
void tu_tensor_free(tu_tensor *t);

#endif
