/* The CUDA side of the ops added for the models after the first set: the text encoder's RoPE,
 * the DiT's linear attention, channel-last depthwise conv, GLU and gated residual, and the
 * DC-AE's banded convolution, channel RMSNorm, linear attention and shortcuts. Shapes were
 * checked by the wrappers (backend.c, ops_dcae.c); scratch comes from the arena. */
#include "backend/cuda/cuda_internal.h"
#include "kernels/kernels.h"

#define SN_STREAM(be) (sn_cuda_of(be)->stream)

static const void *sn_opt_data(const sn_tensor *t) { return t ? t->data : NULL; }

sana_status sn_cuda_rope(sn_backend *be, const sn_tensor *x, float theta, int64_t pos0, sn_tensor *y) {
    int64_t N = x->shape[2], D = x->shape[3];
    return sn_cuda_check(sn_k_rope(x->data, y->data, x->dtype, sn_numel(x) / D, N, D, theta, pos0, SN_STREAM(be)),
                         "rope");
}

/* The shared two-launch kernel with its fp32 partial sums in scratch. */
static sana_status sn_cuda_linattn(sn_backend *be, const char *what, const sn_tensor *q, sn_linattn_view qv,
                                   const sn_tensor *k, sn_linattn_view kv, const sn_tensor *v, sn_linattn_view vv,
                                   sn_tensor *y, sn_linattn_view yv, int64_t B, int64_t H, int64_t N, int64_t d,
                                   int64_t dv, float eps) {
    sn_arena_mark m = sn_scratch_mark(be);
    sn_tensor part;
    SN_TRY(sn_tensor_scratch(be, SN_F32, 1, SN_SHAPE(sn_k_linattn_scratch_floats(B, H, N, d, dv)), &part));
    int e = sn_k_linattn(q->data, qv, k->data, kv, v->data, vv, y->data, yv, q->dtype, B, H, N, d, dv, eps,
                         (float *)part.data, SN_STREAM(be));
    sn_scratch_reset(be, m);
    if (e == cudaErrorInvalidValue)
        return sn_fail(SANA_ERR_UNSUPPORTED, "cuda %s: head dims %lld/%lld or %lld heads out of range", what,
                       (long long)d, (long long)dv, (long long)(B * H));
    return sn_cuda_check(e, what);
}

sana_status sn_cuda_linear_attention(sn_backend *be, const sn_tensor *q, const sn_tensor *k, const sn_tensor *v,
                                     int32_t heads, float eps, sn_tensor *y) {
    int64_t B = q->shape[0], N = q->shape[1], H = heads, d = q->shape[2] / H, dv = v->shape[2] / H;
    /* token-major: element (b, h, n, c) at b·N·H·d + n·H·d + h·d + c */
    sn_linattn_view qv = {N * H * d, d, H * d, 1}, vv = {N * H * dv, dv, H * dv, 1};
    return sn_cuda_linattn(be, "linear_attention", q, qv, k, qv, v, vv, y, vv, B, H, N, d, dv, eps);
}

sana_status sn_cuda_linear_attention_relu(sn_backend *be, const sn_tensor *qkv, float eps, sn_tensor *y) {
    int64_t B = qkv->shape[0], G = qkv->shape[1], d = qkv->shape[2] / 3, N = qkv->shape[3];
    size_t es = sn_dtype_size(qkv->dtype);
    /* channel-major heads [q; k; v] of d rows of N tokens each */
    sn_linattn_view hv = {G * 3 * d * N, 3 * d * N, 1, N}, yv = {G * d * N, d * N, 1, N};
    sn_tensor k = *qkv, v = *qkv;
    k.data = (char *)qkv->data + (size_t)(d * N) * es;
    v.data = (char *)qkv->data + (size_t)(2 * d * N) * es;
    return sn_cuda_linattn(be, "linear_attention_relu", qkv, hv, &k, hv, &v, hv, y, yv, B, G, N, d, d, eps);
}

/* The DC-AE's two-pass form over token chunks (fp32 partial sums; the state in its own dtype,
 * fp32 recommended since it accumulates across calls). */
