/* Sharded weights (lib/io/weights.c): the input is model.safetensors.index.json of a folder
 * that holds two small valid shards, a.safetensors (tensors "x", "y") and b.safetensors ("z").
 * Every tensor the weights hand out must be found by name and lie in its file. */
#include "fuzz_common.h"
#include "io/weights.h"

/* [u64 header length][header][data]: a shard with F32 tensors of one element each. */
static void fz_shard(const char *path, const char *header, size_t ntensors) {
    size_t hl = strlen(header);
    uint8_t buf[512];
    if (8 + hl + 4 * ntensors > sizeof buf) abort();
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, header, hl);
    memset(buf + 8 + hl, 0, 4 * ntensors);
    fz_write(path, buf, 8 + hl + 4 * ntensors);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_quiet();
    char dir[FZ_PATH_MAX], file[FZ_PATH_MAX];
    fz_mkdir(fz_join(dir, fz_dir(), "weights"));
    static int made = 0;
    if (!made) {
        fz_shard(fz_join(file, dir, "a.safetensors"),
                 "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                 "\"y\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[4,8]}}",
                 2);
        fz_shard(fz_join(file, dir, "b.safetensors"),
                 "{\"z\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[0,4]}}", 1);
        made = 1;
    }
    fz_write(fz_join(file, dir, "model.safetensors.index.json"), data, size);
    sn_error_clear();
    sn_weights *w = NULL;
    sana_status s = sn_weights_open(dir, NULL, &w);
    fz_check_failure(s, "sn_weights_open");
    if (s != SANA_OK) {
        if (w) abort();
        return 0;
    }
    for (size_t i = 0; i < sn_weights_count(w); i++) {
        const sn_st_tensor *t = sn_weights_at(w, i);
        if (sn_weights_find(w, t->name) != t) abort();
        const sn_st_tensor *g = NULL;
        s = sn_weights_get(w, t->name, t->ndim, t->shape, &g);
        if (s != SANA_OK || g != t) abort();
    }
    const int64_t shape[1] = {2};
    const sn_st_tensor *g = NULL;
    fz_check_failure(sn_weights_get(w, "x", 1, shape, &g), "sn_weights_get");
    (void)sn_weights_param_count(w);
    for (size_t i = 0; i < sn_weights_file_count(w); i++) (void)strlen(sn_weights_file(w, i));
    (void)strlen(sn_weights_index_file(w));
    sn_weights_close(w);
    return 0;
}
