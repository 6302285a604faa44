#include "core/threads.h"

#include <omp.h>

int sn_threads_set(int n) {
    int prev = omp_get_max_threads();
    if (n > 0 && n != prev) omp_set_num_threads(n);
    return prev;
}
