/* cuDNN, opened at run time. libsana never links it: a machine without cuDNN (or with another
 * major version) loads and runs libsana, and its CUDA backend convolves through cuBLASLt instead.
 * The library is SANA_CUDNN_LIBRARY when set (e.g. the libcudnn.so.9 inside Python's
 * nvidia-cudnn-cu13 wheel), else libcudnn.so.9 found by the dynamic loader's search. It is opened
 * once per process, on first use, and kept open. */
#include <pthread.h>
#include <string.h>

#include "backend/cuda/dnn.h"
#include "core/log.h"

#ifdef SANA_HAVE_CUDNN

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "backend/cuda/dnn_api.h"

#define SN_CUDNN_DEFAULT "libcudnn.so.9"

static const char *sn_cudnn_path(const char *path) {
    if (path) return path;
    const char *env = getenv("SANA_CUDNN_LIBRARY");
    return env && *env ? env : SN_CUDNN_DEFAULT;
}

/* Opens and resolves; on failure closes again and says why in `why`. */
static int sn_cudnn_open(const char *path, sn_cudnn_lib *lib, char *why, size_t n) {
    memset(lib, 0, sizeof *lib);
    dlerror();
    lib->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib->handle) {
        const char *e = dlerror();
        snprintf(why, n, "cannot open %s: %s", path, e ? e : "unknown error");
        return 0;
    }
    /* dlsym gives a data pointer; copied bytewise into the typed function pointer */
#define SN_CUDNN_RESOLVE(name)                                                                     \
    {                                                                                              \
        void *sym = dlsym(lib->handle, #name);                                                     \
        if (!sym) {                                                                                \
            snprintf(why, n, "%s has no %s", path, #name);                                         \
            goto fail;                                                                             \
        }                                                                                          \
        memcpy(&lib->name, &sym, sizeof sym);                                                      \
    }
    SN_CUDNN_FUNCTIONS(SN_CUDNN_RESOLVE)
#undef SN_CUDNN_RESOLVE
    lib->version = lib->cudnnGetVersion();
    /* the signatures were compiled from this major's headers; the runtime must be the same major */
    if (lib->version / 10000 != CUDNN_MAJOR) {
        snprintf(why, n, "%s is cuDNN %zu, this libsana needs major version %d", path, lib->version, CUDNN_MAJOR);
        goto fail;
    }
    size_t rt = lib->cudnnGetCudartVersion();
    if (rt / 1000 != CUDART_VERSION / 1000) {
        snprintf(why, n, "%s was built for CUDA runtime %zu, this libsana uses %d", path, rt, CUDART_VERSION);
        goto fail;
    }
    return 1;
fail:
    dlclose(lib->handle);
    memset(lib, 0, sizeof *lib);
    return 0;
}

sana_status sn_cudnn_probe(const char *path, size_t *version) {
    sn_cudnn_lib lib;
    char why[512];
    path = sn_cudnn_path(path);
    if (!sn_cudnn_open(path, &lib, why, sizeof why)) return sn_fail(SANA_ERR_BACKEND, "cudnn: %s", why);
    if (version) *version = lib.version;
    dlclose(lib.handle);
    return SANA_OK;
}

static sn_cudnn_lib sn_cudnn_the;
static int sn_cudnn_ok;
static pthread_once_t sn_cudnn_once = PTHREAD_ONCE_INIT;

static void sn_cudnn_load(void) {
    char why[512];
    const char *path = sn_cudnn_path(NULL);
    sn_cudnn_ok = sn_cudnn_open(path, &sn_cudnn_the, why, sizeof why);
    if (sn_cudnn_ok)
        sn_log(SANA_LOG_INFO, "cudnn: version %zu loaded from %s", sn_cudnn_the.version, path);
    else
        sn_log(SANA_LOG_INFO, "cudnn: not used (%s); convolutions run as im2col + cuBLASLt GEMMs", why);
}

const sn_cudnn_lib *sn_cudnn_lib_get(void) {
    pthread_once(&sn_cudnn_once, sn_cudnn_load);
    return sn_cudnn_ok ? &sn_cudnn_the : NULL;
}

int sn_cudnn_available(void) { return sn_cudnn_lib_get() != NULL; }

#else /* built without the cuDNN headers */

sana_status sn_cudnn_probe(const char *path, size_t *version) {
    (void)path;
    if (version) *version = 0;
    return sn_fail(SANA_ERR_UNSUPPORTED, "this libsana was built without cuDNN support (no cudnn.h)");
}

static pthread_once_t sn_cudnn_once = PTHREAD_ONCE_INIT;

static void sn_cudnn_say_why(void) {
    sn_log(SANA_LOG_INFO, "cudnn: not compiled in (no cudnn.h at build time); convolutions run as im2col + "
                          "cuBLASLt GEMMs");
}

int sn_cudnn_available(void) {
    pthread_once(&sn_cudnn_once, sn_cudnn_say_why);
    return 0;
}

#endif
