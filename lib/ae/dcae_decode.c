/* DC-AE decoder (spec §1), decoded one image at a time in two parts:
 *
 *  1. global part, on the whole latent: conv_in + duplicating shortcut, then the stages that hold
 *     EfficientViT blocks (their linear attention mixes every token, so they cannot be split);
 *  2. banded part: the conv-only stages (upsamplers and ResBlocks) and the head, computed in
 *     horizontal bands of output rows. Each band recomputes the halo rows it needs from the
 *     stored output of part 1; every output element goes through exactly the same float
 *     operations as in a one-band decode (conv2d_band computes row by row), so any band height
 *     gives bit-identical pixels. The band height follows the caller's memory budget.
 *
 * diffusers' tiled decode (approximate) is in dcae_tiled.c. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ae/dcae_internal.h"
#include "core/call.h"
#include "core/log.h"

static _Thread_local sn_dcae_decode_stats sn_dcae_stats;

sn_dcae_decode_stats sn_dcae_last_decode_stats(void) { return sn_dcae_stats; }

void sn_dcae_decode_opts_init(sn_dcae_decode_opts *o) {
    memset(o, 0, sizeof *o);
    o->tile_size = 512;
    o->tile_stride = 448;
}

static sana_status sn_dcae_cancelled(void) {
    return sn_cancel_requested() ? sn_fail(SANA_ERR_CANCELLED, "DC-AE decode cancelled") : SANA_OK;
}

/* The lowest stage that holds attention; stages below it (and the head) are banded. */
static int32_t sn_dcae_first_global_stage(const sn_dcae_config *c) {
    int32_t ia = c->n_stages;
    for (int32_t i = 0; i < c->n_stages; i++)
        if (c->dec_block[i] == SN_DCAE_EVIT) {
            ia = i;
            break;
        }
    return ia;
}

/* Output rows per row of the global part's output: it is at stage ia's resolution, or at the
 * latent's (stage n-1) when no stage holds attention (DC-AE-Lite). */
static int64_t sn_dcae_band_unit(const sn_dcae_config *c, int32_t ia) {
    return (int64_t)1 << (ia < c->n_stages - 1 ? ia : c->n_stages - 1);
}

/* --- part 1 --------------------------------------------------------------------------------------- */

static sana_status sn_dcae_dec_global(const sn_dcae *ae, sn_dcae_mem *m, const sn_tensor *z,
                                      int32_t ia, const sn_dcae_tap *tap, sn_tensor *x) {
    const sn_dcae_config *c = &ae->cfg;
    const int32_t n = c->n_stages;
    int64_t h = z->shape[2], w = z->shape[3];
    /* conv_in(z) + repeat_interleave(z, C / latent_channels)   [C5, h, w] */
    SN_TRY(sn_dcae_mem_tensor(m, c->dec_width[n - 1], h, w, x));
    SN_TRY(sn_dcae_conv_band(m, z, 0, h, &ae->dec_in_w, &ae->dec_in_b, 1, 1, 1, x, 0));
    if (c->dec_in_shortcut) SN_DCAE_RUN(m, sn_shortcut_dup(z, 0, 1, x, 0));
    sn_dcae_tap_call(tap, x, "decoder.stem");
    for (int32_t i = n - 1; i >= ia; i--) {
        const sn_dcae_stage *st = &ae->dec[i];
        int64_t row0 = 0;
        if (st->has_resample) { /* [C_i, 2h, 2w] */
            const int64_t up_numel = (int64_t)c->dec_width[i] * 4 * h * w;
            SN_TRY(sn_dcae_mem_lift(m, x, (size_t)up_numel * sn_dtype_size(x->dtype)));
            SN_TRY(sn_dcae_up_band(m, &st->rs_w, &st->rs_b, c->upsample_interpolate, 1, x, &row0, h, 0, 2 * h));
            h *= 2, w *= 2;
            sn_dcae_tap_call(tap, x, "decoder.up_blocks.%d.0", i);
        }
        for (int32_t j = 0; j < st->depth; j++) {
            char name[64];
            snprintf(name, sizeof name, "decoder.up_blocks.%d.%d", i, j + st->has_resample);
            if (st->blocks[j].type == SN_DCAE_EVIT)
                SN_TRY(sn_dcae_evit_forward(m, ae, &st->blocks[j], x, tap, name));
            else
                SN_TRY(sn_dcae_res_band(m, &st->blocks[j], x, &row0, h, 0, h));
            sn_dcae_tap_call(tap, x, "%s", name);
            if (!m->dry) SN_TRY(sn_dcae_cancelled());
        }
    }
    return SANA_OK;
}

