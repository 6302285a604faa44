/* Convolutions through cuDNN (legacy API, loaded at run time by dnn_lib.c): the generic conv2d op
 * and the DC-AE's conv2d_band. Each (op, shape, dtype) gets a plan once: descriptors, one
 * algorithm from cudnnGetConvolutionForwardAlgorithm_v7 (a heuristic: no trial runs, so plans can
 * be made while a graph is captured), its workspace size. The workspace is the backend's
 * preallocated cuBLASLt one (same stream, so GEMMs and convolutions never overlap in it); scratch
 * comes from the arena. Nothing here allocates device memory or waits for the device.
 *
 * Numerics: fp32 accumulation always (compute type FLOAT); fp32 data with CUDNN_FMA_MATH (no
 * TF32, as the check against the CPU needs); bf16/fp16 data with the math type the heuristic
 * reports (tensor cores). Only deterministic algorithms are taken.
 *
 * conv2d_band with cuDNN. The op's contract: output rows [y_row0, y_row0 + Ho) of
 * conv2d(up(x_full)) with zero padding at the true image edges only, x holding some rows of
 * x_full, and each output row's arithmetic the same whatever band it is computed in. cuDNN's
 * symmetric padding cannot express "pad the top but not the bottom of this band", and a call's
 * kernel may depend on its shape. So every band is computed on one fixed grid of output-row
 * chunks: chunk k is output rows [kR, kR + R) of the whole image, R fixed per (weights, dtype,
 * width, up, stride, image height). For each chunk that meets the band, a kernel gathers the
 * chunk's input rows (upsampled, zero rows at the image edges and where x lacks a row) into a
 * packed scratch tensor; one cudnnConvolutionForward with vertical padding 0 and horizontal
 * padding `pad` produces the chunk's R rows into scratch; the rows inside the band are copied
 * into y with the bias added. Every output row is therefore computed by the same call (same
 * descriptors, same algorithm, same position in the chunk, same values in its receptive field)
 * whether it is in a band or in the whole image. Rows a band's x lacks are zeros in its gather;
 * they reach only output rows outside the band, provided the algorithm computes each output from
 * its own receptive field: implicit GEMM, precomputed implicit GEMM, GEMM and direct do; FFT and
 * Winograd mix neighbouring rows through their transforms and are never taken for bands. Hence
 * banded == whole image bit for bit holds by construction here as with the im2col path, as long
 * as cuDNN runs the same kernel for the same descriptors (test_cuda_conv checks it on a GPU).
 * The cost: one gather and one copy-out pass per chunk (the copy-out replaces the bias pass) and
 * up to 2(R - 1) rows computed and dropped at a band's ends. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda_internal.h"
#include "backend/cuda/dnn.h"
#include "core/log.h"
#include "kernels/kernels.h"

#ifdef SANA_HAVE_CUDNN

#include "backend/cuda/dnn_api.h"

#define SN_DNN_MAX_PLANS 128
#define SN_BAND_PIXELS ((int64_t)65536)      /* output pixels per chunk aimed at (GEMM M) */
#define SN_BAND_SCRATCH ((int64_t)64 << 20) /* bytes of chunk input + output at most */

enum { SN_DNN_CONV = 1, SN_DNN_BAND = 2 };

typedef struct sn_dnn_key {
    int64_t kind, B, Ci, H, W, Co, kh, kw, stride, pad, groups, up, dtype;
} sn_dnn_key;

typedef struct sn_dnn_plan {
    sn_dnn_key key;
    cudnnTensorDescriptor_t xd, yd;
    cudnnFilterDescriptor_t wd;
    cudnnConvolutionDescriptor_t cd;
    cudnnConvolutionFwdAlgo_t algo;
    size_t ws;
    int ok;            /* 0: cuDNN has no usable algorithm; the caller runs the GEMM path */
    int64_t R, Rin, Wo; /* bands: output rows per chunk, input rows per chunk, output width */
} sn_dnn_plan;

struct sn_cuda_dnn {
    const sn_cudnn_lib *lib;
    cudnnHandle_t h;
    sn_dnn_plan *plans;
    int n_plans, next_plan;
    uint64_t calls;
};

