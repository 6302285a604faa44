/* The public DC-AE calls: sana_decode_latents (diffusion-space latents -> uint8 RGB, whole, in
 * exact bands under a budget, tiled) and sana_encode_image, on the tiny fixture VAE, checked
 * against the oracle's decode golden converted the way diffusers' image processor does; and
 * their refusals. The same decode checks on a DC-AE-Lite vae folder loaded on its own. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ae/dcae.h"
#include "harness.h"

static sana_context *ctx;
static sana_model *model;

/* diffusers: (x * 0.5 + 0.5).clamp(0, 1) -> * 255 -> numpy round -> uint8 */
static uint8_t to_u8(float x) {
    float v = x * 0.5f + 0.5f;
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    return (uint8_t)rintf(v * 255.0f);
}

static sana_tensor *diffusion_latents(const tu_tensor *raw) { /* raw * scaling_factor */
    float *d = malloc(raw->n * sizeof(float));
    for (size_t i = 0; i < raw->n; i++) d[i] = raw->f[i] * 0.41407f;
    sana_tensor *t = NULL;
    CHECK_OK(sana_tensor_create(4, raw->shape, d, &t));
    free(d);
    return t;
}

/* sana_decode_latents on `m` against the golden of `case_name` (a batch of 2): whole, in bands
 * under a 1-byte budget (the same bytes), tiled (runs). */
static void decode_vs_golden(sana_model *m, const char *case_name) {
    const tu_case *c = tu_case_require(case_name);
    tu_tensor lat, out;
    if (tu_golden(c, "latent", &lat) || tu_golden(c, "output", &out)) return;
    sana_tensor *z = diffusion_latents(&lat);
    const int64_t B = lat.shape[0], H = out.shape[2], W = out.shape[3];
    sana_image *im[2] = {0}, *im2[2] = {0};
    CHECK_OK(sana_decode_latents(ctx, m, z, NULL, im));
    int off = 0, far = 0;
    for (int64_t b = 0; b < B && im[b]; b++) {
        CHECK(sana_image_width(im[b]) == W && sana_image_height(im[b]) == H && sana_image_channels(im[b]) == 3,
              "image size");
        const uint8_t *px = sana_image_pixels_const(im[b]);
        for (int64_t y = 0; y < H; y++)
            for (int64_t x = 0; x < W; x++)
                for (int ch = 0; ch < 3; ch++) {
                    int want = to_u8(out.f[((b * 3 + ch) * H + y) * W + x]);
                    int got = px[(size_t)y * sana_image_stride(im[b]) + (size_t)x * 3 + (size_t)ch];
                    off += got != want;
                    far += abs(got - want) > 1;
                }
    }
    printf("%s: decode vs golden as uint8: %d of %lld values off by one (rounding ties), %d further\n",
           case_name, off, (long long)(B * 3 * H * W), far);
    CHECK(far == 0 && off <= (int)(B * 3 * H * W) / 100, "%d values differ, %d by more than 1", off, far);

    /* exact bands under a tiny budget: the same bytes */
    sana_decode_params p;
    sana_decode_params_init(&p);
    p.memory_budget = 1;
    CHECK_OK(sana_decode_latents(ctx, m, z, &p, im2));
    for (int64_t b = 0; b < B && im[b] && im2[b]; b++)
        CHECK(!memcmp(sana_image_pixels_const(im[b]), sana_image_pixels_const(im2[b]),
                      sana_image_stride(im[b]) * (size_t)H),
              "banded public decode differs");
    for (int b = 0; b < 2; b++) sana_image_free(im2[b]), im2[b] = NULL;
    /* tiled: runs and gives images of the same size (approximate by design) */
    p.memory_budget = 0;
    p.mode = SANA_DECODE_TILED;
    p.tile_size = 64, p.tile_stride = 32;
    CHECK_OK(sana_decode_latents(ctx, m, z, &p, im2));
    CHECK(im2[1] && sana_image_width(im2[1]) == W, "tiled decode output");
    for (int b = 0; b < 2; b++) sana_image_free(im[b]), sana_image_free(im2[b]);
    sana_tensor_free(z);
    tu_tensor_free(&lat), tu_tensor_free(&out);
}

