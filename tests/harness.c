#include "harness.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/dtype.h"
#include "core/error.h"
#include "io/config.h"
#include "io/safetensors.h"

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

sana_model *tu_fixture_model(sana_context *ctx, const char *name) {
    sana_model *m = NULL;
    if (sana_model_load(ctx, tu_path(tu_fixtures_dir(), name), NULL, &m) != SANA_OK)
        printf("note: %s does not load: %s\n", name, sana_context_last_error(ctx));
    return m;
}

/* === Files for tests, golden fixtures (io section) ========================================== */

static char *tu_temp_dirs[32];
static int tu_n_temp_dirs;

static void tu_remove_tree(const char *path) {
    struct stat sb;
    if (lstat(path, &sb) != 0) return;
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            char sub[4096];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            tu_remove_tree(sub);
        }
        if (d) closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void tu_remove_temp_dirs(void) {
    for (int i = 0; i < tu_n_temp_dirs; i++) {
        if (!getenv("SANA_TEST_KEEP")) tu_remove_tree(tu_temp_dirs[i]);
        free(tu_temp_dirs[i]);
    }
    tu_n_temp_dirs = 0;
}

const char *tu_temp_dir(void) {
    /* $TMPDIR, else memory-backed /dev/shm (test files are small; /tmp may be a slow disk) */
    const char *base = getenv("TMPDIR");
    if (!base || !*base) base = access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp";
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/sana-test-XXXXXX", base);
    if (tu_n_temp_dirs == (int)(sizeof tu_temp_dirs / sizeof *tu_temp_dirs) || !mkdtemp(tmpl)) {
        fprintf(stderr, "tu_temp_dir: cannot create %s\n", tmpl);
        exit(1);
    }
    if (tu_n_temp_dirs == 0) atexit(tu_remove_temp_dirs);
    tu_temp_dirs[tu_n_temp_dirs] = strdup(tmpl);
    return tu_temp_dirs[tu_n_temp_dirs++];
}

int tu_write_file(const char *path, const void *bytes, size_t n) {
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(bytes, 1, n, f) == n;
    if (f && fclose(f) != 0) ok = 0;
    CHECK(ok, "cannot write %s", path);
    return ok ? 0 : -1;
}

int tu_write_safetensors(const char *path, const char *header_json, const void *data, size_t n) {
    size_t hlen = strlen(header_json), padded = (hlen + 7) / 8 * 8;
    size_t total = 8 + padded + n;
    unsigned char *buf = malloc(total ? total : 1);
    if (!buf) return -1;
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    memcpy(buf + 8, header_json, hlen);
    memset(buf + 8 + hlen, ' ', padded - hlen);
    if (n) memcpy(buf + 8 + padded, data, n);
    int r = tu_write_file(path, buf, total);
    free(buf);
    return r;
}

static sn_config *tu_index;
static tu_case *tu_cases;
static int tu_n_cases = -1; /* -1: not loaded; -2: no index.json */

static void tu_index_free(void) {
    sn_config_free(tu_index);
    free(tu_cases);
}

static const char *tu_json_str(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Loads index.json once (through sn_config, which also takes Python's NaN/Infinity); returns 0,
 * or -1 when there are no fixtures. A malformed index exits. */
static int tu_index_load(void) {
    if (tu_n_cases >= 0) return 0;
    if (tu_n_cases == -2) return -1;
    const char *path = tu_path(tu_fixtures_dir(), "index.json");
    struct stat sb;
    if (stat(path, &sb) != 0) {
        tu_n_cases = -2;
        return -1;
    }
    if (sn_config_load(path, &tu_index) != SANA_OK) {
        fprintf(stderr, "%s\n", tu_last_error());
        exit(1);
    }
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(sn_config_json(tu_index), "cases");
    if (!cJSON_IsArray(cases)) {
        fprintf(stderr, "%s: not a fixtures index (no \"cases\" array)\n", path);
        exit(1);
    }
    int count = cJSON_GetArraySize(cases), i = 0;
    tu_cases = calloc(count ? (size_t)count : 1, sizeof *tu_cases);
    if (!tu_cases) exit(1);
    for (const cJSON *c = cases->child; c; c = c->next, i++) {
        tu_case *t = &tu_cases[i];
        t->name = tu_json_str(c, "name");
        t->kind = tu_json_str(c, "kind");
        t->model = tu_json_str(c, "model");
        t->golden = tu_json_str(c, "golden");
        const cJSON *tol = cJSON_GetObjectItemCaseSensitive(c, "tolerance");
        t->tolerance = cJSON_IsNumber(tol) ? tol->valuedouble : 0.0;
        t->json = c;
        if (!t->name) t->name = "";
        if (!t->kind) t->kind = "";
    }
    tu_n_cases = count;
    atexit(tu_index_free);
    return 0;
}

const tu_case *tu_case_find(const char *name) {
    if (tu_index_load() != 0) return NULL;
    for (int i = 0; i < tu_n_cases; i++)
        if (strcmp(tu_cases[i].name, name) == 0) return &tu_cases[i];
    return NULL;
}

const tu_case *tu_case_require(const char *name) {
    if (tu_index_load() != 0) tu_skip("no fixtures (tests/fixtures/index.json)");
    const tu_case *c = tu_case_find(name);
    if (!c) {
        fprintf(stderr, "fixtures index.json has no case \"%s\"\n", name);
        exit(1);
    }
    return c;
}

int tu_cases_of_kind(const char *kind, const tu_case **out, int cap) {
    if (tu_index_load() != 0) return 0;
    int n = 0;
    for (int i = 0; i < tu_n_cases; i++)
        if (strcmp(tu_cases[i].kind, kind) == 0) {
            if (n < cap) out[n] = &tu_cases[i];
            n++;
        }
    return n;
}

const char *tu_case_model_dir(const tu_case *c) {
    return c && c->model ? tu_path(tu_fixtures_dir(), c->model) : NULL;
}

double tu_case_tol(const tu_case *c, const char *output) {
    const cJSON *m = cJSON_GetObjectItemCaseSensitive((const cJSON *)c->json, "tolerances");
    const cJSON *t = output ? cJSON_GetObjectItemCaseSensitive(m, output) : NULL;
    return cJSON_IsNumber(t) ? t->valuedouble : c->tolerance;
}

const void *tu_param_json(const tu_case *c, const char *key) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive((const cJSON *)c->json, "params");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, key);
    return cJSON_IsNull(v) ? NULL : v;
}

