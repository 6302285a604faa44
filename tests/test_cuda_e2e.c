/* The oracle's end-to-end cases (SANA, Sprint, PAG) through the public API on a CUDA context in
 * fp32 mode: the loop's every step, the decode and sana_generate against the reference's goldens,
 * as test_generate_e2e does on the CPU (see the criteria there). Skips (77) without a GPU. */
#define E2E_CUDA 1
#include "test_generate_e2e.c"
