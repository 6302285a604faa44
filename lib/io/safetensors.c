/* safetensors reader: the file is memory-mapped, the JSON header parsed once with cJSON, and
 * every entry validated before any tensor is handed out, so a consumer never reads outside the
 * mapping whatever the file says.
 *
 * Layout: [u64 little-endian N][N bytes of JSON header][data section]. Each header entry is
 * "name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]} with offsets relative
 * to the data section; "__metadata__" is an optional string-to-string map. */
#define _DEFAULT_SOURCE /* madvise */
#include "io/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The reference implementation refuses headers above 100 MB; so do we. */
#define SN_ST_MAX_HEADER 100000000ull

struct sn_safetensors {
    char *path;
    void *map;
    size_t map_size;
    cJSON *header;
    const cJSON *metadata; /* "__metadata__" object or NULL */
    sn_st_tensor *tensors; /* in header order */
    size_t count;
    const sn_st_tensor **by_name; /* sorted by name, for binary search */
};

/* A JSON number that is an integer in [0, 2^53]: the range a double holds exactly. */
static int sn_st_uint(const cJSON *j, uint64_t *out) {
    if (!cJSON_IsNumber(j)) return 0;
    double v = j->valuedouble;
    if (!(v >= 0.0 && v <= 9007199254740992.0) || v != (double)(uint64_t)v) return 0;
    *out = (uint64_t)v;
    return 1;
}

static int sn_st_cmp_name(const void *a, const void *b) {
    return strcmp((*(const sn_st_tensor *const *)a)->name, (*(const sn_st_tensor *const *)b)->name);
}

typedef struct sn_st_span {
    uint64_t begin, end;
    size_t index;
} sn_st_span;

static int sn_st_cmp_span(const void *a, const void *b) {
    const sn_st_span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* Validates one header entry and fills *t. `data`/`data_size` is the data section. */
static sana_status sn_st_entry(const char *path, const cJSON *e, const uint8_t *data,
                               uint64_t data_size, sn_st_tensor *t, uint64_t *begin_out,
                               uint64_t *end_out) {
    const char *name = e->string;
    if (!cJSON_IsObject(e))
        return sn_fail(SANA_ERR_FORMAT, "%s: tensor '%s': header entry is not a JSON object", path,
                       name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt))
        return sn_fail(SANA_ERR_FORMAT, "%s: tensor '%s': missing or non-string \"dtype\"", path,
                       name);
    if (sn_dtype_parse(dt->valuestring, &t->dtype) != 0)
        return sn_fail(SANA_ERR_FORMAT, "%s: tensor '%s': unknown dtype \"%s\"", path, name,
                       dt->valuestring);
    if (!cJSON_IsArray(sh))
        return sn_fail(SANA_ERR_FORMAT, "%s: tensor '%s': missing or non-array \"shape\"", path,
                       name);
    int nd = cJSON_GetArraySize(sh);
    if (nd > SN_ST_MAX_DIMS)
        return sn_fail(SANA_ERR_FORMAT, "%s: tensor '%s': %d dimensions (at most %d supported)",
                       path, name, nd, SN_ST_MAX_DIMS);
    t->ndim = nd;
    /* numel * dtype size must fit the file, which bounds every product below 2^64 */
    uint64_t numel = 1;
    int d = 0;
    for (const cJSON *x = sh->child; x; x = x->next, d++) {
        uint64_t v;
        if (!sn_st_uint(x, &v))
            return sn_fail(SANA_ERR_FORMAT,
                           "%s: tensor '%s': shape[%d] is not a non-negative integer", path, name,
                           d);
        t->shape[d] = (int64_t)v;
        if (v != 0 && numel > UINT64_MAX / v)
            return sn_fail(SANA_ERR_FORMAT, "%s: tensor '%s': shape overflows", path, name);
        numel *= v;
    }
    size_t es = sn_dtype_size(t->dtype);
    if (numel > UINT64_MAX / es)
        return sn_fail(SANA_ERR_FORMAT, "%s: tensor '%s': shape overflows", path, name);
    uint64_t nbytes = numel * es;

    uint64_t b, en;
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 || !sn_st_uint(off->child, &b) ||
        !sn_st_uint(off->child->next, &en))
        return sn_fail(SANA_ERR_FORMAT,
                       "%s: tensor '%s': \"data_offsets\" must be [begin, end] of non-negative "
                       "integers",
                       path, name);
    if (b > en || en > data_size)
        return sn_fail(SANA_ERR_FORMAT,
                       "%s: tensor '%s': data_offsets [%llu, %llu] lie outside the data section "
                       "of %llu bytes",
                       path, name, (unsigned long long)b, (unsigned long long)en,
                       (unsigned long long)data_size);
    if (en - b != nbytes)
        return sn_fail(SANA_ERR_FORMAT,
                       "%s: tensor '%s': %llu bytes of data but dtype %s and shape need %llu",
                       path, name, (unsigned long long)(en - b), sn_dtype_name(t->dtype),
                       (unsigned long long)nbytes);
    t->name = name;
    t->data = data + b;
    t->nbytes = (size_t)nbytes;
    t->file = path;
    *begin_out = b;
    *end_out = en;
    return SANA_OK;
}