double tu_param_num(const tu_case *c, const char *key, double def) {
    const cJSON *v = tu_param_json(c, key);
    if (!v) return def;
    CHECK(cJSON_IsNumber(v), "case %s: param %s is not a number", c->name, key);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

const char *tu_param_str(const tu_case *c, const char *key, const char *def) {
    const cJSON *v = tu_param_json(c, key);
    if (!v) return def;
    CHECK(cJSON_IsString(v), "case %s: param %s is not a string", c->name, key);
    return cJSON_IsString(v) ? v->valuestring : def;
}

int tu_param_bool(const tu_case *c, const char *key, int def) {
    const cJSON *v = tu_param_json(c, key);
    if (!v) return def;
    CHECK(cJSON_IsBool(v), "case %s: param %s is not a bool", c->name, key);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

int tu_param_nums(const tu_case *c, const char *key, double *out, int cap) {
    const cJSON *v = tu_param_json(c, key);
    if (!v) return -1;
    if (cJSON_IsNumber(v)) {
        if (cap > 0) out[0] = v->valuedouble;
        return 1;
    }
    CHECK(cJSON_IsArray(v), "case %s: param %s is not a number array", c->name, key);
    int n = 0;
    for (const cJSON *x = cJSON_IsArray(v) ? v->child : NULL; x; x = x->next, n++) {
        CHECK(cJSON_IsNumber(x), "case %s: param %s[%d] is not a number", c->name, key, n);
        if (n < cap) out[n] = cJSON_IsNumber(x) ? x->valuedouble : 0.0;
    }
    return n;
}

int tu_read_tensor(const char *path, const char *name, tu_tensor *out) {
    memset(out, 0, sizeof *out);
    sn_safetensors *st;
    sana_status s = sn_safetensors_open(path, &st);
    CHECK(s == SANA_OK, "%s", tu_last_error());
    if (s != SANA_OK) return -1;
    const sn_st_tensor *t = sn_safetensors_find(st, name);
    CHECK(t != NULL, "%s: no tensor '%s'", path, name);
    int r = -1;
    if (t) {
        out->ndim = t->ndim;
        for (int d = 0; d < t->ndim; d++) out->shape[d] = t->shape[d];
        out->n = (size_t)sn_st_numel(t);
        /* an aligned copy of the bytes first: the data section need not be aligned */
        void *raw = malloc(t->nbytes ? t->nbytes : 1);
        size_t n = out->n ? out->n : 1;
        if (raw) memcpy(raw, t->data, t->nbytes);
        if (t->dtype == SN_F32 || t->dtype == SN_F16 || t->dtype == SN_BF16 ||
            t->dtype == SN_F64) {
            out->f = malloc(n * sizeof *out->f);
            if (raw && out->f) r = sn_convert_to_f32(t->dtype, raw, out->f, (int64_t)out->n);
        } else {
            out->i = malloc(n * sizeof *out->i);
            if (raw && out->i) {
                r = 0;
                for (size_t k = 0; k < out->n; k++) {
                    switch (t->dtype) {
                    case SN_I64: out->i[k] = ((const int64_t *)raw)[k]; break;
                    case SN_I32: out->i[k] = ((const int32_t *)raw)[k]; break;
                    case SN_I16: out->i[k] = ((const int16_t *)raw)[k]; break;
                    case SN_I8: out->i[k] = ((const int8_t *)raw)[k]; break;
                    default: out->i[k] = ((const uint8_t *)raw)[k]; break; /* U8, BOOL */
                    }
                }
            }
            if (t->dtype == SN_U8) {
                out->text = malloc(out->n + 1);
                if (out->text) {
                    memcpy(out->text, raw ? raw : "", raw ? out->n : 0);
                    out->text[raw ? out->n : 0] = '\0';
                } else {
                    r = -1;
                }
            }
        }
        free(raw);
        CHECK(r == 0, "%s: tensor '%s': out of memory", path, name);
    }
    sn_safetensors_close(st);
    if (r != 0) tu_tensor_free(out);
    return r;
}

int tu_golden(const tu_case *c, const char *name, tu_tensor *out) {
    memset(out, 0, sizeof *out);
    CHECK(c && c->golden, "case %s has no golden file", c ? c->name : "(null)");
    if (!c || !c->golden) return -1;
    return tu_read_tensor(tu_path(tu_fixtures_dir(), c->golden), name, out);
}

void tu_tensor_free(tu_tensor *t) {
    if (!t) return;
    free(t->f);
    free(t->i);
    free(t->text);
    memset(t, 0, sizeof *t);
}
