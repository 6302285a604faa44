/* Encoding, in the order of HF tokenizers' `Tokenizer::encode`:
 *   1. text -> valid UTF-8 (invalid bytes -> U+FFFD, as Python's decode(errors="replace"));
 *   2. added tokens (normalized = false) cut out of the raw text, leftmost-longest;
 *   3. each remaining piece normalized, then added tokens (normalized = true) cut out of it;
 *   4. each remaining piece pre-tokenized (Split), and each pre-token run through BPE;
 *   5. the post-processor's template (Gemma: <bos> $A) when add_special is set. */
#include <stdlib.h>
#include <string.h>

#include "encoder/tokenizer_internal.h"

typedef struct {
    size_t start, end;
    int32_t added; /* index into added[], -1 for text */
} span;

typedef struct {
    span *v;
    size_t n, cap;
} spans;

static sana_status spans_push(spans *s, size_t start, size_t end, int32_t added) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        span *v = realloc(s->v, cap * sizeof *v);
        if (!v) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "out of memory while encoding");
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = (span){start, end, added};
    return SANA_OK;
}

/* AddedVocabulary::find_matches: non-overlapping leftmost-longest matches, then lstrip (absorb
 * the white space before, never into an earlier match) and rstrip (the white space after). */
static sana_status find_added(const sn_tokenizer *t, const sn_trie *tr, const char *s, size_t n,
                              spans *out) {
    size_t start_offset = 0, i = 0;
    out->n = 0;
    while (i < n) {
        size_t mlen = 0;
        int32_t k = sn_trie_longest(tr, s + i, n - i, &mlen);
        if (k < 0) {
            i++;
            continue;
        }
        size_t start = i, stop = i + mlen;
        i = stop;
        const sn_added_token *a = &t->added[k];
        if (a->lstrip) {
            /* back over the white-space run that ends at `start` */
            size_t ws = start, cl;
            while (ws > 0) {
                size_t p = ws - 1;
                while (p > 0 && ((unsigned char)s[p] & 0xC0) == 0x80) p--;
                if (!sn_utf8_is_space((const unsigned char *)s + p, ws - p, &cl)) break;
                ws = p;
            }
            start = ws > start_offset ? ws : start_offset;
        }
        if (a->rstrip) {
            size_t cl;
            while (stop < n && sn_utf8_is_space((const unsigned char *)s + stop, n - stop, &cl))
                stop += cl;
        }
        if (start_offset < start) SN_TRY(spans_push(out, start_offset, start, -1));
        SN_TRY(spans_push(out, start, stop, k));
        start_offset = stop;
    }
    if (start_offset < n) SN_TRY(spans_push(out, start_offset, n, -1));
    return SANA_OK;
}

/* ---- normalizer ---------------------------------------------------------------------------- */

static const char *find_bytes(const char *h, size_t hn, const char *p, size_t pn) {
    if (pn == 0 || hn < pn) return NULL;
    const char *end = h + hn - pn;
    for (const char *q = h; q <= end; q++) {
        q = memchr(q, p[0], (size_t)(end - q) + 1);
        if (!q) return NULL;
        if (memcmp(q, p, pn) == 0) return q;
    }
    return NULL;
}

sana_status sn_tok_normalize(const sn_tokenizer *t, const char *s, size_t n, char **out,
                             size_t *out_n) {
    char *cur = malloc(n + 1);
    if (!cur) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "out of memory while normalizing");
    memcpy(cur, s, n);
    cur[n] = '\0';
    for (size_t k = 0; k < t->n_norm; k++) {
        const sn_norm_op *op = &t->norm[k];
        if (op->kind == SN_NORM_PREPEND && n == 0) continue;
        size_t count = 0;
        if (op->kind == SN_NORM_REPLACE) {
            for (const char *q = cur; (q = find_bytes(q, n - (size_t)(q - cur), op->pattern.s,
                                                      op->pattern.n));
                 q += op->pattern.n)
                count++;
            if (count == 0) continue;
        }
        size_t nn = op->kind == SN_NORM_PREPEND ? n + op->content.n
                                                : n - count * op->pattern.n + count * op->content.n;
        char *nb = malloc(nn + 1);
        if (!nb) {
            free(cur);
            return sn_fail(SANA_ERR_OUT_OF_MEMORY, "out of memory while normalizing");
        }
        if (op->kind == SN_NORM_PREPEND) {
            memcpy(nb, op->content.s, op->content.n);
            memcpy(nb + op->content.n, cur, n);
        } else {
            const char *r = cur, *q;
            char *w = nb;
            while ((q = find_bytes(r, n - (size_t)(r - cur), op->pattern.s, op->pattern.n))) {
                memcpy(w, r, (size_t)(q - r));
                w += q - r;
                memcpy(w, op->content.s, op->content.n);
                w += op->content.n;
                r = q + op->pattern.n;
            }
            memcpy(w, r, n - (size_t)(r - cur));
        }
        nb[nn] = '\0';
        free(cur);
        cur = nb;
        n = nn;
    }
    *out = cur;
    *out_n = n;
    return SANA_OK;
}

