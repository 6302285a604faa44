/* The ops interface: what the model modules (encoder, dit, ae) compute with.
 *
 * One table of function pointers per backend (cpu/, cuda/). Ops are coarse so that one op is one
 * fused kernel on the GPU. Model code calls the sn_* wrappers below and never branches on the
 * backend. Tensors are dense and row-major; shapes are written outermost first, as in PyTorch
 * ([B, N, C] means C varies fastest). Element offsets are 64-bit everywhere.
 *
 * Activations are float32 on the CPU; a GPU backend may hold them in bf16/fp16 (the tensor's
 * dtype says). Weights are uploaded once with sn_tensor_upload_from() in the backend's weight
 * dtype. Every op returns SANA_OK or a failure recorded with sn_fail().
 *
 * Adding an op: declare it in the table and as a wrapper here, implement it in cpu/ (checked
 * against a naive loop in tests/test_ops_*.c) and in cuda/ when that backend is built. */
#ifndef SN_BACKEND_H
#define SN_BACKEND_H

#include <stdint.h>

#include "core/arena.h"
#include "core/dtype.h"
#include "core/error.h"

#define SN_MAX_DIMS 4

typedef struct sn_backend sn_backend;
struct sn_graph;

typedef struct sn_tensor {
    sn_dtype dtype;
    int32_t ndim;
    int64_t shape[SN_MAX_DIMS];
    void *data;     /* host memory (CPU) or device memory, as `be` says */
    sn_backend *be; /* where `data` lives; NULL: host memory owned elsewhere, e.g. a weight read
                     * in place from its mapped file (sn_weights_mapf), which sn_tensor_free leaves */
} sn_tensor;

