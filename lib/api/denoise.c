/* The denoising loop and the public low-level calls sana_denoise and sana_noise_fill. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/sampler.h"
#include "core/call.h"
#include "solver/guidance.h"

static _Thread_local sn_denoise_probe_fn probe_fn;
static _Thread_local void *probe_user;

void sn_denoise_set_probe(sn_denoise_probe_fn fn, void *user) {
    probe_fn = fn;
    probe_user = user;
}

static void probe(int32_t step, const char *what, const float *data, size_t n) {
    if (probe_fn) probe_fn(probe_user, step, what, data, n);
}

void sn_denoise_probe_initial(const float *noise, size_t n) { probe(-1, "initial_noise", noise, n); }
void sn_denoise_probe_final(const float *latents, size_t n) { probe(-1, "final_latents", latents, n); }

/* Host buffers and backend tensors of one loop. */
typedef struct loop_mem {
    float *x_in, *out, *v, *ts, *guid;
    sn_tensor x_t, out_t;
    sn_graph *graph; /* the model call, captured once where the backend has graphs */
} loop_mem;

static void loop_mem_free(loop_mem *m) {
    if (m->graph) sn_graph_free(m->x_t.be, m->graph);
    free(m->x_in);
    free(m->out);
    free(m->v);
    free(m->ts);
    free(m->guid);
    sn_tensor_free(&m->x_t);
    sn_tensor_free(&m->out_t);
}

/* One model call: the latents go up and the DiT runs. On a GPU it is captured once as a CUDA
 * graph and replayed every step (the same host buffers each time); on the CPU a plain call. */
typedef struct dit_call {
    const sn_denoise_run *r;
    loop_mem *mem;
    const sn_dit_pag *pag;
    int scm;
} dit_call;

static sana_status dit_call_run(void *user) {
    const dit_call *c = user;
    SN_TRY(sn_upload_convert(&c->mem->x_t, SN_F32, c->mem->x_in));
    return sn_dit_forward(c->r->model->transformer, c->r->text, &c->mem->x_t, c->mem->ts,
                          c->scm ? c->mem->guid : NULL, c->r->pag ? c->pag : NULL, &c->mem->out_t);
}

