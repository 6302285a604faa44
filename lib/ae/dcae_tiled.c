/* diffusers' AutoencoderDC.tiled_decode (enable_tiling): latent tiles of tile_size/f at a stride
 * of tile_stride/f, each decoded on its own, blended linearly with the tile above and the tile
 * to the left (in place, in raster order, as diffusers does), cropped to tile_stride and
 * concatenated. Approximate by design (the attention stages see one tile only); kept for parity
 * with the reference. Tiles are blended on the host: they are small next to the decode.
 *
 * Memory is taken once per call, for the first tile, which is the largest (the others are cut
 * at the right and bottom edges): its input and output on the device from the scratch arena,
 * with room after them for its decode, and two rows of tiles on the host. Every tile reuses
 * them, so tiles after the first allocate nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae/dcae_internal.h"

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

/* Runs the model on one tile: in [1, Ci, th, tw] -> out [1, Co, th*num/den, tw*num/den]. */
typedef sana_status (*sn_dcae_tile_fn)(const sn_dcae *ae, const sn_tensor *in, int64_t b, void *user,
                                       sn_tensor *out);
/* The scratch arena bytes fn takes for the tile `in` (its data is not read). */
typedef sana_status (*sn_dcae_tile_need_fn)(const sn_dcae *ae, const sn_tensor *in, void *user,
                                            size_t *bytes);

/* A [1, c, h, w] tensor at `data` (a tile's part of a buffer planned for the largest tile) */
static sn_tensor sn_dcae_tile_view(const sn_tensor *like, void *data, int64_t c, int64_t h, int64_t w) {
    return (sn_tensor){.dtype = like->dtype, .ndim = 4, .shape = {1, c, h, w}, .data = data, .be = like->be};
}

/* The tiling loop shared by decode and encode (diffusers' tiled_decode / tiled_encode): input
 * tiles of `tile` rows/cols at `stride`, outputs scaled by num/den, blended over `blend` output
 * rows/cols with the tile above and to the left, cropped to `crop`, placed at the tile origin
 * scaled. need (or NULL) says what fn takes from the arena, planned for the first tile. */
