/* sana_generate: prompt -> images in the reference's order (diffusers SanaPipeline.__call__,
 * SanaPAGPipeline with PAG, SanaSprintPipeline / SanaSprintImg2ImgPipeline for Sprint models;
 * spec solvers.md §8):
 *   1. bin the size (or check it), check the inputs        4. initial noise (seeded, torch.randn)
 *   2. encode the prompt (+ negative for CFG)               5. the denoising loop (denoise.c)
 *   3. the schedule                                         6. decode, resize back, to uint8 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae/dcae.h"
#include "api/generate_text.h"
#include "api/sampler.h"
#include "core/call.h"
#include "solver/guidance.h"
#include "solver/resolution.h"

void sana_generate_params_init(sana_generate_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->width = 1024;
    p->height = 1024;
    p->resolution_binning = 1;
    p->batch = 1;
    p->guidance_scale = 4.5f;
    p->complex_human_instruction = 1;
    p->strength = 0.8f;
    p->max_sequence_length = 300;
}

#define SN_MAX_BATCH 64

/* Everything one generation holds; freed by gen_free. */
typedef struct gen {
    const sana_model *model;
    const sana_generate_params *p;
    struct sana_sampler sampler;
    sn_schedule sched;
    int32_t width, height;       /* what the caller gets */
    int32_t gen_w, gen_h;        /* what is generated (binned) */
    int32_t C, f, lh, lw, B;     /* latent channels, pixels per latent cell, latent size, batch */
    int cfg, pag, scm;
    int32_t first_step;
    sn_generate_text text;       /* cond (+ uncond) embeddings for the call batch */
    float *latents;              /* [B, C, lh, lw] */
    float *pixels;               /* decoded [B, 3, gen_h, gen_w] */
    float *resized, *tmp;        /* resize back */
} gen;

static void gen_free(gen *g) {
    sn_generate_text_free(&g->text);
    free(g->latents);
    free(g->pixels);
    free(g->resized);
    free(g->tmp);
}

/* --- 1. inputs -------------------------------------------------------------------------------- */

static sana_status check_components(const sana_model *m) {
    const char *missing = !m->transformer ? "transformer" : !m->vae ? "vae"
                          : !m->text_encoder ? "text_encoder" : !m->tokenizer ? "tokenizer" : NULL;
    if (missing)
        return sn_fail(SANA_ERR_UNSUPPORTED, "sana_generate: %s: the model has no %s loaded",
                       m->path ? m->path : "model", missing);
    return SANA_OK;
}

/* The bytes the largest host buffers of this generation need; refused when above the machine's
 * physical memory (a clear error instead of an allocation failure deep inside). */
static sana_status check_memory(const gen *g) {
    double px = (double)g->gen_w * g->gen_h * g->B;
    double tokens = (double)g->lw * g->lh * g->B * 3.0; /* at most 3 copies per call */
    double bytes = px * 3.0 * sizeof(float) * 3.0       /* decoded, resized, tmp */
                   + (double)g->width * g->height * g->B * 3.0 /* uint8 images */
                   /* the transformer's activations: a few [tokens, hidden] tensors */
                   + tokens * sn_dit_hidden_size(g->model->transformer) * sizeof(float) * 8.0;
    /* on the CPU the decoder's full-resolution activations, one image at a time (two of its first
     * stage's width), or the budget the caller gave them */
    if (sn_backend_for_call(g->model->be)->kind == SANA_BACKEND_CPU)
        bytes += g->p->decode_memory_budget ? (double)g->p->decode_memory_budget
                                            : (double)g->gen_w * g->gen_h * sizeof(float) * 2.0 *
                                                  sn_dcae_get_config(g->model->vae)->dec_width[0];
    /* img2img: the init image as floats, resized, and (CPU) the encoder's activations */
    const sana_image *im = g->p->init_image;
    if (im) {
        bytes += 3.0 * sizeof(float) * ((double)im->width * im->height + (double)g->gen_w * g->gen_h);
        if (sn_backend_for_call(g->model->be)->kind == SANA_BACKEND_CPU)
            bytes += (double)g->gen_w * g->gen_h * sizeof(float) * 2.0 *
                     sn_dcae_get_config(g->model->vae)->enc_width[0];
    }
    char what[64];
    snprintf(what, sizeof what, "%dx%d x %d images", g->width, g->height, g->B);
    return sn_api_check_memory(bytes, "sana_generate", what);
}

