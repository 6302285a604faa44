/* End to end against the oracle's pipelines (kind "e2e": SanaPipeline, SanaPAGPipeline,
 * SanaSprintPipeline on the tiny fixture models, fixed seeds):
 *   1. the initial noise is torch.randn's, bit for bit;
 *   2. the denoising loop (sana_denoise from the reference's prompt embeddings): every step's
 *      transformer input, timestep, guidance, output and the latents after it, within the case's
 *      tolerances (1e-4 or tighter), and the final latents;
 *   3. when the VAE loads: the decoded image within +-1 of the reference on >= 99.9 % of values;
 *   4. when the whole model loads: sana_generate from the prompt, the same checks.
 * tests/test_cuda_e2e.c includes this file with E2E_CUDA set: the same cases on a CUDA context in
 * fp32 mode, where tolerances below 1e-4 are raised to 1e-4 (issue 8's fp32 criterion: another
 * summation order, not another function) and a second sana_generate must give the same bytes
 * (the denoising step is captured as a CUDA graph and replayed). */
#ifndef E2E_CUDA
#define E2E_CUDA 0
#endif
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/sampler.h"
#include "harness.h"

static sana_context *ctx;

typedef struct probe_state {
    const tu_case *c;
    int steps_seen;
    double worst_latents;
} probe_state;

static void compare(const tu_case *c, const char *name, const float *got, size_t n) {
    tu_tensor ref;
    if (tu_golden(c, name, &ref)) return;
    CHECK(ref.n == n, "%s %s: %zu values, reference %zu", c->name, name, n, ref.n);
    if (ref.n == n) {
        char what[160];
        snprintf(what, sizeof what, "%s %s", c->name, name);
        double tol = tu_case_tol(c, name);
        if (E2E_CUDA && tol < 1e-4) tol = 1e-4;
        double e = tu_rel_err(got, ref.f, n);
        printf("  %-28s rel err %.3g (tol %.3g)\n", name, e, tol);
        CHECK(e <= tol, "%s: rel err %.3g > %.3g", what, e, tol);
    }
    tu_tensor_free(&ref);
}

static void on_probe(void *user, int32_t step, const char *what, const float *data, size_t n) {
    probe_state *ps = user;
    char name[64];
    if (step < 0)
        snprintf(name, sizeof name, "%s", what);
    else
        snprintf(name, sizeof name, "step.%d.%s", step, what);
    if (!strcmp(what, "latents")) ps->steps_seen++;
    compare(ps->c, name, data, n);
}

/* image_u8 within +-1 on >= 99.9 % of values */
static void compare_image(const tu_case *c, const sana_image *im) {
    tu_tensor ref;
    if (tu_golden(c, "image_u8", &ref)) return;
    const uint8_t *px = sana_image_pixels_const(im);
    size_t n = (size_t)sana_image_width(im) * sana_image_height(im) * 3, off = 0, maxd = 0;
    CHECK(ref.n == n, "%s image: %zu values, reference %zu", c->name, n, ref.n);
    for (size_t i = 0; i < n && i < ref.n; i++) {
        long d = labs((long)px[i] - (long)ref.i[i]);
        if (d > 1) off++;
        if ((size_t)d > maxd) maxd = (size_t)d;
    }
    double frac = n ? (double)off / (double)n : 1;
    printf("  image_u8: max |diff| %zu LSB, %.4f %% of values off by more than 1 (limit 0.1 %%)\n", maxd, frac * 100);
    CHECK(ref.n == n && frac <= 0.001, "%s image: %.4f %% of values off by more than 1 LSB", c->name, frac * 100);
    tu_tensor_free(&ref);
}

/* The reference's call-batch embeddings [copies, L, D] split into uncond / cond tensors. */
static sana_tensor *rows(const tu_tensor *t, int64_t first, int64_t count, int is_mask) {
    int64_t L = t->shape[1], D = is_mask ? 1 : t->shape[2];
    sana_tensor *out = NULL;
    int64_t shape3[3] = {count, L, D}, shape2[2] = {count, L};
    float *buf = malloc(sizeof(float) * (size_t)(count * L * D));
    for (int64_t k = 0; k < count * L * D; k++)
        buf[k] = t->f ? t->f[first * L * D + k] : (float)t->i[first * L * D + k];
    CHECK_OK(sana_tensor_create(is_mask ? 2 : 3, is_mask ? shape2 : shape3, buf, &out));
    free(buf);
    return out;
}

/* pag_applied_layers ["transformer_blocks.1", ...] -> block indices */
static int32_t pag_layers(const tu_case *c, int32_t layers[8]) {
    int32_t n = 0;
    const cJSON *pl = (const cJSON *)tu_param_json(c, "pag_applied_layers"), *o;
    cJSON_ArrayForEach(o, pl) if (cJSON_IsString(o) && n < 8) {
        const char *dot = strrchr(o->valuestring, '.');
        layers[n++] = dot ? atoi(dot + 1) : 0;
    }
    return n;
}

