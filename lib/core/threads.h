/* Threads: the few primitives the library needs (a mutex per context, an atomic cancel flag). */
#ifndef SN_CORE_THREADS_H
#define SN_CORE_THREADS_H

#include <pthread.h>
#include <stdatomic.h>

typedef pthread_mutex_t sn_mutex;

static inline void sn_mutex_init(sn_mutex *m) { pthread_mutex_init(m, NULL); }
static inline void sn_mutex_destroy(sn_mutex *m) { pthread_mutex_destroy(m); }
static inline void sn_mutex_lock(sn_mutex *m) { pthread_mutex_lock(m); }
static inline void sn_mutex_unlock(sn_mutex *m) { pthread_mutex_unlock(m); }

/* Threads of the parallel ops this thread starts from now on (n > 0; 0 leaves it). Kept in
 * OpenMP's per-thread setting (omp_set_num_threads), which lib/core/pool reads, so other
 * threads of the application keep theirs and OMP_NUM_THREADS is the default. Returns the
 * previous value, for the caller to put back. */
int sn_threads_set(int n);
/* The thread count parallel ops use: the value above, also inside a single-threaded section. */
int sn_threads_get(void);

/* Between these two the calling thread's OpenMP setting reads 1 (for OpenMP-threaded BLAS
 * libraries, which take their thread count from it), while sn_threads_get still returns the
 * real count. Nests. */
void sn_threads_single_begin(void);
void sn_threads_single_end(void);

#endif