static sana_status check_inputs(gen *g) {
    const sana_generate_params *p = g->p;
    const sana_model *m = g->model;
    if (!p->prompt) return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_generate: prompt is NULL");
    if (p->width <= 0 || p->height <= 0)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_generate: width and height must be > 0, not %dx%d",
                       p->width, p->height);
    if (p->width > 65536 || p->height > 65536)
        return sn_fail(SANA_ERR_OUT_OF_MEMORY, "sana_generate: %dx%d is too large (at most 65536 per side)",
                       p->width, p->height);
    if (p->batch < 1 || p->batch > SN_MAX_BATCH)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_generate: batch must be 1..%d, not %d", SN_MAX_BATCH, p->batch);
    if (p->steps < 0 || p->steps > SN_MAX_STEPS)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_generate: steps must be 1..%d (or 0 for the sampler's), not %d",
                       SN_MAX_STEPS, p->steps);
    if (!isfinite(p->guidance_scale))
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_generate: guidance_scale is %g; it must be a finite number",
                       (double)p->guidance_scale);
    if (!isfinite(p->pag_scale) || p->pag_scale < 0.0f)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_generate: pag_scale is %g; it must be finite and >= 0",
                       (double)p->pag_scale);
    if (p->n_pag_layers < 0 || (p->n_pag_layers > 0 && !p->pag_layers))
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_generate: pag_layers is NULL with n_pag_layers %d", p->n_pag_layers);
    if (p->max_sequence_length < 1 || p->max_sequence_length > 4096)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_generate: max_sequence_length %d is out of range",
                       p->max_sequence_length);
    if (p->noise != SANA_NOISE_TORCH_CPU)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_generate: unknown noise kind %d", (int)p->noise);
    SN_TRY(check_components(m));
    const sn_dit *dit = m->transformer;
    for (int32_t i = 0; i < p->n_pag_layers; i++)
        if (p->pag_layers[i] < 0 || p->pag_layers[i] >= sn_dit_num_layers(dit))
            return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_generate: PAG layer %d: the transformer has blocks 0..%d",
                           p->pag_layers[i], sn_dit_num_layers(dit) - 1);

    /* sampler and schedule */
    if (p->sampler)
        g->sampler = *p->sampler;
    else
        SN_TRY(sn_sampler_make(m, NULL, &g->sampler));
    SN_TRY(sn_sampler_schedule(&g->sampler, p->steps, &g->sched));
    g->scm = g->sched.cls == SN_SCHED_SCM;
    if (g->scm != sn_dit_guidance_embeds(dit))
        return sn_fail(SANA_ERR_UNSUPPORTED, g->scm ? "sana_generate: the SCM solver needs a SANA-Sprint model"
                                                    : "sana_generate: a SANA-Sprint model samples with the SCM solver only");

    /* size: bins (step 1 of the pipeline) or exact */
    g->width = p->width, g->height = p->height;
    g->C = sn_dit_in_channels(dit);
    g->f = sn_dcae_spatial_factor(m->vae);
    const int32_t multiple = g->f * sn_dit_patch_size(dit);
    if (p->resolution_binning) {
        SN_TRY(sn_resolution_bin(sn_dit_sample_size(dit), p->height, p->width, &g->gen_h, &g->gen_w));
    } else {
        g->gen_w = p->width, g->gen_h = p->height;
    }
    if (g->gen_w % multiple || g->gen_h % multiple)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT,
                       "sana_generate: width and height must be multiples of %d with resolution binning "
                       "off, not %dx%d", multiple, g->gen_w, g->gen_h);
    g->lw = g->gen_w / g->f, g->lh = g->gen_h / g->f;
    g->B = p->batch;
    SN_TRY(check_memory(g));

    /* guidance: CFG iff guidance_scale > 1 (base models); PAG iff pag_scale > 0 with layers */
    g->cfg = !g->scm && p->guidance_scale > 1.0f;
    g->pag = !g->scm && p->pag_scale > 0.0f && p->n_pag_layers > 0;
    if (g->scm && p->pag_scale > 0.0f)
        return sn_fail(SANA_ERR_UNSUPPORTED, "sana_generate: PAG is not available for SANA-Sprint models");

    /* img2img: SanaSprintImg2ImgPipeline only */
    if (p->init_image) {
        if (!g->scm)
            return sn_fail(SANA_ERR_UNSUPPORTED,
                           "sana_generate: image-to-image needs a SANA-Sprint model (the reference "
                           "diffusers 0.42.1 has SanaSprintImg2ImgPipeline, no SANA img2img pipeline)");
        if (!(p->strength >= 0.0f && p->strength <= 1.0f))
            return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_generate: strength must be in [0, 1], not %g",
                           (double)p->strength);
        /* get_timesteps: init = min(N * strength, N); t_start = int(max(N - init, 0)) */
        double n = g->sched.steps, init = n * (double)p->strength;
        if (init > n) init = n;
        g->first_step = (int32_t)(n - init > 0.0 ? n - init : 0.0);
        if (g->sched.steps - g->first_step < 1)
            return sn_fail(SANA_ERR_INVALID_ARGUMENT,
                           "sana_generate: strength %g leaves %d of %d steps; at least one is needed",
                           (double)p->strength, g->sched.steps - g->first_step, g->sched.steps);
        if (p->init_image->channels != 3 && p->init_image->channels != 4)
            return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_generate: init_image must be RGB or RGBA");
    }
    return SANA_OK;
}

