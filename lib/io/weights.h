/* The weights of one component folder (transformer/, vae/, text_encoder/): a single
 * safetensors file or shards listed by *.safetensors.index.json, with the ".fp16"/".bf16"
 * variant names the diffusers layout uses. Loading a tensor checks its shape and converts it to
 * the backend's weight dtype. */
#ifndef SN_IO_WEIGHTS_H
#define SN_IO_WEIGHTS_H

#include "backend/backend.h"
#include "io/safetensors.h"

typedef struct sn_weights sn_weights;

/* Opens the weights of `dir`. `variant` is NULL/"" (plain), "fp16" or "bf16"; when the variant
 * is absent the plain files are used, and without plain files whichever variant is there (or a
 * lone *.safetensors file). Every shard is opened and validated now. Missing folder or no
 * weights: SANA_ERR_NOT_FOUND; a bad file or index: SANA_ERR_FORMAT naming it. */
sana_status sn_weights_open(const char *dir, const char *variant, sn_weights **out);
void sn_weights_close(sn_weights *w);

/* Every tensor of every file, sorted by name. */
size_t sn_weights_count(const sn_weights *w);
const sn_st_tensor *sn_weights_at(const sn_weights *w, size_t i);
/* NULL when absent. */
const sn_st_tensor *sn_weights_find(const sn_weights *w, const char *name);
/* Total number of elements of every tensor. */
int64_t sn_weights_param_count(const sn_weights *w);
/* The safetensors files opened (one, or each shard), and the index file ("" when none). */
size_t sn_weights_file_count(const sn_weights *w);
const char *sn_weights_file(const sn_weights *w, size_t i);
const char *sn_weights_index_file(const sn_weights *w);

/* The tensor `name`, which must exist with exactly this shape: else SANA_ERR_NOT_FOUND or
 * SANA_ERR_FORMAT naming the tensor, the file, and both shapes. */
sana_status sn_weights_get(const sn_weights *w, const char *name, int32_t ndim,
                           const int64_t *shape, const sn_st_tensor **out);

/* sn_weights_get, then a persistent tensor on `be` in be->weight_dtype holding its values
 * (F32, F16, BF16 or F64 on disk; an integer tensor is SANA_ERR_FORMAT). The tensor gets the
 * requested shape (so a [C,1,1,1] conv kernel may be asked for as [C,1,1,1] and nothing else).
 * On failure *out is zeroed; free a loaded tensor with sn_tensor_free. */
sana_status sn_weights_load(const sn_weights *w, sn_backend *be, const char *name, int32_t ndim,
                            const int64_t *shape, sn_tensor *out);

/* A linear layer's weight matrix, as sn_weights_loadf; where the backend reads such weights in
 * place (be->host_weights: the CPU) and the file holds F32, F16 or BF16 aligned for its type,
 * *out is a view of the mapped file instead (out->be NULL, dtype the file's): nothing is copied or
 * converted at load, and the pages are the file's (the kernel may drop and re-read them), not
 * the process's. The weights must outlive *out. */
sana_status sn_weights_mapf(const sn_weights *w, sn_backend *be, int32_t ndim, const int64_t *shape,
                            sn_tensor *out, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Same, with the name built printf-style: sn_weights_loadf(w, be, ndim, shape, out,
 * "transformer_blocks.%d.attn1.to_q.weight", i). */
sana_status sn_weights_loadf(const sn_weights *w, sn_backend *be, int32_t ndim,
                             const int64_t *shape, sn_tensor *out, const char *fmt, ...)
    SN_PRINTF(6, 7);

#endif
