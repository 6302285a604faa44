/* Placeholder until the DC-AE lands (issue 6): the interface of dcae.h, refusing clearly. */
#include <math.h>
#include <string.h>

#include "ae/dcae.h"

#define SN_DCAE_NOT_YET(what) sn_fail(SANA_ERR_UNSUPPORTED, "%s: the DC-AE is not implemented yet", what)

void sn_dcae_config_sana(sn_dcae_config *cfg) { memset(cfg, 0, sizeof *cfg); }
sana_status sn_dcae_load(sn_backend *be, const char *dir, const char *variant, sn_dcae **out) {
    (void)be, (void)variant;
    *out = NULL;
    return SN_DCAE_NOT_YET(dir);
}
sana_status sn_dcae_create_random(sn_backend *be, const sn_dcae_config *cfg, uint64_t seed,
                                  sn_dcae **out) {
    (void)be, (void)cfg, (void)seed;
    *out = NULL;
    return SN_DCAE_NOT_YET("sn_dcae_create_random");
}
void sn_dcae_free(sn_dcae *ae) { (void)ae; }
const sn_dcae_config *sn_dcae_get_config(const sn_dcae *ae) { (void)ae; return NULL; }
int64_t sn_dcae_param_count(const sn_dcae *ae) { (void)ae; return 0; }
int32_t sn_dcae_latent_channels(const sn_dcae *ae) { (void)ae; return 32; }
int32_t sn_dcae_spatial_factor(const sn_dcae *ae) { (void)ae; return 32; }
float sn_dcae_scaling_factor(const sn_dcae *ae) { (void)ae; return 0.41407f; }
sana_status sn_dcae_check_latents(const sn_dcae *ae, int32_t ndim, const int64_t *shape,
                                  const char *what) {
    (void)ae, (void)ndim, (void)shape;
    return SN_DCAE_NOT_YET(what);
}
void sn_dcae_decode_opts_init(sn_dcae_decode_opts *o) {
    memset(o, 0, sizeof *o);
    o->tile_size = 512;
    o->tile_stride = 448;
}
void sn_dcae_decode_shape(const sn_dcae *ae, const sn_tensor *z, int64_t out_shape[4]) {
    (void)ae;
    out_shape[0] = z->shape[0], out_shape[1] = 3, out_shape[2] = z->shape[2] * 32,
    out_shape[3] = z->shape[3] * 32;
}
sana_status sn_dcae_decode(const sn_dcae *ae, const sn_tensor *z, const sn_dcae_decode_opts *opts,
                           sn_tensor *y) {
    (void)ae, (void)z, (void)opts, (void)y;
    return SN_DCAE_NOT_YET("sn_dcae_decode");
}
sn_dcae_decode_stats sn_dcae_last_decode_stats(void) {
    sn_dcae_decode_stats s = {0, 0, 0, 0};
    return s;
}
sana_status sn_dcae_encode(const sn_dcae *ae, const sn_tensor *x, sn_dcae_tap_fn tap,
                           void *tap_user, sn_tensor *z) {
    (void)ae, (void)x, (void)tap, (void)tap_user, (void)z;
    return SN_DCAE_NOT_YET("sn_dcae_encode");
}
void sn_dcae_to_rgb8(const float *chw, int64_t height, int64_t width, uint8_t *dst,
                     size_t dst_stride) {
    int64_t plane = height * width;
    for (int64_t y = 0; y < height; y++)
        for (int64_t x = 0; x < width; x++)
            for (int c = 0; c < 3; c++) {
                float v = chw[c * plane + y * width + x] * 0.5f + 0.5f;
                v = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
                dst[(size_t)y * dst_stride + (size_t)x * 3 + (size_t)c] = (uint8_t)rintf(v * 255.0f);
            }
}
void sn_dcae_from_rgb8(const uint8_t *src, size_t src_stride, int32_t channels, int64_t height,
                       int64_t width, float *chw) {
    int64_t plane = height * width;
    for (int64_t y = 0; y < height; y++)
        for (int64_t x = 0; x < width; x++)
            for (int c = 0; c < 3; c++)
                chw[c * plane + y * width + x] =
                    2.0f * ((float)src[(size_t)y * src_stride + (size_t)x * (size_t)channels + (size_t)c] / 255.0f) - 1.0f;
}