/* --- 4. initial latents ----------------------------------------------------------------------- */

/* SanaSprintImg2ImgPipeline.prepare_image + prepare_latents (image part): the init image at the
 * generated size, in [-1, 1], encoded, times scaling_factor * sigma_data. */
static sana_status encode_init_image(gen *g, float *image_latents) {
    const sana_model *m = g->model;
    const sana_image *im = g->p->init_image;
    const int64_t H = g->gen_h, W = g->gen_w;
    float *chw = malloc(sizeof(float) * 3 * (size_t)im->width * im->height);
    float *res = malloc(sizeof(float) * 3 * (size_t)H * W);
    if (!chw || !res) {
        free(chw);
        free(res);
        return sn_fail(SANA_ERR_OUT_OF_MEMORY, "sana_generate: init image: out of memory");
    }
    sn_dcae_from_rgb8(im->pixels, im->stride, (int32_t)im->channels, im->height, im->width, chw);
    if (im->width != (uint32_t)W || im->height != (uint32_t)H) {
        /* the reference resizes the PIL image with Lanczos; this resizes bilinearly */
        sn_log(SANA_LOG_WARN, "init image %ux%u resized to %lldx%lld (bilinear; the reference uses "
               "PIL Lanczos, so the result differs slightly)", im->width, im->height, (long long)W, (long long)H);
        sn_resize_bilinear(chw, 3, (int32_t)im->height, (int32_t)im->width, res, (int32_t)H, (int32_t)W);
    } else {
        memcpy(res, chw, sizeof(float) * 3 * (size_t)H * W);
    }
    free(chw);
    sn_tensor x = {0}, z = {0};
    sana_status st = sn_api_activation(m, 4, SN_SHAPE(1, 3, H, W), &x);
    if (st == SANA_OK) st = sn_upload_convert(&x, SN_F32, res);
    free(res);
    if (st == SANA_OK) st = sn_api_activation(m, 4, SN_SHAPE(1, g->C, g->lh, g->lw), &z);
    if (st == SANA_OK) st = sn_dcae_encode(m->vae, &x, NULL, NULL, &z);
    if (st == SANA_OK) st = sn_download_f32(&z, image_latents);
    sn_tensor_free(&x);
    sn_tensor_free(&z);
    if (st != SANA_OK) return st;
    const float sf = sn_dcae_scaling_factor(m->vae), sd = (float)g->sampler.cfg.sigma_data;
    const size_t n = (size_t)g->C * g->lh * g->lw;
    for (size_t k = 0; k < n; k++) image_latents[k] = (image_latents[k] * sf) * sd;
    return SANA_OK;
}

static sana_status initial_latents(gen *g, sn_rng *rng) {
    const size_t one = (size_t)g->C * g->lh * g->lw, n = one * g->B;
    float *image_latents = NULL;
    if (g->p->init_image) {
        image_latents = malloc(one * sizeof(float));
        if (!image_latents) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "sana_generate: out of memory");
        sana_status st = encode_init_image(g, image_latents);
        if (st != SANA_OK) {
            free(image_latents);
            return st;
        }
    }
    /* randn_tensor((B, C, h, w), generator, float32) */
    sn_rng_randn(rng, g->latents, n);
    sn_denoise_probe_initial(g->latents, n);
    if (g->scm) {
        const float sd = (float)g->sampler.cfg.sigma_data;
        if (!image_latents) {
            for (size_t k = 0; k < n; k++) g->latents[k] = g->latents[k] * sd; /* latents * sigma_data */
        } else {
            /* noise * sigma_data; latents = cos(t0) * image_latents + sin(t0) * noise */
            const float t0 = g->sched.timesteps[g->first_step];
            const float c = cosf(t0), s = sinf(t0);
            for (size_t k = 0; k < n; k++) {
                float z = g->latents[k] * sd;
                g->latents[k] = c * image_latents[k % one] + s * z;
            }
        }
    }
    free(image_latents);
    return SANA_OK;
}

