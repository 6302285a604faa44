/* DC-AE model: config.json -> architecture, weights (from a vae/ folder or random), accessors. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae/dcae_internal.h"
#include "io/config.h"
#include "io/weights.h"

/* --- configuration ------------------------------------------------------------------------------ */

void sn_dcae_config_sana(sn_dcae_config *cfg) {
    static const int32_t width[6] = {128, 256, 512, 512, 1024, 1024};
    static const int32_t edepth[6] = {2, 2, 2, 3, 3, 3};
    memset(cfg, 0, sizeof *cfg);
    cfg->in_channels = 3;
    cfg->latent_channels = 32;
    cfg->head_dim = 32;
    cfg->n_stages = 6;
    for (int i = 0; i < 6; i++) {
        cfg->enc_width[i] = cfg->dec_width[i] = width[i];
        cfg->enc_depth[i] = edepth[i];
        cfg->dec_depth[i] = 3;
        cfg->enc_block[i] = cfg->dec_block[i] = i < 3 ? SN_DCAE_RESBLOCK : SN_DCAE_EVIT;
        cfg->enc_n_ms[i] = cfg->dec_n_ms[i] = i < 3 ? 0 : 1;
        cfg->enc_ms[i][0] = cfg->dec_ms[i][0] = 5;
        cfg->dec_act[i] = SN_ACT_SILU;
    }
    cfg->dec_conv_act = SN_ACT_RELU;
    cfg->upsample_interpolate = 1;
    cfg->downsample_unshuffle = 0;
    cfg->enc_out_shortcut = 1;
    cfg->dec_in_shortcut = 1;
    cfg->scaling_factor = 0.41407f;
}

void sn_dcae_config_sana_lite(sn_dcae_config *cfg) {
    static const int32_t ddepth[6] = {0, 3, 5, 4, 4, 4};
    /* the encoder, widths, latent, scaling and decoder_qkv_multiscales (in the published
     * config.json, unread by ResBlocks) are SANA-1.0's */
    sn_dcae_config_sana(cfg);
    for (int i = 0; i < 6; i++) {
        cfg->dec_depth[i] = ddepth[i];
        cfg->dec_block[i] = SN_DCAE_RESBLOCK;
    }
    cfg->dec_conv_act = SN_ACT_SILU;
    cfg->upsample_interpolate = 0; /* pixel_shuffle */
}

static sana_status sn_dcae_act_name(const char *path, const char *key, const char *s, sn_act *out) {
    if (!strcmp(s, "silu") || !strcmp(s, "swish")) *out = SN_ACT_SILU;
    else if (!strcmp(s, "relu")) *out = SN_ACT_RELU;
    else if (!strcmp(s, "gelu")) *out = SN_ACT_GELU;
    else
        return sn_fail(SANA_ERR_UNSUPPORTED, "%s: %s \"%s\" is not supported (silu, relu, gelu)",
                       path, key, s);
    return SANA_OK;
}

/* A string or a per-stage list of strings (a lone string applies to every stage). */
static sana_status sn_dcae_strings(const sn_config *c, const char *key, const char *def, int32_t n,
                                   const char **out) {
    int32_t k = 0;
    SN_TRY(sn_config_string_array(c, key, out, SN_DCAE_MAX_STAGES, &k));
    if (k == 0) out[0] = def, k = 1;
    if (k == 1)
        for (int32_t i = 1; i < n; i++) out[i] = out[0];
    else if (k != n)
        return sn_fail(SANA_ERR_FORMAT, "%s: \"%s\" has %d entries for %d stages",
                       sn_config_path(c), key, k, n);
    return SANA_OK;
}

static sana_status sn_dcae_ints(const sn_config *c, const char *key, const int32_t *def, int32_t n,
                                int32_t *out) {
    int64_t v[SN_DCAE_MAX_STAGES];
    int32_t k = 0;
    SN_TRY(sn_config_int_array(c, key, v, SN_DCAE_MAX_STAGES, &k));
    if (k == 0 && !sn_config_has(c, key)) {
        for (int32_t i = 0; i < n; i++) out[i] = def[i];
        return SANA_OK;
    }
    if (k != n)
        return sn_fail(SANA_ERR_FORMAT, "%s: \"%s\" has %d entries for %d stages",
                       sn_config_path(c), key, k, n);
    for (int32_t i = 0; i < n; i++) {
        if (v[i] < 0 || v[i] > (1 << 20))
            return sn_fail(SANA_ERR_FORMAT, "%s: \"%s\"[%d] = %lld is out of range",
                           sn_config_path(c), key, i, (long long)v[i]);
        out[i] = (int32_t)v[i];
    }
    return SANA_OK;
}