/* Parses and validates the header; fills st->tensors and st->by_name. */
static sana_status sn_st_parse(sn_safetensors *st, const uint8_t *base, uint64_t hlen,
                               uint64_t fsize) {
    const char *path = st->path;
    if (memchr(base + 8, 0, hlen))
        return sn_fail(SANA_ERR_FORMAT, "%s: header contains a NUL byte", path);
    char *text = malloc(hlen + 1);
    if (!text) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: header of %llu bytes: out of memory",
                              path, (unsigned long long)hlen);
    memcpy(text, base + 8, hlen);
    text[hlen] = '\0';
    /* require_null_terminated: trailing spaces (the writer's padding) pass, trailing garbage not */
    st->header = cJSON_ParseWithOpts(text, NULL, 1);
    free(text);
    if (!st->header) return sn_fail(SANA_ERR_FORMAT, "%s: header is not valid JSON", path);
    if (!cJSON_IsObject(st->header))
        return sn_fail(SANA_ERR_FORMAT, "%s: header is not a JSON object", path);

    size_t n = 0;
    for (const cJSON *e = st->header->child; e; e = e->next) n++;
    st->tensors = calloc(n ? n : 1, sizeof *st->tensors);
    st->by_name = calloc(n ? n : 1, sizeof *st->by_name);
    sn_st_span *spans = calloc(n ? n : 1, sizeof *spans);
    if (!st->tensors || !st->by_name || !spans) {
        free(spans);
        return sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    const uint8_t *data = base + 8 + hlen;
    uint64_t data_size = fsize - 8 - hlen;
    sana_status s = SANA_OK;
    for (const cJSON *e = st->header->child; e && s == SANA_OK; e = e->next) {
        if (strcmp(e->string, "__metadata__") == 0) {
            if (!cJSON_IsObject(e)) {
                s = sn_fail(SANA_ERR_FORMAT, "%s: \"__metadata__\" is not a JSON object", path);
                break;
            }
            for (const cJSON *m = e->child; m; m = m->next)
                if (!cJSON_IsString(m)) {
                    s = sn_fail(SANA_ERR_FORMAT, "%s: \"__metadata__\" value '%s' is not a string",
                                path, m->string);
                    break;
                }
            st->metadata = e;
            continue;
        }
        size_t i = st->count;
        s = sn_st_entry(path, e, data, data_size, &st->tensors[i], &spans[i].begin,
                        &spans[i].end);
        spans[i].index = i;
        st->by_name[i] = &st->tensors[i];
        st->count++;
    }
    /* no two tensors may share bytes (zero-size tensors share nothing) */
    if (s == SANA_OK) {
        qsort(spans, st->count, sizeof *spans, sn_st_cmp_span);
        uint64_t prev_end = 0;
        size_t prev = SIZE_MAX;
        for (size_t i = 0; i < st->count && s == SANA_OK; i++) {
            if (spans[i].begin == spans[i].end) continue;
            if (prev != SIZE_MAX && spans[i].begin < prev_end)
                s = sn_fail(SANA_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap in the data section",
                            path, st->tensors[prev].name, st->tensors[spans[i].index].name);
            prev_end = spans[i].end;
            prev = spans[i].index;
        }
    }
    free(spans);
    if (s != SANA_OK) return s;
    qsort(st->by_name, st->count, sizeof *st->by_name, sn_st_cmp_name);
    for (size_t i = 1; i < st->count; i++) {
        const char *a = st->by_name[i - 1]->name, *b = st->by_name[i]->name;
        if (strcmp(a, b) == 0)
            return sn_fail(SANA_ERR_FORMAT, "%s: tensor '%s' appears twice in the header", path, a);
    }
    return SANA_OK;
}