/* --- 6. decode and images ---------------------------------------------------------------------- */

static sana_status decode(gen *g) {
    const sana_model *m = g->model;
    const size_t n = (size_t)g->B * g->C * g->lh * g->lw;
    const float sf = sn_dcae_scaling_factor(m->vae);
    /* vae.decode(latents / scaling_factor) */
    for (size_t k = 0; k < n; k++) g->latents[k] = g->latents[k] / sf;
    sn_tensor z = {0}, y = {0};
    int64_t oshape[4];
    sana_status st = sn_api_activation(m, 4, SN_SHAPE(g->B, g->C, g->lh, g->lw), &z);
    if (st == SANA_OK) st = sn_upload_convert(&z, SN_F32, g->latents);
    if (st == SANA_OK) {
        sn_dcae_decode_shape(m->vae, &z, oshape);
        st = sn_api_activation(m, 4, oshape, &y);
    }
    sn_dcae_decode_opts opts;
    sn_dcae_decode_opts_init(&opts);
    opts.memory_budget = g->p->decode_memory_budget;
    if (st == SANA_OK) st = sn_dcae_decode(m->vae, &z, &opts, &y);
    if (st == SANA_OK) {
        g->pixels = malloc(sizeof(float) * (size_t)sn_numel(&y));
        st = g->pixels ? sn_download_f32(&y, g->pixels) : sn_fail(SANA_ERR_OUT_OF_MEMORY, "sana_generate: decoded image: out of memory");
    }
    sn_tensor_free(&z);
    sn_tensor_free(&y);
    return st;
}

/* "prompt\nNegative prompt: ...\nSteps: 20, Sampler: Flow-DPM-Solver, CFG scale: 4.5, Seed: 42,
 * Size: 1024x1024, Model: sana_tiny" (the A1111 layout that image viewers show). */
static char *parameters_text(const gen *g, int32_t index) {
    const sana_generate_params *p = g->p;
    const char *model = g->model->path ? g->model->path : "";
    const char *slash = strrchr(model, '/');
    if (slash && slash[1] == '\0') { /* "dir/" */
        while (slash > model && slash[-1] != '/') slash--;
        slash--;
    }
    const char *model_name = slash ? slash + 1 : model;
    char extra[256] = "";
    size_t e = 0;
    if (g->pag) e += (size_t)snprintf(extra + e, sizeof extra - e, ", PAG scale: %g", (double)p->pag_scale);
    if (p->init_image) e += (size_t)snprintf(extra + e, sizeof extra - e, ", Denoising strength: %g", (double)p->strength);
    if (g->B > 1) e += (size_t)snprintf(extra + e, sizeof extra - e, ", Batch size: %d, Batch pos: %d", g->B, index);
    if (!p->resolution_binning) snprintf(extra + e, sizeof extra - e, ", Resolution binning: off");
    const char *neg = p->negative_prompt ? p->negative_prompt : "";
    size_t cap = strlen(p->prompt) + strlen(neg) + strlen(model_name) + 512;
    char *s = malloc(cap);
    if (!s) return NULL;
    snprintf(s, cap, "%s\nNegative prompt: %s\nSteps: %d, Sampler: %s, CFG scale: %g, Seed: %llu, "
             "Size: %dx%d, Model: %s%s", p->prompt, neg, g->sched.steps, sn_sampler_name(&g->sampler),
             (double)p->guidance_scale, (unsigned long long)p->seed, g->width, g->height, model_name, extra);
    return s;
}

