/* DC-AE building blocks: ResBlock and the upsampler on row bands, EfficientViTBlock on whole
 * tensors. Shapes in comments are per image ([1, C, H, W] written [C, H, W]). */
#include <stdarg.h>
#include <stdio.h>

#include "ae/dcae_internal.h"

sn_tensor sn_dcae_channels(const sn_tensor *t, int64_t c0, int64_t n) {
    sn_tensor v = *t;
    int64_t plane = t->shape[2] * t->shape[3];
    v.shape[1] = n; /* address arithmetic as integers: in a dry run data is a stand-in */
    if (t->data) v.data = (void *)((uintptr_t)t->data + (size_t)(c0 * plane) * sn_dtype_size(t->dtype));
    return v;
}

sana_status sn_dcae_copy_rows(const sn_tensor *src, int64_t src_r0, sn_tensor *dst, int64_t dst_r0,
                              int64_t n) {
    const int64_t C = dst->shape[1], W = dst->shape[3];
    const size_t es = sn_dtype_size(dst->dtype);
    for (int64_t c = 0; c < C; c++) { /* each channel's rows are contiguous on both sides */
        sn_tensor s = {.dtype = src->dtype, .ndim = 1, .shape = {n * W}, .be = src->be};
        sn_tensor d = {.dtype = dst->dtype, .ndim = 1, .shape = {n * W}, .be = dst->be};
        s.data = (char *)src->data + (size_t)((c * src->shape[2] + src_r0) * W) * es;
        d.data = (char *)dst->data + (size_t)((c * dst->shape[2] + dst_r0) * W) * es;
        SN_TRY(sn_copy(&d, &s));
    }
    return SANA_OK;
}