static sana_status sn_dcae_tiled(const sn_dcae *ae, const sn_tensor *in, int64_t tile, int64_t stride,
                                 int64_t num, int64_t den, int64_t blend, int64_t crop, sn_dcae_tile_fn fn,
                                 sn_dcae_tile_need_fn need, void *user, sn_tensor *out) {
    const int64_t Ci = in->shape[1], h = in->shape[2], w = in->shape[3];
    const int64_t C = out->shape[1], H = out->shape[2], W = out->shape[3];
    const size_t es = sn_dtype_size(in->dtype);
    const int64_t nr = (h + stride - 1) / stride, nc = (w + stride - 1) / stride;
    /* the largest tile: the first */
    const int64_t th0 = h < tile ? h : tile, tw0 = w < tile ? w : tile;
    const int64_t oh0 = th0 * num / den, ow0 = tw0 * num / den, tile_px = C * oh0 * ow0;
    const sn_tensor in0 = sn_dcae_tile_view(in, NULL, Ci, th0, tw0);
    size_t room = 0;
    if (need) SN_TRY(need(ae, &in0, user, &room));
    sn_backend *be = in->be;
    sn_arena_mark mark = sn_scratch_mark(be);
    const size_t in_bytes = (size_t)(Ci * th0 * tw0) * es, out_bytes = (size_t)tile_px * sn_dtype_size(out->dtype);
    void *in_buf = sn_arena_alloc(&be->scratch, in_bytes);
    void *out_buf = in_buf ? sn_arena_alloc_room(&be->scratch, out_bytes, room) : NULL;
    /* host: two rows of tiles (the row above, the row being made) and one output row */
    sn_dcae_tile *tiles = calloc((size_t)(2 * nc), sizeof *tiles), *prev = tiles, *cur = tiles + nc;
    float *px = malloc(((size_t)(2 * nc * tile_px) + (size_t)W) * sizeof(float));
    sana_status s = SANA_OK;
    if (!out_buf)
        s = sn_fail(SANA_ERR_OUT_OF_MEMORY, "tiled DC-AE: cannot take %zu bytes of tiles (+ %zu for their "
                    "model) from the %s backend's scratch arena", in_bytes + out_bytes, room, be->ops->name);
    else if (!tiles || !px)
        s = sn_fail(SANA_ERR_OUT_OF_MEMORY, "tiled DC-AE: %zu bytes of host tiles",
                    (size_t)(2 * nc * tile_px + W) * sizeof(float));
    float *row = px ? px + 2 * nc * tile_px : NULL;
    for (int64_t j = 0; j < 2 * nc && s == SANA_OK; j++) tiles[j].px = px + j * tile_px;
    for (int64_t b = 0; b < in->shape[0] && s == SANA_OK; b++)
        for (int64_t ti = 0; ti < nr && s == SANA_OK; ti++) {
            for (int64_t tj = 0; tj < nc && s == SANA_OK; tj++) {
                const int64_t i0 = ti * stride, j0 = tj * stride;
                const int64_t th = (h - i0 < tile ? h - i0 : tile), tw = (w - j0 < tile ? w - j0 : tile);
                sn_tensor it = sn_dcae_tile_view(in, in_buf, Ci, th, tw);
                sn_tensor ot = sn_dcae_tile_view(out, out_buf, C, th * num / den, tw * num / den);
                for (int64_t c = 0; c < Ci && s == SANA_OK; c++) /* in[b, c, i0:i0+th, j0:j0+tw] */
                    for (int64_t r = 0; r < th && s == SANA_OK; r++) {
                        sn_tensor d = {.dtype = in->dtype, .ndim = 1, .shape = {tw}, .be = in->be};
                        sn_tensor src = d;
                        d.data = (char *)it.data + (size_t)((c * th + r) * tw) * es;
                        src.data = (char *)in->data + (size_t)(((b * Ci + c) * h + i0 + r) * w + j0) * es;
                        s = sn_copy(&d, &src);
                    }
                if (s == SANA_OK) s = fn(ae, &it, b, user, &ot);
                cur[tj].th = th * num / den, cur[tj].tw = tw * num / den;
                if (s == SANA_OK) s = sn_download_f32(&ot, cur[tj].px);
            }
            /* blend with the tile above (already blended) and to the left, crop, place */
            for (int64_t tj = 0; tj < nc && s == SANA_OK; tj++) {
                if (ti > 0) sn_dcae_blend(&prev[tj], &cur[tj], C, blend, 1);
                if (tj > 0) sn_dcae_blend(&cur[tj - 1], &cur[tj], C, blend, 0);
                const int64_t oy = ti * stride * num / den, ox = tj * stride * num / den;
                int64_t ch = cur[tj].th < crop ? cur[tj].th : crop, cw = cur[tj].tw < crop ? cur[tj].tw : crop;
                ch = oy + ch > H ? H - oy : ch; /* the final [:H, :W] */
                cw = ox + cw > W ? W - ox : cw;
                for (int64_t c = 0; c < C && s == SANA_OK; c++)
                    for (int64_t r = 0; r < ch && s == SANA_OK; r++) {
                        memcpy(row, cur[tj].px + (c * cur[tj].th + r) * cur[tj].tw, (size_t)cw * sizeof(float));
                        /* a view of out (its dtype: bf16 on a GPU), converted from the host row */
                        sn_tensor d = {.dtype = out->dtype, .ndim = 1, .shape = {cw}, .be = out->be};
                        d.data = (char *)out->data + (size_t)(((b * C + c) * H + oy + r) * W + ox) * sn_dtype_size(out->dtype);
                        s = sn_upload_convert(&d, SN_F32, row);
                    }
            }
            sn_dcae_tile *t = prev;
            prev = cur, cur = t;
        }
    free(tiles);
    free(px);
    sn_scratch_reset(be, mark);
    return s;
}

typedef struct sn_dcae_dec_user {
    const sn_dcae_decode_opts *o;
    sn_dcae_decode_stats *stats;
    sn_dcae_tap_fn tap; /* the caller's tap, or NULL */
    void *tap_user;
    int64_t b, tile; /* the tile being decoded: image b, index in raster order */
} sn_dcae_dec_user;

/* The caller's tap inside a tile: "tiles.<k>." before the module name, so that the stages of
 * overlapping tiles keep apart. */
