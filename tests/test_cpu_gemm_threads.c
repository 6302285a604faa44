/* The CPU backend's GEMMs run on one thread pool: sn_cpu_sgemm cuts C over the OpenMP team and
 * each thread calls a single-threaded BLAS sgemm on its slice. Checks:
 * - the slices of every (M, N, team) cover C exactly once;
 * - sn_cpu_sgemm against a double-precision product (trans_b both ways, alpha, beta, strides
 *   wider than the matrix) at 1, 2, 3, 4 and 7 threads, including the shapes of the DC-AE
 *   row convolutions and the DiT linears;
 * - the result is bit-identical whatever the thread count (each element's arithmetic does not
 *   depend on the slice it falls in: what keeps outputs independent of n_threads);
 * - the DC-AE row convolution at a real size: same bits at any thread count and in a band;
 * - with pthread OpenBLAS: its process-wide thread count is 1 only while libsana GEMMs run
 *   (nested, from several threads) and the application's value is back afterwards;
 * - with a DYNAMIC_ARCH OpenBLAS on an AVX2 CPU: after libsana's first GEMM OpenBLAS no longer
 *   runs its Prescott (SSE3) fallback kernels (cpu_blas_core.c). */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu.h"
#include "core/pool.h"
#include "harness.h"

extern int openblas_get_num_threads(void) __attribute__((weak));
extern void openblas_set_num_threads(int n) __attribute__((weak));
extern char *openblas_get_corename(void) __attribute__((weak));
extern void gotoblas_dynamic_init(void) __attribute__((weak));

static void test_slices(void) {
    const int64_t dims[] = {1, 3, 4, 15, 16, 17, 33, 64, 100, 1000, 1152};
    const int nd = (int)(sizeof dims / sizeof dims[0]);
    int bad = 0;
    for (int a = 0; a < nd; a++)
        for (int b = 0; b < nd; b++)
            for (int nt = 1; nt <= 9; nt++) {
                const int64_t M = dims[a], N = dims[b];
                unsigned char *hit = calloc((size_t)(M * N), 1);
                for (int t = 0; t < nt; t++) {
                    sn_gemm_slice s;
                    sn_cpu_gemm_slice(M, N, t, nt, &s);
                    for (int64_t i = s.m0; i < s.m1; i++)
                        for (int64_t j = s.n0; j < s.n1; j++) hit[i * N + j]++;
                }
                for (int64_t i = 0; i < M * N; i++)
                    if (hit[i] != 1) {
                        if (bad++ < 5)
                            CHECK(0, "M %lld N %lld team %d: element %lld computed %d times",
                                  (long long)M, (long long)N, nt, (long long)i, hit[i]);
                        break;
                    }
                free(hit);
            }
    CHECK(bad == 0, "%d (M, N, team) cuts do not cover C exactly once", bad);
}

typedef struct {
    int trans_b;
    int64_t M, N, K;
    float alpha, beta;
} shape;