static inline int64_t sn_numel(const sn_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

typedef enum sn_act {
    SN_ACT_NONE = 0,
    SN_ACT_SILU,
    SN_ACT_RELU,
    SN_ACT_GELU_TANH, /* gelu(approximate="tanh") */
    SN_ACT_GELU       /* exact erf gelu */
} sn_act;

typedef enum sn_binop { SN_ADD = 0, SN_MUL, SN_SUB } sn_binop;

typedef struct sn_attn_params {
    float scale;         /* multiplies q·k; usually 1/sqrt(head_dim) */
    float softcap;       /* > 0: logits = softcap * tanh(logits / softcap) (Gemma-2) */
    int32_t causal;      /* 1: query i sees keys j <= i */
    int32_t window;      /* > 0: also j > i - window (Gemma-2 sliding layers) */
    const sn_tensor *mask; /* NULL or additive float mask [B, 1 or Nq, Nk] */
} sn_attn_params;

typedef struct sn_conv_params {
    int32_t stride;
    int32_t pad;
    int32_t groups;
} sn_conv_params;

/* An op call described by its operands' shapes and dtypes (data is not read), for asking a
 * backend how much temporary memory the op takes while it runs (sn_op_scratch_bytes). */
typedef enum sn_op_id {
    SN_OP_CONV2D = 1,       /* x, w, y; stride, pad, groups */
    SN_OP_CONV2D_BAND,      /* x, w, y; up, stride, pad, h_full */
    SN_OP_LINATTN_RELU,     /* x = qkv, y */
    SN_OP_LINATTN_STATE,    /* x = qkv, y = s */
    SN_OP_LINATTN_APPLY,    /* x = qkv, w = s, y */
    SN_OP_ATTENTION,        /* x = q, w = k (softmax attention; on the CPU, with the calling
                             * thread's thread count, as the op will run) */
    SN_OP_LINEAR            /* x, w (weights in a file's dtype take a conversion buffer) */
} sn_op_id;

typedef struct sn_op_shape {
    sn_op_id op;
    const sn_tensor *x, *w, *y;
    int32_t up, stride, pad, groups;
    int64_t h_full; /* conv2d_band: rows of the whole input */
} sn_op_shape;

typedef struct sn_ops {
    const char *name;
    void (*destroy)(sn_backend *be); /* frees the backend itself */

    /* memory */
    void *(*alloc)(sn_backend *be, size_t bytes);
    void (*free)(sn_backend *be, void *ptr);
    sana_status (*upload)(sn_backend *be, void *dst, const void *src_host, size_t bytes);
    sana_status (*download)(sn_backend *be, void *dst_host, const void *src, size_t bytes);
    /* dst (backend tensor, its dtype) <- n host elements of src_type, converted */
    sana_status (*upload_convert)(sn_backend *be, sn_tensor *dst, sn_dtype src_type,
                                  const void *src_host);
    sana_status (*copy)(sn_backend *be, sn_tensor *dst, const sn_tensor *src); /* same numel */
    sana_status (*fill)(sn_backend *be, sn_tensor *dst, float value);
    sana_status (*synchronize)(sn_backend *be);

    /* y[M, N] = act(x[M, K] · w[N, K]ᵀ + b[N]); b may be NULL. M = numel(x) / K. */
    sana_status (*linear)(sn_backend *be, const sn_tensor *x, const sn_tensor *w,
                          const sn_tensor *b, sn_act act, sn_tensor *y);
    /* batched y[b] = alpha · a[b] · op(bm[b]) for [Bt, M, K] x [Bt, K, N] (or [Bt, N, K] when
     * trans_b) */
    sana_status (*matmul)(sn_backend *be, const sn_tensor *a, const sn_tensor *bm, int32_t trans_b,
                          float alpha, sn_tensor *y);
    /* NCHW convolution: x[B, Ci, H, W], w[Co, Ci/groups, kh, kw], b[Co] or NULL */
    sana_status (*conv2d)(sn_backend *be, const sn_tensor *x, const sn_tensor *w,
                          const sn_tensor *b, const sn_conv_params *p, sn_tensor *y);

    /* elementwise */
    sana_status (*unary)(sn_backend *be, sn_act act, const sn_tensor *x, sn_tensor *y);
    /* y = a op b, where b's shape equals a's trailing dims, or b broadcasts along one axis
     * (sizes 1 allowed in b; b has the same ndim as a) */
    sana_status (*binary)(sn_backend *be, sn_binop op, const sn_tensor *a, const sn_tensor *b,
                          sn_tensor *y);
    /* y = x * alpha + beta */
    sana_status (*scale)(sn_backend *be, const sn_tensor *x, float alpha, float beta, sn_tensor *y);
    /* y = x transposed: y.shape[i] = x.shape[perm[i]] */
    sana_status (*permute)(sn_backend *be, const sn_tensor *x, const int32_t *perm, sn_tensor *y);

    /* norms over the last dim C of x[R..., C]:
     * layer_norm: y = (x - mean) / sqrt(var + eps) [* w + b]; then when scale/shift are given
     *             ([B, C] with B = x.shape[0]): y = y * (1 + scale) + shift (adaLN modulation) */
    sana_status (*layer_norm)(sn_backend *be, const sn_tensor *x, const sn_tensor *w,
                              const sn_tensor *b, const sn_tensor *shift, const sn_tensor *scale,
                              float eps, sn_tensor *y);
    /* rms_norm: y = x / sqrt(mean(x²) + eps) * (w + w_offset) [+ b]; w may be NULL.
     * Gemma's norm is w_offset = 1. */
    sana_status (*rms_norm)(sn_backend *be, const sn_tensor *x, const sn_tensor *w,
                            const sn_tensor *b, float w_offset, float eps, sn_tensor *y);

    /* softmax attention: q[B, Hq, Nq, D], k and v [B, Hk, Nk, D] (Hq a multiple of Hk: grouped
     * K/V), y[B, Hq, Nq, D]; softmax in fp32 */
    sana_status (*attention)(sn_backend *be, const sn_tensor *q, const sn_tensor *k,
                             const sn_tensor *v, const sn_attn_params *p, sn_tensor *y);

    /* --- text encoder ops (issue 4) --- */
    /* rotary position embedding, rotate-half (NeoX) pairing (d, d + D/2) over all D dims:
     * x[B, H, N, D] -> y (same shape, may be x); row n has position pos0 + n and pair d the angle
     * pos * theta^(-2d/D), computed in fp32 */
    sana_status (*rope)(sn_backend *be, const sn_tensor *x, float theta, int64_t pos0,
                        sn_tensor *y);

    /* --- DiT ops (issue 5) ---------------------------------------------------------------- */
    /* ReLU linear attention (SANA), token-major q, k [B, N, H*d] and v [B, N, H*dv], y like v.
     * Per batch and head h (channels h*d + j): q, k <- relu(q), relu(k); S = sum_n v_n k_n^T and
     * z = sum_n k_n accumulated in (at least) fp32; y_n = S q_n / (z^T q_n + eps). No scaling,
     * no mask; never forms the N x N matrix. */
    sana_status (*linear_attention)(sn_backend *be, const sn_tensor *q, const sn_tensor *k,
                                    const sn_tensor *v, int32_t heads, float eps, sn_tensor *y);
    /* Depthwise convolution over channel-last x[B, H, W, C]: w[C, 1, kh, kw], b[C] or NULL,
     * stride 1, zero padding `pad`; y[B, H + 2 pad - kh + 1, W + 2 pad - kw + 1, C]. */
    sana_status (*dwconv2d_nhwc)(sn_backend *be, const sn_tensor *x, const sn_tensor *w,
                                 const sn_tensor *b, int32_t pad, sn_tensor *y);
    /* GLU over the last dim: y[..., F] = x[..., :F] * act(x[..., F:]) for x[..., 2F]. */
    sana_status (*glu)(sn_backend *be, const sn_tensor *x, sn_act act, sn_tensor *y);
    /* Gated residual: x[B, ..., C] += gate[B, C] * y (gate NULL: x += y); y has x's shape. */
    sana_status (*gated_add)(sn_backend *be, sn_tensor *x, const sn_tensor *y,
                             const sn_tensor *gate);
    /* --- end DiT ops ----------------------------------------------------------------------- */

    /* --- DC-AE ops (issue 6) --- */
    /* Rows [y_row0, y_row0 + H_y) of conv2d(up(x_full), w, b) (groups 1, zero padding outside
     * x_full only): up = 1 or 2 is nearest upsampling fused into the reads; x holds rows
     * [x_row0, x_row0 + H_x) of x_full, which has h_full rows. Each output row's arithmetic is
     * the same whatever band it is computed in (exact banded decoding relies on it). */
    sana_status (*conv2d_band)(sn_backend *be, const sn_tensor *x, int64_t x_row0, int64_t h_full,
                               const sn_tensor *w, const sn_tensor *b, int32_t up, int32_t stride,
                               int32_t pad, sn_tensor *y, int64_t y_row0);
    /* per-pixel RMSNorm over the channels of NCHW x: y = act(x * rsqrt(mean_c(x²) + eps) * w + b);
     * y may be x; statistics in fp32 or better */
    sana_status (*channel_norm)(sn_backend *be, const sn_tensor *x, const sn_tensor *w,
                                const sn_tensor *b, float eps, sn_act act, sn_tensor *y);
    /* ReLU linear attention: qkv[B, G, 3d, N] holds per head [q; k; v] (d rows each);
     * y[B, G, d, N] = (v · relu(k)ᵀ) · relu(q) / (sum_n relu(k) · relu(q) + eps), fp32 */
    sana_status (*linear_attention_relu)(sn_backend *be, const sn_tensor *qkv, float eps,
                                         sn_tensor *y);
    /* y += pixel_shuffle(repeat_interleave(x, f²·Co/Ci), f) (DC-AE up shortcut; f = 1 is the
     * channel-duplicating input shortcut, or with Ci == Co a plain add), banded like
     * conv2d_band: y holds output rows [y_row0, ...), x input rows [x_row0, ...) */
    sana_status (*shortcut_dup)(sn_backend *be, const sn_tensor *x, int64_t x_row0, int32_t f,
                                sn_tensor *y, int64_t y_row0);
    /* y += mean over consecutive groups of f²·Ci/Co channels of pixel_unshuffle(x, f) */
    sana_status (*shortcut_avg)(sn_backend *be, const sn_tensor *x, int32_t f, sn_tensor *y);
    /* the same attention in two passes over token chunks: s[B, G, d+1, d] += [v; 1] · relu(k)ᵀ
     * over the tokens of qkv[B, G, 3d, N] (fp32 sums), then y[B, G, d, N] = (s · relu(q))[:d] /
     * ((s · relu(q))[d] + eps) */
    sana_status (*linear_attention_state)(sn_backend *be, const sn_tensor *qkv, sn_tensor *s);
    sana_status (*linear_attention_apply)(sn_backend *be, const sn_tensor *qkv, const sn_tensor *s,
                                          float eps, sn_tensor *y);

    /* Temporary memory (bytes) the op takes while it runs, exactly as much as it will take from
     * the scratch arena (rounded as sn_arena_round does) plus any it takes elsewhere. Ops that
     * sn_op_id does not name take none on any backend. May prepare what the op will use (a
     * cuDNN plan); allocates no device memory. */
    size_t (*scratch_bytes)(sn_backend *be, const sn_op_shape *s);

    /* --- graphs and memory (issue 8); optional, NULL on the CPU; used through sn_graph_run and
     * sn_backend_memory below, never directly --- */
    /* begin: capture the ops that follow into *g (a new graph when *g is NULL or holds none), or,
     * when *g holds a captured graph, a host-only dry run that checks the calls against it and
     * stages their uploads. end: finishes either; *launchable says whether *g can be launched
     * (0 after a failed run, or a dry run that differed from the capture: the graph is dropped
     * and the next begin captures again). */
    sana_status (*graph_begin)(sn_backend *be, struct sn_graph **g);
    sana_status (*graph_end)(sn_backend *be, struct sn_graph *g, sana_status run_status,
                             int *launchable);
    sana_status (*graph_launch)(sn_backend *be, struct sn_graph *g);
    void (*graph_free)(sn_backend *be, struct sn_graph *g);
    /* device bytes this backend holds now and at most since creation */
    sana_status (*memory)(sn_backend *be, size_t *in_use, size_t *peak);
} sn_ops;

struct sn_backend {
    const sn_ops *ops;
    sn_dtype act_dtype;    /* dtype of activations this backend computes in */
    sn_dtype weight_dtype; /* dtype weights are uploaded in */
    int32_t host_weights;  /* 1: its linear() reads a weight matrix where it lies in host memory,
                            * in F32, F16 or BF16: loaders may hand it views of the mapped file */
    int32_t n_threads;
    sn_arena scratch;      /* per-forward scratch; see sn_scratch_* */
    size_t scratch_keep;   /* bytes of scratch kept between API calls (sn_arena_trim) */
    void *impl;            /* backend-private state */
    /* how it was made, so that a sibling can be made alike (sn_backend_sibling) */
    sana_backend kind;
    int32_t device;
    sana_precision precision;
};

/* Backends. sn_backend_cuda_create returns SANA_ERR_UNSUPPORTED when built without CUDA. */
sana_status sn_backend_cpu_create(int32_t n_threads, sn_backend **out);
sana_status sn_backend_cuda_create(int32_t device, sana_precision precision, sn_backend **out);
void sn_backend_free(sn_backend *be);
/* A new backend of the same kind, device, threads and precision as `be`. A loaded model owns
 * one for its weights, so it outlives the context that loaded it. */
sana_status sn_backend_sibling(const sn_backend *be, sn_backend **out);

/* The backend a forward pass computes on. A model is read-only and shared by contexts running
 * in parallel, so its forwards must not use the scratch of the backend that holds its weights:
 * the API layer binds the calling context's backend for the duration of a public call, and
 * sn_backend_for_call(own) returns it when it computes like `own` (same ops and dtypes), else
 * `own` (tests and tools that call a module directly). */
/* Binds `be` (NULL: none) for this thread and returns the previous binding. */
sn_backend *sn_backend_bind_call(sn_backend *be);
sn_backend *sn_backend_for_call(sn_backend *own);

/* --- tensors -------------------------------------------------------------------------------- */

/* Allocates a tensor on `be` (persistent: freed by sn_tensor_free). */
sana_status sn_tensor_alloc(sn_backend *be, sn_dtype dtype, int32_t ndim, const int64_t *shape,
                            sn_tensor *out);
/* Allocates from the backend's scratch arena (freed by sn_scratch_reset). */
sana_status sn_tensor_scratch(sn_backend *be, sn_dtype dtype, int32_t ndim, const int64_t *shape,
                              sn_tensor *out);
void sn_tensor_free(sn_tensor *t);
/* A view with another shape over the same data (same numel; checked). */
sana_status sn_tensor_reshape(const sn_tensor *t, int32_t ndim, const int64_t *shape,
                              sn_tensor *out);

static inline sn_arena_mark sn_scratch_mark(sn_backend *be) { return sn_arena_mark_now(&be->scratch); }
static inline void sn_scratch_reset(sn_backend *be, sn_arena_mark m) {
    sn_arena_reset_to(&be->scratch, m);
}

/* Shape helpers for the common cases: SN_SHAPE(2, 3) -> (const int64_t[]){2, 3} */
#define SN_SHAPE(...) ((const int64_t[]){__VA_ARGS__})
#define SN_NDIM(...) ((int32_t)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))

/* --- op wrappers (validate shapes, then dispatch) ------------------------------------------- */

sana_status sn_upload_convert(sn_tensor *dst, sn_dtype src_type, const void *src_host);
sana_status sn_download_f32(const sn_tensor *src, float *dst_host); /* numel floats */
sana_status sn_copy(sn_tensor *dst, const sn_tensor *src);
sana_status sn_fill(sn_tensor *dst, float value);
sana_status sn_linear(const sn_tensor *x, const sn_tensor *w, const sn_tensor *b, sn_act act,
                      sn_tensor *y);
sana_status sn_matmul(const sn_tensor *a, const sn_tensor *b, int32_t trans_b, float alpha,
                      sn_tensor *y);
sana_status sn_conv2d(const sn_tensor *x, const sn_tensor *w, const sn_tensor *b, int32_t stride,
                      int32_t pad, int32_t groups, sn_tensor *y);
sana_status sn_unary(sn_act act, const sn_tensor *x, sn_tensor *y);
sana_status sn_binary(sn_binop op, const sn_tensor *a, const sn_tensor *b, sn_tensor *y);
sana_status sn_scale(const sn_tensor *x, float alpha, float beta, sn_tensor *y);
sana_status sn_permute(const sn_tensor *x, const int32_t *perm, sn_tensor *y);
sana_status sn_layer_norm(const sn_tensor *x, const sn_tensor *w, const sn_tensor *b,
                          const sn_tensor *shift, const sn_tensor *scale, float eps, sn_tensor *y);
sana_status sn_rms_norm(const sn_tensor *x, const sn_tensor *w, const sn_tensor *b, float w_offset,
                        float eps, sn_tensor *y);
sana_status sn_attention(const sn_tensor *q, const sn_tensor *k, const sn_tensor *v,
                         const sn_attn_params *p, sn_tensor *y);

/* --- text encoder ops (issue 4) --- */
sana_status sn_rope(const sn_tensor *x, float theta, int64_t pos0, sn_tensor *y);

/* --- DiT ops (issue 5); see the table above ---------------------------------------------------- */
sana_status sn_linear_attention(const sn_tensor *q, const sn_tensor *k, const sn_tensor *v,
                                int32_t heads, float eps, sn_tensor *y);
sana_status sn_dwconv2d_nhwc(const sn_tensor *x, const sn_tensor *w, const sn_tensor *b,
                             int32_t pad, sn_tensor *y);
sana_status sn_glu(const sn_tensor *x, sn_act act, sn_tensor *y);
sana_status sn_gated_add(sn_tensor *x, const sn_tensor *y, const sn_tensor *gate);
/* --- end DiT ops ----------------------------------------------------------------------------- */

/* --- DC-AE ops (issue 6); wrappers in backend/ops_dcae.c --- */
sana_status sn_conv2d_band(const sn_tensor *x, int64_t x_row0, int64_t h_full, const sn_tensor *w,
                           const sn_tensor *b, int32_t up, int32_t stride, int32_t pad,
                           sn_tensor *y, int64_t y_row0);
sana_status sn_channel_norm(const sn_tensor *x, const sn_tensor *w, const sn_tensor *b, float eps,
                            sn_act act, sn_tensor *y);
sana_status sn_linear_attention_relu(const sn_tensor *qkv, float eps, sn_tensor *y);
sana_status sn_shortcut_dup(const sn_tensor *x, int64_t x_row0, int32_t f, sn_tensor *y,
                            int64_t y_row0);
sana_status sn_shortcut_avg(const sn_tensor *x, int32_t f, sn_tensor *y);
sana_status sn_linear_attention_state(const sn_tensor *qkv, sn_tensor *s);
sana_status sn_linear_attention_apply(const sn_tensor *qkv, const sn_tensor *s, float eps,
                                      sn_tensor *y);
/* 1 when `be` has linear_attention_state/apply (else only the one-shot linear_attention_relu). */
int sn_has_linear_attention_chunks(const sn_backend *be);
/* Bytes of temporary memory (arena scratch included) the described op takes on `be` while it
 * runs: what a planner that must count every byte adds (the DC-AE budgeted decode). 0 for ops
 * that take none. */
size_t sn_op_scratch_bytes(sn_backend *be, const sn_op_shape *s);

/* --- graphs and device memory (issue 8); wrappers in backend/backend_graph.c ------------------
 * sn_graph_run(be, &graph, fn, user) runs fn(user), a sequence of ops on `be`, as one replayable
 * graph where the backend has graphs (CUDA), else simply calls fn(user). The first call captures
 * fn's ops into *graph (allocating it) and launches it. Every later call runs fn again on the host
 * as a dry run: the ops launch nothing, their arguments (data pointers, shapes, scalars) are
 * checked against the capture and their uploads (timestep sinusoids...) are staged; then the
 * graph is launched with the new upload contents. A call that differs from the capture (other
 * tensors, shapes or scalars; a different scratch position) is captured again, so replay never
 * computes something else than fn would. Rules for fn: ops and uploads only (no download, no
 * synchronize, no persistent allocation); host values that change between calls must reach the
 * device through uploads, not through op scalars (those force a recapture); the same scratch
 * mark at every call (give the scratch back before returning, start from the same position).
 * Launches are asynchronous: download or sn_backend_sync to see results. Free with
 * sn_graph_free before the tensors it uses and before the backend. */
typedef struct sn_graph sn_graph;
typedef sana_status (*sn_graph_fn)(void *user);
sana_status sn_graph_run(sn_backend *be, sn_graph **graph, sn_graph_fn fn, void *user);
void sn_graph_free(sn_backend *be, sn_graph *graph);
/* waits for every op queued on `be` */
sana_status sn_backend_sync(sn_backend *be);
/* device memory held by the backend now and at its peak (weights, scratch chunks, workspaces);
 * SANA_ERR_UNSUPPORTED on backends that do not count it (CPU) */
sana_status sn_backend_memory(sn_backend *be, size_t *in_use, size_t *peak);

#endif
