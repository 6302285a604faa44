/* sana-bench: how fast libsana runs a SANA configuration, stage by stage, as one JSON object.
 *
 *   sana-bench [--config sana-0.6b|sana-1.6b|sana-1.6b-4k|sprint-0.6b|tiny] [--model DIR]
 *              [--backend cuda|cpu] [--precision bf16|fp16|fp32] [--size PX] [--steps N]
 *              [--guidance G] [--batch N] [--runs N] [--warmup N] [--seed N] [--tokens N]
 *              [--text-layers N] [--decode-budget BYTES] [--no-graph] [--dit-file bf16|fp16|fp32]
 *
 * Random weights (default): the DiT is made in device memory (sn_dit_create_random, the config
 * as published), the Gemma-2 text encoder is written once to a temporary folder (real widths,
 * random bf16; --text-layers to shorten it) and the DC-AE is sn_dcae_create_random with SANA's
 * f32c32 config. --dit-file writes the random DiT to a temporary folder as that dtype too and
 * loads it with sn_dit_load, as a model folder's is (on the CPU its matrices then stay in the
 * mapped file). A loop step is what a pipeline step costs: the DiT forward (batch 2B with CFG)
 * captured once as a CUDA graph and replayed (--no-graph: plain calls), then the CFG combination
 * and an Euler update. With --model DIR a real model folder runs through the public API instead
 * (sana_encode_prompt, sana_denoise, sana_decode_latents, sana_generate).
 *
 * Every stage is timed `runs` times after `warmup` untimed runs, with the device synchronised
 * around it; the report gives medians. Stages that cannot run (a component not in this build)
 * are null, with the reason under "errors". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ae/dcae.h"
#include "api/internal.h"
#include "backend/backend.h"
#include "bench.h"
#include "dit/dit.h"
#include "encoder/gemma.h"
#include "encoder/prompt.h"

typedef struct opts {
    const char *config, *model, *backend, *precision, *dit_file;
    int size, steps, batch, runs, warmup, tokens, text_layers, graphs;
    float guidance;
    uint64_t seed;
    size_t decode_budget;
} opts;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + 1e-6 * (double)ts.tv_nsec;
}

static void fill(float *x, size_t n, uint64_t seed) {
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        x[i] = (float)((double)(s >> 11) / (double)(1ull << 53) * 2.0 - 1.0);
    }
}

static sana_precision precision_of(const char *p) {
    return !p ? SANA_PRECISION_AUTO
           : !strcmp(p, "fp32") ? SANA_PRECISION_F32
           : !strcmp(p, "fp16") ? SANA_PRECISION_F16
           : !strcmp(p, "bf16") ? SANA_PRECISION_BF16
                                : SANA_PRECISION_AUTO;
}

static const char *dtype_word(sn_dtype t) { return t == SN_F32 ? "fp32" : t == SN_F16 ? "fp16" : "bf16"; }

/* Stage timer: synchronise, run, synchronise. */
#define TIMED(be, ms, expr)                                                                        \
    do {                                                                                           \
        sn_backend_sync(be);                                                                       \
        double t0_ = now_ms();                                                                     \
        st = (expr);                                                                               \
        if (st == SANA_OK) st = sn_backend_sync(be);                                              \
        (ms) = now_ms() - t0_;                                                                     \
    } while (0)

/* FLOP of one DiT forward for one image of N tokens with T text tokens (matrix products only:
 * QKV + out projections, cross Q + out, Mix-FFN 1x1 (D -> 5D, GLU), 3x3 depthwise, 1x1
 * (2.5D -> D); linear attention 4·N·D·32; cross attention 4·N·T·D). */
static double dit_flop(int64_t D, int64_t L, int64_t N, int64_t T) {
    double d = (double)D, n = (double)N;
    double per_layer = 2.0 * n * d * d * (3 + 1 + 1 + 1 + 5 + 2.5) + 2.0 * 9 * n * 5 * d + 4.0 * n * d * 32 +
                       4.0 * n * (double)T * d;
    return per_layer * (double)L;
}