/* ---- pre-tokenizer: Split with a literal pattern ------------------------------------------ */

/* Splits each span of `in` into `out` the way tokenizers' NormalizedString::split does. */
static sana_status split_pass(const sn_pretok_op *op, const char *s, const spans *in, spans *out) {
    out->n = 0;
    spans parts = {0};
    sana_status st = SANA_OK;
    for (size_t k = 0; k < in->n && st == SANA_OK; k++) {
        size_t a = in->v[k].start, b = in->v[k].end;
        /* the piece as (range, is_match) covering it */
        parts.n = 0;
        size_t p = a;
        const char *q;
        while (st == SANA_OK && (q = find_bytes(s + p, b - p, op->pattern.s, op->pattern.n))) {
            size_t m = (size_t)(q - s);
            if (m > p) st = spans_push(&parts, p, m, 0);
            if (st == SANA_OK) st = spans_push(&parts, m, m + op->pattern.n, 1);
            p = m + op->pattern.n;
        }
        if (st == SANA_OK && p < b) st = spans_push(&parts, p, b, 0);
        if (st != SANA_OK) break;
        /* the behaviour's fold (spans' `added` field holds is_match here) */
        size_t first = out->n;
        int prev_match = 0;
        switch (op->behavior) {
        case SN_SPLIT_REMOVED:
            for (size_t i = 0; i < parts.n && st == SANA_OK; i++)
                if (!parts.v[i].added) st = spans_push(out, parts.v[i].start, parts.v[i].end, -1);
            break;
        case SN_SPLIT_ISOLATED:
            for (size_t i = 0; i < parts.n && st == SANA_OK; i++)
                st = spans_push(out, parts.v[i].start, parts.v[i].end, -1);
            break;
        case SN_SPLIT_MERGED_WITH_PREVIOUS:
            for (size_t i = 0; i < parts.n && st == SANA_OK; i++) {
                int m = parts.v[i].added;
                if (m && !prev_match && out->n > first) out->v[out->n - 1].end = parts.v[i].end;
                else st = spans_push(out, parts.v[i].start, parts.v[i].end, -1);
                prev_match = m;
            }
            break;
        case SN_SPLIT_MERGED_WITH_NEXT:
            /* folded from the right, then reversed back */
            for (size_t i = parts.n; i-- > 0 && st == SANA_OK;) {
                int m = parts.v[i].added;
                if (m && !prev_match && out->n > first) out->v[out->n - 1].start = parts.v[i].start;
                else st = spans_push(out, parts.v[i].start, parts.v[i].end, -1);
                prev_match = m;
            }
            for (size_t i = first, j = out->n; j-- > i; i++) {
                span tmp = out->v[i];
                out->v[i] = out->v[j];
                out->v[j] = tmp;
            }
            break;
        case SN_SPLIT_CONTIGUOUS:
            for (size_t i = 0; i < parts.n && st == SANA_OK; i++) {
                int m = parts.v[i].added;
                if (m == prev_match && out->n > first) out->v[out->n - 1].end = parts.v[i].end;
                else st = spans_push(out, parts.v[i].start, parts.v[i].end, -1);
                prev_match = m;
            }
            break;
        }
    }
    free(parts.v);
    return st;
}

