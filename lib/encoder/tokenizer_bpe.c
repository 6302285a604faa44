/* BPE over one pre-token, as HF tokenizers' `BPE::merge_word` + `Word::merge_all`: characters
 * become vocab ids (or <0xNN> byte pieces, or <unk>), then the adjacent pair with the lowest
 * merge rank is merged, leftmost first, until none is left. A binary heap of candidate pairs over
 * a linked list of symbols makes this O(n log n); stale heap entries are skipped exactly the way
 * the reference skips them (the pair at `pos` must still merge into the same id). */
#include <stdlib.h>
#include <string.h>

#include "encoder/tokenizer_internal.h"

uint64_t sn_tok_hash(const char *s, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)n;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, s, 8);
        h = (h ^ v) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    uint64_t v = 0;
    memcpy(&v, s, n);
    h = (h ^ v) * 0x94D049BB133111EBull;
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return h;
}

int32_t sn_tok_vocab_find(const sn_tokenizer *t, const char *s, size_t n) {
    return sn_tok_vocab_find_h(t, s, n, sn_tok_hash(s, n));
}

int32_t sn_tok_vocab_find_h(const sn_tokenizer *t, const char *s, size_t n, uint64_t h) {
    uint32_t tag = (uint32_t)(h >> 32);
    for (size_t i = (size_t)h & t->vocab_mask;; i = (i + 1) & t->vocab_mask) {
        const sn_vocab_slot *sl = &t->vocab_tab[i];
        if (sl->id < 0) return -1;
        if (sl->tag == tag && sl->len == n && memcmp(t->pool + sl->off, s, n) == 0) return sl->id;
    }
}

static inline size_t pair_slot(uint64_t key, size_t mask) {
    key *= 0x9E3779B97F4A7C15ull;
    return (size_t)(key ^ (key >> 29)) & mask;
}

int sn_tok_merge_find(const sn_tokenizer *t, int32_t a, int32_t b, int32_t *rank, int32_t *id) {
    if (!t->merge_tab) return 0;
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    size_t i = pair_slot(key, t->merge_mask);
    for (;;) {
        const sn_merge_slot *sl = &t->merge_tab[i];
        if (sl->key == key) {
            *rank = sl->rank;
            *id = sl->id;
            return 1;
        }
        if (sl->key == UINT64_MAX) return 0;
        i = (i + 1) & t->merge_mask;
    }
}

sana_status sn_ids_push(sn_ids *ids, int32_t id) {
    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : 64;
        int32_t *v = realloc(ids->v, cap * sizeof *v);
        if (!v) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "out of memory for token ids");
        ids->v = v;
        ids->cap = cap;
    }
    ids->v[ids->n++] = id;
    return SANA_OK;
}

typedef struct {
    int32_t rank, pos, id;
    int32_t left, right; /* the pair it was made for */
} merge_cand;

/* min-heap on (rank, pos) */
static inline int cand_less(merge_cand a, merge_cand b) {
    return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos);
}

static void heap_push(merge_cand *h, size_t *n, merge_cand c) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!cand_less(c, h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = c;
}

static merge_cand heap_pop(merge_cand *h, size_t *n) {
    merge_cand top = h[0], last = h[--*n];
    size_t i = 0, m = *n;
    for (;;) {
        size_t l = 2 * i + 1;
        if (l >= m) break;
        size_t c = l + 1 < m && cand_less(h[l + 1], h[l]) ? l + 1 : l;
        if (!cand_less(h[c], last)) break;
        h[i] = h[c];
        i = c;
    }
    if (m) h[i] = last;
    return top;
}

typedef struct {
    int32_t id;
    int32_t prev, next; /* -1 at the ends */
    uint32_t len;       /* bytes; 0 once merged into its left neighbour */
} symbol;

sana_status sn_tok_bpe_word(const sn_tokenizer *t, const char *w, size_t n, sn_ids *out) {
    if (n == 0) return SANA_OK;
    if (t->ignore_merges) {
        int32_t id = sn_tok_vocab_find(t, w, n);
        if (id >= 0) return sn_ids_push(out, id);
    }
    /* At most one symbol per byte; every merge pushes at most two candidates, so the heap never
     * holds more than 3 entries per symbol. */
    symbol stack_sym[256];
    merge_cand stack_heap[768];
    symbol *sym = stack_sym;
    merge_cand *heap = stack_heap;
    void *block = NULL;
    if (n > 256) {
        if (n > (SIZE_MAX / 64)) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "text too long");
        block = malloc(n * sizeof(symbol) + 3 * n * sizeof(merge_cand));
        if (!block) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "out of memory for BPE (%zu bytes)", n);
        sym = block;
        heap = (merge_cand *)(sym + n);
    }

    /* 1. characters -> symbols */
    size_t ns = 0;
    int32_t unk_pending = -1; /* the unk symbol not yet added (fuse_unk grows its length) */
    uint32_t unk_len = 0;