/* One size, in the per-stage lists' range: an int64 past int32 must not wrap (2^32 + 32 latent
 * channels would read as 32). */
static sana_status sn_dcae_int(const sn_config *c, const char *key, int32_t def, int32_t *out) {
    int64_t v;
    SN_TRY(sn_config_int(c, key, def, &v));
    if (v < 0 || v > (1 << 20))
        return sn_fail(SANA_ERR_FORMAT, "%s: \"%s\" = %lld is out of range", sn_config_path(c), key,
                       (long long)v);
    *out = (int32_t)v;
    return SANA_OK;
}

/* qkv_multiscales: a list per stage of kernel sizes, e.g. [[], [], [], [5], [5], [5]] */
static sana_status sn_dcae_multiscales(const sn_config *c, const char *key, int32_t n,
                                       int32_t *count, int32_t (*ks)[4]) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(sn_config_json(c), key);
    if (!v || cJSON_IsNull(v)) {
        for (int32_t i = 0; i < n; i++) count[i] = i >= 3 ? 1 : 0, ks[i][0] = 5;
        return SANA_OK;
    }
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != n)
        return sn_fail(SANA_ERR_FORMAT, "%s: \"%s\" must be a list of %d lists", sn_config_path(c),
                       key, n);
    int32_t i = 0;
    for (const cJSON *s = v->child; s; s = s->next, i++) {
        if (!cJSON_IsArray(s) || cJSON_GetArraySize(s) > 4)
            return sn_fail(SANA_ERR_FORMAT, "%s: \"%s\"[%d] must be a list of up to 4 kernel sizes",
                           sn_config_path(c), key, i);
        count[i] = 0;
        for (const cJSON *k = s->child; k; k = k->next) {
            if (!cJSON_IsNumber(k) || k->valueint < 1 || k->valueint % 2 == 0 || k->valueint > 31)
                return sn_fail(SANA_ERR_FORMAT, "%s: \"%s\"[%d] holds a kernel size that is not an odd number",
                               sn_config_path(c), key, i);
            ks[i][count[i]++] = k->valueint;
        }
    }
    return SANA_OK;
}

static sana_status sn_dcae_block_types(const sn_config *c, const char *key, int32_t n,
                                       sn_dcae_block *out) {
    const char *s[SN_DCAE_MAX_STAGES];
    SN_TRY(sn_dcae_strings(c, key, "ResBlock", n, s));
    for (int32_t i = 0; i < n; i++) {
        if (!strcmp(s[i], "ResBlock")) out[i] = SN_DCAE_RESBLOCK;
        else if (!strcmp(s[i], "EfficientViTBlock")) out[i] = SN_DCAE_EVIT;
        else
            return sn_fail(SANA_ERR_FORMAT, "%s: \"%s\"[%d] = \"%s\": ResBlock or EfficientViTBlock expected",
                           sn_config_path(c), key, i, s[i]);
    }
    return SANA_OK;
}

