#include "core/threads.h"

#include <omp.h>

static _Thread_local int sn_single_depth, sn_single_saved;

int sn_threads_get(void) { return sn_single_depth ? sn_single_saved : omp_get_max_threads(); }

void sn_threads_single_begin(void) {
    if (sn_single_depth++ == 0) {
        sn_single_saved = omp_get_max_threads();
        if (sn_single_saved != 1) omp_set_num_threads(1);
    }
}

void sn_threads_single_end(void) {
    if (--sn_single_depth == 0 && sn_single_saved != 1) omp_set_num_threads(sn_single_saved);
}

int sn_threads_set(int n) {
    if (sn_single_depth) { /* the count lives in sn_single_saved until the section ends */
        int prev = sn_single_saved;
        if (n > 0) sn_single_saved = n;
        return prev;
    }
    int prev = omp_get_max_threads();
    if (n > 0 && n != prev) omp_set_num_threads(n);
    return prev;
}