/* --- random weights, internal modules -------------------------------------------------------- */

typedef struct step_ctx {
    const sn_dit *dit;
    const sn_dit_text *text;
    sn_tensor *x, *xin, *v; /* latents [B..], DiT input [2B..] with CFG, velocity */
    const float *t, *g;     /* host timesteps / guidance, rewritten every step */
    int cfg;
} step_ctx;

/* One DiT call: the part of a step that is captured as a graph. */
static sana_status step_fn(void *user) {
    step_ctx *s = user;
    if (s->cfg) {
        sn_tensor half = *s->xin;
        half.shape[0] = s->x->shape[0];
        SN_TRY(sn_copy(&half, s->x));
        half.data = (char *)s->xin->data + (size_t)sn_numel(s->x) * sn_dtype_size(s->x->dtype);
        SN_TRY(sn_copy(&half, s->x));
    }
    return sn_dit_forward(s->dit, s->text, s->cfg ? s->xin : s->x, s->t, s->g, NULL, s->v);
}

/* x += dt * (vu + s * (vc - vu)) with CFG, x += dt * v without: plain ops after the graph */
static sana_status update(step_ctx *s, sn_tensor *tmp, float scale, float dt) {
    if (!s->cfg) {
        SN_TRY(sn_scale(s->v, dt, 0.0f, tmp));
        return sn_binary(SN_ADD, s->x, tmp, s->x);
    }
    sn_tensor vu = *s->v, vc = *s->v;
    vu.shape[0] = vc.shape[0] = s->x->shape[0];
    vc.data = (char *)s->v->data + (size_t)sn_numel(s->x) * sn_dtype_size(s->v->dtype);
    SN_TRY(sn_binary(SN_SUB, &vc, &vu, tmp));
    SN_TRY(sn_scale(tmp, scale, 0.0f, tmp));
    SN_TRY(sn_binary(SN_ADD, tmp, &vu, tmp));
    SN_TRY(sn_scale(tmp, dt, 0.0f, tmp));
    return sn_binary(SN_ADD, s->x, tmp, s->x);
}

static sana_status run_loop(sn_backend *be, step_ctx *s, sn_graph **graph, int graphs, int steps, float scale,
                            sn_tensor *tmp, float *t, float *g, float guidance, int64_t B2) {
    for (int i = 0; i < steps; i++) {
        float tv = 1000.0f * (1.0f - (float)i / (float)steps);
        for (int64_t b = 0; b < B2; b++) t[b] = s->g ? tv / 1000.0f : tv, g[b] = guidance;
        SN_TRY(graphs ? sn_graph_run(be, graph, step_fn, s) : step_fn(s));
        SN_TRY(update(s, tmp, scale, -1.0f / (float)steps));
    }
    return SANA_OK;
}

/* Gemma-2 over the prompt(s) and the negative prompt, as the pipeline runs it (two calls; pad
 * rows not computed: sn_prompt_forward), random embeddings standing in when there is no encoder;
 * then the DiT's caption path and cross-attention K/V, once per prompt. */
static sana_status text_stage(const sn_gemma *gemma, const int32_t *ids, const int32_t *imask, int64_t B,
                              int64_t B2, int64_t T, sn_tensor *emb, const sn_dit *dit, const float *fmask,
                              sn_dit_text **text) {
    for (int64_t b0 = 0; gemma && b0 < B2; b0 += B) {
        sn_tensor part = *emb;
        part.shape[0] = B;
        part.data = (char *)emb->data + (size_t)(b0 * T * emb->shape[2]) * sn_dtype_size(emb->dtype);
        SN_TRY(sn_prompt_forward(gemma, ids + b0 * T, imask + b0 * T, B, T, 0, &part));
    }
    return sn_dit_prepare_text(dit, emb, fmask, text);
}

