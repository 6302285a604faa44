/* Exact banded decoding: for several band heights and latent aspect ratios the pixels must equal
 * the one-band decode bit for bit (memcmp), and the measured peak memory must fall as the memory
 * budget falls. Also: refusals of latents the model cannot take, and cancellation. Uses a small
 * random model of the SANA layout (ResBlock stages 0-2, EfficientViT stages 3-5), then one of the
 * DC-AE-Lite layout (all ResBlock, so every stage is banded; pixel_shuffle upsamplers, whose
 * bands may start on odd rows; an empty stage 0 and the upsampling conv_out head). */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ae/dcae_internal.h"
#include "core/call.h"
#include "harness.h"

static sn_backend *be;
static sn_dcae *ae;

static void small_config(sn_dcae_config *c) {
    static const int32_t width[6] = {8, 16, 16, 16, 32, 32};
    sn_dcae_config_sana(c);
    c->head_dim = 8;
    for (int i = 0; i < 6; i++) {
        c->enc_width[i] = c->dec_width[i] = width[i];
        c->enc_depth[i] = 1;
        c->dec_depth[i] = i == 0 ? 2 : 1;
    }
}

/* DC-AE-Lite: the decoder all ResBlock, stage 0 empty, pixel_shuffle up, SiLU before the head */
static void lite_config(sn_dcae_config *c) {
    small_config(c);
    static const int32_t depth[6] = {0, 1, 2, 1, 1, 1};
    for (int i = 0; i < 6; i++) c->dec_block[i] = SN_DCAE_RESBLOCK, c->dec_depth[i] = depth[i];
    c->upsample_interpolate = 0;
    c->dec_conv_act = SN_ACT_SILU;
}

/* Decodes z with the given options; returns the pixels (malloc'd) and the stats. */
static float *decode(const sn_tensor *z, int32_t band_rows, size_t budget, sn_dcae_decode_stats *st) {
    int64_t shape[4];
    sn_dcae_decode_shape(ae, z, shape);
    sn_tensor y;
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, shape, &y));
    sn_dcae_decode_opts o;
    sn_dcae_decode_opts_init(&o);
    o.band_rows = band_rows;
    o.memory_budget = budget;
    CHECK_OK(sn_dcae_decode(ae, z, &o, &y));
    if (st) *st = sn_dcae_last_decode_stats();
    float *px = malloc((size_t)sn_numel(&y) * sizeof(float));
    CHECK_OK(sn_download_f32(&y, px));
    sn_tensor_free(&y);
    return px;
}

static sn_tensor latent(int64_t b, int64_t h, int64_t w, uint64_t seed) {
    sn_tensor z;
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(b, 32, h, w), &z));
    tu_fill_random(z.data, (size_t)sn_numel(&z), seed);
    return z;
}

static void test_bands_exact(int64_t b, int64_t h, int64_t w) {
    sn_tensor z = latent(b, h, w, 100 + (uint64_t)(h * 7 + w));
    const size_t n = (size_t)(b * 3 * h * 32 * w * 32);
    sn_dcae_decode_stats st;
    float *ref = decode(&z, 0, 0, &st);
    CHECK(st.n_bands == 1, "unlimited decode used %d bands", st.n_bands);
    int finite = 1;
    for (size_t i = 0; i < n; i++) finite &= ref[i] == ref[i] && ref[i] < 1e30f && ref[i] > -1e30f;
    CHECK(finite, "decode produced non-finite pixels");
    const int32_t rows[] = {1, 13, 40};
    for (size_t k = 0; k < sizeof rows / sizeof *rows; k++) {
        if (rows[k] >= h * 32 || (rows[k] == 1 && h * w > 2)) continue; /* 1-row bands: small only */
        float *got = decode(&z, rows[k], 0, &st);
        CHECK(st.n_bands == (int32_t)((h * 32 + rows[k] - 1) / rows[k]), "bands: %d", st.n_bands);
        CHECK(!memcmp(got, ref, n * sizeof(float)),
              "latent %lldx%lldx%lld: bands of %d rows differ from the one-band decode", (long long)b,
              (long long)h, (long long)w, rows[k]);
        free(got);
    }
    printf("latent [%lld, 32, %lld, %lld]: banded decodes bit-identical\n", (long long)b, (long long)h,
           (long long)w);
    free(ref);
    sn_tensor_free(&z);
}

/* unit: output rows per row of the stored global part (8 for the SANA layout, 32 for Lite);
 * an h x w latent (large enough that activations, not the ops' fixed scratch, dominate) */
