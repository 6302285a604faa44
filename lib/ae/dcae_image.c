/* Pixels <-> uint8 RGB the way diffusers' VaeImageProcessor converts them. */
#include <math.h>

#include "ae/dcae.h"

/* postprocess: denormalize (x * 0.5 + 0.5).clamp(0, 1), then numpy_to_pil's
 * (images * 255).round().astype("uint8"): round half to even (rintf in the default mode). */
void sn_dcae_to_rgb8(const float *chw, int64_t height, int64_t width, uint8_t *dst,
                     size_t dst_stride) {
    const int64_t plane = height * width;
    for (int64_t y = 0; y < height; y++)
        for (int64_t x = 0; x < width; x++)
            for (int64_t c = 0; c < 3; c++) {
                float v = chw[c * plane + y * width + x] * 0.5f + 0.5f;
                v = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v); /* NaN stays NaN -> 0 below */
                float r = rintf(v * 255.0f);
                dst[(size_t)y * dst_stride + (size_t)x * 3 + (size_t)c] = r >= 0.0f ? (uint8_t)r : 0;
            }
}

/* preprocess: pil_to_numpy (u8 / 255 in float32), then normalize 2 * x - 1. */
void sn_dcae_from_rgb8(const uint8_t *src, size_t src_stride, int32_t channels, int64_t height,
                       int64_t width, float *chw) {
    const int64_t plane = height * width;
    for (int64_t y = 0; y < height; y++)
        for (int64_t x = 0; x < width; x++)
            for (int64_t c = 0; c < 3; c++) {
                const float v = (float)src[(size_t)y * src_stride + (size_t)x * (size_t)channels + (size_t)c] / 255.0f;
                chw[c * plane + y * width + x] = 2.0f * v - 1.0f;
            }
}
