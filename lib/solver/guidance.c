/* CFG / PAG combination (diffusers SanaPipeline and PAGMixin._apply_perturbed_attention_guidance). */
#include "solver/guidance.h"

#include <string.h>

int sn_guidance_copies(int cfg, int pag) { return 1 + (cfg ? 1 : 0) + (pag ? 1 : 0); }

void sn_guidance_combine(const float *out, size_t n, int cfg, int pag, float g, float p, float *v) {
    if (cfg && pag) {
        const float *vu = out, *vc = out + n, *vp = out + 2 * n;
        for (size_t k = 0; k < n; k++) v[k] = (vu[k] + g * (vc[k] - vu[k])) + p * (vc[k] - vp[k]);
    } else if (cfg) {
        const float *vu = out, *vc = out + n;
        for (size_t k = 0; k < n; k++) v[k] = vu[k] + g * (vc[k] - vu[k]);
    } else if (pag) {
        const float *vc = out, *vp = out + n;
        for (size_t k = 0; k < n; k++) v[k] = vc[k] + p * (vc[k] - vp[k]);
    } else if (v != out) {
        memmove(v, out, n * sizeof(float));
    }
}
