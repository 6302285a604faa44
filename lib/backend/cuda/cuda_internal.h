/* Private state and helpers shared by the CUDA backend's host files: cuda_backend.c (device,
 * memory, the ops table), cuda_gemm.c (cuBLASLt), cuda_dnn.c (cuDNN convolutions),
 * cuda_ops_model.c (DiT / DC-AE / text encoder ops), cuda_graph.c (capture and replay). */
#ifndef SN_CUDA_INTERNAL_H
#define SN_CUDA_INTERNAL_H

#include <cublasLt.h>
#include <cuda_runtime.h>

#include "backend/backend.h"

typedef struct sn_gemm_plan sn_gemm_plan;
typedef struct sn_cuda_dnn sn_cuda_dnn;
typedef struct sn_cuda_upload_rec sn_cuda_upload_rec;

/* What the stream is doing: running ops, capturing them into a graph, or a host-only dry run
 * that checks a later call against the captured one and stages its uploads (cuda_graph.c). */
typedef enum sn_cuda_mode { SN_CUDA_RUN = 0, SN_CUDA_CAPTURE, SN_CUDA_RECORD } sn_cuda_mode;

typedef struct sn_cuda_alloc_rec {
    void *ptr;
    size_t bytes;
} sn_cuda_alloc_rec;

typedef struct sn_cuda {
    int device;
    cudaStream_t stream;
    cublasLtHandle_t lt;
    void *lt_workspace; /* preallocated: no allocation inside a GEMM, graph capture allowed */
    size_t lt_workspace_bytes;
    sn_gemm_plan *plans; /* cache of GEMM descriptors + chosen algorithm, by shape */
    int n_plans, next_plan;
    sn_cuda_dnn *dnn; /* cuDNN handle and convolution plans; NULL: convolutions as im2col + GEMM */

    /* pinned upload ring (cuda_backend.c): small uploads never wait for the device */
    void *staging;
    cudaEvent_t stage_ev[2];
    int stage_half;
    size_t stage_off;

    /* device memory bookkeeping (sn_backend_memory) */
    sn_cuda_alloc_rec *allocs;
    size_t n_allocs, cap_allocs, in_use, peak;

    /* graphs */
    sn_cuda_mode mode;
    struct sn_graph *graph; /* the graph being captured or recorded */
    const sn_ops *run_ops;  /* the ordinary table (restored after a dry run) */
} sn_cuda;

static inline sn_cuda *sn_cuda_of(sn_backend *be) { return (sn_cuda *)be->impl; }

sana_status sn_cuda_check(int e, const char *what);
sana_status sn_cuda_lt_check(cublasStatus_t e, const char *what);

/* Row-major Y[M, N] (+)= alpha · A[M, K] · op(B), op(B) = B[K, N], or B[N, K]ᵀ when trans_b,
 * `batch` times with the given element strides; leading dims in elements. Epilogue: + bias[N]
 * then act, fused into cuBLASLt where it has it (bias, ReLU, GELU-tanh), else one extra kernel.
 * fixed_algo: choose the algorithm as for batch 1, so that each batch entry's arithmetic does not
 * depend on the batch count (the banded DC-AE convolution relies on it). */
typedef struct sn_gemm_args {
    int trans_b;
    int64_t M, N, K, batch;
    const void *a, *b;
    void *y;
    int64_t lda, ldb, ldy, stride_a, stride_b, stride_y;
    sn_dtype ab_type, y_type;
    float alpha;
    const void *bias; /* [N] or NULL */
    sn_dtype bias_type;
    sn_act act;
    int fixed_algo;
} sn_gemm_args;

sana_status sn_cuda_gemm(sn_backend *be, const sn_gemm_args *g);
void sn_cuda_gemm_release(sn_cuda *c);

/* cuDNN convolutions (cuda_dnn.c). init: sets c->dnn when cuDNN is loaded and SANA_CUDA_CONV
 * does not say gemm (a missing or unusable cuDNN is not an error). The convolutions return with
 * *done = 0, having done nothing, when cuDNN is off or has no algorithm for the shape or dtypes:
 * the caller then runs its im2col + GEMM path. They share the cuBLASLt workspace. */
