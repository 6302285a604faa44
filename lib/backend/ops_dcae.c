/* Wrappers of the DC-AE ops (issue 6): shape checks, then dispatch. */
#include "backend/backend.h"

#define SN_BE(t) ((t)->be)

static sana_status sn_dcae_op_bad(const char *op, const char *why) {
    return sn_fail(SANA_ERR_INTERNAL, "%s: %s", op, why);
}

static sana_status sn_dcae_op_missing(const sn_backend *be, const char *op) {
    return sn_fail(SANA_ERR_UNSUPPORTED, "%s backend: no %s op", be->ops->name, op);
}

sana_status sn_conv2d_band(const sn_tensor *x, int64_t x_row0, int64_t h_full, const sn_tensor *w,
                           const sn_tensor *b, int32_t up, int32_t stride, int32_t pad,
                           sn_tensor *y, int64_t y_row0) {
    const char *op = "conv2d_band";
    if (x->ndim != 4 || w->ndim != 4 || y->ndim != 4 || x->shape[0] != y->shape[0])
        return sn_dcae_op_bad(op, "x, w, y must be 4-D with the same batch");
    if (w->shape[1] != x->shape[1] || y->shape[1] != w->shape[0])
        return sn_dcae_op_bad(op, "channel counts of x, w, y do not fit");
    if ((up != 1 && up != 2) || stride < 1 || pad < 0)
        return sn_dcae_op_bad(op, "up must be 1 or 2, stride >= 1, pad >= 0");
    if (b && sn_numel(b) != w->shape[0]) return sn_dcae_op_bad(op, "bias size");
    const int64_t kh = w->shape[2], kw = w->shape[3];
    const int64_t hin = h_full * up, win = x->shape[3] * up;
    const int64_t ho = (hin + 2 * pad - kh) / stride + 1, wo = (win + 2 * pad - kw) / stride + 1;
    if (y->shape[3] != wo || y_row0 < 0 || y_row0 + y->shape[2] > ho)
        return sn_dcae_op_bad(op, "output rows/width outside the whole output");
    if (y->shape[2] > 0) {
        /* input rows the band reads, clipped to the image: they must all be in x */
        int64_t lo = y_row0 * stride - pad, hi = (y_row0 + y->shape[2] - 1) * stride - pad + kh - 1;
        lo = lo < 0 ? 0 : lo;
        hi = hi >= hin ? hin - 1 : hi;
        if (lo <= hi && (lo / up < x_row0 || hi / up >= x_row0 + x->shape[2]))
            return sn_dcae_op_bad(op, "the band needs input rows that x does not hold");
    }
    sn_backend *be = SN_BE(x);
    if (!be->ops->conv2d_band) return sn_dcae_op_missing(be, op);
    return be->ops->conv2d_band(be, x, x_row0, h_full, w, b, up, stride, pad, y, y_row0);
}

sana_status sn_channel_norm(const sn_tensor *x, const sn_tensor *w, const sn_tensor *b, float eps,
                            sn_act act, sn_tensor *y) {
    if (x->ndim != 4 || y->ndim != 4 || sn_numel(x) != sn_numel(y) || !w ||
        sn_numel(w) != x->shape[1] || (b && sn_numel(b) != x->shape[1]))
        return sn_dcae_op_bad("channel_norm", "x, y must be NCHW of one shape, w and b [C]");
    sn_backend *be = SN_BE(x);
    if (!be->ops->channel_norm) return sn_dcae_op_missing(be, "channel_norm");
    return be->ops->channel_norm(be, x, w, b, eps, act, y);
}

sana_status sn_linear_attention_relu(const sn_tensor *qkv, float eps, sn_tensor *y) {
    if (qkv->ndim != 4 || y->ndim != 4 || qkv->shape[2] % 3 || y->shape[0] != qkv->shape[0] ||
        y->shape[1] != qkv->shape[1] || y->shape[2] * 3 != qkv->shape[2] ||
        y->shape[3] != qkv->shape[3])
        return sn_dcae_op_bad("linear_attention_relu", "qkv must be [B, G, 3d, N], y [B, G, d, N]");
    sn_backend *be = SN_BE(qkv);
    if (!be->ops->linear_attention_relu) return sn_dcae_op_missing(be, "linear_attention_relu");
    return be->ops->linear_attention_relu(be, qkv, eps, y);
}

