/* Tensor bookkeeping and the op wrappers: shape checks live here once, so that every backend
 * receives only well-formed calls. */
#include "backend/backend.h"

#include <stdio.h>
#include <string.h>

static const char *sn_shape_str(const sn_tensor *t, char *buf, size_t cap) {
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < t->ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, i ? ", %lld" : "%lld", (long long)t->shape[i]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
    return buf;
}

static sana_status sn_check_shape(const sn_tensor *t, int32_t ndim, const int64_t *shape) {
    if (ndim < 0 || ndim > SN_MAX_DIMS)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "tensor rank %d is out of range", ndim);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0)
            return sn_fail(SANA_ERR_INVALID_ARGUMENT, "negative tensor dimension %lld",
                           (long long)shape[i]);
    (void)t;
    return SANA_OK;
}

static sana_status sn_tensor_init(sn_backend *be, sn_dtype dtype, int32_t ndim,
                                  const int64_t *shape, sn_tensor *out, size_t *bytes) {
    SN_TRY(sn_check_shape(out, ndim, shape));
    memset(out, 0, sizeof *out);
    out->dtype = dtype;
    out->ndim = ndim;
    out->be = be;
    uint64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        out->shape[i] = shape[i];
        if (shape[i] && n > UINT64_MAX / 16 / (uint64_t)shape[i])
            return sn_fail(SANA_ERR_OUT_OF_MEMORY, "tensor too large");
        n *= (uint64_t)shape[i];
    }
    *bytes = (size_t)(n * sn_dtype_size(dtype));
    return SANA_OK;
}

sana_status sn_tensor_alloc(sn_backend *be, sn_dtype dtype, int32_t ndim, const int64_t *shape,
                            sn_tensor *out) {
    size_t bytes;
    SN_TRY(sn_tensor_init(be, dtype, ndim, shape, out, &bytes));
    out->data = be->ops->alloc(be, bytes ? bytes : 1);
    if (!out->data)
        return sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s backend: cannot allocate %zu bytes",
                       be->ops->name, bytes);
    return SANA_OK;
}

sana_status sn_tensor_scratch(sn_backend *be, sn_dtype dtype, int32_t ndim, const int64_t *shape,
                              sn_tensor *out) {
    size_t bytes;
    SN_TRY(sn_tensor_init(be, dtype, ndim, shape, out, &bytes));
    out->data = sn_arena_alloc(&be->scratch, bytes);
    if (!out->data)
        return sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s backend: cannot allocate %zu bytes of scratch",
                       be->ops->name, bytes);
    return SANA_OK;
}

void sn_tensor_free(sn_tensor *t) {
    if (t && t->be && t->data) t->be->ops->free(t->be, t->data);
    if (t) t->data = NULL;
}

sana_status sn_tensor_reshape(const sn_tensor *t, int32_t ndim, const int64_t *shape,
                              sn_tensor *out) {
    sn_tensor v = *t;
    SN_TRY(sn_check_shape(&v, ndim, shape));
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    if (n != sn_numel(t)) {
        char a[96];
        return sn_fail(SANA_ERR_INTERNAL, "reshape of %s to %lld elements", sn_shape_str(t, a, sizeof a),
                       (long long)n);
    }
    v.ndim = ndim;
    memset(v.shape, 0, sizeof v.shape);
    for (int i = 0; i < ndim; i++) v.shape[i] = shape[i];
    *out = v;
    return SANA_OK;
}

sana_status sn_backend_sibling(const sn_backend *be, sn_backend **out) {
    sn_backend *s = NULL;
    if (be->kind == SANA_BACKEND_CUDA) SN_TRY(sn_backend_cuda_create(be->device, be->precision, &s));
    else SN_TRY(sn_backend_cpu_create(be->n_threads, &s));
    s->kind = be->kind;
    s->device = be->device;
    s->precision = be->precision;
    *out = s;
    return SANA_OK;
}

static _Thread_local sn_backend *sn_call_be;

sn_backend *sn_backend_bind_call(sn_backend *be) {
    sn_backend *prev = sn_call_be;
    sn_call_be = be;
    return prev;
}

/* Same kind of backend on the same device. By name, not by ops table: a backend capturing a graph
 * has its table swapped for a recording one (same name), and a forward inside the capture must
 * still run on it, not on the model's own backend outside the capture. */
