/* diffusers' AutoencoderDC.tiled_decode (enable_tiling): latent tiles of tile_size/f at a stride
 * of tile_stride/f, each decoded on its own, blended linearly with the tile above and the tile
 * to the left (in place, in raster order, as diffusers does), cropped to tile_stride and
 * concatenated. Approximate by design (the attention stages see one tile only); kept for parity
 * with the reference. Tiles are blended on the host: they are small next to the decode. */
#include <stdlib.h>
#include <string.h>

#include "ae/dcae_internal.h"

sana_status sn_dcae_decode_image(const sn_dcae *ae, const sn_tensor *z, const sn_dcae_decode_opts *o,
                                 int64_t b, sn_tensor *y, sn_dcae_decode_stats *stats);
sana_status sn_dcae_decode_tiled(const sn_dcae *ae, const sn_tensor *z, const sn_dcae_decode_opts *o,
                                 sn_tensor *y, sn_dcae_decode_stats *stats);

typedef struct sn_dcae_tile {
    float *px; /* [3, th, tw] host */
    int64_t th, tw;
} sn_dcae_tile;

/* b[y] = a[-e + y] * (1 - y/e) + b[y] * (y/e) over the first e rows (vertical) or columns */
static void sn_dcae_blend(const sn_dcae_tile *a, sn_dcae_tile *b, int64_t C, int64_t extent,
                          int vertical) {
    int64_t e = vertical ? (a->th < b->th ? a->th : b->th) : (a->tw < b->tw ? a->tw : b->tw);
    e = e < extent ? e : extent;
    for (int64_t k = 0; k < e; k++) {
        /* torch: tensor * python float -> the scalar is rounded to float32 */
        const float w1 = (float)(1.0 - (double)k / (double)e), w2 = (float)((double)k / (double)e);
        for (int64_t c = 0; c < C; c++) {
            const float *ap = a->px + c * a->th * a->tw;
            float *bp = b->px + c * b->th * b->tw;
            if (vertical) {
                const float *ar = ap + (a->th - e + k) * a->tw;
                float *br = bp + k * b->tw;
                for (int64_t x = 0; x < b->tw; x++) {
                    const float t1 = ar[x] * w1, t2 = br[x] * w2;
                    br[x] = t1 + t2;
                }
            } else {
                for (int64_t r = 0; r < b->th; r++) {
                    const float t1 = ap[r * a->tw + a->tw - e + k] * w1, t2 = bp[r * b->tw + k] * w2;
                    bp[r * b->tw + k] = t1 + t2;
                }
            }
        }
    }
}

