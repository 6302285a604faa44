/* config.json through cJSON. Getters take the reference's default for a missing (or null) key
 * and refuse a present key of the wrong type, naming the key and the file. */
#include "io/config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct sn_config {
    char *path;
    cJSON *root;
};

/* Reads a whole (small) file into a NUL-terminated buffer. */
static sana_status sn_config_read_file(const char *path, char **text, size_t *len) {
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return sn_fail(SANA_ERR_IO, "%s: is a folder, not a file", path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return sn_fail(errno == ENOENT ? SANA_ERR_NOT_FOUND : SANA_ERR_IO, "%s: cannot open: %s",
                       path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1) break;
        if (cap > ((size_t)1 << 30)) {
            free(buf);
            fclose(f);
            return sn_fail(SANA_ERR_FORMAT, "%s: larger than 1 GiB; not a config file", path);
        }
        char *nb = realloc(buf, cap * 2);
        if (!nb) free(buf);
        buf = nb;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (!buf) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    if (err) {
        free(buf);
        return sn_fail(SANA_ERR_IO, "%s: read error", path);
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return SANA_OK;
}

/* Python's json module writes the non-standard literals Infinity, -Infinity and NaN (diffusers'
 * DPMSolverMultistepScheduler config has "lambda_min_clipped": -Infinity). cJSON refuses them,
 * so a copy is made with Infinity -> 1e999 (which parses to inf) and NaN -> null (the key's
 * default). Returns NULL (and *copy NULL) when the text has none, so it is used as is. */
static char *sn_config_python_literals(const char *text, size_t len, size_t *copy_len) {
    int in_str = 0, found = 0;
    for (size_t i = 0; i < len && !found; i++) {
        char ch = text[i];
        if (in_str) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_str = 0;
        } else if (ch == '"') {
            in_str = 1;
        } else {
            found = ch == 'I' || ch == 'N';
        }
    }
    if (!found) return NULL;
    char *out = malloc(len + len / 2 + 1); /* "NaN" -> "null" grows by at most a third */
    if (!out) return NULL;
    size_t o = 0;
    in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = text[i];
        if (in_str) {
            if (ch == '\\' && i + 1 < len) {
                out[o++] = ch;
                ch = text[++i];
            } else if (ch == '"') {
                in_str = 0;
            }
        } else if (ch == '"') {
            in_str = 1;
        } else if (ch == 'I' && len - i >= 8 && memcmp(text + i, "Infinity", 8) == 0) {
            memcpy(out + o, "1e999", 5);
            o += 5;
            i += 7;
            continue;
        } else if (ch == 'N' && len - i >= 3 && memcmp(text + i, "NaN", 3) == 0) {
            memcpy(out + o, "null", 4);
            o += 4;
            i += 2;
            continue;
        }
        out[o++] = ch;
    }
    out[o] = '\0';
    *copy_len = o;
    return out;
}

static sana_status sn_config_parse_json(const char *text, size_t len, const char *origin,
                                        sn_config **out) {
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        /* cJSON points at where parsing stopped: give the line number */
        int line = 1;
        if (end && end >= text && end <= text + len)
            for (const char *p = text; p < end; p++) line += *p == '\n';
        return sn_fail(SANA_ERR_FORMAT, "%s: invalid JSON (near line %d)", origin, line);
    }
    /* only whitespace may follow the value */
    for (const char *p = end; p && p < text + len && *p; p++)
        if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t') {
            cJSON_Delete(root);
            return sn_fail(SANA_ERR_FORMAT, "%s: invalid JSON (text after the end)", origin);
        }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return sn_fail(SANA_ERR_FORMAT, "%s: not a JSON object", origin);
    }
    sn_config *c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(origin))) {
        free(c);
        cJSON_Delete(root);
        return sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory", origin);
    }
    c->root = root;
    *out = c;
    return SANA_OK;
}

sana_status sn_config_parse(const char *text, size_t len, const char *origin, sn_config **out) {
    *out = NULL;
    size_t copy_len = 0;
    char *copy = sn_config_python_literals(text, len, &copy_len);
    sana_status s = copy ? sn_config_parse_json(copy, copy_len, origin, out)
                         : sn_config_parse_json(text, len, origin, out);
    free(copy);
    return s;
}

sana_status sn_config_load(const char *path, sn_config **out) {
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    SN_TRY(sn_config_read_file(path, &text, &len));
    sana_status s = sn_config_parse(text, len, path, out);
    free(text);
    return s;
}

void sn_config_free(sn_config *c) {
    if (!c) return;
    cJSON_Delete(c->root);
    free(c->path);
    free(c);
}

const char *sn_config_path(const sn_config *c) { return c ? c->path : ""; }
const cJSON *sn_config_json(const sn_config *c) { return c ? c->root : NULL; }

/* The value of `key`, or NULL when missing or null. */
static const cJSON *sn_config_item(const sn_config *c, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->root, key);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

int sn_config_has(const sn_config *c, const char *key) { return c && sn_config_item(c, key); }