static void test_budget(int64_t unit, int64_t h, int64_t w) {
    sn_tensor z = latent(1, h, w, 7);
    const size_t n_px = (size_t)(3 * h * 32 * w * 32);
    sn_dcae_decode_stats st0, st;
    float *ref = decode(&z, 0, 0, &st0);
    printf("unlimited: peak %zu bytes (scratch %zu), 1 band of %d rows\n", st0.peak_bytes,
           st0.peak_scratch_bytes, st0.band_rows);
    size_t last = st0.peak_bytes, smallest = 0;
    int fell = 0;
    for (double frac = 0.8; frac > 0.05; frac -= 0.2) {
        size_t budget = (size_t)((double)st0.peak_bytes * frac);
        float *got = decode(&z, 0, budget, &st);
        printf("budget %9zu: peak %9zu (scratch %zu), %2d bands of %3d rows\n", budget, st.peak_bytes,
               st.peak_scratch_bytes, st.n_bands, st.band_rows);
        CHECK(st.peak_bytes <= last, "peak rose from %zu to %zu when the budget fell to %zu", last,
              st.peak_bytes, budget);
        CHECK(!memcmp(got, ref, n_px * sizeof(float)), "budget %zu: pixels differ", budget);
        if (st.band_rows > unit) /* a budget that a band fits in is kept, op scratch included */
            CHECK(st.peak_bytes <= budget, "peak %zu (op scratch %zu) over budget %zu", st.peak_bytes,
                  st.peak_scratch_bytes, budget);
        /* the planner counts every byte the decode then holds */
        size_t planned;
        int32_t planned_rows;
        CHECK_OK(sn_dcae_estimate(ae, h, w, budget, &planned, &planned_rows));
        CHECK(planned == st.peak_bytes && planned_rows == st.band_rows,
              "budget %zu: planned %zu bytes in bands of %d rows, measured %zu in bands of %d", budget, planned,
              planned_rows, st.peak_bytes, st.band_rows);
        fell |= st.peak_bytes < last;
        last = st.peak_bytes;
        smallest = st.peak_bytes;
        free(got);
    }
    CHECK(fell && smallest * 2 < st0.peak_bytes, "peak did not fall with the budget (%zu vs %zu)", smallest,
          st0.peak_bytes);
    free(ref);
    sn_tensor_free(&z);
}

/* A decode takes all its memory from the backend's scratch arena: no tensor allocation at all
 * (counted through the backend's alloc), one arena chunk the size of what the planner counted,
 * and nothing more for later decodes, whatever their number of bands. */
static int n_allocs;
static void *(*real_alloc)(sn_backend *, size_t);
static void *counting_alloc(sn_backend *b, size_t bytes) {
    n_allocs++;
    return real_alloc(b, bytes);
}

static sn_ops counting_ops;
/* From now on, b's allocations are counted in n_allocs; returns the ops to put back. */
static const sn_ops *count_allocs(sn_backend *b) {
    const sn_ops *orig = b->ops;
    counting_ops = *orig;
    real_alloc = orig->alloc;
    counting_ops.alloc = counting_alloc;
    b->ops = &counting_ops;
    return orig;
}

static void test_no_alloc_per_band(void) {
    sn_backend *be2; /* a fresh arena whose chunks are exactly as large as asked */
    CHECK_OK(sn_backend_cpu_create(2, &be2));
    be2->scratch.chunk_size = 256;
    sn_tensor z, y;
    CHECK_OK(sn_tensor_alloc(be2, SN_F32, 4, SN_SHAPE(1, 32, 4, 2), &z));
    tu_fill_random(z.data, (size_t)sn_numel(&z), 11);
    CHECK_OK(sn_tensor_alloc(be2, SN_F32, 4, SN_SHAPE(1, 3, 128, 64), &y));
    const sn_ops *orig = count_allocs(be2);
    const int32_t rows[3] = {0, 32, 8}; /* 1, 4, 16 bands: the first needs the most */
    size_t held0 = 0;
    for (int i = 0; i < 3; i++) {
        sn_dcae_decode_opts o;
        sn_dcae_decode_opts_init(&o);
        o.band_rows = rows[i];
        n_allocs = 0;
        CHECK_OK(sn_dcae_decode(ae, &z, &o, &y));
        sn_dcae_decode_stats st = sn_dcae_last_decode_stats();
        printf("%2d bands: %d allocations, arena holds %zu bytes, decode peak %zu\n", st.n_bands, n_allocs,
               be2->scratch.held, st.peak_bytes);
        CHECK(n_allocs == 0, "%d bands: %d allocations outside the arena", st.n_bands, n_allocs);
        if (i == 0) {
            held0 = be2->scratch.held;
            CHECK(held0 == st.peak_bytes, "the arena grew by %zu bytes for a decode that holds %zu", held0,
                  st.peak_bytes);
        }
        CHECK(be2->scratch.held == held0, "%d bands: the arena grew from %zu to %zu bytes", st.n_bands, held0,
              be2->scratch.held);
        CHECK(be2->scratch.used == 0, "the decode kept %zu bytes of scratch", be2->scratch.used);
    }
    be2->ops = orig;
    sn_tensor_free(&z), sn_tensor_free(&y);
    sn_backend_free(be2);
}

