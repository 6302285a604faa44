/* Golden-case helpers shared by the text encoder and prompt tests: the case entry of
 * tests/fixtures/index.json, its recorded tolerance, and golden tensors read as float/int. */
#ifndef SANA_TEST_TEXT_GOLDEN_H
#define SANA_TEST_TEXT_GOLDEN_H

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "core/dtype.h"
#include "harness.h"
#include "io/config.h"
#include "io/safetensors.h"

/* The index (skips the test when the fixtures are absent). */
static inline sn_config *tg_index(void) {
    sn_config *c = NULL;
    const char *p = tu_path(tu_fixtures_dir(), "index.json");
    FILE *f = fopen(p, "rb");
    if (!f) tu_skip("no tests/fixtures/index.json");
    fclose(f);
    CHECK_OK(sn_config_load(p, &c));
    return c;
}

static inline const cJSON *tg_case(const sn_config *idx, const char *name) {
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(sn_config_json(idx), "cases");
    const cJSON *c;
    cJSON_ArrayForEach(c, cases) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(c, "name");
        if (cJSON_IsString(n) && !strcmp(n->valuestring, name)) return c;
    }
    CHECK(0, "case %s is not in index.json", name);
    return NULL;
}

/* The tolerance recorded for output `out` (or the case's overall one). */
static inline double tg_tolerance(const cJSON *c, const char *out) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c, "tolerances"), out);
    if (!cJSON_IsNumber(t)) t = cJSON_GetObjectItemCaseSensitive(c, "tolerance");
    return cJSON_IsNumber(t) ? t->valuedouble : 0.0;
}

static inline sn_safetensors *tg_open(const cJSON *c) {
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(c, "golden");
    sn_safetensors *st = NULL;
    if (!cJSON_IsString(g)) return NULL;
    CHECK_OK(sn_safetensors_open(tu_path(tu_fixtures_dir(), g->valuestring), &st));
    return st;
}

/* A golden tensor as malloc'd floats (any float or integer dtype); *n gets the count. */
static inline float *tg_floats(const sn_safetensors *st, const char *name, size_t *n) {
    const sn_st_tensor *t = st ? sn_safetensors_find(st, name) : NULL;
    CHECK(t != NULL, "golden tensor %s is missing", name);
    if (!t) return NULL;
    size_t k = (size_t)sn_st_numel(t);
    float *out = malloc((k ? k : 1) * sizeof(float));
    if (sn_convert_to_f32(t->dtype, t->data, out, (int64_t)k) != 0) {
        for (size_t i = 0; i < k; i++) {
            switch (t->dtype) {
            case SN_I64: out[i] = (float)((const int64_t *)t->data)[i]; break;
            case SN_I32: out[i] = (float)((const int32_t *)t->data)[i]; break;
            case SN_U8: out[i] = (float)((const uint8_t *)t->data)[i]; break;
            default: out[i] = 0; CHECK(0, "golden %s: dtype %s", name, sn_dtype_name(t->dtype));
            }
        }
    }
    if (n) *n = k;
    return out;
}

static inline int32_t *tg_ints(const sn_safetensors *st, const char *name, size_t *n) {
    size_t k = 0;
    float *f = tg_floats(st, name, &k);
    if (!f) return NULL;
    int32_t *out = malloc((k ? k : 1) * sizeof(int32_t));
    for (size_t i = 0; i < k; i++) out[i] = (int32_t)f[i];
    free(f);
    if (n) *n = k;
    return out;
}

static inline const sn_st_tensor *tg_tensor(const sn_safetensors *st, const char *name) {
    const sn_st_tensor *t = st ? sn_safetensors_find(st, name) : NULL;
    CHECK(t != NULL, "golden tensor %s is missing", name);
    return t;
}

#endif
