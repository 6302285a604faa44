/* Every GEMM of the CUDA backend, through cuBLASLt: bf16/fp16 (or fp32) operands, fp32
 * accumulation (CUBLAS_COMPUTE_32F: exact fp32 in the fp32 mode, no TF32), the bias and the
 * ReLU / GELU-tanh activations fused as epilogues. A plan (descriptors + heuristic's algorithm)
 * is built once per shape and kept, so steady-state calls only set the data pointers; the
 * workspace is preallocated, so a GEMM never allocates and can be captured into a graph.
 *
 * Row-major Y[M, N] = A[M, K] · op(B) is the column-major Yᵀ[N, M] = op(B)ᵀ · Aᵀ: cuBLASLt's A is
 * our B, its B our A, and its bias (one value per row of its D) is our per-column bias. */
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda_internal.h"
#include "kernels/kernels.h"

#define SN_MAX_PLANS 256

typedef struct sn_gemm_key {
    int trans_b, epilogue, fixed_algo;
    int64_t M, N, K, batch, lda, ldb, ldy, stride_a, stride_b, stride_y;
    sn_dtype ab_type, y_type, bias_type;
    uint32_t align_a, align_b, align_y; /* bytes every address of the operand is a multiple of */
    uint32_t align_bias;                /* the same for the fused bias (0: none) */
} sn_gemm_key;

struct sn_gemm_plan {
    sn_gemm_key key;
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t la, lb, ld;
    cublasLtMatmulAlgo_t algo;
    int ok; /* 0: no algorithm for the fused epilogue; use the plain plan + a kernel */
};

static cudaDataType_t sn_lt_type(sn_dtype t) {
    return t == SN_F32 ? CUDA_R_32F : t == SN_F16 ? CUDA_R_16F : CUDA_R_16BF;
}

static void sn_plan_destroy(sn_gemm_plan *p) {
    if (p->op) cublasLtMatmulDescDestroy(p->op);
    if (p->la) cublasLtMatrixLayoutDestroy(p->la);
    if (p->lb) cublasLtMatrixLayoutDestroy(p->lb);
    if (p->ld) cublasLtMatrixLayoutDestroy(p->ld);
    memset(p, 0, sizeof *p);
}

void sn_cuda_gemm_release(sn_cuda *c) {
    for (int i = 0; i < c->n_plans; i++) sn_plan_destroy(&c->plans[i]);
    free(c->plans);
    c->plans = NULL;
    c->n_plans = 0;
}

static sana_status sn_layout(cublasLtMatrixLayout_t *l, sn_dtype t, int64_t rows, int64_t cols, int64_t ld,
                             int64_t batch, int64_t stride) {
    SN_TRY(sn_cuda_lt_check(cublasLtMatrixLayoutCreate(l, sn_lt_type(t), (uint64_t)rows, (uint64_t)cols, ld),
                            "layout"));
    if (batch > 1) {
        int32_t bc = (int32_t)batch;
        SN_TRY(sn_cuda_lt_check(
            cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &bc, sizeof bc), "batch"));
        SN_TRY(sn_cuda_lt_check(cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
                                                                 &stride, sizeof stride),
                                "batch stride"));
    }
    return SANA_OK;
}

/* Layouts of the column-major problem for `batch` entries (see the top comment). */
static sana_status sn_plan_layouts(sn_gemm_plan *p, int64_t batch) {
    const sn_gemm_key *k = &p->key;
    /* cuBLASLt A = our B: stored [K rows, N cols] (trans_b, op T) or [N rows, K cols] (op N) */
    SN_TRY(sn_layout(&p->la, k->ab_type, k->trans_b ? k->K : k->N, k->trans_b ? k->N : k->K, k->ldb, batch,
                     k->stride_b));
    SN_TRY(sn_layout(&p->lb, k->ab_type, k->K, k->M, k->lda, batch, k->stride_a)); /* our A */
    return sn_layout(&p->ld, k->y_type, k->N, k->M, k->ldy, batch, k->stride_y);
}

/* The heuristic assumes 256-byte aligned operands unless told otherwise; an algorithm chosen
 * under that assumption may fail (or fault on a misaligned vector access) on a view into the
 * middle of a tensor or on a batch stride like Wo * 2 bytes. So it is told the real alignment
 * (cuBLASLt's A is our b, its B our a). */