sana_status sn_cuda_dnn_init(sn_backend *be);
void sn_cuda_dnn_release(sn_cuda *c);
sana_status sn_cuda_dnn_conv2d(sn_backend *be, const sn_tensor *x, const sn_tensor *w, const sn_tensor *b,
                               const sn_conv_params *p, sn_tensor *y, int *done);
sana_status sn_cuda_dnn_conv2d_band(sn_backend *be, const sn_tensor *x, int64_t x_row0, int64_t h_full,
                                    const sn_tensor *w, const sn_tensor *b, int32_t up, int32_t stride, int32_t pad,
                                    sn_tensor *y, int64_t y_row0, int *done);
/* What conv2d / conv2d_band (s->op) take from the arena on the cuDNN path (*dnn = 1; the plan is
 * made now, as the op would), or *dnn = 0: the call takes the GEMM path (cuda_ops_model.c
 * counts that). */
sana_status sn_cuda_dnn_scratch(sn_backend *be, const sn_op_shape *s, size_t *bytes, int *dnn);

/* device memory that counts in sn_backend_memory */
void *sn_cuda_alloc(sn_backend *be, size_t bytes);
void sn_cuda_free(sn_backend *be, void *ptr);

/* graphs (cuda_graph.c) */
sana_status sn_cuda_graph_begin(sn_backend *be, sn_graph **g);
sana_status sn_cuda_graph_end(sn_backend *be, sn_graph *g, sana_status run_status, int *launchable);
sana_status sn_cuda_graph_launch(sn_backend *be, sn_graph *g);
void sn_cuda_graph_free(sn_backend *be, sn_graph *g);
/* upload while capturing: staged through the graph's own buffers (no sync, no host pointer kept) */
sana_status sn_cuda_graph_upload(sn_backend *be, void *dst, sn_dtype dst_type, sn_dtype src_type,
                                 const void *src_host, int64_t n);

/* model ops (cuda_ops_model.c) */
sana_status sn_cuda_rope(sn_backend *be, const sn_tensor *x, float theta, int64_t pos0, sn_tensor *y);
sana_status sn_cuda_linear_attention(sn_backend *be, const sn_tensor *q, const sn_tensor *k,
                                     const sn_tensor *v, int32_t heads, float eps, sn_tensor *y);
sana_status sn_cuda_dwconv2d_nhwc(sn_backend *be, const sn_tensor *x, const sn_tensor *w,
                                  const sn_tensor *b, int32_t pad, sn_tensor *y);
sana_status sn_cuda_glu(sn_backend *be, const sn_tensor *x, sn_act act, sn_tensor *y);
sana_status sn_cuda_gated_add(sn_backend *be, sn_tensor *x, const sn_tensor *y, const sn_tensor *gate);
size_t sn_cuda_scratch_bytes(sn_backend *be, const sn_op_shape *s);
sana_status sn_cuda_conv2d_band(sn_backend *be, const sn_tensor *x, int64_t x_row0, int64_t h_full,
                                const sn_tensor *w, const sn_tensor *b, int32_t up, int32_t stride,
                                int32_t pad, sn_tensor *y, int64_t y_row0);
sana_status sn_cuda_channel_norm(sn_backend *be, const sn_tensor *x, const sn_tensor *w,
                                 const sn_tensor *b, float eps, sn_act act, sn_tensor *y);
sana_status sn_cuda_linear_attention_relu(sn_backend *be, const sn_tensor *qkv, float eps, sn_tensor *y);
sana_status sn_cuda_shortcut_dup(sn_backend *be, const sn_tensor *x, int64_t x_row0, int32_t f,
                                 sn_tensor *y, int64_t y_row0);
sana_status sn_cuda_shortcut_avg(sn_backend *be, const sn_tensor *x, int32_t f, sn_tensor *y);
sana_status sn_cuda_linear_attention_state(sn_backend *be, const sn_tensor *qkv, sn_tensor *s);
sana_status sn_cuda_linear_attention_apply(sn_backend *be, const sn_tensor *qkv, const sn_tensor *s, float eps,
                                           sn_tensor *y);

#endif