static sana_status make_images(gen *g, sana_image **images) {
    const int64_t plane_in = (int64_t)g->gen_h * g->gen_w, plane_out = (int64_t)g->height * g->width;
    const float *px = g->pixels;
    if (g->gen_w != g->width || g->gen_h != g->height) {
        /* resize_and_crop_tensor on the decoded image, still in [-1, 1] */
        int32_t rh, rw;
        sn_resolution_resized_size(g->gen_h, g->gen_w, g->height, g->width, &rh, &rw);
        g->tmp = malloc(sizeof(float) * 3 * (size_t)g->B * rh * rw);
        g->resized = malloc(sizeof(float) * 3 * (size_t)g->B * plane_out);
        if (!g->tmp || !g->resized) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "sana_generate: resize: out of memory");
        sn_resize_and_crop(g->pixels, 3 * (int64_t)g->B, g->gen_h, g->gen_w, g->tmp, g->resized, g->height, g->width);
        px = g->resized;
    }
    (void)plane_in;
    for (int32_t b = 0; b < g->B; b++) {
        SN_TRY(sn_image_new((uint32_t)g->width, (uint32_t)g->height, 3, &images[b]));
        sn_dcae_to_rgb8(px + (size_t)b * 3 * plane_out, g->height, g->width, images[b]->pixels, images[b]->stride);
        char *text = parameters_text(g, b);
        if (!text) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "sana_generate: out of memory");
        free(images[b]->parameters);
        images[b]->parameters = text;
    }
    return SANA_OK;
}

/* --- the call ------------------------------------------------------------------------------------- */

static sana_status generate(const sana_model *model, const sana_generate_params *p, sana_image **images) {
    gen g = {0};
    g.model = model;
    g.p = p;
    sana_status st = check_inputs(&g);
    /* 3. encode the prompt (+ the negative one for CFG), call batch [uncond, cond, (cond)] */
    if (st == SANA_OK) st = sn_generate_encode_text(model, p, g.B, g.cfg, g.pag, &g.text);
    if (st == SANA_OK && sn_cancel_requested()) st = sn_fail(SANA_ERR_CANCELLED, "cancelled after encoding the prompt");
    /* 5. latents */
    sn_rng rng;
    sn_rng_seed(&rng, p->seed);
    if (st == SANA_OK) {
        g.latents = malloc(sizeof(float) * (size_t)g.B * g.C * g.lh * g.lw);
        st = g.latents ? initial_latents(&g, &rng) : sn_fail(SANA_ERR_OUT_OF_MEMORY, "sana_generate: out of memory");
    }
    /* 7. the loop */
    if (st == SANA_OK) {
        sn_denoise_run run = {
            .model = model, .text = g.text.dit_text, .batch = g.B, .channels = g.C, .height = g.lh,
            .width = g.lw, .cfg = g.cfg, .pag = g.pag, .guidance_scale = p->guidance_scale,
            .pag_scale = p->pag_scale, .pag_layers = p->pag_layers, .n_pag_layers = p->n_pag_layers,
            .sched = &g.sched, .sched_cfg = &g.sampler.cfg, .first_step = g.first_step, .rng = &rng,
            .progress = p->progress, .progress_user = p->progress_user_data, .preview = p->preview,
            .preview_user = p->preview_user_data};
        st = sn_denoise_loop(&run, g.latents);
    }
    if (st == SANA_OK) sn_denoise_probe_final(g.latents, (size_t)g.B * g.C * g.lh * g.lw);
    /* 8. decode, resize back, postprocess */
    if (st == SANA_OK) st = decode(&g);
    if (st == SANA_OK) st = make_images(&g, images);
    if (st != SANA_OK)
        for (int32_t b = 0; b < (g.B > 0 ? g.B : 0); b++) {
            sana_image_free(images[b]);
            images[b] = NULL;
        }
    gen_free(&g);
    return st;
}

sana_status sana_generate(sana_context *ctx, const sana_model *model, const sana_generate_params *params,
                          sana_image **images) {
    if (!ctx) return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_generate: ctx is NULL");
    sn_api_enter(ctx);
    if (!model || !params || !images)
        return sn_api_leave(ctx, sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_generate: model, params or images is NULL"));
    images[0] = NULL; /* the caller's array holds at least one entry */
    sana_generate_params p;
    sana_generate_params_init(&p);
    sana_status st = sn_params_read(&p, sizeof p, params, "sana_generate_params");
    if (st == SANA_OK) {
        int32_t nb = p.batch >= 1 && p.batch <= SN_MAX_BATCH ? p.batch : 1;
        for (int32_t b = 0; b < nb; b++) images[b] = NULL;
        st = generate(model, &p, images);
    }
    return sn_api_leave(ctx, st);
}
