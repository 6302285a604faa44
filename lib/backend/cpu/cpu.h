/* The CPU backend: the fp32 reference. BLAS sgemm where available, threads from lib/core/pool. */
#ifndef SN_BACKEND_CPU_H
#define SN_BACKEND_CPU_H

#include "backend/backend.h"

/* Hot elementwise loops built once per vector width (x86-64 with GCC or clang): the loader
 * picks the widest the CPU has (an ifunc). The build is ISO C (-std=c11), where GCC does not
 * contract a*b+c into an FMA, and these loops keep their order of operations per element, so
 * with GCC every clone computes the same bits as the SSE2 baseline (clang contracts within an
 * expression by default, so its AVX-512 clone may differ in the last bits). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(__APPLE__)
#define SN_CPU_VECTOR __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SN_CPU_VECTOR
#endif

#define SN_F(t) ((float *)(t)->data)
#define SN_CF(t) ((const float *)(t)->data)

/* C[M, N] = alpha * A[M, K] · op(B) + beta * C, row-major; op(B) = B[K, N] or, with trans_b,
 * B[N, K]ᵀ. lda/ldb/ldc are row strides. */
void sn_cpu_sgemm(int trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                  int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);

/* The threads of one pool (lib/core/pool) run the GEMMs: sn_cpu_sgemm cuts C over a team and
 * every thread calls a single-threaded BLAS sgemm on its slice (see cpu_blas_threads.c).
 * sn_cpu_sgemm_team is that per-thread share, for ops that run their own pool tasks: every
 * thread of the team calls it with its id; sn_cpu_gemm_threads is the team size sn_cpu_sgemm
 * uses (1 for small products or inside a pool task). */
typedef struct sn_gemm_slice {
    int64_t m0, m1, n0, n1; /* rows [m0, m1) and columns [n0, n1) of C */
} sn_gemm_slice;
void sn_cpu_gemm_slice(int64_t M, int64_t N, int tid, int nt, sn_gemm_slice *s);
void sn_cpu_sgemm_team(int tid, int nt, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                       const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                       float *C, int64_t ldc);
int sn_cpu_gemm_threads(int64_t M, int64_t N, int64_t K);
/* What linear takes from the arena: a conversion buffer when w is F16/BF16 (a mapped file's). */
size_t sn_cpu_linear_scratch(const sn_tensor *x, const sn_tensor *w);

/* The linked BLAS's threading: OpenBLAS's openblas_get_parallel() (0 sequential, 1 pthreads,
 * 2 OpenMP), -1 when the BLAS is not OpenBLAS or there is none. */
enum { SN_BLAS_UNKNOWN = -1, SN_BLAS_SEQUENTIAL = 0, SN_BLAS_PTHREADS = 1, SN_BLAS_OPENMP = 2 };
int sn_cpu_blas_threading(void);
/* Around every stretch of BLAS calls: makes each BLAS call single-threaded (sn_pool_threads
 * still gives the real team size inside). Sets the calling thread's
 * OpenMP thread count to 1 (OpenMP-threaded BLAS) and, with pthread OpenBLAS, its process-wide
 * thread count to 1 while any such stretch runs in the process; both are put back on leave.
 * Nests; thread-safe. */
void sn_cpu_blas_enter(void);
void sn_cpu_blas_leave(void);
/* Once per process: when OpenBLAS fell back to its Prescott kernels on a CPU it did not know,
 * switch it to the kernels the CPU supports (cpu_blas_core.c). sn_cpu_blas_enter calls it. */
void sn_cpu_blas_core_once(void);

float sn_cpu_act(sn_act act, float x);
/* y[i] = act(y[i]) for a row, the switch taken once (the linears' and GLU's hot loops) */
void sn_cpu_act_row(sn_act act, float *y, int64_t n);

sana_status sn_cpu_linear(sn_backend *be, const sn_tensor *x, const sn_tensor *w,
                          const sn_tensor *b, sn_act act, sn_tensor *y);
sana_status sn_cpu_matmul(sn_backend *be, const sn_tensor *a, const sn_tensor *bm, int32_t trans_b,
                          float alpha, sn_tensor *y);
sana_status sn_cpu_conv2d(sn_backend *be, const sn_tensor *x, const sn_tensor *w,
                          const sn_tensor *b, const sn_conv_params *p, sn_tensor *y);