static sana_status sn_dnn_check(const sn_cuda_dnn *d, cudnnStatus_t e, const char *call) {
    if (e == CUDNN_STATUS_SUCCESS) return SANA_OK;
    if (e == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED ||
        e == CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED)
        return sn_fail(SANA_ERR_OUT_OF_MEMORY, "cudnn: %s: out of memory (status %d)", call, (int)e);
    return sn_fail(SANA_ERR_BACKEND, "cudnn: %s: %s (status %d)", call, d->lib->cudnnGetErrorString(e), (int)e);
}
#define SN_DNN(d, call, ...) SN_TRY(sn_dnn_check((d), (d)->lib->call(__VA_ARGS__), #call))

static int sn_dnn_not_supported(cudnnStatus_t e) { return e / 1000 == CUDNN_STATUS_NOT_SUPPORTED / 1000; }

static cudnnDataType_t sn_dnn_type(sn_dtype t) {
    return t == SN_F32 ? CUDNN_DATA_FLOAT : t == SN_F16 ? CUDNN_DATA_HALF : CUDNN_DATA_BFLOAT16;
}

static int sn_fits_int(int64_t v) { return v >= 0 && v <= INT_MAX; }

static void sn_dnn_plan_destroy(const sn_cuda_dnn *d, sn_dnn_plan *p) {
    if (p->xd) d->lib->cudnnDestroyTensorDescriptor(p->xd);
    if (p->yd) d->lib->cudnnDestroyTensorDescriptor(p->yd);
    if (p->wd) d->lib->cudnnDestroyFilterDescriptor(p->wd);
    if (p->cd) d->lib->cudnnDestroyConvolutionDescriptor(p->cd);
    memset(p, 0, sizeof *p);
}

/* a packed NCHW descriptor */
static sana_status sn_dnn_tensor(const sn_cuda_dnn *d, cudnnTensorDescriptor_t t, cudnnDataType_t dt, int64_t n,
                                 int64_t c, int64_t h, int64_t w) {
    SN_DNN(d, cudnnSetTensor4dDescriptorEx, t, dt, (int)n, (int)c, (int)h, (int)w, (int)(c * h * w), (int)(h * w),
           (int)w, 1);
    return SANA_OK;
}

/* Descriptors of x [B, Ci, H, W] -> y [B, Co, Ho, Wo] with weights [Co, Ci/groups, kh, kw], padding
 * pad_h / pad_w, then checks that cuDNN agrees on the output's shape. */
static sana_status sn_dnn_describe(const sn_cuda_dnn *d, sn_dnn_plan *p, int64_t B, int64_t Ci, int64_t H, int64_t W,
                                   int64_t Co, int64_t kh, int64_t kw, int64_t groups, int64_t pad_h, int64_t pad_w,
                                   int64_t stride, int64_t Ho, int64_t Wo, sn_dtype dtype) {
    cudnnDataType_t dt = sn_dnn_type(dtype);
    SN_DNN(d, cudnnCreateTensorDescriptor, &p->xd);
    SN_DNN(d, cudnnCreateTensorDescriptor, &p->yd);
    SN_DNN(d, cudnnCreateFilterDescriptor, &p->wd);
    SN_DNN(d, cudnnCreateConvolutionDescriptor, &p->cd);
    SN_TRY(sn_dnn_tensor(d, p->xd, dt, B, Ci, H, W));
    SN_TRY(sn_dnn_tensor(d, p->yd, dt, B, Co, Ho, Wo));
    SN_DNN(d, cudnnSetFilter4dDescriptor, p->wd, dt, CUDNN_TENSOR_NCHW, (int)Co, (int)(Ci / groups), (int)kh,
           (int)kw);
    SN_DNN(d, cudnnSetConvolution2dDescriptor, p->cd, (int)pad_h, (int)pad_w, (int)stride, (int)stride, 1, 1,
           CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT);
    if (groups > 1) SN_DNN(d, cudnnSetConvolutionGroupCount, p->cd, (int)groups);
    /* fp32: FMA kernels only (no TF32); half types: tensor cores */
    SN_DNN(d, cudnnSetConvolutionMathType, p->cd, dtype == SN_F32 ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH);
    int on, oc, oh, ow;
    SN_DNN(d, cudnnGetConvolution2dForwardOutputDim, p->cd, p->xd, p->wd, &on, &oc, &oh, &ow);
    if (on != B || oc != Co || oh != Ho || ow != Wo)
        return sn_fail(SANA_ERR_INTERNAL, "cudnn: output %dx%dx%dx%d, expected %lldx%lldx%lldx%lld", on, oc, oh, ow,
                       (long long)B, (long long)Co, (long long)Ho, (long long)Wo);
    return SANA_OK;
}

