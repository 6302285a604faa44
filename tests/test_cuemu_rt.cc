// The fake runtime and cuBLASLt (cuemu_runtime.cc, cuemu_cublaslt.cc) on their own: matmuls
// against a naive GEMM written from cuBLASLt's documented definition (column-major, op(A) m x k,
// leading dimensions, strided batches, epilogues, C != D and C == D), a hand-computed product,
// the unsupported type combinations, graph capture and replay, the calls refused while
// capturing, the memory budget, and (in child processes) the aborts: double free, free of an
// unknown pointer, a copy past an allocation's end, ld < rows, and an operand less aligned than
// its algorithm was chosen for.
#include <cublasLt.h>
#include <cuda_runtime.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

static int failures = 0;

#define EXPECT(cond, ...)                                              \
    do {                                                               \
        if (!(cond)) {                                                 \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);       \
            fprintf(stderr, __VA_ARGS__);                              \
            fputc('\n', stderr);                                       \
            failures++;                                                \
        }                                                              \
    } while (0)
#define OK(call) EXPECT((call) == 0, "%s failed", #call)

static float bf16_round(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    u += 0x7fffu + ((u >> 16) & 1);
    u &= 0xffff0000u;
    memcpy(&f, &u, 4);
    return f;
}

static uint64_t rng = 88172645463325252ull;
static float frand() {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 11) % 2001) / 1000.0f - 1.0f;
}

// Device buffer of n elements of `type` holding `vals` (rounded to the type) and their host copy.
struct Buf {
    void *d = nullptr;
    std::vector<float> h;
    cudaDataType_t type;
};

static void put(Buf &b, cudaDataType_t type, size_t n) {
    b.type = type;
    b.h.resize(n);
    for (float &v : b.h) v = frand();
    size_t es = type == CUDA_R_32F ? 4 : 2;
    std::vector<unsigned char> raw(n * es);
    for (size_t i = 0; i < n; i++) {
        float v = b.h[i];
        if (type == CUDA_R_16BF) {
            v = bf16_round(v);
            uint32_t u;
            memcpy(&u, &v, 4);
            uint16_t h16 = (uint16_t)(u >> 16);
            memcpy(&raw[i * 2], &h16, 2);
        } else {
            memcpy(&raw[i * 4], &v, 4);
        }
        b.h[i] = v;
    }
    OK(cudaMalloc(&b.d, n * es));
    OK(cudaMemcpy(b.d, raw.data(), n * es, cudaMemcpyHostToDevice));
}

static std::vector<float> get(const Buf &b, size_t n) {
    size_t es = b.type == CUDA_R_32F ? 4 : 2;
    std::vector<unsigned char> raw(n * es);
    OK(cudaMemcpy(raw.data(), b.d, n * es, cudaMemcpyDeviceToHost));
    std::vector<float> out(n);
    for (size_t i = 0; i < n; i++) {
        if (b.type == CUDA_R_16BF) {
            uint32_t u = (uint32_t)(raw[i * 2] | raw[i * 2 + 1] << 8) << 16;
            memcpy(&out[i], &u, 4);
        } else {
            memcpy(&out[i], &raw[i * 4], 4);
        }
    }
    return out;
}

struct Case {
    int m, n, k, batch;
    bool ta, tb;
    int lda_pad, ldb_pad, ldc_pad;
    int64_t sa_extra, sb_extra;  // added to the dense batch strides; -1: stride 0 (broadcast)
    cudaDataType_t ab, cd;
    uint32_t epilogue;
    float alpha, beta;
    bool in_place;
};

static cublasLtMatrixLayout_t layout(cudaDataType_t t, int64_t rows, int64_t cols, int64_t ld, int batch,
                                     int64_t stride) {
    cublasLtMatrixLayout_t l;
    OK(cublasLtMatrixLayoutCreate(&l, t, (uint64_t)rows, (uint64_t)cols, ld));
    if (batch > 1) {
        int32_t bc = batch;
        OK(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &bc, sizeof bc));
        OK(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof stride));
    }
    return l;
}