static void run_loop(const tu_case *c, sana_model *m, int sprint, int pag) {
    tu_tensor emb, mask, noise;
    if (tu_golden(c, "prompt_embeds", &emb) | tu_golden(c, "prompt_attention_mask", &mask) |
        tu_golden(c, "initial_noise", &noise))
        return;
    int64_t shape[4] = {noise.shape[0], noise.shape[1], noise.shape[2], noise.shape[3]};
    uint64_t seed = (uint64_t)tu_param_num(c, "seed", 0);
    sana_tensor *lat = NULL;
    CHECK_OK(sana_tensor_create(4, shape, NULL, &lat));
    CHECK_OK(sana_noise_fill(SANA_NOISE_TORCH_CPU, seed, lat));
    float *x = malloc(sizeof(float) * noise.n);
    CHECK_OK(sana_tensor_read(lat, x, noise.n));
    CHECK(memcmp(x, noise.f, noise.n * sizeof(float)) == 0, "%s: initial noise differs from torch.randn", c->name);
    printf("  initial_noise: %zu values, bit-exact: %s\n", noise.n, memcmp(x, noise.f, noise.n * 4) ? "NO" : "yes");
    if (sprint) { /* latents = randn * sigma_data */
        for (size_t k = 0; k < noise.n; k++) x[k] = x[k] * 0.5f;
        sana_tensor_free(lat);
        CHECK_OK(sana_tensor_create(4, shape, x, &lat));
    }
    sana_sampler_params sp;
    sana_sampler_params_init(&sp);
    sp.steps = (int32_t)tu_param_num(c, "num_inference_steps", 0);
    if (sprint) {
        sp.max_timesteps = (float)tu_param_num(c, "max_timesteps", 1.5708);
        sp.intermediate_timesteps = (float)tu_param_num(c, "intermediate_timesteps", 1.3);
    }
    sana_sampler *smp = NULL;
    CHECK_OK(sana_sampler_create(m, &sp, &smp));
    int copies = (int)emb.shape[0];
    sana_tensor *e_c = rows(&emb, sprint ? 0 : 1, 1, 0), *m_c = rows(&mask, sprint ? 0 : 1, 1, 1);
    sana_tensor *e_u = sprint ? NULL : rows(&emb, 0, 1, 0), *m_u = sprint ? NULL : rows(&mask, 0, 1, 1);
    int32_t layers[8];
    int32_t n_layers = pag ? pag_layers(c, layers) : 0;
    sana_denoise_params dp;
    sana_denoise_params_init(&dp);
    dp.embeddings = e_c, dp.mask = m_c, dp.uncond_embeddings = e_u, dp.uncond_mask = m_u;
    dp.sampler = smp;
    dp.guidance_scale = (float)tu_param_num(c, "guidance_scale", 4.5);
    dp.pag_scale = pag ? (float)tu_param_num(c, "pag_scale", 0) : 0.0f;
    dp.pag_layers = layers, dp.n_pag_layers = n_layers;
    dp.seed = seed;
    probe_state ps = {c, 0, 0};
    sn_denoise_set_probe(on_probe, &ps);
    CHECK_OK(sana_denoise(ctx, m, &dp, lat));
    sn_denoise_set_probe(NULL, NULL);
    CHECK(ps.steps_seen == sp.steps, "%s: %d steps ran, expected %d", c->name, ps.steps_seen, sp.steps);
    CHECK(copies == (sprint ? 1 : pag ? 3 : 2), "%s: call batch %d", c->name, copies);
    CHECK_OK(sana_tensor_read(lat, x, noise.n));
    compare(c, "final_latents", x, noise.n);
    sana_sampler_free(smp);
    sana_tensor_free(e_c), sana_tensor_free(m_c), sana_tensor_free(e_u), sana_tensor_free(m_u);
    sana_tensor_free(lat);
    free(x);
    tu_tensor_free(&emb), tu_tensor_free(&mask), tu_tensor_free(&noise);
}

/* Stage 3: the reference's final latents through the VAE and the pipeline's postprocess. */
static void run_decode(const tu_case *c, sana_model *m) {
    tu_tensor fin;
    if (tu_golden(c, "final_latents", &fin)) return;
    sana_tensor *lat = NULL;
    CHECK_OK(sana_tensor_create(4, fin.shape, fin.f, &lat));
    sana_image *im[4] = {0};
    sana_status st = sana_decode_latents(ctx, m, lat, NULL, im);
    if (st == SANA_OK) compare_image(c, im[0]);
    else printf("  note: decode not available here: %s\n", sana_context_last_error(ctx));
    sana_image_free(im[0]);
    sana_tensor_free(lat);
    tu_tensor_free(&fin);
}