sana_status sn_cpu_unary(sn_backend *be, sn_act act, const sn_tensor *x, sn_tensor *y);
sana_status sn_cpu_binary(sn_backend *be, sn_binop op, const sn_tensor *a, const sn_tensor *b,
                          sn_tensor *y);
sana_status sn_cpu_scale(sn_backend *be, const sn_tensor *x, float alpha, float beta, sn_tensor *y);
sana_status sn_cpu_permute(sn_backend *be, const sn_tensor *x, const int32_t *perm, sn_tensor *y);
sana_status sn_cpu_layer_norm(sn_backend *be, const sn_tensor *x, const sn_tensor *w,
                              const sn_tensor *b, const sn_tensor *shift, const sn_tensor *scale,
                              float eps, sn_tensor *y);
sana_status sn_cpu_rms_norm(sn_backend *be, const sn_tensor *x, const sn_tensor *w,
                            const sn_tensor *b, float w_offset, float eps, sn_tensor *y);
sana_status sn_cpu_attention(sn_backend *be, const sn_tensor *q, const sn_tensor *k,
                             const sn_tensor *v, const sn_attn_params *p, sn_tensor *y);
/* the arena scratch sn_cpu_attention takes for the SN_OP_ATTENTION call s */
size_t sn_cpu_attention_scratch(const sn_op_shape *s);

/* --- text encoder ops (issue 4) --- */
sana_status sn_cpu_rope(sn_backend *be, const sn_tensor *x, float theta, int64_t pos0,
                        sn_tensor *y);

/* --- DiT ops (issue 5) --- */
sana_status sn_cpu_linear_attention(sn_backend *be, const sn_tensor *q, const sn_tensor *k,
                                    const sn_tensor *v, int32_t heads, float eps, sn_tensor *y);
sana_status sn_cpu_dwconv2d_nhwc(sn_backend *be, const sn_tensor *x, const sn_tensor *w,
                                 const sn_tensor *b, int32_t pad, sn_tensor *y);
sana_status sn_cpu_glu(sn_backend *be, const sn_tensor *x, sn_act act, sn_tensor *y);
sana_status sn_cpu_gated_add(sn_backend *be, sn_tensor *x, const sn_tensor *y,
                             const sn_tensor *gate);
/* --- end DiT ops --- */

/* --- DC-AE ops (issue 6) --- */
size_t sn_cpu_scratch_bytes(sn_backend *be, const sn_op_shape *s);
sana_status sn_cpu_conv2d_band(sn_backend *be, const sn_tensor *x, int64_t x_row0, int64_t h_full,
                               const sn_tensor *w, const sn_tensor *b, int32_t up, int32_t stride,
                               int32_t pad, sn_tensor *y, int64_t y_row0);
/* the op itself: 3x3 stride-1 convolutions by Winograd F(2x2, 3x3) (cpu_conv_wino.c), the
 * others by sn_cpu_conv2d_band (im2col, one GEMM per output row) */
/* 1 and *bytes = its arena scratch when sn_cpu_conv2d_band_fast takes the Winograd path for the
 * conv2d_band call s, else 0 */
int sn_cpu_conv2d_band_wino_scratch(const sn_op_shape *s, size_t *bytes);
sana_status sn_cpu_conv2d_band_fast(sn_backend *be, const sn_tensor *x, int64_t x_row0,
                                    int64_t h_full, const sn_tensor *w, const sn_tensor *b,
                                    int32_t up, int32_t stride, int32_t pad, sn_tensor *y,
                                    int64_t y_row0);
sana_status sn_cpu_channel_norm(sn_backend *be, const sn_tensor *x, const sn_tensor *w,
                                const sn_tensor *b, float eps, sn_act act, sn_tensor *y);
sana_status sn_cpu_linear_attention_relu(sn_backend *be, const sn_tensor *qkv, float eps,
                                         sn_tensor *y);
sana_status sn_cpu_shortcut_dup(sn_backend *be, const sn_tensor *x, int64_t x_row0, int32_t f,
                                sn_tensor *y, int64_t y_row0);
sana_status sn_cpu_shortcut_avg(sn_backend *be, const sn_tensor *x, int32_t f, sn_tensor *y);
sana_status sn_cpu_linear_attention_state(sn_backend *be, const sn_tensor *qkv, sn_tensor *s);
sana_status sn_cpu_linear_attention_apply(sn_backend *be, const sn_tensor *qkv, const sn_tensor *s,
                                          float eps, sn_tensor *y);

#endif
