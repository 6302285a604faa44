/* What an sn_dcae holds, and the pieces shared by the files of lib/ae. */
#ifndef SN_AE_DCAE_INTERNAL_H
#define SN_AE_DCAE_INTERNAL_H

#include <stdint.h>

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
    int64_t n_params, n_dec_params; /* all tensors / the "decoder." ones */
    /* encoder */
    sn_tensor enc_in_w, enc_in_b, enc_out_w, enc_out_b;
    sn_dcae_stage enc[SN_DCAE_MAX_STAGES];
    /* decoder */
    sn_tensor dec_in_w, dec_in_b, dec_norm_w, dec_norm_b, dec_out_w, dec_out_b;
    sn_dcae_stage dec[SN_DCAE_MAX_STAGES];
    /* Decoder stage 0 is empty (dec_depth[0] == 0, DC-AE-Lite): the last stage runs at half
     * resolution and the head's conv_out is an upsampler without shortcut,
     * `decoder.conv_out.conv` = conv3x3 to 4 * in_channels then pixel_shuffle(2). */
    int32_t head_up;
    /* EfficientViT blocks run in row chunks of about this many floats of temporaries (default
     * 16 Mi = 64 MiB fp32): the attention's multi-scale qkv and the GLUMBConv hidden tensor.
     * Tests make it small. */
    int64_t evit_chunk_floats;
};

#define SN_DCAE_EVIT_CHUNK_DEFAULT ((int64_t)16 << 20)
/* Tests: chunk the EfficientViT temporaries by this many floats (0 = the default). */
void sn_dcae_set_evit_chunk(sn_dcae *ae, int64_t floats);

/* The memory of one call (the decode or encode of one image). Every activation tensor is placed
 * at an offset in one block of the backend's scratch arena by a first-fit allocator that runs
 * alike in a dry run (nothing allocated, no op runs) and in the real run. The dry run sizes the
 * block (`high`: the end of the highest tensor placed) and asks the backend for the temporary
 * memory of every op (`op_scratch`: the most one op takes); the real run takes the block once,
 * with room for that scratch after it in the same chunk, and places each tensor where the dry run
 * did. So a call allocates nothing once the arena has grown to it (no cudaMalloc / cudaFree per
 * band on a GPU), and high + op_scratch is every byte it holds: what a budget is checked against.
 * Tensors are taken and given back in any order; a freed range is reused by later tensors (the
 * bands pack exactly: high == peak; the attention stages leave some gaps, see performance.md). */
#define SN_DCAE_MEM_SLOTS 32
typedef struct sn_dcae_mem {
    sn_backend *be;
    int dry;
    uintptr_t base;     /* address of offset 0 (dry: a stand-in that no op reads) */
    size_t cap;         /* real run: bytes of the block at base */
    size_t live, peak;  /* bytes of the tensors alive now / at most (peak <= high) */
    size_t high;        /* end of the highest tensor placed: the block's size */
    size_t op_scratch;  /* dry: the most temporary memory one op takes (sn_op_scratch_bytes) */
    int32_t n;          /* tensors alive, sorted by offset: */
    struct {
        size_t off, size;
    } blk[SN_DCAE_MEM_SLOTS];
    sn_arena_mark mark; /* real run: the arena before the block */
} sn_dcae_mem;

/* A dry run on `be`. */
void sn_dcae_mem_dry(sn_dcae_mem *m, sn_backend *be);
/* Bytes a call that went as the dry run `m` holds at most: the block plus the largest op scratch. */
size_t sn_dcae_mem_need(const sn_dcae_mem *m);
/* The real run of what the dry run `plan` went through (the same tensors in the same order): takes
 * the block from plan->be's arena. sn_dcae_mem_end gives it back (also after a failure). */
sana_status sn_dcae_mem_begin(sn_dcae_mem *m, const sn_dcae_mem *plan);
void sn_dcae_mem_end(sn_dcae_mem *m);

/* A [1, c, h, w] tensor of the activation dtype (or `dtype`), and giving one back. */
sana_status sn_dcae_mem_tensor(sn_dcae_mem *m, int64_t c, int64_t h, int64_t w, sn_tensor *t);
sana_status sn_dcae_mem_tensor_dt(sn_dcae_mem *m, sn_dtype dtype, int64_t c, int64_t h, int64_t w,
                                  sn_tensor *t);