sana_status sn_cuda_linear_attention_state(sn_backend *be, const sn_tensor *qkv, sn_tensor *s) {
    int64_t B = qkv->shape[0], G = qkv->shape[1], d = qkv->shape[2] / 3, N = qkv->shape[3];
    size_t es = sn_dtype_size(qkv->dtype);
    sn_linattn_view hv = {G * 3 * d * N, 3 * d * N, 1, N};
    const char *k = (const char *)qkv->data + (size_t)(d * N) * es, *v = k + (size_t)(d * N) * es;
    sn_arena_mark m = sn_scratch_mark(be);
    sn_tensor part;
    SN_TRY(sn_tensor_scratch(be, SN_F32, 1, SN_SHAPE(sn_k_linattn_scratch_floats(B, G, N, d, d)), &part));
    int e = sn_k_linattn_state(k, hv, v, hv, qkv->dtype, B, G, N, d, d, (float *)part.data, s->data, s->dtype,
                               SN_STREAM(be));
    sn_scratch_reset(be, m);
    if (e == cudaErrorInvalidValue)
        return sn_fail(SANA_ERR_UNSUPPORTED, "cuda linear_attention_state: head dim %lld or %lld heads out of range",
                       (long long)d, (long long)(B * G));
    return sn_cuda_check(e, "linear_attention_state");
}

sana_status sn_cuda_linear_attention_apply(sn_backend *be, const sn_tensor *qkv, const sn_tensor *s, float eps,
                                           sn_tensor *y) {
    int64_t B = qkv->shape[0], G = qkv->shape[1], d = qkv->shape[2] / 3, N = qkv->shape[3];
    sn_linattn_view hv = {G * 3 * d * N, 3 * d * N, 1, N}, yv = {G * d * N, d * N, 1, N};
    int e = sn_k_linattn_apply(qkv->data, hv, y->data, yv, qkv->dtype, B, G, N, d, d, eps, s->data, s->dtype,
                               SN_STREAM(be));
    if (e == cudaErrorInvalidValue)
        return sn_fail(SANA_ERR_UNSUPPORTED, "cuda linear_attention_apply: head dim %lld or %lld heads out of range",
                       (long long)d, (long long)(B * G));
    return sn_cuda_check(e, "linear_attention_apply");
}

sana_status sn_cuda_dwconv2d_nhwc(sn_backend *be, const sn_tensor *x, const sn_tensor *w, const sn_tensor *b,
                                  int32_t pad, sn_tensor *y) {
    return sn_cuda_check(sn_k_dwconv_nhwc(x->data, w->data, sn_opt_data(b), y->data, x->dtype, w->dtype, x->shape[0],
                                          x->shape[1], x->shape[2], x->shape[3], w->shape[2], w->shape[3], pad,
                                          y->shape[1], y->shape[2], SN_STREAM(be)),
                         "dwconv2d_nhwc");
}

sana_status sn_cuda_glu(sn_backend *be, const sn_tensor *x, sn_act act, sn_tensor *y) {
    int64_t F = y->shape[y->ndim - 1];
    return sn_cuda_check(sn_k_glu(x->data, y->data, x->dtype, sn_numel(y) / F, F, (int)act, SN_STREAM(be)), "glu");
}

sana_status sn_cuda_gated_add(sn_backend *be, sn_tensor *x, const sn_tensor *y, const sn_tensor *gate) {
    int64_t C = x->shape[x->ndim - 1], R = sn_numel(x) / C;
    if (y->dtype != x->dtype || (gate && gate->dtype != x->dtype))
        return sn_fail(SANA_ERR_INTERNAL, "cuda gated_add: x, y and gate must share a dtype");
    int64_t per_batch = x->shape[0] ? R / x->shape[0] : 1;
    return sn_cuda_check(sn_k_gated_add(x->data, y->data, sn_opt_data(gate), x->dtype, R, C, per_batch, SN_STREAM(be)),
                         "gated_add");
}