/* --- part 2: the banded layers -------------------------------------------------------------------- */

typedef enum { SN_L_UP, SN_L_RES, SN_L_HEAD } sn_dcae_lkind;

typedef struct sn_dcae_layer {
    sn_dcae_lkind kind;
    int32_t stage, j; /* j: block index (RES) */
    int64_t h_in;     /* whole-image rows of the layer's input */
} sn_dcae_layer;

#define SN_DCAE_MAX_LAYERS 256

typedef struct sn_dcae_plan {
    sn_dcae_layer layer[SN_DCAE_MAX_LAYERS];
    int32_t n;
    int64_t h_out, w_out; /* whole output */
    int32_t up_interpolate; /* the upsamplers' kind (upsample_block_type) */
    int32_t head_up;        /* the head's conv_out is an upsampler (sn_dcae.head_up) */
} sn_dcae_plan;

static sana_status sn_dcae_make_plan(const sn_dcae *ae, int32_t ia, int64_t h_global,
                                     int64_t w_global, sn_dcae_plan *p) {
    int64_t h = h_global, w = w_global;
    p->n = 0;
    for (int32_t i = ia - 1; i >= 0; i--) {
        const sn_dcae_stage *st = &ae->dec[i];
        if (p->n + st->depth + 2 > SN_DCAE_MAX_LAYERS)
            return sn_fail(SANA_ERR_UNSUPPORTED, "DC-AE decoder: more than %d banded layers", SN_DCAE_MAX_LAYERS);
        if (st->has_resample) {
            p->layer[p->n++] = (sn_dcae_layer){SN_L_UP, i, 0, h};
            h *= 2, w *= 2;
        }
        for (int32_t j = 0; j < st->depth; j++) p->layer[p->n++] = (sn_dcae_layer){SN_L_RES, i, j, h};
    }
    p->layer[p->n++] = (sn_dcae_layer){SN_L_HEAD, -1, 0, h};
    if (ae->head_up) h *= 2, w *= 2;
    p->h_out = h, p->w_out = w;
    p->up_interpolate = ae->cfg.upsample_interpolate;
    p->head_up = ae->head_up;
    return SANA_OK;
}

static int64_t sn_max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t sn_min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Rows of each layer's input needed for output rows [o0, o1): lo[l], hi[l]; lo[n], hi[n] = o. */
static void sn_dcae_band_ranges(const sn_dcae_plan *p, int64_t o0, int64_t o1, int64_t *lo,
                                int64_t *hi) {
    lo[p->n] = o0, hi[p->n] = o1;
    for (int32_t l = p->n - 1; l >= 0; l--) {
        const sn_dcae_layer *L = &p->layer[l];
        const int64_t a = lo[l + 1], b = hi[l + 1], H = L->h_in;
        switch (L->kind) {
        case SN_L_HEAD: /* conv_out: one halo row, or an upsampler (no shortcut) */
            if (p->head_up) sn_dcae_up_rows(p->up_interpolate, H, a, b, &lo[l], &hi[l]);
            else lo[l] = sn_max64(a - 1, 0), hi[l] = sn_min64(b + 1, H);
            break;
        case SN_L_RES: /* two 3x3 convs */
            lo[l] = sn_max64(a - 2, 0), hi[l] = sn_min64(b + 2, H);
            break;
        case SN_L_UP:
            sn_dcae_up_rows(p->up_interpolate, H, a, b, &lo[l], &hi[l]);
            break;
        }
    }
}