/* Algorithms whose every output reads only its own receptive field (see the top comment). */
static int sn_dnn_local(cudnnConvolutionFwdAlgo_t a) {
    return a == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM || a == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM ||
           a == CUDNN_CONVOLUTION_FWD_ALGO_GEMM || a == CUDNN_CONVOLUTION_FWD_ALGO_DIRECT;
}

/* The heuristic's fastest deterministic algorithm that fits the workspace (and, for bands, is
 * local); p->ok = 0 when there is none. */
static sana_status sn_dnn_choose(sn_cuda *c, sn_dnn_plan *p, sn_dtype dtype, int local_only) {
    const sn_cuda_dnn *d = c->dnn;
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int n = 0;
    cudnnStatus_t e = d->lib->cudnnGetConvolutionForwardAlgorithm_v7(d->h, p->xd, p->wd, p->cd, p->yd,
                                                                     CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf);
    if (sn_dnn_not_supported(e)) return SANA_OK;
    SN_TRY(sn_dnn_check(d, e, "cudnnGetConvolutionForwardAlgorithm_v7"));
    for (int i = 0; i < n; i++) {
        const cudnnConvolutionFwdAlgoPerf_t *r = &perf[i];
        if (r->status != CUDNN_STATUS_SUCCESS || r->determinism != CUDNN_DETERMINISTIC) continue;
        if (local_only && !sn_dnn_local(r->algo)) continue;
        if (dtype == SN_F32 && r->mathType != CUDNN_FMA_MATH && r->mathType != CUDNN_DEFAULT_MATH) continue;
        cudnnMathType_t math = dtype == SN_F32 ? CUDNN_FMA_MATH : r->mathType;
        SN_DNN(d, cudnnSetConvolutionMathType, p->cd, math);
        size_t ws = 0;
        e = d->lib->cudnnGetConvolutionForwardWorkspaceSize(d->h, p->xd, p->wd, p->cd, p->yd, r->algo, &ws);
        if (e != CUDNN_STATUS_SUCCESS || ws > c->lt_workspace_bytes) continue;
        p->algo = r->algo;
        p->ws = ws;
        p->ok = 1;
        return SANA_OK;
    }
    return SANA_OK;
}

/* Chunk height for bands: about SN_BAND_PIXELS output pixels, at most the image, the chunk's
 * input and output within SN_BAND_SCRATCH; a function of the layer only (never of the band). */
static void sn_band_rows(sn_dnn_plan *p, int64_t Ci, int64_t Co, int64_t Win, int64_t Ho_full, int64_t es) {
    const sn_dnn_key *k = &p->key;
    int64_t R = (SN_BAND_PIXELS + p->Wo - 1) / p->Wo;
    R = R > Ho_full ? Ho_full : R;
    for (; R > 1; R--) {
        int64_t rin = (R - 1) * k->stride + k->kh;
        if ((Ci * rin * Win + Co * R * p->Wo) * es <= SN_BAND_SCRATCH) break;
    }
    p->R = R < 1 ? 1 : R;
    p->Rin = (p->R - 1) * k->stride + k->kh;
}