/* Pre-tokenizes s[0..n) (already normalized) and runs BPE on each pre-token. */
static sana_status pretok_and_bpe(const sn_tokenizer *t, const char *s, size_t n, sn_ids *out) {
    if (n == 0) return SANA_OK;
    if (t->n_pretok == 0) return sn_tok_bpe_word(t, s, n, out);
    spans a = {0}, b = {0};
    sana_status st = spans_push(&a, 0, n, -1);
    for (size_t k = 0; k < t->n_pretok && st == SANA_OK; k++) {
        st = split_pass(&t->pretok[k], s, &a, &b);
        spans tmp = a;
        a = b;
        b = tmp;
    }
    for (size_t i = 0; i < a.n && st == SANA_OK; i++)
        if (a.v[i].end > a.v[i].start)
            st = sn_tok_bpe_word(t, s + a.v[i].start, a.v[i].end - a.v[i].start, out);
    free(a.v);
    free(b.v);
    return st;
}

/* A piece of raw text between added tokens: normalize, cut normalized added tokens, BPE. */
static sana_status encode_text(const sn_tokenizer *t, const char *s, size_t n, sn_ids *out) {
    if (n == 0) return SANA_OK;
    char *norm;
    size_t nn;
    SN_TRY(sn_tok_normalize(t, s, n, &norm, &nn));
    sana_status st = SANA_OK;
    if (t->norm_trie.empty) {
        st = pretok_and_bpe(t, norm, nn, out);
    } else {
        spans sp = {0};
        st = find_added(t, &t->norm_trie, norm, nn, &sp);
        for (size_t i = 0; i < sp.n && st == SANA_OK; i++) {
            if (sp.v[i].end == sp.v[i].start) continue;
            if (sp.v[i].added >= 0) st = sn_ids_push(out, t->added[sp.v[i].added].id);
            else st = pretok_and_bpe(t, norm + sp.v[i].start, sp.v[i].end - sp.v[i].start, out);
        }
        free(sp.v);
    }
    free(norm);
    return st;
}

static sana_status encode_all(const sn_tokenizer *t, const char *text, size_t len,
                              int add_special, sn_ids *out) {
    const char *s;
    size_t n;
    char *owned;
    SN_TRY(sn_utf8_sanitize(text, len, &s, &n, &owned));
    sn_ids body = {0};
    sana_status st = SANA_OK;
    if (t->raw_trie.empty) {
        st = encode_text(t, s, n, &body);
    } else {
        spans sp = {0};
        st = find_added(t, &t->raw_trie, s, n, &sp);
        for (size_t i = 0; i < sp.n && st == SANA_OK; i++) {
            if (sp.v[i].end == sp.v[i].start) continue;
            if (sp.v[i].added >= 0) st = sn_ids_push(&body, t->added[sp.v[i].added].id);
            else st = encode_text(t, s + sp.v[i].start, sp.v[i].end - sp.v[i].start, &body);
        }
        free(sp.v);
    }
    free(owned);
    if (st == SANA_OK && add_special && t->n_tmpl) {
        for (size_t k = 0; k < t->n_tmpl && st == SANA_OK; k++) {
            const sn_template_item *it = &t->tmpl[k];
            if (it->is_sequence)
                for (size_t i = 0; i < body.n && st == SANA_OK; i++) st = sn_ids_push(out, body.v[i]);
            else
                for (size_t i = 0; i < it->n_ids && st == SANA_OK; i++) st = sn_ids_push(out, it->ids[i]);
        }
        free(body.v);
    } else {
        *out = body;
    }
    return st;
}

sana_status sn_tokenizer_encode(const sn_tokenizer *t, const char *text, size_t len,
                                int add_special, int32_t **ids, size_t *n_ids) {
    *ids = NULL;
    *n_ids = 0;
    if (!t) return sn_fail(SANA_ERR_INVALID_ARGUMENT, "tokenizer is NULL");
    if (!text && len) return sn_fail(SANA_ERR_INVALID_ARGUMENT, "text is NULL");
    sn_ids out = {0};
    sana_status st = encode_all(t, text ? text : "", len, add_special, &out);
    if (st == SANA_OK && !out.v) st = sn_ids_push(&out, 0), out.n = 0; /* never NULL on success */
    if (st != SANA_OK) {
        free(out.v);
        return st;
    }
    *ids = out.v;
    *n_ids = out.n;
    return SANA_OK;
}
