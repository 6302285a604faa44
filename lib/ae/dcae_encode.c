/* DC-AE encoder (spec §2), one image at a time on whole tensors:
 * conv_in; per stage its blocks, then (but for the last) a stride-2 3x3 conv plus the
 * pixel-unshuffle channel-averaging shortcut; conv_out plus the channel-averaging shortcut. */
#include <stdio.h>
#include <string.h>

#include "ae/dcae_internal.h"
#include "core/call.h"

static sana_status sn_dcae_encode_run(const sn_dcae *ae, sn_dcae_mem *m, const sn_tensor *x,
                                      const sn_dcae_tap *tap, sn_tensor *z) {
    const sn_dcae_config *c = &ae->cfg;
    int64_t H = x->shape[2], W = x->shape[3];
    sn_tensor h;
    SN_TRY(sn_dcae_mem_tensor(m, c->enc_width[0], H, W, &h)); /* [C0, H, W] */
    SN_TRY(sn_dcae_conv_band(m, x, 0, H, &ae->enc_in_w, &ae->enc_in_b, 1, 1, 1, &h, 0));
    sn_dcae_tap_call(tap, &h, "encoder.conv_in");
    for (int32_t i = 0; i < c->n_stages; i++) {
        const sn_dcae_stage *st = &ae->enc[i];
        for (int32_t j = 0; j < st->depth; j++) {
            char name[64];
            snprintf(name, sizeof name, "encoder.down_blocks.%d.%d", i, j);
            int64_t row0 = 0;
            if (st->blocks[j].type == SN_DCAE_EVIT)
                SN_TRY(sn_dcae_evit_forward(m, ae, &st->blocks[j], &h, tap, name));
            else
                SN_TRY(sn_dcae_res_band(m, &st->blocks[j], &h, &row0, H, 0, H));
            sn_dcae_tap_call(tap, &h, "%s", name);
            if (sn_cancel_requested()) return sn_fail(SANA_ERR_CANCELLED, "DC-AE encode cancelled");
        }
        if (st->has_resample) { /* conv3x3 stride 2 + unshuffle-average   [C_{i+1}, H/2, W/2] */
            sn_tensor d;
            SN_TRY(sn_dcae_mem_tensor(m, c->enc_width[i + 1], H / 2, W / 2, &d));
            SN_TRY(sn_dcae_conv_band(m, &h, 0, H, &st->rs_w, &st->rs_b, 1, 2, 1, &d, 0));
            SN_DCAE_RUN(m, sn_shortcut_avg(&h, 2, &d));
            sn_dcae_mem_free(m, &h);
            h = d;
            H /= 2, W /= 2;
            sn_dcae_tap_call(tap, &h, "encoder.down_blocks.%d.%d", i, st->depth);
        }
    }
    SN_TRY(sn_dcae_conv_band(m, &h, 0, H, &ae->enc_out_w, &ae->enc_out_b, 1, 1, 1, z, 0));
    sn_dcae_tap_call(tap, z, "encoder.conv_out");
    if (c->enc_out_shortcut) SN_DCAE_RUN(m, sn_shortcut_avg(&h, 1, z));
    sn_dcae_mem_free(m, &h);
    return SANA_OK;
}

sana_status sn_dcae_encode(const sn_dcae *ae, const sn_tensor *x, sn_dcae_tap_fn tap,
                           void *tap_user, sn_tensor *z) {
    const sn_dcae_config *c = &ae->cfg;
    const int64_t f = sn_dcae_spatial_factor(ae);
    if (x->ndim != 4 || x->shape[1] != c->in_channels || x->shape[0] < 1 || x->shape[2] < f ||
        x->shape[3] < f || x->shape[2] % f || x->shape[3] % f)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT,
                       "DC-AE encode: the image must be [B, %d, H, W] with H and W positive multiples "
                       "of %lld", c->in_channels, (long long)f);
    const int64_t want[4] = {x->shape[0], c->latent_channels, x->shape[2] / f, x->shape[3] / f};
    if (z->ndim != 4 || memcmp(z->shape, want, sizeof want))
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "DC-AE encode: the latent must be [%lld, %lld, %lld, %lld]",
                       (long long)want[0], (long long)want[1], (long long)want[2], (long long)want[3]);
    for (int64_t b = 0; b < x->shape[0]; b++) {
        sn_tensor xb = *x, zb = *z;
        xb.shape[0] = zb.shape[0] = 1;
        xb.data = (char *)x->data + (size_t)(b * sn_numel(&xb)) * sn_dtype_size(x->dtype);
        zb.data = (char *)z->data + (size_t)(b * sn_numel(&zb)) * sn_dtype_size(z->dtype);
        sn_dcae_tap t = {tap, tap_user, b};
        sn_dcae_mem dm, m; /* a dry run places the tensors, then the real run in one arena block */
        sn_dcae_mem_dry(&dm, x->be);
        SN_TRY(sn_dcae_encode_run(ae, &dm, &xb, NULL, &zb));
        SN_TRY(sn_dcae_mem_begin(&m, &dm));
        sana_status s = sn_dcae_encode_run(ae, &m, &xb, &t, &zb);
        sn_dcae_mem_end(&m);
        SN_TRY(s);
    }
    return SANA_OK;
}
