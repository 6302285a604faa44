// Stands in for kernels/flash_attention.cu while cuemu cannot build it (CUEMU_KERNELS_EXCLUDED):
// the launcher's own answer for a call the kernel does not take, so the CUDA backend falls back
// to the simple attention kernel (SANA_CUDA_ATTENTION=flash fails with SANA_ERR_UNSUPPORTED).
#include <cuda_runtime.h>

#include <cstdint>

#include "../../kernels/kernels.h"

extern "C" int sn_k_flash_attention(const void *, const void *, const void *, void *, int, int64_t, int64_t, int64_t,
                                    int64_t, int64_t, int64_t, int64_t, float, float, int, int, const void *, int,
                                    int64_t, cudaStream_t) {
    return SN_K_NOT_APPLICABLE;
}
