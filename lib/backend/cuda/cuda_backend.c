/* CUDA backend, host side: device selection, memory, transfers. The compute ops arrive with the
 * kernels (issue 8); until then each refuses clearly instead of computing wrongly. */
#include <cuda_runtime.h>
#include <stdlib.h>

#include "backend/backend.h"

typedef struct sn_cuda {
    int device;
    cudaStream_t stream;
} sn_cuda;

static sana_status sn_cuda_check(cudaError_t e, const char *what) {
    if (e == cudaSuccess) return SANA_OK;
    return sn_fail(SANA_ERR_BACKEND, "cuda: %s: %s", what, cudaGetErrorString(e));
}

static sn_cuda *sn_cuda_of(sn_backend *be) { return (sn_cuda *)be->impl; }

static void *sn_cuda_alloc(sn_backend *be, size_t bytes) {
    (void)be;
    void *p = NULL;
    return cudaMalloc(&p, bytes ? bytes : 1) == cudaSuccess ? p : NULL;
}

static void sn_cuda_free(sn_backend *be, void *ptr) {
    (void)be;
    if (ptr) cudaFree(ptr);
}

static void *sn_cuda_chunk_alloc(void *owner, size_t bytes) { return sn_cuda_alloc(owner, bytes); }
static void sn_cuda_chunk_free(void *owner, void *ptr) { sn_cuda_free(owner, ptr); }

static void sn_cuda_destroy(sn_backend *be) {
    sn_cuda *c = sn_cuda_of(be);
    if (c) {
        cudaStreamDestroy(c->stream);
        free(c);
    }
    free(be);
}

static sana_status sn_cuda_upload(sn_backend *be, void *dst, const void *src, size_t bytes) {
    sn_cuda *c = sn_cuda_of(be);
    SN_TRY(sn_cuda_check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, c->stream), "upload"));
    return sn_cuda_check(cudaStreamSynchronize(c->stream), "upload");
}

static sana_status sn_cuda_download(sn_backend *be, void *dst, const void *src, size_t bytes) {
    sn_cuda *c = sn_cuda_of(be);
    SN_TRY(sn_cuda_check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, c->stream), "download"));
    return sn_cuda_check(cudaStreamSynchronize(c->stream), "download");
}

static sana_status sn_cuda_sync(sn_backend *be) {
    return sn_cuda_check(cudaStreamSynchronize(sn_cuda_of(be)->stream), "synchronize");
}

static const sn_ops sn_cuda_ops = {
    .name = "cuda",
    .destroy = sn_cuda_destroy,
    .alloc = sn_cuda_alloc,
    .free = sn_cuda_free,
    .upload = sn_cuda_upload,
    .download = sn_cuda_download,
    .synchronize = sn_cuda_sync,
};

sana_status sn_backend_cuda_create(int32_t device, sana_precision precision, sn_backend **out) {
    *out = NULL;
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0)
        return sn_fail(SANA_ERR_UNSUPPORTED, "cuda: no CUDA device is available");
    if (device < 0 || device >= count)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "cuda: device %d does not exist (%d found)", device, count);
    (void)precision;
    /* The memory half above is ready; the compute ops are not there yet, so refuse rather than
     * hand out a backend that cannot run a model. */
    (void)sn_cuda_ops;
    (void)sn_cuda_chunk_alloc;
    (void)sn_cuda_chunk_free;
    return sn_fail(SANA_ERR_UNSUPPORTED, "cuda: the CUDA compute ops are not implemented yet");
}
