/* Built without CUDA: the CUDA backend exists only as a clear refusal, cuDNN not at all. */
#include "backend/backend.h"
#include "backend/cuda/dnn.h"

sana_status sn_backend_cuda_create(int32_t device, sana_precision precision, sn_backend **out) {
    (void)device;
    (void)precision;
    *out = NULL;
    return sn_fail(SANA_ERR_UNSUPPORTED, "this libsana was built without the CUDA backend");
}

sana_status sn_cudnn_probe(const char *path, size_t *version) {
    (void)path;
    if (version) *version = 0;
    return sn_fail(SANA_ERR_UNSUPPORTED, "this libsana was built without the CUDA backend (no cuDNN)");
}

int sn_cudnn_available(void) { return 0; }

int sn_cuda_conv_cudnn(const sn_backend *be, uint64_t *calls) {
    (void)be;
    if (calls) *calls = 0;
    return 0;
}
