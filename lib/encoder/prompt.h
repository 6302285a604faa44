/* SANA prompt conditioning: prompt text -> the DiT's text embedding [n, L, hidden] and mask [n, L].
 * Spec: shared/spec/text_encoder.md part C; reference: diffusers 0.42 SanaPipeline.encode_prompt.
 *
 * Recipe (diffusers = the default; NVlabs = params.nvlabs_compat):
 *   1. preprocess: diffusers `prompt.lower().strip()` (Python's Unicode lower and whitespace);
 *      NVlabs strip only (no lower-casing). Applied to prompts and negative prompts alike.
 *   2. with the complex human instruction (CHI, on by default): text = CHI + prompt (as text:
 *      the CHI's trailing "▁" merges with the first word), M = len(tokenize(CHI)) + L - 2
 *      (tokenize(CHI) counts <bos>); without it M = L. L = max_sequence_length (300).
 *   3. tokenize with <bos>, truncate to M ids (keeps the head: long prompts lose their end, as
 *      the reference's truncation=True does), right-pad with <pad> to M; mask 1/0.
 *   4. Gemma-2 last_hidden_state. The reference runs all M rows; here only the rows up to the
 *      batch's last real token (attention is causal, so those rows do not depend on the pads)
 *      and the pad rows are zero, unless exact_padding asks for them as the reference makes them.
 *      A pad row is never attended where the embedding goes with its own mask (the DiT's
 *      cross-attention masks it out), so this changes no image, and for a short prompt it
 *      skips most of the encoder's work (the unconditional "" is 1 real row of 300).
 *   5. keep rows [0] + [M-L+1 .. M-1] (select_index): <bos>, the prompt's tokens, padding.
 *   The negative prompt ("" by default) goes through 1, 3 (M = L, no CHI), 4, and no selection.
 *
 * Where diffusers and the NVlabs code differ (all switched by nvlabs_compat):
 *   - lower-casing: diffusers lower-cases prompt and negative prompt; NVlabs does not;
 *   - the CHI's first line quotes 'Enhanced prompt' (diffusers) or "Enhanced prompt" (NVlabs
 *     configs, the text the models were trained with);
 *   - the unconditional branch's mask: diffusers uses the negative prompt's own mask (for "" only
 *     <bos> is attended); NVlabs passes the positive prompt's mask to both CFG branches
 *     (sn_prompt_encode_cfg applies this).
 *   - NVlabs cuts a prompt at its first aspect-ratio flag ("--ar 16:9", "--hw", "--aspect_ratio")
 *     before stripping it (prepare_prompt_ar); the size still comes from the caller. diffusers
 *     encodes the flag as text. */
#ifndef SN_ENCODER_PROMPT_H
#define SN_ENCODER_PROMPT_H

#include "backend/backend.h"
#include "encoder/gemma.h"
#include "encoder/tokenizer.h"

/* The default complex human instructions, eight lines joined by "\n", ending "User Prompt: ". */
extern const char sn_chi_diffusers[];
extern const char sn_chi_nvlabs[];

typedef struct sn_prompt_params {
    int32_t complex_human_instruction; /* 1 (default): prefix the CHI to positive prompts */
    int32_t max_sequence_length;       /* L, default 300 */
    int32_t nvlabs_compat;             /* 0 (default): diffusers behaviour; 1: NVlabs' */
    int32_t exact_padding;             /* 1: pad rows computed as the reference does; 0: zero */
    const char *chi;                   /* NULL = the mode's default text */
} sn_prompt_params;

void sn_prompt_params_default(sn_prompt_params *p);

/* Python's text.strip() (with lower = 1: text.lower().strip()) on UTF-8; *out is malloc'd. */
sana_status sn_text_lower_strip(const char *text, size_t len, int lower, char **out);
int sn_unicode_is_space(int32_t cp);

/* Token ids as the pipeline's tokenizer call makes them: ids and mask [n * M] (malloc'd), M in
 * *m_out. with_chi selects step 2; the rest follows `p`. */
sana_status sn_prompt_tokenize(const sn_tokenizer *tok, const char *const *prompts, int32_t n,
                               const sn_prompt_params *p, int with_chi, int32_t **ids,
                               int32_t **mask, int64_t *m_out);

/* Positive prompts: emb [n, L, hidden] (act dtype) and mask [n, L] (F32, 1 = attend), new
 * persistent tensors on the text encoder's backend (free with sn_tensor_free). */
sana_status sn_prompt_encode(const sn_tokenizer *tok, const sn_gemma *g, const char *const *prompts,
                             int32_t n, const sn_prompt_params *p, sn_tensor *emb, sn_tensor *mask);

/* Negative prompts (no CHI, no selection; NULL = ""): same outputs, [n, L, hidden] / [n, L].
 * In NVlabs mode their pad rows are always exact: its unconditional branch attends them through
 * the positive prompt's mask. */
sana_status sn_prompt_encode_negative(const sn_tokenizer *tok, const sn_gemma *g,
                                      const char *const *negatives, int32_t n,
                                      const sn_prompt_params *p, sn_tensor *emb, sn_tensor *mask);

/* Step 4 and 5 on token ids already made (ids, mask [n * M], real tokens a prefix of each row):
 * emb [n, L, hidden] gets the selected rows of Gemma-2's output. exact = 0 runs Gemma only up to
 * the batch's longest prefix and leaves the pad rows zero. For benchmarks that make their ids. */
sana_status sn_prompt_forward(const sn_gemma *g, const int32_t *ids, const int32_t *mask, int64_t n, int64_t M,
                              int exact, sn_tensor *emb);

/* A cache of unconditional embeddings, keyed by (text encoder, negative text, L, mode): the
 * uncond embedding is computed once per negative prompt and reused by later generations.
 * Thread-safe (own mutex). Holds a few entries, most recent first. */
typedef struct sn_prompt_cache sn_prompt_cache;
sana_status sn_prompt_cache_create(sn_prompt_cache **out);
void sn_prompt_cache_free(sn_prompt_cache *c);
/* How many Gemma runs the cache has saved and made (for tests and logs). */
void sn_prompt_cache_stats(const sn_prompt_cache *c, int64_t *hits, int64_t *misses);

/* Everything a CFG generation needs for n prompts sharing one negative prompt (NULL = ""):
 * cond [n, L, hidden] + mask, uncond [n, L, hidden] + mask (the cached negative, repeated). In
 * NVlabs mode the uncond mask is the cond mask. cache NULL = the text encoder's own
 * (sn_gemma_uncond_cache), so repeated generations encode each negative prompt once. All four are
 * new persistent tensors on the text encoder's backend. */
sana_status sn_prompt_encode_cfg(sn_prompt_cache *cache, const sn_tokenizer *tok, const sn_gemma *g,
                                 const char *const *prompts, int32_t n, const char *negative,
                                 const sn_prompt_params *p, sn_tensor *cond, sn_tensor *cond_mask,
                                 sn_tensor *uncond, sn_tensor *uncond_mask);

#endif
