/* The SANA linear DiT (diffusers SanaTransformer2DModel), every released variant.
 * Spec: shared/spec/dit.md; key mapping and variants: docs/dit.md.
 *
 * Use (one generation):
 *   sn_dit_load(be, "model/transformer", NULL, &dit);               once per model
 *   sn_dit_prepare_text(dit, embeds, mask, &text);                   once per prompt (batch)
 *   sn_dit_prepare_positions(dit, text, H, W);                       optional, once per size
 *   for each step: sn_dit_forward(dit, text, x, t, g, pag, out);     reuses the cached text K/V
 *   sn_dit_text_free(text);
 *
 * Batching. The text and the latents share one batch B: CFG runs [uncond, cond] as one batch of
 * two (the caller concatenates the embeddings and masks once, and the latents every step).
 * Image tokens have no mask, so every entry of a batch has the same H and W.
 *
 * Threads: a loaded sn_dit is read-only; forwards on one backend are serialised by the caller
 * (they share the backend's scratch arena). */
#ifndef SN_DIT_H
#define SN_DIT_H

#include <stdint.h>

#include "backend/backend.h"

typedef struct sn_dit sn_dit;
typedef struct sn_dit_text sn_dit_text;

/* Loads transformer/ (config.json + weights, F32/F16/BF16 on disk, converted to the backend's
 * weight dtype) onto `be`. `variant` is NULL, "fp16" or "bf16" (file names). On a backend that
 * reads weights in place (be->host_weights: the CPU), the GEMM matrices are not converted but
 * read from the mapped file in its dtype (sn_weights_mapf); the model then keeps the file open
 * until sn_dit_free. A config the code cannot run (an unknown key with a non-default value, an
 * unsupported qk_norm...), a missing tensor or a wrong shape is refused here with a message
 * naming the key or tensor. */
sana_status sn_dit_load(sn_backend *be, const char *dir, const char *variant, sn_dit **out);
void sn_dit_free(sn_dit *dit);
/* For benchmarks and tests: a model with this config.json text and random weights made in
 * memory (uniform +-1/sqrt(fan_in), deterministic in `seed`). */
sana_status sn_dit_create_random(sn_backend *be, const char *config_json, uint64_t seed,
                                 sn_dit **out);

/* --- configuration (config.json, with the reference's defaults) ----------------------------- */
int64_t sn_dit_param_count(const sn_dit *dit);
/* Bytes of weights the model allocated on its backend; *mapped (if not NULL): bytes it reads in
 * place from the mapped file instead (0 for random weights and on the GPU). */
int64_t sn_dit_weight_bytes(const sn_dit *dit, int64_t *mapped);
int32_t sn_dit_in_channels(const sn_dit *dit);     /* latent channels (32) */
int32_t sn_dit_out_channels(const sn_dit *dit);    /* = in_channels for every released model */
int32_t sn_dit_patch_size(const sn_dit *dit);      /* H and W of the latents are multiples of it */
int32_t sn_dit_sample_size(const sn_dit *dit);     /* latent size the model was trained at */
int32_t sn_dit_caption_channels(const sn_dit *dit); /* width of the text embeddings (2304) */
int32_t sn_dit_hidden_size(const sn_dit *dit);     /* D = heads x head_dim */
int32_t sn_dit_num_layers(const sn_dit *dit);
/* Sprint: the model takes a guidance value (sn_dit_forward's `guidance` is required), and the
 * pipeline passes guidance_scale * guidance_embeds_scale. */
int sn_dit_guidance_embeds(const sn_dit *dit);
float sn_dit_guidance_embeds_scale(const sn_dit *dit);
/* The pipeline (not the model) multiplies its timesteps by this (Sprint teachers: 0.001). */
float sn_dit_timestep_scale(const sn_dit *dit);

/* --- per-prompt state ------------------------------------------------------------------------ */

/* Runs the caption path (projection, GELU-tanh, RMSNorm) and every block's cross-attention K/V
 * once, over the caption rows [0, R) that the mask lets some entry attend (sn_dit_text_keys).
 * embeds: [B, T, caption_channels] (Gemma-2 last hidden state, selected rows), on the dit's
 * backend, in its activation dtype (float32 on the CPU). mask: B*T host floats, 1 = keep, 0 = pad
 * (the reference turns it into an additive (1 - m) * -10000), or NULL for no mask; it must be the
 * mask each entry's attention uses. The result owns its memory (persistent tensors on the
 * backend); free it with sn_dit_text_free. */
sana_status sn_dit_prepare_text(const sn_dit *dit, const sn_tensor *embeds, const float *mask,
                                sn_dit_text **out);
void sn_dit_text_free(sn_dit_text *text);
/* Makes the positional-embedding table of configs that have one (interpolation_scale, e.g. the
 * 4K models) for latents of height x width once, kept with the text, so that the forwards of a
 * generation reuse it instead of uploading it every step (147 MB at 4096², and an upload that
 * large could not be captured in a CUDA graph). Optional: without it, or for another size, the
 * forward makes the table itself. A no-op (after checking the size) for configs without one. */
