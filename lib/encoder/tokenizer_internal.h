/* What a loaded tokenizer holds, shared by the tokenizer_*.c files (not for other modules: they
 * use tokenizer.h). */
#ifndef SN_ENCODER_TOKENIZER_INTERNAL_H
#define SN_ENCODER_TOKENIZER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "encoder/tokenizer.h"

/* A string owned by the tokenizer (pattern, content, piece). */
typedef struct {
    char *s;
    size_t n;
} sn_tstr;

/* Added tokens live in a byte trie for leftmost-longest matching. */
typedef struct {
    int32_t child;   /* first child node, -1 none */
    int32_t sibling; /* next node with the same parent, -1 none */
    int32_t token;   /* index into added[] of the token ending here, -1 none */
    uint8_t byte;
} sn_trie_node;

typedef struct {
    sn_trie_node *nodes; /* nodes[0] is the root */
    size_t n, cap;
    int32_t root_next[256]; /* the root's children by byte (fast reject of plain text) */
    int empty;               /* no tokens in this trie */
} sn_trie;

typedef struct {
    int32_t id;
    sn_tstr content;
    uint8_t special, lstrip, rstrip, normalized;
} sn_added_token;

/* Normalizer, pre-tokenizer and decoder steps, applied in order. */
typedef enum { SN_NORM_REPLACE, SN_NORM_PREPEND } sn_norm_kind;
typedef struct {
    sn_norm_kind kind;
    sn_tstr pattern; /* REPLACE */
    sn_tstr content; /* REPLACE: replacement; PREPEND: prefix */
} sn_norm_op;

typedef enum {
    SN_SPLIT_REMOVED,
    SN_SPLIT_ISOLATED,
    SN_SPLIT_MERGED_WITH_PREVIOUS,
    SN_SPLIT_MERGED_WITH_NEXT,
    SN_SPLIT_CONTIGUOUS
} sn_split_behavior;
typedef struct {
    sn_tstr pattern;
    sn_split_behavior behavior;
} sn_pretok_op;

typedef enum { SN_DEC_REPLACE, SN_DEC_BYTE_FALLBACK, SN_DEC_FUSE, SN_DEC_STRIP } sn_dec_kind;
typedef struct {
    sn_dec_kind kind;
    sn_tstr pattern, content; /* REPLACE; STRIP: content is one character */
    int32_t start, stop;      /* STRIP */
} sn_dec_op;

/* One element of the post-processor's single-sequence template. */
typedef struct {
    int is_sequence;   /* 1: the encoded text ($A); 0: special ids */
    int32_t *ids;      /* special token ids */
    size_t n_ids;
} sn_template_item;

/* Vocab hash slot: the piece's text is pool[off..off+len); the tag (high hash bits) and the
 * length rule out most mismatches without touching the pool (loading does 1.7M lookups). */
typedef struct {
    uint32_t tag;
    int32_t id; /* -1 = empty */
    uint32_t off, len;
} sn_vocab_slot;

/* Merge table: (left id, right id) -> (rank, merged id), open addressing. */
typedef struct {
    uint64_t key; /* left << 32 | right; UINT64_MAX = empty */
    int32_t rank;
    int32_t id;
} sn_merge_slot;

struct sn_tokenizer {
    char *path;

    /* ids: piece text per id (model vocab and added tokens) */
    int32_t n_ids;        /* max id + 1 */
    char *pool;           /* piece texts, each NUL-terminated */
    uint32_t *piece_off;  /* per id; UINT32_MAX when the id has no piece */
    uint32_t *piece_len;
    uint8_t *is_special;  /* per id: an added token flagged special */

    /* BPE model */
    sn_vocab_slot *vocab_tab; /* piece -> id over the model vocab */
    size_t vocab_mask;
    int32_t n_vocab; /* model vocab entries */
    sn_merge_slot *merge_tab;
    size_t merge_mask;
    int32_t n_merges;
    int32_t unk_id; /* the model's unk token, -1 none */
    int byte_fallback, fuse_unk, ignore_merges;
    int32_t byte_ids[256]; /* <0xNN> ids, -1 when absent */
    int32_t ascii_ids[128]; /* ids of the one-character ASCII pieces, -1 when absent */

    /* added tokens */
    sn_added_token *added;
    size_t n_added;
    sn_trie raw_trie;  /* normalized = false: matched on the raw text */
    sn_trie norm_trie; /* normalized = true: matched on the normalized text */

    sn_norm_op *norm;
    size_t n_norm;
    sn_pretok_op *pretok;
    size_t n_pretok;
    int has_decoder; /* 0: tokens joined with " " as tokenizers does */
    sn_dec_op *dec;
    size_t n_dec;
    sn_template_item *tmpl; /* NULL/0: no post-processor */
    size_t n_tmpl;

    int32_t bos_id, eos_id, pad_id, unk_special_id;
    int adds_bos;
};

/* The model vocab's id of a piece, -1 when absent. */
int32_t sn_tok_vocab_find(const sn_tokenizer *t, const char *s, size_t n);
/* The same with h = sn_tok_hash(s, n) already computed; sn_tok_vocab_slot_addr gives the slot
 * it starts probing at, to prefetch. */
int32_t sn_tok_vocab_find_h(const sn_tokenizer *t, const char *s, size_t n, uint64_t h);
static inline const void *sn_tok_vocab_slot_addr(const sn_tokenizer *t, uint64_t h) {
    return &t->vocab_tab[(size_t)h & t->vocab_mask];
}
/* (rank, merged id) of a pair, 0 when there is no such merge. */
int sn_tok_merge_find(const sn_tokenizer *t, int32_t a, int32_t b, int32_t *rank, int32_t *id);
uint64_t sn_tok_hash(const char *s, size_t n);

/* Trie: -1 / the index into added[] and the byte length of the longest token at text[0..n). */
int32_t sn_trie_longest(const sn_trie *tr, const char *text, size_t n, size_t *len);

/* The BPE of one pre-token (a "word"): appends ids to a growing array. */
typedef struct {
    int32_t *v;
    size_t n, cap;
} sn_ids;
sana_status sn_ids_push(sn_ids *ids, int32_t id);
sana_status sn_tok_bpe_word(const sn_tokenizer *t, const char *w, size_t n, sn_ids *out);

/* Applies the normalizer to s[0..n): *out is malloc'd (NUL-terminated). */
sana_status sn_tok_normalize(const sn_tokenizer *t, const char *s, size_t n, char **out,
                             size_t *out_n);

/* UTF-8 helpers (tokenizer_utf8.c). */
/* Byte length of the valid UTF-8 sequence at s[0..n), 0 when it is not one. */
size_t sn_utf8_valid_len(const unsigned char *s, size_t n);
/* Length of the UTF-8 character starting at a lead byte of valid text. */
static inline size_t sn_utf8_char_len(unsigned char c) {
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}
/* Returns text itself when it is valid UTF-8 (*owned = NULL), else a malloc'd copy where each
 * maximal invalid subsequence is U+FFFD, as Python's bytes.decode("utf-8", "replace"). */
sana_status sn_utf8_sanitize(const char *text, size_t len, const char **out, size_t *out_len,
                             char **owned);
/* Unicode White_Space (Rust char::is_whitespace) at a valid character; *clen gets its length. */
int sn_utf8_is_space(const unsigned char *s, size_t n, size_t *clen);
/* Decodes one character of valid UTF-8. */
uint32_t sn_utf8_decode(const unsigned char *s, size_t *clen);

#endif
