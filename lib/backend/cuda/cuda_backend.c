/* CUDA backend, host side: device selection, memory, transfers, and the ops table. GEMMs go to
 * cuBLASLt (cuda_gemm.c: bf16/fp16 inputs, fp32 accumulation; exact fp32 in the fp32 mode used to
 * check against the CPU), everything else to the kernels in kernels/. Nothing here synchronises
 * with the host except upload, download and synchronize, and no op allocates (scratch comes from
 * the arena, the GEMM workspace is preallocated), so a forward pass can be captured as a CUDA
 * graph (cuda_graph.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda_internal.h"
#include "core/log.h"
#include "kernels/kernels.h"

#define SN_LT_WORKSPACE ((size_t)32 << 20)
#define SN_STAGING ((size_t)16 << 20) /* pinned upload ring, two halves */

sana_status sn_cuda_check(int e, const char *what) {
    if (e == cudaSuccess) return SANA_OK;
    if (e == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        return sn_fail(SANA_ERR_OUT_OF_MEMORY, "cuda: %s: out of device memory", what);
    }
    return sn_fail(SANA_ERR_BACKEND, "cuda: %s: %s", what, cudaGetErrorString((cudaError_t)e));
}

sana_status sn_cuda_lt_check(cublasStatus_t e, const char *what) {
    if (e == CUBLAS_STATUS_SUCCESS) return SANA_OK;
    return sn_fail(SANA_ERR_BACKEND, "cublasLt: %s: %s (status %d)", what, cublasLtGetStatusName(e), (int)e);
}

/* --- memory ----------------------------------------------------------------------------------- */

/* Every device allocation is counted (pointer -> size), for sn_backend_memory's peak. */
void *sn_cuda_alloc(sn_backend *be, size_t bytes) {
    sn_cuda *c = sn_cuda_of(be);
    void *p = NULL;
    bytes = bytes ? bytes : 1;
    if (c->n_allocs == c->cap_allocs) {
        size_t cap = c->cap_allocs ? 2 * c->cap_allocs : 1024;
        sn_cuda_alloc_rec *r = realloc(c->allocs, cap * sizeof *r);
        if (!r) return NULL;
        c->allocs = r;
        c->cap_allocs = cap;
    }
    if (cudaMalloc(&p, bytes) != cudaSuccess) {
        cudaGetLastError();
        return NULL;
    }
    c->allocs[c->n_allocs++] = (sn_cuda_alloc_rec){p, bytes};
    c->in_use += bytes;
    if (c->in_use > c->peak) c->peak = c->in_use;
    return p;
}

void sn_cuda_free(sn_backend *be, void *ptr) {
    sn_cuda *c = sn_cuda_of(be);
    if (!ptr) return;
    for (size_t i = c->n_allocs; i-- > 0;)
        if (c->allocs[i].ptr == ptr) {
            c->in_use -= c->allocs[i].bytes;
            c->allocs[i] = c->allocs[--c->n_allocs];
            break;
        }
    cudaFree(ptr);
}

static sana_status sn_cuda_memory(sn_backend *be, size_t *in_use, size_t *peak) {
    sn_cuda *c = sn_cuda_of(be);
    if (in_use) *in_use = c->in_use;
    if (peak) *peak = c->peak;
    return SANA_OK;
}

static void *sn_cuda_chunk_alloc(void *owner, size_t bytes) { return sn_cuda_alloc(owner, bytes); }
static void sn_cuda_chunk_free(void *owner, void *ptr) { sn_cuda_free(owner, ptr); }

