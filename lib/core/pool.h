/* The CPU backend's thread pool: fork/join for the ops, with short spin-waits.
 *
 * Why not OpenMP: libgomp's idle threads spin for ~3 ms (300 000 rounds) before they sleep,
 * at every barrier and between parallel regions, and its wait policy can only be set through
 * OMP_WAIT_POLICY / GOMP_SPINCOUNT before the process starts, which a library cannot do. When
 * the cores are shared (another program, a second pool such as OpenBLAS's, a busy machine),
 * a thread waiting for a preempted team-mate burns its core for nothing: measured on the
 * 2-core build VM, a DiT forward took 8.7 CPU-s with libgomp's default against 4.7 with a
 * 1000-round spin (docs/performance.md). Here waiting threads spin for a few microseconds and
 * then sleep on a condition variable.
 *
 * Each application thread that calls in gets its own workers (created on first use, joined
 * when that thread exits), so contexts running in parallel on separate threads never share a
 * team. The thread count of a run is the calling thread's OpenMP setting (omp_get_max_threads:
 * what the API sets from sana_context_params.n_threads for the duration of a call); inside a
 * pool task it is 1 (no nesting). After fork() the child's thread makes new workers. */
#ifndef SN_CORE_POOL_H
#define SN_CORE_POOL_H

#include <stdint.h>

/* Threads a parallel op started here would use: 1 inside a pool task, else the calling
 * thread's count (sn_threads_get: its OpenMP setting, also inside a BLAS section). */
int sn_pool_threads(void);

/* Runs fn(arg, tid, nt) for tid = 0 .. nt-1 (tid 0 on the calling thread) and returns when
 * all have returned. nt <= 1, or a call from inside a task, runs fn(arg, 0, 1) here; so does
 * a run whose workers cannot be started (fn must compute the same for any nt). */
void sn_pool_run(int nt, void (*fn)(void *arg, int tid, int nt), void *arg);

/* [lo, hi): thread tid's share of n items split into nt contiguous chunks (OpenMP's
 * schedule(static)). */
static inline void sn_pool_share(int64_t n, int tid, int nt, int64_t *lo, int64_t *hi) {
    const int64_t q = n / nt, r = n % nt;
    *lo = tid * q + (tid < r ? tid : r);
    *hi = *lo + q + (tid < r ? 1 : 0);
}

/* fn(arg, i0, i1) over [0, n) in contiguous chunks, one per thread of sn_pool_threads()
 * (fewer when n is smaller). Each index is visited exactly once, by one thread. */
void sn_parallel_for(int64_t n, void (*fn)(void *arg, int64_t i0, int64_t i1), void *arg);

#endif
