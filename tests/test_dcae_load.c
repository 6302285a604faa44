/* Loading a vae/ folder: config keys that older published configs lack take diffusers'
 * AutoencoderDC defaults (the Dec 2024 sana-1.0 config has no encoder_out_shortcut,
 * decoder_in_shortcut, decoder_conv_act_fn); the parameter count is every tensor of the file;
 * variants the implementation does not run, and broken folders, are refused with messages
 * naming the key or tensor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae/dcae.h"
#include "harness.h"
#include "io/weights.h"

static sn_backend *be;
static char *config_text;
static size_t config_len;
static char *weights;
static size_t weights_len;

static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)len + 1);
    *n = fread(b, 1, (size_t)len, f);
    b[*n] = 0;
    fclose(f);
    return b;
}

/* The fixture's config with `from` replaced by `to` (must occur), in a new folder with the
 * fixture's weights. */
static const char *folder_with(const char *from, const char *to) {
    const char *d = tu_temp_dir();
    char *p = strstr(config_text, from);
    CHECK(p != NULL, "config has no '%s'", from);
    if (!p) return d;
    size_t a = (size_t)(p - config_text), fl = strlen(from), tl = strlen(to);
    char *c = malloc(config_len - fl + tl + 1);
    memcpy(c, config_text, a);
    memcpy(c + a, to, tl);
    memcpy(c + a + tl, p + fl, config_len - a - fl + 1);
    tu_write_file(tu_path(d, "config.json"), c, strlen(c));
    tu_write_file(tu_path(d, "diffusion_pytorch_model.safetensors"), weights, weights_len);
    free(c);
    return d;
}

static float *decode_once(sn_dcae *ae) {
    sn_tensor z, y;
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(1, 32, 1, 2), &z));
    tu_fill_random(z.data, 64, 5);
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(1, 3, 32, 64), &y));
    CHECK_OK(sn_dcae_decode(ae, &z, NULL, &y));
    float *px = malloc(3 * 32 * 64 * sizeof(float));
    memcpy(px, y.data, 3 * 32 * 64 * sizeof(float));
    sn_tensor_free(&z), sn_tensor_free(&y);
    return px;
}