static int sn_same_kind(const sn_backend *a, const sn_backend *b) {
    return a->ops == b->ops || (strcmp(a->ops->name, b->ops->name) == 0 && a->device == b->device);
}

sn_backend *sn_backend_for_call(sn_backend *own) {
    sn_backend *b = sn_call_be;
    if (b && own && sn_same_kind(b, own) && b->act_dtype == own->act_dtype &&
        b->weight_dtype == own->weight_dtype)
        return b;
    return own;
}

void sn_backend_free(sn_backend *be) {
    if (!be) return;
    /* queued ops may still use the scratch (GPU): let them finish before it is freed */
    be->ops->synchronize(be);
    sn_arena_release(&be->scratch);
    be->ops->destroy(be);
}

/* --- wrappers ------------------------------------------------------------------------------- */

static sana_status sn_mismatch(const char *op, const sn_tensor *a, const sn_tensor *b) {
    char sa[96], sb[96];
    return sn_fail(SANA_ERR_INTERNAL, "%s: shapes %s and %s do not fit", op,
                   sn_shape_str(a, sa, sizeof sa), sn_shape_str(b, sb, sizeof sb));
}

#define SN_BE(t) ((t)->be)

sana_status sn_upload_convert(sn_tensor *dst, sn_dtype src_type, const void *src_host) {
    return SN_BE(dst)->ops->upload_convert(SN_BE(dst), dst, src_type, src_host);
}

sana_status sn_download_f32(const sn_tensor *src, float *dst_host) {
    sn_backend *be = SN_BE(src);
    int64_t n = sn_numel(src);
    if (src->dtype == SN_F32) return be->ops->download(be, dst_host, src->data, (size_t)n * 4);
    /* download raw, then convert in place from the back (2-byte types fit in the float buffer) */
    size_t es = sn_dtype_size(src->dtype);
    if (es != 2) return sn_fail(SANA_ERR_INTERNAL, "download of dtype %s", sn_dtype_name(src->dtype));
    uint16_t *raw = (uint16_t *)dst_host + n; /* upper half of dst */
    SN_TRY(be->ops->download(be, raw, src->data, (size_t)n * 2));
    for (int64_t i = 0; i < n; i++)
        dst_host[i] = src->dtype == SN_BF16 ? sn_bf16_to_f32(raw[i]) : sn_f16_to_f32(raw[i]);
    return SANA_OK;
}

sana_status sn_copy(sn_tensor *dst, const sn_tensor *src) {
    if (sn_numel(dst) != sn_numel(src)) return sn_mismatch("copy", dst, src);
    return SN_BE(dst)->ops->copy(SN_BE(dst), dst, src);
}

sana_status sn_fill(sn_tensor *dst, float value) { return SN_BE(dst)->ops->fill(SN_BE(dst), dst, value); }

sana_status sn_linear(const sn_tensor *x, const sn_tensor *w, const sn_tensor *b, sn_act act,
                      sn_tensor *y) {
    int64_t K = w->shape[1], N = w->shape[0];
    if (w->ndim != 2 || x->shape[x->ndim - 1] != K) return sn_mismatch("linear", x, w);
    if (y->shape[y->ndim - 1] != N || sn_numel(y) / N != sn_numel(x) / K)
        return sn_mismatch("linear (output)", y, w);
    if (b && sn_numel(b) != N) return sn_mismatch("linear (bias)", b, w);
    return SN_BE(x)->ops->linear(SN_BE(x), x, w, b, act, y);
}

sana_status sn_matmul(const sn_tensor *a, const sn_tensor *b, int32_t trans_b, float alpha,
                      sn_tensor *y) {
    if (a->ndim != 3 || b->ndim != 3 || y->ndim != 3 || a->shape[0] != b->shape[0] ||
        y->shape[0] != a->shape[0])
        return sn_mismatch("matmul", a, b);
    int64_t K = a->shape[2];
    int64_t N = trans_b ? b->shape[1] : b->shape[2];
    int64_t Kb = trans_b ? b->shape[2] : b->shape[1];
    if (K != Kb || y->shape[1] != a->shape[1] || y->shape[2] != N) return sn_mismatch("matmul", a, b);
    return SN_BE(a)->ops->matmul(SN_BE(a), a, b, trans_b, alpha, y);
}