/* AutoencoderDC.__init__ of diffusers 0.42.1: keys absent from a config take these defaults. */
static sana_status sn_dcae_parse_config(const sn_config *c, sn_dcae_config *cfg) {
    static const int32_t width[6] = {128, 256, 512, 512, 1024, 1024};
    static const int32_t edepth[6] = {2, 2, 2, 3, 3, 3}, ddepth[6] = {3, 3, 3, 3, 3, 3};
    const char *path = sn_config_path(c);
    double f;
    memset(cfg, 0, sizeof *cfg);
    SN_TRY(sn_dcae_int(c, "in_channels", 3, &cfg->in_channels));
    SN_TRY(sn_dcae_int(c, "latent_channels", 32, &cfg->latent_channels));
    SN_TRY(sn_dcae_int(c, "attention_head_dim", 32, &cfg->head_dim));
    int64_t tmp[SN_DCAE_MAX_STAGES];
    int32_t n = 0, nd = 0;
    SN_TRY(sn_config_int_array(c, "encoder_block_out_channels", tmp, SN_DCAE_MAX_STAGES, &n));
    if (!sn_config_has(c, "encoder_block_out_channels")) n = 6;
    SN_TRY(sn_config_int_array(c, "decoder_block_out_channels", tmp, SN_DCAE_MAX_STAGES, &nd));
    if (!sn_config_has(c, "decoder_block_out_channels")) nd = 6;
    if (n < 1 || n != nd)
        return sn_fail(SANA_ERR_FORMAT, "%s: encoder and decoder have %d and %d stages", path, n, nd);
    if (n != 6) /* the defaults of the per-stage keys are for 6 stages */
        for (const char *const *k = (const char *const[]){"encoder_layers_per_block",
                                                          "decoder_layers_per_block", NULL};
             *k; k++)
            if (!sn_config_has(c, *k))
                return sn_fail(SANA_ERR_FORMAT, "%s: \"%s\" is needed for %d stages", path, *k, n);
    cfg->n_stages = n;
    SN_TRY(sn_dcae_ints(c, "encoder_block_out_channels", width, n, cfg->enc_width));
    SN_TRY(sn_dcae_ints(c, "decoder_block_out_channels", width, n, cfg->dec_width));
    SN_TRY(sn_dcae_ints(c, "encoder_layers_per_block", edepth, n, cfg->enc_depth));
    SN_TRY(sn_dcae_ints(c, "decoder_layers_per_block", ddepth, n, cfg->dec_depth));
    SN_TRY(sn_dcae_block_types(c, "encoder_block_types", n, cfg->enc_block));
    SN_TRY(sn_dcae_block_types(c, "decoder_block_types", n, cfg->dec_block));
    SN_TRY(sn_dcae_multiscales(c, "encoder_qkv_multiscales", n, cfg->enc_n_ms, cfg->enc_ms));
    SN_TRY(sn_dcae_multiscales(c, "decoder_qkv_multiscales", n, cfg->dec_n_ms, cfg->dec_ms));
    const char *s[SN_DCAE_MAX_STAGES], *one;
    SN_TRY(sn_dcae_strings(c, "decoder_norm_types", "rms_norm", n, s));
    for (int32_t i = 0; i < n; i++)
        if (strcmp(s[i], "rms_norm"))
            return sn_fail(SANA_ERR_UNSUPPORTED, "%s: decoder_norm_types \"%s\" is not supported, only "
                           "rms_norm (the BatchNorm ResBlocks of the DC-AE in/mix/f64/f128 decoders are not)",
                           path, s[i]);
    SN_TRY(sn_dcae_strings(c, "decoder_act_fns", "silu", n, s));
    for (int32_t i = 0; i < n; i++) SN_TRY(sn_dcae_act_name(path, "decoder_act_fns", s[i], &cfg->dec_act[i]));
    SN_TRY(sn_config_string(c, "decoder_conv_act_fn", "relu", &one));
    SN_TRY(sn_dcae_act_name(path, "decoder_conv_act_fn", one, &cfg->dec_conv_act));
    SN_TRY(sn_config_string(c, "upsample_block_type", "pixel_shuffle", &one));
    cfg->upsample_interpolate = !strcmp(one, "interpolate");
    SN_TRY(sn_config_string(c, "downsample_block_type", "pixel_unshuffle", &one));
    cfg->downsample_unshuffle = !strcmp(one, "pixel_unshuffle");
    int b;
    SN_TRY(sn_config_bool(c, "encoder_out_shortcut", 1, &b));
    cfg->enc_out_shortcut = b;
    SN_TRY(sn_config_bool(c, "decoder_in_shortcut", 1, &b));
    cfg->dec_in_shortcut = b;
    SN_TRY(sn_config_positive(c, "scaling_factor", 1.0, &f)); /* the latents are divided by it */
    cfg->scaling_factor = (float)f;
    return SANA_OK;
}

/* What this implementation runs: the SANA family's encoder (stride-2 conv down, every stage
 * non-empty) and its decoders: SANA-1.0/1.1 (interpolate up) and DC-AE-Lite (pixel_shuffle up,
 * empty stage 0 with an upsampling head); widths that fit the shortcuts. */