static sana_status sn_dnn_build(sn_cuda *c, sn_dnn_plan *p) {
    const sn_dnn_key *k = &p->key;
    sn_dtype dt = (sn_dtype)k->dtype;
    if (k->kind == SN_DNN_CONV) {
        int64_t Ho = (k->H + 2 * k->pad - k->kh) / k->stride + 1, Wo = (k->W + 2 * k->pad - k->kw) / k->stride + 1;
        /* cuDNN's 4-D descriptors hold int sizes and strides */
        if (Ho < 1 || Wo < 1 || !sn_fits_int(k->B * k->Ci * k->H * k->W) || !sn_fits_int(k->B * k->Co * Ho * Wo)) return SANA_OK;
        SN_TRY(sn_dnn_describe(c->dnn, p, k->B, k->Ci, k->H, k->W, k->Co, k->kh, k->kw, k->groups, k->pad, k->pad,
                               k->stride, Ho, Wo, dt));
        return sn_dnn_choose(c, p, dt, 0);
    }
    /* band: H is h_full, W the input width, before upsampling */
    int64_t Hin = k->H * k->up, Win = k->W * k->up;
    int64_t Ho_full = (Hin + 2 * k->pad - k->kh) / k->stride + 1;
    p->Wo = (Win + 2 * k->pad - k->kw) / k->stride + 1;
    if (Ho_full < 1 || p->Wo < 1) return SANA_OK;
    sn_band_rows(p, k->Ci, k->Co, Win, Ho_full, (int64_t)sn_dtype_size(dt));
    if (!sn_fits_int(k->Ci * p->Rin * Win) || !sn_fits_int(k->Co * p->R * p->Wo)) return SANA_OK;
    SN_TRY(sn_dnn_describe(c->dnn, p, 1, k->Ci, p->Rin, Win, k->Co, k->kh, k->kw, 1, 0, k->pad, k->stride, p->R,
                           p->Wo, dt));
    return sn_dnn_choose(c, p, dt, 1);
}

static sana_status sn_dnn_plan_get(sn_cuda *c, const sn_dnn_key *key, sn_dnn_plan **out) {
    sn_cuda_dnn *d = c->dnn;
    for (int i = 0; i < d->n_plans; i++)
        if (!memcmp(&d->plans[i].key, key, sizeof *key)) {
            *out = &d->plans[i];
            return SANA_OK;
        }
    sn_dnn_plan *p;
    if (d->n_plans < SN_DNN_MAX_PLANS) {
        p = &d->plans[d->n_plans++];
    } else { /* full: replace in turn */
        p = &d->plans[d->next_plan];
        d->next_plan = (d->next_plan + 1) % SN_DNN_MAX_PLANS;
        sn_dnn_plan_destroy(d, p);
    }
    p->key = *key;
    sana_status st = sn_dnn_build(c, p);
    if (st != SANA_OK) {
        /* cuDNN refused this shape: said once, then the shape keeps to the GEMM path */
        sn_log(SANA_LOG_WARN, "%s; a %lldx%lldx%lldx%lld convolution uses im2col + GEMM", sn_error_text(),
               (long long)key->Co, (long long)key->Ci, (long long)key->kh, (long long)key->kw);
        sn_error_clear();
    } else if (!p->ok) {
        sn_log(SANA_LOG_INFO, "cudnn: no deterministic algorithm within the workspace (or sizes beyond its int "
                              "descriptors) for a %lldx%lldx%lldx%lld %s; it uses im2col + GEMM",
               (long long)key->Co, (long long)key->Ci, (long long)key->kh, (long long)key->kw,
               key->kind == SN_DNN_BAND ? "conv2d_band" : "conv2d");
    }
    if (!p->ok) { /* kept as a "no" (ok = 0) so the next call asks no more */
        sn_dnn_plan_destroy(d, p);
        p->key = *key;
    }
    *out = p;
    return SANA_OK;
}

static sana_status sn_dnn_forward(sn_cuda *c, sn_dnn_plan *p, const void *x, const void *w, void *y) {
    sn_cuda_dnn *d = c->dnn;
    const float one = 1.0f, zero = 0.0f; /* float scaling for float, half and bf16 data */
    SN_DNN(d, cudnnConvolutionForward, d->h, &one, p->xd, x, p->wd, w, p->cd, p->algo, c->lt_workspace, p->ws, &zero,
           p->yd, y);
    d->calls++;
    return SANA_OK;
}