static void test_products(void) {
    const shape shapes[] = {
        {0, 1, 1, 1, 1.0f, 0.0f},       {1, 17, 17, 17, 1.0f, 0.0f},   /* below the cut-off */
        {0, 128, 256, 1152, 1.0f, 0.0f}, /* DC-AE row convolutions: Co x Wo x Ci*9 */
        {0, 512, 64, 4608, 1.0f, 0.0f},  {0, 3, 1000, 1152, 1.0f, 0.0f},
        {1, 256, 1152, 1152, 1.0f, 0.0f}, /* DiT linears: tokens x out x in */
        {1, 256, 2880, 1152, 1.0f, 0.0f}, {1, 1000, 5, 700, 1.0f, 0.0f},
        {1, 33, 32, 1024, 1.0f, 1.0f},    /* linear-attention state, accumulated (beta 1) */
        {0, 33, 1024, 32, 0.5f, 0.0f},    {1, 130, 33, 600, -2.0f, 0.25f},
        {0, 257, 1000, 300, 1.0f, 0.0f},  {1, 1000, 77, 513, 1.0f, 0.0f}, /* odd edges */
        {0, 1024, 32, 9216, 1.0f, 0.0f},  {0, 3, 4000, 4000, 1.0f, 0.0f},
    };
    const int threads[] = {1, 2, 3, 4, 7};
    int split = 0; /* shapes that 7 threads cut in 4 slices or more */
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const shape sh = shapes[si];
        /* row strides wider than the rows, to catch slices that assume packed matrices */
        const int64_t lda = sh.K + 3, ldb = (sh.trans_b ? sh.K : sh.N) + 5, ldc = sh.N + 7;
        const int64_t brows = sh.trans_b ? sh.N : sh.K;
        float *A = malloc((size_t)(sh.M * lda) * sizeof(float));
        float *Bm = malloc((size_t)(brows * ldb) * sizeof(float));
        float *C0 = malloc((size_t)(sh.M * ldc) * sizeof(float));
        float *C = malloc((size_t)(sh.M * ldc) * sizeof(float));
        float *C1 = malloc((size_t)(sh.M * ldc) * sizeof(float));
        float *ref = malloc((size_t)(sh.M * sh.N) * sizeof(float));
        float *got = malloc((size_t)(sh.M * sh.N) * sizeof(float));
        tu_fill_random(A, (size_t)(sh.M * lda), 1 + si);
        tu_fill_random(Bm, (size_t)(brows * ldb), 100 + si);
        tu_fill_random(C0, (size_t)(sh.M * ldc), 200 + si);
        for (int64_t i = 0; i < sh.M; i++)
            for (int64_t j = 0; j < sh.N; j++) {
                double s = 0.0;
                for (int64_t k = 0; k < sh.K; k++)
                    s += (double)A[i * lda + k] *
                         (double)(sh.trans_b ? Bm[j * ldb + k] : Bm[k * ldb + j]);
                ref[i * sh.N + j] = (float)(sh.alpha * s + sh.beta * (double)C0[i * ldc + j]);
            }
        for (size_t ti = 0; ti < sizeof threads / sizeof threads[0]; ti++) {
            memcpy(C, C0, (size_t)(sh.M * ldc) * sizeof(float));
            omp_set_num_threads(threads[ti]);
            if (threads[ti] == 7 && sn_cpu_gemm_threads(sh.M, sh.N, sh.K) >= 4) split++;
            sn_cpu_sgemm(sh.trans_b, sh.M, sh.N, sh.K, sh.alpha, A, lda, Bm, ldb, sh.beta, C, ldc);
            CHECK(omp_get_max_threads() == threads[ti], "the caller's OpenMP setting is back");
            int pad_ok = 1;
            for (int64_t i = 0; i < sh.M; i++) {
                memcpy(got + i * sh.N, C + i * ldc, (size_t)sh.N * sizeof(float));
                for (int64_t j = sh.N; j < ldc; j++) pad_ok &= C[i * ldc + j] == C0[i * ldc + j];
            }
            char what[128];
            snprintf(what, sizeof what, "sgemm %s %lldx%lldx%lld, %d threads",
                     sh.trans_b ? "NT" : "NN", (long long)sh.M, (long long)sh.N, (long long)sh.K,
                     threads[ti]);
            tu_check_close(what, got, ref, (size_t)(sh.M * sh.N), 1e-5);
            CHECK(pad_ok, "%s: wrote outside its N columns", what);
            if (ti == 0) {
                memcpy(C1, C, (size_t)(sh.M * ldc) * sizeof(float));
            } else {
                CHECK(memcmp(C, C1, (size_t)(sh.M * ldc) * sizeof(float)) == 0,
                      "%s: not bit-identical to 1 thread", what);
            }
        }
        free(A), free(Bm), free(C0), free(C), free(C1), free(ref), free(got);
    }
    CHECK(split >= 5, "only %d shapes were computed in slices", split);
    omp_set_num_threads(7);
    CHECK(sn_cpu_gemm_threads(17, 17, 17) == 1 && sn_cpu_gemm_threads(3, 1000, 1152) == 1,
          "small products are not cut");
    omp_set_num_threads(2);
}

/* inside a BLAS section the OpenMP setting reads 1 (OpenMP-threaded BLAS stays on its
 * thread) while the pool still sizes teams with the real count */
static void test_single_section(void) {
    omp_set_num_threads(4);
    sn_cpu_blas_enter();
    CHECK(omp_get_max_threads() == 1, "OpenMP setting inside a BLAS section: %d", omp_get_max_threads());
    CHECK(sn_pool_threads() == 4, "team size inside a BLAS section: %d", sn_pool_threads());
    sn_cpu_blas_leave();
    CHECK(omp_get_max_threads() == 4, "after: %d", omp_get_max_threads());
    omp_set_num_threads(2);
}

