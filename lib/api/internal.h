/* What the public handles hold, shared by the files of lib/api. */
#ifndef SN_API_INTERNAL_H
#define SN_API_INTERNAL_H

#include <stdatomic.h>

#include "backend/backend.h"
#include "core/log.h"
#include "core/threads.h"
#include "sana/sana.h"

#define SN_ERR_CAP 2048

struct sana_context {
    sn_backend *be;
    sana_backend kind;
    sn_mutex lock; /* one call at a time */
    atomic_int cancel;
    sn_log_sink sink;
    int caller_threads; /* the calling thread's thread count (sn_threads_set), restored on leave */
    char last_error[SN_ERR_CAP];
};

/* Model components, each owned by its module (NULL when not loaded). */
typedef struct sn_tokenizer sn_tokenizer;
typedef struct sn_gemma sn_gemma;
typedef struct sn_dit sn_dit;
typedef struct sn_dcae sn_dcae;
typedef struct sn_scheduler_config sn_scheduler_config;

struct sana_model {
    sn_backend *be; /* holds the weights: the model's own, made like the loading context's
                     * (forwards compute on the calling context's: sn_backend_for_call) */
    sana_model_info info;
    char *path;
    sn_tokenizer *tokenizer;
    sn_gemma *text_encoder;
    sn_dit *transformer;
    sn_dcae *vae;
    sn_scheduler_config *scheduler;
};

struct sana_image {
    uint32_t width, height, channels;
    size_t stride;
    uint8_t *pixels;
    char *parameters; /* "" when none */
};

struct sana_tensor {
    int32_t ndim;
    int64_t shape[SN_MAX_DIMS];
    float *data; /* host */
};

/* Every public call on a context runs between these two: enter takes the context's lock,
 * binds its log sink and cancel flag, sets the calling thread's thread count to the context's
 * n_threads (CPU backend; sn_threads_set), and clears the error; leave stores the error text
 * and releases and restores everything. `return sn_api_leave(ctx, status);` */
void sn_api_enter(sana_context *ctx);
sana_status sn_api_leave(sana_context *ctx, sana_status status);

/* A persistent activation tensor for a call on model `m`: on the calling context's backend, in
 * the dtype it computes in (fp32 on the CPU, bf16/fp16 on a GPU); fill it from host floats with
 * sn_upload_convert(t, SN_F32, ...) and read it with sn_download_f32. */
static inline sana_status sn_api_activation(const sana_model *m, int32_t ndim, const int64_t *shape,
                                            sn_tensor *out) {
    sn_backend *be = sn_backend_for_call(m->be);
    return sn_tensor_alloc(be, be->act_dtype, ndim, shape, out);
}

/* A new image with pixels allocated (zeroed). */
sana_status sn_image_new(uint32_t width, uint32_t height, uint32_t channels, sana_image **out);
/* A new host tensor (zeroed). */
sana_status sn_api_tensor_new(int32_t ndim, const int64_t *shape, sana_tensor **out);

/* Refuses (SANA_ERR_OUT_OF_MEMORY, "fn: what need about X GiB of host memory; this machine has
 * Y GiB") a call whose estimated host bytes exceed the machine's physical memory: a clear error
 * before allocating, instead of an allocation that the kernel grants and then cannot back. */
sana_status sn_api_check_memory(double bytes, const char *fn, const char *what);

/* Reads min(struct_size, sizeof *dst) bytes of a caller's params struct over the defaults in
 * dst; rejects struct_size smaller than the first field. NULL src keeps the defaults. */
sana_status sn_params_read(void *dst, size_t dst_size, const void *src, const char *what);

#endif
