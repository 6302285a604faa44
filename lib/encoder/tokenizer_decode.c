/* Decoding ids to text through the file's decoder chain (HF tokenizers' `Tokenizer::decode`):
 * ids -> pieces (special added tokens dropped on request), then each decoder step maps the list
 * of strings to a new list, then the list is concatenated. Also the small accessors. */
#include <stdlib.h>
#include <string.h>

#include "encoder/tokenizer_internal.h"

typedef struct {
    sn_tstr *v;
    size_t n, cap;
} strlist;

static void list_free(strlist *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i].s);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static sana_status list_push(strlist *l, const char *s, size_t n) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        sn_tstr *v = realloc(l->v, cap * sizeof *v);
        if (!v) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "out of memory while decoding");
        l->v = v;
        l->cap = cap;
    }
    char *c = malloc(n + 1);
    if (!c) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "out of memory while decoding");
    memcpy(c, s, n);
    c[n] = '\0';
    l->v[l->n++] = (sn_tstr){c, n};
    return SANA_OK;
}

/* A growing byte buffer. */
typedef struct {
    char *s;
    size_t n, cap;
} sbuf;

static sana_status sbuf_add(sbuf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1) cap *= 2;
        char *v = realloc(b->s, cap);
        if (!v) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "out of memory while decoding");
        b->s = v;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
    return SANA_OK;
}

