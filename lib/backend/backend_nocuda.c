/* Built without CUDA: the CUDA backend exists only as a clear refusal. */
#include "backend/backend.h"

sana_status sn_backend_cuda_create(int32_t device, sana_precision precision, sn_backend **out) {
    (void)device;
    (void)precision;
    *out = NULL;
    return sn_fail(SANA_ERR_UNSUPPORTED, "this libsana was built without the CUDA backend");
}
