/* config.json of transformer/: the keys of diffusers SanaTransformer2DModel.__init__ with its
 * defaults (diffusers 0.42.1), and the checks that refuse what the forward cannot run. */
#include <cjson/cJSON.h>
#include <string.h>

#include "core/log.h"
#include "dit/dit_internal.h"
#include "io/config.h"

/* Every key __init__ takes. A key outside this list is unknown: accepted only when it is null or
 * false (a feature left off), refused otherwise, since the forward would silently ignore it. */
static const char *const sn_dit_known_keys[] = {
    "in_channels", "out_channels", "num_attention_heads", "attention_head_dim", "num_layers",
    "num_cross_attention_heads", "cross_attention_head_dim", "cross_attention_dim",
    "caption_channels", "mlp_ratio", "dropout", "attention_bias", "sample_size", "patch_size",
    "norm_elementwise_affine", "norm_eps", "interpolation_scale", "guidance_embeds",
    "guidance_embeds_scale", "qk_norm", "timestep_scale",
};

static sana_status sn_int32(const sn_config *c, const char *key, int64_t def, int64_t min,
                            int32_t *out) {
    int64_t v;
    SN_TRY(sn_config_int(c, key, def, &v));
    if (v < min || v > (1 << 24))
        return sn_fail(SANA_ERR_UNSUPPORTED, "%s: key \"%s\" = %lld is out of range (%lld..%d)",
                       sn_config_path(c), key, (long long)v, (long long)min, 1 << 24);
    *out = (int32_t)v;
    return SANA_OK;
}

/* a * b of two size keys, which must stay within the range of one (*out may be NULL). */
static sana_status sn_product(const sn_config *c, const char *ka, const char *kb, int32_t a,
                              int32_t b, int32_t *out) {
    const int64_t v = (int64_t)a * b;
    if (v > (1 << 24))
        return sn_fail(SANA_ERR_UNSUPPORTED, "%s: keys \"%s\" x \"%s\" = %lld is out of range (at most %d)",
                       sn_config_path(c), ka, kb, (long long)v, 1 << 24);
    if (out) *out = (int32_t)v;
    return SANA_OK;
}

/* diffusers Attention(qk_norm=...) with its defaults: eps 1e-5, elementwise_affine True. The
 * Sana processors normalise q and k before splitting heads, so only the "across heads" norms
 * run there; per-head ones ("rms_norm", "layer_norm", ...) raise a shape error in diffusers. */
static sana_status sn_qk_norm_parse(const sn_config *c, const char *s, sn_dit_qk_norm *qk) {
    memset(qk, 0, sizeof *qk);
    qk->eps = 1e-5f;
    if (!s) return SANA_OK;
    if (!strcmp(s, "rms_norm_across_heads")) { /* SANA-1.5, Sprint */
        *qk = (sn_dit_qk_norm){SN_QK_RMS, 1, 0, 1e-5f};
    } else if (!strcmp(s, "layer_norm_across_heads")) {
        *qk = (sn_dit_qk_norm){SN_QK_LAYER, 1, 1, 1e-5f};
    } else {
        return sn_fail(SANA_ERR_UNSUPPORTED,
                       "%s: key \"qk_norm\" = \"%s\" is not supported (null, rms_norm_across_heads, "
                       "layer_norm_across_heads; the per-head norms fail in the reference too)",
                       sn_config_path(c), s);
    }
    return SANA_OK;
}

static sana_status sn_unknown_keys(const sn_config *c) {
    const cJSON *item;
    cJSON_ArrayForEach(item, sn_config_json(c)) {
        const char *key = item->string;
        if (!key || key[0] == '_') continue; /* _class_name, _diffusers_version, ... */
        int known = 0;
        for (size_t i = 0; i < sizeof sn_dit_known_keys / sizeof *sn_dit_known_keys; i++)
            if (!strcmp(key, sn_dit_known_keys[i])) known = 1;
        if (known) continue;
        if (cJSON_IsNull(item) || cJSON_IsFalse(item)) {
            sn_log(SANA_LOG_INFO, "%s: ignoring unknown key \"%s\" (null/false)", sn_config_path(c),
                   key);
            continue;
        }
        return sn_fail(SANA_ERR_UNSUPPORTED,
                       "%s: unknown key \"%s\" with a non-default value: this SANA transformer "
                       "variant is not supported",
                       sn_config_path(c), key);
    }
    return SANA_OK;
}