/* The plan key of a conv2d call; 0 when cuDNN does not run it (off, dtypes, alignment). */
static int sn_dnn_conv_key(const sn_cuda *c, const sn_tensor *x, const sn_tensor *w, const sn_tensor *y,
                           const sn_conv_params *cp, sn_dnn_key *key) {
    if (!c->dnn || w->dtype != x->dtype || y->dtype != x->dtype) return 0;
    /* x and y may be views into the middle of a tensor (channel groups of the DC-AE's multi-scale
     * qkv, odd test shapes); cuDNN's plan knows no pointers and its kernels load vectors (it
     * documents at least 4-byte alignment even for half types): such calls take the GEMM path */
    if (((uintptr_t)x->data | (uintptr_t)w->data | (uintptr_t)y->data) % 16) return 0;
    memset(key, 0, sizeof *key); /* compared bytewise */
    key->kind = SN_DNN_CONV, key->B = x->shape[0], key->Ci = x->shape[1], key->H = x->shape[2], key->W = x->shape[3];
    key->Co = w->shape[0], key->kh = w->shape[2], key->kw = w->shape[3];
    key->stride = cp->stride, key->pad = cp->pad, key->groups = cp->groups, key->up = 1, key->dtype = x->dtype;
    return 1;
}

/* The plan key of a conv2d_band call; 0 when cuDNN does not run it. */
static int sn_dnn_band_key(const sn_cuda *c, const sn_tensor *x, int64_t h_full, const sn_tensor *w,
                           const sn_tensor *y, int32_t up, int32_t stride, int32_t pad, sn_dnn_key *key) {
    /* cuDNN sees only w and the chunk scratch (256-byte aligned); x and y meet only our kernels */
    if (!c->dnn || w->dtype != x->dtype || y->dtype != x->dtype || (uintptr_t)w->data % 16) return 0;
    memset(key, 0, sizeof *key);
    key->kind = SN_DNN_BAND, key->Ci = x->shape[1], key->H = h_full, key->W = x->shape[3], key->Co = w->shape[0];
    key->kh = w->shape[2], key->kw = w->shape[3], key->stride = stride, key->pad = pad, key->groups = 1, key->up = up;
    key->dtype = x->dtype;
    return 1;
}

/* conv2d_band's scratch on the cuDNN path: one chunk's gathered input and its output */
static size_t sn_dnn_band_scratch(const sn_dnn_plan *p, int64_t Ci, int64_t Co, int64_t Win, size_t es) {
    return sn_arena_round((size_t)(Ci * p->Rin * Win) * es) + sn_arena_round((size_t)(Co * p->R * p->Wo) * es);
}

sana_status sn_cuda_dnn_scratch(sn_backend *be, const sn_op_shape *s, size_t *bytes, int *dnn) {
    sn_cuda *c = sn_cuda_of(be);
    sn_dnn_key key;
    sn_dnn_plan *p;
    *bytes = 0, *dnn = 0;
    if (s->op == SN_OP_CONV2D) {
        const sn_conv_params cp = {s->stride, s->pad, s->groups};
        if (!sn_dnn_conv_key(c, s->x, s->w, s->y, &cp, &key)) return SANA_OK;
        SN_TRY(sn_dnn_plan_get(c, &key, &p));
        *dnn = p->ok; /* its workspace is the cuBLASLt one */
    } else if (s->op == SN_OP_CONV2D_BAND) {
        if (!sn_dnn_band_key(c, s->x, s->h_full, s->w, s->y, s->up, s->stride, s->pad, &key)) return SANA_OK;
        SN_TRY(sn_dnn_plan_get(c, &key, &p));
        *dnn = p->ok;
        if (p->ok && s->y->shape[2] > 0)
            *bytes = sn_dnn_band_scratch(p, s->x->shape[1], s->w->shape[0], s->x->shape[3] * s->up,
                                         sn_dtype_size(s->x->dtype));
    }
    return SANA_OK;
}