static int sn_heuristic(sn_cuda *c, sn_gemm_plan *p, cublasLtMatmulAlgo_t *algo) {
    cublasLtMatmulPreference_t pref;
    if (cublasLtMatmulPreferenceCreate(&pref) != CUBLAS_STATUS_SUCCESS) return 0;
    uint64_t ws = c->lt_workspace_bytes;
    const sn_gemm_key *k = &p->key;
    int ok = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws) ==
                 CUBLAS_STATUS_SUCCESS &&
             cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &k->align_b,
                                                  sizeof k->align_b) == CUBLAS_STATUS_SUCCESS &&
             cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &k->align_a,
                                                  sizeof k->align_a) == CUBLAS_STATUS_SUCCESS &&
             cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &k->align_y,
                                                  sizeof k->align_y) == CUBLAS_STATUS_SUCCESS &&
             cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &k->align_y,
                                                  sizeof k->align_y) == CUBLAS_STATUS_SUCCESS;
    cublasLtMatmulHeuristicResult_t r;
    int found = 0;
    cublasStatus_t e = ok ? cublasLtMatmulAlgoGetHeuristic(c->lt, p->op, p->la, p->lb, p->ld, p->ld, pref, 1, &r, &found)
                          : CUBLAS_STATUS_NOT_SUPPORTED;
    cublasLtMatmulPreferenceDestroy(pref);
    if (e != CUBLAS_STATUS_SUCCESS || found < 1) return 0;
    *algo = r.algo;
    return 1;
}

/* bias: the fused bias of the call the plan is built for. cuBLASLt's heuristic reads the
 * descriptor's bias pointer (without dereferencing it) to learn the bias alignment it may
 * assume (cublasLt.h, CUBLASLT_MATMUL_DESC_BIAS_POINTER), so it is set before the heuristic runs;
 * the alignment is part of the plan key, so later calls of the plan have a bias aligned alike. */
static sana_status sn_plan_build(sn_cuda *c, sn_gemm_plan *p, const void *bias) {
    const sn_gemm_key *k = &p->key;
    SN_TRY(sn_cuda_lt_check(cublasLtMatmulDescCreate(&p->op, CUBLAS_COMPUTE_32F, CUDA_R_32F), "matmul desc"));
    cublasOperation_t ta = k->trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, tb = CUBLAS_OP_N;
    SN_TRY(sn_cuda_lt_check(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta), "transa"));
    SN_TRY(sn_cuda_lt_check(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb), "transb"));
    cublasLtEpilogue_t ep = (cublasLtEpilogue_t)k->epilogue;
    SN_TRY(sn_cuda_lt_check(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &ep, sizeof ep),
                            "epilogue"));
    if (k->epilogue & CUBLASLT_EPILOGUE_BIAS) {
        cudaDataType_t bt = sn_lt_type(k->bias_type);
        SN_TRY(sn_cuda_lt_check(
            cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof bt), "bias type"));
        SN_TRY(sn_cuda_lt_check(
            cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias),
            "bias pointer"));
    }
    if (k->fixed_algo && k->batch > 1) {
        /* the algorithm of the batch-1 problem, then the real batch count, if that algorithm takes it */
        SN_TRY(sn_plan_layouts(p, 1));
        int have = sn_heuristic(c, p, &p->algo);
        cublasLtMatrixLayoutDestroy(p->la);
        cublasLtMatrixLayoutDestroy(p->lb);
        cublasLtMatrixLayoutDestroy(p->ld);
        p->la = p->lb = p->ld = NULL;
        SN_TRY(sn_plan_layouts(p, k->batch));
        cublasLtMatmulHeuristicResult_t r;
        if (have && cublasLtMatmulAlgoCheck(c->lt, p->op, p->la, p->lb, p->ld, p->ld, &p->algo, &r) ==
                        CUBLAS_STATUS_SUCCESS &&
            r.workspaceSize <= c->lt_workspace_bytes) {
            p->ok = 1;
            return SANA_OK;
        }
    } else {
        SN_TRY(sn_plan_layouts(p, k->batch));
    }
    p->ok = sn_heuristic(c, p, &p->algo);
    return SANA_OK;
}

static sana_status sn_plan_get(sn_cuda *c, const sn_gemm_key *key, const void *bias, sn_gemm_plan **out) {
    for (int i = 0; i < c->n_plans; i++)
        if (!memcmp(&c->plans[i].key, key, sizeof *key)) {
            *out = &c->plans[i];
            return SANA_OK;
        }
    if (!c->plans) {
        c->plans = calloc(SN_MAX_PLANS, sizeof *c->plans);
        if (!c->plans) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "cuda: GEMM plan cache");
    }
    sn_gemm_plan *p;
    if (c->n_plans < SN_MAX_PLANS) {
        p = &c->plans[c->n_plans++];
    } else { /* full: replace in turn */
        p = &c->plans[c->next_plan];
        c->next_plan = (c->next_plan + 1) % SN_MAX_PLANS;
        sn_plan_destroy(p);
    }
    p->key = *key;
    sana_status st = sn_plan_build(c, p, bias);
    if (st != SANA_OK) {
        sn_plan_destroy(p);
        p->key = *key; /* an empty plan with ok = 0: the caller falls back */
    }
    *out = p;
    return st;
}

/* The largest power of two up to 256 that divides the operand's base address and, when its batch
 * entries are separate matrices (or the algorithm must be the same as for several), its batch
 * stride in bytes. */
static uint32_t sn_align_of(const void *p, int64_t stride, sn_dtype t, int batched) {
    uintptr_t v = (uintptr_t)p | 256u;
    if (batched) v |= (uintptr_t)((uint64_t)stride * sn_dtype_size(t));
    return (uint32_t)(v & (~v + 1));
}

