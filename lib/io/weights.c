/* The weights of one component folder: one safetensors file, or shards named by an index file's
 * "weight_map", all opened at once and seen as a single name -> tensor table.
 *
 * File names, as the reference packages write them (variant "fp16" shown):
 *   diffusers:    diffusion_pytorch_model[.fp16].safetensors
 *                 diffusion_pytorch_model.safetensors.index[.fp16].json
 *                   -> diffusion_pytorch_model[.fp16]-00001-of-00002.safetensors
 *   transformers: model[.fp16].safetensors
 *                 model.safetensors.index[.fp16].json -> model[.fp16]-00001-of-00002.safetensors
 * Older diffusers releases put the variant elsewhere in the index name
 * (diffusion_pytorch_model.fp16.safetensors.index.json), so those spellings are accepted too.
 * The shard names themselves are always read from the index. */
#include "io/weights.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "io/config.h"

struct sn_weights {
    char *dir;
    sn_safetensors **files;
    char **paths; /* path of each file */
    char *index;  /* the index file, or NULL */
    size_t nfiles;
    const sn_st_tensor **tensors; /* every tensor of every file, sorted by name */
    size_t count;
    int64_t params;
};

static int sn_is_file(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int sn_cmp_tensor_name(const void *a, const void *b) {
    return strcmp((*(const sn_st_tensor *const *)a)->name, (*(const sn_st_tensor *const *)b)->name);
}

/* Opens `path` unless it is open already. */
static sana_status sn_weights_add_file(sn_weights *w, const char *path) {
    for (size_t i = 0; i < w->nfiles; i++)
        if (strcmp(w->paths[i], path) == 0) return SANA_OK;
    sn_safetensors **nf = realloc(w->files, (w->nfiles + 1) * sizeof *nf);
    if (nf) w->files = nf;
    char **np = nf ? realloc(w->paths, (w->nfiles + 1) * sizeof *np) : NULL;
    if (np) w->paths = np;
    if (!nf || !np || !(w->paths[w->nfiles] = strdup(path)))
        return sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    sana_status s = sn_safetensors_open(path, &w->files[w->nfiles]);
    if (s != SANA_OK) {
        free(w->paths[w->nfiles]);
        return s;
    }
    w->nfiles++;
    return SANA_OK;
}

/* Builds the sorted name table over every open file; a name in two files is an error. */
static sana_status sn_weights_index_tensors(sn_weights *w) {
    size_t n = 0;
    for (size_t f = 0; f < w->nfiles; f++) n += sn_safetensors_count(w->files[f]);
    w->tensors = calloc(n ? n : 1, sizeof *w->tensors);
    if (!w->tensors) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory", w->dir);
    for (size_t f = 0; f < w->nfiles; f++)
        for (size_t i = 0; i < sn_safetensors_count(w->files[f]); i++) {
            const sn_st_tensor *t = sn_safetensors_at(w->files[f], i);
            w->tensors[w->count++] = t;
            w->params += sn_st_numel(t);
        }
    qsort(w->tensors, w->count, sizeof *w->tensors, sn_cmp_tensor_name);
    for (size_t i = 1; i < w->count; i++)
        if (strcmp(w->tensors[i - 1]->name, w->tensors[i]->name) == 0)
            return sn_fail(SANA_ERR_FORMAT, "%s: tensor '%s' is in both %s and %s", w->dir,
                           w->tensors[i]->name, w->tensors[i - 1]->file, w->tensors[i]->file);
    return SANA_OK;
}

/* Opens every shard the index names; then checks that each tensor is where it says. */
static sana_status sn_weights_open_index(sn_weights *w, const char *index_path) {
    sn_config *idx;
    SN_TRY(sn_config_load(index_path, &idx));
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(sn_config_json(idx), "weight_map");
    sana_status s = SANA_OK;
    if (!cJSON_IsObject(map))
        s = sn_fail(SANA_ERR_FORMAT, "%s: key \"weight_map\" must be an object", index_path);
    char path[4096];
    for (const cJSON *e = map ? map->child : NULL; e && s == SANA_OK; e = e->next) {
        const char *shard = cJSON_IsString(e) ? e->valuestring : "";
        if (!*shard || strchr(shard, '/') || strcmp(shard, "..") == 0) {
            s = sn_fail(SANA_ERR_FORMAT, "%s: tensor '%s': shard must be a plain file name",
                        index_path, e->string);
            break;
        }
        snprintf(path, sizeof path, "%s/%s", w->dir, shard);
        s = sn_weights_add_file(w, path);
    }
    if (s == SANA_OK && w->nfiles == 0)
        s = sn_fail(SANA_ERR_FORMAT, "%s: \"weight_map\" names no files", index_path);
    if (s == SANA_OK) s = sn_weights_index_tensors(w);
    for (const cJSON *e = map ? map->child : NULL; e && s == SANA_OK; e = e->next) {
        const sn_st_tensor *t = sn_weights_find(w, e->string);
        snprintf(path, sizeof path, "%s/%s", w->dir, e->valuestring);
        if (!t || strcmp(t->file, path) != 0)
            s = sn_fail(SANA_ERR_FORMAT, "%s: tensor '%s' is not in %s as the index says",
                        index_path, e->string, path);
    }
    sn_config_free(idx);
    return s;
}

/* Finds the weight file or index of `dir` for one variant ("" = plain). Returns 1 and the path
 * (is_index set) when found. */
static int sn_weights_locate(const char *dir, const char *v, char *path, size_t cap,
                             int *is_index) {
    static const char *const bases[] = {"diffusion_pytorch_model", "model"};
    const char *dot = *v ? "." : "";
    for (int b = 0; b < 2; b++) {
        const char *base = bases[b];
        snprintf(path, cap, "%s/%s%s%s.safetensors", dir, base, dot, v);
        *is_index = 0;
        if (sn_is_file(path)) return 1;
        *is_index = 1;
        snprintf(path, cap, "%s/%s.safetensors.index%s%s.json", dir, base, dot, v);
        if (sn_is_file(path)) return 1;
        if (!*v) continue;
        snprintf(path, cap, "%s/%s.%s.safetensors.index.json", dir, base, v);
        if (sn_is_file(path)) return 1;
        snprintf(path, cap, "%s/%s.safetensors.%s.index.json", dir, base, v);
        if (sn_is_file(path)) return 1;
    }
    return 0;
}

/* A folder with exactly one *.safetensors file and no index: that file. */
static int sn_weights_lone_file(const char *dir, char *path, size_t cap) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n > 12 && strcmp(e->d_name + n - 12, ".safetensors") == 0) {
            snprintf(path, cap, "%s/%s", dir, e->d_name);
            found++;
        } else if (n > 11 && strcmp(e->d_name + n - 11, ".index.json") == 0) {
            found = 2;
        }
    }
    closedir(d);
    return found == 1 && sn_is_file(path);
}