static int run_random(const opts *o, const bench_config *cfg, bench_report *r) {
    sn_backend *be = NULL;
    sana_status st = !strcmp(o->backend, "cpu") ? sn_backend_cpu_create(0, &be)
                                                 : sn_backend_cuda_create(0, precision_of(o->precision), &be);
    if (st) {
        fprintf(stderr, "sana-bench: backend: %s\n", sn_error_text());
        return 1;
    }
    r->precision = dtype_word(be->act_dtype);
    r->has_peak = sn_backend_memory(be, NULL, NULL) == SANA_OK;
    sn_error_clear();
    const int64_t B = o->batch, B2 = cfg->sprint ? B : 2 * B, T = o->tokens, side = o->size / 32;
    const sn_dtype A = be->act_dtype;

    /* text encoder on disk, DiT and DC-AE on the device */
    char te_dir[512] = "", dit_dir[512] = "";
    sn_gemma *gemma = NULL;
    int layers = o->text_layers > 0 ? o->text_layers : cfg->gemma.layers;
    if (bench_write_gemma(&cfg->gemma, layers, te_dir, sizeof te_dir))
        bench_error(r, ST_TEXT, "could not write the random text encoder to %s", te_dir);
    else if (sn_gemma_load(be, te_dir, NULL, &gemma))
        bench_error(r, ST_TEXT, "text encoder: %s", sn_error_text());
    sn_dit *dit = NULL;
    if (o->dit_file) {
        sn_dtype wt = !strcmp(o->dit_file, "fp32") ? SN_F32 : !strcmp(o->dit_file, "fp16") ? SN_F16 : SN_BF16;
        if (bench_write_dit(cfg->dit_json, wt, dit_dir, sizeof dit_dir)) {
            fprintf(stderr, "sana-bench: could not write the random DiT to %s\n", dit_dir);
            return 1;
        }
        st = sn_dit_load(be, dit_dir, NULL, &dit);
    } else {
        st = sn_dit_create_random(be, cfg->dit_json, o->seed + 1, &dit);
    }
    if (st) {
        fprintf(stderr, "sana-bench: DiT: %s\n", sn_error_text());
        if (dit_dir[0]) bench_remove_dit(dit_dir);
        return 1;
    }
    r->dit_params = sn_dit_param_count(dit);
    r->dit_flop_per_step = (double)B2 * dit_flop(sn_dit_hidden_size(dit), sn_dit_num_layers(dit), side * side, T);
    sn_dcae *ae = NULL;
    sn_dcae_config dc;
    sn_dcae_config_sana(&dc);
    if (!strcmp(cfg->name, "tiny")) /* the fixture's shape: widths 8..32, one block per stage */
        for (int i = 0; i < dc.n_stages; i++) {
            static const int32_t w[6] = {8, 8, 16, 16, 32, 32};
            dc.enc_width[i] = dc.dec_width[i] = w[i < 6 ? i : 5];
            dc.enc_depth[i] = dc.dec_depth[i] = 1;
            dc.head_dim = 8;
        }
    if (sn_dcae_create_random(be, &dc, o->seed + 2, &ae)) bench_error(r, ST_DECODE, "DC-AE: %s", sn_error_text());

    /* tensors, allocated once: nothing is allocated inside the timed stages */
    int64_t hidden = cfg->gemma.hidden;
    sn_tensor emb, x, xin = {0}, v, tmp, img = {0};
    int32_t *ids = malloc((size_t)(B2 * T) * sizeof *ids), *imask = malloc((size_t)(B2 * T) * sizeof *imask);
    float *fmask = malloc((size_t)(B2 * T) * sizeof *fmask), *t = malloc((size_t)B2 * 4), *g = malloc((size_t)B2 * 4);
    float *host = malloc((size_t)(B * 32 * side * side) * 4);
    if (!ids || !imask || !fmask || !t || !g || !host) return 1;
    for (int64_t i = 0; i < B2 * T; i++) {
        ids[i] = (int32_t)((i * 7919) % 4096);
        /* the prompt: 120 tokens, then padding; the negative prompt "": <bos> only */
        imask[i] = (i % T) < (i / T < B ? 120 : 1) ? 1 : 0;
        fmask[i] = (float)imask[i];
    }
    if ((st = sn_tensor_alloc(be, A, 3, SN_SHAPE(B2, T, hidden), &emb)) ||
        (st = sn_tensor_alloc(be, A, 4, SN_SHAPE(B, 32, side, side), &x)) ||
        (st = sn_tensor_alloc(be, A, 4, SN_SHAPE(B2, 32, side, side), &v)) ||
        (st = sn_tensor_alloc(be, A, 4, SN_SHAPE(B, 32, side, side), &tmp)) ||
        (!cfg->sprint && (st = sn_tensor_alloc(be, A, 4, SN_SHAPE(B2, 32, side, side), &xin)))) {
        fprintf(stderr, "sana-bench: tensors: %s\n", sn_error_text());
        return 1;
    }
    if (ae) {
        int64_t shape[4];
        sn_dcae_decode_shape(ae, &x, shape);
        if ((st = sn_tensor_alloc(be, A, 4, shape, &img))) bench_error(r, ST_DECODE, "image: %s", sn_error_text());
    }
    if (!gemma) { /* no encoder: random embeddings stand in, so the DiT still runs */
        float *e = malloc((size_t)sn_numel(&emb) * 4);
        if (!e) return 1;
        fill(e, (size_t)sn_numel(&emb), 7);
        sn_upload_convert(&emb, SN_F32, e);
        free(e);
    }
    step_ctx sc = {dit, NULL, &x, cfg->sprint ? NULL : &xin, &v, t, cfg->sprint ? g : NULL, !cfg->sprint};
    float gscale = cfg->sprint ? o->guidance * sn_dit_guidance_embeds_scale(dit) : o->guidance;
    sn_graph *graph = NULL;
    sn_dcae_decode_opts dopt;
    sn_dcae_decode_opts_init(&dopt);
    dopt.memory_budget = o->decode_budget;

    for (int run = -o->warmup; run < o->runs; run++) {
        double ms[ST_COUNT] = {0}, e0 = 0;
        sn_backend_sync(be);
        e0 = now_ms();
        sn_dit_text *text = NULL;
        TIMED(be, ms[ST_TEXT], text_stage(gemma, ids, imask, B, B2, T, &emb, dit, fmask, &text));
        if (st) {
            fprintf(stderr, "sana-bench: text: %s\n", sn_error_text());
            return 1;
        }
        sc.text = text;
        fill(host, (size_t)(B * 32 * side * side), o->seed + 3 + (uint64_t)(run + o->warmup));
        if ((st = sn_upload_convert(&x, SN_F32, host))) return 1;
        /* one step alone. Its graph is captured on the first call, and again when the new text
         * K/V landed elsewhere: that happens in the untimed call before */
        for (int64_t b = 0; b < B2; b++) t[b] = cfg->sprint ? 0.9f : 900.0f, g[b] = gscale;
        double settle_ms = 0;
        TIMED(be, settle_ms, o->graphs ? sn_graph_run(be, &graph, step_fn, &sc) : SANA_OK);
        if (st == SANA_OK) TIMED(be, ms[ST_STEP], o->graphs ? sn_graph_run(be, &graph, step_fn, &sc) : step_fn(&sc));
        if (st) {
            fprintf(stderr, "sana-bench: DiT step: %s\n", sn_error_text());
            return 1;
        }
        if ((st = sn_upload_convert(&x, SN_F32, host))) return 1;
        TIMED(be, ms[ST_LOOP], run_loop(be, &sc, &graph, o->graphs, o->steps, o->guidance, &tmp, t, g, gscale, B2));
        if (st) {
            fprintf(stderr, "sana-bench: loop: %s\n", sn_error_text());
            return 1;
        }
        if (ae && img.data) {
            TIMED(be, ms[ST_DECODE], sn_dcae_decode(ae, &x, &dopt, &img));
            if (st) bench_error(r, ST_DECODE, "decode: %s", sn_error_text());
        }
        /* the image to the host, as a pipeline would hand it over */
        if (img.data && !r->errors[ST_DECODE]) {
            float *pix = malloc((size_t)sn_numel(&img) * 4);
            if (pix) sn_download_f32(&img, pix);
            free(pix);
        }
        sn_backend_sync(be);
        /* the extra single steps are not part of a generation */
        ms[ST_E2E] = now_ms() - e0 - ms[ST_STEP] - settle_ms;
        if (r->errors[ST_DECODE] || r->errors[ST_TEXT]) bench_error(r, ST_E2E, "a stage did not run (see its error)");
        sn_dit_text_free(text);
        if (run < 0) continue;
        for (int i = 0; i < ST_COUNT; i++) bench_add(r, i, ms[i]);
    }
    if (r->has_peak) sn_backend_memory(be, NULL, &r->peak_device_bytes);
    sn_graph_free(be, graph);
    sn_tensor_free(&emb), sn_tensor_free(&x), sn_tensor_free(&xin), sn_tensor_free(&v), sn_tensor_free(&tmp);
    sn_tensor_free(&img);
    free(ids), free(imask), free(fmask), free(t), free(g), free(host);
    sn_dcae_free(ae);
    sn_dit_free(dit);
    sn_gemma_free(gemma);
    if (te_dir[0]) bench_remove_gemma(te_dir);
    if (dit_dir[0]) bench_remove_dit(dit_dir);
    sn_backend_free(be);
    return 0;
}

