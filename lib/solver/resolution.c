/* Aspect-ratio bins and the resize back (diffusers PixArtImageProcessor). */
#include "solver/resolution.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>


typedef struct bin {
    const char *key; /* the dict key, an H/W ratio, compared as float(key) */
    int32_t h, w;
} bin;

/* ASPECT_RATIO_1024_BIN (pixart_alpha); the 512 table is exactly half of it. */
static const bin bins_1024[] = {
    {"0.25", 512, 2048},  {"0.28", 512, 1856},  {"0.32", 576, 1792}, {"0.33", 576, 1728},
    {"0.35", 576, 1664},  {"0.4", 640, 1600},   {"0.42", 640, 1536}, {"0.48", 704, 1472},
    {"0.5", 704, 1408},   {"0.52", 704, 1344},  {"0.57", 768, 1344}, {"0.6", 768, 1280},
    {"0.68", 832, 1216},  {"0.72", 832, 1152},  {"0.78", 896, 1152}, {"0.82", 896, 1088},
    {"0.88", 960, 1088},  {"0.94", 960, 1024},  {"1.0", 1024, 1024}, {"1.07", 1024, 960},
    {"1.13", 1088, 960},  {"1.21", 1088, 896},  {"1.29", 1152, 896}, {"1.38", 1152, 832},
    {"1.46", 1216, 832},  {"1.67", 1280, 768},  {"1.75", 1344, 768}, {"2.0", 1408, 704},
    {"2.09", 1472, 704},  {"2.4", 1536, 640},   {"2.5", 1600, 640},  {"3.0", 1728, 576},
    {"4.0", 2048, 512},
};

/* ASPECT_RATIO_2048_BIN (pixart_sigma); the 4096 table (pipeline_sana) is exactly twice it. */
static const bin bins_2048[] = {
    {"0.25", 1024, 4096}, {"0.26", 1024, 3968}, {"0.27", 1024, 3840}, {"0.28", 1024, 3712},
    {"0.32", 1152, 3584}, {"0.33", 1152, 3456}, {"0.35", 1152, 3328}, {"0.4", 1280, 3200},
    {"0.42", 1280, 3072}, {"0.48", 1408, 2944}, {"0.5", 1408, 2816},  {"0.52", 1408, 2688},
    {"0.57", 1536, 2688}, {"0.6", 1536, 2560},  {"0.68", 1664, 2432}, {"0.72", 1664, 2304},
    {"0.78", 1792, 2304}, {"0.82", 1792, 2176}, {"0.88", 1920, 2176}, {"0.94", 1920, 2048},
    {"1.0", 2048, 2048},  {"1.07", 2048, 1920}, {"1.13", 2176, 1920}, {"1.21", 2176, 1792},
    {"1.29", 2304, 1792}, {"1.38", 2304, 1664}, {"1.46", 2432, 1664}, {"1.67", 2560, 1536},
    {"1.75", 2688, 1536}, {"2.0", 2816, 1408},  {"2.09", 2944, 1408}, {"2.4", 3072, 1280},
    {"2.5", 3200, 1280},  {"2.89", 3328, 1152}, {"3.0", 3456, 1152},  {"3.11", 3584, 1152},
    {"3.62", 3712, 1024}, {"3.75", 3840, 1024}, {"3.88", 3968, 1024}, {"4.0", 4096, 1024},
};

sana_status sn_resolution_bin(int32_t sample_size, int32_t height, int32_t width, int32_t *bin_h,
                              int32_t *bin_w) {
    const bin *table;
    size_t n;
    int32_t num, den; /* table values scaled by num/den */
    switch (sample_size) {
    case 16: table = bins_1024, n = sizeof bins_1024 / sizeof *bins_1024, num = 1, den = 2; break;
    case 32: table = bins_1024, n = sizeof bins_1024 / sizeof *bins_1024, num = 1, den = 1; break;
    case 64: table = bins_2048, n = sizeof bins_2048 / sizeof *bins_2048, num = 1, den = 1; break;
    case 128: table = bins_2048, n = sizeof bins_2048 / sizeof *bins_2048, num = 2, den = 1; break;
    default:
        return sn_fail(SANA_ERR_UNSUPPORTED,
                       "resolution binning: no aspect-ratio bins for transformer sample_size %d "
                       "(16, 32, 64 or 128); turn binning off", sample_size);
    }
    if (height <= 0 || width <= 0)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "resolution binning: size %dx%d", width, height);
    /* ar = float(height / width); min(keys, key=lambda r: abs(float(r) - ar)) keeps the first */
    double ar = (double)height / (double)width;
    size_t best = 0;
    double best_d = INFINITY;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(strtod(table[i].key, NULL) - ar);
        if (d < best_d) best_d = d, best = i;
    }
    *bin_h = table[best].h * num / den;
    *bin_w = table[best].w * num / den;
    return SANA_OK;
}

