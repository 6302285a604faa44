/* DC-AE (diffusers AutoencoderDC): decoder, encoder, exact banded decode and diffusers' tiled
 * decode. Spec: shared/spec/dcae.md.
 *
 * Latent convention: every function here works on RAW latents, i.e. what diffusers'
 * `vae.decode()` takes and `vae.encode()` returns. The diffusion-space latent of the pipeline is
 * raw * scaling_factor, so a pipeline decodes `latents / sn_dcae_scaling_factor(ae)` (the public
 * sana_decode_latents() does that division itself) and multiplies after encoding.
 *
 * Tensors are backend tensors (sn_tensor on the model's backend), NCHW, float32 on the CPU.
 * Images are float pixels in about [-1, 1] (decoder output, unclamped) or, through the helpers at
 * the end, uint8 RGB converted the way diffusers' VaeImageProcessor does.
 *
 * A model is read-only after load: several decodes may run on one model from different
 * threads, each with its own backend/context. */
#ifndef SN_AE_DCAE_H
#define SN_AE_DCAE_H

#include <stddef.h>

#include "backend/backend.h"

typedef struct sn_dcae sn_dcae;

#define SN_DCAE_MAX_STAGES 8

typedef enum sn_dcae_block { SN_DCAE_RESBLOCK = 0, SN_DCAE_EVIT = 1 } sn_dcae_block;

/* The architecture, as read from vae/config.json (diffusers AutoencoderDC.__init__ keys; absent
 * keys take the __init__ defaults of diffusers 0.42.1). */
typedef struct sn_dcae_config {
    int32_t in_channels;     /* 3 */
    int32_t latent_channels; /* 32 */
    int32_t head_dim;        /* attention_head_dim, 32 */
    int32_t n_stages;        /* len(*_block_out_channels), 6 */
    int32_t enc_width[SN_DCAE_MAX_STAGES], dec_width[SN_DCAE_MAX_STAGES];
    int32_t enc_depth[SN_DCAE_MAX_STAGES], dec_depth[SN_DCAE_MAX_STAGES];
    sn_dcae_block enc_block[SN_DCAE_MAX_STAGES], dec_block[SN_DCAE_MAX_STAGES];
    /* qkv_multiscales: kernel sizes per stage (SANA: [] x3, [5] x3) */
    int32_t enc_n_ms[SN_DCAE_MAX_STAGES], dec_n_ms[SN_DCAE_MAX_STAGES];
    int32_t enc_ms[SN_DCAE_MAX_STAGES][4], dec_ms[SN_DCAE_MAX_STAGES][4];
    sn_act dec_act[SN_DCAE_MAX_STAGES]; /* decoder_act_fns (per stage), silu */
    sn_act dec_conv_act;                /* decoder_conv_act_fn, relu */
    int32_t upsample_interpolate;       /* upsample_block_type == "interpolate" */
    int32_t downsample_unshuffle;       /* downsample_block_type == "pixel_unshuffle" */
    int32_t enc_out_shortcut;           /* encoder_out_shortcut, default true */
    int32_t dec_in_shortcut;            /* decoder_in_shortcut, default true */
    float scaling_factor;               /* 0.41407 for every SANA VAE; default 1.0 */
} sn_dcae_config;

/* The real dc-ae-f32c32-sana-1.0 configuration (benchmarks, tests). */
void sn_dcae_config_sana(sn_dcae_config *cfg);
/* The real dc-ae-lite-f32c32-sana-1.1 configuration (spec 3.2): the SANA-1.0 encoder, and a
 * decoder of ResBlocks only, depths (0,3,5,4,4,4), pixel_shuffle upsamplers, conv act silu. */
void sn_dcae_config_sana_lite(sn_dcae_config *cfg);

/* Loads a vae/ folder (config.json + diffusion_pytorch_model[.variant].safetensors) onto `be`. */
sana_status sn_dcae_load(sn_backend *be, const char *dir, const char *variant, sn_dcae **out);
/* A model of this architecture with deterministic random weights (benchmarks, tests):
 * conv/linear weights uniform in ±1/sqrt(fan_in), biases small, norm weights near 1. */
sana_status sn_dcae_create_random(sn_backend *be, const sn_dcae_config *cfg, uint64_t seed,
                                  sn_dcae **out);
void sn_dcae_free(sn_dcae *ae);

const sn_dcae_config *sn_dcae_get_config(const sn_dcae *ae);
int64_t sn_dcae_param_count(const sn_dcae *ae);         /* encoder + decoder */
int64_t sn_dcae_decoder_param_count(const sn_dcae *ae); /* the "decoder." tensors alone */
int32_t sn_dcae_latent_channels(const sn_dcae *ae);
int32_t sn_dcae_spatial_factor(const sn_dcae *ae); /* 32: pixels per latent pixel per side */
float sn_dcae_scaling_factor(const sn_dcae *ae);

/* Checks that latents of shape [B, C, h, w] can be decoded (C == latent_channels, h, w >= 1,
 * output size fits); SANA_ERR_INVALID_ARGUMENT with a message naming `what` otherwise. */
sana_status sn_dcae_check_latents(const sn_dcae *ae, int32_t ndim, const int64_t *shape,
                                  const char *what);