static uint32_t align_of(const void *p, int64_t stride_bytes, int batch) {
    uintptr_t v = (uintptr_t)p | 256u;
    if (batch > 1) v |= (uintptr_t)stride_bytes;
    return (uint32_t)(v & (~v + 1));
}

static float gelu(float x) { return 0.5f * x * (1.0f + std::tanh(0.7978845608028654f * (x + 0.044715f * x * x * x))); }

static void run_case(cublasLtHandle_t lt, const Case &c, cudaStream_t s) {
    int64_t arows = c.ta ? c.k : c.m, acols = c.ta ? c.m : c.k, brows = c.tb ? c.n : c.k, bcols = c.tb ? c.k : c.n;
    int64_t lda = arows + c.lda_pad, ldb = brows + c.ldb_pad, ldc = c.m + c.ldc_pad;
    int64_t sa = c.sa_extra < 0 ? 0 : lda * acols + c.sa_extra, sb = c.sb_extra < 0 ? 0 : ldb * bcols + c.sb_extra;
    int64_t sc = ldc * c.n;
    Buf A, B, C, D, bias;
    put(A, c.ab, (size_t)(sa * (c.batch - 1) + lda * acols));
    put(B, c.ab, (size_t)(sb * (c.batch - 1) + ldb * bcols));
    put(C, c.cd, (size_t)(sc * c.batch));
    if (c.in_place) D = C;
    else put(D, c.cd, (size_t)(sc * c.batch));
    bool has_bias = c.epilogue & CUBLASLT_EPILOGUE_BIAS;
    if (has_bias) put(bias, c.cd, (size_t)c.m);

    cublasLtMatmulDesc_t op;
    OK(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    cublasOperation_t ta = c.ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb = c.tb ? CUBLAS_OP_T : CUBLAS_OP_N;
    OK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    OK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    cublasLtEpilogue_t ep = (cublasLtEpilogue_t)c.epilogue;
    OK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &ep, sizeof ep));
    if (has_bias) {
        OK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias.d, sizeof bias.d));
        int32_t bt = c.cd;
        OK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof bt));
    }
    cublasLtMatrixLayout_t la = layout(c.ab, arows, acols, lda, c.batch, sa);
    cublasLtMatrixLayout_t lb = layout(c.ab, brows, bcols, ldb, c.batch, sb);
    cublasLtMatrixLayout_t lc = layout(c.cd, c.m, c.n, ldc, c.batch, sc);
    cublasLtMatmulPreference_t pref;
    OK(cublasLtMatmulPreferenceCreate(&pref));
    // the operands' real alignment (batch entries included), as cuda_gemm.c tells the heuristic
    size_t ea = c.ab == CUDA_R_32F ? 4 : 2, ec = c.cd == CUDA_R_32F ? 4 : 2;
    uint32_t al[4] = {align_of(A.d, sa * (int64_t)ea, c.batch), align_of(B.d, sb * (int64_t)ea, c.batch),
                      align_of(C.d, sc * (int64_t)ec, c.batch), align_of(D.d, sc * (int64_t)ec, c.batch)};
    const cublasLtMatmulPreferenceAttributes_t at[4] = {
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
    for (int i = 0; i < 4; i++) OK(cublasLtMatmulPreferenceSetAttribute(pref, at[i], &al[i], sizeof al[i]));
    uint64_t wsmax = 1 << 20;
    OK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsmax, sizeof wsmax));
    cublasLtMatmulHeuristicResult_t r;
    int found = 0;
    OK(cublasLtMatmulAlgoGetHeuristic(lt, op, la, lb, lc, lc, pref, 1, &r, &found));
    EXPECT(found == 1, "no algorithm");
    std::vector<float> want(C.h.size());
    for (int bi = 0; bi < c.batch; bi++)
        for (int j = 0; j < c.n; j++)
            for (int i = 0; i < c.m; i++) {
                double acc = 0;
                for (int l = 0; l < c.k; l++) {
                    float a = c.ta ? A.h[(size_t)(bi * sa + i * lda + l)] : A.h[(size_t)(bi * sa + l * lda + i)];
                    float b = c.tb ? B.h[(size_t)(bi * sb + l * ldb + j)] : B.h[(size_t)(bi * sb + j * ldb + l)];
                    acc += (double)a * b;
                }
                size_t at = (size_t)(bi * sc + j * ldc + i);
                float v = (float)(c.alpha * acc + c.beta * C.h[at]);
                if (has_bias) v += bias.h[(size_t)i];
                uint32_t act = c.epilogue & ~(uint32_t)CUBLASLT_EPILOGUE_BIAS;
                if (act == CUBLASLT_EPILOGUE_RELU) v = v > 0 ? v : 0;
                if (act == CUBLASLT_EPILOGUE_GELU) v = gelu(v);
                want[at] = v;
            }
    void *ws = nullptr;
    OK(cudaMalloc(&ws, 1 << 20));
    OK(cublasLtMatmul(lt, op, &c.alpha, A.d, la, B.d, lb, &c.beta, C.d, lc, D.d, lc, &r.algo, ws, 1 << 20, s));
    OK(cudaStreamSynchronize(s));
    std::vector<float> got = get(D, want.size());
    double tol = c.cd == CUDA_R_32F ? 1e-5 : 1e-2;
    int bad = 0;
    for (int bi = 0; bi < c.batch; bi++)
        for (int j = 0; j < c.n; j++)
            for (int i = 0; i < c.m; i++) {
                size_t at = (size_t)(bi * sc + j * ldc + i);
                float w = c.cd == CUDA_R_16BF ? bf16_round(want[at]) : want[at];
                if (!(std::fabs(got[at] - w) <= tol * (1 + std::fabs(w))) && bad++ < 3)
                    fprintf(stderr, "  [%d] (%d, %d): got %g, want %g\n", bi, i, j, got[at], w);
            }
    // padding rows of D (ld > m) are not written
    for (int bi = 0; bi < c.batch && !c.in_place; bi++)
        for (int j = 0; j < c.n; j++)
            for (int i = c.m; i < ldc; i++) {
                size_t at = (size_t)(bi * sc + j * ldc + i);
                if (got[at] != D.h[at] && bad++ < 3) fprintf(stderr, "  padding (%d, %d) written\n", i, j);
            }
    EXPECT(bad == 0, "matmul m%d n%d k%d batch %d ta %d tb %d ep %u in_place %d: %d wrong", c.m, c.n, c.k, c.batch,
           c.ta, c.tb, c.epilogue, c.in_place, bad);
    cublasLtMatrixLayoutDestroy(la), cublasLtMatrixLayoutDestroy(lb), cublasLtMatrixLayoutDestroy(lc);
    cublasLtMatmulPreferenceDestroy(pref);
    cublasLtMatmulDescDestroy(op);
    cudaFree(A.d), cudaFree(B.d), cudaFree(C.d), cudaFree(ws);
    if (!c.in_place) cudaFree(D.d);
    if (has_bias) cudaFree(bias.d);
}