sana_status sn_cuda_dnn_conv2d(sn_backend *be, const sn_tensor *x, const sn_tensor *w, const sn_tensor *b,
                               const sn_conv_params *cp, sn_tensor *y, int *done) {
    sn_cuda *c = sn_cuda_of(be);
    *done = 0;
    sn_dnn_key key;
    if (!sn_dnn_conv_key(c, x, w, y, cp, &key)) return SANA_OK;
    sn_dnn_plan *p;
    SN_TRY(sn_dnn_plan_get(c, &key, &p));
    if (!p->ok) return SANA_OK;
    SN_TRY(sn_dnn_forward(c, p, x->data, w->data, y->data));
    if (b)
        SN_TRY(sn_cuda_check(sn_k_bias_channels(y->data, y->dtype, b->data, b->dtype, y->shape[0], y->shape[1],
                                                y->shape[2] * y->shape[3], c->stream),
                             "conv2d bias"));
    *done = 1;
    return SANA_OK;
}

sana_status sn_cuda_dnn_conv2d_band(sn_backend *be, const sn_tensor *x, int64_t x_row0, int64_t h_full,
                                    const sn_tensor *w, const sn_tensor *b, int32_t up, int32_t stride, int32_t pad,
                                    sn_tensor *y, int64_t y_row0, int *done) {
    sn_cuda *c = sn_cuda_of(be);
    *done = 0;
    sn_dnn_key key;
    if (!sn_dnn_band_key(c, x, h_full, w, y, up, stride, pad, &key)) return SANA_OK;
    const int64_t B = x->shape[0], Ci = x->shape[1], Hx = x->shape[2], Wx = x->shape[3];
    const int64_t Co = w->shape[0], Ho = y->shape[2];
    sn_dnn_plan *p;
    SN_TRY(sn_dnn_plan_get(c, &key, &p));
    if (!p->ok) return SANA_OK;
    *done = 1;
    if (Ho == 0) return SANA_OK;
    const int64_t R = p->R, Wo = p->Wo, Win = Wx * up;
    const size_t es = sn_dtype_size(x->dtype);
    sn_arena_mark m = sn_scratch_mark(be);
    sn_tensor xin, out; /* what sn_dnn_band_scratch counts */
    sana_status st = sn_tensor_scratch(be, x->dtype, 3, SN_SHAPE(Ci, p->Rin, Win), &xin);
    if (st == SANA_OK) st = sn_tensor_scratch(be, x->dtype, 3, SN_SHAPE(Co, R, Wo), &out);
    for (int64_t n = 0; n < B && st == SANA_OK; n++) {
        const char *xn = (const char *)x->data + (size_t)(n * Ci * Hx * Wx) * es;
        char *yn = (char *)y->data + (size_t)(n * Co * Ho * Wo) * es;
        for (int64_t k = y_row0 / R; k <= (y_row0 + Ho - 1) / R && st == SANA_OK; k++) {
            st = sn_cuda_check(sn_k_band_gather(xn, xin.data, x->dtype, Ci, Hx, Wx, up, x_row0, h_full,
                                                k * R * stride - pad, p->Rin, c->stream),
                               "conv2d_band gather");
            if (st == SANA_OK) st = sn_dnn_forward(c, p, xin.data, w->data, out.data);
            int64_t lo = k * R > y_row0 ? k * R : y_row0, hi = (k + 1) * R < y_row0 + Ho ? (k + 1) * R : y_row0 + Ho;
            if (st == SANA_OK)
                st = sn_cuda_check(sn_k_band_scatter(out.data, R, lo - k * R, yn, y->dtype, Ho, lo - y_row0, Co,
                                                     hi - lo, Wo, b ? b->data : NULL, b ? b->dtype : SN_F32,
                                                     c->stream),
                                   "conv2d_band copy-out");
        }
    }
    sn_scratch_reset(be, m);
    return st;
}

