/* The CPU backend's thread pool (lib/core/pool.c): every task of a run executes exactly once with
 * the right (tid, nt); parallel_for visits every index once; runs inside a task are inline;
 * workers wake from sleep; pools grow; several application threads run at once, each with its
 * own workers; a thread's workers are joined when it exits; thousands of back-to-back runs
 * (the spin path) lose nothing; a forked child makes new workers. */
#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/pool.h"
#include "harness.h"

typedef struct {
    atomic_int calls[16];
    atomic_int bad_nt;
    int nt;
} run_rec;

static void rec_task(void *p, int tid, int nt) {
    run_rec *r = p;
    if (nt != r->nt) atomic_fetch_add(&r->bad_nt, 1);
    if (tid >= 0 && tid < 16) atomic_fetch_add(&r->calls[tid], 1);
}

static int run_once(int nt) {
    run_rec r;
    memset(&r, 0, sizeof r);
    r.nt = nt;
    sn_pool_run(nt, rec_task, &r);
    int ok = atomic_load(&r.bad_nt) == 0;
    for (int t = 0; t < 16; t++) ok &= atomic_load(&r.calls[t]) == (t < nt ? 1 : 0);
    return ok;
}

typedef struct {
    unsigned char *hit;
    atomic_int overlap;
} for_rec;

static void for_range(void *p, int64_t i0, int64_t i1) {
    for_rec *r = p;
    for (int64_t i = i0; i < i1; i++)
        if (r->hit[i]++) atomic_fetch_add(&r->overlap, 1);
}

static int for_once(int64_t n) {
    for_rec r = {calloc((size_t)n + 1, 1), 0};
    sn_parallel_for(n, for_range, &r);
    int ok = atomic_load(&r.overlap) == 0;
    for (int64_t i = 0; i < n; i++) ok &= r.hit[i] == 1;
    free(r.hit);
    return ok;
}

/* inside a task: one thread, and a nested parallel_for runs inline */
static atomic_int nested_bad;
static void nested_task(void *p, int tid, int nt) {
    (void)p, (void)tid, (void)nt;
    if (sn_pool_threads() != 1) atomic_fetch_add(&nested_bad, 1);
    if (!for_once(1000)) atomic_fetch_add(&nested_bad, 1);
    if (!run_once(1)) atomic_fetch_add(&nested_bad, 1);
}

static void sum_task(void *p, int tid, int nt) {
    (void)nt;
    atomic_fetch_add((atomic_long *)p, tid + 1);
}

static void *app_thread(void *p) {
    long *fails = p;
    omp_set_num_threads(3);
    for (int r = 0; r < 500; r++) {
        atomic_long s = 0;
        sn_pool_run(3, sum_task, &s);
        if (atomic_load(&s) != 6) (*fails)++;
    }
    return NULL;
}

static int thread_count(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    int n = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1) break;
    fclose(f);
    return n;
}

static void *grow_and_exit(void *p) {
    (void)p;
    run_once(5);
    return NULL;
}

int main(void) {
    for (int nt = 1; nt <= 9; nt++) CHECK(run_once(nt), "a run of %d tasks", nt);
    CHECK(run_once(2) && run_once(7) && run_once(3), "the pool grows and serves smaller runs");

    const int64_t sizes[] = {1, 2, 3, 7, 64, 1000, 100003};
    for (int t = 1; t <= 6; t++) {
        omp_set_num_threads(t);
        CHECK(sn_pool_threads() == t, "threads follow the OpenMP setting");
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
            CHECK(for_once(sizes[i]), "parallel_for over %lld at %d threads", (long long)sizes[i], t);
    }

    omp_set_num_threads(4);
    sn_pool_run(4, nested_task, NULL);
    CHECK(atomic_load(&nested_bad) == 0, "%d tasks saw nesting wrong", atomic_load(&nested_bad));

    /* workers that went to sleep (well past the spin) wake for the next run */
    for (int r = 0; r < 3; r++) {
        nanosleep(&(struct timespec){0, 20000000}, NULL);
        CHECK(run_once(4), "a run after 20 ms idle");
    }

    /* back to back: the spin path */
    long lost = 0;
    for (int r = 0; r < 5000; r++) {
        atomic_long s = 0;
        sn_pool_run(4, sum_task, &s);
        if (atomic_load(&s) != 10) lost++;
    }
    CHECK(lost == 0, "%ld of 5000 back-to-back runs lost a task", lost);

    /* several application threads, each with its own workers */
    pthread_t th[3];
    long fails[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) CHECK(pthread_create(&th[i], NULL, app_thread, &fails[i]) == 0, "thread");
    for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
    CHECK(fails[0] + fails[1] + fails[2] == 0, "concurrent pools: %ld bad runs", fails[0] + fails[1] + fails[2]);

    /* a thread's workers go when it exits */
    int before = thread_count();
    pthread_t g;
    CHECK(pthread_create(&g, NULL, grow_and_exit, NULL) == 0, "thread");
    pthread_join(g, NULL);
    int after = thread_count();
    CHECK(before > 0 && after == before, "threads before %d, after a pool's owner exited %d", before, after);

    /* the child of a fork (only the forking thread survives) makes new workers */
    run_once(4);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(20); /* a hang ends the child with SIGALRM */
        int ok = run_once(4) && for_once(100003);
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid, "fork");
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "pool runs in a forked child (status %d)",
          status);
    CHECK(run_once(4), "and still in the parent");

    return tu_finish("test_core_pool");
}
