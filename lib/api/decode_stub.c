/* Placeholder until the DC-AE calls land (issue 6). */
#include <string.h>

#include "api/internal.h"

#define SN_NOT_YET(what) sn_fail(SANA_ERR_UNSUPPORTED, "%s is not implemented yet in this libsana", what)

void sana_decode_params_init(sana_decode_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->tile_size = 512;
    p->tile_stride = 448;
}
sana_status sana_decode_latents(sana_context *ctx, const sana_model *model, const sana_tensor *latents,
                                const sana_decode_params *params, sana_image **images) {
    (void)model;
    (void)latents;
    (void)params;
    (void)images;
    if (!ctx) return SN_NOT_YET("sana_decode_latents");
    sn_api_enter(ctx);
    return sn_api_leave(ctx, SN_NOT_YET("sana_decode_latents"));
}

sana_status sana_encode_image(sana_context *ctx, const sana_model *model, const sana_image *image,
                              sana_tensor **latents) {
    (void)model;
    (void)image;
    (void)latents;
    if (!ctx) return SN_NOT_YET("sana_encode_image");
    sn_api_enter(ctx);
    return sn_api_leave(ctx, SN_NOT_YET("sana_encode_image"));
}

