/* The diffusers folder layout.
 *
 * A pipeline folder has model_index.json: {"_class_name": "SanaPipeline", "vae":
 * ["diffusers", "AutoencoderDC"], "text_encoder": ["transformers", "Gemma2Model"], ...}. Keys
 * starting with "_" are metadata; a component whose value is null (or [null, null]) is absent.
 * Every listed component must have its folder.
 *
 * A single component folder is recognised by what it holds: config.json with "_class_name" (a
 * diffusers model: transformer or vae), config.json with "architectures"/"model_type" (a
 * transformers text encoder), scheduler_config.json (a scheduler), tokenizer.json (a
 * tokenizer). */
#include "io/pipeline_dir.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/config.h"

typedef struct sn_component {
    char *name;   /* "transformer" */
    char *cls;    /* "SanaTransformer2DModel" */
    char *folder; /* path/transformer */
} sn_component;

struct sn_pipeline_dir {
    char *path;
    char *cls;
    int single;
    sn_component *comps;
    size_t ncomps;
};

static int sn_is_dir(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int sn_is_file(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

static char *sn_join(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s/%s", a, b);
    return s;
}

static sana_status sn_dir_add(sn_pipeline_dir *d, const char *name, const char *cls,
                              const char *folder) {
    sn_component *nc = realloc(d->comps, (d->ncomps + 1) * sizeof *nc);
    if (!nc) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory", d->path);
    d->comps = nc;
    sn_component *c = &d->comps[d->ncomps];
    c->name = strdup(name);
    c->cls = strdup(cls ? cls : "");
    c->folder = strdup(folder);
    d->ncomps++;
    if (!c->name || !c->cls || !c->folder)
        return sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory", d->path);
    return SANA_OK;
}

static sana_status sn_dir_pipeline(sn_pipeline_dir *d, const char *index_path) {
    sn_config *cfg;
    SN_TRY(sn_config_load(index_path, &cfg));
    const char *cls;
    sana_status s = sn_config_string(cfg, "_class_name", NULL, &cls);
    if (s == SANA_OK && !cls)
        s = sn_fail(SANA_ERR_FORMAT, "%s: key \"_class_name\" is missing", index_path);
    if (s == SANA_OK && !(d->cls = strdup(cls)))
        s = sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory", index_path);
    for (const cJSON *e = sn_config_json(cfg)->child; e && s == SANA_OK; e = e->next) {
        if (e->string[0] == '_' || !cJSON_IsArray(e)) continue; /* metadata, options */
        const cJSON *lib = cJSON_GetArrayItem(e, 0), *ccls = cJSON_GetArrayItem(e, 1);
        if (cJSON_GetArraySize(e) != 2 || !(cJSON_IsString(lib) || cJSON_IsNull(lib)) ||
            !(cJSON_IsString(ccls) || cJSON_IsNull(ccls))) {
            s = sn_fail(SANA_ERR_FORMAT,
                        "%s: component \"%s\" must be [\"library\", \"ClassName\"] or null",
                        index_path, e->string);
            break;
        }
        if (cJSON_IsNull(ccls)) continue; /* [null, null]: not part of this pipeline */
        if (strchr(e->string, '/') || strcmp(e->string, "..") == 0) {
            s = sn_fail(SANA_ERR_FORMAT, "%s: component name \"%s\" is not a folder name",
                        index_path, e->string);
            break;
        }
        char *folder = sn_join(d->path, e->string);
        if (!folder) {
            s = sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory", index_path);
            break;
        }
        if (!sn_is_dir(folder))
            s = sn_fail(SANA_ERR_NOT_FOUND,
                        "%s: component '%s' (%s) is listed in model_index.json but its folder %s "
                        "is missing",
                        d->path, e->string, ccls->valuestring, folder);
        else
            s = sn_dir_add(d, e->string, ccls->valuestring, folder);
        free(folder);
    }
    sn_config_free(cfg);
    return s;
}

/* Which component a lone folder is, from the files it holds. */
static sana_status sn_dir_single(sn_pipeline_dir *d) {
    char *cfg_path = sn_join(d->path, "config.json");
    char *sched_path = sn_join(d->path, "scheduler_config.json");
    char *tok_path = sn_join(d->path, "tokenizer.json");
    sn_config *cfg = NULL;
    const char *name = NULL, *cls = NULL;
    sana_status s = SANA_OK;
    if (!cfg_path || !sched_path || !tok_path) {
        s = sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory", d->path);
    } else if (sn_is_file(cfg_path)) {
        s = sn_config_load(cfg_path, &cfg);
        if (s == SANA_OK) s = sn_config_string(cfg, "_class_name", NULL, &cls);
        if (s == SANA_OK && cls) {
            /* diffusers models: SanaTransformer2DModel, AutoencoderDC, ... */
            name = strstr(cls, "Autoencoder") ? "vae" : "transformer";
        } else if (s == SANA_OK) {
            /* transformers models: {"architectures": ["Gemma2Model"], "model_type": "gemma2"} */
            const char *arch[1] = {NULL};
            int32_t n = 0;
            s = sn_config_string_array(cfg, "architectures", arch, 1, &n);
            if (s == SANA_OK && !n) s = sn_config_string(cfg, "model_type", NULL, &arch[0]);
            if (s == SANA_OK && !arch[0])
                s = sn_fail(SANA_ERR_FORMAT,
                            "%s: neither \"_class_name\" nor \"architectures\" says what model "
                            "this is",
                            cfg_path);
            name = "text_encoder";
            cls = arch[0];
        }
    } else if (sn_is_file(sched_path)) {
        s = sn_config_load(sched_path, &cfg);
        if (s == SANA_OK) s = sn_config_string(cfg, "_class_name", "", &cls);
        name = "scheduler";
    } else if (sn_is_file(tok_path)) {
        /* the class is in tokenizer_config.json when there is one */
        char *tc_path = sn_join(d->path, "tokenizer_config.json");
        name = "tokenizer";
        cls = "tokenizer.json";
        if (tc_path && sn_is_file(tc_path)) {
            s = sn_config_load(tc_path, &cfg);
            if (s == SANA_OK) s = sn_config_string(cfg, "tokenizer_class", cls, &cls);
        }
        free(tc_path);
    } else {
        s = sn_fail(SANA_ERR_NOT_FOUND,
                    "%s: not a model folder (no model_index.json, config.json, "
                    "scheduler_config.json or tokenizer.json)",
                    d->path);
    }
    if (s == SANA_OK) {
        d->single = 1;
        if (!(d->cls = strdup(cls)))
            s = sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory", d->path);
        else
            s = sn_dir_add(d, name, cls, d->path);
    }
    sn_config_free(cfg);
    free(cfg_path);
    free(sched_path);
    free(tok_path);
    return s;
}

sana_status sn_pipeline_dir_open(const char *path, sn_pipeline_dir **out) {
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0) return sn_fail(SANA_ERR_NOT_FOUND, "%s: no such folder", path);
    if (!S_ISDIR(sb.st_mode)) return sn_fail(SANA_ERR_NOT_FOUND, "%s: not a folder", path);
    sn_pipeline_dir *d = calloc(1, sizeof *d);
    if (!d || !(d->path = strdup(path))) {
        free(d);
        return sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    /* "a/b/" and "a/b" name the same folder; keep paths joined below tidy */
    size_t n = strlen(d->path);
    while (n > 1 && d->path[n - 1] == '/') d->path[--n] = '\0';
    char *index = sn_join(d->path, "model_index.json");
    sana_status s;
    if (!index)
        s = sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    else if (sn_is_file(index))
        s = sn_dir_pipeline(d, index);
    else
        s = sn_dir_single(d);
    free(index);
    if (s != SANA_OK) {
        sn_pipeline_dir_close(d);
        return s;
    }
    *out = d;
    return SANA_OK;
}

void sn_pipeline_dir_close(sn_pipeline_dir *d) {
    if (!d) return;
    for (size_t i = 0; i < d->ncomps; i++) {
        free(d->comps[i].name);
        free(d->comps[i].cls);
        free(d->comps[i].folder);
    }
    free(d->comps);
    free(d->cls);
    free(d->path);
    free(d);
}

const char *sn_pipeline_dir_path(const sn_pipeline_dir *d) { return d ? d->path : ""; }
const char *sn_pipeline_dir_class(const sn_pipeline_dir *d) { return d && d->cls ? d->cls : ""; }
int sn_pipeline_dir_is_single(const sn_pipeline_dir *d) { return d ? d->single : 0; }

static const sn_component *sn_dir_find(const sn_pipeline_dir *d, const char *name) {
    for (size_t i = 0; d && name && i < d->ncomps; i++)
        if (strcmp(d->comps[i].name, name) == 0) return &d->comps[i];
    return NULL;
}

const char *sn_pipeline_dir_component(const sn_pipeline_dir *d, const char *name) {
    const sn_component *c = sn_dir_find(d, name);
    return c ? c->folder : NULL;
}

const char *sn_pipeline_dir_component_class(const sn_pipeline_dir *d, const char *name) {
    const sn_component *c = sn_dir_find(d, name);
    return c ? c->cls : NULL;
}

size_t sn_pipeline_dir_count(const sn_pipeline_dir *d) { return d ? d->ncomps : 0; }

const char *sn_pipeline_dir_name_at(const sn_pipeline_dir *d, size_t i) {
    return d && i < d->ncomps ? d->comps[i].name : NULL;
}
