/* What an sn_dcae holds, and the pieces shared by the files of lib/ae. */
#ifndef SN_AE_DCAE_INTERNAL_H
#define SN_AE_DCAE_INTERNAL_H

#include "ae/dcae.h"

#define SN_DCAE_NORM_EPS 1e-5f  /* every RMSNorm2d */
#define SN_DCAE_ATTN_EPS 1e-15f /* linear attention denominator */
#define SN_DCAE_GLU_EXPAND 4    /* GLUMBConv hidden = 4C */

/* ResBlock(C): x + RMSNorm(conv2(act(conv1(x)))) */
typedef struct sn_dcae_res {
    sn_tensor conv1_w, conv1_b, conv2_w, norm_w, norm_b;
} sn_dcae_res;

/* EfficientViTBlock(C): multi-scale ReLU linear attention, then GLUMBConv; each residual. */
typedef struct sn_dcae_evit {
    sn_tensor qkv_w;                /* [3C, C, 1, 1]: to_q, to_k, to_v stacked (one qkv conv) */
    int32_t n_ms;                   /* multi-scale branches */
    int32_t ms_kernel[4];
    sn_tensor ms_in_w[4], ms_out_w[4]; /* [3C, 1, k, k] depthwise, [3C, 32, 1, 1] grouped */
    sn_tensor out_w;                /* [C, (1 + n_ms) C, 1, 1] (to_out) */
    sn_tensor attn_norm_w, attn_norm_b;
    sn_tensor inv_w, inv_b;         /* [8C, C, 1, 1], [8C] */
    sn_tensor dw_w, dw_b;           /* [8C, 1, 3, 3], [8C] */
    sn_tensor point_w;              /* [C, 4C, 1, 1] */
    sn_tensor ffn_norm_w, ffn_norm_b;
} sn_dcae_evit;

typedef struct sn_dcae_block_w {
    sn_dcae_block type;
    int32_t channels;
    sn_act act; /* ResBlock activation */
    sn_dcae_res res;
    sn_dcae_evit evit;
} sn_dcae_block_w;

/* One stage: its blocks and its resampler (decoder: upsampler run first, from the deeper stage's
 * width; encoder: downsampler run last, to the next stage's width). */
typedef struct sn_dcae_stage {
    int32_t depth;
    sn_dcae_block_w *blocks;
    int32_t has_resample;
    sn_tensor rs_w, rs_b;
} sn_dcae_stage;

struct sn_dcae {
    sn_backend *be;
    sn_dcae_config cfg;
    int64_t n_params;
    /* encoder */
    sn_tensor enc_in_w, enc_in_b, enc_out_w, enc_out_b;
    sn_dcae_stage enc[SN_DCAE_MAX_STAGES];
    /* decoder */
    sn_tensor dec_in_w, dec_in_b, dec_norm_w, dec_norm_b, dec_out_w, dec_out_b;
    sn_dcae_stage dec[SN_DCAE_MAX_STAGES];
    /* EfficientViT blocks run in row chunks of about this many floats of temporaries (default
     * 16 Mi = 64 MiB fp32): the attention's multi-scale qkv and the GLUMBConv hidden tensor.
     * Tests make it small. */
    int64_t evit_chunk_floats;
};

#define SN_DCAE_EVIT_CHUNK_DEFAULT ((int64_t)16 << 20)
/* Tests: chunk the EfficientViT temporaries by this many floats (0 = the default). */
void sn_dcae_set_evit_chunk(sn_dcae *ae, int64_t floats);

/* Activation bookkeeping for one call: every activation tensor is taken and given back through
 * here, so the call knows the most bytes it held at once. In a dry run nothing is allocated
 * (data stays NULL) and no op runs; the accounting is the same, which is how a band height is
 * chosen for a memory budget. */
#define SN_DCAE_MEM_SLOTS 32
typedef struct sn_dcae_mem {
    sn_backend *be;
    int dry;
    size_t live, peak;
    void *held[SN_DCAE_MEM_SLOTS]; /* data of the tensors alive now (freed by release on error) */
} sn_dcae_mem;

sana_status sn_dcae_mem_tensor(sn_dcae_mem *m, int64_t c, int64_t h, int64_t w, sn_tensor *t);
void sn_dcae_mem_free(sn_dcae_mem *m, sn_tensor *t);
/* Frees whatever is still held (a call that failed half-way). */
void sn_dcae_mem_release(sn_dcae_mem *m);
/* A view of channels [c0, c0 + n) of a [1, C, H, W] tensor. */
sn_tensor sn_dcae_channels(const sn_tensor *t, int64_t c0, int64_t n);
/* Copies rows [src_r0, src_r0 + n) of every channel of src to rows [dst_r0, dst_r0 + n) of dst
 * (both [1, C, ., W]). */
sana_status sn_dcae_copy_rows(const sn_tensor *src, int64_t src_r0, sn_tensor *dst, int64_t dst_r0,
                              int64_t n);

/* Blocks on whole [1, C, H, W] tensors: *x is replaced by the block's output (the input is
 * given back to m). `tap` names are diffusers module names. */
typedef struct sn_dcae_tap {
    sn_dcae_tap_fn fn;
    void *user;
    int64_t b;
} sn_dcae_tap;
void sn_dcae_tap_call(const sn_dcae_tap *tap, const sn_tensor *t, const char *fmt, ...)
    SN_PRINTF(3, 4);

sana_status sn_dcae_evit_forward(sn_dcae_mem *m, const sn_dcae *ae, const sn_dcae_block_w *blk,
                                 sn_tensor *x, const sn_dcae_tap *tap, const char *name);
/* ResBlock on a band: x holds rows [*x_row0, ...) of a whole tensor of h_full rows; the output
 * holds rows [o0, o1) (which must be inside what x allows: 2 halo rows each side). */
sana_status sn_dcae_res_band(sn_dcae_mem *m, const sn_dcae_block_w *blk, sn_tensor *x,
                             int64_t *x_row0, int64_t h_full, int64_t o0, int64_t o1);
/* Upsampler (nearest x2 + conv3x3, plus the duplicating shortcut) on a band: output rows
 * [o0, o1) of the whole 2*h_full-row output. */
sana_status sn_dcae_up_band(sn_dcae_mem *m, const sn_dcae_stage *st, sn_tensor *x,
                            int64_t *x_row0, int64_t h_full, int64_t o0, int64_t o1);

#endif