sana_status sn_conv2d(const sn_tensor *x, const sn_tensor *w, const sn_tensor *b, int32_t stride,
                      int32_t pad, int32_t groups, sn_tensor *y) {
    if (x->ndim != 4 || w->ndim != 4 || y->ndim != 4 || groups < 1 || stride < 1 ||
        x->shape[1] != w->shape[1] * groups || w->shape[0] % groups || y->shape[1] != w->shape[0])
        return sn_mismatch("conv2d", x, w);
    int64_t ho = (x->shape[2] + 2 * pad - w->shape[2]) / stride + 1;
    int64_t wo = (x->shape[3] + 2 * pad - w->shape[3]) / stride + 1;
    if (y->shape[0] != x->shape[0] || y->shape[2] != ho || y->shape[3] != wo)
        return sn_mismatch("conv2d (output)", x, y);
    if (b && sn_numel(b) != w->shape[0]) return sn_mismatch("conv2d (bias)", b, w);
    sn_conv_params p = {stride, pad, groups};
    return SN_BE(x)->ops->conv2d(SN_BE(x), x, w, b, &p, y);
}

sana_status sn_unary(sn_act act, const sn_tensor *x, sn_tensor *y) {
    if (sn_numel(x) != sn_numel(y)) return sn_mismatch("unary", x, y);
    return SN_BE(x)->ops->unary(SN_BE(x), act, x, y);
}

sana_status sn_binary(sn_binop op, const sn_tensor *a, const sn_tensor *b, sn_tensor *y) {
    if (sn_numel(a) != sn_numel(y)) return sn_mismatch("binary", a, y);
    if (b->ndim > a->ndim) return sn_mismatch("binary", a, b);
    /* align b's dims with a's trailing dims; each must equal a's or be 1 */
    int off = a->ndim - b->ndim;
    for (int i = 0; i < b->ndim; i++)
        if (b->shape[i] != 1 && b->shape[i] != a->shape[off + i]) return sn_mismatch("binary", a, b);
    return SN_BE(a)->ops->binary(SN_BE(a), op, a, b, y);
}

sana_status sn_scale(const sn_tensor *x, float alpha, float beta, sn_tensor *y) {
    if (sn_numel(x) != sn_numel(y)) return sn_mismatch("scale", x, y);
    return SN_BE(x)->ops->scale(SN_BE(x), x, alpha, beta, y);
}

sana_status sn_permute(const sn_tensor *x, const int32_t *perm, sn_tensor *y) {
    if (x->ndim != y->ndim) return sn_mismatch("permute", x, y);
    for (int i = 0; i < x->ndim; i++)
        if (perm[i] < 0 || perm[i] >= x->ndim || y->shape[i] != x->shape[perm[i]])
            return sn_mismatch("permute", x, y);
    return SN_BE(x)->ops->permute(SN_BE(x), x, perm, y);
}

sana_status sn_layer_norm(const sn_tensor *x, const sn_tensor *w, const sn_tensor *b,
                          const sn_tensor *shift, const sn_tensor *scale, float eps, sn_tensor *y) {
    int64_t C = x->shape[x->ndim - 1];
    if (sn_numel(x) != sn_numel(y) || (w && sn_numel(w) != C) || (b && sn_numel(b) != C))
        return sn_mismatch("layer_norm", x, y);
    if ((shift && sn_numel(shift) != x->shape[0] * C) || (scale && sn_numel(scale) != x->shape[0] * C))
        return sn_mismatch("layer_norm (modulation)", x, shift ? shift : scale);
    return SN_BE(x)->ops->layer_norm(SN_BE(x), x, w, b, shift, scale, eps, y);
}

sana_status sn_rms_norm(const sn_tensor *x, const sn_tensor *w, const sn_tensor *b, float w_offset,
                        float eps, sn_tensor *y) {
    int64_t C = x->shape[x->ndim - 1];
    if (sn_numel(x) != sn_numel(y) || (w && sn_numel(w) != C) || (b && sn_numel(b) != C))
        return sn_mismatch("rms_norm", x, y);
    return SN_BE(x)->ops->rms_norm(SN_BE(x), x, w, b, w_offset, eps, y);
}