static void sn_cuda_destroy(sn_backend *be) {
    sn_cuda *c = sn_cuda_of(be);
    if (c) {
        if (c->stream) cudaStreamSynchronize(c->stream);
        sn_cuda_gemm_release(c);
        sn_cuda_dnn_release(c);
        if (c->lt_workspace) sn_cuda_free(be, c->lt_workspace);
        if (c->lt) cublasLtDestroy(c->lt);
        if (c->staging) cudaFreeHost(c->staging);
        for (int i = 0; i < 2; i++)
            if (c->stage_ev[i]) cudaEventDestroy(c->stage_ev[i]);
        if (c->stream) cudaStreamDestroy(c->stream);
        free(c->allocs);
        free(c);
    }
    free(be);
}

/* Small uploads (timestep sinusoids, masks, tables: anything up to half the staging buffer) go
 * through a pinned host ring of two halves and return at once: the host copy is taken, the
 * device copy is queued on the stream. A half is rewritten only after the event recorded behind
 * its last copies has passed, which waits only when the host runs a whole half ahead of the GPU.
 * Larger uploads (weights at load time) copy and wait. */
static void *sn_cuda_stage(sn_cuda *c, const void *src, size_t bytes) {
    size_t half = SN_STAGING / 2, need = (bytes + 255) & ~(size_t)255;
    if (!c->staging || need > half) return NULL;
    if (c->stage_off + need > half) {
        if (cudaEventRecord(c->stage_ev[c->stage_half], c->stream) != cudaSuccess) return NULL;
        c->stage_half ^= 1;
        c->stage_off = 0;
        if (cudaEventSynchronize(c->stage_ev[c->stage_half]) != cudaSuccess) return NULL;
    }
    char *p = (char *)c->staging + c->stage_half * half + c->stage_off;
    c->stage_off += need;
    memcpy(p, src, bytes);
    return p;
}

static sana_status sn_cuda_upload(sn_backend *be, void *dst, const void *src, size_t bytes) {
    sn_cuda *c = sn_cuda_of(be);
    const void *staged = sn_cuda_stage(c, src, bytes);
    SN_TRY(sn_cuda_check(cudaMemcpyAsync(dst, staged ? staged : src, bytes, cudaMemcpyHostToDevice, c->stream),
                         "upload"));
    if (staged) return SANA_OK;
    /* the caller may free its buffer right after: wait for the copy */
    return sn_cuda_check(cudaStreamSynchronize(c->stream), "upload");
}

static sana_status sn_cuda_download(sn_backend *be, void *dst, const void *src, size_t bytes) {
    sn_cuda *c = sn_cuda_of(be);
    SN_TRY(sn_cuda_check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, c->stream), "download"));
    return sn_cuda_check(cudaStreamSynchronize(c->stream), "download");
}

/* Host values of a float type go up as they are, then are converted on the device. */
static sana_status sn_cuda_upload_convert(sn_backend *be, sn_tensor *dst, sn_dtype src_type,
                                          const void *src) {
    int64_t n = sn_numel(dst);
    size_t bytes = (size_t)n * sn_dtype_size(src_type);
    if (src_type != SN_F32 && src_type != SN_F16 && src_type != SN_BF16)
        return sn_fail(SANA_ERR_UNSUPPORTED, "cuda: cannot upload dtype %s", sn_dtype_name(src_type));
    if (src_type == dst->dtype) return sn_cuda_upload(be, dst->data, src, bytes);
    /* staged: up through the ring into arena scratch, converted there; the scratch is given back
     * at once (later users of it are ordered after the conversion on the stream) */
    sn_cuda *c = sn_cuda_of(be);
    if (bytes <= SN_STAGING / 2) {
        sn_arena_mark m = sn_scratch_mark(be);
        void *tmp = sn_arena_alloc(&be->scratch, bytes);
        sana_status st = tmp ? sn_cuda_upload(be, tmp, src, bytes)
                             : sn_fail(SANA_ERR_OUT_OF_MEMORY, "cuda: %zu bytes of upload scratch", bytes);
        if (st == SANA_OK)
            st = sn_cuda_check(sn_k_convert(tmp, src_type, dst->data, dst->dtype, n, c->stream), "convert");
        sn_scratch_reset(be, m);
        return st;
    }
    void *tmp = sn_cuda_alloc(be, bytes);
    if (!tmp) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "cuda: %zu bytes for an upload", bytes);
    sana_status st = sn_cuda_upload(be, tmp, src, bytes);
    if (st == SANA_OK)
        st = sn_cuda_check(sn_k_convert(tmp, src_type, dst->data, dst->dtype, n, c->stream), "convert");
    if (st == SANA_OK) st = sn_cuda_check(cudaStreamSynchronize(c->stream), "convert");
    sn_cuda_free(be, tmp);
    return st;
}