/* Output rows whose columns conv2d_band builds at once: about 32 MiB of scratch, at least one row. */
static int64_t sn_cuda_band_rows(int64_t K, int64_t Wo, size_t es, int64_t Ho) {
    int64_t per_row = K * Wo * (int64_t)es, rows = ((int64_t)32 << 20) / (per_row ? per_row : 1);
    return rows < 1 ? 1 : rows > Ho ? Ho : rows;
}

/* cuDNN when it is in use (cuda_dnn.c: fixed chunks of output rows, exact banding too). Else
 * columns of a few output rows at a time (at most ~32 MiB of scratch), then one batched GEMM
 * over those rows: Y_r[Co, Wo] = W[Co, K] · cols_r[K, Wo]. The GEMM's algorithm is the batch-1
 * one whatever the number of rows (fixed_algo), so an output row's arithmetic does not depend on
 * the band or chunk it is computed in, as the op's contract requires. */
sana_status sn_cuda_conv2d_band(sn_backend *be, const sn_tensor *x, int64_t x_row0, int64_t h_full,
                                const sn_tensor *w, const sn_tensor *b, int32_t up, int32_t stride, int32_t pad,
                                sn_tensor *y, int64_t y_row0) {
    const int64_t B = x->shape[0], Ci = x->shape[1], Hx = x->shape[2], Wx = x->shape[3];
    const int64_t Co = w->shape[0], kh = w->shape[2], kw = w->shape[3], Ho = y->shape[2], Wo = y->shape[3];
    const int64_t K = Ci * kh * kw;
    if (Ho == 0) return SANA_OK;
    int done = 0;
    SN_TRY(sn_cuda_dnn_conv2d_band(be, x, x_row0, h_full, w, b, up, stride, pad, y, y_row0, &done));
    if (done) return SANA_OK;
    size_t es = sn_dtype_size(x->dtype), ys = sn_dtype_size(y->dtype);
    const int64_t rows = sn_cuda_band_rows(K, Wo, es, Ho);
    sn_arena_mark m = sn_scratch_mark(be);
    sn_tensor cols;
    SN_TRY(sn_tensor_scratch(be, x->dtype, 3, SN_SHAPE(rows, K, Wo), &cols));
    sana_status st = SANA_OK;
    for (int64_t n = 0; n < B && st == SANA_OK; n++)
        for (int64_t r0 = 0; r0 < Ho && st == SANA_OK; r0 += rows) {
            int64_t nr = Ho - r0 < rows ? Ho - r0 : rows;
            const char *xn = (const char *)x->data + (size_t)(n * Ci * Hx * Wx) * es;
            st = sn_cuda_check(sn_k_im2col_band(xn, cols.data, x->dtype, nr, Ci, Hx, Wx, kh, kw, up, stride, pad,
                                                x_row0, h_full, y_row0 + r0, Wo, SN_STREAM(be)),
                               "conv2d_band columns");
            if (st != SANA_OK) break;
            sn_gemm_args g = {0};
            g.M = Co, g.N = Wo, g.K = K, g.batch = nr;
            g.a = w->data, g.lda = K, g.stride_a = 0;
            g.b = cols.data, g.ldb = Wo, g.stride_b = K * Wo;
            g.y = (char *)y->data + (size_t)(n * Co * Ho * Wo + r0 * Wo) * ys, g.ldy = Ho * Wo, g.stride_y = Wo;
            g.ab_type = x->dtype, g.y_type = y->dtype, g.alpha = 1.0f, g.act = SN_ACT_NONE, g.fixed_algo = 1;
            if (w->dtype != x->dtype) st = sn_fail(SANA_ERR_INTERNAL, "cuda conv2d_band: weight dtype");
            else st = sn_cuda_gemm(be, &g);
        }
    sn_scratch_reset(be, m);
    if (st == SANA_OK && b)
        st = sn_cuda_check(sn_k_bias_channels(y->data, y->dtype, b->data, b->dtype, B, Co, Ho * Wo, SN_STREAM(be)),
                           "conv2d_band bias");
    return st;
}

