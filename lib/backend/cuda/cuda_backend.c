/* CUDA backend, host side: device selection, memory, transfers, and the ops table. GEMMs go to
 * cuBLAS (bf16/fp16 inputs, fp32 accumulation; exact fp32 in the fp32 mode used to check against
 * the CPU), everything else to the kernels in kernels/. Nothing here synchronises with the host
 * except download and synchronize, so a forward pass can be captured as a CUDA graph. */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stdlib.h>

#include "backend/backend.h"
#include "core/log.h"
#include "kernels/kernels.h"

typedef struct sn_cuda {
    int device;
    cudaStream_t stream;
    cublasHandle_t blas;
} sn_cuda;

static sn_cuda *sn_cuda_of(sn_backend *be) { return (sn_cuda *)be->impl; }

static sana_status sn_cuda_check(int e, const char *what) {
    if (e == cudaSuccess) return SANA_OK;
    return sn_fail(SANA_ERR_BACKEND, "cuda: %s: %s", what, cudaGetErrorString((cudaError_t)e));
}

static sana_status sn_blas_check(cublasStatus_t e, const char *what) {
    if (e == CUBLAS_STATUS_SUCCESS) return SANA_OK;
    return sn_fail(SANA_ERR_BACKEND, "cublas: %s: status %d", what, (int)e);
}

/* --- memory ----------------------------------------------------------------------------------- */

static void *sn_cuda_alloc(sn_backend *be, size_t bytes) {
    (void)be;
    void *p = NULL;
    return cudaMalloc(&p, bytes ? bytes : 1) == cudaSuccess ? p : NULL;
}

static void sn_cuda_free(sn_backend *be, void *ptr) {
    (void)be;
    if (ptr) cudaFree(ptr);
}

static void *sn_cuda_chunk_alloc(void *owner, size_t bytes) { return sn_cuda_alloc(owner, bytes); }
static void sn_cuda_chunk_free(void *owner, void *ptr) { sn_cuda_free(owner, ptr); }

static void sn_cuda_destroy(sn_backend *be) {
    sn_cuda *c = sn_cuda_of(be);
    if (c) {
        if (c->blas) cublasDestroy(c->blas);
        if (c->stream) cudaStreamDestroy(c->stream);
        free(c);
    }
    free(be);
}

static sana_status sn_cuda_upload(sn_backend *be, void *dst, const void *src, size_t bytes) {
    sn_cuda *c = sn_cuda_of(be);
    SN_TRY(sn_cuda_check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, c->stream), "upload"));
    /* the host buffer may be freed by the caller right after: wait for the copy */
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
    void *tmp = sn_cuda_alloc(be, bytes);
    if (!tmp) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "cuda: %zu bytes for an upload", bytes);
    sana_status st = sn_cuda_upload(be, tmp, src, bytes);
    if (st == SANA_OK)
        st = sn_cuda_check(sn_k_convert(tmp, src_type, dst->data, dst->dtype, n, sn_cuda_of(be)->stream),
                           "convert");
    if (st == SANA_OK) st = sn_cuda_check(cudaStreamSynchronize(sn_cuda_of(be)->stream), "convert");
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

static cudaDataType_t sn_cuda_type(sn_dtype t) {
    return t == SN_F32 ? CUDA_R_32F : t == SN_F16 ? CUDA_R_16F : CUDA_R_16BF;
}

/* Row-major Y[M, N] = alpha * A[M, K] · op(B) as column-major Yᵀ = op(B)ᵀ · Aᵀ, batched. */
static sana_status sn_cuda_gemm(sn_backend *be, int trans_b, int64_t batch, int64_t M, int64_t N, int64_t K,
                                float alpha, const sn_tensor *a, int64_t stride_a, const sn_tensor *b,
                                int64_t stride_b, sn_tensor *y, int64_t stride_y) {
    sn_cuda *c = sn_cuda_of(be);
    float beta = 0.0f;
    cublasComputeType_t compute = CUBLAS_COMPUTE_32F; /* fp32 accumulation; no TF32 in fp32 mode */
    return sn_blas_check(
        cublasGemmStridedBatchedEx(c->blas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, CUBLAS_OP_N, (int)N, (int)M,
                                   (int)K, &alpha, b->data, sn_cuda_type(b->dtype), (int)(trans_b ? K : N),
                                   stride_b, a->data, sn_cuda_type(a->dtype), (int)K, stride_a, &beta, y->data,
                                   sn_cuda_type(y->dtype), (int)N, stride_y, (int)batch, compute,
                                   CUBLAS_GEMM_DEFAULT),
        "gemm");
}