static sana_status sn_cuda_copy(sn_backend *be, sn_tensor *dst, const sn_tensor *src) {
    sn_cuda *c = sn_cuda_of(be);
    if (dst->dtype != src->dtype)
        return sn_cuda_check(sn_k_convert(src->data, src->dtype, dst->data, dst->dtype, sn_numel(src), c->stream),
                             "copy");
    return sn_cuda_check(cudaMemcpyAsync(dst->data, src->data, (size_t)sn_numel(src) * sn_dtype_size(src->dtype),
                                         cudaMemcpyDeviceToDevice, c->stream),
                         "copy");
}

static sana_status sn_cuda_fill(sn_backend *be, sn_tensor *dst, float value) {
    return sn_cuda_check(sn_k_fill(dst->data, dst->dtype, value, sn_numel(dst), sn_cuda_of(be)->stream), "fill");
}

static sana_status sn_cuda_sync(sn_backend *be) {
    return sn_cuda_check(cudaStreamSynchronize(sn_cuda_of(be)->stream), "synchronize");
}

/* --- GEMM ------------------------------------------------------------------------------------- */

static sana_status sn_cuda_linear(sn_backend *be, const sn_tensor *x, const sn_tensor *w, const sn_tensor *b,
                                  sn_act act, sn_tensor *y) {
    int64_t N = w->shape[0], K = w->shape[1], M = sn_numel(x) / K;
    if (w->dtype != x->dtype) return sn_fail(SANA_ERR_INTERNAL, "cuda linear: x and w dtypes differ");
    sn_gemm_args g = {0};
    g.trans_b = 1, g.M = M, g.N = N, g.K = K, g.batch = 1;
    g.a = x->data, g.lda = K, g.b = w->data, g.ldb = K, g.y = y->data, g.ldy = N;
    g.ab_type = x->dtype, g.y_type = y->dtype, g.alpha = 1.0f;
    g.bias = b ? b->data : NULL, g.bias_type = b ? b->dtype : y->dtype, g.act = act;
    return sn_cuda_gemm(be, &g);
}

static sana_status sn_cuda_matmul(sn_backend *be, const sn_tensor *a, const sn_tensor *bm, int32_t trans_b,
                                  float alpha, sn_tensor *y) {
    int64_t Bt = a->shape[0], M = a->shape[1], K = a->shape[2], N = y->shape[2];
    if (bm->dtype != a->dtype) return sn_fail(SANA_ERR_INTERNAL, "cuda matmul: operand dtypes differ");
    sn_gemm_args g = {0};
    g.trans_b = trans_b, g.M = M, g.N = N, g.K = K, g.batch = Bt;
    g.a = a->data, g.lda = K, g.stride_a = M * K;
    g.b = bm->data, g.ldb = trans_b ? K : N, g.stride_b = K * N;
    g.y = y->data, g.ldy = N, g.stride_y = M * N;
    g.ab_type = a->dtype, g.y_type = y->dtype, g.alpha = alpha, g.act = SN_ACT_NONE;
    return sn_cuda_gemm(be, &g);
}

/* Convolution: depthwise directly; otherwise cuDNN when it is in use (cuda_dnn.c), else per image
 * the columns of every group at once (none for 1x1 stride-1 convolutions, which read x as it is),
 * then one GEMM batched over the groups: Y_g[Cog, P] = W_g[Cog, Kd] · cols_g[Kd, P]. */