static sana_status sn_dcae_check_config(const sn_dcae_config *cfg, const char *origin) {
    if (cfg->in_channels < 1 || cfg->latent_channels < 1 || cfg->head_dim < 1 || cfg->n_stages < 1)
        return sn_fail(SANA_ERR_FORMAT, "%s: channel counts must be positive", origin);
    /* the image side is RGB throughout (decode writes 3 planes per image, encode reads 3): another
     * count would load with matching weights and then overrun those buffers */
    if (cfg->in_channels != 3)
        return sn_fail(SANA_ERR_UNSUPPORTED, "%s: in_channels %d is not supported (RGB images: 3)", origin,
                       cfg->in_channels);
    if (cfg->downsample_unshuffle)
        return sn_fail(SANA_ERR_UNSUPPORTED,
                       "%s: downsample_block_type \"pixel_unshuffle\" (the encoders of DC-AE in/mix, "
                       "f64c128, f128c512) is not supported; SANA's \"Conv\" is", origin);
    const int32_t n = cfg->n_stages;
    if (cfg->dec_depth[0] == 0 && n < 2)
        return sn_fail(SANA_ERR_FORMAT, "%s: the decoder's only stage has no blocks", origin);
    if (cfg->dec_depth[0] == 0 && cfg->upsample_interpolate)
        return sn_fail(SANA_ERR_UNSUPPORTED,
                       "%s: an empty decoder stage 0 with upsample_block_type \"interpolate\" (an "
                       "interpolating conv_out head; no published DC-AE has one) is not supported; "
                       "with \"pixel_shuffle\" (DC-AE-Lite) it is", origin);
    for (int32_t i = 0; i < n; i++) {
        if (cfg->enc_depth[i] < 1)
            return sn_fail(SANA_ERR_UNSUPPORTED, "%s: encoder stage %d has no blocks (the pixel-unshuffle "
                                                 "stem of the DC-AE in/mix encoders is not supported)", origin, i);
        if (cfg->dec_depth[i] < 1 && i > 0)
            return sn_fail(SANA_ERR_UNSUPPORTED, "%s: decoder stage %d has no blocks (only stage 0 may be "
                                                 "empty, as in DC-AE-Lite)", origin, i);
        if (cfg->enc_width[i] < 1 || cfg->dec_width[i] < 1)
            return sn_fail(SANA_ERR_FORMAT, "%s: stage %d has no channels", origin, i);
        for (int e = 0; e < 2; e++) {
            int32_t C = e ? cfg->dec_width[i] : cfg->enc_width[i];
            sn_dcae_block t = e ? cfg->dec_block[i] : cfg->enc_block[i];
            if (t == SN_DCAE_EVIT && C % cfg->head_dim)
                return sn_fail(SANA_ERR_FORMAT, "%s: width %d of stage %d is not a multiple of "
                                                "attention_head_dim %d", origin, C, i, cfg->head_dim);
        }
    }
    /* after every stage's width is known positive: the next stage's width divides below. An
     * empty decoder stage 0 has no upsampler (its head's has no shortcut). */
    for (int32_t i = 0; i + 1 < n; i++)
        if (((4 * cfg->dec_width[i]) % cfg->dec_width[i + 1] && cfg->dec_depth[i] > 0) ||
            (4 * cfg->enc_width[i]) % cfg->enc_width[i + 1])
            return sn_fail(SANA_ERR_FORMAT, "%s: widths of stages %d and %d do not fit the shortcut",
                           origin, i, i + 1);
    if (cfg->dec_in_shortcut && cfg->dec_width[n - 1] % cfg->latent_channels)
        return sn_fail(SANA_ERR_FORMAT, "%s: decoder width %d is not a multiple of latent_channels",
                       origin, cfg->dec_width[n - 1]);
    if (cfg->enc_out_shortcut && cfg->enc_width[n - 1] % cfg->latent_channels)
        return sn_fail(SANA_ERR_FORMAT, "%s: encoder width %d is not a multiple of latent_channels",
                       origin, cfg->enc_width[n - 1]);
    return SANA_OK;
}

/* --- weights ------------------------------------------------------------------------------------ */

typedef enum { SN_W_CONV, SN_W_BIAS, SN_W_NORM_W, SN_W_NORM_B } sn_dcae_wkind;

typedef struct sn_dcae_src {
    sn_dcae *ae;
    const sn_weights *w; /* NULL: random */
    uint64_t rng;
} sn_dcae_src;

static float sn_dcae_uniform(uint64_t *s) { /* splitmix64 -> [-1, 1) */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (float)((double)(z >> 11) / 4503599627370496.0 - 1.0);
}

/* Allocates `out` with `shape` and fills it from the tensor `name` (which must have exactly
 * `file_shape`, e.g. 2-D [C, 2C] for a 1x1 conv the model keeps 4-D) or with random values. */
static sana_status sn_dcae_get(sn_dcae_src *src, sn_tensor *out, sn_dcae_wkind kind, int32_t ndim,
                               const int64_t *shape, int32_t file_ndim, const int64_t *file_shape,
                               const char *fmt, ...) SN_PRINTF(8, 9);