void sn_resolution_resized_size(int32_t h, int32_t w, int32_t out_h, int32_t out_w, int32_t *rh,
                                int32_t *rw) {
    /* ratio = max(new_height / orig_height, new_width / orig_width); int(orig * ratio) */
    double rh_ = (double)out_h / (double)h, rw_ = (double)out_w / (double)w;
    double ratio = rh_ > rw_ ? rh_ : rw_;
    *rw = (int32_t)((double)w * ratio);
    *rh = (int32_t)((double)h * ratio);
    /* never below the target (a rounding of the ratio could lose a row; the crop needs it) */
    if (*rw < out_w) *rw = out_w;
    if (*rh < out_h) *rh = out_h;
}

/* torch's linear interpolation index and weights for output index d of one axis
 * (align_corners=False): the source coordinate scale * (d + 0.5) - 0.5 in float32, clamped at 0. */
static void linear_index(int32_t in, int32_t out, int32_t d, int32_t *i0, int32_t *i1, float *l0,
                         float *l1) {
    float scale = (float)in / (float)out;
    float src = scale * ((float)d + 0.5f) - 0.5f;
    if (src < 0.0f) src = 0.0f;
    int32_t a = (int32_t)src;
    if (a > in - 1) a = in - 1;
    float lam = src - (float)a;
    if (lam < 0.0f) lam = 0.0f;
    if (lam > 1.0f) lam = 1.0f;
    *i0 = a;
    *i1 = a + (a < in - 1 ? 1 : 0);
    *l1 = lam;
    *l0 = 1.0f - lam;
}

void sn_resize_bilinear(const float *src, int64_t planes, int32_t h, int32_t w, float *dst,
                        int32_t oh, int32_t ow) {
    for (int64_t p = 0; p < planes; p++) {
        const float *s = src + p * (int64_t)h * w;
        float *d = dst + p * (int64_t)oh * ow;
        for (int32_t oy = 0; oy < oh; oy++) {
            int32_t y0, y1;
            float ly0, ly1;
            linear_index(h, oh, oy, &y0, &y1, &ly0, &ly1);
            const float *r0 = s + (int64_t)y0 * w, *r1 = s + (int64_t)y1 * w;
            for (int32_t ox = 0; ox < ow; ox++) {
                int32_t x0, x1;
                float lx0, lx1;
                linear_index(w, ow, ox, &x0, &x1, &lx0, &lx1);
                /* torch's generic kernel: out = t0 * wh0 + t1 * wh1, t = x_0 * ww0 + x_1 * ww1 */
                float t0 = r0[x0] * lx0 + r0[x1] * lx1;
                float t1 = r1[x0] * lx0 + r1[x1] * lx1;
                d[(int64_t)oy * ow + ox] = t0 * ly0 + t1 * ly1;
            }
        }
    }
}

void sn_resize_and_crop(const float *src, int64_t planes, int32_t h, int32_t w, float *tmp,
                        float *dst, int32_t out_h, int32_t out_w) {
    int32_t rh, rw;
    sn_resolution_resized_size(h, w, out_h, out_w, &rh, &rw);
    const float *res = src;
    if (rh != h || rw != w) {
        sn_resize_bilinear(src, planes, h, w, tmp, rh, rw);
        res = tmp;
    }
    int32_t sy = (rh - out_h) / 2, sx = (rw - out_w) / 2;
    for (int64_t p = 0; p < planes; p++)
        for (int32_t y = 0; y < out_h; y++)
            memcpy(dst + (p * out_h + y) * (int64_t)out_w, res + (p * rh + y + sy) * (int64_t)rw + sx,
                   sizeof(float) * (size_t)out_w);
}