// Column-major A = [[1, 3], [2, 4]] (stored 1 2 3 4), B = [[5, 7], [6, 8]]: A·B = [[23, 31], [34, 46]],
// stored 23 34 31 46; Aᵀ·B = [[17, 23], [39, 53]], stored 17 39 23 53.
static void hand_case(cublasLtHandle_t lt) {
    float ha[4] = {1, 2, 3, 4}, hb[4] = {5, 6, 7, 8}, hd[4];
    void *a, *b, *d;
    OK(cudaMalloc(&a, 16));
    OK(cudaMalloc(&b, 16));
    OK(cudaMalloc(&d, 16));
    OK(cudaMemcpy(a, ha, 16, cudaMemcpyHostToDevice));
    OK(cudaMemcpy(b, hb, 16, cudaMemcpyHostToDevice));
    for (int t = 0; t < 2; t++) {
        cublasLtMatmulDesc_t op;
        OK(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
        cublasOperation_t ta = t ? CUBLAS_OP_T : CUBLAS_OP_N;
        OK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
        cublasLtMatrixLayout_t l = layout(CUDA_R_32F, 2, 2, 2, 1, 0);
        cublasLtMatmulPreference_t pref;
        OK(cublasLtMatmulPreferenceCreate(&pref));
        cublasLtMatmulHeuristicResult_t r;
        int found = 0;
        OK(cublasLtMatmulAlgoGetHeuristic(lt, op, l, l, l, l, pref, 1, &r, &found));
        float one = 1, zero = 0;
        OK(cublasLtMatmul(lt, op, &one, a, l, b, l, &zero, d, l, d, l, &r.algo, nullptr, 0, nullptr));
        OK(cudaMemcpy(hd, d, 16, cudaMemcpyDeviceToHost));
        const float want[2][4] = {{23, 34, 31, 46}, {17, 39, 23, 53}};
        EXPECT(!memcmp(hd, want[t], 16), "hand case %d: %g %g %g %g", t, hd[0], hd[1], hd[2], hd[3]);
        cublasLtMatrixLayoutDestroy(l), cublasLtMatmulPreferenceDestroy(pref), cublasLtMatmulDescDestroy(op);
    }
    cudaFree(a), cudaFree(b), cudaFree(d);
}

static void unsupported(cublasLtHandle_t lt) {
    // fp32 operands into a bf16 D, and mixed operand types, have no cuBLASLt kernel
    const cudaDataType_t combos[2][2] = {{CUDA_R_32F, CUDA_R_16BF}, {CUDA_R_16F, CUDA_R_16BF}};
    for (auto &cmb : combos) {
        cublasLtMatmulDesc_t op;
        OK(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
        cublasLtMatrixLayout_t la = layout(cmb[0], 4, 4, 4, 1, 0), ld = layout(cmb[1], 4, 4, 4, 1, 0);
        cublasLtMatmulPreference_t pref;
        OK(cublasLtMatmulPreferenceCreate(&pref));
        cublasLtMatmulHeuristicResult_t r;
        int found = 7;
        cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(lt, op, la, la, ld, ld, pref, 1, &r, &found);
        EXPECT(st == CUBLAS_STATUS_NOT_SUPPORTED && found == 0, "types %d -> %d: status %d, %d found", cmb[0],
               cmb[1], st, found);
        cublasLtMatrixLayoutDestroy(la), cublasLtMatrixLayoutDestroy(ld), cublasLtMatmulPreferenceDestroy(pref);
        cublasLtMatmulDescDestroy(op);
    }
}

// A captured copy + matmul does nothing until launched, then uses the captured pointers and the
// values the memory holds at launch; synchronising the capturing stream invalidates the capture.
static void capture(cublasLtHandle_t lt) {
    cudaStream_t s;
    OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    float *pin = nullptr, hx[4] = {1, 2, 3, 4}, hy[4];
    OK(cudaMallocHost((void **)&pin, 16));
    void *x, *y;
    OK(cudaMalloc(&x, 16));
    OK(cudaMalloc(&y, 16));
    OK(cudaMemset(y, 0, 16));
    cublasLtMatmulDesc_t op;
    OK(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    cublasLtMatrixLayout_t l = layout(CUDA_R_32F, 2, 2, 2, 1, 0);
    cublasLtMatmulPreference_t pref;
    OK(cublasLtMatmulPreferenceCreate(&pref));
    cublasLtMatmulHeuristicResult_t r;
    int found = 0;
    OK(cublasLtMatmulAlgoGetHeuristic(lt, op, l, l, l, l, pref, 1, &r, &found));
    float two = 2, zero = 0;

    OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed));
    memcpy(pin, hx, 16);
    OK(cudaMemcpyAsync(x, pin, 16, cudaMemcpyHostToDevice, s));
    OK(cublasLtMatmul(lt, op, &two, x, l, x, l, &zero, y, l, y, l, &r.algo, nullptr, 0, s));
    // refused while capturing: a host sync, a synchronous copy, a pageable-memory async copy
    EXPECT(cudaStreamSynchronize(s) == cudaErrorStreamCaptureUnsupported, "sync allowed in capture");
    cudaGraph_t g = nullptr;
    EXPECT(cudaStreamEndCapture(s, &g) == cudaErrorStreamCaptureInvalidated && !g, "invalidated capture ended well");
    cudaGetLastError();

    OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed));
    OK(cudaMemcpyAsync(x, pin, 16, cudaMemcpyHostToDevice, s));
    OK(cublasLtMatmul(lt, op, &two, x, l, x, l, &zero, y, l, y, l, &r.algo, nullptr, 0, s));
    OK(cudaStreamEndCapture(s, &g));
    cudaGraphExec_t exec;
    OK(cudaGraphInstantiate(&exec, g, 0));
    OK(cudaGraphDestroy(g));
    OK(cudaMemcpy(hy, y, 16, cudaMemcpyDeviceToHost));
    EXPECT(hy[0] == 0 && hy[3] == 0, "captured work ran before the launch");
    for (int rep = 0; rep < 2; rep++) {
        for (int i = 0; i < 4; i++) pin[i] = hx[i] * (float)(rep + 1);  // new values, same buffer
        OK(cudaGraphLaunch(exec, s));
        OK(cudaStreamSynchronize(s));
        OK(cudaMemcpy(hy, y, 16, cudaMemcpyDeviceToHost));
        float f = (float)((rep + 1) * (rep + 1)) * 2;  // 2 · (r x)(r x)
        EXPECT(hy[0] == 7 * f && hy[1] == 10 * f && hy[2] == 15 * f && hy[3] == 22 * f, "replay %d: %g %g %g %g", rep,
               hy[0], hy[1], hy[2], hy[3]);
    }
    OK(cudaGraphExecDestroy(exec));

    float pageable[4] = {0, 0, 0, 0};
    OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed));
    EXPECT(cudaMemcpyAsync(x, pageable, 16, cudaMemcpyHostToDevice, s) == cudaErrorStreamCaptureUnsupported,
           "pageable copy captured");
    EXPECT(cudaStreamEndCapture(s, &g) == cudaErrorStreamCaptureInvalidated, "capture survived a pageable copy");
    OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed));
    EXPECT(cudaMemcpy(hy, y, 16, cudaMemcpyDeviceToHost) != cudaSuccess, "synchronous copy while capturing");
    EXPECT(cudaStreamEndCapture(s, &g) == cudaErrorStreamCaptureInvalidated, "capture survived a sync copy");
    OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
    void *p = nullptr;
    EXPECT(cudaMalloc(&p, 16) == cudaErrorStreamCaptureUnsupported, "cudaMalloc in a global-mode capture");
    EXPECT(cudaStreamEndCapture(s, &g) == cudaErrorStreamCaptureInvalidated, "global capture survived cudaMalloc");
    OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed));
    OK(cudaMalloc(&p, 16));  // relaxed mode allows it
    OK(cudaStreamEndCapture(s, &g));
    OK(cudaGraphDestroy(g));
    cudaGetLastError();
    cudaFree(p);
    cublasLtMatrixLayoutDestroy(l), cublasLtMatmulPreferenceDestroy(pref), cublasLtMatmulDescDestroy(op);
    cudaFree(x), cudaFree(y), cudaFreeHost(pin);
    OK(cudaStreamDestroy(s));
}

