// A fake cuBLASLt on the CPU for the emulated CUDA backend: the entry points cuda_gemm.c uses,
// computing D = epilogue(alpha · op(A) · op(B) + beta · C) column-major as cuBLASLt documents it,
// accumulated in double, through the fake runtime's streams (so matmuls are captured into graphs
// and replayed with the pointers they were given).
//
// What the real library would reject aborts here with a message (our code has a bug), except
// what it reports as a status the backend is meant to handle: a type combination or epilogue
// cuBLASLt has no kernel for gives CUBLAS_STATUS_NOT_SUPPORTED from the heuristic.
//
// Alignment, a bug class we had: the heuristic returns an algorithm for the alignments the
// preference promised (CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_*_BYTES, default 256) and for the bias
// pointer the descriptor held then (NULL: 256, as "aligned to everything"). A matmul whose A, B,
// C, D (each batch entry's) or bias address is not a multiple of what its algorithm was chosen
// for aborts, as such a kernel may fault or misread on a GPU.
#include <cublasLt.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "cuemu_runtime.h"

namespace {

const uint64_t DESC_MAGIC = 0x637565756d4d4d44ull, LAYOUT_MAGIC = 0x637565756d4c4159ull,
               PREF_MAGIC = 0x637565756d505246ull, ALGO_MAGIC = 0x637565756d414c47ull,
               HANDLE_MAGIC = 0x637565756d484e44ull, DEAD = 0xdeaddeaddeaddeadull;

struct Desc {
    uint64_t magic = DESC_MAGIC;
    cublasComputeType_t compute;
    cudaDataType_t scale;
    int32_t transa = CUBLAS_OP_N, transb = CUBLAS_OP_N, transc = CUBLAS_OP_N, pointer_mode = 0;
    uint32_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;
    const void *bias = nullptr;
    int32_t bias_type = -1;
    int64_t bias_batch_stride = 0;
};

struct Layout {
    uint64_t magic = LAYOUT_MAGIC;
    uint32_t type;
    int32_t order = CUBLASLT_ORDER_COL;
    uint64_t rows, cols;
    int64_t ld;
    int32_t batch = 1;
    int64_t stride = 0;
};

struct Pref {
    uint64_t magic = PREF_MAGIC;
    uint64_t max_workspace = 0;
    uint32_t align[4] = {256, 256, 256, 256};  // A, B, C, D
};

struct Handle {
    uint64_t magic = HANDLE_MAGIC;
};

// What an algorithm was chosen for (packed into cublasLtMatmulAlgo_t's 8 words).
struct Algo {
    uint64_t magic;
    uint32_t align[4], bias_align;
    uint32_t epilogue;
    uint32_t types;  // A | C << 8 | bias << 16
    uint32_t pad;
    uint64_t workspace;
};
static_assert(sizeof(Algo) <= sizeof(cublasLtMatmulAlgo_t), "algo does not fit");

Desc *desc_of(cublasLtMatmulDesc_t d, const char *call) {
    Desc *x = reinterpret_cast<Desc *>(d);
    if (!x || x->magic != DESC_MAGIC) cuemu::fatal("%s: not a live matmul descriptor (%p)", call, (void *)d);
    return x;
}

Layout *layout_of(cublasLtMatrixLayout_t l, const char *call) {
    Layout *x = reinterpret_cast<Layout *>(l);
    if (!x || x->magic != LAYOUT_MAGIC) cuemu::fatal("%s: not a live matrix layout (%p)", call, (void *)l);
    return x;
}

Pref *pref_of(cublasLtMatmulPreference_t p, const char *call) {
    Pref *x = reinterpret_cast<Pref *>(p);
    if (!x || x->magic != PREF_MAGIC) cuemu::fatal("%s: not a live preference (%p)", call, (void *)p);
    return x;
}

void handle_check(cublasLtHandle_t h, const char *call) {
    Handle *x = reinterpret_cast<Handle *>(h);
    if (!x || x->magic != HANDLE_MAGIC) cuemu::fatal("%s: not a live cuBLASLt handle (%p)", call, (void *)h);
}

size_t type_size(uint32_t t) {
    switch (t) {
    case CUDA_R_32F: return 4;
    case CUDA_R_16F: return 2;
    case CUDA_R_16BF: return 2;
    default: return 0;
    }
}

const char *type_name(uint32_t t) {
    switch (t) {
    case CUDA_R_32F: return "CUDA_R_32F";
    case CUDA_R_16F: return "CUDA_R_16F";
    case CUDA_R_16BF: return "CUDA_R_16BF";
    default: return "a type the fake does not know";
    }
}

// --- float conversions (round to nearest even, as the GPU's stores) --------------------------------

float bf16_to_float(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t float_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);  // NaN stays NaN
    u += 0x7fffu + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

float f16_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, u;
    if (exp == 0x1f) u = sign | 0x7f800000u | (man << 13);
    else if (exp == 0) {
        if (man == 0) u = sign;
        else {
            float f = std::ldexp((float)man, -24);
            return sign ? -f : f;
        }
    } else u = sign | ((exp + 112) << 23) | (man << 13);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t float_to_f16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    float a = std::fabs(f);
    if (std::isnan(f)) return (uint16_t)(sign | 0x7e00);
    if (a >= 65520.0f) return (uint16_t)(sign | 0x7c00);  // rounds to infinity
    if (a < 6.103515625e-05f) {                          // subnormal: multiples of 2^-24
        float q = std::nearbyint(a * 16777216.0f);        // ties to even in the default mode
        return (uint16_t)(sign | (uint16_t)q);
    }
    uint32_t e = ((u >> 23) & 0xff) - 112, m = u & 0x7fffff;
    uint32_t h = (e << 10) | (m >> 13), rest = m & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

float load(const void *p, uint32_t t, int64_t i) {
    switch (t) {
    case CUDA_R_32F: return ((const float *)p)[i];
    case CUDA_R_16F: return f16_to_float(((const uint16_t *)p)[i]);
    default: return bf16_to_float(((const uint16_t *)p)[i]);
    }
}

void store(void *p, uint32_t t, int64_t i, float v) {
    switch (t) {
    case CUDA_R_32F: ((float *)p)[i] = v; break;
    case CUDA_R_16F: ((uint16_t *)p)[i] = float_to_f16(v); break;
    default: ((uint16_t *)p)[i] = float_to_bf16(v); break;
    }
}

// --- validation -------------------------------------------------------------------------------------

// The problem as the four layouts and the descriptor define it.
struct Problem {
    const Desc *d;
    const Layout *a, *b, *c, *dl;
    int64_t m, n, k;
    uint32_t bias_type;
};

uint32_t epilogue_known(uint32_t e) {
    return e == CUBLASLT_EPILOGUE_DEFAULT || e == CUBLASLT_EPILOGUE_RELU || e == CUBLASLT_EPILOGUE_BIAS ||
           e == CUBLASLT_EPILOGUE_RELU_BIAS || e == CUBLASLT_EPILOGUE_GELU || e == CUBLASLT_EPILOGUE_GELU_BIAS;
}

// Checks what the real library would reject as invalid (aborts: a bug of ours); returns
// CUBLAS_STATUS_NOT_SUPPORTED for combinations cuBLASLt has no kernel for (documented table of
// cublasLtMatmul's supported types, the rows with compute type 32F and scale type 32F).
cublasStatus_t problem_of(cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t A, cublasLtMatrixLayout_t B,
                          cublasLtMatrixLayout_t C, cublasLtMatrixLayout_t D, const char *call, Problem *p) {
    p->d = desc_of(desc, call);
    p->a = layout_of(A, call), p->b = layout_of(B, call), p->c = layout_of(C, call), p->dl = layout_of(D, call);
    const Desc &d = *p->d;
    if (d.compute != CUBLAS_COMPUTE_32F || d.scale != CUDA_R_32F)
        cuemu::fatal("%s: compute type %d / scale type %d: the fake has only CUBLAS_COMPUTE_32F with CUDA_R_32F", call,
                     (int)d.compute, (int)d.scale);
    if (d.pointer_mode != CUBLASLT_POINTER_MODE_HOST) cuemu::fatal("%s: only host alpha / beta are emulated", call);
    if (d.transc != CUBLAS_OP_N) cuemu::fatal("%s: TRANSC must be CUBLAS_OP_N (the only value cuBLASLt supports)", call);
    for (int32_t t : {d.transa, d.transb})
        if (t != CUBLAS_OP_N && t != CUBLAS_OP_T) cuemu::fatal("%s: operation %d is not N or T", call, (int)t);
    const Layout *ls[4] = {p->a, p->b, p->c, p->dl};
    const char *names[4] = {"A", "B", "C", "D"};
    for (int i = 0; i < 4; i++) {
        const Layout &l = *ls[i];
        if (l.order != CUBLASLT_ORDER_COL) cuemu::fatal("%s: %s: only CUBLASLT_ORDER_COL is emulated", call, names[i]);
        if (!type_size(l.type)) cuemu::fatal("%s: %s: data type %u not emulated", call, names[i], l.type);
        if (l.ld < (int64_t)(l.rows ? l.rows : 1))
            cuemu::fatal("%s: %s: leading dimension %lld < rows %llu (cuBLASLt: invalid)", call, names[i],
                         (long long)l.ld, (unsigned long long)l.rows);
        if (l.rows > INT32_MAX || l.cols > INT32_MAX)
            cuemu::fatal("%s: %s: %llux%llu does not fit cuBLASLt's int32 sizes", call, names[i],
                         (unsigned long long)l.rows, (unsigned long long)l.cols);
        if (l.batch < 1) cuemu::fatal("%s: %s: batch count %d", call, names[i], (int)l.batch);
        if (l.batch != p->dl->batch)
            cuemu::fatal("%s: batch counts differ (%s %d, D %d)", call, names[i], (int)l.batch, (int)p->dl->batch);
        if (l.stride < 0) cuemu::fatal("%s: %s: negative batch stride", call, names[i]);
    }
    // op(A) is m x k, op(B) k x n, C and D m x n
    p->m = (int64_t)(d.transa == CUBLAS_OP_N ? p->a->rows : p->a->cols);
    p->k = (int64_t)(d.transa == CUBLAS_OP_N ? p->a->cols : p->a->rows);
    int64_t kb = (int64_t)(d.transb == CUBLAS_OP_N ? p->b->rows : p->b->cols);
    p->n = (int64_t)(d.transb == CUBLAS_OP_N ? p->b->cols : p->b->rows);
    if (kb != p->k || (int64_t)p->dl->rows != p->m || (int64_t)p->dl->cols != p->n || p->c->rows != p->dl->rows ||
        p->c->cols != p->dl->cols)
        cuemu::fatal("%s: shapes do not agree: op(A) %lldx%lld, op(B) %lldx%lld, C %llux%llu, D %llux%llu", call,
                     (long long)p->m, (long long)p->k, (long long)kb, (long long)p->n,
                     (unsigned long long)p->c->rows, (unsigned long long)p->c->cols,
                     (unsigned long long)p->dl->rows, (unsigned long long)p->dl->cols);
    if (!epilogue_known(d.epilogue)) cuemu::fatal("%s: epilogue %u not emulated", call, d.epilogue);
    // supported: A = B in {32F, 16F, 16BF}; C = D = A's type, or 32F for the half types
    uint32_t ab = p->a->type, cd = p->dl->type;
    if (p->b->type != ab || p->c->type != cd) return CUBLAS_STATUS_NOT_SUPPORTED;
    if (!(cd == ab || (cd == CUDA_R_32F && (ab == CUDA_R_16F || ab == CUDA_R_16BF)))) return CUBLAS_STATUS_NOT_SUPPORTED;
    // the bias has D's type (other types only for fp8 / int8 kernels)
    p->bias_type = d.bias_type < 0 ? cd : (uint32_t)d.bias_type;
    if ((d.epilogue & CUBLASLT_EPILOGUE_BIAS) && p->bias_type != cd) return CUBLAS_STATUS_NOT_SUPPORTED;
    return CUBLAS_STATUS_SUCCESS;
}

uint32_t align_of(uintptr_t v) {
    v |= 256;
    return (uint32_t)(v & (~v + 1));
}

uint32_t pack_types(const Problem &p) { return p.a->type | p.dl->type << 8 | p.bias_type << 16; }

// The workspace an algorithm asks for: some, when the preference allows it, so that a matmul
// given less than its algorithm needs is caught.
uint64_t workspace_need(const Problem &p, uint64_t max) {
    uint64_t want = p.k >= 1024 ? (uint64_t)4 << 20 : 0;
    return want <= max ? want : 0;
}

// --- the product ----------------------------------------------------------------------------------

struct Run {
    int64_t m, n, k, batch;
    bool ta, tb;
    const void *a, *b, *c;
    void *d;
    int64_t lda, ldb, ldc, ldd, sa, sb, sc, sd;
    uint32_t ta_type, tc_type, bias_type;
    float alpha, beta;
    uint32_t epilogue;
    const void *bias;
};

// Bytes from the first to one past the last element a layout of this matrix touches.
size_t extent(int64_t rows, int64_t cols, int64_t ld, int64_t batch, int64_t stride, size_t es) {
    if (rows == 0 || cols == 0) return 0;
    return (size_t)((cols - 1) * ld + rows + (batch - 1) * stride) * es;
}

float gelu_tanh(float x) { return 0.5f * x * (1.0f + std::tanh(0.7978845608028654f * (x + 0.044715f * x * x * x))); }

void run(const Run &r) {
    size_t ea = type_size(r.ta_type), ec = type_size(r.tc_type);
    cuemu::check_device(r.a, extent(r.ta ? r.k : r.m, r.ta ? r.m : r.k, r.lda, r.batch, r.sa, ea), "cublasLtMatmul A");
    cuemu::check_device(r.b, extent(r.tb ? r.n : r.k, r.tb ? r.k : r.n, r.ldb, r.batch, r.sb, ea), "cublasLtMatmul B");
    cuemu::check_device(r.d, extent(r.m, r.n, r.ldd, r.batch, r.sd, ec), "cublasLtMatmul D");
    if (r.beta != 0.0f) cuemu::check_device(r.c, extent(r.m, r.n, r.ldc, r.batch, r.sc, ec), "cublasLtMatmul C");
    if (r.bias) cuemu::check_device(r.bias, (size_t)r.m * type_size(r.bias_type), "cublasLtMatmul bias");
    bool relu = (r.epilogue & ~(uint32_t)CUBLASLT_EPILOGUE_BIAS) == CUBLASLT_EPILOGUE_RELU;
    bool gelu = (r.epilogue & ~(uint32_t)CUBLASLT_EPILOGUE_BIAS) == CUBLASLT_EPILOGUE_GELU;
    std::vector<float> at((size_t)(r.m * r.k)), bt((size_t)(r.n * r.k)), out((size_t)(r.m * r.n));
    for (int64_t bi = 0; bi < r.batch; bi++) {
        // op(A) as rows of k, op(B) as columns of k: every dot product reads contiguous memory
        for (int64_t i = 0; i < r.m; i++)
            for (int64_t l = 0; l < r.k; l++)
                at[(size_t)(i * r.k + l)] = load(r.a, r.ta_type, bi * r.sa + (r.ta ? i * r.lda + l : l * r.lda + i));
        for (int64_t j = 0; j < r.n; j++)
            for (int64_t l = 0; l < r.k; l++)
                bt[(size_t)(j * r.k + l)] = load(r.b, r.ta_type, bi * r.sb + (r.tb ? l * r.ldb + j : j * r.ldb + l));
        // all of this batch entry is read (C included) before any of D is written: C may be D
        for (int64_t j = 0; j < r.n; j++)
            for (int64_t i = 0; i < r.m; i++) {
                const float *x = at.data() + i * r.k, *y = bt.data() + j * r.k;
                double acc = 0.0;
                for (int64_t l = 0; l < r.k; l++) acc += (double)x[l] * (double)y[l];
                float v = r.alpha * (float)acc;
                if (r.beta != 0.0f) v += r.beta * load(r.c, r.tc_type, bi * r.sc + j * r.ldc + i);
                if (r.bias) v += load(r.bias, r.bias_type, i);
                if (relu) v = v > 0.0f ? v : 0.0f;
                if (gelu) v = gelu_tanh(v);
                out[(size_t)(j * r.m + i)] = v;
            }
        for (int64_t j = 0; j < r.n; j++)
            for (int64_t i = 0; i < r.m; i++) store(r.d, r.tc_type, bi * r.sd + j * r.ldd + i, out[(size_t)(j * r.m + i)]);
    }
}

template <typename T>
cublasStatus_t get_attr(const T &v, void *buf, size_t size, size_t *written) {
    if (written) *written = sizeof v;
    if (!buf && size == 0 && written) return CUBLAS_STATUS_SUCCESS;  // a size query
    if (!buf || size < sizeof v) return CUBLAS_STATUS_INVALID_VALUE;
    memcpy(buf, &v, sizeof v);
    return CUBLAS_STATUS_SUCCESS;
}

// The attribute's documented size must match what the caller passes (a wrong size is a bug).
template <typename T>
void set_attr(T *dst, const void *buf, size_t size, const char *call, int attr) {
    if (size != sizeof *dst)
        cuemu::fatal("%s(attribute %d): %zu bytes given, the attribute is %zu", call, attr, size, sizeof *dst);
    memcpy(dst, buf, sizeof *dst);
}

}  // namespace

