/* The public low-level DC-AE calls: latents -> RGB images, RGB image -> latents. The pipeline's
 * latents are in diffusion space (raw * scaling_factor); these calls convert, as diffusers'
 * SanaPipeline and the img2img pipelines do. */
#include <stdlib.h>
#include <string.h>

#include "ae/dcae.h"
#include "api/internal.h"

void sana_decode_params_init(sana_decode_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->mode = SANA_DECODE_FULL;
    p->tile_size = 512;
    p->tile_stride = 448;
}

static sana_status sn_api_need_vae(const sana_model *model, const char *fn) {
    if (!model) return sn_fail(SANA_ERR_INVALID_ARGUMENT, "%s: model is NULL", fn);
    if (!model->vae)
        return sn_fail(SANA_ERR_UNSUPPORTED, "%s: the model %s was loaded without its vae", fn,
                       model->path ? model->path : "");
    return SANA_OK;
}

static sana_status sn_decode(sn_backend *be, const sana_model *model, const sana_tensor *latents,
                             const sana_decode_params *params, sana_image **images) {
    const char *fn = "sana_decode_latents";
    SN_TRY(sn_api_need_vae(model, fn));
    if (!latents || !images)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "%s: latents or images is NULL", fn);
    sana_decode_params p;
    sana_decode_params_init(&p);
    SN_TRY(sn_params_read(&p, sizeof p, params, "sana_decode_params"));
    if (p.mode != SANA_DECODE_FULL && p.mode != SANA_DECODE_TILED)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "%s: unknown decode mode %d", fn, (int)p.mode);
    const sn_dcae *ae = model->vae;
    SN_TRY(sn_dcae_check_latents(ae, latents->ndim, latents->shape, fn));
    const int64_t B = latents->shape[0];
    for (int64_t b = 0; b < B; b++) images[b] = NULL;
    /* host bytes: the latents' copy, the decoded floats, the images; on the CPU also the decoded
     * tensor and the decoder's full-resolution activations for one image at a time (two of its
     * first stage's width, or the budget when one is set) */
    const double f = sn_dcae_spatial_factor(ae), px1 = (double)latents->shape[2] * latents->shape[3] * f * f;
    double bytes = (double)sana_tensor_numel(latents) * sizeof(float) + B * px1 * 3.0 * (sizeof(float) + 1.0);
    if (be->kind == SANA_BACKEND_CPU)
        bytes += B * px1 * 3.0 * sizeof(float) +
                 (p.memory_budget ? (double)p.memory_budget
                                  : px1 * sn_dcae_get_config(ae)->dec_width[0] * sizeof(float) * 2.0);
    SN_TRY(sn_api_check_memory(bytes, fn, "these latents"));

    /* vae.decode(latents / scaling_factor); activations on the context's backend */
    const int64_t n = sana_tensor_numel(latents);
    const float sf = sn_dcae_scaling_factor(ae);
    float *host = malloc((size_t)n * sizeof(float));
    if (!host) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
    for (int64_t i = 0; i < n; i++) host[i] = latents->data[i] / sf;
    sn_tensor z = {0}, y = {0};
    int64_t oshape[4];
    sana_status st = sn_tensor_alloc(be, be->act_dtype, 4, latents->shape, &z);
    if (st == SANA_OK) st = sn_upload_convert(&z, SN_F32, host);
    free(host);
    host = NULL;
    if (st == SANA_OK) {
        sn_dcae_decode_shape(ae, &z, oshape);
        st = sn_tensor_alloc(be, be->act_dtype, 4, oshape, &y);
    }
    sn_dcae_decode_opts o;
    sn_dcae_decode_opts_init(&o);
    o.memory_budget = p.memory_budget;
    o.tiled = p.mode == SANA_DECODE_TILED;
    o.tile_size = p.tile_size;
    o.tile_stride = p.tile_stride;
    if (st == SANA_OK) st = sn_dcae_decode(ae, &z, &o, &y);
    sn_tensor_free(&z);
    /* pixels: (x / 2 + 0.5).clamp(0, 1) * 255, rounded, per image */
    const int64_t H = oshape[2], W = oshape[3], plane = 3 * H * W;
    if (st == SANA_OK && (H > UINT32_MAX || W > UINT32_MAX))
        st = sn_fail(SANA_ERR_INVALID_ARGUMENT, "%s: the image would be too large", fn);
    if (st == SANA_OK && !(host = malloc((size_t)(B * plane) * sizeof(float))))
        st = sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
    if (st == SANA_OK) st = sn_download_f32(&y, host);
    sn_tensor_free(&y);
    for (int64_t b = 0; b < B && st == SANA_OK; b++) {
        st = sn_image_new((uint32_t)W, (uint32_t)H, 3, &images[b]);
        if (st == SANA_OK)
            sn_dcae_to_rgb8(host + b * plane, H, W, images[b]->pixels, images[b]->stride);
    }
    free(host);
    if (st != SANA_OK)
        for (int64_t b = 0; b < B; b++) {
            sana_image_free(images[b]);
            images[b] = NULL;
        }
    return st;
}