static void sn_dcae_tile_tap(void *user, const char *name, int64_t b, sn_tensor *t) {
    const sn_dcae_dec_user *u = user;
    char full[160];
    snprintf(full, sizeof full, "tiles.%lld.%s", (long long)u->tile, name);
    u->tap(u->tap_user, full, b, t);
}

static sana_status sn_dcae_decode_tile(const sn_dcae *ae, const sn_tensor *in, int64_t b, void *user,
                                       sn_tensor *out) {
    sn_dcae_dec_user *u = user;
    if (b != u->b) u->b = b, u->tile = 0;
    sana_status s = sn_dcae_decode_image(ae, in, u->o, b, out, u->stats);
    u->tile++;
    return s;
}

static sana_status sn_dcae_decode_tile_need(const sn_dcae *ae, const sn_tensor *in, void *user, size_t *bytes) {
    sn_dcae_dec_user *u = user;
    return sn_dcae_decode_need(ae, in, u->o, bytes);
}

sana_status sn_dcae_decode_tiled(const sn_dcae *ae, const sn_tensor *z, const sn_dcae_decode_opts *o,
                                 sn_tensor *y, sn_dcae_decode_stats *stats) {
    const int64_t f = sn_dcae_spatial_factor(ae), h = z->shape[2], w = z->shape[3];
    const int64_t ts = o->tile_size, st = o->tile_stride;
    if (ts <= 0 || st <= 0 || ts % f || st % f || st > ts)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT,
                       "DC-AE tiled decode: tile size %lld and stride %lld must be positive multiples of "
                       "%lld with stride <= size", (long long)ts, (long long)st, (long long)f);
    sn_dcae_decode_opts inner = *o;
    inner.tiled = 0;
    sn_dcae_dec_user u = {&inner, stats, o->tap, o->tap_user, -1, 0};
    if (h <= ts / f && w <= ts / f) { /* diffusers tiles only latents larger than one tile */
        const size_t es = sn_dtype_size(z->dtype);
        for (int64_t b = 0; b < z->shape[0]; b++) {
            sn_tensor zb = *z, yb = *y;
            zb.shape[0] = yb.shape[0] = 1;
            zb.data = (char *)z->data + (size_t)(b * sn_numel(&zb)) * es;
            yb.data = (char *)y->data + (size_t)(b * sn_numel(&yb)) * sn_dtype_size(y->dtype);
            SN_TRY(sn_dcae_decode_image(ae, &zb, &inner, b, &yb, stats));
        }
        return SANA_OK;
    }
    if (o->tap) inner.tap = sn_dcae_tile_tap, inner.tap_user = &u;
    return sn_dcae_tiled(ae, z, ts / f, st / f, f, 1, ts - st, st, sn_dcae_decode_tile, sn_dcae_decode_tile_need,
                         &u, y);
}

static sana_status sn_dcae_encode_tile(const sn_dcae *ae, const sn_tensor *in, int64_t b, void *user,
                                       sn_tensor *out) {
    (void)b, (void)user;
    return sn_dcae_encode(ae, in, NULL, NULL, out);
}

sana_status sn_dcae_encode_tiled(const sn_dcae *ae, const sn_tensor *x, int32_t tile_size,
                                 int32_t tile_stride, sn_tensor *z) {
    const int64_t f = sn_dcae_spatial_factor(ae), ts = tile_size, st = tile_stride;
    if (ts <= 0 || st <= 0 || ts % f || st % f || st > ts)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT,
                       "DC-AE tiled encode: tile size %lld and stride %lld must be positive multiples of "
                       "%lld with stride <= size", (long long)ts, (long long)st, (long long)f);
    if (x->ndim != 4 || z->ndim != 4 || x->shape[2] % f || x->shape[3] % f || z->shape[0] != x->shape[0] ||
        z->shape[2] * f != x->shape[2] || z->shape[3] * f != x->shape[3])
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "DC-AE tiled encode: image and latent shapes do not fit");
    if (x->shape[2] <= ts && x->shape[3] <= ts) return sn_dcae_encode(ae, x, NULL, NULL, z);
    return sn_dcae_tiled(ae, x, ts, st, 1, f, (ts - st) / f, st / f, sn_dcae_encode_tile, NULL, NULL, z);
}