sana_status sn_dit_prepare_positions(const sn_dit *dit, sn_dit_text *text, int64_t height,
                                     int64_t width);
int32_t sn_dit_text_batch(const sn_dit_text *text);
/* R: the caption rows [0, R) the cross-attention attends (and whose K/V were computed), 1 + the
 * last key that any batch entry's mask admits; T without a mask or when an entry admits none.
 * The dropped keys had weight exactly 0 (bias -10000), so the output is the same up to summation
 * order. */
int32_t sn_dit_text_keys(const sn_dit_text *text);

/* --- perturbed-attention guidance (diffusers SanaPAGPipeline) -------------------------------- */

/* In each listed block, the self-attention of batch entries [perturbed_from, B) is replaced by
 * identity attention, out = to_out(to_v(u)), as PAGIdentitySanaLinearAttnProcessor2_0 and
 * PAGCFGSanaLinearAttnProcessor2_0 do: with CFG the batch is [uncond, cond, perturbed] and
 * perturbed_from = 2B/3; without, [cond, perturbed] and perturbed_from = B/2. Like those
 * processors, the other entries of a listed block skip attn1's qk-norm (the reference's PAG
 * processors do not apply norm_q/norm_k). Blocks are 0-based ("transformer_blocks.8" is 8). */
typedef struct sn_dit_pag {
    const int32_t *blocks;
    int32_t n_blocks;
    int32_t perturbed_from;
} sn_dit_pag;

/* --- the forward ------------------------------------------------------------------------------ */

/* out = DiT(latents, timesteps, text): the flow velocity (base models) or the Sprint output.
 *   latents   [B, in_channels, H, W] on the backend, float32 (any H, W, multiples of patch_size)
 *   timesteps B host floats, as the reference model takes them (0..1000 for base models, already
 *             truncated by the DPM solver if it does so; t_f in [0, 1] for Sprint)
 *   guidance  B host floats for guidance_embeds models (Sprint), else NULL
 *   pag       NULL, or the perturbed-attention hook above
 *   out       [B, out_channels, H, W] on the backend, float32
 * Scratch comes from the backend arena and is given back before returning. Polls cancellation
 * between blocks (SANA_ERR_CANCELLED). */
sana_status sn_dit_forward(const sn_dit *dit, const sn_dit_text *text, const sn_tensor *latents,
                           const float *timesteps, const float *guidance, const sn_dit_pag *pag,
                           sn_tensor *out);

/* The same forward, calling `on_block` with the residual stream x [B, N, D] (token-major, on the
 * backend, in its activation dtype, valid during the call only) at the input of each block:
 * block -1 after the patch embedding (what block 0 reads), block i after transformer block i
 * (what block i + 1, or the output head after the last, reads). The callback may overwrite x's
 * values (not its shape, dtype or storage): the forward goes on from what it leaves there (tests
 * feed each block of one backend the other backend's input). A status other than SANA_OK stops
 * the forward and is returned. NULL: exactly sn_dit_forward. For tests: a callback that reads or
 * writes x from the host synchronises in the middle of the forward, which a CUDA graph capture
 * (sn_graph_run) cannot hold, so the pipeline's captured step calls sn_dit_forward. */
typedef sana_status (*sn_dit_block_fn)(int32_t block, sn_tensor *x, void *user_data);
sana_status sn_dit_forward_staged(const sn_dit *dit, const sn_dit_text *text,
                                  const sn_tensor *latents, const float *timesteps,
                                  const float *guidance, const sn_dit_pag *pag,
                                  sn_dit_block_fn on_block, void *user_data, sn_tensor *out);

/* --- introspection for tests ------------------------------------------------------------------ */

/* Called after named stages of the forward with the tensor there (token-major [B, N, D] for
 * hidden states): "patch_embed", "time_embed.timestep" [B, 6D], "time_embed.embedded_timestep"
 * [B, D], "block.%d" (residual stream after block i), "block.0.attn1", "block.0.attn2",
 * "block.0.ff" (branch outputs before gate/residual), "norm_out", "proj_out"; from
 * sn_dit_prepare_text: "caption_projection", "caption_norm". The names are those of the
 * oracle's goldens. NULL (the default) costs nothing. */
typedef void (*sn_dit_probe_fn)(void *user, const char *name, const sn_tensor *t);
void sn_dit_set_probe(sn_dit *dit, sn_dit_probe_fn fn, void *user);
/* on = 1 (the default): sn_dit_prepare_text keeps only the caption rows [0, R) (above); 0: all T,
 * as before the trim (for tests comparing the two). Applies to texts prepared afterwards. */
void sn_dit_set_key_trim(sn_dit *dit, int on);

#endif