static sana_status sn_dcae_get(sn_dcae_src *src, sn_tensor *out, sn_dcae_wkind kind, int32_t ndim,
                               const int64_t *shape, int32_t file_ndim, const int64_t *file_shape,
                               const char *fmt, ...) {
    char name[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    sn_backend *be = src->ae->be;
    /* the file's shape first: a config's widths (up to 2^20 each) must not size an allocation
     * the weights do not back */
    const sn_st_tensor *in_file;
    if (src->w) SN_TRY(sn_weights_get(src->w, name, file_ndim, file_shape, &in_file));
    SN_TRY(sn_tensor_alloc(be, be->weight_dtype, ndim, shape, out));
    const int64_t n = sn_numel(out);
    src->ae->n_params += n;
    if (!strncmp(name, "decoder.", 8)) src->ae->n_dec_params += n;
    if (src->w) {
        sn_tensor t;
        SN_TRY(sn_weights_load(src->w, be, name, file_ndim, file_shape, &t));
        sana_status s = sn_copy(out, &t);
        sn_tensor_free(&t);
        return s;
    }
    float *h = malloc((size_t)n * sizeof(float));
    if (!h) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "random weights: %lld floats", (long long)n);
    const float bound = kind == SN_W_CONV ? 1.0f / sqrtf((float)(n / shape[0])) : 0.05f;
    for (int64_t i = 0; i < n; i++) {
        float u = sn_dcae_uniform(&src->rng);
        h[i] = kind == SN_W_NORM_W ? 1.0f + 0.1f * u : bound * u;
    }
    sana_status s = sn_upload_convert(out, SN_F32, h);
    free(h);
    return s;
}

#define SN_SH(...) SN_NDIM(__VA_ARGS__), SN_SHAPE(__VA_ARGS__)
/* weight kept in the file's shape */
#define SN_GET(src, out, kind, shape_args, ...)                                                    \
    sn_dcae_get(src, out, kind, SN_NDIM shape_args, SN_SHAPE shape_args, SN_NDIM shape_args,       \
                SN_SHAPE shape_args, __VA_ARGS__)

static sana_status sn_dcae_load_res(sn_dcae_src *s, sn_dcae_block_w *b, const char *p) {
    const int64_t C = b->channels;
    sn_dcae_res *r = &b->res;
    SN_TRY(SN_GET(s, &r->conv1_w, SN_W_CONV, (C, C, 3, 3), "%s.conv1.weight", p));
    SN_TRY(SN_GET(s, &r->conv1_b, SN_W_BIAS, (C), "%s.conv1.bias", p));
    SN_TRY(SN_GET(s, &r->conv2_w, SN_W_CONV, (C, C, 3, 3), "%s.conv2.weight", p));
    SN_TRY(SN_GET(s, &r->norm_w, SN_W_NORM_W, (C), "%s.norm.weight", p));
    SN_TRY(SN_GET(s, &r->norm_b, SN_W_NORM_B, (C), "%s.norm.bias", p));
    return SANA_OK;
}

static sana_status sn_dcae_load_evit(sn_dcae_src *s, sn_dcae_block_w *b, int32_t d, int32_t n_ms,
                                     const int32_t *ms, const char *p) {
    const int64_t C = b->channels, Hd = SN_DCAE_GLU_EXPAND * C;
    sn_dcae_evit *e = &b->evit;
    /* to_q, to_k, to_v are the three row-thirds of one qkv 1x1 conv: stack them */
    SN_TRY(sn_tensor_alloc(s->ae->be, s->ae->be->weight_dtype, 4, SN_SHAPE(3 * C, C, 1, 1), &e->qkv_w));
    static const char *const part[3] = {"to_q", "to_k", "to_v"};
    for (int i = 0; i < 3; i++) {
        sn_tensor t, dst = e->qkv_w;
        SN_TRY(sn_dcae_get(s, &t, SN_W_CONV, SN_SH(C, C, 1, 1), SN_SH(C, C), "%s.attn.%s.weight", p, part[i]));
        dst.shape[0] = C;
        dst.data = (char *)e->qkv_w.data + (size_t)(i * C * C) * sn_dtype_size(dst.dtype);
        sana_status st = sn_copy(&dst, &t);
        sn_tensor_free(&t);
        SN_TRY(st);
    }
    e->n_ms = n_ms;
    for (int32_t k = 0; k < n_ms; k++) {
        e->ms_kernel[k] = ms[k];
        SN_TRY(SN_GET(s, &e->ms_in_w[k], SN_W_CONV, (3 * C, 1, ms[k], ms[k]),
                      "%s.attn.to_qkv_multiscale.%d.proj_in.weight", p, k));
        SN_TRY(SN_GET(s, &e->ms_out_w[k], SN_W_CONV, (3 * C, d, 1, 1),
                      "%s.attn.to_qkv_multiscale.%d.proj_out.weight", p, k));
    }
    SN_TRY(sn_dcae_get(s, &e->out_w, SN_W_CONV, SN_SH(C, (1 + n_ms) * C, 1, 1), SN_SH(C, (1 + n_ms) * C),
                       "%s.attn.to_out.weight", p));
    SN_TRY(SN_GET(s, &e->attn_norm_w, SN_W_NORM_W, (C), "%s.attn.norm_out.weight", p));
    SN_TRY(SN_GET(s, &e->attn_norm_b, SN_W_NORM_B, (C), "%s.attn.norm_out.bias", p));
    SN_TRY(SN_GET(s, &e->inv_w, SN_W_CONV, (2 * Hd, C, 1, 1), "%s.conv_out.conv_inverted.weight", p));
    SN_TRY(SN_GET(s, &e->inv_b, SN_W_BIAS, (2 * Hd), "%s.conv_out.conv_inverted.bias", p));
    SN_TRY(SN_GET(s, &e->dw_w, SN_W_CONV, (2 * Hd, 1, 3, 3), "%s.conv_out.conv_depth.weight", p));
    SN_TRY(SN_GET(s, &e->dw_b, SN_W_BIAS, (2 * Hd), "%s.conv_out.conv_depth.bias", p));
    SN_TRY(SN_GET(s, &e->point_w, SN_W_CONV, (C, Hd, 1, 1), "%s.conv_out.conv_point.weight", p));
    SN_TRY(SN_GET(s, &e->ffn_norm_w, SN_W_NORM_W, (C), "%s.conv_out.norm.weight", p));
    SN_TRY(SN_GET(s, &e->ffn_norm_b, SN_W_NORM_B, (C), "%s.conv_out.norm.bias", p));
    return SANA_OK;
}