static void test_blas_guard(void) {
    if (sn_cpu_blas_threading() != SN_BLAS_PTHREADS || !openblas_get_num_threads ||
        !openblas_set_num_threads) {
        printf("test_cpu_gemm_threads: BLAS threading %d (not pthread OpenBLAS): guard not used\n",
               sn_cpu_blas_threading());
        return;
    }
    openblas_set_num_threads(3); /* the application's choice */
    sn_cpu_blas_enter();
    CHECK(openblas_get_num_threads() == 1, "inside a libsana GEMM: %d", openblas_get_num_threads());
    sn_cpu_blas_enter();
    sn_cpu_blas_leave();
    CHECK(openblas_get_num_threads() == 1, "nested leave keeps 1: %d", openblas_get_num_threads());
    sn_cpu_blas_leave();
    CHECK(openblas_get_num_threads() == 3, "restored: %d", openblas_get_num_threads());

    /* GEMMs from several application threads at once, each with its own team */
    enum { n = 192 };
    float *A = malloc(n * n * sizeof(float)), *C = malloc(4 * n * n * sizeof(float));
    tu_fill_random(A, n * n, 7);
#pragma omp parallel num_threads(4)
    {
        float *c = C + omp_get_thread_num() * n * n;
        for (int r = 0; r < 8; r++) sn_cpu_sgemm(1, n, n, n, 1.0f, A, n, A, n, 0.0f, c, n);
    }
    for (int t = 1; t < 4; t++)
        CHECK(memcmp(C, C + t * n * n, n * n * sizeof(float)) == 0, "thread %d's product", t);
    CHECK(openblas_get_num_threads() == 3, "restored after concurrent GEMMs: %d",
          openblas_get_num_threads());
    free(A), free(C);
}

/* The DC-AE row convolution at a real stage's size (its row GEMM is cut in slices): the same
 * bits at 1, 2 and 4 threads, and a band of rows equal to the whole image's rows. */
static void test_conv_band(void) {
    sn_backend *be = NULL;
    CHECK_OK(sn_backend_cpu_create(1, &be));
    if (!be) return;
    const int64_t Ci = 128, Co = 256, H = 6, W = 256;
    sn_tensor x, w, b, y, y1, yb, xb;
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(1, Ci, H, W), &x));
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(Co, Ci, 3, 3), &w));
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 1, SN_SHAPE(Co), &b));
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(1, Co, H, W), &y));
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(1, Co, H, W), &y1));
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(1, Co, 3, W), &yb));
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(1, Ci, 5, W), &xb));
    tu_fill_random(x.data, (size_t)sn_numel(&x), 31);
    tu_fill_random(w.data, (size_t)sn_numel(&w), 32);
    tu_fill_random(b.data, (size_t)sn_numel(&b), 33);
    const size_t ybytes = (size_t)sn_numel(&y) * sizeof(float);
    omp_set_num_threads(4);
    CHECK(sn_cpu_gemm_threads(Co, W, Ci * 9) >= 2, "the row GEMM is cut");
    const int threads[] = {1, 2, 4};
    for (int i = 0; i < 3; i++) {
        omp_set_num_threads(threads[i]);
        CHECK_OK(sn_conv2d_band(&x, 0, H, &w, &b, 1, 1, 1, i ? &y : &y1, 0));
        if (i) CHECK(memcmp(y.data, y1.data, ybytes) == 0, "conv2d_band at %d threads differs from 1", threads[i]);
    }
    /* output rows [2, 5) from input rows [1, 6) */
    for (int64_t c = 0; c < Ci; c++)
        memcpy((float *)xb.data + c * 5 * W, (float *)x.data + (c * H + 1) * W, (size_t)(5 * W) * sizeof(float));
    CHECK_OK(sn_conv2d_band(&xb, 1, H, &w, &b, 1, 1, 1, &yb, 2));
    int same = 1;
    for (int64_t c = 0; c < Co; c++)
        same &= !memcmp((float *)yb.data + c * 3 * W, (float *)y1.data + (c * H + 2) * W,
                        (size_t)(3 * W) * sizeof(float));
    CHECK(same, "a band of rows differs from the whole image's rows");
    sn_tensor_free(&x), sn_tensor_free(&w), sn_tensor_free(&b), sn_tensor_free(&y);
    sn_tensor_free(&y1), sn_tensor_free(&yb), sn_tensor_free(&xb);
    sn_backend_free(be);
    omp_set_num_threads(2);
}

static void test_blas_core(void) {
    if (!openblas_get_corename || !gotoblas_dynamic_init || getenv("OPENBLAS_CORETYPE")) {
        printf("test_cpu_gemm_threads: not a DYNAMIC_ARCH OpenBLAS, or OPENBLAS_CORETYPE set\n");
        return;
    }
    float a = 1.0f, c = 0.0f;
    sn_cpu_sgemm(0, 1, 1, 1, 1.0f, &a, 1, &a, 1, 0.0f, &c, 1); /* libsana's first GEMM, or a later one */
    const char *core = openblas_get_corename();
    printf("test_cpu_gemm_threads: OpenBLAS core %s\n", core ? core : "?");
#if defined(__x86_64__) || defined(__i386__)
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        CHECK(core && strcmp(core, "Prescott") != 0, "an AVX2 CPU left on OpenBLAS's %s kernels", core);
#endif
}

int main(void) {
    test_slices();
    test_products();
    test_conv_band();
    test_single_section();
    test_blas_guard();
    test_blas_core();
    return tu_finish("test_cpu_gemm_threads");
}