sana_status sana_decode_latents(sana_context *ctx, const sana_model *model, const sana_tensor *latents,
                                const sana_decode_params *params, sana_image **images) {
    if (!ctx) return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_decode_latents: ctx is NULL");
    sn_api_enter(ctx);
    if (model && model->be->ops != ctx->be->ops)
        return sn_api_leave(ctx, sn_fail(SANA_ERR_INVALID_ARGUMENT,
                                         "sana_decode_latents: the model was loaded on another kind of backend"));
    return sn_api_leave(ctx, sn_decode(ctx->be, model, latents, params, images));
}

static sana_status sn_encode(sn_backend *be, const sana_model *model, const sana_image *image, sana_tensor **latents) {
    const char *fn = "sana_encode_image";
    SN_TRY(sn_api_need_vae(model, fn));
    if (!image || !latents) return sn_fail(SANA_ERR_INVALID_ARGUMENT, "%s: image or latents is NULL", fn);
    *latents = NULL;
    const sn_dcae *ae = model->vae;
    const int64_t f = sn_dcae_spatial_factor(ae), H = image->height, W = image->width;
    if (image->channels != 3 && image->channels != 4)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "%s: the image has %u channels; RGB or RGBA expected", fn,
                       image->channels);
    if (H < f || W < f || H % f || W % f)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT,
                       "%s: the image is %lld x %lld; width and height must be positive multiples of %lld",
                       fn, (long long)W, (long long)H, (long long)f);
    /* host bytes: the image as floats; on the CPU also its tensor and the encoder's
     * full-resolution activations (two of its first stage's width) */
    double bytes = 3.0 * H * W * sizeof(float);
    if (be->kind == SANA_BACKEND_CPU)
        bytes += 3.0 * H * W * sizeof(float) +
                 (double)H * W * sn_dcae_get_config(ae)->enc_width[0] * sizeof(float) * 2.0;
    SN_TRY(sn_api_check_memory(bytes, fn, "this image"));
    float *chw = malloc((size_t)(3 * H * W) * sizeof(float));
    if (!chw) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
    sn_dcae_from_rgb8(image->pixels, image->stride, (int32_t)image->channels, H, W, chw);
    const int64_t zshape[4] = {1, sn_dcae_latent_channels(ae), H / f, W / f};
    sn_tensor x = {0}, z = {0};
    sana_status st = sn_tensor_alloc(be, be->act_dtype, 4, SN_SHAPE(1, 3, H, W), &x);
    if (st == SANA_OK) st = sn_upload_convert(&x, SN_F32, chw);
    free(chw);
    if (st == SANA_OK) st = sn_tensor_alloc(be, be->act_dtype, 4, zshape, &z);
    if (st == SANA_OK) st = sn_dcae_encode(ae, &x, NULL, NULL, &z);
    sn_tensor_free(&x);
    sana_tensor *out = NULL;
    if (st == SANA_OK) st = sn_api_tensor_new(4, zshape, &out);
    if (st == SANA_OK) st = sn_download_f32(&z, out->data);
    sn_tensor_free(&z);
    if (st == SANA_OK) { /* latent = encode(x) * scaling_factor */
        const float sf = sn_dcae_scaling_factor(ae);
        const int64_t n = sana_tensor_numel(out);
        for (int64_t i = 0; i < n; i++) out->data[i] *= sf;
        *latents = out;
    } else {
        sana_tensor_free(out);
    }
    return st;
}

sana_status sana_encode_image(sana_context *ctx, const sana_model *model, const sana_image *image,
                              sana_tensor **latents) {
    if (!ctx) return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_encode_image: ctx is NULL");
    sn_api_enter(ctx);
    if (model && model->be->ops != ctx->be->ops)
        return sn_api_leave(ctx, sn_fail(SANA_ERR_INVALID_ARGUMENT,
                                         "sana_encode_image: the model was loaded on another kind of backend"));
    return sn_api_leave(ctx, sn_encode(ctx->be, model, image, latents));
}