static sana_status sn_dcae_load_block(sn_dcae_src *s, sn_dcae_block_w *b, sn_dcae_block type,
                                      int32_t C, sn_act act, int32_t n_ms, const int32_t *ms,
                                      const char *prefix) {
    b->type = type;
    b->channels = C;
    b->act = act;
    if (type == SN_DCAE_RESBLOCK) return sn_dcae_load_res(s, b, prefix);
    return sn_dcae_load_evit(s, b, s->ae->cfg.head_dim, n_ms, ms, prefix);
}

static sana_status sn_dcae_load_all(sn_dcae_src *s) {
    sn_dcae *ae = s->ae;
    const sn_dcae_config *c = &ae->cfg;
    const int32_t n = c->n_stages, L = c->latent_channels, I = c->in_channels;
    char p[96];
    /* encoder */
    SN_TRY(SN_GET(s, &ae->enc_in_w, SN_W_CONV, (c->enc_width[0], I, 3, 3), "encoder.conv_in.weight"));
    SN_TRY(SN_GET(s, &ae->enc_in_b, SN_W_BIAS, (c->enc_width[0]), "encoder.conv_in.bias"));
    for (int32_t i = 0; i < n; i++) {
        sn_dcae_stage *st = &ae->enc[i];
        st->depth = c->enc_depth[i];
        st->blocks = calloc((size_t)st->depth, sizeof *st->blocks);
        if (!st->blocks) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "dcae: out of memory");
        for (int32_t j = 0; j < st->depth; j++) {
            snprintf(p, sizeof p, "encoder.down_blocks.%d.%d", i, j);
            SN_TRY(sn_dcae_load_block(s, &st->blocks[j], c->enc_block[i], c->enc_width[i], SN_ACT_SILU,
                                      c->enc_n_ms[i], c->enc_ms[i], p));
        }
        if (i + 1 < n) {
            st->has_resample = 1;
            SN_TRY(SN_GET(s, &st->rs_w, SN_W_CONV, (c->enc_width[i + 1], c->enc_width[i], 3, 3),
                          "encoder.down_blocks.%d.%d.conv.weight", i, st->depth));
            SN_TRY(SN_GET(s, &st->rs_b, SN_W_BIAS, (c->enc_width[i + 1]), "encoder.down_blocks.%d.%d.conv.bias",
                          i, st->depth));
        }
    }
    SN_TRY(SN_GET(s, &ae->enc_out_w, SN_W_CONV, (L, c->enc_width[n - 1], 3, 3), "encoder.conv_out.weight"));
    SN_TRY(SN_GET(s, &ae->enc_out_b, SN_W_BIAS, (L), "encoder.conv_out.bias"));
    /* decoder */
    SN_TRY(SN_GET(s, &ae->dec_in_w, SN_W_CONV, (c->dec_width[n - 1], L, 3, 3), "decoder.conv_in.weight"));
    SN_TRY(SN_GET(s, &ae->dec_in_b, SN_W_BIAS, (c->dec_width[n - 1]), "decoder.conv_in.bias"));
    for (int32_t i = n - 1; i >= 0; i--) {
        sn_dcae_stage *st = &ae->dec[i];
        st->depth = c->dec_depth[i];
        st->blocks = calloc(st->depth > 0 ? (size_t)st->depth : 1, sizeof *st->blocks); /* 0: Lite stage 0 */
        if (!st->blocks) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "dcae: out of memory");
        int32_t j0 = 0;
        if (i + 1 < n && st->depth > 0) { /* the upsampler is sub-module 0 (none in an empty stage) */
            /* interpolate: conv at 2x; pixel_shuffle: conv to 4 C_i channels, then shuffled */
            const int64_t co = c->upsample_interpolate ? c->dec_width[i] : 4 * (int64_t)c->dec_width[i];
            st->has_resample = 1;
            j0 = 1;
            SN_TRY(SN_GET(s, &st->rs_w, SN_W_CONV, (co, c->dec_width[i + 1], 3, 3),
                          "decoder.up_blocks.%d.0.conv.weight", i));
            SN_TRY(SN_GET(s, &st->rs_b, SN_W_BIAS, (co), "decoder.up_blocks.%d.0.conv.bias", i));
        }
        for (int32_t j = 0; j < st->depth; j++) {
            snprintf(p, sizeof p, "decoder.up_blocks.%d.%d", i, j0 + j);
            SN_TRY(sn_dcae_load_block(s, &st->blocks[j], c->dec_block[i], c->dec_width[i], c->dec_act[i],
                                      c->dec_n_ms[i], c->dec_ms[i], p));
        }
    }
    /* the head: on stage 0's width, or stage 1's when stage 0 is empty (then conv_out is a
     * pixel-shuffle upsampler without shortcut, its conv named conv_out.conv) */
    const int64_t Ch = ae->head_up ? c->dec_width[1] : c->dec_width[0];
    SN_TRY(SN_GET(s, &ae->dec_norm_w, SN_W_NORM_W, (Ch), "decoder.norm_out.weight"));
    SN_TRY(SN_GET(s, &ae->dec_norm_b, SN_W_NORM_B, (Ch), "decoder.norm_out.bias"));
    if (ae->head_up) {
        SN_TRY(SN_GET(s, &ae->dec_out_w, SN_W_CONV, (4 * I, Ch, 3, 3), "decoder.conv_out.conv.weight"));
        SN_TRY(SN_GET(s, &ae->dec_out_b, SN_W_BIAS, (4 * I), "decoder.conv_out.conv.bias"));
    } else {
        SN_TRY(SN_GET(s, &ae->dec_out_w, SN_W_CONV, (I, Ch, 3, 3), "decoder.conv_out.weight"));
        SN_TRY(SN_GET(s, &ae->dec_out_b, SN_W_BIAS, (I), "decoder.conv_out.bias"));
    }
    return SANA_OK;
}