sana_status sn_denoise_loop(const sn_denoise_run *r, float *latents) {
    const sana_model *m = r->model;
    const sn_dit *dit = m->transformer;
    const int scm = r->sched->cls == SN_SCHED_SCM;
    const int copies = sn_guidance_copies(r->cfg, r->pag);
    const int32_t B = r->batch, CB = copies * B;
    const size_t n = (size_t)B * r->channels * r->height * r->width; /* one copy */
    const int64_t call_shape[4] = {CB, r->channels, r->height, r->width};
    const int32_t steps = r->sched->steps;
    if (r->first_step < 0 || r->first_step >= steps)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "denoise: first step %d is outside 0..%d", r->first_step, steps - 1);
    if (sn_dit_guidance_embeds(dit) != scm)
        return sn_fail(SANA_ERR_UNSUPPORTED, scm ? "the SCM solver needs a SANA-Sprint transformer (guidance_embeds)"
                                                 : "a SANA-Sprint transformer samples with the SCM solver only");

    /* the positional table (4K configs) once, outside the captured step */
    SN_TRY(sn_dit_prepare_positions(dit, r->text, r->height, r->width));
    sn_solver solver;
    SN_TRY(sn_solver_init(&solver, r->sched, r->sched_cfg, n));
    sn_solver_begin(&solver, r->first_step);
    loop_mem mem = {0};
    sana_status st = SANA_OK;
    mem.x_in = malloc(n * copies * sizeof(float));
    mem.out = malloc(n * copies * sizeof(float));
    mem.v = malloc(n * sizeof(float));
    mem.ts = malloc((size_t)CB * sizeof(float));
    mem.guid = malloc((size_t)CB * sizeof(float));
    if (!mem.x_in || !mem.out || !mem.v || !mem.ts || !mem.guid) {
        st = sn_fail(SANA_ERR_OUT_OF_MEMORY, "denoise: latents of %zu values: out of memory", n);
        goto done;
    }
    if ((st = sn_api_activation(m, 4, call_shape, &mem.x_t)) != SANA_OK) goto done;
    if ((st = sn_api_activation(m, 4, call_shape, &mem.out_t)) != SANA_OK) goto done;

    /* Sprint: guidance = full(guidance_scale).to(prompt dtype) * guidance_embeds_scale */
    const float gembed = r->guidance_scale * sn_dit_guidance_embeds_scale(dit);
    const float tscale = sn_dit_timestep_scale(dit);
    sn_dit_pag pag = {r->pag_layers, r->n_pag_layers, (copies - 1) * B};

    for (int32_t i = r->first_step; i < steps; i++) {
        /* the call batch: every copy sees the same latents (SCM: rescaled onto the flow path) */
        if (scm)
            sn_scm_model_input(&solver, i, latents, mem.x_in);
        else
            memcpy(mem.x_in, latents, n * sizeof(float));
        for (int c = 1; c < copies; c++) memcpy(mem.x_in + c * n, mem.x_in, n * sizeof(float));
        /* timestep = t.expand(batch) (* timestep_scale for the base pipelines) */
        float t = sn_schedule_model_timestep(r->sched, i);
        if (!scm) t = t * tscale;
        for (int32_t b = 0; b < CB; b++) mem.ts[b] = t, mem.guid[b] = gembed;
        probe(i, "model_input", mem.x_in, n * copies);
        probe(i, "timestep", mem.ts, (size_t)CB);
        if (scm) probe(i, "guidance", mem.guid, (size_t)CB);

        dit_call call = {r, &mem, &pag, scm};
        if ((st = sn_graph_run(mem.x_t.be, &mem.graph, dit_call_run, &call)) != SANA_OK) goto done;
        if ((st = sn_download_f32(&mem.out_t, mem.out)) != SANA_OK) goto done;
        probe(i, "model_output", mem.out, n * copies);

        if (scm) {
            /* the TrigFlow output from the flow model's (Sprint has no CFG batch) */
            sn_scm_model_output(&solver, i, mem.x_in, mem.out, mem.v);
        } else {
            sn_guidance_combine(mem.out, n, r->cfg, r->pag, r->guidance_scale, r->pag_scale, mem.v);
        }
        if ((st = sn_solver_step(&solver, mem.v, latents, r->rng)) != SANA_OK) goto done;
        probe(i, "latents", latents, n);

        if (r->progress) r->progress(i + 1 - r->first_step, steps - r->first_step, r->progress_user);
        if (r->preview)
            r->preview(i + 1 - r->first_step, latents, B, r->channels, r->height, r->width, r->preview_user);
        if (sn_cancel_requested()) {
            st = sn_fail(SANA_ERR_CANCELLED, "cancelled after denoising step %d of %d", i + 1, steps);
            goto done;
        }
    }
    if (scm) sn_scm_final_latents(&solver, latents);
done:
    loop_mem_free(&mem);
    sn_solver_free(&solver);
    return st;
}

/* --- public: noise ---------------------------------------------------------------------------- */

sana_status sana_noise_fill(sana_noise kind, uint64_t seed, sana_tensor *latents) {
    sn_error_clear();
    if (!latents) return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_noise_fill: latents is NULL");
    if (kind != SANA_NOISE_TORCH_CPU)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_noise_fill: unknown noise kind %d", (int)kind);
    sn_rng rng;
    sn_rng_seed(&rng, seed);
    sn_rng_randn(&rng, latents->data, (size_t)sana_tensor_numel(latents));
    return SANA_OK;
}

/* --- public: denoise -------------------------------------------------------------------------- */

