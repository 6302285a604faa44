/* The Gemma tokenizer from tokenizer.json (HF `tokenizers` BPE with byte fallback).
 *
 * Loads exactly what the file declares and refuses component types it does not implement:
 *   - added tokens, matched leftmost-longest on the raw text before normalization (flags lstrip,
 *     rstrip, normalized honoured; single_word refused);
 *   - normalizer: Replace (string pattern), Prepend, Sequence, or none;
 *   - pre-tokenizer: Split (string pattern), Sequence, or none;
 *   - model: BPE with rank-ordered merges ("a b" strings or ["a", "b"] pairs), byte fallback
 *     (<0xNN> pieces), unk + fuse_unk, ignore_merges; dropout > 0 and subword prefixes refused;
 *   - post-processor: TemplateProcessing (single template) or none; tokenizer_config.json, when
 *     present next to tokenizer.json, overrides BOS/EOS with add_bos_token / add_eos_token as
 *     transformers' GemmaTokenizerFast does;
 *   - decoder: Replace, ByteFallback, Fuse, Strip, Sequence.
 *
 * Encoding matches the Python `tokenizers` package id for id. Text that is not valid UTF-8 is
 * first decoded the way Python's bytes.decode("utf-8", "replace") does (each maximal invalid
 * subsequence becomes U+FFFD), so a C caller gets what a Python user passing such bytes gets.
 *
 * No truncation: encode returns every id (cutting to SANA's 300 is the conditioning's job).
 *
 * Thread safety: a loaded tokenizer is read-only; encode/decode may run concurrently. */
#ifndef SN_ENCODER_TOKENIZER_H
#define SN_ENCODER_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct sn_tokenizer sn_tokenizer;

/* `path`: a tokenizer.json file or a folder holding one (tokenizer_config.json is read from the
 * same folder when present). Errors name the file and the key. */
sana_status sn_tokenizer_load(const char *path, sn_tokenizer **out);
void sn_tokenizer_free(sn_tokenizer *tok);

/* Encodes `len` bytes of text. add_special = 1 applies the post-processor (Gemma: <bos> first),
 * as `tokenizer(text)` does in Python; 0 gives the bare ids (add_special_tokens=False).
 * *ids is allocated with malloc (free() it); *n_ids gets the count. For empty text with
 * add_special = 0, *ids may be NULL and *n_ids 0. */
sana_status sn_tokenizer_encode(const sn_tokenizer *tok, const char *text, size_t len,
                                int add_special, int32_t **ids, size_t *n_ids);

/* Decodes ids to UTF-8 through the file's decoder (Gemma: "▁" -> " ", <0xNN> runs back to bytes,
 * invalid byte runs -> one U+FFFD per byte, as `tokenizers` does). skip_special = 1 drops the
 * added tokens flagged special (<bos>, <eos>, <pad>, ...). An id outside [0, vocab size) is an
 * error (SANA_ERR_INVALID_ARGUMENT). *text is malloc'd and NUL-terminated; *len excludes the NUL. */
sana_status sn_tokenizer_decode(const sn_tokenizer *tok, const int32_t *ids, size_t n_ids,
                                int skip_special, char **text, size_t *len);

/* Number of ids (model vocab plus added tokens beyond it): 256000 for Gemma. */
int32_t sn_tokenizer_vocab_size(const sn_tokenizer *tok);

/* Special ids, -1 when the file has no such token. bos/eos/pad/unk come from
 * tokenizer_config.json (bos_token, ...) when present, else from the pieces "<bos>", "<eos>",
 * "<pad>", "<unk>" (Gemma: bos 2, eos 1, pad 0, unk 3). */
int32_t sn_tokenizer_bos_id(const sn_tokenizer *tok);
int32_t sn_tokenizer_eos_id(const sn_tokenizer *tok);
int32_t sn_tokenizer_pad_id(const sn_tokenizer *tok);
int32_t sn_tokenizer_unk_id(const sn_tokenizer *tok);

/* Whether add_special = 1 puts BOS first (the template / add_bos_token). */
int sn_tokenizer_adds_bos(const sn_tokenizer *tok);

/* The piece text of an id (NUL-terminated, owned by the tokenizer), NULL when out of range;
 * *len (optional) gets its byte length. And the id of a piece, -1 when absent. */
const char *sn_tokenizer_piece(const sn_tokenizer *tok, int32_t id, size_t *len);
int32_t sn_tokenizer_piece_id(const sn_tokenizer *tok, const char *piece, size_t len);

#endif