static sana_status sn_cuda_conv2d(sn_backend *be, const sn_tensor *x, const sn_tensor *w, const sn_tensor *b,
                                  const sn_conv_params *p, sn_tensor *y) {
    sn_cuda *c = sn_cuda_of(be);
    int64_t B = x->shape[0], Ci = x->shape[1], H = x->shape[2], W = x->shape[3];
    int64_t Co = w->shape[0], kh = w->shape[2], kw = w->shape[3], Ho = y->shape[2], Wo = y->shape[3];
    int64_t G = p->groups, Cig = Ci / G, Cog = Co / G, P = Ho * Wo, Kd = Cig * kh * kw;
    if (Cig == 1 && Cog == 1 && kh == kw)
        return sn_cuda_check(sn_k_depthwise(x->data, w->data, b ? b->data : NULL, y->data, x->dtype, w->dtype, B, Co,
                                            H, W, kh, p->stride, p->pad, Ho, Wo, c->stream),
                             "depthwise conv");
    if (w->dtype != x->dtype) return sn_fail(SANA_ERR_INTERNAL, "cuda conv2d: x and w dtypes differ");
    int done = 0;
    SN_TRY(sn_cuda_dnn_conv2d(be, x, w, b, p, y, &done));
    if (done) return SANA_OK;
    int direct = kh == 1 && kw == 1 && p->stride == 1 && p->pad == 0;
    sn_arena_mark mark = sn_scratch_mark(be);
    sn_tensor cols = {0};
    if (!direct) SN_TRY(sn_tensor_scratch(be, x->dtype, 2, SN_SHAPE(G * Kd, P), &cols));
    size_t es = sn_dtype_size(x->dtype);
    sana_status st = SANA_OK;
    for (int64_t n = 0; n < B && st == SANA_OK; n++) {
        const void *src = (const char *)x->data + (size_t)(n * Ci * H * W) * es;
        if (!direct) {
            st = sn_cuda_check(sn_k_im2col(src, cols.data, x->dtype, Ci, H, W, kh, kw, p->stride, p->pad, Ho, Wo,
                                           c->stream),
                               "im2col");
            src = cols.data;
        }
        sn_gemm_args ga = {0};
        ga.M = Cog, ga.N = P, ga.K = Kd, ga.batch = G;
        ga.a = w->data, ga.lda = Kd, ga.stride_a = Cog * Kd;
        ga.b = src, ga.ldb = P, ga.stride_b = Kd * P; /* direct: Kd = Cig and P = H * W */
        ga.y = (char *)y->data + (size_t)(n * Co * P) * sn_dtype_size(y->dtype), ga.ldy = P, ga.stride_y = Cog * P;
        ga.ab_type = x->dtype, ga.y_type = y->dtype, ga.alpha = 1.0f, ga.act = SN_ACT_NONE;
        if (st == SANA_OK) st = sn_cuda_gemm(be, &ga);
    }
    sn_scratch_reset(be, mark);
    if (st == SANA_OK && b)
        st = sn_cuda_check(sn_k_bias_channels(y->data, y->dtype, b->data, b->dtype, B, Co, P, c->stream), "conv bias");
    return st;
}

/* --- elementwise, norms, attention ------------------------------------------------------------ */

static sana_status sn_cuda_unary(sn_backend *be, sn_act act, const sn_tensor *x, sn_tensor *y) {
    return sn_cuda_check(sn_k_unary(x->data, y->data, x->dtype, sn_numel(x), act, sn_cuda_of(be)->stream), "unary");
}

