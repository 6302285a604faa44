/* sana_model_get_info on the fixture pipelines: kind, components and the figures the configs
 * and weights hold (read here independently through the io layer). */
#include <string.h>

#include "harness.h"
#include "io/config.h"
#include "io/weights.h"

static int64_t cfg_int(const char *dir, const char *key) {
    sn_config *c;
    int64_t v = -1;
    CHECK_OK(sn_config_load(tu_path(dir, "config.json"), &c));
    CHECK_OK(sn_config_int(c, key, -1, &v));
    sn_config_free(c);
    return v;
}

static int64_t params_of(const char *dir) {
    sn_weights *w;
    int64_t n = -1;
    CHECK_OK(sn_weights_open(dir, NULL, &w));
    n = sn_weights_param_count(w);
    sn_weights_close(w);
    return n;
}

static void check_model(const char *name, sana_model_kind kind) {
    char root[1024], tdir[1100], vdir[1100], edir[1100];
    snprintf(root, sizeof root, "%s", tu_path(tu_fixtures_dir(), name));
    snprintf(tdir, sizeof tdir, "%s/transformer", root);
    snprintf(vdir, sizeof vdir, "%s/vae", root);
    snprintf(edir, sizeof edir, "%s/text_encoder", root);

    sana_context *ctx;
    sana_context_params cp;
    sana_context_params_init(&cp);
    cp.backend = SANA_BACKEND_CPU;
    CHECK_OK(sana_context_create(&cp, &ctx));
    sana_model *m = NULL;
    CHECK_OK(sana_model_load(ctx, root, NULL, &m));
    if (!m) {
        fprintf(stderr, "%s: %s\n", name, sana_context_last_error(ctx));
        sana_context_free(ctx);
        return;
    }
    sana_model_info info;
    sana_model_info_init(&info);
    CHECK_OK(sana_model_get_info(m, &info));
    CHECK(info.kind == kind, "%s: kind %d", name, (int)info.kind);
    CHECK(info.components == SANA_COMPONENT_ALL, "%s: components 0x%x", name, info.components);
    CHECK(info.latent_channels == cfg_int(tdir, "in_channels"), "%s: latent_channels %d", name, info.latent_channels);
    CHECK(info.sample_size == cfg_int(tdir, "sample_size"), "%s: sample_size %d", name, info.sample_size);
    CHECK(info.text_hidden_size == cfg_int(tdir, "caption_channels"), "%s: text_hidden_size %d", name,
          info.text_hidden_size);
    CHECK(info.vae_scale_factor == 32, "%s: vae_scale_factor %d (6 stages: 2^5)", name, info.vae_scale_factor);
    CHECK(info.transformer_params == params_of(tdir), "%s: transformer params %lld", name,
          (long long)info.transformer_params);
    CHECK(info.vae_params == params_of(vdir), "%s: vae params %lld", name, (long long)info.vae_params);
    CHECK(info.text_encoder_params == params_of(edir), "%s: text encoder params %lld", name,
          (long long)info.text_encoder_params);

    /* a caller built against an older, shorter struct gets only what it asked for */
    sana_model_info small;
    memset(&small, 0xab, sizeof small);
    small.struct_size = (uint32_t)offsetof(sana_model_info, components);
    CHECK_OK(sana_model_get_info(m, &small));
    CHECK(small.kind == kind, "short struct: kind");
    CHECK(small.latent_channels == (int32_t)0xabababab, "short struct: wrote past struct_size");

    sana_model_free(m);
    sana_context_free(ctx);
}

int main(void) {
    check_model("sana_tiny", SANA_MODEL_SANA);
    check_model("sprint_tiny", SANA_MODEL_SPRINT);
    return tu_finish("test_api_model_info");
}
