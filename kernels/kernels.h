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
/* y = a op b with b broadcast: b_strides[d] is b's stride along a's axis d (0 = broadcast);
 * b of dtype b_dt (any float type), a and y of dt */
int sn_k_binary(const void *a, const void *b, int b_dt, void *y, int dt, int op, int ndim,
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
/* softmax attention, one warp per query row, online softmax in float (any dtype, Dv <= 256) */
int sn_k_attention(const void *q, const void *k, const void *v, void *y, int dt, int64_t B,
                   int64_t Hq, int64_t Hk, int64_t Nq, int64_t Nk, int64_t D, int64_t Dv,
                   float scale, float softcap, int causal, int window, const void *mask,
                   int mask_dt, int64_t mask_rows, cudaStream_t s);
/* The same op on the tensor cores (kernels/flash_attention.cu): bf16 / fp16 storage, D == Dv in
 * {32, 64, 128, 256}, 16-byte aligned q, k, v, y, sm_80 or newer. Returns SN_K_NOT_APPLICABLE
 * (launching nothing) for any other call: the caller then uses sn_k_attention. */
#define SN_K_NOT_APPLICABLE (-1)
int sn_k_flash_attention(const void *q, const void *k, const void *v, void *y, int dt, int64_t B,
                         int64_t Hq, int64_t Hk, int64_t Nq, int64_t Nk, int64_t D, int64_t Dv,
                         float scale, float softcap, int causal, int window, const void *mask,
                         int mask_dt, int64_t mask_rows, cudaStream_t s);
/* columns for convolution as GEMM: cols[C*kh*kw, Ho*Wo] of C channels of one image */
int sn_k_im2col(const void *x, void *cols, int dt, int64_t C, int64_t H, int64_t W, int64_t kh,
                int64_t kw, int64_t stride, int64_t pad, int64_t Ho, int64_t Wo, cudaStream_t s);
/* depthwise convolution NCHW */
int sn_k_depthwise(const void *x, const void *w, const void *bias, void *y, int dt, int wdt,
                   int64_t B, int64_t C, int64_t H, int64_t W, int64_t k, int64_t stride,
                   int64_t pad, int64_t Ho, int64_t Wo, cudaStream_t s);
/* y[b, c, :] += bias[c] over P pixels */
int sn_k_bias_channels(void *y, int dt, const void *bias, int bias_dt, int64_t B, int64_t C,
                       int64_t P, cudaStream_t s);

/* --- model ops added after the first set (DiT, DC-AE, text encoder) ---------------------------- */

/* rotate-half RoPE over x[rows, D] with rows = B*H*N; row r is at position pos0 + r % N */
int sn_k_rope(const void *x, void *y, int dt, int64_t rows, int64_t N, int64_t D, float theta,
              int64_t pos0, cudaStream_t s);
/* y[R, F] = x[R, :F] * act(x[R, F:]) */
int sn_k_glu(const void *x, void *y, int dt, int64_t R, int64_t F, int act, cudaStream_t s);
/* x[R, C] += gate[r / per_batch, C] * y (gate may be NULL); gate has x's dtype */
int sn_k_gated_add(void *x, const void *y, const void *gate, int dt, int64_t R, int64_t C,
                   int64_t per_batch, cudaStream_t s);
/* depthwise conv, channel-last x[B, H, W, C], w[C, 1, kh, kw], stride 1 */
int sn_k_dwconv_nhwc(const void *x, const void *w, const void *bias, void *y, int dt, int wdt,
                     int64_t B, int64_t H, int64_t W, int64_t C, int64_t kh, int64_t kw,
                     int64_t pad, int64_t Ho, int64_t Wo, cudaStream_t s);

/* ReLU linear attention over strided views: element (batch b, head h, token n, channel c) of a
 * tensor is at b*v.b + h*v.h + n*v.n + c*v.c. `scratch` holds sn_k_linattn_scratch_floats()
 * floats (per-chunk partial sums; fp32). Head dims up to ~100 (shared memory). */
typedef struct sn_linattn_view {
    int64_t b, h, n, c;
} sn_linattn_view;
#define SN_LINATTN_CHUNK 256 /* tokens per partial state */
int64_t sn_k_linattn_scratch_floats(int64_t B, int64_t H, int64_t N, int64_t d, int64_t dv);
int sn_k_linattn(const void *q, sn_linattn_view qv, const void *k, sn_linattn_view kv,
                 const void *v, sn_linattn_view vv, void *y, sn_linattn_view yv, int dt, int64_t B,
                 int64_t H, int64_t N, int64_t d, int64_t dv, float eps, float *scratch,
                 cudaStream_t s);

/* the two-pass form: state[B*H][dv + 1][d] (+)= [v; 1] · relu(k)ᵀ over N tokens (added to what
 * it holds; scratch as above), then y = (state · relu(q))[:dv] / ((state · relu(q))[dv] + eps);
 * the state of any float dtype */
int sn_k_linattn_state(const void *k, sn_linattn_view kv, const void *v, sn_linattn_view vv,
                       int dt, int64_t B, int64_t H, int64_t N, int64_t d, int64_t dv,
                       float *scratch, void *state, int state_dt, cudaStream_t s);
int sn_k_linattn_apply(const void *q, sn_linattn_view qv, void *y, sn_linattn_view yv, int dt,
                       int64_t B, int64_t H, int64_t N, int64_t d, int64_t dv, float eps,
                       const void *state, int state_dt, cudaStream_t s);

/* DC-AE: columns cols[rows, Ci*kh*kw, Wo] of output rows oy0 .. oy0 + rows - 1 of one image of
 * conv2d(up(x_full)); x holds rows [x_row0, ...) of x_full (h_full rows) */
int sn_k_im2col_band(const void *x, void *cols, int dt, int64_t rows, int64_t Ci, int64_t Hx,
                     int64_t Wx, int64_t kh, int64_t kw, int up, int stride, int pad,
                     int64_t x_row0, int64_t h_full, int64_t oy0, int64_t Wo, cudaStream_t s);
/* DC-AE, cuDNN form: xin[Ci, Rin, Wx*up] = rows iy0 .. iy0 + Rin - 1 of up(x_full) (zero outside
 * the image and outside x's rows [x_row0, x_row0 + Hx)); one image */
int sn_k_band_gather(const void *x, void *xin, int dt, int64_t Ci, int64_t Hx, int64_t Wx, int up,
                     int64_t x_row0, int64_t h_full, int64_t iy0, int64_t Rin, cudaStream_t s);
/* y[co, dst_row0 + r, :] = out[co, src_row0 + r, :] (+ bias[co]), r < rows; out [Co, R, Wo],
 * y [Co, Hy, Wo]; one image */
int sn_k_band_scatter(const void *out, int64_t R, int64_t src_row0, void *y, int dt, int64_t Hy,
                      int64_t dst_row0, int64_t Co, int64_t rows, int64_t Wo, const void *bias,
                      int bias_dt, cudaStream_t s);
/* per-pixel RMSNorm over the channels of NCHW x[B, C, P] */
int sn_k_channel_norm(const void *x, void *y, int dt, const void *w, const void *b, int wdt,
                      int64_t B, int64_t C, int64_t P, float eps, int act, cudaStream_t s);
int sn_k_shortcut_dup(const void *x, void *y, int dt, int64_t B, int64_t Ci, int64_t Hx,
                      int64_t Wx, int64_t Co, int64_t Hy, int64_t Wy, int f, int64_t x_row0,
                      int64_t y_row0, cudaStream_t s);
int sn_k_shortcut_avg(const void *x, void *y, int dt, int64_t B, int64_t Ci, int64_t Hx,
                      int64_t Wx, int64_t Co, int64_t Hy, int64_t Wy, int f, cudaStream_t s);

#ifdef __cplusplus
}
#endif

#endif
