/* Rotary position embedding, the NeoX / Hugging Face "rotate-half" form: dimension d pairs with
 * d + D/2, and the angle of pair d at position p is p * theta^(-2d/D). Everything is computed in
 * fp32 in the order transformers' default rope uses (inv_freq = 1 / theta^(2d/D), then p *
 * inv_freq, then cos/sin), so that fp32 results match the reference to the last few ulps. */
#include <math.h>

#include "backend/cpu/cpu.h"

sana_status sn_cpu_rope(sn_backend *be, const sn_tensor *x, float theta, int64_t pos0,
                        sn_tensor *y) {
    (void)be;
    int64_t B = x->shape[0], H = x->shape[1], N = x->shape[2], D = x->shape[3], half = D / 2;
    const float *X = SN_CF(x);
    float *Y = SN_F(y);
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t bh = 0; bh < B * H; bh++)
        for (int64_t n = 0; n < N; n++) {
            const float *xi = X + (bh * N + n) * D;
            float *yi = Y + (bh * N + n) * D;
            float pos = (float)(pos0 + n);
            for (int64_t d = 0; d < half; d++) {
                float inv_freq = 1.0f / powf(theta, (float)(2 * d) / (float)D);
                float ang = pos * inv_freq;
                float c = cosf(ang), s = sinf(ang);
                float a = xi[d], b = xi[d + half]; /* read both first: y may alias x */
                yi[d] = a * c - b * s;
                yi[d + half] = b * c + a * s;
            }
        }
    return SANA_OK;
}