sana_status sn_attention(const sn_tensor *q, const sn_tensor *k, const sn_tensor *v,
                         const sn_attn_params *p, sn_tensor *y) {
    if (q->ndim != 4 || k->ndim != 4 || v->ndim != 4 || q->shape[0] != k->shape[0] ||
        k->shape[1] == 0 || q->shape[1] % k->shape[1] || q->shape[3] != k->shape[3] ||
        v->shape[2] != k->shape[2] || v->shape[1] != k->shape[1] || sn_numel(y) != sn_numel(q) / q->shape[3] * v->shape[3])
        return sn_mismatch("attention", q, k);
    if (p->mask && (p->mask->shape[p->mask->ndim - 1] != k->shape[2]))
        return sn_mismatch("attention (mask)", p->mask, k);
    return SN_BE(q)->ops->attention(SN_BE(q), q, k, v, p, y);
}

/* --- text encoder ops (issue 4) ------------------------------------------------------------- */

sana_status sn_rope(const sn_tensor *x, float theta, int64_t pos0, sn_tensor *y) {
    if (x->ndim != 4 || x->shape[3] % 2 || sn_numel(x) != sn_numel(y) || y->ndim != 4)
        return sn_mismatch("rope", x, y);
    if (!SN_BE(x)->ops->rope)
        return sn_fail(SANA_ERR_UNSUPPORTED, "%s backend: no rope op", SN_BE(x)->ops->name);
    return SN_BE(x)->ops->rope(SN_BE(x), x, theta, pos0, y);
}

/* --- DiT ops (issue 5) ------------------------------------------------------------------------ */

#define SN_NEED_OP(t, op)                                                                          \
    do {                                                                                           \
        if (!SN_BE(t)->ops->op)                                                                    \
            return sn_fail(SANA_ERR_UNSUPPORTED, "%s backend: no " #op " op", SN_BE(t)->ops->name); \
    } while (0)

sana_status sn_linear_attention(const sn_tensor *q, const sn_tensor *k, const sn_tensor *v,
                                int32_t heads, float eps, sn_tensor *y) {
    if (q->ndim != 3 || k->ndim != 3 || v->ndim != 3 || y->ndim != 3 || heads < 1)
        return sn_mismatch("linear_attention", q, k);
    for (int i = 0; i < 3; i++)
        if (k->shape[i] != q->shape[i] || y->shape[i] != v->shape[i])
            return sn_mismatch("linear_attention", q, i < 2 ? k : y);
    if (v->shape[0] != q->shape[0] || v->shape[1] != q->shape[1] || q->shape[2] % heads ||
        v->shape[2] % heads)
        return sn_mismatch("linear_attention (values)", q, v);
    SN_NEED_OP(q, linear_attention);
    return SN_BE(q)->ops->linear_attention(SN_BE(q), q, k, v, heads, eps, y);
}

sana_status sn_dwconv2d_nhwc(const sn_tensor *x, const sn_tensor *w, const sn_tensor *b,
                             int32_t pad, sn_tensor *y) {
    if (x->ndim != 4 || w->ndim != 4 || y->ndim != 4 || pad < 0 || w->shape[0] != x->shape[3] ||
        w->shape[1] != 1 || y->shape[3] != x->shape[3] || y->shape[0] != x->shape[0] ||
        y->shape[1] != x->shape[1] + 2 * pad - w->shape[2] + 1 ||
        y->shape[2] != x->shape[2] + 2 * pad - w->shape[3] + 1)
        return sn_mismatch("dwconv2d_nhwc", x, w);
    if (b && sn_numel(b) != x->shape[3]) return sn_mismatch("dwconv2d_nhwc (bias)", b, x);
    SN_NEED_OP(x, dwconv2d_nhwc);
    return SN_BE(x)->ops->dwconv2d_nhwc(SN_BE(x), x, w, b, pad, y);
}

sana_status sn_glu(const sn_tensor *x, sn_act act, sn_tensor *y) {
    int64_t C = x->shape[x->ndim - 1];
    if (C % 2 || y->shape[y->ndim - 1] != C / 2 || sn_numel(y) * 2 != sn_numel(x))
        return sn_mismatch("glu", x, y);
    SN_NEED_OP(x, glu);
    return SN_BE(x)->ops->glu(SN_BE(x), x, act, y);
}

sana_status sn_gated_add(sn_tensor *x, const sn_tensor *y, const sn_tensor *gate) {
    if (sn_numel(x) != sn_numel(y)) return sn_mismatch("gated_add", x, y);
    if (gate && sn_numel(gate) != x->shape[0] * x->shape[x->ndim - 1])
        return sn_mismatch("gated_add (gate)", x, gate);
    SN_NEED_OP(x, gated_add);
    return SN_BE(x)->ops->gated_add(SN_BE(x), x, y, gate);
}