void sn_dcae_mem_free(sn_dcae_mem *m, sn_tensor *t);
/* Moves x (a copy) up to an offset >= `below` bytes unless it lies there already, so that a
 * tensor of `below` bytes taken next fits under it: where a stage grows the running tensor (an
 * upsampler), first fit would otherwise leave a gap under it that the stage's larger tensors
 * never fit in. */
sana_status sn_dcae_mem_lift(sn_dcae_mem *m, sn_tensor *x, size_t below);

/* Ops that take temporary memory, through m: a dry run records what they would take, a real run
 * runs them. (The other ops take none; model code wraps them in SN_DCAE_RUN.) */
sana_status sn_dcae_conv(sn_dcae_mem *m, const sn_tensor *x, const sn_tensor *w, const sn_tensor *b,
                         int32_t stride, int32_t pad, int32_t groups, sn_tensor *y);
sana_status sn_dcae_conv_band(sn_dcae_mem *m, const sn_tensor *x, int64_t x_row0, int64_t h_full,
                              const sn_tensor *w, const sn_tensor *b, int32_t up, int32_t stride,
                              int32_t pad, sn_tensor *y, int64_t y_row0);
sana_status sn_dcae_linattn(sn_dcae_mem *m, const sn_tensor *qkv, float eps, sn_tensor *y);
sana_status sn_dcae_linattn_state(sn_dcae_mem *m, const sn_tensor *qkv, sn_tensor *s);
sana_status sn_dcae_linattn_apply(sn_dcae_mem *m, const sn_tensor *qkv, const sn_tensor *s, float eps,
                                  sn_tensor *y);
/* Runs an op that takes no temporary memory, except in a dry run. */
#define SN_DCAE_RUN(m, expr)                                                                       \
    do {                                                                                           \
        if (!(m)->dry) SN_TRY(expr);                                                               \
    } while (0)

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
void sn_dcae_tap_call(const sn_dcae_tap *tap, sn_tensor *t, const char *fmt, ...)
    SN_PRINTF(3, 4);

sana_status sn_dcae_evit_forward(sn_dcae_mem *m, const sn_dcae *ae, const sn_dcae_block_w *blk,
                                 sn_tensor *x, const sn_dcae_tap *tap, const char *name);
/* ResBlock on a band: x holds rows [*x_row0, ...) of a whole tensor of h_full rows; the output
 * holds rows [o0, o1) (which must be inside what x allows: 2 halo rows each side). */
sana_status sn_dcae_res_band(sn_dcae_mem *m, const sn_dcae_block_w *blk, sn_tensor *x,
                             int64_t *x_row0, int64_t h_full, int64_t o0, int64_t o1);
/* Upsampler (DCUpBlock2d) on a band: output rows [o0, o1) of the whole 2*h_full-row output.
 * interpolate: conv3x3(nearest_x2(x)) (w [Co, Ci, 3, 3]); else pixel_shuffle(conv3x3(x), 2)
 * (w [4 Co, Ci, 3, 3]). shortcut: + pixel_shuffle(repeat_interleave(x)) (the duplicating
 * shortcut; the decoder's upsampling head has none). */
sana_status sn_dcae_up_band(sn_dcae_mem *m, const sn_tensor *w, const sn_tensor *b, int32_t interpolate,
                            int32_t shortcut, sn_tensor *x, int64_t *x_row0, int64_t h_full, int64_t o0,
                            int64_t o1);
/* Rows of the input of such an upsampler that output rows [o0, o1) read: [*lo, *hi). */
void sn_dcae_up_rows(int32_t interpolate, int64_t h_full, int64_t o0, int64_t o1, int64_t *lo, int64_t *hi);

/* One image's decode, z [1, L, h, w] -> y [1, 3, H, W] (dcae_decode.c), and every byte of the
 * scratch arena it takes (what sn_dcae_mem_need says of its plan). stats: maxima kept over calls. */
sana_status sn_dcae_decode_image(const sn_dcae *ae, const sn_tensor *z, const sn_dcae_decode_opts *o,
                                 int64_t b, sn_tensor *y, sn_dcae_decode_stats *stats);
sana_status sn_dcae_decode_need(const sn_dcae *ae, const sn_tensor *z, const sn_dcae_decode_opts *o,
                                size_t *bytes);
/* diffusers' tiled decode (dcae_tiled.c) */
sana_status sn_dcae_decode_tiled(const sn_dcae *ae, const sn_tensor *z, const sn_dcae_decode_opts *o,
                                 sn_tensor *y, sn_dcae_decode_stats *stats);

#endif