static sana_status sn_cuda_binary(sn_backend *be, sn_binop op, const sn_tensor *a, const sn_tensor *b,
                                  sn_tensor *y) {
    int nd = a->ndim, off = a->ndim - b->ndim;
    int64_t bstride[SN_MAX_DIMS] = {0, 0, 0, 0}, st = 1;
    for (int i = nd - 1; i >= 0; i--) {
        int bi = i - off;
        if (bi >= 0 && b->shape[bi] != 1) bstride[i] = st;
        if (bi >= 0) st *= b->shape[bi];
    }
    if (y->dtype != a->dtype) return sn_fail(SANA_ERR_INTERNAL, "cuda binary: y and a dtypes differ");
    return sn_cuda_check(sn_k_binary(a->data, b->data, b->dtype, y->data, a->dtype, (int)op, nd, a->shape, bstride,
                                     sn_cuda_of(be)->stream),
                         "binary");
}

static sana_status sn_cuda_scale(sn_backend *be, const sn_tensor *x, float alpha, float beta, sn_tensor *y) {
    return sn_cuda_check(sn_k_scale(x->data, y->data, x->dtype, sn_numel(x), alpha, beta, sn_cuda_of(be)->stream),
                         "scale");
}

static sana_status sn_cuda_permute(sn_backend *be, const sn_tensor *x, const int32_t *perm, sn_tensor *y) {
    int64_t xs[SN_MAX_DIMS], strides[SN_MAX_DIMS], st = 1;
    for (int i = x->ndim - 1; i >= 0; i--) {
        xs[i] = st;
        st *= x->shape[i];
    }
    for (int i = 0; i < x->ndim; i++) strides[i] = xs[perm[i]];
    return sn_cuda_check(sn_k_permute(x->data, y->data, x->dtype, x->ndim, y->shape, strides, sn_cuda_of(be)->stream),
                         "permute");
}

static sana_status sn_cuda_layer_norm(sn_backend *be, const sn_tensor *x, const sn_tensor *w, const sn_tensor *b,
                                      const sn_tensor *shift, const sn_tensor *scale, float eps, sn_tensor *y) {
    int64_t C = x->shape[x->ndim - 1], R = sn_numel(x) / C;
    int wdt = w ? w->dtype : b ? b->dtype : SN_F32;
    return sn_cuda_check(sn_k_layer_norm(x->data, y->data, x->dtype, w ? w->data : NULL, b ? b->data : NULL, wdt,
                                         shift ? shift->data : NULL, scale ? scale->data : NULL, R, C,
                                         x->shape[0] ? R / x->shape[0] : 1, eps, sn_cuda_of(be)->stream),
                         "layer_norm");
}

static sana_status sn_cuda_rms_norm(sn_backend *be, const sn_tensor *x, const sn_tensor *w, const sn_tensor *b,
                                    float w_offset, float eps, sn_tensor *y) {
    int64_t C = x->shape[x->ndim - 1], R = sn_numel(x) / C;
    int wdt = w ? w->dtype : b ? b->dtype : SN_F32;
    return sn_cuda_check(sn_k_rms_norm(x->data, y->data, x->dtype, w ? w->data : NULL, b ? b->data : NULL, wdt,
                                       w_offset, R, C, eps, sn_cuda_of(be)->stream),
                         "rms_norm");
}

/* SANA_CUDA_ATTENTION picks the softmax attention kernel, read at every call:
 *   unset, "" or "auto": the tensor-core flash kernel where it applies (bf16 / fp16, head dim
 *                        32 / 64 / 128 / 256, sm_80+), else the simple warp-per-row kernel;
 *   "simple":            the warp-per-row kernel always (the fallback, and the fp32 check mode's);
 *   "flash":             the flash kernel, or SANA_ERR_UNSUPPORTED where it does not apply
 *                        (tests use it to know which kernel ran). */
typedef enum { SN_ATT_AUTO, SN_ATT_SIMPLE, SN_ATT_FLASH } sn_att_kernel;

