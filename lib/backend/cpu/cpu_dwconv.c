/* Depthwise convolution over channel-last (token-major) activations: the Mix-FFN's 3x3 runs on
 * the DiT's [B, H, W, C] token grid without transposing to NCHW. The channel loop is innermost
 * so every tap is a contiguous multiply-add over C. */
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu.h"

sana_status sn_cpu_dwconv2d_nhwc(sn_backend *be, const sn_tensor *x, const sn_tensor *w,
                                 const sn_tensor *b, int32_t pad, sn_tensor *y) {
    (void)be;
    int64_t B = x->shape[0], H = x->shape[1], W = x->shape[2], C = x->shape[3];
    int64_t kh = w->shape[2], kw = w->shape[3];
    int64_t Ho = y->shape[1], Wo = y->shape[2];
    const float *X = SN_CF(x), *Wt = SN_CF(w), *bias = b ? SN_CF(b) : NULL;
    float *Y = SN_F(y);
    /* taps transposed to [kh*kw, C] so the inner loop reads weights contiguously */
    float *taps = malloc((size_t)(kh * kw * C) * sizeof(float));
    if (!taps) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "dwconv2d_nhwc: tap buffer");
    for (int64_t c = 0; c < C; c++)
        for (int64_t t = 0; t < kh * kw; t++) taps[t * C + c] = Wt[c * kh * kw + t];

#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < B; n++)
        for (int64_t oy = 0; oy < Ho; oy++)
            for (int64_t ox = 0; ox < Wo; ox++) {
                float *yp = Y + ((n * Ho + oy) * Wo + ox) * C;
                if (bias)
                    memcpy(yp, bias, (size_t)C * sizeof(float));
                else
                    memset(yp, 0, (size_t)C * sizeof(float));
                for (int64_t ky = 0; ky < kh; ky++) {
                    int64_t iy = oy - pad + ky;
                    if (iy < 0 || iy >= H) continue;
                    for (int64_t kx = 0; kx < kw; kx++) {
                        int64_t ix = ox - pad + kx;
                        if (ix < 0 || ix >= W) continue;
                        const float *xp = X + ((n * H + iy) * W + ix) * C;
                        const float *tp = taps + (ky * kw + kx) * C;
                        for (int64_t c = 0; c < C; c++) yp[c] += xp[c] * tp[c];
                    }
                }
            }
    free(taps);
    return SANA_OK;
}