static int sn_epilogue_of(const sn_gemm_args *g) {
    int bias = g->bias != NULL;
    switch (g->act) {
    case SN_ACT_NONE: return bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
    case SN_ACT_RELU: return bias ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_RELU;
    case SN_ACT_GELU_TANH: return bias ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_GELU; /* tanh form */
    default: return -1; /* SiLU and erf-GELU are not epilogues */
    }
}

static sana_status sn_run_plan(sn_backend *be, sn_gemm_plan *p, const sn_gemm_args *g, const char *what) {
    sn_cuda *c = sn_cuda_of(be);
    if (p->key.epilogue & CUBLASLT_EPILOGUE_BIAS)
        SN_TRY(sn_cuda_lt_check(
            cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &g->bias, sizeof g->bias),
            "bias pointer"));
    float beta = 0.0f;
    return sn_cuda_lt_check(cublasLtMatmul(c->lt, p->op, &g->alpha, g->b, p->la, g->a, p->lb, &beta, g->y, p->ld,
                                           g->y, p->ld, &p->algo, c->lt_workspace, c->lt_workspace_bytes,
                                           c->stream),
                            what);
}

sana_status sn_cuda_gemm(sn_backend *be, const sn_gemm_args *g) {
    sn_cuda *c = sn_cuda_of(be);
    if (g->M == 0 || g->N == 0 || g->batch == 0) return SANA_OK;
    sn_gemm_key key;
    memset(&key, 0, sizeof key); /* keys are compared bytewise: no stray padding */
    key.trans_b = g->trans_b;
    key.fixed_algo = g->fixed_algo;
    key.M = g->M, key.N = g->N, key.K = g->K, key.batch = g->batch;
    key.lda = g->lda, key.ldb = g->ldb, key.ldy = g->ldy;
    key.stride_a = g->stride_a, key.stride_b = g->stride_b, key.stride_y = g->stride_y;
    key.ab_type = g->ab_type, key.y_type = g->y_type;
    int batched = g->batch > 1 || g->fixed_algo; /* fixed_algo: batch 1 must align like the batched call */
    key.align_a = sn_align_of(g->a, g->stride_a, g->ab_type, batched);
    key.align_b = sn_align_of(g->b, g->stride_b, g->ab_type, batched);
    key.align_y = sn_align_of(g->y, g->stride_y, g->y_type, batched);

    /* fused epilogue when cuBLASLt has it: the bias must have the output's dtype (cublasLt.h,
     * CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE: other types only for fp8 / int8 kernels) and be
     * 16-byte aligned (vector loads in the epilogue); otherwise the extra kernel adds it */
    int ep = sn_epilogue_of(g);
    /* cuBLASLt does not document the accuracy of its GELU epilogue's tanh; an approximate one
     * (~1e-3 relative) is below bf16's resolution but outside the fp32 mode's 1e-4 of the CPU.
     * The fp32 mode (a check, not a fast path) takes the kernel's tanhf instead. */
    if (g->act == SN_ACT_GELU_TANH && g->y_type == SN_F32 && g->ab_type == SN_F32) ep = -1;
    int bias_ok = !g->bias || (g->bias_type == g->y_type && (uintptr_t)g->bias % 16 == 0);
    if (ep >= 0 && bias_ok && (g->bias || g->act != SN_ACT_NONE)) {
        key.epilogue = ep;
        key.bias_type = g->bias ? g->bias_type : g->y_type;
        key.align_bias = g->bias ? sn_align_of(g->bias, 0, g->bias_type, 0) : 0;
        sn_gemm_plan *p;
        if (sn_plan_get(c, &key, g->bias, &p) == SANA_OK && p->ok)
            return sn_run_plan(be, p, g, "gemm (fused epilogue)");
        sn_error_clear();
    }
    /* plain GEMM, then bias / activation in one elementwise pass */
    key.epilogue = CUBLASLT_EPILOGUE_DEFAULT;
    key.bias_type = g->y_type;
    key.align_bias = 0;
    sn_gemm_plan *p;
    SN_TRY(sn_plan_get(c, &key, NULL, &p));
    if (!p->ok)
        return sn_fail(SANA_ERR_BACKEND,
                       "cublasLt: no algorithm for a %lldx%lldx%lld GEMM (batch %lld; operands aligned to %u/%u/%u "
                       "bytes)",
                       (long long)g->M, (long long)g->N, (long long)g->K, (long long)g->batch, key.align_a,
                       key.align_b, key.align_y);
    SN_TRY(sn_run_plan(be, p, g, "gemm"));
    if (!g->bias && g->act == SN_ACT_NONE) return SANA_OK;
    if (g->ldy != g->N || (g->batch > 1 && g->stride_y != g->M * g->N))
        return sn_fail(SANA_ERR_INTERNAL, "cuda gemm: unfused epilogue needs a dense output");
    return sn_cuda_check(sn_k_bias_act(g->y, g->y_type, g->bias, g->bias_type, g->batch * g->M, g->N, g->act,
                                       c->stream),
                         "bias/activation");
}