sana_status sn_cuda_channel_norm(sn_backend *be, const sn_tensor *x, const sn_tensor *w, const sn_tensor *b,
                                 float eps, sn_act act, sn_tensor *y) {
    if (b && b->dtype != w->dtype) return sn_fail(SANA_ERR_INTERNAL, "cuda channel_norm: w and b dtypes differ");
    return sn_cuda_check(sn_k_channel_norm(x->data, y->data, x->dtype, w->data, sn_opt_data(b), w->dtype,
                                           x->shape[0], x->shape[1], x->shape[2] * x->shape[3], eps, (int)act,
                                           SN_STREAM(be)),
                         "channel_norm");
}

sana_status sn_cuda_shortcut_dup(sn_backend *be, const sn_tensor *x, int64_t x_row0, int32_t f, sn_tensor *y,
                                 int64_t y_row0) {
    return sn_cuda_check(sn_k_shortcut_dup(x->data, y->data, x->dtype, y->shape[0], x->shape[1], x->shape[2],
                                           x->shape[3], y->shape[1], y->shape[2], y->shape[3], f, x_row0, y_row0,
                                           SN_STREAM(be)),
                         "shortcut_dup");
}

sana_status sn_cuda_shortcut_avg(sn_backend *be, const sn_tensor *x, int32_t f, sn_tensor *y) {
    return sn_cuda_check(sn_k_shortcut_avg(x->data, y->data, x->dtype, y->shape[0], x->shape[1], x->shape[2],
                                           x->shape[3], y->shape[1], y->shape[2], y->shape[3], f, SN_STREAM(be)),
                         "shortcut_avg");
}

/* The arena scratch of each op above and of sn_cuda_conv2d (cuda_backend.c), in the order they
 * choose their path: depthwise conv2d none; cuDNN's (sn_cuda_dnn_scratch); else conv2d's columns
 * of all groups (none for 1x1 stride-1), conv2d_band's columns of sn_cuda_band_rows rows; the
 * linear attention's fp32 partial sums (none for apply). cuBLASLt and cuDNN work in the
 * preallocated workspace, counted with the backend's memory, not here. */
size_t sn_cuda_scratch_bytes(sn_backend *be, const sn_op_shape *s) {
    const sn_tensor *x = s->x, *w = s->w, *y = s->y;
    const size_t es = sn_dtype_size(x->dtype);
    size_t dnn_bytes = 0;
    int dnn = 0;
    switch (s->op) {
    case SN_OP_CONV2D: {
        const int64_t G = s->groups > 0 ? s->groups : 1, Cig = x->shape[1] / G, Cog = w->shape[0] / G;
        const int64_t kh = w->shape[2], kw = w->shape[3];
        if (Cig == 1 && Cog == 1 && kh == kw) return 0;
        if (sn_cuda_dnn_scratch(be, s, &dnn_bytes, &dnn) == SANA_OK && dnn) return dnn_bytes;
        if (kh == 1 && kw == 1 && s->stride == 1 && s->pad == 0) return 0;
        return sn_arena_round((size_t)(G * Cig * kh * kw * y->shape[2] * y->shape[3]) * es);
    }
    case SN_OP_CONV2D_BAND: {
        const int64_t K = x->shape[1] * w->shape[2] * w->shape[3], Wo = y->shape[3], Ho = y->shape[2];
        if (Ho == 0) return 0;
        if (sn_cuda_dnn_scratch(be, s, &dnn_bytes, &dnn) == SANA_OK && dnn) return dnn_bytes;
        return sn_arena_round((size_t)(sn_cuda_band_rows(K, Wo, es, Ho) * K * Wo) * es);
    }
    case SN_OP_LINATTN_RELU:
    case SN_OP_LINATTN_STATE: {
        const int64_t d = x->shape[2] / 3;
        return sn_arena_round((size_t)sn_k_linattn_scratch_floats(x->shape[0], x->shape[1], x->shape[3], d, d) *
                              sizeof(float));
    }
    case SN_OP_LINATTN_APPLY:
    case SN_OP_ATTENTION: /* its kernels take q, k, v and y only: no scratch */
    case SN_OP_LINEAR:    /* weights are on the device in its dtype: nothing to convert */
        return 0;
    }
    return 0;
}