/* --- a real model folder, public API ----------------------------------------------------------- */

static int api_fail(sana_context *ctx, const char *what) {
    fprintf(stderr, "sana-bench: %s: %s\n", what, ctx ? sana_context_last_error(ctx) : sana_last_error());
    return 1;
}

static int run_folder(const opts *o, bench_report *r) {
    sana_context_params cp;
    sana_context_params_init(&cp);
    cp.backend = !strcmp(o->backend, "cpu") ? SANA_BACKEND_CPU : SANA_BACKEND_CUDA;
    cp.precision = precision_of(o->precision);
    sana_context *ctx = NULL;
    if (sana_context_create(&cp, &ctx)) return api_fail(NULL, "context");
    sn_backend *be = ctx->be;
    r->precision = dtype_word(be->act_dtype);
    r->has_peak = sn_backend_memory(be, NULL, NULL) == SANA_OK;
    sn_error_clear();
    sana_model *model = NULL;
    if (sana_model_load(ctx, o->model, NULL, &model)) {
        /* a build without some component (the DC-AE, while it is being written): the rest */
        bench_error(r, ST_DECODE, "model: %s", sana_context_last_error(ctx));
        sana_model_params mp;
        sana_model_params_init(&mp);
        mp.components = SANA_COMPONENT_ALL & ~(uint32_t)SANA_COMPONENT_VAE;
        if (sana_model_load(ctx, o->model, &mp, &model)) return api_fail(ctx, "model");
    }
    sana_model_info info;
    sana_model_info_init(&info);
    sana_model_get_info(model, &info);
    r->dit_params = info.transformer_params;
    int sprint = info.kind == SANA_MODEL_SPRINT, f = info.vae_scale_factor > 0 ? info.vae_scale_factor : 32;
    r->cfg = !sprint;
    if (model->transformer)
        r->dit_flop_per_step = (sprint ? 1.0 : 2.0) * o->batch *
                               dit_flop(sn_dit_hidden_size(model->transformer), sn_dit_num_layers(model->transformer),
                                        (int64_t)(o->size / f) * (o->size / f), o->tokens);
    const char *prompt = "a photo of a red fox in the snow, highly detailed";
    const char *prompts[2] = {prompt, ""};

    sana_sampler_params spp;
    sana_sampler_params_init(&spp);
    spp.steps = o->steps;
    sana_sampler *sampler = NULL, *one = NULL;
    if (sana_sampler_create(model, &spp, &sampler)) return api_fail(ctx, "sampler");
    spp.steps = 1;
    if (sana_sampler_create(model, &spp, &one)) return api_fail(ctx, "sampler");
    int64_t C = model->transformer ? sn_dit_in_channels(model->transformer) : info.latent_channels;
    int64_t lshape[4] = {o->batch, C, o->size / f, o->size / f};

    for (int run = -o->warmup; run < o->runs; run++) {
        double ms[ST_COUNT] = {0};
        sana_status st;
        sana_tensor *emb = NULL, *mask = NULL, *lat = NULL;
        /* text: the prompt and, with CFG, the negative prompt */
        TIMED(be, ms[ST_TEXT], sana_encode_prompt(ctx, model, prompts, sprint ? 1 : 2, NULL, &emb, &mask));
        if (st) bench_error(r, ST_TEXT, "%s", sana_context_last_error(ctx));
        if (st == SANA_OK && (st = sana_tensor_create(4, lshape, NULL, &lat)))
            bench_error(r, ST_LOOP, "latents: %s", sana_last_error());
        sana_tensor *ce = NULL, *cm = NULL, *ue = NULL, *um = NULL;
        if (st == SANA_OK && emb) {
            /* split [cond; uncond] for sana_denoise (host tensors) */
            int64_t L = sana_tensor_dim(emb, 1), Hd = sana_tensor_dim(emb, 2);
            float *e = malloc((size_t)sana_tensor_numel(emb) * 4), *m = malloc((size_t)sana_tensor_numel(mask) * 4);
            sana_tensor_read(emb, e, (size_t)sana_tensor_numel(emb));
            sana_tensor_read(mask, m, (size_t)sana_tensor_numel(mask));
            sana_tensor_create(3, (int64_t[]){1, L, Hd}, e, &ce);
            sana_tensor_create(2, (int64_t[]){1, L}, m, &cm);
            if (!sprint) {
                sana_tensor_create(3, (int64_t[]){1, L, Hd}, e + L * Hd, &ue);
                sana_tensor_create(2, (int64_t[]){1, L}, m + L, &um);
            }
            free(e), free(m);
        }
        sana_denoise_params dp;
        sana_denoise_params_init(&dp);
        dp.embeddings = ce, dp.mask = cm, dp.uncond_embeddings = ue, dp.uncond_mask = um;
        dp.guidance_scale = o->guidance, dp.seed = o->seed;
        if (st == SANA_OK && ce) {
            sana_noise_fill(SANA_NOISE_TORCH_CPU, o->seed, lat);
            dp.sampler = one;
            TIMED(be, ms[ST_STEP], sana_denoise(ctx, model, &dp, lat));
            if (st) bench_error(r, ST_STEP, "%s", sana_context_last_error(ctx));
            sana_noise_fill(SANA_NOISE_TORCH_CPU, o->seed, lat);
            dp.sampler = sampler;
            TIMED(be, ms[ST_LOOP], sana_denoise(ctx, model, &dp, lat));
            if (st) bench_error(r, ST_LOOP, "%s", sana_context_last_error(ctx));
        } else {
            bench_error(r, ST_STEP, "no text conditioning");
            bench_error(r, ST_LOOP, "no text conditioning");
        }
        sana_image *imgs[64] = {0};
        sana_decode_params dec;
        sana_decode_params_init(&dec);
        dec.memory_budget = o->decode_budget;
        if (lat) {
            TIMED(be, ms[ST_DECODE], sana_decode_latents(ctx, model, lat, &dec, imgs));
            if (st) bench_error(r, ST_DECODE, "%s", sana_context_last_error(ctx));
        }
        for (int i = 0; i < 64; i++) sana_image_free(imgs[i]), imgs[i] = NULL;
        /* end to end: one sana_generate call */
        sana_generate_params gp;
        sana_generate_params_init(&gp);
        gp.prompt = prompt, gp.width = gp.height = o->size, gp.batch = o->batch, gp.seed = o->seed;
        gp.steps = o->steps, gp.guidance_scale = o->guidance, gp.decode_memory_budget = o->decode_budget;
        TIMED(be, ms[ST_E2E], sana_generate(ctx, model, &gp, imgs));
        if (st) bench_error(r, ST_E2E, "%s", sana_context_last_error(ctx));
        for (int i = 0; i < 64; i++) sana_image_free(imgs[i]);
        sana_tensor_free(emb), sana_tensor_free(mask), sana_tensor_free(lat);
        sana_tensor_free(ce), sana_tensor_free(cm), sana_tensor_free(ue), sana_tensor_free(um);
        if (run < 0) continue;
        for (int i = 0; i < ST_COUNT; i++) bench_add(r, i, ms[i]);
    }
    if (r->has_peak) sn_backend_memory(be, NULL, &r->peak_device_bytes);
    sana_sampler_free(sampler);
    sana_sampler_free(one);
    sana_model_free(model);
    sana_context_free(ctx);
    return 0;
}

