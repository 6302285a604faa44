/* Rotary position embedding, the NeoX / Hugging Face "rotate-half" form: dimension d pairs with
 * d + D/2, and the angle of pair d at position p is p * theta^(-2d/D). Everything is computed in
 * fp32 in the order transformers' default rope uses (inv_freq = 1 / theta^(2d/D), then p *
 * inv_freq, then cos/sin), so that fp32 results match the reference to the last few ulps. */
#include <math.h>

#include "backend/cpu/cpu.h"
#include "core/pool.h"

typedef struct {
    const float *X;
    float *Y;
    int64_t N, D;
    int64_t pos0;
    float theta;
} sn_rope_job;

/* rows i = (batch*head, position) */
static void sn_rope_rows(void *p, int64_t i0, int64_t i1) {
    const sn_rope_job *j = p;
    const int64_t D = j->D, half = D / 2;
    for (int64_t i = i0; i < i1; i++) {
        const int64_t n = i % j->N;
        const float *xi = j->X + i * D;
        float *yi = j->Y + i * D;
        float pos = (float)(j->pos0 + n);
        for (int64_t d = 0; d < half; d++) {
            float inv_freq = 1.0f / powf(j->theta, (float)(2 * d) / (float)D);
            float ang = pos * inv_freq;
            float c = cosf(ang), s = sinf(ang);
            float a = xi[d], b = xi[d + half]; /* read both first: y may alias x */
            yi[d] = a * c - b * s;
            yi[d + half] = b * c + a * s;
        }
    }
}

sana_status sn_cpu_rope(sn_backend *be, const sn_tensor *x, float theta, int64_t pos0,
                        sn_tensor *y) {
    (void)be;
    int64_t B = x->shape[0], H = x->shape[1], N = x->shape[2], D = x->shape[3];
    sn_rope_job j = {SN_CF(x), SN_F(y), N, D, pos0, theta};
    sn_parallel_for(B * H * N, sn_rope_rows, &j);
    return SANA_OK;
}
