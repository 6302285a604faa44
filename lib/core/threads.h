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

/* Number of cores the process may use. */
int sn_cpu_count(void);

#endif
