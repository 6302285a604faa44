/* safetensors files (lib/io/safetensors.c): the 8-byte header length, the JSON tensor table and
 * its offsets. Every tensor handed out must lie inside the mapping, so each byte is read, and each
 * name must be found again by the binary search. */
#include "fuzz_common.h"
#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_quiet();
    char path[FZ_PATH_MAX];
    fz_join(path, fz_dir(), "fuzz.safetensors");
    fz_write(path, data, size);
    sn_error_clear();
    sn_safetensors *st = NULL;
    sana_status s = sn_safetensors_open(path, &st);
    fz_check_failure(s, "sn_safetensors_open");
    if (s != SANA_OK) {
        if (st) abort(); /* *out is NULL on failure */
        return 0;
    }
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < sn_safetensors_count(st); i++) {
        const sn_st_tensor *t = sn_safetensors_at(st, i);
        const uint8_t *p = t->data;
        for (size_t k = 0; k < t->nbytes; k++) sink ^= p[k];
        if (sn_safetensors_find(st, t->name) != t) abort();
        if ((uint64_t)sn_st_numel(t) * sn_dtype_size(t->dtype) != t->nbytes) abort();
    }
    (void)sn_safetensors_metadata(st, "format");
    (void)sink;
    sn_safetensors_close(st);
    return 0;
}
