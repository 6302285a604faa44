/* sana_image: 8-bit pixels the library allocates and frees, and PNG in/out. */
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "io/png_io.h"

sana_status sn_image_new(uint32_t width, uint32_t height, uint32_t channels, sana_image **out) {
    if (channels != 3 && channels != 4)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "image channels must be 3 or 4, not %u", channels);
    if (width == 0 || height == 0 || width > 65536 || height > 65536)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "image size %ux%u is out of range (1..65536)",
                       width, height);
    sana_image *im = calloc(1, sizeof *im);
    char *params = calloc(1, 1);
    uint8_t *px = calloc((size_t)width * height, channels);
    if (!im || !params || !px) {
        free(im);
        free(params);
        free(px);
        return sn_fail(SANA_ERR_OUT_OF_MEMORY, "image of %ux%u: out of memory", width, height);
    }
    im->width = width;
    im->height = height;
    im->channels = channels;
    im->stride = (size_t)width * channels;
    im->pixels = px;
    im->parameters = params;
    *out = im;
    return SANA_OK;
}

sana_status sana_image_create(uint32_t width, uint32_t height, uint32_t channels, sana_image **out) {
    sn_error_clear();
    if (!out) return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_image_create: out is NULL");
    *out = NULL;
    return sn_image_new(width, height, channels, out);
}

void sana_image_free(sana_image *image) {
    if (!image) return;
    free(image->pixels);
    free(image->parameters);
    free(image);
}

uint32_t sana_image_width(const sana_image *image) { return image ? image->width : 0; }
uint32_t sana_image_height(const sana_image *image) { return image ? image->height : 0; }
uint32_t sana_image_channels(const sana_image *image) { return image ? image->channels : 0; }
size_t sana_image_stride(const sana_image *image) { return image ? image->stride : 0; }
uint8_t *sana_image_pixels(sana_image *image) { return image ? image->pixels : NULL; }
const uint8_t *sana_image_pixels_const(const sana_image *image) { return image ? image->pixels : NULL; }
const char *sana_image_parameters(const sana_image *image) { return image ? image->parameters : ""; }

sana_status sana_image_save_png(const sana_image *image, const char *path, const char *parameters) {
    sn_error_clear();
    if (!image || !path)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_image_save_png: image or path is NULL");
    return sn_png_write(path, image->width, image->height, image->channels, image->stride,
                        image->pixels, parameters ? parameters : image->parameters);
}

sana_status sana_image_load_png(const char *path, sana_image **out) {
    sn_error_clear();
    if (!path || !out)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_image_load_png: path or out is NULL");
    *out = NULL;
    uint32_t w, h, c;
    uint8_t *px;
    char *params;
    SN_TRY(sn_png_read(path, &w, &h, &c, &px, &params));
    sana_image *im = calloc(1, sizeof *im);
    if (!im) {
        free(px);
        free(params);
        return sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    im->width = w;
    im->height = h;
    im->channels = c;
    im->stride = (size_t)w * c;
    im->pixels = px;
    im->parameters = params ? params : calloc(1, 1);
    if (!im->parameters) {
        sana_image_free(im);
        return sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    *out = im;
    return SANA_OK;
}