sana_status sn_shortcut_dup(const sn_tensor *x, int64_t x_row0, int32_t f, sn_tensor *y,
                            int64_t y_row0) {
    const char *op = "shortcut_dup";
    if (x->ndim != 4 || y->ndim != 4 || x->shape[0] != y->shape[0] || f < 1 ||
        y->shape[3] != x->shape[3] * f || x->shape[1] < 1 ||
        ((int64_t)f * f * y->shape[1]) % x->shape[1])
        return sn_dcae_op_bad(op, "x [B, Ci, h, w], y [B, Co, ., w*f] with f²·Co a multiple of Ci");
    if (y->shape[2] > 0 &&
        (y_row0 / f < x_row0 || (y_row0 + y->shape[2] - 1) / f >= x_row0 + x->shape[2]))
        return sn_dcae_op_bad(op, "the band needs input rows that x does not hold");
    sn_backend *be = SN_BE(x);
    if (!be->ops->shortcut_dup) return sn_dcae_op_missing(be, op);
    return be->ops->shortcut_dup(be, x, x_row0, f, y, y_row0);
}

sana_status sn_shortcut_avg(const sn_tensor *x, int32_t f, sn_tensor *y) {
    if (x->ndim != 4 || y->ndim != 4 || x->shape[0] != y->shape[0] || f < 1 || y->shape[1] < 1 ||
        x->shape[2] != y->shape[2] * f || x->shape[3] != y->shape[3] * f ||
        ((int64_t)f * f * x->shape[1]) % y->shape[1])
        return sn_dcae_op_bad("shortcut_avg", "x [B, Ci, H*f, W*f], y [B, Co, H, W], f²·Ci a multiple of Co");
    sn_backend *be = SN_BE(x);
    if (!be->ops->shortcut_avg) return sn_dcae_op_missing(be, "shortcut_avg");
    return be->ops->shortcut_avg(be, x, f, y);
}

sana_status sn_linear_attention_state(const sn_tensor *qkv, sn_tensor *s) {
    if (qkv->ndim != 4 || s->ndim != 4 || qkv->shape[2] % 3 || s->shape[0] != qkv->shape[0] ||
        s->shape[1] != qkv->shape[1] || s->shape[2] != qkv->shape[2] / 3 + 1 ||
        s->shape[3] != qkv->shape[2] / 3)
        return sn_dcae_op_bad("linear_attention_state", "qkv must be [B, G, 3d, N], s [B, G, d+1, d]");
    sn_backend *be = SN_BE(qkv);
    if (!be->ops->linear_attention_state) return sn_dcae_op_missing(be, "linear_attention_state");
    return be->ops->linear_attention_state(be, qkv, s);
}

sana_status sn_linear_attention_apply(const sn_tensor *qkv, const sn_tensor *s, float eps,
                                      sn_tensor *y) {
    if (qkv->ndim != 4 || s->ndim != 4 || y->ndim != 4 || qkv->shape[2] % 3 ||
        s->shape[0] != qkv->shape[0] || s->shape[1] != qkv->shape[1] ||
        s->shape[2] != qkv->shape[2] / 3 + 1 || s->shape[3] != qkv->shape[2] / 3 ||
        y->shape[0] != qkv->shape[0] || y->shape[1] != qkv->shape[1] ||
        y->shape[2] * 3 != qkv->shape[2] || y->shape[3] != qkv->shape[3])
        return sn_dcae_op_bad("linear_attention_apply",
                              "qkv must be [B, G, 3d, N], s [B, G, d+1, d], y [B, G, d, N]");
    sn_backend *be = SN_BE(qkv);
    if (!be->ops->linear_attention_apply) return sn_dcae_op_missing(be, "linear_attention_apply");
    return be->ops->linear_attention_apply(be, qkv, s, eps, y);
}

int sn_has_linear_attention_chunks(const sn_backend *be) {
    return be->ops->linear_attention_state && be->ops->linear_attention_apply;
}

size_t sn_op_scratch_bytes(sn_backend *be, const sn_op_shape *s) {
    return be->ops->scratch_bytes ? be->ops->scratch_bytes(be, s) : 0;
}