sana_status sn_dcae_decode_tiled(const sn_dcae *ae, const sn_tensor *z, const sn_dcae_decode_opts *o,
                                 sn_tensor *y, sn_dcae_decode_stats *stats) {
    const int64_t f = sn_dcae_spatial_factor(ae), L = z->shape[1], h = z->shape[2], w = z->shape[3];
    const int64_t C = y->shape[1], H = y->shape[2], W = y->shape[3];
    const int64_t ts = o->tile_size, st = o->tile_stride;
    if (ts <= 0 || st <= 0 || ts % f || st % f || st > ts)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT,
                       "DC-AE tiled decode: tile size %lld and stride %lld must be positive multiples of "
                       "%lld with stride <= size", (long long)ts, (long long)st, (long long)f);
    const int64_t tl = ts / f, sl = st / f, blend = ts - st;
    sn_dcae_decode_opts inner = *o;
    inner.tiled = 0;
    inner.tap = NULL;
    const size_t es = sn_dtype_size(z->dtype);
    if (h <= tl && w <= tl) { /* diffusers tiles only latents larger than one tile */
        for (int64_t b = 0; b < z->shape[0]; b++) {
            sn_tensor zb = *z, yb = *y;
            zb.shape[0] = yb.shape[0] = 1;
            zb.data = (char *)z->data + (size_t)(b * L * h * w) * es;
            yb.data = (char *)y->data + (size_t)(b * C * H * W) * sn_dtype_size(y->dtype);
            SN_TRY(sn_dcae_decode_image(ae, &zb, &inner, b, &yb, stats));
        }
        return SANA_OK;
    }
    const int64_t nr = (h + sl - 1) / sl, nc = (w + sl - 1) / sl;
    sn_dcae_tile *prev = calloc((size_t)nc, sizeof *prev), *cur = calloc((size_t)nc, sizeof *cur);
    float *row = malloc((size_t)W * sizeof(float));
    sana_status s = prev && cur && row ? SANA_OK : sn_fail(SANA_ERR_OUT_OF_MEMORY, "tiled decode");
    for (int64_t b = 0; b < z->shape[0] && s == SANA_OK; b++)
        for (int64_t ti = 0; ti < nr && s == SANA_OK; ti++) {
            for (int64_t tj = 0; tj < nc && s == SANA_OK; tj++) {
                const int64_t i0 = ti * sl, j0 = tj * sl;
                const int64_t th = (h - i0 < tl ? h - i0 : tl), tw = (w - j0 < tl ? w - j0 : tl);
                sn_tensor zt = {0}, yt = {0};
                s = sn_tensor_alloc(z->be, z->dtype, 4, SN_SHAPE(1, L, th, tw), &zt);
                if (s == SANA_OK) s = sn_tensor_alloc(z->be, y->dtype, 4, SN_SHAPE(1, C, th * f, tw * f), &yt);
                for (int64_t c = 0; c < L && s == SANA_OK; c++) /* z[b, c, i0:i0+th, j0:j0+tw] */
                    for (int64_t r = 0; r < th && s == SANA_OK; r++) {
                        sn_tensor d = {.dtype = z->dtype, .ndim = 1, .shape = {tw}, .be = z->be};
                        sn_tensor src = d;
                        d.data = (char *)zt.data + (size_t)((c * th + r) * tw) * es;
                        src.data = (char *)z->data + (size_t)(((b * L + c) * h + i0 + r) * w + j0) * es;
                        s = sn_copy(&d, &src);
                    }
                if (s == SANA_OK) s = sn_dcae_decode_image(ae, &zt, &inner, b, &yt, stats);
                cur[tj].th = th * f, cur[tj].tw = tw * f;
                free(cur[tj].px);
                cur[tj].px = s == SANA_OK ? malloc((size_t)sn_numel(&yt) * sizeof(float)) : NULL;
                if (s == SANA_OK && !cur[tj].px) s = sn_fail(SANA_ERR_OUT_OF_MEMORY, "tiled decode");
                if (s == SANA_OK) s = sn_download_f32(&yt, cur[tj].px);
                sn_tensor_free(&zt);
                sn_tensor_free(&yt);
            }
            /* blend with the tile above (already blended) and to the left, crop, place */
            for (int64_t tj = 0; tj < nc && s == SANA_OK; tj++) {
                if (ti > 0) sn_dcae_blend(&prev[tj], &cur[tj], C, blend, 1);
                if (tj > 0) sn_dcae_blend(&cur[tj - 1], &cur[tj], C, blend, 0);
                const int64_t ch = cur[tj].th < st ? cur[tj].th : st, cw = cur[tj].tw < st ? cur[tj].tw : st;
                const int64_t oy = ti * st, ox = tj * st;
                for (int64_t c = 0; c < C && s == SANA_OK; c++)
                    for (int64_t r = 0; r < ch && s == SANA_OK; r++) {
                        memcpy(row, cur[tj].px + (c * cur[tj].th + r) * cur[tj].tw, (size_t)cw * sizeof(float));
                        sn_tensor d = {.dtype = SN_F32, .ndim = 1, .shape = {cw}, .be = y->be};
                        d.data = (char *)y->data + (size_t)(((b * C + c) * H + oy + r) * W + ox) * sn_dtype_size(y->dtype);
                        s = sn_upload_convert(&d, SN_F32, row);
                    }
            }
            sn_dcae_tile *t = prev;
            prev = cur, cur = t;
        }
    for (int64_t j = 0; j < nc; j++) {
        if (prev) free(prev[j].px);
        if (cur) free(cur[j].px);
    }
    free(prev), free(cur), free(row);
    return s;
}
