/* What every benchmark program measures with: wall time, the process's CPU time (all threads:
 * on a shared machine steadier than wall, and it counts spinning) and peak resident memory. */
#ifndef SANA_BENCH_CLOCK_H
#define SANA_BENCH_CLOCK_H

#include <sys/resource.h>
#include <time.h>

static inline double bench_clock(clockid_t c) {
    struct timespec t;
    clock_gettime(c, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
static inline double wall_s(void) { return bench_clock(CLOCK_MONOTONIC); }
static inline double cpu_s(void) { return bench_clock(CLOCK_PROCESS_CPUTIME_ID); }
static inline double peak_rss_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* Linux: KiB */
}

#endif