static sana_status sn_cuda_attention_kernel(sn_att_kernel *out) {
    const char *e = getenv("SANA_CUDA_ATTENTION");
    if (!e || !*e || strcmp(e, "auto") == 0) *out = SN_ATT_AUTO;
    else if (strcmp(e, "simple") == 0) *out = SN_ATT_SIMPLE;
    else if (strcmp(e, "flash") == 0) *out = SN_ATT_FLASH;
    else return sn_fail(SANA_ERR_INVALID_ARGUMENT, "SANA_CUDA_ATTENTION=%s: expected auto, flash or simple", e);
    return SANA_OK;
}

static sana_status sn_cuda_attention(sn_backend *be, const sn_tensor *q, const sn_tensor *k, const sn_tensor *v,
                                     const sn_attn_params *p, sn_tensor *y) {
    const sn_tensor *m = p->mask;
    int64_t mask_rows = m ? (m->ndim >= 2 ? m->shape[m->ndim - 2] : 1) : 0;
    sn_att_kernel which = SN_ATT_AUTO;
    SN_TRY(sn_cuda_attention_kernel(&which));
    if (which != SN_ATT_SIMPLE) {
        int e = sn_k_flash_attention(q->data, k->data, v->data, y->data, q->dtype, q->shape[0], q->shape[1],
                                     k->shape[1], q->shape[2], k->shape[2], q->shape[3], v->shape[3], p->scale,
                                     p->softcap, p->causal, p->window, m ? m->data : NULL, m ? m->dtype : SN_F32,
                                     mask_rows, sn_cuda_of(be)->stream);
        if (e != SN_K_NOT_APPLICABLE) return sn_cuda_check(e, "flash attention");
        if (which == SN_ATT_FLASH)
            return sn_fail(SANA_ERR_UNSUPPORTED,
                           "cuda flash attention (SANA_CUDA_ATTENTION=flash) does not apply to %s, head dims "
                           "%lld / %lld (needs F16 or BF16, equal head dims of 32, 64, 128 or 256, 16-byte "
                           "aligned tensors, sm_80 or newer)",
                           sn_dtype_name(q->dtype), (long long)q->shape[3], (long long)v->shape[3]);
    }
    int e = sn_k_attention(q->data, k->data, v->data, y->data, q->dtype, q->shape[0], q->shape[1], k->shape[1],
                           q->shape[2], k->shape[2], q->shape[3], v->shape[3], p->scale, p->softcap, p->causal,
                           p->window, m ? m->data : NULL, m ? m->dtype : SN_F32, mask_rows, sn_cuda_of(be)->stream);
    if (e == cudaErrorInvalidValue && v->shape[3] > 256)
        return sn_fail(SANA_ERR_UNSUPPORTED, "cuda attention: head dim %lld > 256", (long long)v->shape[3]);
    return sn_cuda_check(e, "attention");
}

static const sn_ops sn_cuda_ops = {
    .name = "cuda",
    .destroy = sn_cuda_destroy,
    .alloc = sn_cuda_alloc,
    .free = sn_cuda_free,
    .upload = sn_cuda_upload,
    .download = sn_cuda_download,
    .upload_convert = sn_cuda_upload_convert,
    .copy = sn_cuda_copy,
    .fill = sn_cuda_fill,
    .synchronize = sn_cuda_sync,
    .linear = sn_cuda_linear,
    .matmul = sn_cuda_matmul,
    .conv2d = sn_cuda_conv2d,
    .unary = sn_cuda_unary,
    .binary = sn_cuda_binary,
    .scale = sn_cuda_scale,
    .permute = sn_cuda_permute,
    .layer_norm = sn_cuda_layer_norm,
    .rms_norm = sn_cuda_rms_norm,
    .attention = sn_cuda_attention,
    .rope = sn_cuda_rope,
    .linear_attention = sn_cuda_linear_attention,
    .dwconv2d_nhwc = sn_cuda_dwconv2d_nhwc,
    .glu = sn_cuda_glu,
    .gated_add = sn_cuda_gated_add,
    .conv2d_band = sn_cuda_conv2d_band,
    .channel_norm = sn_cuda_channel_norm,
    .linear_attention_relu = sn_cuda_linear_attention_relu,
    .shortcut_dup = sn_cuda_shortcut_dup,
    .shortcut_avg = sn_cuda_shortcut_avg,
    .linear_attention_state = sn_cuda_linear_attention_state,
    .linear_attention_apply = sn_cuda_linear_attention_apply,
    .scratch_bytes = sn_cuda_scratch_bytes,
    .graph_begin = sn_cuda_graph_begin,
    .graph_end = sn_cuda_graph_end,
    .graph_launch = sn_cuda_graph_launch,
    .graph_free = sn_cuda_graph_free,
    .memory = sn_cuda_memory,
};