/* One band: output rows [o0, o1) from the global part's output g. */
static sana_status sn_dcae_dec_band(const sn_dcae *ae, sn_dcae_mem *m, const sn_dcae_plan *p,
                                    const sn_tensor *g, int64_t o0, int64_t o1,
                                    const sn_dcae_tap *tap, sn_tensor *y) {
    int64_t lo[SN_DCAE_MAX_LAYERS + 1], hi[SN_DCAE_MAX_LAYERS + 1];
    sn_dcae_band_ranges(p, o0, o1, lo, hi);
    sn_tensor x;
    int64_t x_row0 = lo[0];
    SN_TRY(sn_dcae_mem_tensor(m, g->shape[1], hi[0] - lo[0], g->shape[3], &x));
    SN_DCAE_RUN(m, sn_dcae_copy_rows(g, lo[0], &x, 0, hi[0] - lo[0]));
    for (int32_t l = 0; l < p->n; l++) {
        const sn_dcae_layer *L = &p->layer[l];
        const int64_t a = lo[l + 1], b = hi[l + 1];
        if (L->kind == SN_L_UP) {
            const sn_dcae_stage *st = &ae->dec[L->stage];
            SN_TRY(sn_dcae_up_band(m, &st->rs_w, &st->rs_b, p->up_interpolate, 1, &x, &x_row0, L->h_in, a, b));
            sn_dcae_tap_call(tap, &x, "decoder.up_blocks.%d.0", L->stage);
        } else if (L->kind == SN_L_RES) {
            const sn_dcae_stage *st = &ae->dec[L->stage];
            SN_TRY(sn_dcae_res_band(m, &st->blocks[L->j], &x, &x_row0, L->h_in, a, b));
            sn_dcae_tap_call(tap, &x, "decoder.up_blocks.%d.%d", L->stage, L->j + st->has_resample);
        } else { /* head: RMSNorm, act (decoder_conv_act_fn), conv_out   [3, b-a, W] */
            SN_DCAE_RUN(m, sn_channel_norm(&x, &ae->dec_norm_w, &ae->dec_norm_b, SN_DCAE_NORM_EPS,
                                      SN_ACT_NONE, &x));
            sn_dcae_tap_call(tap, &x, "decoder.norm_out");
            SN_DCAE_RUN(m, sn_unary(ae->cfg.dec_conv_act, &x, &x));
            sn_tensor out;
            if (p->head_up) { /* decoder.conv_out.conv + pixel_shuffle, no shortcut; x given back */
                out = x;
                SN_TRY(sn_dcae_up_band(m, &ae->dec_out_w, &ae->dec_out_b, p->up_interpolate, 0, &out, &x_row0,
                                       L->h_in, a, b));
            } else {
                SN_TRY(sn_dcae_mem_tensor(m, ae->cfg.in_channels, b - a, x.shape[3], &out));
                SN_TRY(sn_dcae_conv_band(m, &x, x_row0, L->h_in, &ae->dec_out_w, &ae->dec_out_b, 1, 1, 1, &out, a));
                sn_dcae_mem_free(m, &x);
            }
            SN_DCAE_RUN(m, sn_dcae_copy_rows(&out, 0, y, a, b - a));
            sn_dcae_mem_free(m, &out);
        }
    }
    return SANA_OK;
}

/* Every band of `rows` output rows, from the global part's output g, into y. */
static sana_status sn_dcae_dec_bands(const sn_dcae *ae, sn_dcae_mem *m, const sn_dcae_plan *p,
                                     const sn_tensor *g, int64_t rows, const sn_dcae_tap *tap,
                                     sn_tensor *y, int32_t *n_bands) {
    const int one_band = rows >= p->h_out;
    int32_t nb = 0;
    for (int64_t o0 = 0; o0 < p->h_out; o0 += rows, nb++) {
        SN_TRY(sn_dcae_dec_band(ae, m, p, g, o0, sn_min64(o0 + rows, p->h_out), one_band ? tap : NULL, y));
        if (!m->dry) SN_TRY(sn_dcae_cancelled());
    }
    if (n_bands) *n_bands = nb;
    return SANA_OK;
}

/* The dry run of a whole decode with bands of `rows` rows, continuing the global part's dry run
 * `global` (after which g is alive): *plan then knows where every byte goes. */
static sana_status sn_dcae_dry_bands(const sn_dcae *ae, const sn_dcae_plan *p, const sn_dcae_mem *global,
                                     const sn_tensor *g, int64_t rows, sn_dcae_mem *plan) {
    *plan = *global;
    return sn_dcae_dec_bands(ae, plan, p, g, rows, NULL, NULL, NULL);
}