sana_status sn_weights_open(const char *dir, const char *variant, sn_weights **out) {
    *out = NULL;
    if (!variant) variant = "";
    for (const char *p = variant; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-'))
            return sn_fail(SANA_ERR_INVALID_ARGUMENT, "weights variant \"%s\" is not a plain name",
                           variant);
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return sn_fail(SANA_ERR_NOT_FOUND, "%s: no such folder", dir);

    /* the wanted variant first, then plain, then whichever variant the folder has */
    const char *order[] = {variant, "", "fp16", "bf16", "fp32"};
    char path[4096];
    int is_index = 0, found = 0;
    for (size_t i = 0; i < sizeof order / sizeof *order && !found; i++) {
        if (i > 0 && strcmp(order[i], variant) == 0) continue;
        found = sn_weights_locate(dir, order[i], path, sizeof path, &is_index);
        if (found && i > 0 && *variant)
            sn_log(SANA_LOG_INFO, "%s: no \"%s\" weights; using %s", dir, variant, path);
    }
    if (!found) {
        is_index = 0;
        found = sn_weights_lone_file(dir, path, sizeof path);
    }
    if (!found)
        return sn_fail(SANA_ERR_NOT_FOUND,
                       "%s: no weights (diffusion_pytorch_model.safetensors, model.safetensors or "
                       "a *.safetensors.index.json)",
                       dir);

    sn_weights *w = calloc(1, sizeof *w);
    if (!w || !(w->dir = strdup(dir))) {
        free(w);
        return sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory", dir);
    }
    sana_status s;
    if (is_index) {
        w->index = strdup(path);
        s = w->index ? sn_weights_open_index(w, path)
                     : sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory", dir);
    } else {
        s = sn_weights_add_file(w, path);
        if (s == SANA_OK) s = sn_weights_index_tensors(w);
    }
    if (s != SANA_OK) {
        sn_weights_close(w);
        return s;
    }
    *out = w;
    return SANA_OK;
}

void sn_weights_close(sn_weights *w) {
    if (!w) return;
    for (size_t i = 0; i < w->nfiles; i++) {
        sn_safetensors_close(w->files[i]);
        free(w->paths[i]);
    }
    free(w->files);
    free(w->paths);
    free(w->tensors);
    free(w->index);
    free(w->dir);
    free(w);
}

size_t sn_weights_count(const sn_weights *w) { return w ? w->count : 0; }

const sn_st_tensor *sn_weights_at(const sn_weights *w, size_t i) {
    return w && i < w->count ? w->tensors[i] : NULL;
}

const sn_st_tensor *sn_weights_find(const sn_weights *w, const char *name) {
    if (!w || !name) return NULL;
    size_t lo = 0, hi = w->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, w->tensors[mid]->name);
        if (c == 0) return w->tensors[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

int64_t sn_weights_param_count(const sn_weights *w) { return w ? w->params : 0; }
size_t sn_weights_file_count(const sn_weights *w) { return w ? w->nfiles : 0; }
const char *sn_weights_file(const sn_weights *w, size_t i) {
    return w && i < w->nfiles ? w->paths[i] : NULL;
}
const char *sn_weights_index_file(const sn_weights *w) { return w && w->index ? w->index : ""; }

static void sn_shape_str(char *buf, size_t cap, int32_t ndim, const int64_t *shape) {
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int32_t i = 0; i < ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
}

sana_status sn_weights_get(const sn_weights *w, const char *name, int32_t ndim,
                           const int64_t *shape, const sn_st_tensor **out) {
    *out = NULL;
    const sn_st_tensor *t = sn_weights_find(w, name);
    if (!t) return sn_fail(SANA_ERR_NOT_FOUND, "%s: no tensor '%s'", w->dir, name);
    int same = t->ndim == ndim;
    for (int32_t i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (!same) {
        char want[256], have[256];
        sn_shape_str(want, sizeof want, ndim, shape);
        sn_shape_str(have, sizeof have, t->ndim, t->shape);
        return sn_fail(SANA_ERR_FORMAT, "%s: tensor '%s' has shape %s, expected %s", t->file, name,
                       have, want);
    }
    *out = t;
    return SANA_OK;
}

sana_status sn_weights_load(const sn_weights *w, sn_backend *be, const char *name, int32_t ndim,
                            const int64_t *shape, sn_tensor *out) {
    memset(out, 0, sizeof *out);
    const sn_st_tensor *t;
    SN_TRY(sn_weights_get(w, name, ndim, shape, &t));
    if (t->dtype != SN_F32 && t->dtype != SN_F16 && t->dtype != SN_BF16 && t->dtype != SN_F64)
        return sn_fail(SANA_ERR_FORMAT, "%s: tensor '%s' has dtype %s, expected a float type",
                       t->file, name, sn_dtype_name(t->dtype));
    sn_tensor dst;
    SN_TRY(sn_tensor_alloc(be, be->weight_dtype, ndim, shape, &dst));
    /* Backends convert from F32/F16/BF16; F64 becomes F32 here. And a file's data section may
     * leave a tensor misaligned for its type: convert from an aligned copy then. */
    const void *src = t->data;
    sn_dtype src_type = t->dtype;
    void *copy = NULL;
    if (t->dtype == SN_F64 || (uintptr_t)src % sn_dtype_size(t->dtype) != 0) {
        int64_t n = sn_st_numel(t);
        copy = malloc(t->dtype == SN_F64 ? (size_t)n * 4 + 1 : t->nbytes + 1);
        if (!copy) {
            sn_tensor_free(&dst);
            return sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: tensor '%s': out of memory", t->file, name);
        }
        if (t->dtype == SN_F64) {
            float *f = copy;
            for (int64_t i = 0; i < n; i++) {
                double v;
                memcpy(&v, (const char *)t->data + i * 8, 8);
                f[i] = (float)v;
            }
            src_type = SN_F32;
        } else {
            memcpy(copy, src, t->nbytes);
        }
        src = copy;
    }
    sana_status s = sn_upload_convert(&dst, src_type, src);
    free(copy);
    if (s == SANA_OK) sn_st_release(t); /* converted: its mapped pages need not stay resident */
    if (s != SANA_OK) {
        sn_tensor_free(&dst);
        return sn_fail_prefix(s, "%s: tensor '%s': ", t->file, name);
    }
    *out = dst;
    return SANA_OK;
}

sana_status sn_weights_loadf(const sn_weights *w, sn_backend *be, int32_t ndim,
                             const int64_t *shape, sn_tensor *out, const char *fmt, ...) {
    char name[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof name) {
        memset(out, 0, sizeof *out);
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "tensor name too long: %s...", name);
    }
    return sn_weights_load(w, be, name, ndim, shape, out);
}

sana_status sn_weights_mapf(const sn_weights *w, sn_backend *be, int32_t ndim, const int64_t *shape,
                            sn_tensor *out, const char *fmt, ...) {
    char name[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    memset(out, 0, sizeof *out);
    if (n < 0 || (size_t)n >= sizeof name) return sn_fail(SANA_ERR_INVALID_ARGUMENT, "tensor name too long: %s...", name);
    const sn_st_tensor *t;
    SN_TRY(sn_weights_get(w, name, ndim, shape, &t));
    int in_place = be->host_weights && (t->dtype == SN_F32 || t->dtype == SN_F16 || t->dtype == SN_BF16) &&
                   (uintptr_t)t->data % sn_dtype_size(t->dtype) == 0;
    if (!in_place) return sn_weights_load(w, be, name, ndim, shape, out);
    out->dtype = t->dtype;
    out->ndim = ndim;
    memcpy(out->shape, shape, (size_t)ndim * sizeof *shape);
    out->data = (void *)(uintptr_t)t->data; /* read only: the mapping is PROT_READ */
    out->be = NULL;
    return SANA_OK;
}