static int hexdig(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* "<0xNN>" -> the byte (u8::from_str_radix of the two characters, which also takes "+N"). */
static int byte_piece(const sn_tstr *t) {
    if (t->n != 6 || memcmp(t->s, "<0x", 3) != 0 || t->s[5] != '>') return -1;
    int hi = hexdig(t->s[3]), lo = hexdig(t->s[4]);
    if (t->s[3] == '+' && lo >= 0) return lo;
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/* Byte runs that are not valid UTF-8 become one U+FFFD per byte, as the reference does. */
static sana_status flush_bytes(strlist *out, sbuf *bytes) {
    if (!bytes->n) return SANA_OK;
    sana_status st = SANA_OK;
    size_t i = 0;
    while (i < bytes->n) {
        size_t l = sn_utf8_valid_len((const unsigned char *)bytes->s + i, bytes->n - i);
        if (!l) break;
        i += l;
    }
    if (i == bytes->n) {
        st = list_push(out, bytes->s, bytes->n);
    } else {
        for (size_t k = 0; k < bytes->n && st == SANA_OK; k++) st = list_push(out, "\xEF\xBF\xBD", 3);
    }
    bytes->n = 0;
    return st;
}

static sana_status apply_op(const sn_dec_op *op, strlist *in, strlist *out) {
    sana_status st = SANA_OK;
    if (op->kind == SN_DEC_FUSE) {
        sbuf b = {0};
        for (size_t i = 0; i < in->n && st == SANA_OK; i++) st = sbuf_add(&b, in->v[i].s, in->v[i].n);
        if (st == SANA_OK) st = list_push(out, b.s ? b.s : "", b.n);
        free(b.s);
        return st;
    }
    if (op->kind == SN_DEC_BYTE_FALLBACK) {
        sbuf bytes = {0};
        for (size_t i = 0; i < in->n && st == SANA_OK; i++) {
            int b = byte_piece(&in->v[i]);
            if (b >= 0) {
                char c = (char)b;
                st = sbuf_add(&bytes, &c, 1);
            } else {
                st = flush_bytes(out, &bytes);
                if (st == SANA_OK) st = list_push(out, in->v[i].s, in->v[i].n);
            }
        }
        if (st == SANA_OK) st = flush_bytes(out, &bytes);
        free(bytes.s);
        return st;
    }
    for (size_t i = 0; i < in->n && st == SANA_OK; i++) {
        const char *s = in->v[i].s;
        size_t n = in->v[i].n;
        if (op->kind == SN_DEC_REPLACE) {
            sbuf b = {0};
            size_t p = 0;
            while (st == SANA_OK && p < n) {
                if (n - p >= op->pattern.n && memcmp(s + p, op->pattern.s, op->pattern.n) == 0) {
                    st = sbuf_add(&b, op->content.s, op->content.n);
                    p += op->pattern.n;
                } else {
                    st = sbuf_add(&b, s + p, 1);
                    p++;
                }
            }
            if (st == SANA_OK) st = list_push(out, b.s ? b.s : "", b.n);
            free(b.s);
        } else { /* STRIP: up to `start` leading and `stop` trailing copies of one character */
            size_t a = 0, e = n, c = op->content.n;
            for (int32_t k = 0; k < op->start && e - a >= c && memcmp(s + a, op->content.s, c) == 0; k++)
                a += c;
            for (int32_t k = 0; k < op->stop && e - a >= c && memcmp(s + e - c, op->content.s, c) == 0; k++)
                e -= c;
            st = list_push(out, s + a, e - a);
        }
    }
    return st;
}

sana_status sn_tokenizer_decode(const sn_tokenizer *t, const int32_t *ids, size_t n_ids,
                                int skip_special, char **text, size_t *len) {
    *text = NULL;
    *len = 0;
    if (!t) return sn_fail(SANA_ERR_INVALID_ARGUMENT, "tokenizer is NULL");
    if (!ids && n_ids) return sn_fail(SANA_ERR_INVALID_ARGUMENT, "ids is NULL");
    strlist a = {0}, b = {0};
    sana_status st = SANA_OK;
    for (size_t i = 0; i < n_ids && st == SANA_OK; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= t->n_ids || t->piece_off[id] == UINT32_MAX) {
            st = sn_fail(SANA_ERR_INVALID_ARGUMENT, "%s: id %d (at %zu) is not in the vocabulary",
                         t->path, id, i);
            break;
        }
        if (skip_special && t->is_special[id]) continue;
        st = list_push(&a, t->pool + t->piece_off[id], t->piece_len[id]);
    }
    for (size_t k = 0; k < t->n_dec && st == SANA_OK; k++) {
        st = apply_op(&t->dec[k], &a, &b);
        list_free(&a);
        a = b;
        memset(&b, 0, sizeof b);
    }
    sbuf out = {0};
    for (size_t i = 0; i < a.n && st == SANA_OK; i++) {
        if (i && !t->has_decoder) st = sbuf_add(&out, " ", 1); /* no decoder: joined by spaces */
        if (st == SANA_OK) st = sbuf_add(&out, a.v[i].s, a.v[i].n);
    }
    if (st == SANA_OK && !out.s) st = sbuf_add(&out, "", 0);
    list_free(&a);
    list_free(&b);
    if (st != SANA_OK) {
        free(out.s);
        return st;
    }
    *text = out.s;
    *len = out.n;
    return SANA_OK;
}

/* ---- accessors ------------------------------------------------------------------------------ */

int32_t sn_tokenizer_vocab_size(const sn_tokenizer *t) { return t ? t->n_ids : 0; }
int32_t sn_tokenizer_bos_id(const sn_tokenizer *t) { return t ? t->bos_id : -1; }
int32_t sn_tokenizer_eos_id(const sn_tokenizer *t) { return t ? t->eos_id : -1; }
int32_t sn_tokenizer_pad_id(const sn_tokenizer *t) { return t ? t->pad_id : -1; }
int32_t sn_tokenizer_unk_id(const sn_tokenizer *t) { return t ? t->unk_special_id : -1; }
int sn_tokenizer_adds_bos(const sn_tokenizer *t) { return t ? t->adds_bos : 0; }

const char *sn_tokenizer_piece(const sn_tokenizer *t, int32_t id, size_t *len) {
    if (len) *len = 0;
    if (!t || id < 0 || id >= t->n_ids || t->piece_off[id] == UINT32_MAX) return NULL;
    if (len) *len = t->piece_len[id];
    return t->pool + t->piece_off[id];
}

int32_t sn_tokenizer_piece_id(const sn_tokenizer *t, const char *piece, size_t len) {
    if (!t || !piece) return -1;
    /* added tokens first, as tokenizers' token_to_id */
    for (size_t k = 0; k < t->n_added; k++)
        if (t->added[k].content.n == len && memcmp(t->added[k].content.s, piece, len) == 0)
            return t->added[k].id;
    return sn_tok_vocab_find(t, piece, len);
}
