/* The public low-level stages compose to sana_generate: sana_encode_prompt -> sana_noise_fill ->
 * sana_denoise -> sana_decode_latents gives sana_generate's image byte for byte, for the same seed
 * and parameters, on the bundled tiny pipelines: SANA with CFG and a negative prompt (one
 * prompt's embeddings reused over two seeds) and SANA-Sprint (SCM, latents scaled by sigma_data,
 * denoise continuing the seed's generator). A control run with one parameter changed must give
 * other bytes, so the comparison can tell. bindings/python/tests/test_stages.py checks the same
 * through the binding. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* as test_generate_pipeline.c: 96x64 pixels, latents [1, 32, 2, 3] */
#define W 96
#define H 64
#define STEPS 2
#define GUIDANCE 4.5f
static const char *const PROMPT = "a red fox", *const NEGATIVE = "blurry, low quality";

static sana_context *ctx;

/* 1 when both images have the same size and the same pixel bytes */
static int same_pixels(const sana_image *a, const sana_image *b) {
    if (!a || !b || sana_image_width(a) != sana_image_width(b) || sana_image_height(a) != sana_image_height(b) ||
        sana_image_channels(a) != sana_image_channels(b))
        return 0;
    const size_t row = (size_t)sana_image_width(a) * sana_image_channels(a);
    for (uint32_t y = 0; y < sana_image_height(a); y++)
        if (memcmp(sana_image_pixels_const(a) + y * sana_image_stride(a),
                   sana_image_pixels_const(b) + y * sana_image_stride(b), row))
            return 0;
    return 1;
}

static sana_image *generate(const sana_model *m, uint64_t seed, const char *negative) {
    sana_generate_params p;
    sana_generate_params_init(&p);
    p.prompt = PROMPT, p.negative_prompt = negative;
    p.width = W, p.height = H, p.resolution_binning = 0;
    p.steps = STEPS, p.seed = seed, p.guidance_scale = GUIDANCE;
    sana_image *im[1] = {0};
    CHECK_OK(sana_generate(ctx, m, &p, im));
    return im[0];
}

/* Seeded noise [1, C, H/f, W/f] times `sigma` (the sampler's initial sigma). */
static sana_tensor *noise(const sana_model *m, uint64_t seed, float sigma) {
    sana_model_info info;
    sana_model_info_init(&info);
    CHECK_OK(sana_model_get_info(m, &info));
    const int64_t shape[4] = {1, info.latent_channels, H / info.vae_scale_factor, W / info.vae_scale_factor};
    sana_tensor *lat = NULL;
    CHECK_OK(sana_tensor_create(4, shape, NULL, &lat));
    CHECK_OK(sana_noise_fill(SANA_NOISE_TORCH_CPU, seed, lat));
    if (sigma == 1.0f) return lat;
    const size_t n = (size_t)sana_tensor_numel(lat);
    float *x = malloc(n * sizeof *x);
    CHECK_OK(sana_tensor_read(lat, x, n));
    for (size_t i = 0; i < n; i++) x[i] *= sigma;
    sana_tensor_free(lat);
    lat = NULL;
    CHECK_OK(sana_tensor_create(4, shape, x, &lat));
    free(x);
    return lat;
}

static sana_image *decode(const sana_model *m, const sana_tensor *lat) {
    sana_image *im[1] = {0};
    CHECK_OK(sana_decode_latents(ctx, m, lat, NULL, im));
    return im[0];
}

static void encode(const sana_model *m, const char *text, int chi, sana_tensor **emb, sana_tensor **mask) {
    sana_encode_params ep;
    sana_encode_params_init(&ep);
    ep.complex_human_instruction = chi;
    CHECK_OK(sana_encode_prompt(ctx, m, &text, 1, &ep, emb, mask));
}

