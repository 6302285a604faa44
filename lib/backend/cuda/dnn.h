/* cuDNN in the CUDA backend, as seen from outside it (tests, diagnostics): plain C, no cuDNN or
 * CUDA types, so it compiles in every build (backend_nocuda.c has the stubs).
 *
 * cuDNN is never linked: dnn_lib.c opens it at run time (dlopen) from SANA_CUDNN_LIBRARY, or
 * libcudnn.so.9 by the loader's search, once per process. Without it (absent, wrong version,
 * built without its headers) libsana logs why once at info level and the CUDA backend runs its
 * convolutions as im2col + cuBLASLt GEMMs. SANA_CUDA_CONV=gemm chooses that path even when cuDNN
 * is there; SANA_CUDA_CONV=cudnn (the default) uses cuDNN when it loaded. */
#ifndef SN_BACKEND_CUDA_DNN_H
#define SN_BACKEND_CUDA_DNN_H

#include <stdint.h>

#include "backend/backend.h"

/* Opens `path` (NULL: the name the process-wide loader would use), resolves every function the
 * backend needs, checks the version, and closes it again; *version is cudnnGetVersion() (e.g.
 * 91900). SANA_ERR_UNSUPPORTED when this build has no cuDNN support; SANA_ERR_BACKEND naming the
 * file, the missing function or the version when it cannot be used. No GPU needed. */
sana_status sn_cudnn_probe(const char *path, size_t *version);

/* 1 when the process-wide cuDNN loaded (opening it on first use), else 0. */
int sn_cudnn_available(void);

/* 1 when the CUDA backend `be` runs its convolutions through cuDNN (else im2col + GEMM, or `be`
 * is not a CUDA backend); *calls (optional): cudnnConvolutionForward calls `be` has made. */
int sn_cuda_conv_cudnn(const sn_backend *be, uint64_t *calls);

#endif