static sana_status sn_cuda_linear(sn_backend *be, const sn_tensor *x, const sn_tensor *w, const sn_tensor *b,
                                  sn_act act, sn_tensor *y) {
    int64_t N = w->shape[0], K = w->shape[1], M = sn_numel(x) / K;
    SN_TRY(sn_cuda_gemm(be, 1, 1, M, N, K, 1.0f, x, 0, w, 0, y, 0));
    if (!b && act == SN_ACT_NONE) return SANA_OK;
    return sn_cuda_check(sn_k_bias_act(y->data, y->dtype, b ? b->data : NULL, b ? b->dtype : SN_F32, M, N, act,
                                       sn_cuda_of(be)->stream),
                         "bias/activation");
}

static sana_status sn_cuda_matmul(sn_backend *be, const sn_tensor *a, const sn_tensor *bm, int32_t trans_b,
                                  float alpha, sn_tensor *y) {
    int64_t Bt = a->shape[0], M = a->shape[1], K = a->shape[2], N = y->shape[2];
    return sn_cuda_gemm(be, trans_b, Bt, M, N, K, alpha, a, M * K, bm, K * N, y, M * N);
}

/* Convolution: depthwise directly; otherwise im2col per image and group, then one GEMM. */
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
    int direct = kh == 1 && kw == 1 && p->stride == 1 && p->pad == 0;
    sn_arena_mark mark = sn_scratch_mark(be);
    sn_tensor cols = {0};
    if (!direct) SN_TRY(sn_tensor_scratch(be, x->dtype, 2, SN_SHAPE(Kd, P), &cols));
    size_t es = sn_dtype_size(x->dtype);
    sana_status st = SANA_OK;
    for (int64_t n = 0; n < B && st == SANA_OK; n++)
        for (int64_t g = 0; g < G && st == SANA_OK; g++) {
            sn_tensor src = *x, wg = *w, yg = *y;
            src.data = (char *)x->data + (size_t)((n * Ci + g * Cig) * H * W) * es;
            if (!direct) {
                st = sn_cuda_check(sn_k_im2col(src.data, cols.data, x->dtype, Cig, H, W, kh, kw, p->stride, p->pad,
                                               Ho, Wo, c->stream),
                                   "im2col");
                src = cols;
            }
            wg.data = (char *)w->data + (size_t)(g * Cog * Kd) * sn_dtype_size(w->dtype);
            yg.data = (char *)y->data + (size_t)((n * Co + g * Cog) * P) * sn_dtype_size(y->dtype);
            /* Y[Cog, P] = W[Cog, Kd] · cols[Kd, P] */
            if (st == SANA_OK) st = sn_cuda_gemm(be, 0, 1, Cog, P, Kd, 1.0f, &wg, 0, &src, 0, &yg, 0);
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
    if (b->dtype != a->dtype) return sn_fail(SANA_ERR_INTERNAL, "cuda binary: mixed dtypes");
    return sn_cuda_check(sn_k_binary(a->data, b->data, y->data, a->dtype, (int)op, nd, a->shape, bstride,
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
                                         R / x->shape[0], eps, sn_cuda_of(be)->stream),
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

static sana_status sn_cuda_attention(sn_backend *be, const sn_tensor *q, const sn_tensor *k, const sn_tensor *v,
                                     const sn_attn_params *p, sn_tensor *y) {
    const sn_tensor *m = p->mask;
    int64_t mask_rows = m ? (m->ndim >= 2 ? m->shape[m->ndim - 2] : 1) : 0;
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
    if (st == SANA_OK) st = sn_blas_check(cublasCreate(&c->blas), "create");
    if (st == SANA_OK) st = sn_blas_check(cublasSetStream(c->blas, c->stream), "set stream");
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
    sn_log(SANA_LOG_INFO, "cuda: %s (sm_%d%d), %s compute", prop.name, prop.major, prop.minor, sn_dtype_name(dt));
    *out = be;
    return SANA_OK;
}
