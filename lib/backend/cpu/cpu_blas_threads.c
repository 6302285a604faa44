/* One thread pool for the CPU backend. Our ops run on lib/core/pool. A multi-threaded BLAS
 * keeps a pool of its own (OpenBLAS: pthreads or OpenMP), and two pools fight over the cores:
 * while one runs, the other's idle threads spin (docs/performance.md). So the backend splits
 * its GEMMs over its own team (cpu_gemm.c) and every thread calls a single-threaded sgemm on
 * its slice; this file makes the BLAS single-threaded for those calls.
 *
 * OpenBLAS built with OpenMP (and MKL's GNU threading layer) takes its thread count from the
 * calling thread's OpenMP setting: set to 1 here for the duration, per thread (pool workers
 * keep 1 for good). The pthread build must be told, and its thread count is
 * process-wide state that the application may own too: it is set to 1 only while a libsana
 * GEMM runs (counted over all threads of the process) and the application's value is put back
 * when the last one ends.
 *
 * The OpenBLAS calls are weak references, so the same binary works with whatever libblas the
 * loader picks (Debian's alternatives switch between the pthread, OpenMP and reference builds
 * under one soname). This file must not include cblas.h: OpenBLAS's declares them non-weak. */
#include <pthread.h>
#include <stdatomic.h>

#include "backend/cpu/cpu.h"
#include "core/threads.h"

extern int openblas_get_parallel(void) __attribute__((weak));
extern int openblas_get_num_threads(void) __attribute__((weak));
extern void openblas_set_num_threads(int n) __attribute__((weak));

int sn_cpu_blas_threading(void) {
    static atomic_int cached = -2; /* -2: not asked yet */
    int m = atomic_load_explicit(&cached, memory_order_relaxed);
    if (m == -2) {
        m = openblas_get_parallel ? openblas_get_parallel() : -1;
        atomic_store_explicit(&cached, m, memory_order_relaxed);
    }
    return m;
}

static int sn_blas_needs_guard(void) {
    return sn_cpu_blas_threading() == SN_BLAS_PTHREADS && openblas_get_num_threads &&
           openblas_set_num_threads;
}

static pthread_mutex_t sn_blas_lock = PTHREAD_MUTEX_INITIALIZER;
static int sn_blas_depth;  /* libsana GEMM sections running now, all threads */
static int sn_blas_saved;  /* the application's OpenBLAS thread count, restored at depth 0 */

/* OpenMP-threaded BLAS libraries (OpenBLAS's OpenMP build, MKL's GNU threading layer) take
 * their thread count from the calling thread's OpenMP setting: 1 while this thread is inside a
 * GEMM section, so that a product computed whole never starts an OpenMP team of its own and
 * computes the same whatever the thread count. */
void sn_cpu_blas_enter(void) {
    sn_cpu_blas_core_once();
    sn_threads_single_begin();
    if (!sn_blas_needs_guard()) return;
    pthread_mutex_lock(&sn_blas_lock);
    if (sn_blas_depth++ == 0) {
        sn_blas_saved = openblas_get_num_threads();
        if (sn_blas_saved != 1) openblas_set_num_threads(1);
    }
    pthread_mutex_unlock(&sn_blas_lock);
}

void sn_cpu_blas_leave(void) {
    sn_threads_single_end();
    if (!sn_blas_needs_guard()) return;
    pthread_mutex_lock(&sn_blas_lock);
    if (--sn_blas_depth == 0 && sn_blas_saved != 1) openblas_set_num_threads(sn_blas_saved);
    pthread_mutex_unlock(&sn_blas_lock);
}