/* Every byte a whole decode with bands of `rows` rows holds at once (SIZE_MAX: no plan). */
static size_t sn_dcae_need_for(const sn_dcae *ae, const sn_dcae_plan *p, const sn_dcae_mem *global,
                               const sn_tensor *g, int64_t rows) {
    sn_dcae_mem plan;
    return sn_dcae_dry_bands(ae, p, global, g, rows, &plan) == SANA_OK ? sn_dcae_mem_need(&plan) : SIZE_MAX;
}

/* Band height for a budget: the largest multiple of `unit` rows whose decode fits; the smallest
 * band when none does (logged). */
static int64_t sn_dcae_band_rows(const sn_dcae *ae, const sn_dcae_plan *p, const sn_dcae_mem *global,
                                 const sn_tensor *g, size_t budget, int64_t unit) {
    if (budget == 0) return p->h_out;
    int64_t top = (p->h_out + unit - 1) / unit;
    for (int64_t k = top; k >= 1; k--) {
        const int64_t rows = sn_min64(k * unit, p->h_out);
        if (sn_dcae_need_for(ae, p, global, g, rows) <= budget) return rows;
    }
    sn_log(SANA_LOG_WARN, "DC-AE decode: a memory budget of %zu bytes is below the smallest band's "
                          "need (%zu bytes); decoding in bands of %lld rows anyway",
           budget, sn_dcae_need_for(ae, p, global, g, sn_min64(unit, p->h_out)), (long long)sn_min64(unit, p->h_out));
    return sn_min64(unit, p->h_out);
}

/* The dry run of the global part and the layers after it, for z on be. */
static sana_status sn_dcae_dry_global(const sn_dcae *ae, sn_backend *be, const sn_tensor *z, int32_t ia,
                                      sn_dcae_mem *dm, sn_tensor *g, sn_dcae_plan *plan) {
    sn_dcae_mem_dry(dm, be);
    SN_TRY(sn_dcae_dec_global(ae, dm, z, ia, NULL, g));
    return sn_dcae_make_plan(ae, ia, g->shape[2], g->shape[3], plan);
}

sana_status sn_dcae_estimate(const sn_dcae *ae, int64_t h, int64_t w, size_t budget, size_t *peak,
                             int32_t *band_rows) {
    SN_TRY(sn_dcae_check_latents(ae, 4, SN_SHAPE(1, ae->cfg.latent_channels, h, w), "DC-AE estimate"));
    const int32_t ia = sn_dcae_first_global_stage(&ae->cfg);
    sn_tensor z = {.dtype = ae->be->act_dtype, .ndim = 4, .shape = {1, ae->cfg.latent_channels, h, w},
                   .be = ae->be};
    sn_dcae_mem dm;
    sn_tensor g;
    sn_dcae_plan plan;
    SN_TRY(sn_dcae_dry_global(ae, ae->be, &z, ia, &dm, &g, &plan));
    const int64_t rows = sn_dcae_band_rows(ae, &plan, &dm, &g, budget, sn_dcae_band_unit(&ae->cfg, ia));
    *peak = sn_dcae_need_for(ae, &plan, &dm, &g, rows);
    *band_rows = (int32_t)rows;
    return SANA_OK;
}

/* The dry runs of one image's decode, z [1, L, h, w]: the global part, the band height for the
 * budget, and where each tensor goes (*pm). */
static sana_status sn_dcae_plan_image(const sn_dcae *ae, const sn_tensor *z, const sn_dcae_decode_opts *o,
                                      sn_dcae_plan *plan, sn_tensor *g, int64_t *rows, sn_dcae_mem *pm) {
    const int32_t ia = sn_dcae_first_global_stage(&ae->cfg);
    const int64_t unit = sn_dcae_band_unit(&ae->cfg, ia);
    sn_dcae_mem dm;
    SN_TRY(sn_dcae_dry_global(ae, z->be, z, ia, &dm, g, plan));
    *rows = o->band_rows > 0 ? sn_min64(o->band_rows, plan->h_out)
                             : sn_dcae_band_rows(ae, plan, &dm, g, o->memory_budget, unit);
    return sn_dcae_dry_bands(ae, plan, &dm, g, *rows, pm);
}