int main(void) {
    tu_case_require("dcae_decode/sana_tiny");
    char dir[2048]; /* tu_path's buffers are reused */
    snprintf(dir, sizeof dir, "%s", tu_path(tu_fixtures_dir(), "sana_tiny/vae"));
    config_text = slurp(tu_path(dir, "config.json"), &config_len);
    weights = slurp(tu_path(dir, "diffusion_pytorch_model.safetensors"), &weights_len);
    CHECK(config_text && weights, "fixture files");
    CHECK_OK(sn_backend_cpu_create(2, &be));

    sn_dcae *ref = NULL;
    CHECK_OK(sn_dcae_load(be, dir, NULL, &ref));
    if (!ref) return tu_finish("test_dcae_load");
    const sn_dcae_config *c = sn_dcae_get_config(ref);
    CHECK(c->n_stages == 6 && c->latent_channels == 32 && c->head_dim == 8 && c->dec_width[5] == 32 &&
              c->dec_depth[4] == 2 && c->enc_depth[5] == 2 && c->dec_block[3] == SN_DCAE_EVIT &&
              c->dec_block[2] == SN_DCAE_RESBLOCK && c->dec_n_ms[3] == 1 && c->dec_ms[3][0] == 5 &&
              c->upsample_interpolate && !c->downsample_unshuffle && c->dec_conv_act == SN_ACT_RELU,
          "config as read");
    CHECK(sn_dcae_spatial_factor(ref) == 32 && sn_dcae_latent_channels(ref) == 32, "accessors");
    CHECK(sn_dcae_scaling_factor(ref) == 0.41407f, "scaling_factor %g", sn_dcae_scaling_factor(ref));
    sn_weights *w = NULL;
    CHECK_OK(sn_weights_open(dir, NULL, &w));
    if (w) {
        CHECK(sn_dcae_param_count(ref) == sn_weights_param_count(w), "param count %lld vs file %lld",
              (long long)sn_dcae_param_count(ref), (long long)sn_weights_param_count(w));
        printf("tiny DC-AE: %lld parameters, as many as the file holds\n", (long long)sn_dcae_param_count(ref));
        sn_weights_close(w);
    }
    float *want = decode_once(ref);

    /* the Dec 2024 config: no shortcut / conv_act keys -> the same model */
    const char *d = folder_with("\"decoder_conv_act_fn\": \"relu\",", "");
    char *cfg = slurp(tu_path(d, "config.json"), &config_len);
    free(config_text);
    config_text = cfg; /* keep removing from the edited text */
    d = folder_with("\"decoder_in_shortcut\": true,", "");
    free(config_text);
    config_text = slurp(tu_path(d, "config.json"), &config_len);
    d = folder_with("\"encoder_out_shortcut\": true,", "");
    sn_dcae *old = NULL;
    CHECK_OK(sn_dcae_load(be, d, NULL, &old));
    if (old) {
        float *got = decode_once(old);
        CHECK(!memcmp(got, want, 3 * 32 * 64 * sizeof(float)), "defaults give another decoder");
        free(got);
        sn_dcae_free(old);
    }
    free(config_text);
    config_text = slurp(tu_path(dir, "config.json"), &config_len);

    /* refusals */
    sn_dcae *bad = NULL;
    /* pixel_shuffle upsamplers are supported (DC-AE-Lite), but their conv has 4 Cout outputs: the
     * interpolate weights do not fit, and the message names the tensor */
    d = folder_with("\"upsample_block_type\": \"interpolate\"", "\"upsample_block_type\": \"pixel_shuffle\"");
    CHECK_STATUS(sn_dcae_load(be, d, NULL, &bad), SANA_ERR_FORMAT);
    CHECK(strstr(tu_last_error(), "decoder.up_blocks.4.0.conv.weight") != NULL, "message: %s", tu_last_error());
    /* the variants that remain unsupported say why: BatchNorm decoders (in/mix/f64/f128), their
     * pixel-unshuffle encoders and encoder stem, empty stages other than the decoder's stage 0,
     * and an empty stage 0 with an interpolating head */
    d = folder_with("\"decoder_norm_types\": \"rms_norm\"", "\"decoder_norm_types\": \"batch_norm\"");
    CHECK_STATUS(sn_dcae_load(be, d, NULL, &bad), SANA_ERR_UNSUPPORTED);
    CHECK(strstr(tu_last_error(), "batch_norm") != NULL && strstr(tu_last_error(), "BatchNorm") != NULL,
          "message: %s", tu_last_error());
    d = folder_with("\"downsample_block_type\": \"Conv\"", "\"downsample_block_type\": \"pixel_unshuffle\"");
    CHECK_STATUS(sn_dcae_load(be, d, NULL, &bad), SANA_ERR_UNSUPPORTED);
    CHECK(strstr(tu_last_error(), "pixel_unshuffle") != NULL, "message: %s", tu_last_error());
    d = folder_with("\"encoder_layers_per_block\": [\n    1", "\"encoder_layers_per_block\": [\n    0");
    CHECK_STATUS(sn_dcae_load(be, d, NULL, &bad), SANA_ERR_UNSUPPORTED);
    CHECK(strstr(tu_last_error(), "encoder stage 0 has no blocks") != NULL, "message: %s", tu_last_error());
    d = folder_with("\"decoder_layers_per_block\": [\n    1,\n    1", "\"decoder_layers_per_block\": [\n    1,\n    0");
    CHECK_STATUS(sn_dcae_load(be, d, NULL, &bad), SANA_ERR_UNSUPPORTED);
    CHECK(strstr(tu_last_error(), "decoder stage 1 has no blocks") != NULL, "message: %s", tu_last_error());
    d = folder_with("\"decoder_layers_per_block\": [\n    1", "\"decoder_layers_per_block\": [\n    0");
    CHECK_STATUS(sn_dcae_load(be, d, NULL, &bad), SANA_ERR_UNSUPPORTED);
    CHECK(strstr(tu_last_error(), "interpolate") != NULL, "message: %s", tu_last_error());
    d = folder_with("\"decoder_act_fns\": \"silu\"", "\"decoder_act_fns\": \"tanh\"");
    CHECK_STATUS(sn_dcae_load(be, d, NULL, &bad), SANA_ERR_UNSUPPORTED);
    CHECK(strstr(tu_last_error(), "tanh") != NULL, "message: %s", tu_last_error());
    d = folder_with("\"attention_head_dim\": 8", "\"attention_head_dim\": 16"); /* weights no longer fit */
    CHECK(sn_dcae_load(be, d, NULL, &bad) == SANA_ERR_FORMAT, "head_dim 16 accepted");
    CHECK(strstr(tu_last_error(), "proj_out.weight") != NULL, "message names the tensor: %s", tu_last_error());
    d = folder_with("\"latent_channels\": 32", "\"latent_channels\": 12"); /* 32 % 12 */
    CHECK(sn_dcae_load(be, d, NULL, &bad) == SANA_ERR_FORMAT, "latent_channels 12 accepted");
    d = folder_with("\"latent_channels\": 32", "\"latent_channels\": 4294967328"); /* 2^32 + 32 */
    CHECK_STATUS(sn_dcae_load(be, d, NULL, &bad), SANA_ERR_FORMAT);
    CHECK(strstr(tu_last_error(), "latent_channels") != NULL, "message: %s", tu_last_error());
    /* a scaling_factor the latents cannot be divided by (0 loaded and decoded inf/NaN) */
    const char *scales[] = {"0", "-0.5", "1e999", "1e60"};
    for (int i = 0; i < 4; i++) {
        char to[64];
        snprintf(to, sizeof to, "\"scaling_factor\": %s", scales[i]);
        d = folder_with("\"scaling_factor\": 0.41407", to);
        CHECK_STATUS(sn_dcae_load(be, d, NULL, &bad), SANA_ERR_FORMAT);
        CHECK(strstr(tu_last_error(), "scaling_factor") != NULL, "scaling_factor %s: %s", scales[i], tu_last_error());
    }
    /* an image side other than RGB: with weights to match it loaded, and the decode then wrote 4
     * planes into a 3-plane buffer (or read 3 from 1); 2^20 (in range for the key) also made conv_in,
     * with the first encoder width at 2^20, a 36 TiB allocation ("cannot allocate") */
    const char *chans[] = {"1", "4", "1048576"};
    for (int i = 0; i < 3; i++) {
        char to[64];
        snprintf(to, sizeof to, "\"in_channels\": %s", chans[i]);
        d = folder_with("\"in_channels\": 3", to);
        CHECK_STATUS(sn_dcae_load(be, d, NULL, &bad), SANA_ERR_UNSUPPORTED);
        CHECK(strstr(tu_last_error(), "in_channels") != NULL, "in_channels %s: %s", chans[i], tu_last_error());
    }
    /* widths are checked against the file's tensors before any weight is allocated: the error
     * names the tensor that does not fit */
    d = folder_with("\"encoder_block_out_channels\": [\n    8,", "\"encoder_block_out_channels\": [\n    1048576,");
    CHECK_STATUS(sn_dcae_load(be, d, NULL, &bad), SANA_ERR_FORMAT);
    CHECK(strstr(tu_last_error(), "encoder.conv_in.weight") != NULL, "message names the tensor: %s", tu_last_error());
    d = folder_with("\"decoder_layers_per_block\": [", "\"decoder_layers_per_block\": [0, ");
    CHECK(sn_dcae_load(be, d, NULL, &bad) != SANA_OK, "7 depths for 6 stages accepted");
    CHECK(bad == NULL, "a refused load leaves *out NULL");

    /* DC-AE-Lite (variants/dcae_lite): block and norm types given as a string and as a list, the
     * Aug 2025 keys present; every tensor of the file is used (conv_out.conv, 4 Cout upsamplers) */
    char lite[2048];
    snprintf(lite, sizeof lite, "%s", tu_path(tu_fixtures_dir(), "variants/dcae_lite"));
    sn_dcae *la = NULL;
    CHECK_OK(sn_dcae_load(be, lite, NULL, &la));
    if (la) {
        c = sn_dcae_get_config(la);
        CHECK(!c->upsample_interpolate && c->dec_depth[0] == 0 && c->dec_depth[2] == 2 &&
                  c->dec_block[5] == SN_DCAE_RESBLOCK && c->enc_block[5] == SN_DCAE_EVIT &&
                  c->dec_conv_act == SN_ACT_SILU && c->dec_act[1] == SN_ACT_SILU && c->dec_in_shortcut &&
                  sn_dcae_spatial_factor(la) == 32,
              "lite config as read");
        CHECK_OK(sn_weights_open(lite, NULL, &w));
        if (w) {
            CHECK(sn_dcae_param_count(la) == sn_weights_param_count(w), "lite param count %lld vs file %lld",
                  (long long)sn_dcae_param_count(la), (long long)sn_weights_param_count(w));
            int64_t dec = 0; /* the file's decoder.* tensors */
            for (size_t i = 0; i < sn_weights_count(w); i++) {
                const sn_st_tensor *t = sn_weights_at(w, i);
                int64_t n = 1;
                for (int32_t k = 0; k < t->ndim; k++) n *= t->shape[k];
                if (!strncmp(t->name, "decoder.", 8)) dec += n;
            }
            CHECK(dec > 0 && sn_dcae_decoder_param_count(la) == dec, "lite decoder params %lld vs file %lld",
                  (long long)sn_dcae_decoder_param_count(la), (long long)dec);
            sn_weights_close(w);
        }
        /* sn_dcae_config_sana_lite (the benchmark's real-size Lite) is what a Lite config.json
         * reads as, but for the sizes: the fixture is the same structure made tiny */
        sn_dcae_config r;
        sn_dcae_config_sana_lite(&r);
        int same = r.in_channels == c->in_channels && r.latent_channels == c->latent_channels &&
                   r.n_stages == c->n_stages && r.dec_conv_act == c->dec_conv_act &&
                   r.upsample_interpolate == c->upsample_interpolate &&
                   r.downsample_unshuffle == c->downsample_unshuffle &&
                   r.enc_out_shortcut == c->enc_out_shortcut && r.dec_in_shortcut == c->dec_in_shortcut &&
                   r.scaling_factor == c->scaling_factor && r.dec_depth[0] == 0 && c->dec_depth[0] == 0;
        for (int32_t i = 0; i < r.n_stages; i++) {
            same &= r.enc_block[i] == c->enc_block[i] && r.dec_block[i] == c->dec_block[i] &&
                    r.dec_act[i] == c->dec_act[i] && r.enc_n_ms[i] == c->enc_n_ms[i] &&
                    r.dec_n_ms[i] == c->dec_n_ms[i] && (i == 0 || r.dec_depth[i] > 0);
            for (int32_t k = 0; k < r.enc_n_ms[i] && k < c->enc_n_ms[i]; k++)
                same &= r.enc_ms[i][k] == c->enc_ms[i][k];
            for (int32_t k = 0; k < r.dec_n_ms[i] && k < c->dec_n_ms[i]; k++)
                same &= r.dec_ms[i][k] == c->dec_ms[i][k];
        }
        CHECK(same, "sn_dcae_config_sana_lite differs from the Lite fixture's config in structure");
        sn_dcae_free(la);
    }
    CHECK(sn_dcae_load(be, tu_path(tu_fixtures_dir(), "no-such-vae"), NULL, &bad) != SANA_OK, "missing folder");

    free(want);
    sn_dcae_free(ref);
    sn_backend_free(be);
    free(config_text);
    free(weights);
    return tu_finish("test_dcae_load");
}
