/* safetensors files, memory-mapped and validated strictly: header length within the file (and at
 * most 100 MB, as the reference), a JSON object of tensors, known dtypes, shapes of at most
 * SN_ST_MAX_DIMS non-negative dims, offsets inside the data section, size = shape x dtype, no
 * overlaps, no duplicate names. A bad file gives SANA_ERR_FORMAT naming the file and the tensor;
 * a missing one SANA_ERR_NOT_FOUND. Tensor data need not be aligned for its type (copy it out
 * with memcpy, or use sn_weights_load). */
#ifndef SN_IO_SAFETENSORS_H
#define SN_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/dtype.h"
#include "core/error.h"

#define SN_ST_MAX_DIMS 8

typedef struct sn_st_tensor {
    const char *name;
    sn_dtype dtype;
    int32_t ndim;
    int64_t shape[SN_ST_MAX_DIMS];
    const void *data; /* inside the mapping, valid while the file is open */
    size_t nbytes;
    const char *file; /* path of the file that holds it */
} sn_st_tensor;

typedef struct sn_safetensors sn_safetensors;

sana_status sn_safetensors_open(const char *path, sn_safetensors **out);
/* Closing unmaps the file: every sn_st_tensor of it becomes invalid. */
void sn_safetensors_close(sn_safetensors *st);
size_t sn_safetensors_count(const sn_safetensors *st);
/* In header order; NULL past the end. */
const sn_st_tensor *sn_safetensors_at(const sn_safetensors *st, size_t i);
/* By name (binary search); NULL when absent. */
const sn_st_tensor *sn_safetensors_find(const sn_safetensors *st, const char *name);
/* The optional "__metadata__" string map; NULL when absent. */
const char *sn_safetensors_metadata(const sn_safetensors *st, const char *key);

/* Hands the whole pages inside a tensor's bytes back to the kernel (madvise MADV_DONTNEED) once
 * a copy has been made: the mapping stays valid and a later read faults the bytes in again from
 * the file, but pages read once for a conversion no longer count in the process's RSS. */
void sn_st_release(const sn_st_tensor *t);

static inline int64_t sn_st_numel(const sn_st_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

#endif