sana_status sn_dcae_decode_need(const sn_dcae *ae, const sn_tensor *z, const sn_dcae_decode_opts *o,
                                size_t *bytes) {
    sn_dcae_plan plan;
    sn_tensor g;
    int64_t rows;
    sn_dcae_mem pm;
    SN_TRY(sn_dcae_plan_image(ae, z, o, &plan, &g, &rows, &pm));
    *bytes = sn_dcae_mem_need(&pm);
    return SANA_OK;
}

/* One image: z [1, L, h, w] -> y [1, 3, H, W]. Dry runs first, then the real run in one block of
 * the scratch arena. */
sana_status sn_dcae_decode_image(const sn_dcae *ae, const sn_tensor *z, const sn_dcae_decode_opts *o,
                                 int64_t b, sn_tensor *y, sn_dcae_decode_stats *stats) {
    sn_backend *be = z->be;
    sn_dcae_tap tap = {o->tap, o->tap_user, b};
    sn_dcae_mem pm, m;
    sn_tensor g;
    sn_dcae_plan plan;
    int64_t rows;
    SN_TRY(sn_dcae_plan_image(ae, z, o, &plan, &g, &rows, &pm));
    if (plan.h_out != y->shape[2] || plan.w_out != y->shape[3])
        return sn_fail(SANA_ERR_INTERNAL, "DC-AE decode: plan of %lld x %lld for an output of %lld x %lld",
                       (long long)plan.h_out, (long long)plan.w_out, (long long)y->shape[2],
                       (long long)y->shape[3]);

    const size_t scratch0 = be->scratch.used;
    be->scratch.peak = be->scratch.used;
    SN_TRY(sn_dcae_mem_begin(&m, &pm));
    int32_t nb = 0;
    sana_status s = sn_dcae_dec_global(ae, &m, z, sn_dcae_first_global_stage(&ae->cfg), &tap, &g);
    if (s == SANA_OK) s = sn_dcae_dec_bands(ae, &m, &plan, &g, rows, &tap, y, &nb);
    sn_dcae_mem_end(&m);
    if (stats) {
        const size_t held = be->scratch.peak - scratch0; /* the block, then any op's scratch on top */
        if (held > stats->peak_bytes) stats->peak_bytes = held;
        if (held - pm.high > stats->peak_scratch_bytes) stats->peak_scratch_bytes = held - pm.high;
        stats->band_rows = (int32_t)rows;
        stats->n_bands = nb;
    }
    return s;
}

sana_status sn_dcae_decode(const sn_dcae *ae, const sn_tensor *z, const sn_dcae_decode_opts *opts,
                           sn_tensor *y) {
    sn_dcae_decode_opts def;
    sn_dcae_decode_opts_init(&def);
    const sn_dcae_decode_opts *o = opts ? opts : &def;
    SN_TRY(sn_dcae_check_latents(ae, z->ndim, z->shape, "DC-AE decode"));
    int64_t want[4];
    sn_dcae_decode_shape(ae, z, want);
    if (y->ndim != 4 || memcmp(y->shape, want, sizeof want))
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "DC-AE decode: the output must be [%lld, %lld, %lld, %lld]",
                       (long long)want[0], (long long)want[1], (long long)want[2], (long long)want[3]);
    sn_dcae_stats = (sn_dcae_decode_stats){0, 0, 0, 0};
    sana_status s;
    if (o->tiled) {
        s = sn_dcae_decode_tiled(ae, z, o, y, &sn_dcae_stats);
    } else {
        s = SANA_OK;
        const size_t es = sn_dtype_size(z->dtype);
        for (int64_t b = 0; b < z->shape[0] && s == SANA_OK; b++) {
            sn_tensor zb = *z, yb = *y;
            zb.shape[0] = yb.shape[0] = 1;
            zb.data = (char *)z->data + (size_t)(b * sn_numel(&zb)) * es;
            yb.data = (char *)y->data + (size_t)(b * sn_numel(&yb)) * sn_dtype_size(y->dtype);
            s = sn_dcae_decode_image(ae, &zb, o, b, &yb, &sn_dcae_stats);
        }
    }
    return s;
}