#define ADD_SYM(ID, LEN)                                                                           \
    do {                                                                                           \
        sym[ns].id = (ID);                                                                         \
        sym[ns].len = (LEN);                                                                       \
        sym[ns].prev = (int32_t)ns - 1;                                                            \
        sym[ns].next = (int32_t)ns + 1;                                                            \
        ns++;                                                                                      \
    } while (0)
    for (size_t i = 0; i < n;) {
        size_t cl = sn_utf8_char_len((unsigned char)w[i]);
        if (cl > n - i) cl = n - i;
        int32_t id = cl == 1 && (unsigned char)w[i] < 128 ? t->ascii_ids[(unsigned char)w[i]]
                                                          : sn_tok_vocab_find(t, w + i, cl);
        if (id >= 0) {
            if (unk_pending >= 0) {
                ADD_SYM(unk_pending, unk_len);
                unk_pending = -1;
            }
            ADD_SYM(id, (uint32_t)cl);
            i += cl;
            continue;
        }
        if (t->byte_fallback) {
            int all = 1;
            for (size_t k = 0; k < cl; k++)
                if (t->byte_ids[(unsigned char)w[i + k]] < 0) all = 0;
            if (all) {
                /* as the reference: a pending unk is not flushed first */
                for (size_t k = 0; k < cl; k++) ADD_SYM(t->byte_ids[(unsigned char)w[i + k]], 1);
                i += cl;
                continue;
            }
        }
        if (t->unk_id < 0) {
            /* tokenizers drops such characters silently when the model has no unk token */
        } else if (unk_pending >= 0 && t->fuse_unk) {
            unk_len += (uint32_t)cl;
        } else {
            if (unk_pending >= 0) ADD_SYM(unk_pending, unk_len);
            unk_pending = t->unk_id;
            unk_len = (uint32_t)cl;
        }
        i += cl;
    }
    if (unk_pending >= 0) ADD_SYM(unk_pending, unk_len);
#undef ADD_SYM
    if (ns == 0) {
        free(block);
        return SANA_OK;
    }
    sym[ns - 1].next = -1;

    /* 2. merges, lowest rank first, leftmost on ties */
    size_t nh = 0;
    for (size_t i = 0; i + 1 < ns; i++) {
        merge_cand c;
        if (sn_tok_merge_find(t, sym[i].id, sym[i + 1].id, &c.rank, &c.id)) {
            c.pos = (int32_t)i;
            c.left = sym[i].id;
            c.right = sym[i + 1].id;
            heap_push(heap, &nh, c);
        }
    }
    while (nh) {
        merge_cand top = heap_pop(heap, &nh);
        symbol *cur = &sym[top.pos];
        if (cur->len == 0 || cur->next < 0) continue;
        symbol right = sym[cur->next];
        /* The reference re-looks the pair up and requires the same merged id. A symbol only
         * grows (by absorbing its right neighbour), so the pair at `pos` merges into the same
         * piece exactly when it is still the pair the entry was made for: compare ids instead
         * of hashing again. */
        if (cur->id != top.left || right.id != top.right) continue;
        /* merge the right symbol into this one */
        sym[cur->next].len = 0;
        cur->id = top.id;
        cur->len += right.len;
        cur->next = right.next;
        if (right.next >= 0) sym[right.next].prev = top.pos;
        merge_cand c;
        if (cur->prev >= 0 && sn_tok_merge_find(t, sym[cur->prev].id, cur->id, &c.rank, &c.id)) {
            c.pos = cur->prev;
            c.left = sym[cur->prev].id;
            c.right = cur->id;
            heap_push(heap, &nh, c);
        }
        if (cur->next >= 0 && sn_tok_merge_find(t, cur->id, sym[cur->next].id, &c.rank, &c.id)) {
            c.pos = top.pos;
            c.left = cur->id;
            c.right = sym[cur->next].id;
            heap_push(heap, &nh, c);
        }
    }

    /* 3. the surviving symbols, in order */
    sana_status st = SANA_OK;
    for (int32_t i = 0; i >= 0 && st == SANA_OK; i = sym[i].next) st = sn_ids_push(out, sym[i].id);
    free(block);
    return st;
}