sana_status sn_safetensors_open(const char *path, sn_safetensors **out) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sn_fail(errno == ENOENT ? SANA_ERR_NOT_FOUND : SANA_ERR_IO, "%s: cannot open: %s",
                       path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return sn_fail(SANA_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return sn_fail(SANA_ERR_IO, "%s: not a regular file", path);
    }
    uint64_t fsize = (uint64_t)sb.st_size;
    if (fsize < 8) {
        close(fd);
        return sn_fail(SANA_ERR_FORMAT,
                       "%s: %llu bytes is too short for a safetensors file (truncated?)", path,
                       (unsigned long long)fsize);
    }
    void *map = mmap(NULL, (size_t)fsize, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED) return sn_fail(SANA_ERR_IO, "%s: cannot map: %s", path, strerror(e));

    sn_safetensors *st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(path))) {
        free(st);
        munmap(map, (size_t)fsize);
        return sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    st->map = map;
    st->map_size = (size_t)fsize;
    const uint8_t *base = map;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | base[i];
    sana_status s;
    if (hlen > fsize - 8)
        s = sn_fail(SANA_ERR_FORMAT,
                    "%s: header length %llu points past the end of the file (%llu bytes; "
                    "truncated or not a safetensors file)",
                    path, (unsigned long long)hlen, (unsigned long long)fsize);
    else if (hlen > SN_ST_MAX_HEADER)
        s = sn_fail(SANA_ERR_FORMAT, "%s: header length %llu exceeds the limit of %llu bytes", path,
                    (unsigned long long)hlen, SN_ST_MAX_HEADER);
    else if (hlen < 2)
        s = sn_fail(SANA_ERR_FORMAT, "%s: header length %llu is too short for a JSON object",
                    path, (unsigned long long)hlen);
    else
        s = sn_st_parse(st, base, hlen, fsize);
    if (s != SANA_OK) {
        sn_safetensors_close(st);
        return s;
    }
    *out = st;
    return SANA_OK;
}

void sn_safetensors_close(sn_safetensors *st) {
    if (!st) return;
    if (st->map) munmap(st->map, st->map_size);
    cJSON_Delete(st->header);
    free(st->tensors);
    free(st->by_name);
    free(st->path);
    free(st);
}

size_t sn_safetensors_count(const sn_safetensors *st) { return st ? st->count : 0; }

const sn_st_tensor *sn_safetensors_at(const sn_safetensors *st, size_t i) {
    return st && i < st->count ? &st->tensors[i] : NULL;
}

const sn_st_tensor *sn_safetensors_find(const sn_safetensors *st, const char *name) {
    if (!st || !name) return NULL;
    size_t lo = 0, hi = st->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const sn_st_tensor *t = st->by_name[mid];
        int c = strcmp(name, t->name);
        if (c == 0) return t;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *sn_safetensors_metadata(const sn_safetensors *st, const char *key) {
    if (!st || !st->metadata || !key) return NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(st->metadata, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

void sn_st_release(const sn_st_tensor *t) {
    long page = sysconf(_SC_PAGESIZE);
    if (!t || !t->data || page <= 0) return;
    uintptr_t begin = ((uintptr_t)t->data + (uintptr_t)page - 1) / (uintptr_t)page * (uintptr_t)page;
    uintptr_t end = ((uintptr_t)t->data + (uintptr_t)t->nbytes) / (uintptr_t)page * (uintptr_t)page;
    /* only pages wholly inside this tensor: a neighbour's first or last page may still be read */
    if (end > begin) (void)madvise((void *)begin, end - begin, MADV_DONTNEED); /* advice: failure changes nothing */
}