extern "C" {

cublasStatus_t cublasLtCreate(cublasLtHandle_t *h) {
    if (!h) return CUBLAS_STATUS_INVALID_VALUE;
    *h = reinterpret_cast<cublasLtHandle_t>(new Handle);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtDestroy(cublasLtHandle_t h) {
    handle_check(h, "cublasLtDestroy");
    Handle *x = reinterpret_cast<Handle *>(h);
    x->magic = DEAD;
    delete x;
    return CUBLAS_STATUS_SUCCESS;
}

size_t cublasLtGetVersion(void) { return CUBLAS_VERSION; }

size_t cublasLtGetCudartVersion(void) { return CUDART_VERSION; }

const char *cublasLtGetStatusName(cublasStatus_t s) {
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "CUBLAS_STATUS_UNKNOWN";
    }
}

const char *cublasLtGetStatusString(cublasStatus_t s) { return cublasLtGetStatusName(s); }

// --- matmul descriptor ------------------------------------------------------------------------------

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *d, cublasComputeType_t compute, cudaDataType_t scale) {
    if (!d) return CUBLAS_STATUS_INVALID_VALUE;
    Desc *x = new Desc;
    x->compute = compute;
    x->scale = scale;
    *d = reinterpret_cast<cublasLtMatmulDesc_t>(x);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t d) {
    Desc *x = desc_of(d, "cublasLtMatmulDescDestroy");
    x->magic = DEAD;
    delete x;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t attr,
                                              const void *buf, size_t size) {
    const char *call = "cublasLtMatmulDescSetAttribute";
    Desc *x = desc_of(d, call);
    if (!buf) return CUBLAS_STATUS_INVALID_VALUE;
    switch (attr) {
    case CUBLASLT_MATMUL_DESC_COMPUTE_TYPE: set_attr((int32_t *)&x->compute, buf, size, call, attr); break;
    case CUBLASLT_MATMUL_DESC_SCALE_TYPE: set_attr((int32_t *)&x->scale, buf, size, call, attr); break;
    case CUBLASLT_MATMUL_DESC_POINTER_MODE: set_attr(&x->pointer_mode, buf, size, call, attr); break;
    case CUBLASLT_MATMUL_DESC_TRANSA: set_attr(&x->transa, buf, size, call, attr); break;
    case CUBLASLT_MATMUL_DESC_TRANSB: set_attr(&x->transb, buf, size, call, attr); break;
    case CUBLASLT_MATMUL_DESC_TRANSC: set_attr(&x->transc, buf, size, call, attr); break;
    case CUBLASLT_MATMUL_DESC_EPILOGUE: set_attr(&x->epilogue, buf, size, call, attr); break;
    case CUBLASLT_MATMUL_DESC_BIAS_POINTER: set_attr(&x->bias, buf, size, call, attr); break;
    case CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE: set_attr(&x->bias_type, buf, size, call, attr); break;
    case CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE: set_attr(&x->bias_batch_stride, buf, size, call, attr); break;
    default: cuemu::fatal("%s: attribute %d not emulated", call, (int)attr);
    }
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescGetAttribute(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t attr, void *buf,
                                              size_t size, size_t *written) {
    const Desc *x = desc_of(d, "cublasLtMatmulDescGetAttribute");
    switch (attr) {
    case CUBLASLT_MATMUL_DESC_TRANSA: return get_attr(x->transa, buf, size, written);
    case CUBLASLT_MATMUL_DESC_TRANSB: return get_attr(x->transb, buf, size, written);
    case CUBLASLT_MATMUL_DESC_EPILOGUE: return get_attr(x->epilogue, buf, size, written);
    case CUBLASLT_MATMUL_DESC_BIAS_POINTER: return get_attr(x->bias, buf, size, written);
    case CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE: return get_attr(x->bias_type, buf, size, written);
    default: cuemu::fatal("cublasLtMatmulDescGetAttribute: attribute %d not emulated", (int)attr);
    }
}

// --- matrix layouts ---------------------------------------------------------------------------------

cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *l, cudaDataType type, uint64_t rows, uint64_t cols,
                                          int64_t ld) {
    if (!l) return CUBLAS_STATUS_INVALID_VALUE;
    Layout *x = new Layout;
    x->type = (uint32_t)type, x->rows = rows, x->cols = cols, x->ld = ld;
    *l = reinterpret_cast<cublasLtMatrixLayout_t>(x);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutDestroy(const cublasLtMatrixLayout_t l) {
    Layout *x = layout_of(l, "cublasLtMatrixLayoutDestroy");
    x->magic = DEAD;
    delete x;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutSetAttribute(cublasLtMatrixLayout_t l, cublasLtMatrixLayoutAttribute_t attr,
                                                const void *buf, size_t size) {
    const char *call = "cublasLtMatrixLayoutSetAttribute";
    Layout *x = layout_of(l, call);
    if (!buf) return CUBLAS_STATUS_INVALID_VALUE;
    switch (attr) {
    case CUBLASLT_MATRIX_LAYOUT_TYPE: set_attr(&x->type, buf, size, call, attr); break;
    case CUBLASLT_MATRIX_LAYOUT_ORDER: set_attr(&x->order, buf, size, call, attr); break;
    case CUBLASLT_MATRIX_LAYOUT_ROWS: set_attr(&x->rows, buf, size, call, attr); break;
    case CUBLASLT_MATRIX_LAYOUT_COLS: set_attr(&x->cols, buf, size, call, attr); break;
    case CUBLASLT_MATRIX_LAYOUT_LD: set_attr(&x->ld, buf, size, call, attr); break;
    case CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT: set_attr(&x->batch, buf, size, call, attr); break;
    case CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET: set_attr(&x->stride, buf, size, call, attr); break;
    default: cuemu::fatal("%s: attribute %d not emulated", call, (int)attr);
    }
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutGetAttribute(cublasLtMatrixLayout_t l, cublasLtMatrixLayoutAttribute_t attr,
                                                void *buf, size_t size, size_t *written) {
    const Layout *x = layout_of(l, "cublasLtMatrixLayoutGetAttribute");
    switch (attr) {
    case CUBLASLT_MATRIX_LAYOUT_TYPE: return get_attr(x->type, buf, size, written);
    case CUBLASLT_MATRIX_LAYOUT_ROWS: return get_attr(x->rows, buf, size, written);
    case CUBLASLT_MATRIX_LAYOUT_COLS: return get_attr(x->cols, buf, size, written);
    case CUBLASLT_MATRIX_LAYOUT_LD: return get_attr(x->ld, buf, size, written);
    case CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT: return get_attr(x->batch, buf, size, written);
    case CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET: return get_attr(x->stride, buf, size, written);
    default: cuemu::fatal("cublasLtMatrixLayoutGetAttribute: attribute %d not emulated", (int)attr);
    }
}

// --- preferences and the heuristic --------------------------------------------------------------------

cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *p) {
    if (!p) return CUBLAS_STATUS_INVALID_VALUE;
    *p = reinterpret_cast<cublasLtMatmulPreference_t>(new Pref);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t p) {
    Pref *x = pref_of(p, "cublasLtMatmulPreferenceDestroy");
    x->magic = DEAD;
    delete x;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t p,
                                                    cublasLtMatmulPreferenceAttributes_t attr, const void *buf,
                                                    size_t size) {
    const char *call = "cublasLtMatmulPreferenceSetAttribute";
    Pref *x = pref_of(p, call);
    if (!buf) return CUBLAS_STATUS_INVALID_VALUE;
    switch (attr) {
    case CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES: set_attr(&x->max_workspace, buf, size, call, attr); break;
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES: set_attr(&x->align[0], buf, size, call, attr); break;
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES: set_attr(&x->align[1], buf, size, call, attr); break;
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES: set_attr(&x->align[2], buf, size, call, attr); break;
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES: set_attr(&x->align[3], buf, size, call, attr); break;
    default: cuemu::fatal("%s: attribute %d not emulated", call, (int)attr);
    }
    for (uint32_t a : x->align)
        if (a == 0 || (a & (a - 1))) cuemu::fatal("%s: alignment %u is not a power of two", call, a);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t h, cublasLtMatmulDesc_t desc,
                                              cublasLtMatrixLayout_t A, cublasLtMatrixLayout_t B,
                                              cublasLtMatrixLayout_t C, cublasLtMatrixLayout_t D,
                                              cublasLtMatmulPreference_t pref, int requested,
                                              cublasLtMatmulHeuristicResult_t results[], int *returned) {
    const char *call = "cublasLtMatmulAlgoGetHeuristic";
    handle_check(h, call);
    if (requested <= 0 || !results || !returned) return CUBLAS_STATUS_INVALID_VALUE;
    *returned = 0;
    const Pref *p = pref_of(pref, call);
    Problem pr;
    cublasStatus_t s = problem_of(desc, A, B, C, D, call, &pr);
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    // Elements must stay aligned to their own size; the heuristic has nothing for less.
    for (int i = 0; i < 4; i++) {
        const Layout *l = i == 0 ? pr.a : i == 1 ? pr.b : i == 2 ? pr.c : pr.dl;
        if (p->align[i] < type_size(l->type)) return CUBLAS_STATUS_NOT_SUPPORTED;
    }
    Algo a;
    memset(&a, 0, sizeof a);
    a.magic = ALGO_MAGIC;
    for (int i = 0; i < 4; i++) a.align[i] = p->align[i];
    a.bias_align = pr.d->bias ? align_of((uintptr_t)pr.d->bias) : 256;
    a.epilogue = pr.d->epilogue;
    a.types = pack_types(pr);
    a.workspace = workspace_need(pr, p->max_workspace);
    memset(&results[0], 0, sizeof results[0]);
    memcpy(&results[0].algo, &a, sizeof a);
    results[0].workspaceSize = a.workspace;
    results[0].state = CUBLAS_STATUS_SUCCESS;
    results[0].wavesCount = 1.0f;
    *returned = 1;
    return CUBLAS_STATUS_SUCCESS;
}

// The same checks as a matmul with this algorithm, short of the pointers.
static cublasStatus_t algo_matches(const Problem &pr, const cublasLtMatmulAlgo_t *algo, const char *call, Algo *out) {
    if (!algo) return CUBLAS_STATUS_INVALID_VALUE;
    memcpy(out, algo, sizeof *out);
    if (out->magic != ALGO_MAGIC) cuemu::fatal("%s: the algorithm did not come from the heuristic", call);
    if (out->types != pack_types(pr) || out->epilogue != pr.d->epilogue) return CUBLAS_STATUS_INVALID_VALUE;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulAlgoCheck(cublasLtHandle_t h, cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t A,
                                       cublasLtMatrixLayout_t B, cublasLtMatrixLayout_t C, cublasLtMatrixLayout_t D,
                                       const cublasLtMatmulAlgo_t *algo, cublasLtMatmulHeuristicResult_t *result) {
    const char *call = "cublasLtMatmulAlgoCheck";
    handle_check(h, call);
    if (!result) return CUBLAS_STATUS_INVALID_VALUE;
    Problem pr;
    cublasStatus_t s = problem_of(desc, A, B, C, D, call, &pr);
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    Algo a;
    s = algo_matches(pr, algo, call, &a);
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    memset(result, 0, sizeof *result);
    result->workspaceSize = a.workspace;
    result->state = CUBLAS_STATUS_SUCCESS;
    result->wavesCount = 1.0f;
    return CUBLAS_STATUS_SUCCESS;
}

// --- the matmul ---------------------------------------------------------------------------------------

static void check_align(const char *call, const char *what, const void *p, int64_t stride, size_t es, int batch,
                        uint32_t need) {
    uintptr_t v = (uintptr_t)p;
    if (batch > 1) v |= (uintptr_t)((uint64_t)stride * es);
    if (v % need)
        cuemu::fatal("%s: %s at %p (batch stride %lld elements) is not %u-byte aligned as its algorithm was chosen "
                     "for (CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_*); on a GPU this may fault or misread",
                     call, what, p, batch > 1 ? (long long)stride : 0LL, need);
}

cublasStatus_t cublasLtMatmul(cublasLtHandle_t h, cublasLtMatmulDesc_t desc, const void *alpha, const void *A,
                              cublasLtMatrixLayout_t Adesc, const void *B, cublasLtMatrixLayout_t Bdesc,
                              const void *beta, const void *C, cublasLtMatrixLayout_t Cdesc, void *D,
                              cublasLtMatrixLayout_t Ddesc, const cublasLtMatmulAlgo_t *algo, void *workspace,
                              size_t workspace_bytes, cudaStream_t stream) {
    const char *call = "cublasLtMatmul";
    handle_check(h, call);
    if (!alpha || !beta) return CUBLAS_STATUS_INVALID_VALUE;
    Problem pr;
    cublasStatus_t s = problem_of(desc, Adesc, Bdesc, Cdesc, Ddesc, call, &pr);
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    if (!algo) cuemu::fatal("%s: no algorithm given (libsana always passes the heuristic's)", call);
    Algo a;
    s = algo_matches(pr, algo, call, &a);
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    if (workspace_bytes < a.workspace) return CUBLAS_STATUS_INVALID_VALUE;
    if (workspace_bytes) {
        if (!workspace) return CUBLAS_STATUS_INVALID_VALUE;
        cuemu::check_device(workspace, workspace_bytes, "cublasLtMatmul workspace");
        if ((uintptr_t)workspace % 256) cuemu::fatal("%s: workspace %p is not 256-byte aligned", call, workspace);
    }
    const Layout &la = *pr.a, &lb = *pr.b, &lc = *pr.c, &ld = *pr.dl;
    if (C == D && (lc.ld != ld.ld || lc.stride != ld.stride || lc.type != ld.type))
        cuemu::fatal("%s: in place (C == D) needs identical C and D layouts", call);
    int batch = ld.batch;
    check_align(call, "A", A, la.stride, type_size(la.type), batch, a.align[0]);
    check_align(call, "B", B, lb.stride, type_size(lb.type), batch, a.align[1]);
    check_align(call, "C", C, lc.stride, type_size(lc.type), batch, a.align[2]);
    check_align(call, "D", D, ld.stride, type_size(ld.type), batch, a.align[3]);
    bool has_bias = pr.d->epilogue & CUBLASLT_EPILOGUE_BIAS;
    if (has_bias) {
        if (!pr.d->bias) cuemu::fatal("%s: a bias epilogue without CUBLASLT_MATMUL_DESC_BIAS_POINTER", call);
        if (batch > 1 && pr.d->bias_batch_stride)
            cuemu::fatal("%s: a bias batch stride is not emulated", call);
        if ((uintptr_t)pr.d->bias % a.bias_align)
            cuemu::fatal("%s: bias at %p is not %u-byte aligned like the bias pointer the heuristic was given (the "
                         "heuristic reads the descriptor's bias pointer to choose for its alignment)",
                         call, pr.d->bias, a.bias_align);
    }
    Run r;
    r.m = pr.m, r.n = pr.n, r.k = pr.k, r.batch = batch;
    r.ta = pr.d->transa == CUBLAS_OP_T, r.tb = pr.d->transb == CUBLAS_OP_T;
    r.a = A, r.b = B, r.c = C, r.d = D;
    r.lda = la.ld, r.ldb = lb.ld, r.ldc = lc.ld, r.ldd = ld.ld;
    r.sa = la.stride, r.sb = lb.stride, r.sc = lc.stride, r.sd = ld.stride;
    r.ta_type = la.type, r.tc_type = ld.type, r.bias_type = pr.bias_type;
    r.alpha = *(const float *)alpha, r.beta = *(const float *)beta;  // host scalars, read now
    r.epilogue = pr.d->epilogue;
    r.bias = has_bias ? pr.d->bias : nullptr;
    if (r.beta != 0.0f && !C) return CUBLAS_STATUS_INVALID_VALUE;
    // a matmul into an invalidated capture fails as a launch into it would
    return cuemu::enqueue(stream, [r] { run(r); }) == cudaSuccess ? CUBLAS_STATUS_SUCCESS
                                                                  : CUBLAS_STATUS_EXECUTION_FAILED;
}

}  // extern "C"