static void budget(void) {
    size_t free0, total;
    OK(cudaMemGetInfo(&free0, &total));
    EXPECT(total == ((size_t)1 << 30), "CUEMU_DEVICE_MEMORY=1G gives a total of %zu", total);
    void *p;
    OK(cudaMalloc(&p, 100 << 20));
    size_t free1;
    OK(cudaMemGetInfo(&free1, &total));
    EXPECT(free0 - free1 == (100 << 20), "100 MiB allocated, free went from %zu to %zu", free0, free1);
    void *q = nullptr;
    EXPECT(cudaMalloc(&q, (size_t)1 << 30) == cudaErrorMemoryAllocation && !q, "allocated past the total");
    EXPECT(cudaGetLastError() == cudaErrorMemoryAllocation, "the failure is the last error");
    EXPECT(cudaGetLastError() == cudaSuccess, "cudaGetLastError resets");
    OK(cudaFree(p));
}

// `fn` must abort in a child process, saying `needle`.
static void dies(const char *what, const char *needle, const std::function<void()> &fn) {
    int pipefd[2];
    if (pipe(pipefd) != 0) abort();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pipefd[1], 2);
        fn();
        _exit(0);
    }
    close(pipefd[1]);
    char buf[4096];
    ssize_t n, len = 0;
    while ((n = read(pipefd[0], buf + len, sizeof buf - 1 - (size_t)len)) > 0) len += n;
    buf[len] = 0;
    close(pipefd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && strstr(buf, needle), "%s: did not abort saying '%s' (%s)",
           what, needle, buf);
}

