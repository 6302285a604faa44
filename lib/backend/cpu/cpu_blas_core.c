/* OpenBLAS built with DYNAMIC_ARCH picks its kernels from the CPU's family and model numbers.
 * Up to 0.3.24 a model it does not know (newer Intel parts, or a hypervisor's made-up model
 * number) falls back to the Prescott kernels, SSE3 only, whatever the CPU can do
 * (OpenMathLib/OpenBLAS#4267, fixed in 0.3.25; Debian 12 ships 0.3.21). On this project's
 * 2-vCPU AVX-512 machine (family 6, model 207) the DiT's sgemm then ran in Prescott's kernel, at
 * about a third of the SkylakeX kernel's speed (docs/performance.md, "DiT (CPU)").
 *
 * So, once, before libsana's first GEMM: when OpenBLAS reports that fallback and the CPU (and
 * the OS, which gcc's __builtin_cpu_supports also checks) supports more, choose the kernels the
 * instruction set allows, through OpenBLAS's own switch: OPENBLAS_CORETYPE, read when its
 * dynamic dispatch is initialised again. A user who set OPENBLAS_CORETYPE keeps that choice.
 * The switch is process-wide: an application that runs its own OpenBLAS calls on other threads
 * at the moment libsana starts its first GEMM must set OPENBLAS_CORETYPE itself.
 *
 * Weak references, as in cpu_blas_threads.c: with another BLAS, or an OpenBLAS built for one
 * core, the symbols are absent and nothing happens. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu.h"

extern char *openblas_get_corename(void) __attribute__((weak));
extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));

/* The best OpenBLAS core the instruction set allows, or NULL to leave the choice alone. */
static const char *sn_blas_core_for_cpu(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512cd"))
        return "SKYLAKEX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "HASWELL";
    if (__builtin_cpu_supports("avx")) return "SANDYBRIDGE";
#endif
    return NULL;
}

static void sn_blas_core_fix(void) {
    if (!openblas_get_corename || !gotoblas_dynamic_init || !gotoblas_dynamic_quit) return;
    if (getenv("OPENBLAS_CORETYPE")) return;
    const char *now = openblas_get_corename();
    if (!now || strcmp(now, "Prescott") != 0) return; /* a real detection: trust it */
    const char *want = sn_blas_core_for_cpu();
    if (!want) return; /* a CPU without AVX: Prescott's kernels are right */
    setenv("OPENBLAS_CORETYPE", want, 0);
    gotoblas_dynamic_quit();
    gotoblas_dynamic_init();
    unsetenv("OPENBLAS_CORETYPE");
}

void sn_cpu_blas_core_once(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sn_blas_core_fix);
}