void sn_dcae_tap_call(const sn_dcae_tap *tap, sn_tensor *t, const char *fmt, ...) {
    if (!tap || !tap->fn) return;
    char name[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    tap->fn(tap->user, name, tap->b, t);
}

/* --- ResBlock on a band ------------------------------------------------------------------------ */

static int64_t sn_max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t sn_min64(int64_t a, int64_t b) { return a < b ? a : b; }

sana_status sn_dcae_res_band(sn_dcae_mem *m, const sn_dcae_block_w *blk, sn_tensor *x,
                             int64_t *x_row0, int64_t h_full, int64_t o0, int64_t o1) {
    const sn_dcae_res *r = &blk->res;
    const int64_t C = blk->channels, W = x->shape[3];
    /* conv2 reads one halo row each side of [o0, o1) from conv1's output */
    const int64_t m0 = sn_max64(o0 - 1, 0), m1 = sn_min64(o1 + 1, h_full);
    sn_tensor t1, t2;
    SN_TRY(sn_dcae_mem_tensor(m, C, m1 - m0, W, &t1));                 /* [C, m1-m0, W] */
    SN_TRY(sn_dcae_conv_band(m, x, *x_row0, h_full, &r->conv1_w, &r->conv1_b, 1, 1, 1, &t1, m0));
    SN_DCAE_RUN(m, sn_unary(blk->act, &t1, &t1));
    SN_TRY(sn_dcae_mem_tensor(m, C, o1 - o0, W, &t2));                 /* [C, o1-o0, W] */
    SN_TRY(sn_dcae_conv_band(m, &t1, m0, h_full, &r->conv2_w, NULL, 1, 1, 1, &t2, o0));
    sn_dcae_mem_free(m, &t1);
    SN_DCAE_RUN(m, sn_channel_norm(&t2, &r->norm_w, &r->norm_b, SN_DCAE_NORM_EPS, SN_ACT_NONE, &t2));
    SN_DCAE_RUN(m, sn_shortcut_dup(x, *x_row0, 1, &t2, o0)); /* + residual (rows o0..o1 of x) */
    sn_dcae_mem_free(m, x);
    *x = t2;
    *x_row0 = o0;
    return SANA_OK;
}

/* --- upsampler on a band ----------------------------------------------------------------------- */

void sn_dcae_up_rows(int32_t interpolate, int64_t h_full, int64_t o0, int64_t o1, int64_t *lo, int64_t *hi) {
    if (interpolate) { /* a 3x3 conv over the nearest-upsampled input: its rows o0-1..o1 of 2H */
        *lo = sn_max64(o0 - 1, 0) / 2;
        *hi = sn_min64(o1, 2 * h_full - 1) / 2 + 1;
    } else { /* pixel_shuffle of a 3x3 conv at the input's resolution: conv rows o0/2..(o1-1)/2 */
        *lo = sn_max64(o0 / 2 - 1, 0);
        *hi = sn_min64((o1 - 1) / 2 + 2, h_full);
    }
}

sana_status sn_dcae_up_band(sn_dcae_mem *m, const sn_tensor *w, const sn_tensor *b, int32_t interpolate,
                            int32_t shortcut, sn_tensor *x, int64_t *x_row0, int64_t h_full, int64_t o0,
                            int64_t o1) {
    const int64_t Co = interpolate ? w->shape[0] : w->shape[0] / 4, W = x->shape[3] * 2;
    sn_tensor y;
    SN_TRY(sn_dcae_mem_tensor(m, Co, o1 - o0, W, &y)); /* [Co, o1-o0, 2w] */
    if (interpolate) { /* conv3x3(nearest_x2(x)), the upsampling fused into the conv's reads */
        SN_TRY(sn_dcae_conv_band(m, x, *x_row0, h_full, w, b, 2, 1, 1, &y, o0));
    } else {
        /* pixel_shuffle(conv3x3(x), 2): conv rows [t0, t1) at the input's resolution, then
         * y[c, 2Y+i, 2X+j] = t[4c + 2i + j, Y, X], which is shortcut_dup with repeat 1 (4 Co input
         * channels) added to zeros: a copy, so the sum below rounds as torch's x + y does. */
        const int64_t t0 = o0 / 2, t1 = o1 > o0 ? (o1 - 1) / 2 + 1 : t0;
        sn_tensor t;
        SN_TRY(sn_dcae_mem_tensor(m, 4 * Co, t1 - t0, W / 2, &t)); /* [4Co, t1-t0, w] */
        SN_TRY(sn_dcae_conv_band(m, x, *x_row0, h_full, w, b, 1, 1, 1, &t, t0));
        SN_DCAE_RUN(m, sn_fill(&y, 0.0f));
        SN_DCAE_RUN(m, sn_shortcut_dup(&t, t0, 2, &y, o0));
        sn_dcae_mem_free(m, &t);
    }
    /* + pixel_shuffle(repeat_interleave(x)) */
    if (shortcut) SN_DCAE_RUN(m, sn_shortcut_dup(x, *x_row0, 2, &y, o0));
    sn_dcae_mem_free(m, x);
    *x = y;
    *x_row0 = o0;
    return SANA_OK;
}

/* --- EfficientViTBlock on the whole tensor ------------------------------------------------------ */

/* The multi-scale qkv of rows [r0, r1) of x into cat [(1 + n_ms) 3C, r1 - r0, W]: qkv = to_qkv(x)
 * (1x1, no bias), and per branch a depthwise kxk conv then a grouped 1x1 (32-channel groups),
 * concatenated. The kxk convs need k/2 halo rows, recomputed from x. */
static sana_status sn_dcae_qkv_rows(sn_dcae_mem *m, const sn_dcae_block_w *blk, int32_t d,
                                    const sn_tensor *x, int64_t r0, int64_t r1, sn_tensor *cat) {
    const sn_dcae_evit *e = &blk->evit;
    const int64_t C = blk->channels, H = x->shape[2], W = x->shape[3], heads = C / d, rows = r1 - r0;
    int64_t halo = 0;
    for (int32_t s = 0; s < e->n_ms; s++) halo = e->ms_kernel[s] / 2 > halo ? e->ms_kernel[s] / 2 : halo;
    const int64_t a = r0 - halo > 0 ? r0 - halo : 0, b = r1 + halo < H ? r1 + halo : H, n = b - a;
    const int whole = a == r0 && b == r1; /* no halo rows: write straight into cat */
    sn_tensor xc = *x, qkv;
    if (a != 0 || b != H) {
        SN_TRY(sn_dcae_mem_tensor(m, C, n, W, &xc));
        SN_DCAE_RUN(m, sn_dcae_copy_rows(x, a, &xc, 0, n));
    }
    if (whole) {
        qkv = sn_dcae_channels(cat, 0, 3 * C);
    } else {
        SN_TRY(sn_dcae_mem_tensor(m, 3 * C, n, W, &qkv));
    }
    SN_TRY(sn_dcae_conv(m, &xc, &e->qkv_w, NULL, 1, 0, 1, &qkv)); /* [3C, n, W] */
    if (a != 0 || b != H) sn_dcae_mem_free(m, &xc);
    if (!whole) {
        sn_tensor dst = sn_dcae_channels(cat, 0, 3 * C);
        SN_DCAE_RUN(m, sn_dcae_copy_rows(&qkv, r0 - a, &dst, 0, rows));
    }
    for (int32_t s = 0; s < e->n_ms; s++) {
        const int32_t k = e->ms_kernel[s];
        sn_tensor tmp, ms, dst = sn_dcae_channels(cat, (1 + s) * 3 * C, 3 * C);
        SN_TRY(sn_dcae_mem_tensor(m, 3 * C, n, W, &tmp));
        SN_TRY(sn_dcae_conv(m, &qkv, &e->ms_in_w[s], NULL, 1, k / 2, (int32_t)(3 * C), &tmp));
        if (whole) {
            SN_TRY(sn_dcae_conv(m, &tmp, &e->ms_out_w[s], NULL, 1, 0, (int32_t)(3 * heads), &dst));
        } else {
            SN_TRY(sn_dcae_mem_tensor(m, 3 * C, n, W, &ms));
            SN_TRY(sn_dcae_conv(m, &tmp, &e->ms_out_w[s], NULL, 1, 0, (int32_t)(3 * heads), &ms));
            SN_DCAE_RUN(m, sn_dcae_copy_rows(&ms, r0 - a, &dst, 0, rows));
            sn_dcae_mem_free(m, &ms);
        }
        sn_dcae_mem_free(m, &tmp);
    }
    if (!whole) sn_dcae_mem_free(m, &qkv);
    return SANA_OK;
}

/* Linear attention of every token at once, then to_out: out [C, H, W]. */
static sana_status sn_dcae_attn_whole(sn_dcae_mem *m, const sn_dcae_block_w *blk, int32_t d,
                                      const sn_tensor *x, sn_tensor *out) {
    const sn_dcae_evit *e = &blk->evit;
    const int64_t C = blk->channels, H = x->shape[2], W = x->shape[3];
    const int64_t nb = 1 + e->n_ms, G = nb * C / d;
    sn_tensor cat, att, c4, a4;
    SN_TRY(sn_dcae_mem_tensor(m, nb * 3 * C, H, W, &cat)); /* [(1+n_ms) 3C, H, W] */
    SN_TRY(sn_dcae_qkv_rows(m, blk, d, x, 0, H, &cat));
    SN_TRY(sn_dcae_mem_tensor(m, nb * C, H, W, &att)); /* [(1+n_ms) C, H, W] */
    SN_TRY(sn_tensor_reshape(&cat, 4, SN_SHAPE(1, G, 3 * d, H * W), &c4));
    SN_TRY(sn_tensor_reshape(&att, 4, SN_SHAPE(1, G, d, H * W), &a4));
    SN_TRY(sn_dcae_linattn(m, &c4, SN_DCAE_ATTN_EPS, &a4));
    sn_dcae_mem_free(m, &cat);
    SN_TRY(sn_dcae_mem_tensor(m, C, H, W, out));
    SN_TRY(sn_dcae_conv(m, &att, &e->out_w, NULL, 1, 0, 1, out));
    sn_dcae_mem_free(m, &att);
    return SANA_OK;
}

/* The same in chunks of `rows` rows: a first pass sums every head's state over all tokens, a
 * second reads the tokens out (recomputing each chunk's qkv). */
static sana_status sn_dcae_attn_chunked(sn_dcae_mem *m, const sn_dcae_block_w *blk, int32_t d,
                                        const sn_tensor *x, int64_t rows, sn_tensor *out) {
    const sn_dcae_evit *e = &blk->evit;
    const int64_t C = blk->channels, H = x->shape[2], W = x->shape[3];
    const int64_t nb = 1 + e->n_ms, G = nb * C / d;
    sn_tensor st, cat, c4, att, a4, o;
    /* out first, so that the chunks' temporaries go around it, not under it (pass 1 holds out
     * and every temporary pass 0 has, so this adds nothing to the peak) */
    SN_TRY(sn_dcae_mem_tensor(m, C, H, W, out));
    /* per head [d+1, d], fp32 whatever the activation dtype: it sums over every chunk */
    SN_TRY(sn_dcae_mem_tensor_dt(m, SN_F32, G, d + 1, d, &st));
    SN_DCAE_RUN(m, sn_fill(&st, 0.0f));
    for (int pass = 0; pass < 2; pass++)
        for (int64_t r0 = 0; r0 < H; r0 += rows) {
            const int64_t r1 = r0 + rows < H ? r0 + rows : H, n = (r1 - r0) * W;
            SN_TRY(sn_dcae_mem_tensor(m, nb * 3 * C, r1 - r0, W, &cat));
            SN_TRY(sn_dcae_qkv_rows(m, blk, d, x, r0, r1, &cat));
            SN_TRY(sn_tensor_reshape(&cat, 4, SN_SHAPE(1, G, 3 * d, n), &c4));
            if (pass == 0) {
                SN_TRY(sn_dcae_linattn_state(m, &c4, &st));
                sn_dcae_mem_free(m, &cat);
                continue;
            }
            SN_TRY(sn_dcae_mem_tensor(m, nb * C, r1 - r0, W, &att));
            SN_TRY(sn_tensor_reshape(&att, 4, SN_SHAPE(1, G, d, n), &a4));
            SN_TRY(sn_dcae_linattn_apply(m, &c4, &st, SN_DCAE_ATTN_EPS, &a4));
            sn_dcae_mem_free(m, &cat);
            SN_TRY(sn_dcae_mem_tensor(m, C, r1 - r0, W, &o));
            SN_TRY(sn_dcae_conv(m, &att, &e->out_w, NULL, 1, 0, 1, &o));
            sn_dcae_mem_free(m, &att);
            SN_DCAE_RUN(m, sn_dcae_copy_rows(&o, 0, out, r0, r1 - r0));
            sn_dcae_mem_free(m, &o);
        }
    sn_dcae_mem_free(m, &st);
    return SANA_OK;
}

/* x + RMSNorm(to_out(MLA(x))): the (1 + n_ms) 3C channels of the multi-scale qkv are read as
 * heads of [q; k; v] (head_dim rows each), ReLU on q and k, linear attention. Large images run
 * in fixed chunks of rows (set by the shape, never by the budget). */
static sana_status sn_dcae_attn(sn_dcae_mem *m, const sn_dcae_block_w *blk, int32_t d,
                                int64_t chunk_floats, sn_tensor *x) {
    const sn_dcae_evit *e = &blk->evit;
    const int64_t C = blk->channels, H = x->shape[2], W = x->shape[3];
    const int64_t per_row = (1 + e->n_ms + 3) * 3 * C * W; /* cat + qkv + branch temporaries */
    int64_t rows = chunk_floats / (per_row > 0 ? per_row : 1);
    rows = rows < 1 ? 1 : rows;
    sn_tensor out;
    if (rows >= H || !sn_has_linear_attention_chunks(x->be)) /* the latter: a one-shot backend */
        SN_TRY(sn_dcae_attn_whole(m, blk, d, x, &out));
    else
        SN_TRY(sn_dcae_attn_chunked(m, blk, d, x, rows, &out));
    SN_DCAE_RUN(m, sn_channel_norm(&out, &e->attn_norm_w, &e->attn_norm_b, SN_DCAE_NORM_EPS, SN_ACT_NONE, &out));
    SN_DCAE_RUN(m, sn_binary(SN_ADD, &out, x, &out));
    sn_dcae_mem_free(m, x);
    *x = out;
    return SANA_OK;
}

/* GLUMBConv on rows [r0, r1) of x: RMSNorm(point(val * silu(gate))) with
 * [val; gate] = dw3x3(silu(inv(x))), written to rows [r0, r1) of out (residual not added).
 * The 3x3 depthwise conv needs one halo row each side, recomputed from x. */
static sana_status sn_dcae_glumb_rows(sn_dcae_mem *m, const sn_dcae_block_w *blk, const sn_tensor *x,
                                      int64_t r0, int64_t r1, sn_tensor *out) {
    const sn_dcae_evit *e = &blk->evit;
    const int64_t C = blk->channels, Hd = SN_DCAE_GLU_EXPAND * C, H = x->shape[2], W = x->shape[3];
    const int64_t a = r0 > 0 ? r0 - 1 : 0, b = r1 < H ? r1 + 1 : H, n = b - a;
    const int whole = a == 0 && b == H;
    sn_tensor xc = *x, h, h2, p;
    if (!whole) { /* x rows [a, b) */
        SN_TRY(sn_dcae_mem_tensor(m, C, n, W, &xc));
        SN_DCAE_RUN(m, sn_dcae_copy_rows(x, a, &xc, 0, n));
    }
    SN_TRY(sn_dcae_mem_tensor(m, 2 * Hd, n, W, &h)); /* [8C, n, W] */
    SN_TRY(sn_dcae_conv(m, &xc, &e->inv_w, &e->inv_b, 1, 0, 1, &h));
    if (!whole) sn_dcae_mem_free(m, &xc);
    SN_DCAE_RUN(m, sn_unary(SN_ACT_SILU, &h, &h));
    SN_TRY(sn_dcae_mem_tensor(m, 2 * Hd, n, W, &h2));
    SN_TRY(sn_dcae_conv(m, &h, &e->dw_w, &e->dw_b, 1, 1, (int32_t)(2 * Hd), &h2));
    sn_dcae_mem_free(m, &h);
    sn_tensor val = sn_dcae_channels(&h2, 0, Hd), gate = sn_dcae_channels(&h2, Hd, Hd);
    SN_DCAE_RUN(m, sn_unary(SN_ACT_SILU, &gate, &gate));
    SN_DCAE_RUN(m, sn_binary(SN_MUL, &val, &gate, &val));
    if (whole) { /* straight into out */
        SN_TRY(sn_dcae_conv(m, &val, &e->point_w, NULL, 1, 0, 1, out));
        sn_dcae_mem_free(m, &h2);
        SN_DCAE_RUN(m, sn_channel_norm(out, &e->ffn_norm_w, &e->ffn_norm_b, SN_DCAE_NORM_EPS, SN_ACT_NONE, out));
        return SANA_OK;
    }
    SN_TRY(sn_dcae_mem_tensor(m, C, n, W, &p)); /* [C, n, W]; rows r0 - a .. are the wanted ones */
    SN_TRY(sn_dcae_conv(m, &val, &e->point_w, NULL, 1, 0, 1, &p));
    sn_dcae_mem_free(m, &h2);
    SN_DCAE_RUN(m, sn_channel_norm(&p, &e->ffn_norm_w, &e->ffn_norm_b, SN_DCAE_NORM_EPS, SN_ACT_NONE, &p));
    SN_DCAE_RUN(m, sn_dcae_copy_rows(&p, r0 - a, out, r0, r1 - r0));
    sn_dcae_mem_free(m, &p);
    return SANA_OK;
}

/* GLUMBConv: x + RMSNorm(point(val * silu(gate))). The hidden tensor is 8C wide, the largest of
 * the decoder's attention stages (8 GiB in fp32 at 4096² for stage 3), so it is computed in
 * chunks of rows that keep it near 64 MiB. The chunking follows the shape only, never the
 * memory budget, so every budget computes the same sums. */
static sana_status sn_dcae_glumb(sn_dcae_mem *m, const sn_dcae_block_w *blk, int64_t chunk_floats,
                                 sn_tensor *x) {
    const int64_t C = blk->channels, H = x->shape[2], W = x->shape[3];
    const int64_t per_row = 2 * SN_DCAE_GLU_EXPAND * C * W;
    int64_t rows = chunk_floats / (per_row > 0 ? per_row : 1);
    rows = rows < 1 ? 1 : rows;
    sn_tensor out;
    SN_TRY(sn_dcae_mem_tensor(m, C, H, W, &out));
    for (int64_t r0 = 0; r0 < H; r0 += rows)
        SN_TRY(sn_dcae_glumb_rows(m, blk, x, r0, r0 + rows < H ? r0 + rows : H, &out));
    SN_DCAE_RUN(m, sn_binary(SN_ADD, &out, x, &out)); /* + residual */
    sn_dcae_mem_free(m, x);
    *x = out;
    return SANA_OK;
}

sana_status sn_dcae_evit_forward(sn_dcae_mem *m, const sn_dcae *ae, const sn_dcae_block_w *blk,
                                 sn_tensor *x, const sn_dcae_tap *tap, const char *name) {
    const int32_t head_dim = ae->cfg.head_dim;
    SN_TRY(sn_dcae_attn(m, blk, head_dim, ae->evit_chunk_floats, x));
    sn_dcae_tap_call(tap, x, "%s.attn", name);
    SN_TRY(sn_dcae_glumb(m, blk, ae->evit_chunk_floats, x));
    sn_dcae_tap_call(tap, x, "%s.conv_out", name);
    return SANA_OK;
}