static void aborts(cublasLtHandle_t lt) {
    dies("double free", "double free", [] {
        void *p;
        cudaMalloc(&p, 64);
        cudaFree(p);
        cudaFree(p);
    });
    dies("free of a host pointer", "not a pointer cudaMalloc returned", [] {
        static int x;
        cudaFree(&x);
    });
    dies("copy past the end", "past the end", [] {
        void *p;
        char host[128] = {0};
        cudaMalloc(&p, 64);
        cudaMemcpy(p, host, 128, cudaMemcpyHostToDevice);
    });
    dies("copy from freed memory", "use after free", [] {
        void *p;
        char host[64];
        cudaMalloc(&p, 64);
        cudaFree(p);
        cudaMemcpy(host, p, 64, cudaMemcpyDeviceToHost);
    });
    dies("ld < rows", "leading dimension", [lt] {
        cublasLtMatmulDesc_t op;
        cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F);
        cublasLtMatrixLayout_t l = layout(CUDA_R_32F, 4, 4, 3, 1, 0);
        cublasLtMatmulPreference_t pref;
        cublasLtMatmulPreferenceCreate(&pref);
        cublasLtMatmulHeuristicResult_t r;
        int found;
        cublasLtMatmulAlgoGetHeuristic(lt, op, l, l, l, l, pref, 1, &r, &found);
    });
    // an algorithm chosen for the default 256-byte alignment, used on a view 4 bytes in
    dies("misaligned operand", "aligned", [lt] {
        cublasLtMatmulDesc_t op;
        cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F);
        cublasLtMatrixLayout_t l = layout(CUDA_R_32F, 2, 2, 2, 1, 0);
        cublasLtMatmulPreference_t pref;
        cublasLtMatmulPreferenceCreate(&pref);
        cublasLtMatmulHeuristicResult_t r;
        int found;
        cublasLtMatmulAlgoGetHeuristic(lt, op, l, l, l, l, pref, 1, &r, &found);
        void *p;
        cudaMalloc(&p, 256);
        float one = 1, zero = 0;
        cublasLtMatmul(lt, op, &one, (char *)p + 4, l, p, l, &zero, p, l, p, l, &r.algo, nullptr, 0, nullptr);
    });
    // a batch stride that breaks the promised alignment for the second entry
    dies("misaligned batch stride", "aligned", [lt] {
        cublasLtMatmulDesc_t op;
        cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F);
        cublasLtMatrixLayout_t la = layout(CUDA_R_32F, 2, 2, 2, 2, 5), l = layout(CUDA_R_32F, 2, 2, 2, 2, 4);
        cublasLtMatmulPreference_t pref;
        cublasLtMatmulPreferenceCreate(&pref);
        uint32_t a16 = 16;
        for (auto at : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
            cublasLtMatmulPreferenceSetAttribute(pref, at, &a16, sizeof a16);
        cublasLtMatmulHeuristicResult_t r;
        int found;
        cublasLtMatmulAlgoGetHeuristic(lt, op, la, l, l, l, pref, 1, &r, &found);
        void *p;
        cudaMalloc(&p, 256);
        float one = 1, zero = 0;
        cublasLtMatmul(lt, op, &one, p, la, p, l, &zero, p, l, p, l, &r.algo, nullptr, 0, nullptr);
    });
}

