/* sana_model: opens a diffusers folder and loads each component through its module. */
#include <stdlib.h>
#include <string.h>

#include "ae/dcae.h"
#include "api/internal.h"
#include "dit/dit.h"
#include "encoder/gemma.h"
#include "encoder/tokenizer.h"
#include "io/pipeline_dir.h"
#include "solver/scheduler.h"

void sana_model_params_init(sana_model_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->components = SANA_COMPONENT_ALL;
    p->weights = SANA_PRECISION_AUTO;
}

void sana_model_info_init(sana_model_info *info) {
    if (!info) return;
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
}

void sana_model_free(sana_model *m) {
    if (!m) return;
    sn_tokenizer_free(m->tokenizer);
    sn_gemma_free(m->text_encoder);
    sn_dit_free(m->transformer);
    sn_dcae_free(m->vae);
    sn_scheduler_config_free(m->scheduler);
    sn_backend_free(m->be);
    free(m->path);
    free(m);
}

/* Loads each wanted component that the folder has. */
static sana_status sn_model_load_components(sana_model *m, const sn_pipeline_dir *dir,
                                            const sana_model_params *p) {
    const char *variant = p->variant;
    const char *d;
    if ((p->components & SANA_COMPONENT_TOKENIZER) && (d = sn_pipeline_dir_component(dir, "tokenizer"))) {
        SN_TRY(sn_tokenizer_load(d, &m->tokenizer));
        m->info.components |= SANA_COMPONENT_TOKENIZER;
    }
    if ((p->components & SANA_COMPONENT_TEXT_ENCODER) &&
        (d = sn_pipeline_dir_component(dir, "text_encoder"))) {
        SN_TRY(sn_gemma_load(m->be, d, variant, &m->text_encoder));
        m->info.components |= SANA_COMPONENT_TEXT_ENCODER;
        m->info.text_encoder_params = sn_gemma_param_count(m->text_encoder);
    }
    if ((p->components & SANA_COMPONENT_TRANSFORMER) &&
        (d = sn_pipeline_dir_component(dir, "transformer"))) {
        SN_TRY(sn_dit_load(m->be, d, variant, &m->transformer));
        m->info.components |= SANA_COMPONENT_TRANSFORMER;
        m->info.transformer_params = sn_dit_param_count(m->transformer);
        m->info.latent_channels = sn_dit_in_channels(m->transformer);
        m->info.sample_size = sn_dit_sample_size(m->transformer);
        m->info.text_hidden_size = sn_dit_caption_channels(m->transformer);
    }
    if ((p->components & SANA_COMPONENT_VAE) && (d = sn_pipeline_dir_component(dir, "vae"))) {
        SN_TRY(sn_dcae_load(m->be, d, variant, &m->vae));
        m->info.components |= SANA_COMPONENT_VAE;
        m->info.vae_params = sn_dcae_param_count(m->vae);
        m->info.vae_scale_factor = sn_dcae_spatial_factor(m->vae);
        if (!m->info.latent_channels) m->info.latent_channels = sn_dcae_latent_channels(m->vae);
    }
    if ((p->components & SANA_COMPONENT_SCHEDULER) && (d = sn_pipeline_dir_component(dir, "scheduler"))) {
        SN_TRY(sn_scheduler_config_load(d, &m->scheduler));
        m->info.components |= SANA_COMPONENT_SCHEDULER;
    }
    if (!m->info.components)
        return sn_fail(SANA_ERR_NOT_FOUND, "%s: none of the requested components is there", m->path);
    return SANA_OK;
}

sana_status sana_model_load(sana_context *ctx, const char *path, const sana_model_params *params,
                            sana_model **out) {
    if (!ctx) return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_model_load: ctx is NULL");
    sn_api_enter(ctx);
    if (!path || !out)
        return sn_api_leave(ctx, sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_model_load: path or out is NULL"));
    *out = NULL;
    sana_model_params p;
    sana_model_params_init(&p);
    sana_status st = sn_params_read(&p, sizeof p, params, "sana_model_params");
    if (st == SANA_OK && (p.components == 0 || (p.components & ~(uint32_t)SANA_COMPONENT_ALL)))
        st = sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_model_load: components 0x%x is not a non-empty set of "
                     "SANA_COMPONENT_* bits (0x%x)", p.components, (unsigned)SANA_COMPONENT_ALL);
    if (st == SANA_OK && (p.weights < SANA_PRECISION_AUTO || p.weights > SANA_PRECISION_BF16))
        st = sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_model_load: unknown weights precision %d", (int)p.weights);
    if (st != SANA_OK) return sn_api_leave(ctx, st);

    sn_pipeline_dir *dir = NULL;
    sana_model *m = calloc(1, sizeof *m);
    if (!m) return sn_api_leave(ctx, sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory", path));
    m->path = strdup(path);
    sana_model_info_init(&m->info);
    st = sn_backend_sibling(ctx->be, &m->be);
    if (st == SANA_OK) st = sn_pipeline_dir_open(path, &dir);
    if (st == SANA_OK) {
        const char *cls = sn_pipeline_dir_class(dir);
        m->info.kind = strstr(cls, "Sprint") ? SANA_MODEL_SPRINT
                       : strstr(cls, "Sana")  ? SANA_MODEL_SANA
                                              : SANA_MODEL_UNKNOWN;
        st = sn_model_load_components(m, dir, &p);
    }
    sn_pipeline_dir_close(dir);
    /* The weights went up on the model's own backend (on a GPU: its own stream, small uploads
     * and conversions queued without waiting); the forwards run on the calling context's stream,
     * which does not wait for that one. Wait here, once, so that no forward reads a weight still
     * in flight. Then give back the scratch the load used for conversions (on a GPU a whole arena
     * chunk, 256 MiB, otherwise held as long as the model). */
    if (st == SANA_OK) st = sn_backend_sync(m->be);
    if (st == SANA_OK) sn_arena_release(&m->be->scratch);
    if (st != SANA_OK) {
        sana_model_free(m);
        return sn_api_leave(ctx, st);
    }
    *out = m;
    return sn_api_leave(ctx, SANA_OK);
}

sana_status sana_model_release_text_encoder(sana_model *m) {
    sn_error_clear();
    if (!m) return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_model_release_text_encoder: model is NULL");
    sn_gemma_free(m->text_encoder);
    m->text_encoder = NULL;
    m->info.components &= ~(uint32_t)SANA_COMPONENT_TEXT_ENCODER;
    return SANA_OK;
}

sana_status sana_model_get_info(const sana_model *m, sana_model_info *info) {
    sn_error_clear();
    if (!m || !info) return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_model_get_info: NULL argument");
    uint32_t size = info->struct_size;
    if (size < sizeof(uint32_t))
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_model_info: struct_size is %u; call sana_model_info_init() first", size);
    size_t n = size < sizeof m->info ? size : sizeof m->info;
    memcpy((char *)info + sizeof(uint32_t), (const char *)&m->info + sizeof(uint32_t), n - sizeof(uint32_t));
    return SANA_OK;
}