/* diffusers' tiled decode takes its memory once per call, planned for the first (largest) tile:
 * no tensor allocation, one arena chunk (the tiles' input and output and the first tile's decode),
 * and nothing more however many tiles follow. Tiles of 2 latents at a stride of 1. */
static void test_tiled_alloc_once(void) {
    sn_backend *be2; /* a fresh arena whose chunks are exactly as large as asked */
    CHECK_OK(sn_backend_cpu_create(2, &be2));
    be2->scratch.chunk_size = 256;
    const int64_t lat[2][3] = {{1, 3, 3}, {2, 4, 5}}; /* batch, h, w: 9 and 40 tiles */
    size_t held0 = 0;
    for (int i = 0; i < 2; i++) {
        const int64_t B = lat[i][0], h = lat[i][1], w = lat[i][2];
        sn_tensor z, y;
        CHECK_OK(sn_tensor_alloc(be2, SN_F32, 4, SN_SHAPE(B, 32, h, w), &z));
        tu_fill_random(z.data, (size_t)sn_numel(&z), 12);
        CHECK_OK(sn_tensor_alloc(be2, SN_F32, 4, SN_SHAPE(B, 3, 32 * h, 32 * w), &y));
        sn_dcae_decode_opts o;
        sn_dcae_decode_opts_init(&o);
        o.tiled = 1, o.tile_size = 64, o.tile_stride = 32;
        const sn_ops *orig = count_allocs(be2);
        n_allocs = 0;
        CHECK_OK(sn_dcae_decode(ae, &z, &o, &y));
        be2->ops = orig;
        const sn_dcae_decode_stats st = sn_dcae_last_decode_stats();
        const int tiles = (int)(B * h * w);
        printf("tiled, %d tiles: %d allocations, arena holds %zu bytes, tile decode peak %zu\n", tiles, n_allocs,
               be2->scratch.held, st.peak_bytes);
        CHECK(n_allocs == 0, "%d tiles: %d allocations outside the arena", tiles, n_allocs);
        if (i == 0) {
            held0 = be2->scratch.held;
            const size_t tile_io = sn_arena_round(32 * 2 * 2 * sizeof(float)) + sn_arena_round(3 * 64 * 64 * sizeof(float));
            CHECK(held0 == tile_io + st.peak_bytes, "the arena holds %zu bytes for tiles of %zu and a decode of %zu",
                  held0, tile_io, st.peak_bytes);
        }
        CHECK(be2->scratch.held == held0, "%d tiles: the arena grew from %zu to %zu bytes", tiles, held0,
              be2->scratch.held);
        CHECK(be2->scratch.used == 0, "the tiled decode kept %zu bytes of scratch", be2->scratch.used);
        sn_tensor_free(&z), sn_tensor_free(&y);
    }
    sn_backend_free(be2);
}