void sana_denoise_params_init(sana_denoise_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->guidance_scale = 4.5f;
}

/* dst[b] = src[b] or src[0] when src has batch 1: [B, L, D] rows into `dst`. */
static void repeat_rows(const sana_tensor *src, int32_t B, float *dst) {
    size_t row = (size_t)(sana_tensor_numel(src) / src->shape[0]);
    for (int32_t b = 0; b < B; b++)
        memcpy(dst + (size_t)b * row, src->data + (src->shape[0] == 1 ? 0 : (size_t)b * row), row * sizeof(float));
}

static sana_status check_text(const sana_tensor *e, const sana_tensor *mask, int32_t B, int32_t D,
                              const char *what) {
    if (!e || e->ndim != 3 || (e->shape[0] != B && e->shape[0] != 1) || e->shape[2] != D)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT,
                       "sana_denoise: %s must be [%d (or 1), L, %d] (from sana_encode_prompt)", what, B, D);
    if (mask && (mask->ndim != 2 || mask->shape[0] != e->shape[0] || mask->shape[1] != e->shape[1]))
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_denoise: the mask of %s must be [%lld, %lld]",
                       what, (long long)e->shape[0], (long long)e->shape[1]);
    return SANA_OK;
}

static sana_status denoise(const sana_model *model, const sana_denoise_params *p, sana_tensor *latents) {
    if (!model->transformer)
        return sn_fail(SANA_ERR_UNSUPPORTED, "sana_denoise: the model has no transformer loaded");
    const sn_dit *dit = model->transformer;
    if (latents->ndim != 4 || latents->shape[1] != sn_dit_in_channels(dit))
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_denoise: latents must be [B, %d, H, W]",
                       sn_dit_in_channels(dit));
    const int32_t B = (int32_t)latents->shape[0], D = sn_dit_caption_channels(dit);
    if (!isfinite(p->guidance_scale) || !isfinite(p->pag_scale) || p->pag_scale < 0.0f)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_denoise: guidance_scale (%g) must be finite and "
                       "pag_scale (%g) finite and >= 0", (double)p->guidance_scale, (double)p->pag_scale);
    /* as sana_generate: before any work, not from inside the first model call */
    if (p->n_pag_layers < 0 || (p->n_pag_layers > 0 && !p->pag_layers))
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_denoise: n_pag_layers is %d with pag_layers %s",
                       p->n_pag_layers, p->pag_layers ? "set" : "NULL");
    for (int32_t i = 0; i < p->n_pag_layers; i++)
        if (p->pag_layers[i] < 0 || p->pag_layers[i] >= sn_dit_num_layers(dit))
            return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_denoise: PAG layer %d: the transformer has blocks 0..%d",
                           p->pag_layers[i], sn_dit_num_layers(dit) - 1);
    SN_TRY(check_text(p->embeddings, p->mask, B, D, "embeddings"));
    struct sana_sampler smp;
    if (p->sampler)
        smp = *p->sampler;
    else
        SN_TRY(sn_sampler_make(model, NULL, &smp));
    sn_schedule sched;
    SN_TRY(sn_sampler_schedule(&smp, 0, &sched));
    const int scm = sched.cls == SN_SCHED_SCM;
    const int cfg = !scm && p->uncond_embeddings && p->guidance_scale > 1.0f;
    const int pag = !scm && p->pag_scale > 0.0f && p->n_pag_layers > 0;
    if (cfg) {
        SN_TRY(check_text(p->uncond_embeddings, p->uncond_mask, B, D, "uncond_embeddings"));
        if (p->uncond_embeddings->shape[1] != p->embeddings->shape[1])
            return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_denoise: embeddings and uncond_embeddings differ in length");
    }
    const int copies = sn_guidance_copies(cfg, pag);
    /* the transformer's activations (a few [tokens, hidden] tensors) and the loop's latent buffers */
    const double lat = (double)sana_tensor_numel(latents), ps = sn_dit_patch_size(dit);
    const double tokens = lat / latents->shape[1] / (ps * ps) * copies;
    SN_TRY(sn_api_check_memory(tokens * sn_dit_hidden_size(dit) * sizeof(float) * 8.0 +
                               lat * sizeof(float) * (2.0 * copies + 2.0), "sana_denoise", "these latents"));
    const int32_t L = (int32_t)p->embeddings->shape[1];
    const size_t row = (size_t)L * D;
    /* [uncond; cond; cond] embeddings and masks for the call batch */
    float *emb = malloc(row * copies * B * sizeof(float));
    float *mask = malloc((size_t)L * copies * B * sizeof(float));
    if (!emb || !mask) {
        free(emb);
        free(mask);
        return sn_fail(SANA_ERR_OUT_OF_MEMORY, "sana_denoise: out of memory");
    }
    for (int c = 0; c < copies; c++) {
        const sana_tensor *e = (cfg && c == 0) ? p->uncond_embeddings : p->embeddings;
        const sana_tensor *mk = (cfg && c == 0) ? p->uncond_mask : p->mask;
        repeat_rows(e, B, emb + (size_t)c * B * row);
        for (int32_t b = 0; b < B; b++)
            for (int32_t l = 0; l < L; l++)
                mask[((size_t)c * B + b) * L + l] =
                    mk ? mk->data[(mk->shape[0] == 1 ? 0 : (size_t)b) * L + l] : 1.0f;
    }
    sn_tensor emb_t = {0};
    sn_dit_text *text = NULL;
    sana_status st = sn_api_activation(model, 3, SN_SHAPE(copies * B, L, D), &emb_t);
    if (st == SANA_OK) st = sn_upload_convert(&emb_t, SN_F32, emb);
    if (st == SANA_OK) st = sn_dit_prepare_text(dit, &emb_t, mask, &text);
    free(emb);
    free(mask);
    sn_tensor_free(&emb_t);
    if (st != SANA_OK) return st;

    /* SCM renoise: the generator the pipeline used for the initial noise, after that draw */
    sn_rng rng;
    sn_rng_seed(&rng, p->seed);
    size_t numel = (size_t)sana_tensor_numel(latents);
    float *skip = scm ? malloc(numel * sizeof(float)) : NULL;
    if (scm && !skip) st = sn_fail(SANA_ERR_OUT_OF_MEMORY, "sana_denoise: out of memory");
    if (skip) {
        sn_rng_randn(&rng, skip, numel);
        free(skip);
    }
    sn_denoise_run run = {
        .model = model, .text = text, .batch = B, .channels = (int32_t)latents->shape[1],
        .height = (int32_t)latents->shape[2], .width = (int32_t)latents->shape[3], .cfg = cfg,
        .pag = pag, .guidance_scale = p->guidance_scale, .pag_scale = p->pag_scale,
        .pag_layers = p->pag_layers, .n_pag_layers = p->n_pag_layers, .sched = &sched,
        .sched_cfg = &smp.cfg, .first_step = p->first_step, .rng = &rng,
        .progress = p->progress, .progress_user = p->progress_user_data};
    if (st == SANA_OK) st = sn_denoise_loop(&run, latents->data);
    sn_dit_text_free(text);
    return st;
}

sana_status sana_denoise(sana_context *ctx, const sana_model *model, const sana_denoise_params *params,
                         sana_tensor *latents) {
    if (!ctx) return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_denoise: ctx is NULL");
    sn_api_enter(ctx);
    if (!model || !params || !latents)
        return sn_api_leave(ctx, sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_denoise: model, params or latents is NULL"));
    sana_denoise_params p;
    sana_denoise_params_init(&p);
    sana_status st = sn_params_read(&p, sizeof p, params, "sana_denoise_params");
    if (st == SANA_OK) st = denoise(model, &p, latents);
    return sn_api_leave(ctx, st);
}
