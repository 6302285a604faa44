/* config.json files (cJSON), with typed getters: a missing (or null) key takes the caller's
 * default (the reference's), a key of the wrong type is SANA_ERR_FORMAT naming the key and the
 * file. Python's json literals Infinity/-Infinity (as diffusers writes them) read as +-inf, NaN
 * as null. Corrupt JSON or a root that is not an object: SANA_ERR_FORMAT naming the file; a
 * missing file: SANA_ERR_NOT_FOUND. */
#ifndef SN_IO_CONFIG_H
#define SN_IO_CONFIG_H

#include <stdint.h>

#include "core/error.h"

typedef struct cJSON cJSON;
typedef struct sn_config sn_config;

sana_status sn_config_load(const char *path, sn_config **out);
/* Parses JSON text held in memory; `origin` names it in errors. */
sana_status sn_config_parse(const char *text, size_t len, const char *origin, sn_config **out);
void sn_config_free(sn_config *c);

const char *sn_config_path(const sn_config *c);
const cJSON *sn_config_json(const sn_config *c); /* the root object */
int sn_config_has(const sn_config *c, const char *key); /* present and not null */

sana_status sn_config_int(const sn_config *c, const char *key, int64_t def, int64_t *out);
sana_status sn_config_float(const sn_config *c, const char *key, double def, double *out);
/* sn_config_float for a model quantity: a present value that is not finite (1e999, or
 * Python's Infinity, which the parser reads as inf) is SANA_ERR_FORMAT naming the key, since
 * it would load and then make every output NaN. */
sana_status sn_config_finite(const sn_config *c, const char *key, double def, double *out);
/* A scale or shift: finite and > 0 also once rounded to float (0, a negative or a value past
 * float range would make the values computed from it inf or NaN). */
sana_status sn_config_positive(const sn_config *c, const char *key, double def, double *out);
sana_status sn_config_bool(const sn_config *c, const char *key, int def, int *out);
/* *out points into the config (valid while it lives), or is `def`. */
sana_status sn_config_string(const sn_config *c, const char *key, const char *def,
                             const char **out);
/* An array of numbers (a scalar is taken as an array of one). *n gets the count; more than
 * `cap` is SANA_ERR_FORMAT. A missing key leaves *n = 0. */
sana_status sn_config_int_array(const sn_config *c, const char *key, int64_t *out, int32_t cap,
                                int32_t *n);
sana_status sn_config_float_array(const sn_config *c, const char *key, double *out, int32_t cap,
                                  int32_t *n);
/* An array of strings; pointers into the config. */
sana_status sn_config_string_array(const sn_config *c, const char *key, const char **out,
                                   int32_t cap, int32_t *n);

#endif