static sana_status sn_dcae_new(sn_backend *be, const sn_dcae_config *cfg, sn_dcae **out) {
    sn_dcae *ae = calloc(1, sizeof *ae);
    if (!ae) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "dcae: out of memory");
    ae->be = be;
    ae->cfg = *cfg;
    ae->head_up = cfg->dec_depth[0] == 0;
    ae->evit_chunk_floats = SN_DCAE_EVIT_CHUNK_DEFAULT;
    *out = ae;
    return SANA_OK;
}

sana_status sn_dcae_load(sn_backend *be, const char *dir, const char *variant, sn_dcae **out) {
    *out = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    sn_config *c = NULL;
    sn_dcae_config cfg;
    SN_TRY(sn_config_load(path, &c));
    sana_status s = sn_dcae_parse_config(c, &cfg);
    if (s == SANA_OK) s = sn_dcae_check_config(&cfg, path);
    sn_config_free(c);
    SN_TRY(s);
    sn_weights *w = NULL;
    SN_TRY(sn_weights_open(dir, variant, &w));
    sn_dcae *ae = NULL;
    s = sn_dcae_new(be, &cfg, &ae);
    if (s == SANA_OK) {
        sn_dcae_src src = {ae, w, 0};
        s = sn_dcae_load_all(&src);
        if (s != SANA_OK) {
            sn_fail_prefix(s, "loading the DC-AE from %s: ", dir);
            sn_dcae_free(ae);
        } else {
            *out = ae;
        }
    }
    sn_weights_close(w);
    return s;
}

sana_status sn_dcae_create_random(sn_backend *be, const sn_dcae_config *cfg, uint64_t seed,
                                  sn_dcae **out) {
    *out = NULL;
    SN_TRY(sn_dcae_check_config(cfg, "sn_dcae_create_random"));
    sn_dcae *ae = NULL;
    SN_TRY(sn_dcae_new(be, cfg, &ae));
    sn_dcae_src src = {ae, NULL, seed};
    sana_status s = sn_dcae_load_all(&src);
    if (s != SANA_OK) {
        sn_dcae_free(ae);
        return s;
    }
    *out = ae;
    return SANA_OK;
}