/* SANA_CUDA_CONV: "gemm" keeps im2col + cuBLASLt; "cudnn" (or unset) uses cuDNN when it loads. */
sana_status sn_cuda_dnn_init(sn_backend *be) {
    sn_cuda *c = sn_cuda_of(be);
    const char *mode = getenv("SANA_CUDA_CONV");
    if (mode && *mode && strcmp(mode, "cudnn") != 0) {
        if (strcmp(mode, "gemm") != 0)
            sn_log(SANA_LOG_WARN, "cuda: SANA_CUDA_CONV=%s is neither cudnn nor gemm; using gemm", mode);
        sn_log(SANA_LOG_INFO, "cuda: convolutions as im2col + cuBLASLt GEMMs (SANA_CUDA_CONV)");
        return SANA_OK;
    }
    const sn_cudnn_lib *lib = sn_cudnn_lib_get();
    if (!lib) return SANA_OK; /* why was logged once */
    sn_cuda_dnn *d = calloc(1, sizeof *d);
    sn_dnn_plan *plans = calloc(SN_DNN_MAX_PLANS, sizeof *plans);
    if (!d || !plans) {
        free(d);
        free(plans);
        return sn_fail(SANA_ERR_OUT_OF_MEMORY, "cuda: cuDNN state");
    }
    d->lib = lib;
    d->plans = plans;
    cudnnStatus_t e = lib->cudnnCreate(&d->h);
    if (e == CUDNN_STATUS_SUCCESS) {
        e = lib->cudnnSetStream(d->h, c->stream);
        if (e != CUDNN_STATUS_SUCCESS) lib->cudnnDestroy(d->h);
    }
    if (e != CUDNN_STATUS_SUCCESS) {
        /* a library that loads but cannot start here (driver, GPU): fall back, as when absent */
        sn_log(SANA_LOG_INFO, "cudnn: cudnnCreate/cudnnSetStream: %s (status %d); convolutions run as im2col + "
                              "cuBLASLt GEMMs",
               lib->cudnnGetErrorString(e), (int)e);
        free(plans);
        free(d);
        return SANA_OK;
    }
    c->dnn = d;
    sn_log(SANA_LOG_INFO, "cuda: convolutions through cuDNN %zu", lib->version);
    return SANA_OK;
}

void sn_cuda_dnn_release(sn_cuda *c) {
    sn_cuda_dnn *d = c->dnn;
    if (!d) return;
    for (int i = 0; i < d->n_plans; i++) sn_dnn_plan_destroy(d, &d->plans[i]);
    d->lib->cudnnDestroy(d->h);
    free(d->plans);
    free(d);
    c->dnn = NULL;
}

static uint64_t sn_dnn_calls(const sn_cuda_dnn *d) { return d->calls; }

#else /* built without the cuDNN headers: always the GEMM path */

sana_status sn_cuda_dnn_init(sn_backend *be) {
    (void)be;
    (void)sn_cudnn_available(); /* logs once why cuDNN is not used */
    return SANA_OK;
}

void sn_cuda_dnn_release(sn_cuda *c) { (void)c; }

sana_status sn_cuda_dnn_conv2d(sn_backend *be, const sn_tensor *x, const sn_tensor *w, const sn_tensor *b,
                               const sn_conv_params *cp, sn_tensor *y, int *done) {
    (void)be, (void)x, (void)w, (void)b, (void)cp, (void)y;
    *done = 0;
    return SANA_OK;
}

sana_status sn_cuda_dnn_scratch(sn_backend *be, const sn_op_shape *s, size_t *bytes, int *dnn) {
    (void)be, (void)s;
    *bytes = 0, *dnn = 0;
    return SANA_OK;
}

sana_status sn_cuda_dnn_conv2d_band(sn_backend *be, const sn_tensor *x, int64_t x_row0, int64_t h_full,
                                    const sn_tensor *w, const sn_tensor *b, int32_t up, int32_t stride, int32_t pad,
                                    sn_tensor *y, int64_t y_row0, int *done) {
    (void)be, (void)x, (void)x_row0, (void)h_full, (void)w, (void)b, (void)up, (void)stride, (void)pad, (void)y;
    (void)y_row0;
    *done = 0;
    return SANA_OK;
}

static uint64_t sn_dnn_calls(const sn_cuda_dnn *d) {
    (void)d;
    return 0;
}

#endif

int sn_cuda_conv_cudnn(const sn_backend *be, uint64_t *calls) {
    if (calls) *calls = 0;
    if (!be || !be->ops || strcmp(be->ops->name, "cuda") != 0) return 0;
    const sn_cuda *c = (const sn_cuda *)be->impl;
    if (!c->dnn) return 0;
    if (calls) *calls = sn_dnn_calls(c->dnn);
    return 1;
}
