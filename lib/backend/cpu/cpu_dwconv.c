/* Depthwise convolution over channel-last (token-major) activations: the Mix-FFN's 3x3 runs on
 * the DiT's [B, H, W, C] token grid without transposing to NCHW. The channel loop is innermost
 * so every tap is a contiguous multiply-add over C. */
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu.h"
#include "core/pool.h"

typedef struct {
    const float *X, *taps, *bias;
    float *Y;
    int64_t H, W, C, kh, kw, Ho, Wo;
    int32_t pad;
} sn_dwconv_job;

/* output rows i = (image, oy) */
static SN_CPU_VECTOR void sn_dwconv_rows(void *p, int64_t i0, int64_t i1) {
    const sn_dwconv_job *j = p;
    const int64_t H = j->H, W = j->W, C = j->C, kh = j->kh, kw = j->kw, Ho = j->Ho, Wo = j->Wo;
    for (int64_t i = i0; i < i1; i++) {
        const int64_t n = i / Ho, oy = i % Ho;
        for (int64_t ox = 0; ox < Wo; ox++) {
            float *yp = j->Y + ((n * Ho + oy) * Wo + ox) * C;
            if (j->bias)
                memcpy(yp, j->bias, (size_t)C * sizeof(float));
            else
                memset(yp, 0, (size_t)C * sizeof(float));
            for (int64_t ky = 0; ky < kh; ky++) {
                int64_t iy = oy - j->pad + ky;
                if (iy < 0 || iy >= H) continue;
                for (int64_t kx = 0; kx < kw; kx++) {
                    int64_t ix = ox - j->pad + kx;
                    if (ix < 0 || ix >= W) continue;
                    const float *xp = j->X + ((n * H + iy) * W + ix) * C;
                    const float *tp = j->taps + (ky * kw + kx) * C;
                    for (int64_t c = 0; c < C; c++) yp[c] += xp[c] * tp[c];
                }
            }
        }
    }
}

sana_status sn_cpu_dwconv2d_nhwc(sn_backend *be, const sn_tensor *x, const sn_tensor *w,
                                 const sn_tensor *b, int32_t pad, sn_tensor *y) {
    (void)be;
    int64_t B = x->shape[0], H = x->shape[1], W = x->shape[2], C = x->shape[3];
    int64_t kh = w->shape[2], kw = w->shape[3];
    int64_t Ho = y->shape[1], Wo = y->shape[2];
    const float *Wt = SN_CF(w);
    /* taps transposed to [kh*kw, C] so the inner loop reads weights contiguously */
    float *taps = malloc((size_t)(kh * kw * C) * sizeof(float));
    if (!taps) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "dwconv2d_nhwc: tap buffer");
    for (int64_t c = 0; c < C; c++)
        for (int64_t t = 0; t < kh * kw; t++) taps[t * C + c] = Wt[c * kh * kw + t];
    sn_dwconv_job j = {SN_CF(x), taps, b ? SN_CF(b) : NULL, SN_F(y), H, W, C, kh, kw, Ho, Wo, pad};
    sn_parallel_for(B * Ho, sn_dwconv_rows, &j);
    free(taps);
    return SANA_OK;
}