static void test_decode(void) {
    decode_vs_golden(model, "dcae_decode/sana_tiny_batch2");
    sana_decode_params p;

    /* refusals: wrong channel count, wrong rank, bad mode, struct_size 0 */
    sana_tensor *bad = NULL;
    CHECK_OK(sana_tensor_create(4, SN_SHAPE(1, 4, 2, 2), NULL, &bad));
    sana_image *one[1] = {(sana_image *)1};
    CHECK_STATUS(sana_decode_latents(ctx, model, bad, NULL, one), SANA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(sana_context_last_error(ctx), "4 channels") != NULL, "message: %s", sana_context_last_error(ctx));
    sana_tensor_free(bad);
    CHECK_OK(sana_tensor_create(3, SN_SHAPE(32, 2, 2), NULL, &bad));
    CHECK_STATUS(sana_decode_latents(ctx, model, bad, NULL, one), SANA_ERR_INVALID_ARGUMENT);
    sana_tensor_free(bad);
    CHECK_OK(sana_tensor_create(4, SN_SHAPE(1, 32, 1, 1), NULL, &bad));
    sana_decode_params_init(&p);
    p.mode = (sana_decode_mode)7;
    CHECK_STATUS(sana_decode_latents(ctx, model, bad, &p, one), SANA_ERR_INVALID_ARGUMENT);
    sana_decode_params_init(&p);
    p.mode = SANA_DECODE_TILED, p.tile_size = 50;
    CHECK_STATUS(sana_decode_latents(ctx, model, bad, &p, one), SANA_ERR_INVALID_ARGUMENT);
    CHECK(one[0] == NULL, "images must be NULL after a failure");
    p.struct_size = 0;
    CHECK_STATUS(sana_decode_latents(ctx, model, bad, &p, one), SANA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(sana_decode_latents(ctx, NULL, bad, NULL, one), SANA_ERR_INVALID_ARGUMENT);
    sana_tensor_free(bad);

    /* a latent in range (65536 pixels a side) whose decode needs more host memory than the machine
     * has (4.3 G pixels, about 390 GB on the CPU): refused before anything is allocated or read,
     * not granted by the kernel and then killed (the tensor's calloc is never touched) */
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    const double phys = (double)pages * (double)page, need = 4294967296.0 * 91.0;
    if (pages > 0 && page > 0 && phys < need) {
        CHECK_OK(sana_tensor_create(4, SN_SHAPE(1, 32, 2048, 2048), NULL, &bad));
        CHECK_STATUS(sana_decode_latents(ctx, model, bad, NULL, one), SANA_ERR_OUT_OF_MEMORY);
        CHECK(strstr(sana_context_last_error(ctx), "GiB of host memory") != NULL, "message: %s",
              sana_context_last_error(ctx));
        printf("refused: %s\n", sana_context_last_error(ctx));
        sana_tensor_free(bad);
    } else {
        printf("note: this machine has %.0f GiB; the decode memory refusal is not tried\n", phys / 1073741824.0);
    }
}

/* DC-AE-Lite, a vae folder on its own (a drop-in decoder for SANA's latents) */
static void test_decode_lite(void) {
    sana_model_params mp;
    sana_model_params_init(&mp);
    sana_model *lite = NULL;
    CHECK_OK(sana_model_load(ctx, tu_path(tu_fixtures_dir(), "variants/dcae_lite"), &mp, &lite));
    if (!lite) return;
    sana_model_info info;
    sana_model_info_init(&info);
    CHECK_OK(sana_model_get_info(lite, &info));
    CHECK(info.components == SANA_COMPONENT_VAE && info.vae_scale_factor == 32 && info.latent_channels == 32,
          "lite info: components %u, scale factor %d", info.components, info.vae_scale_factor);
    decode_vs_golden(lite, "dcae_decode/lite_tiny_batch2");
    sana_model_free(lite);
}

static void test_encode(void) {
    sana_image *im = NULL;
    CHECK_OK(sana_image_create(96, 64, 3, &im));
    if (!im) return;
    uint8_t *px = sana_image_pixels(im);
    for (size_t i = 0; i < sana_image_stride(im) * 64; i++) px[i] = (uint8_t)(i * 37 + (i >> 7));
    sana_tensor *z = NULL;
    CHECK_OK(sana_encode_image(ctx, model, im, &z));
    CHECK(z && sana_tensor_ndim(z) == 4 && sana_tensor_dim(z, 1) == 32 && sana_tensor_dim(z, 2) == 2 &&
              sana_tensor_dim(z, 3) == 3, "latent shape");
    /* equals the internal encoder on the same pixels, times scaling_factor */
    sn_backend *be;
    CHECK_OK(sn_backend_cpu_create(1, &be));
    sn_dcae *ae = NULL;
    CHECK_OK(sn_dcae_load(be, tu_path(tu_fixtures_dir(), "sana_tiny/vae"), NULL, &ae));
    sn_tensor x, zr;
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(1, 3, 64, 96), &x));
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(1, 32, 2, 3), &zr));
    sn_dcae_from_rgb8(px, sana_image_stride(im), 3, 64, 96, x.data);
    if (ae) CHECK_OK(sn_dcae_encode(ae, &x, NULL, NULL, &zr));
    float got[192];
    CHECK_OK(sana_tensor_read(z, got, 192));
    double err = 0;
    for (int i = 0; i < 192; i++) err = fmax(err, fabs(got[i] - ((float *)zr.data)[i] * 0.41407f));
    CHECK(err < 1e-6, "public encode differs from the internal one by %g", err);
    sana_tensor_free(z);
    sana_image_free(im);
    /* refusals: not a multiple of 32, no image */
    CHECK_OK(sana_image_create(48, 64, 3, &im));
    CHECK_STATUS(sana_encode_image(ctx, model, im, &z), SANA_ERR_INVALID_ARGUMENT);
    sana_image_free(im);
    CHECK_STATUS(sana_encode_image(ctx, model, NULL, &z), SANA_ERR_INVALID_ARGUMENT);
    sn_tensor_free(&x), sn_tensor_free(&zr);
    sn_dcae_free(ae);
    sn_backend_free(be);
}

int main(void) {
    tu_case_require("dcae_decode/sana_tiny");
    sana_context_params cp;
    sana_context_params_init(&cp);
    cp.backend = SANA_BACKEND_CPU;
    cp.n_threads = 2;
    CHECK_OK(sana_context_create(&cp, &ctx));
    sana_model_params mp;
    sana_model_params_init(&mp);
    mp.components = SANA_COMPONENT_VAE;
    CHECK_OK(sana_model_load(ctx, tu_path(tu_fixtures_dir(), "sana_tiny"), &mp, &model));
    if (!model) return tu_finish("test_dcae_api");
    test_decode();
    test_decode_lite();
    test_encode();
    sana_model_free(model);
    sana_context_free(ctx);
    return tu_finish("test_dcae_api");
}