static void test_sana(const sana_model *m) {
    /* the negative prompt without the complex human instruction, as sana_generate encodes it */
    sana_tensor *emb = NULL, *mask = NULL, *uemb = NULL, *umask = NULL;
    encode(m, PROMPT, 1, &emb, &mask);
    encode(m, NEGATIVE, 0, &uemb, &umask);
    sana_sampler_params sp;
    sana_sampler_params_init(&sp);
    sp.steps = STEPS;
    sana_sampler *s = NULL;
    CHECK_OK(sana_sampler_create(m, &sp, &s));
    sana_denoise_params dp;
    sana_denoise_params_init(&dp);
    dp.embeddings = emb, dp.mask = mask, dp.uncond_embeddings = uemb, dp.uncond_mask = umask;
    dp.sampler = s, dp.guidance_scale = GUIDANCE;
    for (uint64_t seed = 5; seed <= 6; seed++) { /* one prompt's embeddings, two seeds */
        sana_tensor *lat = noise(m, seed, 1.0f); /* flow: the initial sigma is 1 */
        CHECK_OK(sana_denoise(ctx, m, &dp, lat));
        sana_image *got = decode(m, lat), *want = generate(m, seed, NEGATIVE);
        CHECK(same_pixels(got, want), "SANA seed %llu: the stages' image differs from sana_generate's",
              (unsigned long long)seed);
        /* control: another negative prompt for sana_generate gives other bytes */
        sana_image *other = generate(m, seed, "");
        CHECK(other && !same_pixels(got, other), "SANA seed %llu: the negative prompt changed nothing",
              (unsigned long long)seed);
        printf("SANA seed %llu: stages %s sana_generate\n", (unsigned long long)seed,
               same_pixels(got, want) ? "==" : "!=");
        sana_image_free(got), sana_image_free(want), sana_image_free(other);
        sana_tensor_free(lat);
    }
    sana_sampler_free(s);
    sana_tensor_free(emb), sana_tensor_free(mask), sana_tensor_free(uemb), sana_tensor_free(umask);
}

static void test_sprint(const sana_model *m) {
    const uint64_t seed = 3;
    sana_tensor *emb = NULL, *mask = NULL;
    encode(m, PROMPT, 1, &emb, &mask);
    sana_denoise_params dp;
    sana_denoise_params_init(&dp);
    dp.embeddings = emb, dp.mask = mask; /* no CFG: Sprint's guidance is embedded */
    dp.guidance_scale = GUIDANCE;
    dp.seed = seed; /* SCM's renoise draws continue the initial noise's generator */
    sana_tensor *lat = noise(m, seed, 0.5f); /* randn * sigma_data */
    CHECK_OK(sana_denoise(ctx, m, &dp, lat));
    sana_image *got = decode(m, lat), *want = generate(m, seed, NULL);
    CHECK(same_pixels(got, want), "Sprint: the stages' image differs from sana_generate's");
    printf("Sprint seed %llu: stages %s sana_generate\n", (unsigned long long)seed, same_pixels(got, want) ? "==" : "!=");
    sana_image_free(got), sana_image_free(want);
    /* control: the renoise draws from another generator give other bytes */
    sana_tensor_free(lat);
    lat = noise(m, seed, 0.5f);
    dp.seed = seed + 1;
    CHECK_OK(sana_denoise(ctx, m, &dp, lat));
    got = decode(m, lat), want = generate(m, seed, NULL);
    CHECK(got && !same_pixels(got, want), "Sprint: denoise's seed changed nothing");
    sana_image_free(got), sana_image_free(want);
    sana_tensor_free(lat);
    sana_tensor_free(emb), sana_tensor_free(mask);
}

int main(void) {
    sana_context_params cp;
    sana_context_params_init(&cp);
    cp.backend = SANA_BACKEND_CPU;
    cp.n_threads = 2;
    CHECK_OK(sana_context_create(&cp, &ctx));
    sana_model *sana = tu_fixture_model(ctx, "sana_tiny"), *sprint = tu_fixture_model(ctx, "sprint_tiny");
    if (!sana && !sprint) tu_skip("the fixture pipelines do not load here");
    if (sana) test_sana(sana);
    if (sprint) test_sprint(sprint);
    sana_model_free(sana);
    sana_model_free(sprint);
    sana_context_free(ctx);
    return tu_finish("test_api_stages");
}