int main(int argc, char **argv) {
    opts o = {"sana-0.6b", NULL, "cuda", NULL, NULL, 0, 0, 1, 3, 1, 300, 0, 1, -1.0f, 0, 0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--no-graph")) {
            o.graphs = 0;
            continue;
        }
        if (!v) {
            fprintf(stderr, "sana-bench: %s needs a value (see the top of examples/sana-bench/main.c)\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--config")) o.config = v;
        else if (!strcmp(a, "--model")) o.model = v;
        else if (!strcmp(a, "--backend")) o.backend = v;
        else if (!strcmp(a, "--precision")) o.precision = v;
        else if (!strcmp(a, "--dit-file")) o.dit_file = v;
        else if (!strcmp(a, "--size")) o.size = atoi(v);
        else if (!strcmp(a, "--steps")) o.steps = atoi(v);
        else if (!strcmp(a, "--batch")) o.batch = atoi(v);
        else if (!strcmp(a, "--runs")) o.runs = atoi(v);
        else if (!strcmp(a, "--warmup")) o.warmup = atoi(v);
        else if (!strcmp(a, "--tokens")) o.tokens = atoi(v);
        else if (!strcmp(a, "--text-layers")) o.text_layers = atoi(v);
        else if (!strcmp(a, "--guidance")) o.guidance = (float)atof(v);
        else if (!strcmp(a, "--seed")) o.seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--decode-budget")) o.decode_budget = (size_t)strtoull(v, NULL, 10);
        else {
            fprintf(stderr, "sana-bench: unknown option %s\n", a);
            return 2;
        }
    }
    const bench_config *cfg = bench_find_config(o.config);
    if (!cfg) {
        fprintf(stderr, "sana-bench: unknown --config %s\n", o.config);
        return 2;
    }
    if (strcmp(o.backend, "cuda") && strcmp(o.backend, "cpu")) {
        fprintf(stderr, "sana-bench: --backend cuda or cpu\n");
        return 2;
    }
    if (o.size <= 0) o.size = cfg->size;
    if (o.steps <= 0) o.steps = cfg->steps;
    if (o.guidance < 0) o.guidance = cfg->guidance;
    if (o.size % 32 || o.batch < 1 || o.batch > 64 || o.runs < 1 || o.warmup < 0 || o.tokens < 1) {
        fprintf(stderr, "sana-bench: --size a multiple of 32, --batch 1..64, --runs >= 1, --tokens >= 1\n");
        return 2;
    }
    if (o.dit_file && strcmp(o.dit_file, "bf16") && strcmp(o.dit_file, "fp16") && strcmp(o.dit_file, "fp32")) {
        fprintf(stderr, "sana-bench: --dit-file bf16, fp16 or fp32\n");
        return 2;
    }
    bench_report r;
    memset(&r, 0, sizeof r);
    r.backend = o.backend, r.device = o.backend, r.config = o.model ? NULL : cfg->name, r.model = o.model;
    r.weights = o.model ? "folder" : o.dit_file ? "random, DiT from a file" : "random";
    r.width = r.height = o.size, r.steps = o.steps, r.batch = o.batch, r.runs = o.runs;
    r.cfg = !cfg->sprint, r.graphs = o.graphs, r.text_tokens = o.tokens, r.guidance = o.guidance, r.seed = o.seed;
    int rc = o.model ? run_folder(&o, &r) : run_random(&o, cfg, &r);
    if (rc == 0) bench_print(&r);
    bench_report_free(&r);
    return rc;
}