/* Stage 4: the whole call. */
static void run_generate(const tu_case *c, sana_model *m, int pag) {
    sana_generate_params p;
    sana_generate_params_init(&p);
    p.prompt = tu_param_str(c, "prompt", "");
    const char *neg = tu_param_str(c, "negative_prompt", NULL);
    p.negative_prompt = neg;
    p.width = (int32_t)tu_param_num(c, "width", 0);
    p.height = (int32_t)tu_param_num(c, "height", 0);
    p.resolution_binning = tu_param_bool(c, "use_resolution_binning", 1);
    p.steps = (int32_t)tu_param_num(c, "num_inference_steps", 0);
    p.guidance_scale = (float)tu_param_num(c, "guidance_scale", 4.5);
    p.seed = (uint64_t)tu_param_num(c, "seed", 0);
    p.max_sequence_length = (int32_t)tu_param_num(c, "max_sequence_length", 300);
    int32_t layers[8];
    if (pag) {
        p.pag_scale = (float)tu_param_num(c, "pag_scale", 0);
        p.pag_layers = layers, p.n_pag_layers = pag_layers(c, layers);
    }
    probe_state ps = {c, 0, 0};
    sn_denoise_set_probe(on_probe, &ps);
    sana_image *im[1] = {0};
    sana_status st = sana_generate(ctx, m, &p, im);
    sn_denoise_set_probe(NULL, NULL);
    CHECK(st == SANA_OK, "%s: sana_generate -> %s (%s)", c->name, sana_status_string(st), sana_context_last_error(ctx));
    if (st == SANA_OK) {
        compare_image(c, im[0]);
        CHECK(strstr(sana_image_parameters(im[0]), p.prompt) != NULL, "parameters text lacks the prompt");
    }
    if (st == SANA_OK && E2E_CUDA) { /* captured and replayed again: the same bytes */
        sana_image *again[1] = {0};
        CHECK_OK(sana_generate(ctx, m, &p, again));
        size_t bytes = (size_t)sana_image_width(im[0]) * sana_image_height(im[0]) * 3;
        CHECK(again[0] && !memcmp(sana_image_pixels_const(again[0]), sana_image_pixels_const(im[0]), bytes),
              "%s: a second sana_generate on the GPU gave other pixels", c->name);
        sana_image_free(again[0]);
    }
    sana_image_free(im[0]);
}

/* SANA_TEST_E2E_STAGES: the stages to run, any of "loop", "decode", "generate" (unset: all). The
 * emulated CUDA run (tests/cuemu) runs loop and decode in CI; generate's text encoder is slow there. */
static int stage_wanted(const char *stage) {
    const char *e = getenv("SANA_TEST_E2E_STAGES");
    return !e || !*e || strstr(e, stage) != NULL;
}

static sana_model *load(const char *name, uint32_t components) {
    sana_model_params mp;
    sana_model_params_init(&mp);
    mp.components = components;
    sana_model *m = NULL;
    if (sana_model_load(ctx, tu_path(tu_fixtures_dir(), name), &mp, &m) != SANA_OK) {
        printf("  note: %s (components 0x%x) does not load here: %s\n", name, components, sana_context_last_error(ctx));
        return NULL;
    }
    return m;
}

int main(void) {
    const tu_case *cases[16];
    int n = tu_cases_of_kind("e2e", cases, 16);
    if (n == 0) tu_skip("no e2e fixtures");
    sana_context_params cp;
    sana_context_params_init(&cp);
    cp.backend = E2E_CUDA ? SANA_BACKEND_CUDA : SANA_BACKEND_CPU;
    cp.precision = E2E_CUDA ? SANA_PRECISION_F32 : SANA_PRECISION_AUTO;
    cp.n_threads = 2;
    sana_status cst = E2E_CUDA ? sana_context_create(&cp, &ctx) : SANA_OK;
    if (E2E_CUDA && cst == SANA_ERR_UNSUPPORTED) { /* no CUDA build or no device: skip */
        char why[512];
        snprintf(why, sizeof why, "no CUDA context here: %s", sana_last_error());
        tu_skip(why);
    }
    if (E2E_CUDA && cst != SANA_OK) { /* on a GPU machine: a failure, not a skip */
        CHECK_OK(cst);
        return tu_finish("test_cuda_e2e");
    }
    if (!E2E_CUDA) CHECK_OK(sana_context_create(&cp, &ctx));
    for (int i = 0; i < n && i < 16; i++) {
        const tu_case *c = cases[i];
        const int sprint = strstr(c->model, "sprint") != NULL;
        const int pag = strstr(c->name, "pag") != NULL;
        printf("%s (%s):\n", c->name, c->model);
        sana_model *m = NULL;
        if (stage_wanted("loop")) {
            m = load(c->model, SANA_COMPONENT_TRANSFORMER | SANA_COMPONENT_SCHEDULER);
            if (!m) continue;
            run_loop(c, m, sprint, pag);
            sana_model_free(m);
        }
        if (stage_wanted("decode")) {
            m = load(c->model, SANA_COMPONENT_VAE);
            if (m) run_decode(c, m);
            sana_model_free(m);
        }
        if (stage_wanted("generate")) {
            m = load(c->model, SANA_COMPONENT_ALL);
            if (m) run_generate(c, m, pag);
            sana_model_free(m);
        }
    }
    sana_context_free(ctx);
    return tu_finish(E2E_CUDA ? "test_cuda_e2e" : "test_generate_e2e");
}
