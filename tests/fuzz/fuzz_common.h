/* Shared by the fuzz targets: a scratch folder for targets whose parser takes a path, and the
 * check every target makes on a failure (the library's rule: bad input gets a clear error).
 *
 * Each target is one LLVMFuzzerTestOneInput. Built with -DSANA_FUZZ=ON (clang) it links
 * libFuzzer; in every build it also links fuzz_replay.c, a main() that feeds it each file of a
 * corpus folder, which is how ctest replays tests/fuzz/corpus/<target>/. */
#ifndef SANA_FUZZ_COMMON_H
#define SANA_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>

#include "core/error.h"
#include "encoder/tokenizer.h"
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Log messages are formatted (every level: a bad format argument would show) and dropped: the
 * fuzzer's output stays readable and fast. Called first by every target. */
static inline void fz_log_drop(sana_log_level level, const char *message, void *user_data) {
    (void)level, (void)user_data;
    volatile size_t n = strlen(message);
    (void)n;
}
static inline void fz_quiet(void) { sana_log_set_default(fz_log_drop, NULL, SANA_LOG_DEBUG); }

/* The target's scratch folder: made once per process (every input reuses it), removed at exit. */
static inline const char *fz_dir(void) {
    static const char *dir;
    if (!dir) dir = tu_temp_dir();
    return dir;
}

/* "a/b" into `out` (FZ_PATH_MAX bytes). */
#define FZ_PATH_MAX 4096
static inline const char *fz_join(char *out, const char *a, const char *b) {
    int n = snprintf(out, FZ_PATH_MAX, "%s/%s", a, b);
    if (n < 0 || n >= FZ_PATH_MAX) abort(); /* a scratch path that long: a broken run */
    return out;
}

/* Makes a folder (once; an existing one is fine). */
static inline void fz_mkdir(const char *path) {
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "fuzz: cannot make %s\n", path);
        abort();
    }
}

/* Writes the input to `path`; aborts when it cannot (a broken run, not a finding). */
static inline void fz_write(const char *path, const uint8_t *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        fprintf(stderr, "fuzz: cannot write %s\n", path);
        abort();
    }
}

/* A failing call must say why: a status naming an input problem (SANA_ERR_INTERNAL is a bug by
 * its own definition) and a non-empty message. Either is a finding (the caller would get nothing
 * to act on), so it aborts. */
static inline void fz_check_failure(sana_status s, const char *what) {
    if (s == SANA_OK) return;
    const char *msg = sn_error_text();
    if (getenv("SANA_FUZZ_VERBOSE")) fprintf(stderr, "fuzz: %s: %s\n", what, msg ? msg : "");
    if ((int)s < 0 || (int)s >= (int)SANA_ERR_INTERNAL || !msg || !msg[0]) {
        fprintf(stderr, "fuzz: %s failed with status %d (%s)\n", what, (int)s, msg ? msg : "");
        abort();
    }
}

/* A NUL-terminated copy of the input (for parsers that take C strings). */
static inline char *fz_cstr(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* The real Gemma-2 tokenizer (the fixture's copy), loaded once per process. */
static inline const sn_tokenizer *fz_gemma_tokenizer(void) {
    static sn_tokenizer *tok;
    if (!tok) {
        const char *dir = tu_path(tu_fixtures_dir(), "sana_tiny/tokenizer");
        if (sn_tokenizer_load(dir, &tok) != SANA_OK) {
            fprintf(stderr, "fuzz: cannot load %s: %s\n", dir, sn_error_text());
            abort();
        }
    }
    return tok;
}

#endif
