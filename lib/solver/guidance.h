/* Classifier-free and perturbed-attention guidance, applied to the float32 model output of one
 * batched transformer call (spec solvers.md §4). */
#ifndef SN_SOLVER_GUIDANCE_H
#define SN_SOLVER_GUIDANCE_H

#include <stddef.h>

/* The model-call batch for B images: [uncond, cond] with CFG, [uncond, cond, perturbed] with CFG
 * and PAG, [cond, perturbed] with PAG alone, [cond] without guidance. */
int sn_guidance_copies(int cfg, int pag);

/* v = the combined velocity (n floats per copy) from `out` = the call's output, copies in the
 * order above:
 *   CFG:       v = v_u + g (v_c - v_u)
 *   CFG + PAG: v = v_u + g (v_c - v_u) + p (v_c - v_p)
 *   PAG:       v = v_c + p (v_c - v_p)
 *   none:      v = v_c
 * (float32, the reference's order of operations). */
void sn_guidance_combine(const float *out, size_t n, int cfg, int pag, float g, float p, float *v);

#endif