sana_status sn_backend_cuda_create(int32_t device, sana_precision precision, sn_backend **out) {
    *out = NULL;
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0)
        return sn_fail(SANA_ERR_UNSUPPORTED, "cuda: no CUDA device is available");
    if (device < 0 || device >= count)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "cuda: device %d does not exist (%d found)", device, count);
    SN_TRY(sn_cuda_check(cudaSetDevice(device), "set device"));
    struct cudaDeviceProp prop;
    SN_TRY(sn_cuda_check(cudaGetDeviceProperties(&prop, device), "device properties"));

    sn_backend *be = calloc(1, sizeof *be);
    sn_cuda *c = calloc(1, sizeof *c);
    if (!be || !c) {
        free(be);
        free(c);
        return sn_fail(SANA_ERR_OUT_OF_MEMORY, "cuda backend: out of memory");
    }
    be->ops = &sn_cuda_ops;
    be->impl = c;
    c->device = device;
    sana_status st = sn_cuda_check(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking), "stream");
    if (st == SANA_OK) st = sn_cuda_lt_check(cublasLtCreate(&c->lt), "create");
    if (st == SANA_OK) {
        c->lt_workspace_bytes = SN_LT_WORKSPACE;
        c->lt_workspace = sn_cuda_alloc(be, c->lt_workspace_bytes);
        if (!c->lt_workspace) st = sn_fail(SANA_ERR_OUT_OF_MEMORY, "cuda: cuBLASLt workspace");
    }
    if (st == SANA_OK) st = sn_cuda_dnn_init(be);
    if (st == SANA_OK) st = sn_cuda_check(cudaMallocHost(&c->staging, SN_STAGING), "upload staging");
    for (int i = 0; i < 2 && st == SANA_OK; i++)
        st = sn_cuda_check(cudaEventCreateWithFlags(&c->stage_ev[i], cudaEventDisableTiming), "upload event");
    if (st != SANA_OK) {
        sn_cuda_destroy(be);
        return st;
    }
    /* bf16 where the GPU has it (sm_80+), else fp16; fp32 when asked (checks against the CPU) */
    sn_dtype dt = precision == SANA_PRECISION_F32    ? SN_F32
                  : precision == SANA_PRECISION_F16  ? SN_F16
                  : precision == SANA_PRECISION_BF16 ? SN_BF16
                  : prop.major >= 8                  ? SN_BF16
                                                     : SN_F16;
    be->act_dtype = dt;
    be->weight_dtype = dt;
    be->n_threads = 1;
    sn_arena_init(&be->scratch, sn_cuda_chunk_alloc, sn_cuda_chunk_free, be, (size_t)256 << 20);
    /* device memory is kept between calls, as PyTorch's caching allocator does: cudaFree
     * synchronises and the next generation needs the same blocks again */
    be->scratch_keep = SIZE_MAX;
    sn_log(SANA_LOG_INFO, "cuda: %s (sm_%d%d), %s compute", prop.name, prop.major, prop.minor, sn_dtype_name(dt));
    *out = be;
    return SANA_OK;
}
