/* Resolution handling of the SANA pipelines (spec solvers.md §7): the aspect-ratio bins chosen by
 * the transformer's sample_size, and the bilinear resize + centre crop back to the asked size. */
#ifndef SN_SOLVER_RESOLUTION_H
#define SN_SOLVER_RESOLUTION_H

#include <stdint.h>

#include "core/error.h"

/* PixArtImageProcessor.classify_height_width_bin with the bin table for `sample_size` (16: 512,
 * 32: 1024, 64: 2048, 128: 4096): the bin whose H/W key is nearest to height/width (first one on
 * ties). SANA_ERR_UNSUPPORTED for another sample_size (diffusers: "Invalid sample size"). */
sana_status sn_resolution_bin(int32_t sample_size, int32_t height, int32_t width, int32_t *bin_h,
                              int32_t *bin_w);

/* resize_and_crop_tensor: images [n, c, h, w] float -> [n, c, out_h, out_w]: scale by
 * max(out_h/h, out_w/w), sizes truncated, bilinear (align_corners=False, no antialias), then
 * the centre crop. `tmp` holds n*c*rh*rw floats for the resized planes, where
 * (rh, rw) = sn_resolution_resized_size(...). */
void sn_resolution_resized_size(int32_t h, int32_t w, int32_t out_h, int32_t out_w, int32_t *rh,
                                int32_t *rw);
void sn_resize_bilinear(const float *src, int64_t planes, int32_t h, int32_t w, float *dst,
                        int32_t oh, int32_t ow);
void sn_resize_and_crop(const float *src, int64_t planes, int32_t h, int32_t w, float *tmp,
                        float *dst, int32_t out_h, int32_t out_w);

#endif