static void sn_dcae_free_stage(sn_dcae_stage *st) {
    for (int32_t j = 0; st->blocks && j < st->depth; j++) {
        sn_dcae_block_w *b = &st->blocks[j];
        sn_tensor *r[] = {&b->res.conv1_w, &b->res.conv1_b, &b->res.conv2_w, &b->res.norm_w, &b->res.norm_b,
                          &b->evit.qkv_w, &b->evit.out_w, &b->evit.attn_norm_w, &b->evit.attn_norm_b,
                          &b->evit.inv_w, &b->evit.inv_b, &b->evit.dw_w, &b->evit.dw_b, &b->evit.point_w,
                          &b->evit.ffn_norm_w, &b->evit.ffn_norm_b};
        for (size_t k = 0; k < sizeof r / sizeof *r; k++) sn_tensor_free(r[k]);
        for (int k = 0; k < 4; k++) sn_tensor_free(&b->evit.ms_in_w[k]), sn_tensor_free(&b->evit.ms_out_w[k]);
    }
    free(st->blocks);
    sn_tensor_free(&st->rs_w);
    sn_tensor_free(&st->rs_b);
}

void sn_dcae_free(sn_dcae *ae) {
    if (!ae) return;
    for (int i = 0; i < SN_DCAE_MAX_STAGES; i++) sn_dcae_free_stage(&ae->enc[i]), sn_dcae_free_stage(&ae->dec[i]);
    sn_tensor *t[] = {&ae->enc_in_w, &ae->enc_in_b, &ae->enc_out_w, &ae->enc_out_b, &ae->dec_in_w,
                      &ae->dec_in_b, &ae->dec_norm_w, &ae->dec_norm_b, &ae->dec_out_w, &ae->dec_out_b};
    for (size_t k = 0; k < sizeof t / sizeof *t; k++) sn_tensor_free(t[k]);
    free(ae);
}

void sn_dcae_set_evit_chunk(sn_dcae *ae, int64_t floats) {
    ae->evit_chunk_floats = floats > 0 ? floats : SN_DCAE_EVIT_CHUNK_DEFAULT;
}

/* --- accessors ---------------------------------------------------------------------------------- */

const sn_dcae_config *sn_dcae_get_config(const sn_dcae *ae) { return &ae->cfg; }
int64_t sn_dcae_param_count(const sn_dcae *ae) { return ae ? ae->n_params : 0; }
int64_t sn_dcae_decoder_param_count(const sn_dcae *ae) { return ae ? ae->n_dec_params : 0; }
int32_t sn_dcae_latent_channels(const sn_dcae *ae) { return ae->cfg.latent_channels; }
int32_t sn_dcae_spatial_factor(const sn_dcae *ae) { return 1 << (ae->cfg.n_stages - 1); }
float sn_dcae_scaling_factor(const sn_dcae *ae) { return ae->cfg.scaling_factor; }

sana_status sn_dcae_check_latents(const sn_dcae *ae, int32_t ndim, const int64_t *shape,
                                  const char *what) {
    if (ndim != 4)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "%s: latents must be 4-D [B, %d, h, w], got %d-D",
                       what, ae->cfg.latent_channels, ndim);
    if (shape[1] != ae->cfg.latent_channels)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT,
                       "%s: latents have %lld channels; this DC-AE takes %d ([B, %d, h, w])", what,
                       (long long)shape[1], ae->cfg.latent_channels, ae->cfg.latent_channels);
    const int64_t f = sn_dcae_spatial_factor(ae), lim = (int64_t)1 << 20; /* a million pixels a side */
    if (shape[0] < 1 || shape[2] < 1 || shape[3] < 1)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "%s: latents [%lld, %lld, %lld, %lld] are empty", what,
                       (long long)shape[0], (long long)shape[1], (long long)shape[2], (long long)shape[3]);
    if (shape[2] > lim / f || shape[3] > lim / f)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT,
                       "%s: a %lld x %lld latent would decode to more than %lld pixels a side", what,
                       (long long)shape[2], (long long)shape[3], (long long)lim);
    return SANA_OK;
}

void sn_dcae_decode_shape(const sn_dcae *ae, const sn_tensor *z, int64_t out_shape[4]) {
    const int64_t f = sn_dcae_spatial_factor(ae);
    out_shape[0] = z->shape[0];
    out_shape[1] = ae->cfg.in_channels;
    out_shape[2] = z->shape[2] * f;
    out_shape[3] = z->shape[3] * f;
}
