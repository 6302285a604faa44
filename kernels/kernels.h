/* Launchers of the CUDA kernels, callable from the C host side (lib/backend/cuda). Tensors are
 * dense; `dt` is an sn_dtype code (F32, F16 or BF16): values are loaded to float, computed in
 * float, stored back. Each returns a cudaError_t as int (0 = success, launch errors included). */
#ifndef SN_KERNELS_H
#define SN_KERNELS_H

#include <cuda_runtime.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

int sn_k_convert(const void *src, int src_dt, void *dst, int dst_dt, int64_t n, cudaStream_t s);
int sn_k_fill(void *dst, int dt, float value, int64_t n, cudaStream_t s);
/* y[M, N] = act(y + bias[N]) (bias may be NULL) */
int sn_k_bias_act(void *y, int dt, const void *bias, int bias_dt, int64_t M, int64_t N, int act,
                  cudaStream_t s);
int sn_k_unary(const void *x, void *y, int dt, int64_t n, int act, cudaStream_t s);
/* y = a op b with b broadcast: b_strides[d] is b's stride along a's axis d (0 = broadcast) */
int sn_k_binary(const void *a, const void *b, void *y, int dt, int op, int ndim,
                const int64_t *a_shape, const int64_t *b_strides, cudaStream_t s);
int sn_k_scale(const void *x, void *y, int dt, int64_t n, float alpha, float beta, cudaStream_t s);
/* y axis i = x axis perm[i]; x_strides_of_y[i] = x's stride along y's axis i */
int sn_k_permute(const void *x, void *y, int dt, int ndim, const int64_t *y_shape,
                 const int64_t *x_strides_of_y, cudaStream_t s);
int sn_k_layer_norm(const void *x, void *y, int dt, const void *w, const void *b, int wdt,
                    const void *shift, const void *scale, int64_t rows, int64_t C,
                    int64_t rows_per_batch, float eps, cudaStream_t s);
int sn_k_rms_norm(const void *x, void *y, int dt, const void *w, const void *b, int wdt,
                  float w_offset, int64_t rows, int64_t C, float eps, cudaStream_t s);
/* softmax attention, one warp per query row, online softmax in float */
int sn_k_attention(const void *q, const void *k, const void *v, void *y, int dt, int64_t B,
                   int64_t Hq, int64_t Hk, int64_t Nq, int64_t Nk, int64_t D, int64_t Dv,
                   float scale, float softcap, int causal, int window, const void *mask,
                   int mask_dt, int64_t mask_rows, cudaStream_t s);
/* columns for convolution as GEMM: cols[Cig*kh*kw, Ho*Wo] of one image and group */
int sn_k_im2col(const void *x, void *cols, int dt, int64_t C, int64_t H, int64_t W, int64_t kh,
                int64_t kw, int64_t stride, int64_t pad, int64_t Ho, int64_t Wo, cudaStream_t s);
/* depthwise convolution NCHW */
int sn_k_depthwise(const void *x, const void *w, const void *bias, void *y, int dt, int wdt,
                   int64_t B, int64_t C, int64_t H, int64_t W, int64_t k, int64_t stride,
                   int64_t pad, int64_t Ho, int64_t Wo, cudaStream_t s);
/* y[b, c, :] += bias[c] over P pixels */
int sn_k_bias_channels(void *y, int dt, const void *bias, int bias_dt, int64_t B, int64_t C,
                       int64_t P, cudaStream_t s);

#ifdef __cplusplus
}
#endif

#endif
