/* cuDNN is opened at run time and never required. Without a GPU (in a CUDA build): a missing
 * file, a library that is not cuDNN, and SANA_CUDNN_LIBRARY pointing nowhere are refused with a
 * message naming the cause, and the real libcudnn.so.9 is probed when it is installed. With a
 * GPU: a CUDA backend made while SANA_CUDNN_LIBRARY points nowhere convolves through the GEMM
 * path and matches the CPU. Skips (77) in builds without cuDNN support. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/dnn.h"
#include "cuda_pair.h"
#include "harness.h"

#define NOWHERE "/nonexistent/sana-test/libcudnn.so.9"

static void loader(void) {
    size_t v = 1;
    sana_status st = sn_cudnn_probe(NOWHERE, &v);
    if (st == SANA_ERR_UNSUPPORTED) {
        char why[512];
        snprintf(why, sizeof why, "no cuDNN support in this build: %s", tu_last_error());
        tu_skip(why);
    }
    CHECK(st == SANA_ERR_BACKEND, "probe of a missing file: %s", sana_status_string(st));
    CHECK(strstr(tu_last_error(), NOWHERE) != NULL, "the message names the file: %s", tu_last_error());
    printf("missing file: %s\n", tu_last_error());

    /* a library that loads but is not cuDNN */
    st = sn_cudnn_probe("libm.so.6", &v);
    CHECK(st == SANA_ERR_BACKEND && strstr(tu_last_error(), "cudnnGetVersion"),
          "probe of libm: %s (%s)", sana_status_string(st), tu_last_error());
    printf("not cuDNN: %s\n", tu_last_error());

    /* the process-wide loader reads SANA_CUDNN_LIBRARY once, on first use */
    setenv("SANA_CUDNN_LIBRARY", NOWHERE, 1);
    CHECK(!sn_cudnn_available(), "cuDNN available from %s", NOWHERE);
    CHECK(sn_cudnn_probe(NULL, NULL) == SANA_ERR_BACKEND, "probe(NULL) follows SANA_CUDNN_LIBRARY");

    /* the real one, where installed (its absence is what libsana must survive, not a failure) */
    st = sn_cudnn_probe("libcudnn.so.9", &v);
    if (st == SANA_OK) {
        printf("libcudnn.so.9: version %zu, every function resolved\n", v);
        CHECK(v / 10000 == 9, "version %zu", v);
    } else {
        printf("libcudnn.so.9 not usable here: %s\n", tu_last_error());
    }
}

/* SANA_CUDNN_LIBRARY points nowhere: the backend still starts and convolves (im2col + GEMM). */
static void fallback(void) {
    sana_status st = sn_backend_cuda_create(0, SANA_PRECISION_F32, &gpu);
    if (st == SANA_ERR_UNSUPPORTED) {
        printf("no CUDA device (%s): the fallback on a GPU was not run\n", tu_last_error());
        return;
    }
    CHECK_OK(st); /* any other failure to start the backend is a failure, not a pass */
    if (st != SANA_OK) return;
    CHECK_OK(sn_backend_cpu_create(0, &cpu));
    tol = 1e-4;
    uint64_t calls = 1;
    CHECK(!sn_cuda_conv_cudnn(gpu, &calls) && calls == 0, "the backend uses a cuDNN it could not load");
    pair x = mk(4, SN_SHAPE(2, 8, 9, 13), 1), w = mk(4, SN_SHAPE(12, 8, 3, 3), 2), b = mk(1, SN_SHAPE(12), 3);
    pair y = mk(4, SN_SHAPE(2, 12, 9, 13), 0);
    CHECK_OK(sn_fill(&y.g, NAN));
    CHECK_OK(sn_conv2d(&x.c, &w.c, &b.c, 1, 1, 1, &y.c));
    CHECK_OK(sn_conv2d(&x.g, &w.g, &b.g, 1, 1, 1, &y.g));
    compare("conv2d 3x3 without cuDNN", &y);
    pair yu = mk(4, SN_SHAPE(2, 12, 18, 26), 0);
    CHECK_OK(sn_fill(&yu.g, NAN));
    CHECK_OK(sn_conv2d_band(&x.c, 0, 9, &w.c, &b.c, 2, 1, 1, &yu.c, 0));
    CHECK_OK(sn_conv2d_band(&x.g, 0, 9, &w.g, &b.g, 2, 1, 1, &yu.g, 0));
    compare("conv2d_band up 2 without cuDNN", &yu);
    done(&x), done(&w), done(&b), done(&y), done(&yu);
    sn_backend_free(gpu);
    sn_backend_free(cpu);
}

int main(void) {
    unsetenv("SANA_CUDA_CONV");
    loader();
    fallback();
    return tu_finish("test_cuda_cudnn_loader");
}
