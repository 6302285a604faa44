/* Seeded Gaussian noise bit-identical to torch.randn(shape, generator=torch.Generator("cpu")
 * .manual_seed(seed), dtype=torch.float32) on x86-64 (spec solvers.md §6.1).
 *
 * One generator is one torch CPU generator: an MT19937 engine plus the cached second sample of
 * the serial (double) Box-Muller path. Successive sn_rng_randn calls continue the stream the way
 * successive torch.randn calls on the same generator do (the Sprint sampler draws its renoise
 * from the generator that made the initial latents). */
#ifndef SN_SOLVER_RNG_H
#define SN_SOLVER_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct sn_rng {
    uint32_t mt[624];
    int32_t next; /* index of the next output in mt[]; 624 = regenerate */
    int32_t has_cached_normal;
    double cached_normal; /* the serial path's sin() half, waiting for the next element */
} sn_rng;

/* torch.Generator.manual_seed(seed): the engine takes the low 32 bits. */
void sn_rng_seed(sn_rng *r, uint64_t seed);
/* One 32-bit engine output (std::mt19937). */
uint32_t sn_rng_u32(sn_rng *r);
/* n samples of N(0, 1) as torch.randn of a contiguous float32 tensor with n elements: the
 * vectorised Box-Muller of torch's AVX2 kernel for n >= 16, the serial double path below. */
void sn_rng_randn(sn_rng *r, float *out, size_t n);

/* The fp32 Cephes/Pommier log and sincos of torch's avx_mathfun.h, one lane at a time (exposed
 * for the tests). */
float sn_rng_log_ps(float x);
void sn_rng_sincos_ps(float x, float *s, float *c);

#endif