static void test_refusals(void) {
    sn_tensor z, y;
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(1, 16, 2, 2), &z));
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(1, 3, 64, 64), &y));
    CHECK_STATUS(sn_dcae_decode(ae, &z, NULL, &y), SANA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(tu_last_error(), "16 channels") != NULL, "message: %s", tu_last_error());
    sn_tensor_free(&z);
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(1, 32, 0, 2), &z));
    CHECK_STATUS(sn_dcae_decode(ae, &z, NULL, &y), SANA_ERR_INVALID_ARGUMENT);
    sn_tensor_free(&z);
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 3, SN_SHAPE(32, 2, 2), &z));
    CHECK_STATUS(sn_dcae_decode(ae, &z, NULL, &y), SANA_ERR_INVALID_ARGUMENT);
    sn_tensor_free(&z);
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(1, 32, 3, 2), &z)); /* output must be 96x64 */
    CHECK_STATUS(sn_dcae_decode(ae, &z, NULL, &y), SANA_ERR_INVALID_ARGUMENT);
    CHECK(sn_dcae_check_latents(ae, 4, SN_SHAPE(1, 32, 1 << 16, 4), "x") == SANA_ERR_INVALID_ARGUMENT,
          "a 2M-pixel-high image accepted");
    sn_dcae_decode_opts o;
    sn_dcae_decode_opts_init(&o);
    o.tiled = 1, o.tile_size = 100, o.tile_stride = 64; /* not a multiple of 32 */
    sn_tensor y2;
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(1, 3, 96, 64), &y2));
    CHECK_STATUS(sn_dcae_decode(ae, &z, &o, &y2), SANA_ERR_INVALID_ARGUMENT);
    /* encode: H, W multiples of 32 */
    sn_tensor x, zl;
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(1, 3, 48, 64), &x));
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(1, 32, 1, 2), &zl));
    CHECK_STATUS(sn_dcae_encode(ae, &x, NULL, NULL, &zl), SANA_ERR_INVALID_ARGUMENT);
    /* cancellation between blocks/bands */
    atomic_int flag = 1;
    sn_call_bind_cancel(&flag);
    CHECK_STATUS(sn_dcae_decode(ae, &z, NULL, &y2), SANA_ERR_CANCELLED);
    sn_call_bind_cancel(NULL);
    sn_tensor_free(&x), sn_tensor_free(&zl), sn_tensor_free(&z), sn_tensor_free(&y), sn_tensor_free(&y2);
}

static void test_rgb8(void) {
    /* diffusers: (x * 0.5 + 0.5).clamp(0, 1), * 255, numpy round (half to even) */
    const float px[3] = {-2.0f, 0.0f, 1.0f / 255.0f}; /* R, G, B of one pixel */
    uint8_t out[3];
    sn_dcae_to_rgb8(px, 1, 1, out, 3);
    CHECK(out[0] == 0 && out[1] == 128 && out[2] == 128, "rgb %d %d %d", out[0], out[1], out[2]);
    /* numpy rounds half to even: find an x whose (x*0.5+0.5)*255 is exactly 254.5 -> 254 */
    float x = (254.5f / 255.0f - 0.5f) * 2.0f;
    for (int k = 0; k < 1000 && (x * 0.5f + 0.5f) * 255.0f != 254.5f; k++)
        x = nextafterf(x, (x * 0.5f + 0.5f) * 255.0f < 254.5f ? 1.0f : -1.0f);
    CHECK((x * 0.5f + 0.5f) * 255.0f == 254.5f, "no exact half found");
    const float px2[3] = {x, 1.0f, 3.0f};
    sn_dcae_to_rgb8(px2, 1, 1, out, 3);
    CHECK(out[0] == 254 && out[1] == 255 && out[2] == 255, "rgb %d %d %d", out[0], out[1], out[2]);
    uint8_t rgb[6] = {0, 255, 51, 10, 20, 30};
    float chw[6];
    sn_dcae_from_rgb8(rgb, 6, 3, 1, 2, chw);
    CHECK(chw[0] == -1.0f && chw[2] == 1.0f && chw[4] == 2.0f * (51.0f / 255.0f) - 1.0f, "from rgb8");
}

int main(void) {
    CHECK_OK(sn_backend_cpu_create(2, &be));
    sn_dcae_config c;
    small_config(&c);
    CHECK_OK(sn_dcae_create_random(be, &c, 1234, &ae));
    if (!ae) return tu_finish("test_dcae_banded");
    sn_dcae_set_evit_chunk(ae, 3000); /* exercise the chunked EfficientViT blocks too */
    printf("small model: %lld parameters\n", (long long)sn_dcae_param_count(ae));
    test_bands_exact(1, 2, 3); /* wide */
    test_bands_exact(1, 3, 1); /* tall */
    test_bands_exact(2, 2, 1); /* batch */
    test_bands_exact(1, 1, 1);
    test_budget(8, 4, 2);
    test_no_alloc_per_band();
    test_tiled_alloc_once();
    test_refusals();
    test_rgb8();
    sn_dcae_free(ae);

    lite_config(&c);
    CHECK_OK(sn_dcae_create_random(be, &c, 4321, &ae));
    if (!ae) return tu_finish("test_dcae_banded");
    printf("small DC-AE-Lite model: %lld parameters\n", (long long)sn_dcae_param_count(ae));
    test_bands_exact(1, 2, 3);
    test_bands_exact(1, 3, 1);
    test_bands_exact(2, 2, 1);
    test_bands_exact(1, 1, 1);
    test_budget(32, 8, 4);
    test_no_alloc_per_band();
    test_tiled_alloc_once();
    sn_dcae_free(ae);
    sn_backend_free(be);
    return tu_finish("test_dcae_banded");
}