int main() {
    setenv("CUEMU_DEVICE_MEMORY", "1G", 1);  // read at the first runtime call
    budget();
    cublasLtHandle_t lt;
    OK(cublasLtCreate(&lt));
    cudaStream_t s;
    OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    hand_case(lt);
    const cudaDataType_t F = CUDA_R_32F, H = CUDA_R_16BF;
    const uint32_t E0 = CUBLASLT_EPILOGUE_DEFAULT;
    Case cases[] = {
        {5, 7, 3, 1, false, false, 0, 0, 0, 0, 0, F, F, E0, 1.0f, 0.0f, false},
        {5, 7, 3, 1, true, false, 2, 0, 1, 0, 0, F, F, E0, 0.5f, 0.0f, false},
        {5, 7, 3, 1, false, true, 0, 3, 0, 0, 0, F, F, E0, 1.0f, 0.0f, false},
        {6, 4, 9, 1, true, true, 1, 1, 3, 0, 0, F, F, E0, 1.0f, 0.5f, false},
        {6, 4, 9, 1, true, false, 0, 0, 0, 0, 0, F, F, E0, 1.0f, 1.0f, true},
        {8, 5, 16, 3, true, false, 0, 2, 1, 7, 4, F, F, E0, 1.0f, 0.0f, false},
        {8, 5, 16, 3, false, false, 0, 0, 0, -1, 0, F, F, E0, 1.0f, 0.0f, false},
        {16, 6, 32, 1, true, false, 0, 0, 0, 0, 0, F, F, CUBLASLT_EPILOGUE_BIAS, 1.0f, 0.0f, false},
        {16, 6, 32, 1, true, false, 0, 0, 0, 0, 0, F, F, CUBLASLT_EPILOGUE_RELU_BIAS, 1.0f, 0.0f, false},
        {16, 6, 32, 1, true, false, 0, 0, 0, 0, 0, F, F, CUBLASLT_EPILOGUE_GELU_BIAS, 1.0f, 0.0f, false},
        {16, 6, 32, 1, true, false, 0, 0, 0, 0, 0, F, F, CUBLASLT_EPILOGUE_RELU, 1.0f, 0.0f, false},
        {16, 6, 32, 1, true, false, 0, 0, 0, 0, 0, F, F, CUBLASLT_EPILOGUE_GELU, 1.0f, 0.0f, false},
        {16, 6, 32, 2, true, false, 0, 0, 0, 0, 0, H, H, CUBLASLT_EPILOGUE_GELU_BIAS, 1.0f, 0.0f, false},
        {16, 6, 32, 2, false, true, 0, 0, 0, 0, 0, H, F, E0, 1.0f, 0.0f, false},
        {3, 2, 0, 1, false, false, 0, 1, 0, 0, 0, F, F, E0, 1.0f, 0.5f, false},  // k = 0: D = beta · C
    };
    for (const Case &c : cases) run_case(lt, c, s);
    unsupported(lt);
    capture(lt);
    aborts(lt);
    OK(cudaStreamDestroy(s));
    OK(cublasLtDestroy(lt));
    if (failures) fprintf(stderr, "test_cuemu_rt: %d failures\n", failures);
    else printf("test_cuemu_rt: all passed\n");
    return failures ? 1 : 0;
}