/* Debug/test tap: called with diffusers module names ("decoder.stem", "decoder.up_blocks.5.0",
 * "decoder.up_blocks.4.1.attn", "decoder.norm_out", "encoder.down_blocks.0.1", ...) and the
 * module's output for batch element `b` ([1, C, H, W]). Called by one-band decodes, by encodes,
 * and by tiled decodes, whose tiles' names are prefixed "tiles.<k>." (k: the tile's index in
 * raster order within image b; a latent no larger than one tile is decoded untiled, unprefixed).
 * The tap may overwrite t's values (not its shape, dtype or storage): the model goes on from
 * what it leaves there. Tests use that to feed every stage of one backend the other backend's
 * input (teacher forcing). */
typedef void (*sn_dcae_tap_fn)(void *user, const char *name, int64_t b, sn_tensor *t);

typedef struct sn_dcae_decode_opts {
    /* Exact (bit-identical) banded decode: the attention stages run on the whole latent, the
     * conv stages in horizontal bands. 0 = no limit (one band). Otherwise bytes the decode may
     * hold at once: activations and every op's temporary memory (the output tensor and the
     * weights not counted); the band height is the largest that fits, down to a minimum band
     * (then the budget is exceeded, with a log line). All of it is taken from the backend's
     * scratch arena, which keeps it for the next call: a decode allocates nothing once the arena
     * has grown to it. */
    size_t memory_budget;
    int32_t band_rows; /* > 0: force this band height in output pixels (tests); overrides budget */
    /* diffusers' enable_tiling() decode (approximate: tiles blended linearly). */
    int32_t tiled;
    int32_t tile_size;   /* pixels; default 512 */
    int32_t tile_stride; /* pixels; default 448 */
    sn_dcae_tap_fn tap;
    void *tap_user;
} sn_dcae_decode_opts;

void sn_dcae_decode_opts_init(sn_dcae_decode_opts *o);

/* Output shape of decoding z [B, C, h, w]: [B, in_channels, h*f, w*f]. */
void sn_dcae_decode_shape(const sn_dcae *ae, const sn_tensor *z, int64_t out_shape[4]);

/* y = decoder(z): z raw latents [B, C, h, w] (already divided by scaling_factor), y a tensor
 * the caller allocated with sn_dcae_decode_shape(). Polls sn_cancel_requested() between bands
 * and blocks (SANA_ERR_CANCELLED). opts may be NULL (defaults). */
sana_status sn_dcae_decode(const sn_dcae *ae, const sn_tensor *z, const sn_dcae_decode_opts *opts,
                           sn_tensor *y);

/* What the last sn_dcae_decode on this thread measured on the backend's scratch arena: the most
 * bytes the call held at once (its block of activations plus the op scratch on top), of which
 * the ops' own temporary memory, and the band height used (output pixels). */
typedef struct sn_dcae_decode_stats {
    size_t peak_bytes;         /* everything: what the budget bounds */
    size_t peak_scratch_bytes; /* op-internal scratch (part of peak_bytes) */
    int32_t band_rows;
    int32_t n_bands;
} sn_dcae_decode_stats;
sn_dcae_decode_stats sn_dcae_last_decode_stats(void);

/* Without decoding anything: the peak (bytes: activations and op scratch, as peak_bytes) and band
 * height that a decode of one [1, C, h, w] latent would have under `budget` (0 = unlimited), on
 * the model's backend. */
sana_status sn_dcae_estimate(const sn_dcae *ae, int64_t h, int64_t w, size_t budget, size_t *peak,
                             int32_t *band_rows);

/* z = encoder(x): x [B, in_channels, H, W] pixels in [-1, 1] with H, W multiples of
 * sn_dcae_spatial_factor(); z [B, latent_channels, H/f, W/f] raw (multiply by scaling_factor for
 * the pipeline). tap may be NULL. */
sana_status sn_dcae_encode(const sn_dcae *ae, const sn_tensor *x, sn_dcae_tap_fn tap,
                           void *tap_user, sn_tensor *z);

/* diffusers' tiled_encode (enable_tiling): image tiles of tile_size pixels at tile_stride, each
 * encoded alone, latents blended over (tile_size - tile_stride) / f and cropped. Approximate.
 * Sizes must be multiples of f; an image no larger than one tile is encoded whole. */
sana_status sn_dcae_encode_tiled(const sn_dcae *ae, const sn_tensor *x, int32_t tile_size,
                                 int32_t tile_stride, sn_tensor *z);

/* --- pixels <-> uint8 RGB, as diffusers' VaeImageProcessor ------------------------------------ */

/* Decoder output plane-major [3, H, W] floats to interleaved RGB uint8 rows:
 * v = clamp(x / 2 + 0.5, 0, 1); u8 = round_half_even(v * 255) (numpy .round().astype(uint8)). */
void sn_dcae_to_rgb8(const float *chw, int64_t height, int64_t width, uint8_t *dst,
                     size_t dst_stride);
/* Interleaved RGB (or RGBA: alpha ignored) uint8 to plane-major [3, H, W] in [-1, 1]:
 * x = u8 / 255 * 2 - 1 (VaeImageProcessor.preprocess: to [0, 1], then normalize). */
void sn_dcae_from_rgb8(const uint8_t *src, size_t src_stride, int32_t channels, int64_t height,
                       int64_t width, float *chw);

#endif
