#include "core/pool.h"
#include "core/threads.h"

#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

/* Rounds of the spin before a waiting thread sleeps: a few microseconds, long enough for the
 * back-to-back runs of one forward pass, short enough to cost little when a team-mate was
 * preempted. */
#define SN_POOL_SPIN 2000

static inline void sn_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

typedef struct sn_pool sn_pool;

typedef struct {
    sn_pool *pool;
    int tid;
} sn_worker;

struct sn_pool {
    pthread_mutex_t mu;
    pthread_cond_t wake; /* a new run (gen moved) or stop */
    pthread_cond_t done; /* pending reached 0 */
    atomic_uint gen;     /* run counter; workers start a run when it moves */
    atomic_int pending;  /* workers still in the current run */
    int stop;
    /* the current run; written before gen moves, read after */
    void (*fn)(void *arg, int tid, int nt);
    void *arg;
    int nt;
    int n_workers;
    pthread_t *threads;
    sn_worker *workers;
};

static _Thread_local int sn_in_task;
static _Thread_local sn_pool *sn_tl_pool;
static pthread_key_t sn_pool_key;
static pthread_once_t sn_pool_once = PTHREAD_ONCE_INIT;

static void *sn_worker_main(void *p) {
    sn_worker *w = p;
    sn_pool *pool = w->pool;
    sn_in_task = 1;
    omp_set_num_threads(1); /* an OpenMP-threaded BLAS called from here stays on this thread */
    unsigned seen = 0;
    for (;;) {
        unsigned g = atomic_load_explicit(&pool->gen, memory_order_acquire);
        for (int i = 0; g == seen && i < SN_POOL_SPIN; i++) {
            sn_cpu_relax();
            g = atomic_load_explicit(&pool->gen, memory_order_acquire);
        }
        if (g == seen) {
            pthread_mutex_lock(&pool->mu);
            while ((g = atomic_load_explicit(&pool->gen, memory_order_acquire)) == seen)
                pthread_cond_wait(&pool->wake, &pool->mu);
            pthread_mutex_unlock(&pool->mu);
        }
        seen = g;
        if (pool->stop) return NULL;
        if (w->tid < pool->nt) pool->fn(pool->arg, w->tid, pool->nt);
        if (atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&pool->mu);
            pthread_cond_signal(&pool->done);
            pthread_mutex_unlock(&pool->mu);
        }
    }
}

static void sn_pool_post(sn_pool *pool) {
    pthread_mutex_lock(&pool->mu);
    atomic_fetch_add_explicit(&pool->gen, 1, memory_order_release);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mu);
}

static void sn_pool_wait(sn_pool *pool) {
    for (int i = 0; i < SN_POOL_SPIN; i++) {
        if (atomic_load_explicit(&pool->pending, memory_order_acquire) == 0) return;
        sn_cpu_relax();
    }
    pthread_mutex_lock(&pool->mu);
    while (atomic_load_explicit(&pool->pending, memory_order_acquire) != 0)
        pthread_cond_wait(&pool->done, &pool->mu);
    pthread_mutex_unlock(&pool->mu);
}

/* Stops and joins the workers (the owning thread exits, or the pool grows). */
static void sn_pool_destroy(void *p) {
    sn_pool *pool = p;
    if (!pool) return;
    atomic_store(&pool->pending, pool->n_workers);
    pool->stop = 1;
    sn_pool_post(pool);
    for (int i = 0; i < pool->n_workers; i++) pthread_join(pool->threads[i], NULL);
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->done);
    pthread_mutex_destroy(&pool->mu);
    free(pool->threads);
    free(pool->workers);
    free(pool);
}

/* In the child of a fork only the forking thread exists: its pool's workers are gone, so it
 * forgets the pool (left allocated: its threads cannot be joined) and makes a new one when
 * needed, instead of waiting forever for workers that do not exist. */
static void sn_pool_atfork_child(void) {
    if (sn_tl_pool) (void)pthread_setspecific(sn_pool_key, NULL);
    sn_tl_pool = NULL;
    sn_in_task = 0;
}

static void sn_pool_key_make(void) {
    (void)pthread_key_create(&sn_pool_key, sn_pool_destroy);
    (void)pthread_atfork(NULL, NULL, sn_pool_atfork_child);
}

static sn_pool *sn_pool_make(int n_workers) {
    sn_pool *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pool->threads = calloc((size_t)n_workers, sizeof *pool->threads);
    pool->workers = calloc((size_t)n_workers, sizeof *pool->workers);
    if (!pool->threads || !pool->workers) {
        free(pool->threads), free(pool->workers), free(pool);
        return NULL;
    }
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->done, NULL);
    atomic_init(&pool->gen, 0);
    atomic_init(&pool->pending, 0);
    for (int i = 0; i < n_workers; i++) {
        pool->workers[i].pool = pool;
        pool->workers[i].tid = i + 1;
        if (pthread_create(&pool->threads[i], NULL, sn_worker_main, &pool->workers[i]) != 0) break;
        pool->n_workers++;
    }
    if (pool->n_workers < n_workers) { /* out of threads: give up on this size */
        sn_pool_destroy(pool);
        return NULL;
    }
    return pool;
}

/* This thread's pool with at least n_workers workers, or NULL. */
static sn_pool *sn_pool_get(int n_workers) {
    if (sn_tl_pool && sn_tl_pool->n_workers >= n_workers) return sn_tl_pool;
    pthread_once(&sn_pool_once, sn_pool_key_make);
    sn_pool *bigger = sn_pool_make(n_workers);
    if (!bigger) return NULL;
    sn_pool_destroy(sn_tl_pool);
    sn_tl_pool = bigger;
    (void)pthread_setspecific(sn_pool_key, bigger);
    return bigger;
}

int sn_pool_threads(void) { return sn_in_task ? 1 : sn_threads_get(); }

void sn_pool_run(int nt, void (*fn)(void *arg, int tid, int nt), void *arg) {
    sn_pool *pool = nt > 1 && !sn_in_task ? sn_pool_get(nt - 1) : NULL;
    if (!pool) {
        fn(arg, 0, 1);
        return;
    }
    pool->fn = fn;
    pool->arg = arg;
    pool->nt = nt;
    atomic_store_explicit(&pool->pending, pool->n_workers, memory_order_relaxed);
    sn_pool_post(pool);
    sn_in_task = 1;
    fn(arg, 0, nt);
    sn_in_task = 0;
    sn_pool_wait(pool);
}

typedef struct {
    int64_t n;
    void (*fn)(void *arg, int64_t i0, int64_t i1);
    void *arg;
} sn_for_job;

static void sn_for_task(void *p, int tid, int nt) {
    const sn_for_job *j = p;
    int64_t lo, hi;
    sn_pool_share(j->n, tid, nt, &lo, &hi);
    if (hi > lo) j->fn(j->arg, lo, hi);
}

void sn_parallel_for(int64_t n, void (*fn)(void *arg, int64_t i0, int64_t i1), void *arg) {
    if (n <= 0) return;
    int nt = sn_pool_threads();
    if ((int64_t)nt > n) nt = (int)n;
    sn_for_job j = {n, fn, arg};
    sn_pool_run(nt, sn_for_task, &j);
}