static sana_status sn_config_wrong(const sn_config *c, const char *key, const char *want) {
    return sn_fail(SANA_ERR_FORMAT, "%s: key \"%s\" must be %s", c->path, key, want);
}

/* An integral JSON number within int64 range. */
static int sn_json_int(const cJSON *v, int64_t *out) {
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != floor(d)) return 0;
    *out = (int64_t)d;
    return 1;
}

sana_status sn_config_int(const sn_config *c, const char *key, int64_t def, int64_t *out) {
    const cJSON *v = sn_config_item(c, key);
    if (!v) {
        *out = def;
        return SANA_OK;
    }
    if (!sn_json_int(v, out)) return sn_config_wrong(c, key, "an integer");
    return SANA_OK;
}

sana_status sn_config_float(const sn_config *c, const char *key, double def, double *out) {
    const cJSON *v = sn_config_item(c, key);
    if (!v) {
        *out = def;
        return SANA_OK;
    }
    if (!cJSON_IsNumber(v)) return sn_config_wrong(c, key, "a number");
    *out = v->valuedouble;
    return SANA_OK;
}

sana_status sn_config_finite(const sn_config *c, const char *key, double def, double *out) {
    SN_TRY(sn_config_float(c, key, def, out));
    if (!isfinite(*out)) return sn_config_wrong(c, key, "a finite number");
    return SANA_OK;
}

sana_status sn_config_positive(const sn_config *c, const char *key, double def, double *out) {
    SN_TRY(sn_config_finite(c, key, def, out));
    const float f = (float)*out; /* the readers compute in float32 */
    if (!(f > 0.0f) || !isfinite(f)) return sn_config_wrong(c, key, "a number > 0 within float range");
    return SANA_OK;
}

sana_status sn_config_bool(const sn_config *c, const char *key, int def, int *out) {
    const cJSON *v = sn_config_item(c, key);
    if (!v) {
        *out = def;
        return SANA_OK;
    }
    if (!cJSON_IsBool(v)) return sn_config_wrong(c, key, "true or false");
    *out = cJSON_IsTrue(v) ? 1 : 0;
    return SANA_OK;
}

sana_status sn_config_string(const sn_config *c, const char *key, const char *def,
                             const char **out) {
    const cJSON *v = sn_config_item(c, key);
    if (!v) {
        *out = def;
        return SANA_OK;
    }
    if (!cJSON_IsString(v)) return sn_config_wrong(c, key, "a string");
    *out = v->valuestring;
    return SANA_OK;
}

/* Walks an array (or a lone scalar as an array of one): calls `take` per element. */
typedef int (*sn_take_fn)(const cJSON *v, void *out, int32_t i);

static sana_status sn_config_array(const sn_config *c, const char *key, void *out, int32_t cap,
                                   int32_t *n, sn_take_fn take, const char *want) {
    *n = 0;
    const cJSON *v = sn_config_item(c, key);
    if (!v) return SANA_OK;
    if (!cJSON_IsArray(v)) {
        if (cap < 1) return sn_fail(SANA_ERR_FORMAT, "%s: key \"%s\" has more than %d values",
                                    c->path, key, cap);
        if (!take(v, out, 0)) return sn_config_wrong(c, key, want);
        *n = 1;
        return SANA_OK;
    }
    int size = cJSON_GetArraySize(v);
    if (size > cap)
        return sn_fail(SANA_ERR_FORMAT, "%s: key \"%s\" has %d values, at most %d expected",
                       c->path, key, size, cap);
    int32_t i = 0;
    for (const cJSON *x = v->child; x; x = x->next, i++)
        if (!take(x, out, i)) return sn_config_wrong(c, key, want);
    *n = i;
    return SANA_OK;
}

static int sn_take_int(const cJSON *v, void *out, int32_t i) {
    return sn_json_int(v, &((int64_t *)out)[i]);
}
static int sn_take_float(const cJSON *v, void *out, int32_t i) {
    if (!cJSON_IsNumber(v)) return 0;
    ((double *)out)[i] = v->valuedouble;
    return 1;
}
static int sn_take_string(const cJSON *v, void *out, int32_t i) {
    if (!cJSON_IsString(v)) return 0;
    ((const char **)out)[i] = v->valuestring;
    return 1;
}

sana_status sn_config_int_array(const sn_config *c, const char *key, int64_t *out, int32_t cap,
                                int32_t *n) {
    return sn_config_array(c, key, out, cap, n, sn_take_int, "an integer or an array of integers");
}

sana_status sn_config_float_array(const sn_config *c, const char *key, double *out, int32_t cap,
                                  int32_t *n) {
    return sn_config_array(c, key, out, cap, n, sn_take_float, "a number or an array of numbers");
}

sana_status sn_config_string_array(const sn_config *c, const char *key, const char **out,
                                   int32_t cap, int32_t *n) {
    return sn_config_array(c, key, (void *)out, cap, n, sn_take_string,
                           "a string or an array of strings");
}