sana_status sn_dit_config_read(const sn_config *c, sn_dit_config *o) {
    const char *path = sn_config_path(c);
    memset(o, 0, sizeof *o);
    const char *cls;
    SN_TRY(sn_config_string(c, "_class_name", "SanaTransformer2DModel", &cls));
    if (strcmp(cls, "SanaTransformer2DModel"))
        return sn_fail(SANA_ERR_UNSUPPORTED, "%s: key \"_class_name\" is \"%s\", not SanaTransformer2DModel",
                       path, cls);
    SN_TRY(sn_unknown_keys(c));

    SN_TRY(sn_int32(c, "in_channels", 32, 1, &o->in_channels));
    SN_TRY(sn_int32(c, "out_channels", o->in_channels, 1, &o->out_channels)); /* null: in */
    SN_TRY(sn_int32(c, "num_attention_heads", 70, 1, &o->heads));
    SN_TRY(sn_int32(c, "attention_head_dim", 32, 1, &o->head_dim));
    SN_TRY(sn_int32(c, "num_layers", 20, 0, &o->num_layers));
    SN_TRY(sn_int32(c, "caption_channels", 2304, 1, &o->caption_channels));
    SN_TRY(sn_int32(c, "sample_size", 32, 1, &o->sample_size));
    SN_TRY(sn_int32(c, "patch_size", 1, 1, &o->patch_size));
    /* products of the sizes, in int64 before they go into int32 fields or tensor shapes (each
     * key alone may be 2^24; heads x head_dim or patch_size^2 x channels of such keys would wrap) */
    SN_TRY(sn_product(c, "num_attention_heads", "attention_head_dim", o->heads, o->head_dim, &o->D));
    int32_t pp;
    SN_TRY(sn_product(c, "patch_size", "patch_size", o->patch_size, o->patch_size, &pp));
    SN_TRY(sn_product(c, "patch_size", "in_channels", pp, o->in_channels, NULL));
    SN_TRY(sn_product(c, "patch_size", "out_channels", pp, o->out_channels, NULL));

    /* No cross-attention (null) leaves the reference without norm2, which its forward needs:
     * such a config cannot run there either. */
    const char *cross_keys[] = {"num_cross_attention_heads", "cross_attention_head_dim",
                                "cross_attention_dim"};
    for (int i = 0; i < 3; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(sn_config_json(c), cross_keys[i]);
        if (v && cJSON_IsNull(v))
            return sn_fail(SANA_ERR_UNSUPPORTED, "%s: key \"%s\" is null: a SANA transformer "
                           "without cross-attention is not supported", path, cross_keys[i]);
    }
    SN_TRY(sn_int32(c, "num_cross_attention_heads", 20, 1, &o->cross_heads));
    SN_TRY(sn_int32(c, "cross_attention_head_dim", 112, 1, &o->cross_head_dim));
    SN_TRY(sn_int32(c, "cross_attention_dim", 2240, 1, &o->cross_attention_dim));
    SN_TRY(sn_product(c, "num_cross_attention_heads", "cross_attention_head_dim", o->cross_heads,
                      o->cross_head_dim, &o->Dc));
    if (o->cross_attention_dim != o->D)
        return sn_fail(SANA_ERR_UNSUPPORTED,
                       "%s: key \"cross_attention_dim\" = %d differs from num_attention_heads x "
                       "attention_head_dim = %d (the caption is projected to the latter)",
                       path, o->cross_attention_dim, o->D);

    SN_TRY(sn_config_finite(c, "mlp_ratio", 2.5, &o->mlp_ratio));
    /* int(expand_ratio * in_channels), range-checked in double before the cast */
    const double F = o->mlp_ratio * o->D;
    if (!(o->mlp_ratio > 0) || !(F >= 1) || F > (1 << 24))
        return sn_fail(SANA_ERR_UNSUPPORTED, "%s: key \"mlp_ratio\" = %g gives no FFN width (1..%d)",
                       path, o->mlp_ratio, 1 << 24);
    o->F = (int32_t)F;
    double dropout;
    SN_TRY(sn_config_float(c, "dropout", 0.0, &dropout)); /* inference: no dropout */
    SN_TRY(sn_config_bool(c, "attention_bias", 0, &o->attention_bias));
    SN_TRY(sn_config_bool(c, "norm_elementwise_affine", 0, &o->norm_elementwise_affine));
    SN_TRY(sn_config_finite(c, "norm_eps", 1e-6, &o->norm_eps));
    if (!(o->norm_eps >= 0))
        return sn_fail(SANA_ERR_UNSUPPORTED, "%s: key \"norm_eps\" must be >= 0", path);

    o->use_pe = sn_config_has(c, "interpolation_scale");
    SN_TRY(sn_config_finite(c, "interpolation_scale", 1.0, &o->interpolation_scale));
    if (o->use_pe && !(o->interpolation_scale > 0))
        return sn_fail(SANA_ERR_UNSUPPORTED, "%s: key \"interpolation_scale\" must be > 0", path);
    if (o->use_pe && o->D % 4)
        return sn_fail(SANA_ERR_UNSUPPORTED, "%s: key \"interpolation_scale\": the sin-cos "
                       "embedding needs a width divisible by 4, not %d", path, o->D);
    if (o->use_pe && o->sample_size / o->patch_size < 1)
        return sn_fail(SANA_ERR_UNSUPPORTED, "%s: key \"sample_size\" is smaller than patch_size",
                       path);

    SN_TRY(sn_config_bool(c, "guidance_embeds", 0, &o->guidance_embeds));
    SN_TRY(sn_config_finite(c, "guidance_embeds_scale", 0.1, &o->guidance_embeds_scale));
    SN_TRY(sn_config_finite(c, "timestep_scale", 1.0, &o->timestep_scale));
    const char *qk;
    SN_TRY(sn_config_string(c, "qk_norm", NULL, &qk));
    SN_TRY(sn_qk_norm_parse(c, qk, &o->qk));
    return SANA_OK;
}
