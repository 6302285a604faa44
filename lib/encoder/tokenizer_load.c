/* Loading tokenizer.json (+ tokenizer_config.json): every component the file declares is read
 * into the tables of tokenizer_internal.h, and every type we do not implement is refused with
 * an error naming the file and the key. Vocab and merges go into open-addressing hash tables
 * (one pass each, no sorting), so the 256k pieces and 580k merges of Gemma load in tens of ms. */
#define _DEFAULT_SOURCE /* madvise(MADV_HUGEPAGE) */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "core/log.h"
#include "core/pool.h"
#include "encoder/tokenizer_internal.h"
#include "encoder/tokenizer_json.h"

#define SN_TOK_MAX_ID (1 << 24) /* ids beyond this are a broken file, not a vocabulary */

typedef struct {
    sn_tokenizer *t;
    const sn_json *j;
    const char *file; /* for messages */
    uint32_t pool_w;  /* write cursor in t->pool */
    size_t id_cap;    /* size of the per-id arrays */
} loader;

static sana_status read_whole(const char *path, char **buf, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) return sn_fail(SANA_ERR_NOT_FOUND, "%s: no such file", path);
        return sn_fail(SANA_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    struct stat stt;
    if (fstat(fileno(f), &stt) != 0 || !S_ISREG(stt.st_mode)) {
        fclose(f);
        return sn_fail(SANA_ERR_IO, "%s: not a regular file", path);
    }
    size_t n = (size_t)stt.st_size;
    char *b = malloc(n + 1);
    if (!b) {
        fclose(f);
        return sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory reading %zu bytes", path, n);
    }
    size_t got = fread(b, 1, n, f);
    fclose(f);
    if (got != n) {
        free(b);
        return sn_fail(SANA_ERR_IO, "%s: read %zu of %zu bytes", path, got, n);
    }
    b[n] = '\0';
    *buf = b;
    *size = n;
    return SANA_OK;
}

static sana_status dup_str(const char *s, size_t n, sn_tstr *out) {
    out->s = malloc(n + 1);
    if (!out->s) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "out of memory");
    memcpy(out->s, s, n);
    out->s[n] = '\0';
    out->n = n;
    return SANA_OK;
}

/* A required string member. */
static sana_status get_str(loader *L, int32_t obj, const char *key, const char *where,
                           const char **s, size_t *n) {
    *s = sn_json_str(L->j, sn_json_get(L->j, obj, key), n);
    if (!*s) return sn_fail(SANA_ERR_FORMAT, "%s: %s: missing string \"%s\"", L->file, where, key);
    return SANA_OK;
}

/* A pattern {"String": "..."}; regex patterns are refused (no regex engine here). */
static sana_status get_pattern(loader *L, int32_t obj, const char *where, sn_tstr *out) {
    int32_t pat = sn_json_get(L->j, obj, "pattern");
    size_t n;
    const char *s = sn_json_str(L->j, sn_json_get(L->j, pat, "String"), &n);
    if (!s) {
        if (sn_json_get(L->j, pat, "Regex") >= 0)
            return sn_fail(SANA_ERR_UNSUPPORTED, "%s: %s: Regex patterns are not supported",
                           L->file, where);
        return sn_fail(SANA_ERR_FORMAT, "%s: %s: missing \"pattern\": {\"String\": ...}", L->file,
                       where);
    }
    if (n == 0) return sn_fail(SANA_ERR_FORMAT, "%s: %s: empty pattern", L->file, where);
    return dup_str(s, n, out);
}

static int type_is(loader *L, int32_t obj, const char *type) {
    size_t n;
    const char *s = sn_json_str(L->j, sn_json_get(L->j, obj, "type"), &n);
    return s && strlen(type) == n && memcmp(s, type, n) == 0;
}

static const char *type_of(loader *L, int32_t obj) {
    const char *s = sn_json_str(L->j, sn_json_get(L->j, obj, "type"), NULL);
    return s ? s : "(no type)";
}

/* ---- ids and pieces ---------------------------------------------------------------------- */

static sana_status set_piece(sn_tokenizer *t, int32_t id, uint32_t off, uint32_t len) {
    t->piece_off[id] = off;
    t->piece_len[id] = len;
    return SANA_OK;
}

/* The two hash tables (8 and 16 MB for Gemma) are probed at random: on 2 MB pages they cost far
 * fewer TLB misses, which is most of the time of a lookup (encode is ~2x faster with them). */
static void *table_alloc(size_t bytes) {
    size_t huge = (size_t)2 << 20;
    if (bytes < huge) return malloc(bytes);
    void *p = aligned_alloc(huge, (bytes + huge - 1) / huge * huge);
#ifdef MADV_HUGEPAGE
    if (p) madvise(p, (bytes + huge - 1) / huge * huge, MADV_HUGEPAGE);
#endif
    return p;
}

static size_t pow2_at_least(size_t n) {
    size_t p = 16;
    while (p < n) p <<= 1;
    return p;
}

/* ---- model: BPE ------------------------------------------------------------------------------ */

static sana_status load_vocab(loader *L, int32_t model, int32_t added) {
    sn_tokenizer *t = L->t;
    const sn_json *j = L->j;
    int32_t vocab = sn_json_get(j, model, "vocab");
    if (sn_json_type(j, vocab) != SN_JOBJ)
        return sn_fail(SANA_ERR_FORMAT, "%s: model.vocab: missing or not an object", L->file);

    /* id space: model ids and added-token ids */
    int64_t max_id = -1;
    size_t pool = 0;
    for (int32_t c = j->nodes[vocab].a; c >= 0; c = j->nodes[c].next) {
        double v = sn_json_num(j, c);
        if (!(v >= 0 && v < SN_TOK_MAX_ID && v == floor(v)))
            return sn_fail(SANA_ERR_FORMAT, "%s: model.vocab[\"%s\"]: id is not an integer in [0, %d)",
                           L->file, j->buf + j->nodes[c].key, SN_TOK_MAX_ID);
        if ((int64_t)v > max_id) max_id = (int64_t)v;
        pool += j->nodes[c].klen + 1;
    }
    size_t n_added = 0;
    for (int32_t c = added >= 0 ? j->nodes[added].a : -1; c >= 0; c = j->nodes[c].next) {
        size_t n = 0;
        n_added++;
        sn_json_str(j, sn_json_get(j, c, "content"), &n);
        pool += n + 1;
    }
    if (pool > UINT32_MAX) return sn_fail(SANA_ERR_FORMAT, "%s: vocabulary too large", L->file);
    t->n_ids = (int32_t)(max_id + 1);
    t->n_vocab = (int32_t)j->nodes[vocab].len;
    /* added tokens missing from the vocab get ids after it (see load_added) */
    size_t nid = (size_t)(t->n_ids > t->n_vocab ? t->n_ids : t->n_vocab) + n_added + 1;
    L->id_cap = nid;
    t->pool = malloc(pool + 1);
    t->piece_off = malloc(nid * sizeof *t->piece_off);
    t->piece_len = calloc(nid, sizeof *t->piece_len);
    t->is_special = calloc(nid, 1);
    t->vocab_mask = pow2_at_least((size_t)t->n_vocab * 2) - 1;
    t->vocab_tab = table_alloc((t->vocab_mask + 1) * sizeof *t->vocab_tab);
    if (!t->pool || !t->piece_off || !t->piece_len || !t->is_special || !t->vocab_tab)
        return sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory for the vocabulary", L->file);
    memset(t->piece_off, 0xFF, nid * sizeof *t->piece_off);
    memset(t->vocab_tab, 0xFF, (t->vocab_mask + 1) * sizeof *t->vocab_tab);

    /* hashes first, so the insert loop can prefetch the slot 16 entries ahead */
    size_t nv = (size_t)t->n_vocab, q = 0;
    uint64_t *hv = malloc((nv ? nv : 1) * sizeof *hv);
    if (!hv) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory for the vocabulary", L->file);
    for (int32_t c = j->nodes[vocab].a; c >= 0; c = j->nodes[c].next)
        hv[q++] = sn_tok_hash(j->buf + j->nodes[c].key, j->nodes[c].klen);
    uint32_t w = 0;
    q = 0;
    for (int32_t c = j->nodes[vocab].a; c >= 0; c = j->nodes[c].next, q++) {
        int32_t id = (int32_t)sn_json_num(j, c);
        const char *k = j->buf + j->nodes[c].key;
        uint32_t kl = j->nodes[c].klen;
        if (q + 16 < nv) __builtin_prefetch(sn_tok_vocab_slot_addr(t, hv[q + 16]), 1);
        if (t->piece_off[id] != UINT32_MAX) {
            free(hv);
            return sn_fail(SANA_ERR_FORMAT, "%s: model.vocab: id %d is given to two pieces", L->file,
                           id);
        }
        memcpy(t->pool + w, k, kl);
        t->pool[w + kl] = '\0';
        set_piece(t, id, w, kl);
        w += kl + 1;
        uint64_t h = hv[q];
        uint32_t tag = (uint32_t)(h >> 32);
        for (size_t i = (size_t)h & t->vocab_mask;; i = (i + 1) & t->vocab_mask) {
            sn_vocab_slot *sl = &t->vocab_tab[i];
            if (sl->id < 0) {
                *sl = (sn_vocab_slot){tag, id, w - kl - 1, kl};
                break;
            }
            if (sl->tag == tag && sl->len == kl && memcmp(t->pool + sl->off, k, kl) == 0) {
                free(hv);
                return sn_fail(SANA_ERR_FORMAT, "%s: model.vocab: piece \"%s\" appears twice",
                               L->file, k);
            }
        }
    }
    free(hv);
    /* added-token texts go after the vocab in the pool (filled by load_added) */
    t->pool[w] = '\0';
    L->pool_w = w;
    return SANA_OK;
}

static size_t merge_slot(const sn_tokenizer *t, int32_t a, int32_t b) {
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    return (size_t)(h ^ (h >> 29)) & t->merge_mask; /* as pair_slot in tokenizer_bpe.c */
}

static sana_status merge_insert(sn_tokenizer *t, int32_t a, int32_t b, int32_t rank, int32_t id) {
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    for (size_t i = merge_slot(t, a, b);; i = (i + 1) & t->merge_mask) {
        sn_merge_slot *s = &t->merge_tab[i];
        if (s->key == UINT64_MAX || s->key == key) {
            /* a repeated pair keeps the later rank, as the reference's HashMap collect does */
            s->key = key;
            s->rank = rank;
            s->id = id;
            return SANA_OK;
        }
    }
}

/* The two pieces of merge node `c`: "a b" (exactly one space, as tokenizers'
 * convert_merges_to_hashmap) or ["a", "b"]. 0 when it is neither. */
static int merge_parts(const sn_json *j, int32_t c, const char **a, size_t *an, const char **b,
                       size_t *bn) {
    const sn_jnode *nd = &j->nodes[c];
    if (nd->type == SN_JSTR) {
        *a = j->buf + nd->a;
        const char *sp = memchr(*a, ' ', nd->len);
        if (!sp || memchr(sp + 1, ' ', nd->len - (size_t)(sp + 1 - *a))) return 0;
        *an = (size_t)(sp - *a);
        *b = sp + 1;
        *bn = nd->len - *an - 1;
        return 1;
    }
    if (nd->type == SN_JARR && nd->len == 2 && j->nodes[nd->a].type == SN_JSTR &&
        j->nodes[j->nodes[nd->a].next].type == SN_JSTR) {
        const sn_jnode *x = &j->nodes[nd->a], *y = &j->nodes[x->next];
        *a = j->buf + x->a;
        *an = x->len;
        *b = j->buf + y->a;
        *bn = y->len;
        return 1;
    }
    return 0;
}

/* ids of a, b and a+b (-1 when absent); -2 in out[0] for a malformed entry. */
static void merge_resolve(const sn_tokenizer *t, const sn_json *j, int32_t c, int32_t out[3]) {
    const char *a, *b;
    size_t an, bn;
    if (!merge_parts(j, c, &a, &an, &b, &bn)) {
        out[0] = -2;
        return;
    }
    out[0] = sn_tok_vocab_find(t, a, an);
    out[1] = sn_tok_vocab_find(t, b, bn);
    char tmp[512], *cat = an + bn <= sizeof tmp ? tmp : malloc(an + bn);
    if (!cat) {
        out[2] = -3;
        return;
    }
    memcpy(cat, a, an);
    memcpy(cat + an, b, bn);
    out[2] = sn_tok_vocab_find(t, cat, an + bn);
    if (cat != tmp) free(cat);
}

/* merge_resolve for up to MERGE_GROUP consecutive merges at once: all their hashes first, with
 * the table slots prefetched, then the lookups, so the cache misses overlap instead of queueing
 * one after the other (the lookups are nearly all misses: the tables are 8 and 16 MB). */
#define MERGE_GROUP 16
static void merge_resolve_group(const sn_tokenizer *t, const sn_json *j, const int32_t *node,
                                int32_t *out, int n) {
    const char *a[MERGE_GROUP], *b[MERGE_GROUP];
    size_t an[MERGE_GROUP], bn[MERGE_GROUP];
    uint64_t h[MERGE_GROUP][3];
    char cat[MERGE_GROUP][128];
    int ok[MERGE_GROUP];
    for (int k = 0; k < n; k++) {
        ok[k] = merge_parts(j, node[k], &a[k], &an[k], &b[k], &bn[k]) && an[k] + bn[k] <= sizeof cat[0];
        if (!ok[k]) continue;
        memcpy(cat[k], a[k], an[k]);
        memcpy(cat[k] + an[k], b[k], bn[k]);
        h[k][0] = sn_tok_hash(a[k], an[k]);
        h[k][1] = sn_tok_hash(b[k], bn[k]);
        h[k][2] = sn_tok_hash(cat[k], an[k] + bn[k]);
        for (int q = 0; q < 3; q++) __builtin_prefetch(sn_tok_vocab_slot_addr(t, h[k][q]));
    }
    for (int k = 0; k < n; k++) {
        if (!ok[k]) { /* malformed or long: the plain path (it reports the details) */
            merge_resolve(t, j, node[k], out + 3 * k);
            continue;
        }
        out[3 * k + 0] = sn_tok_vocab_find_h(t, a[k], an[k], h[k][0]);
        out[3 * k + 1] = sn_tok_vocab_find_h(t, b[k], bn[k], h[k][1]);
        out[3 * k + 2] = sn_tok_vocab_find_h(t, cat[k], an[k] + bn[k], h[k][2]);
    }
}

typedef struct {
    const sn_tokenizer *t;
    const sn_json *j;
    const int32_t *node;
    int32_t *res;
    int64_t n;
} merge_groups_job;

/* groups [g0, g1) of MERGE_GROUP merges */
static void merge_groups(void *p, int64_t g0, int64_t g1) {
    const merge_groups_job *m = p;
    for (int64_t gi = g0; gi < g1; gi++) {
        const int64_t g = gi * MERGE_GROUP;
        merge_resolve_group(m->t, m->j, m->node + g, m->res + 3 * g,
                            (int)(m->n - g < MERGE_GROUP ? m->n - g : MERGE_GROUP));
    }
}

/* Merges: rank = position in the list. The 1.7 M vocab lookups (a, b, a+b for each merge) are
 * independent reads, so they run in parallel; errors are then reported in list order and the
 * pairs inserted in one serial pass. */
static sana_status load_merges(loader *L, int32_t model) {
    sn_tokenizer *t = L->t;
    const sn_json *j = L->j;
    int32_t merges = sn_json_get(j, model, "merges");
    if (merges >= 0 && sn_json_type(j, merges) != SN_JARR)
        return sn_fail(SANA_ERR_FORMAT, "%s: model.merges: not an array", L->file);
    /* a BPE without merges is valid: characters only */
    size_t count = merges >= 0 ? j->nodes[merges].len : 0;
    t->merge_mask = pow2_at_least(count + count / 2) - 1; /* load <= 2/3: 16 MB for Gemma */
    t->merge_tab = table_alloc((t->merge_mask + 1) * sizeof *t->merge_tab);
    int32_t *node = malloc((count ? count : 1) * sizeof *node);
    int32_t *res = malloc((count ? count : 1) * 3 * sizeof *res);
    sana_status st = SANA_OK;
    if (!t->merge_tab || !node || !res) {
        st = sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory for merges", L->file);
        goto done;
    }
    memset(t->merge_tab, 0xFF, (t->merge_mask + 1) * sizeof *t->merge_tab);
    size_t k = 0;
    for (int32_t c = merges >= 0 ? j->nodes[merges].a : -1; c >= 0; c = j->nodes[c].next)
        node[k++] = c;

    merge_groups_job mj = {t, j, node, res, (int64_t)count};
    sn_parallel_for(((int64_t)count + MERGE_GROUP - 1) / MERGE_GROUP, merge_groups, &mj);

    for (size_t i = 0; i < count; i++) {
        const int32_t *r = res + 3 * i;
        if (i + 16 < count && r[48] >= 0 && r[49] >= 0) /* the slot 16 merges ahead */
            __builtin_prefetch(&t->merge_tab[merge_slot(t, r[48], r[49])], 1);
        if (r[0] >= 0 && r[1] >= 0 && r[2] >= 0) {
            merge_insert(t, r[0], r[1], (int32_t)i, r[2]);
            continue;
        }
        const char *a, *b;
        size_t an, bn;
        if (r[0] == -2 || !merge_parts(j, node[i], &a, &an, &b, &bn)) {
            const char *s = sn_json_str(j, node[i], NULL);
            st = s ? sn_fail(SANA_ERR_FORMAT,
                             "%s: model.merges[%zu] = \"%s\": expected two pieces separated by "
                             "one space",
                             L->file, i, s)
                   : sn_fail(SANA_ERR_FORMAT,
                             "%s: model.merges[%zu]: expected \"a b\" or [\"a\", \"b\"]", L->file, i);
        } else if (r[2] == -3) {
            st = sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory for merges", L->file);
        } else if (r[0] < 0 || r[1] < 0) {
            st = sn_fail(SANA_ERR_FORMAT,
                         "%s: model.merges[%zu]: piece \"%.*s\" is not in the vocabulary", L->file,
                         i, (int)(r[0] < 0 ? an : bn), r[0] < 0 ? a : b);
        } else {
            st = sn_fail(SANA_ERR_FORMAT,
                         "%s: model.merges[%zu]: the merged piece \"%.*s%.*s\" is not in the "
                         "vocabulary",
                         L->file, i, (int)an, a, (int)bn, b);
        }
        goto done;
    }
    t->n_merges = (int32_t)count;
done:
    free(node);
    free(res);
    return st;
}

static sana_status load_model(loader *L, int32_t model, int32_t added) {
    sn_tokenizer *t = L->t;
    const sn_json *j = L->j;
    if (model < 0 || sn_json_type(j, model) != SN_JOBJ)
        return sn_fail(SANA_ERR_FORMAT, "%s: no \"model\" object", L->file);
    int32_t type = sn_json_get(j, model, "type");
    if (type >= 0 && !type_is(L, model, "BPE"))
        return sn_fail(SANA_ERR_UNSUPPORTED,
                       "%s: model type \"%s\" is not supported (only BPE is implemented)", L->file,
                       type_of(L, model));
    if (type < 0 && sn_json_get(j, model, "merges") < 0)
        return sn_fail(SANA_ERR_UNSUPPORTED, "%s: model has no \"type\" and no merges: not BPE",
                       L->file);
    /* options we refuse rather than approximate */
    double dropout = sn_json_num(j, sn_json_get(j, model, "dropout"));
    if (sn_json_type(j, sn_json_get(j, model, "dropout")) != SN_JNULL && dropout != 0.0)
        return sn_fail(SANA_ERR_UNSUPPORTED,
                       "%s: model.dropout = %g: BPE dropout (random) is not supported", L->file,
                       dropout);
    if (sn_json_type(j, sn_json_get(j, model, "continuing_subword_prefix")) != SN_JNULL)
        return sn_fail(SANA_ERR_UNSUPPORTED, "%s: model.continuing_subword_prefix is not supported",
                       L->file);
    if (sn_json_type(j, sn_json_get(j, model, "end_of_word_suffix")) != SN_JNULL)
        return sn_fail(SANA_ERR_UNSUPPORTED, "%s: model.end_of_word_suffix is not supported",
                       L->file);
    t->fuse_unk = sn_json_bool(j, sn_json_get(j, model, "fuse_unk"), 0);
    t->byte_fallback = sn_json_bool(j, sn_json_get(j, model, "byte_fallback"), 0);
    t->ignore_merges = sn_json_bool(j, sn_json_get(j, model, "ignore_merges"), 0);

    SN_TRY(load_vocab(L, model, added));
    SN_TRY(load_merges(L, model));

    t->unk_id = -1;
    int32_t unk = sn_json_get(j, model, "unk_token");
    if (sn_json_type(j, unk) != SN_JNULL) {
        size_t n;
        const char *s = sn_json_str(j, unk, &n);
        if (!s) return sn_fail(SANA_ERR_FORMAT, "%s: model.unk_token: not a string", L->file);
        t->unk_id = sn_tok_vocab_find(t, s, n);
        if (t->unk_id < 0)
            return sn_fail(SANA_ERR_FORMAT, "%s: model.unk_token \"%s\" is not in the vocabulary",
                           L->file, s);
    }
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        t->byte_ids[b] = sn_tok_vocab_find(t, name, 6);
        if (b < 128) {
            char c = (char)b;
            t->ascii_ids[b] = sn_tok_vocab_find(t, &c, 1);
        }
    }
    return SANA_OK;
}

/* ---- added tokens ------------------------------------------------------------------------------ */

static sana_status trie_add(sn_trie *tr, const char *s, size_t n, int32_t token) {
    if (!tr->nodes) {
        tr->cap = 256;
        tr->nodes = malloc(tr->cap * sizeof *tr->nodes);
        if (!tr->nodes) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "out of memory");
        tr->nodes[0] = (sn_trie_node){-1, -1, -1, 0};
        tr->n = 1;
        for (int b = 0; b < 256; b++) tr->root_next[b] = -1;
    }
    tr->empty = 0;
    int32_t cur = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t byte = (uint8_t)s[i];
        int32_t c = cur == 0 ? tr->root_next[byte] : -1;
        if (cur != 0)
            for (c = tr->nodes[cur].child; c >= 0 && tr->nodes[c].byte != byte; c = tr->nodes[c].sibling) {
            }
        if (c < 0) {
            if (tr->n == tr->cap) {
                sn_trie_node *nn = realloc(tr->nodes, tr->cap * 2 * sizeof *nn);
                if (!nn) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "out of memory");
                tr->nodes = nn;
                tr->cap *= 2;
            }
            c = (int32_t)tr->n++;
            tr->nodes[c] = (sn_trie_node){-1, tr->nodes[cur].child, -1, byte};
            tr->nodes[cur].child = c;
            if (cur == 0) tr->root_next[byte] = c;
        }
        cur = c;
    }
    /* the same content twice: the later entry wins, as a map keyed by content would */
    tr->nodes[cur].token = token;
    return SANA_OK;
}

int32_t sn_trie_longest(const sn_trie *tr, const char *text, size_t n, size_t *len) {
    if (tr->empty || n == 0) return -1;
    int32_t c = tr->root_next[(uint8_t)text[0]], best = -1;
    size_t i = 0;
    while (c >= 0) {
        i++;
        if (tr->nodes[c].token >= 0) {
            best = tr->nodes[c].token;
            *len = i;
        }
        if (i == n) break;
        uint8_t byte = (uint8_t)text[i];
        for (c = tr->nodes[c].child; c >= 0 && tr->nodes[c].byte != byte; c = tr->nodes[c].sibling) {
        }
    }
    return best;
}

static sana_status load_added(loader *L, int32_t added) {
    sn_tokenizer *t = L->t;
    const sn_json *j = L->j;
    t->raw_trie.empty = t->norm_trie.empty = 1;
    if (added < 0) return SANA_OK;
    if (sn_json_type(j, added) != SN_JARR)
        return sn_fail(SANA_ERR_FORMAT, "%s: added_tokens: not an array", L->file);
    size_t count = j->nodes[added].len;
    t->added = calloc(count ? count : 1, sizeof *t->added);
    if (!t->added) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "out of memory");
    uint32_t w = L->pool_w;
    int32_t max_added = -1;
    size_t k = 0;
    for (int32_t c = j->nodes[added].a; c >= 0; c = j->nodes[c].next, k++) {
        sn_added_token *a = &t->added[k];
        const char *s;
        size_t n;
        char where[48];
        snprintf(where, sizeof where, "added_tokens[%zu]", k);
        SN_TRY(get_str(L, c, "content", where, &s, &n));
        if (n == 0) return sn_fail(SANA_ERR_FORMAT, "%s: %s: empty content", L->file, where);
        double idv = sn_json_num(j, sn_json_get(j, c, "id"));
        if (!(idv >= 0 && idv < SN_TOK_MAX_ID && idv == floor(idv)))
            return sn_fail(SANA_ERR_FORMAT, "%s: %s (\"%s\"): missing or bad \"id\"", L->file,
                           where, s);
        /* tokenizers (AddedVocabulary::add_tokens) ignores the stored id: a token in the vocab
         * gets its vocab id, any other the next id after the vocab and the added ones so far */
        int32_t id = sn_tok_vocab_find(t, s, n);
        if (id < 0) {
            for (size_t q = 0; q < k && id < 0; q++)
                if (t->added[q].content.n == n && memcmp(t->added[q].content.s, s, n) == 0)
                    id = t->added[q].id;
        }
        if (id < 0) id = max_added >= t->n_vocab ? max_added + 1 : t->n_vocab;
        if (id != (int32_t)idv)
            sn_log(SANA_LOG_WARN, "%s: %s \"%s\" is stored with id %d but gets id %d", L->file,
                   where, s, (int32_t)idv, id);
        if ((size_t)id + 1 >= L->id_cap || (t->piece_off[id] != UINT32_MAX &&
                                            sn_tok_vocab_find(t, s, n) != id))
            return sn_fail(SANA_ERR_FORMAT, "%s: %s \"%s\": id %d collides with the vocabulary",
                           L->file, where, s, id);
        if (id > max_added) max_added = id;
        if (id >= t->n_ids) t->n_ids = id + 1;
        a->id = id;
        a->special = (uint8_t)sn_json_bool(j, sn_json_get(j, c, "special"), 0);
        a->lstrip = (uint8_t)sn_json_bool(j, sn_json_get(j, c, "lstrip"), 0);
        a->rstrip = (uint8_t)sn_json_bool(j, sn_json_get(j, c, "rstrip"), 0);
        a->normalized = (uint8_t)sn_json_bool(j, sn_json_get(j, c, "normalized"), !a->special);
        if (sn_json_bool(j, sn_json_get(j, c, "single_word"), 0))
            return sn_fail(SANA_ERR_UNSUPPORTED,
                           "%s: %s (\"%s\"): single_word added tokens are not supported", L->file,
                           where, s);
        SN_TRY(dup_str(s, n, &a->content));
        t->n_added = k + 1; /* owned from here: sn_tokenizer_free frees it if a later one fails */
        if (t->piece_off[id] == UINT32_MAX) {
            memcpy(t->pool + w, s, n);
            t->pool[w + n] = '\0';
            set_piece(t, id, w, (uint32_t)n);
            w += (uint32_t)n + 1;
        }
        if (a->special) t->is_special[id] = 1;
    }
    t->n_added = k;
    L->pool_w = w;
    return SANA_OK;
}

/* Normalized added tokens are matched on normalized text, so their pattern is normalized too. */
static sana_status build_tries(loader *L) {
    sn_tokenizer *t = L->t;
    for (size_t k = 0; k < t->n_added; k++) {
        sn_added_token *a = &t->added[k];
        if (!a->normalized) {
            SN_TRY(trie_add(&t->raw_trie, a->content.s, a->content.n, (int32_t)k));
        } else {
            char *norm;
            size_t nn;
            SN_TRY(sn_tok_normalize(t, a->content.s, a->content.n, &norm, &nn));
            sana_status st = nn ? trie_add(&t->norm_trie, norm, nn, (int32_t)k) : SANA_OK;
            /* tokenizers' id_to_token gives such a token's normalized text (decode sees it) */
            if (st == SANA_OK && sn_tok_vocab_find(t, a->content.s, a->content.n) < 0) {
                char *pool = realloc(t->pool, (size_t)L->pool_w + nn + 1);
                if (!pool) st = sn_fail(SANA_ERR_OUT_OF_MEMORY, "out of memory");
                else {
                    t->pool = pool;
                    memcpy(pool + L->pool_w, norm, nn + 1);
                    set_piece(t, a->id, L->pool_w, (uint32_t)nn);
                    L->pool_w += (uint32_t)nn + 1;
                }
            }
            free(norm);
            SN_TRY(st);
        }
    }
    return SANA_OK;
}

/* ---- normalizer, pre-tokenizer, decoder, post-processor ---------------------------------- */

static sana_status add_norm(loader *L, int32_t node, const char *where) {
    sn_tokenizer *t = L->t;
    if (sn_json_type(L->j, node) == SN_JNULL) return SANA_OK;
    if (type_is(L, node, "Sequence")) {
        int32_t list = sn_json_get(L->j, node, "normalizers");
        if (sn_json_type(L->j, list) != SN_JARR)
            return sn_fail(SANA_ERR_FORMAT, "%s: %s: Sequence without \"normalizers\"", L->file, where);
        for (int32_t c = L->j->nodes[list].a; c >= 0; c = L->j->nodes[c].next)
            SN_TRY(add_norm(L, c, where));
        return SANA_OK;
    }
    /* op owns its strings until it is in t->norm: every failure below frees them */
    sn_norm_op op = {0};
    sana_status st = SANA_OK;
    const char *s;
    size_t n;
    if (type_is(L, node, "Replace")) {
        op.kind = SN_NORM_REPLACE;
        st = get_pattern(L, node, where, &op.pattern);
        if (st == SANA_OK) st = get_str(L, node, "content", where, &s, &n);
        if (st == SANA_OK) st = dup_str(s, n, &op.content);
    } else if (type_is(L, node, "Prepend")) {
        op.kind = SN_NORM_PREPEND;
        st = get_str(L, node, "prepend", where, &s, &n);
        if (st == SANA_OK) st = dup_str(s, n, &op.content);
    } else {
        return sn_fail(SANA_ERR_UNSUPPORTED,
                       "%s: %s type \"%s\" is not supported (Replace, Prepend, Sequence are)",
                       L->file, where, type_of(L, node));
    }
    sn_norm_op *v = st == SANA_OK ? realloc(t->norm, (t->n_norm + 1) * sizeof *v) : NULL;
    if (st == SANA_OK && !v) st = sn_fail(SANA_ERR_OUT_OF_MEMORY, "out of memory");
    if (st != SANA_OK) {
        free(op.pattern.s);
        free(op.content.s);
        return st;
    }
    t->norm = v;
    t->norm[t->n_norm++] = op;
    return SANA_OK;
}

static sana_status add_pretok(loader *L, int32_t node, const char *where) {
    sn_tokenizer *t = L->t;
    if (sn_json_type(L->j, node) == SN_JNULL) return SANA_OK;
    if (type_is(L, node, "Sequence")) {
        int32_t list = sn_json_get(L->j, node, "pretokenizers");
        if (sn_json_type(L->j, list) != SN_JARR)
            return sn_fail(SANA_ERR_FORMAT, "%s: %s: Sequence without \"pretokenizers\"", L->file,
                           where);
        for (int32_t c = L->j->nodes[list].a; c >= 0; c = L->j->nodes[c].next)
            SN_TRY(add_pretok(L, c, where));
        return SANA_OK;
    }
    if (!type_is(L, node, "Split"))
        return sn_fail(SANA_ERR_UNSUPPORTED,
                       "%s: %s type \"%s\" is not supported (Split with a string pattern, "
                       "Sequence are)",
                       L->file, where, type_of(L, node));
    sn_pretok_op op = {0};
    if (sn_json_bool(L->j, sn_json_get(L->j, node, "invert"), 0))
        return sn_fail(SANA_ERR_UNSUPPORTED, "%s: %s: Split with invert = true is not supported",
                       L->file, where);
    static const char *names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext",
                                  "Contiguous"};
    const char *b;
    size_t bn;
    SN_TRY(get_str(L, node, "behavior", where, &b, &bn));
    int found = 0;
    for (int k = 0; k < 5; k++)
        if (strlen(names[k]) == bn && memcmp(names[k], b, bn) == 0) {
            op.behavior = (sn_split_behavior)k;
            found = 1;
        }
    if (!found)
        return sn_fail(SANA_ERR_FORMAT, "%s: %s: unknown Split behavior \"%s\"", L->file, where, b);
    SN_TRY(get_pattern(L, node, where, &op.pattern));
    sn_pretok_op *v = realloc(t->pretok, (t->n_pretok + 1) * sizeof *v);
    if (!v) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "out of memory");
    t->pretok = v;
    t->pretok[t->n_pretok++] = op;
    return SANA_OK;
}

static sana_status add_dec(loader *L, int32_t node, const char *where) {
    sn_tokenizer *t = L->t;
    if (type_is(L, node, "Sequence")) {
        int32_t list = sn_json_get(L->j, node, "decoders");
        if (sn_json_type(L->j, list) != SN_JARR)
            return sn_fail(SANA_ERR_FORMAT, "%s: %s: Sequence without \"decoders\"", L->file, where);
        for (int32_t c = L->j->nodes[list].a; c >= 0; c = L->j->nodes[c].next)
            SN_TRY(add_dec(L, c, where));
        return SANA_OK;
    }
    /* op owns its strings until it is in t->dec: every failure below frees them */
    sn_dec_op op = {0};
    sana_status st = SANA_OK;
    const char *s;
    size_t n;
    if (type_is(L, node, "Replace")) {
        op.kind = SN_DEC_REPLACE;
        st = get_pattern(L, node, where, &op.pattern);
        if (st == SANA_OK) st = get_str(L, node, "content", where, &s, &n);
        if (st == SANA_OK) st = dup_str(s, n, &op.content);
    } else if (type_is(L, node, "ByteFallback")) {
        op.kind = SN_DEC_BYTE_FALLBACK;
    } else if (type_is(L, node, "Fuse")) {
        op.kind = SN_DEC_FUSE;
    } else if (type_is(L, node, "Strip")) {
        op.kind = SN_DEC_STRIP;
        st = get_str(L, node, "content", where, &s, &n);
        if (st == SANA_OK && (n == 0 || sn_utf8_valid_len((const unsigned char *)s, n) != n))
            st = sn_fail(SANA_ERR_FORMAT, "%s: %s: Strip content must be one character", L->file,
                         where);
        if (st == SANA_OK) st = dup_str(s, n, &op.content);
        double a = sn_json_num(L->j, sn_json_get(L->j, node, "start"));
        double b = sn_json_num(L->j, sn_json_get(L->j, node, "stop"));
        if (st == SANA_OK && !(a >= 0 && a < 1e9 && b >= 0 && b < 1e9))
            st = sn_fail(SANA_ERR_FORMAT, "%s: %s: Strip needs integer start and stop", L->file,
                         where);
        op.start = st == SANA_OK ? (int32_t)a : 0;
        op.stop = st == SANA_OK ? (int32_t)b : 0;
    } else {
        return sn_fail(SANA_ERR_UNSUPPORTED,
                       "%s: %s type \"%s\" is not supported (Replace, ByteFallback, Fuse, Strip, "
                       "Sequence are)",
                       L->file, where, type_of(L, node));
    }
    sn_dec_op *v = st == SANA_OK ? realloc(t->dec, (t->n_dec + 1) * sizeof *v) : NULL;
    if (st == SANA_OK && !v) st = sn_fail(SANA_ERR_OUT_OF_MEMORY, "out of memory");
    if (st != SANA_OK) {
        free(op.pattern.s);
        free(op.content.s);
        return st;
    }
    t->dec = v;
    t->dec[t->n_dec++] = op;
    return SANA_OK;
}

static sana_status tmpl_push(sn_tokenizer *t, int is_seq, const int32_t *ids, size_t n) {
    sn_template_item *v = realloc(t->tmpl, (t->n_tmpl + 1) * sizeof *v);
    if (!v) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "out of memory");
    t->tmpl = v;
    sn_template_item *it = &t->tmpl[t->n_tmpl++];
    it->is_sequence = is_seq;
    it->n_ids = n;
    it->ids = NULL;
    if (n) {
        it->ids = malloc(n * sizeof *ids);
        if (!it->ids) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "out of memory");
        memcpy(it->ids, ids, n * sizeof *ids);
    }
    return SANA_OK;
}

static sana_status load_post(loader *L, int32_t node) {
    const sn_json *j = L->j;
    if (sn_json_type(j, node) == SN_JNULL) return SANA_OK;
    if (!type_is(L, node, "TemplateProcessing"))
        return sn_fail(SANA_ERR_UNSUPPORTED,
                       "%s: post_processor type \"%s\" is not supported (TemplateProcessing is)",
                       L->file, type_of(L, node));
    int32_t single = sn_json_get(j, node, "single");
    int32_t specials = sn_json_get(j, node, "special_tokens");
    if (sn_json_type(j, single) != SN_JARR)
        return sn_fail(SANA_ERR_FORMAT, "%s: post_processor.single: missing or not an array", L->file);
    int seen_a = 0;
    for (int32_t c = j->nodes[single].a; c >= 0; c = j->nodes[c].next) {
        int32_t seq = sn_json_get(j, c, "Sequence"), sp = sn_json_get(j, c, "SpecialToken");
        size_t n;
        if (seq >= 0) {
            const char *id = sn_json_str(j, sn_json_get(j, seq, "id"), &n);
            if (!id || strcmp(id, "A") != 0)
                return sn_fail(SANA_ERR_FORMAT,
                               "%s: post_processor.single: the single template may only hold "
                               "sequence A",
                               L->file);
            seen_a = 1;
            SN_TRY(tmpl_push(L->t, 1, NULL, 0));
        } else if (sp >= 0) {
            const char *name = sn_json_str(j, sn_json_get(j, sp, "id"), &n);
            int32_t entry = name ? sn_json_get(j, specials, name) : -1;
            int32_t ids = sn_json_get(j, entry, "ids");
            if (sn_json_type(j, ids) != SN_JARR)
                return sn_fail(SANA_ERR_FORMAT,
                               "%s: post_processor: special token \"%s\" has no ids in "
                               "special_tokens",
                               L->file, name ? name : "?");
            int32_t buf[16];
            size_t k = 0;
            for (int32_t i = j->nodes[ids].a; i >= 0; i = j->nodes[i].next) {
                double v = sn_json_num(j, i);
                if (!(v >= 0 && v < L->t->n_ids) || k == 16)
                    return sn_fail(SANA_ERR_FORMAT,
                                   "%s: post_processor: special token \"%s\": bad id list", L->file,
                                   name);
                /* an id in a gap of the vocabulary would be encoded, then refused by decode */
                if (L->t->piece_off[(int32_t)v] == UINT32_MAX)
                    return sn_fail(SANA_ERR_FORMAT,
                                   "%s: post_processor: special token \"%s\": id %d is not in the vocabulary",
                                   L->file, name, (int32_t)v);
                buf[k++] = (int32_t)v;
            }
            SN_TRY(tmpl_push(L->t, 0, buf, k));
        } else {
            return sn_fail(SANA_ERR_FORMAT,
                           "%s: post_processor.single: items must be Sequence or SpecialToken",
                           L->file);
        }
    }
    if (!seen_a)
        return sn_fail(SANA_ERR_FORMAT, "%s: post_processor.single has no $A", L->file);
    return SANA_OK;
}

/* ---- tokenizer_config.json --------------------------------------------------------------- */

/* A token given as "<bos>" or {"content": "<bos>", ...}; -1 when absent or null. */
static int32_t config_token(sn_tokenizer *t, const sn_json *j, const char *key) {
    int32_t node = sn_json_get(j, 0, key);
    size_t n;
    const char *s = sn_json_str(j, node, &n);
    if (!s) s = sn_json_str(j, sn_json_get(j, node, "content"), &n);
    return s ? sn_tokenizer_piece_id(t, s, n) : -1;
}

static sana_status load_config(sn_tokenizer *t, const char *path) {
    char *buf;
    size_t size;
    sana_status st = read_whole(path, &buf, &size);
    if (st == SANA_ERR_NOT_FOUND) {
        sn_error_clear();
        return SANA_OK; /* optional */
    }
    SN_TRY(st);
    sn_json j;
    SN_TRY(sn_json_parse(&j, buf, size, path));
    if (sn_json_type(&j, 0) != SN_JOBJ) {
        sn_json_free(&j);
        return sn_fail(SANA_ERR_FORMAT, "%s: not a JSON object", path);
    }
    int32_t id;
    if ((id = config_token(t, &j, "bos_token")) >= 0) t->bos_id = id;
    if ((id = config_token(t, &j, "eos_token")) >= 0) t->eos_id = id;
    if ((id = config_token(t, &j, "pad_token")) >= 0) t->pad_id = id;
    if ((id = config_token(t, &j, "unk_token")) >= 0) t->unk_special_id = id;

    /* transformers' GemmaTokenizerFast rebuilds the template from add_bos_token/add_eos_token
     * ("<bos>:0 $A:0 <eos>:0", each part when its flag is on); a flag the config does not set
     * keeps what tokenizer.json's template does. */
    int32_t fb = sn_json_get(&j, 0, "add_bos_token"), fe = sn_json_get(&j, 0, "add_eos_token");
    if (fb >= 0 || fe >= 0) {
        int had_bos = t->n_tmpl > 0 && !t->tmpl[0].is_sequence;
        int had_eos = t->n_tmpl > 0 && !t->tmpl[t->n_tmpl - 1].is_sequence;
        int add_bos = sn_json_bool(&j, fb, had_bos), add_eos = sn_json_bool(&j, fe, had_eos);
        if ((add_bos && t->bos_id < 0) || (add_eos && t->eos_id < 0)) {
            sn_json_free(&j);
            return sn_fail(SANA_ERR_FORMAT, "%s: add_%s_token is set but there is no %s token", path,
                           add_bos && t->bos_id < 0 ? "bos" : "eos",
                           add_bos && t->bos_id < 0 ? "bos" : "eos");
        }
        for (size_t k = 0; k < t->n_tmpl; k++) free(t->tmpl[k].ids);
        free(t->tmpl);
        t->tmpl = NULL;
        t->n_tmpl = 0;
        st = SANA_OK;
        if (add_bos) st = tmpl_push(t, 0, &t->bos_id, 1);
        if (st == SANA_OK) st = tmpl_push(t, 1, NULL, 0);
        if (st == SANA_OK && add_eos) st = tmpl_push(t, 0, &t->eos_id, 1);
    }
    sn_json_free(&j);
    return st;
}

/* ---- the whole file ---------------------------------------------------------------------- */

static sana_status load_json(sn_tokenizer *t, const char *file) {
    char *buf;
    size_t size;
    SN_TRY(read_whole(file, &buf, &size));
    sn_json j;
    SN_TRY(sn_json_parse(&j, buf, size, file));
    loader L = {t, &j, file, 0, 0};
    sana_status st = SANA_OK;
    if (sn_json_type(&j, 0) != SN_JOBJ) st = sn_fail(SANA_ERR_FORMAT, "%s: not a JSON object", file);
    int32_t added = sn_json_get(&j, 0, "added_tokens");
    if (st == SANA_OK) st = load_model(&L, sn_json_get(&j, 0, "model"), added);
    if (st == SANA_OK) st = load_added(&L, added);
    if (st == SANA_OK) st = add_norm(&L, sn_json_get(&j, 0, "normalizer"), "normalizer");
    if (st == SANA_OK) st = build_tries(&L);
    if (st == SANA_OK) st = add_pretok(&L, sn_json_get(&j, 0, "pre_tokenizer"), "pre_tokenizer");
    if (st == SANA_OK) {
        int32_t dec = sn_json_get(&j, 0, "decoder");
        t->has_decoder = sn_json_type(&j, dec) != SN_JNULL;
        if (t->has_decoder) st = add_dec(&L, dec, "decoder");
    }
    if (st == SANA_OK) st = load_post(&L, sn_json_get(&j, 0, "post_processor"));
    if (st == SANA_OK && sn_json_type(&j, sn_json_get(&j, 0, "truncation")) != SN_JNULL)
        sn_log(SANA_LOG_WARN, "%s: \"truncation\" is ignored (libsana returns every id)", file);
    if (st == SANA_OK && sn_json_type(&j, sn_json_get(&j, 0, "padding")) != SN_JNULL)
        sn_log(SANA_LOG_WARN, "%s: \"padding\" is ignored (libsana returns every id)", file);
    sn_json_free(&j);
    return st;
}

sana_status sn_tokenizer_load(const char *path, sn_tokenizer **out) {
    *out = NULL;
    if (!path || !*path) return sn_fail(SANA_ERR_INVALID_ARGUMENT, "tokenizer path is empty");
    struct stat stt;
    if (stat(path, &stt) != 0)
        return sn_fail(SANA_ERR_NOT_FOUND, "%s: no such file or folder", path);
    size_t pl = strlen(path);
    char *file = malloc(pl + 32), *config = malloc(pl + 32);
    if (!file || !config) {
        free(file);
        free(config);
        return sn_fail(SANA_ERR_OUT_OF_MEMORY, "out of memory");
    }
    if (S_ISDIR(stt.st_mode)) {
        const char *sep = pl && path[pl - 1] == '/' ? "" : "/";
        snprintf(file, pl + 32, "%s%stokenizer.json", path, sep);
        snprintf(config, pl + 32, "%s%stokenizer_config.json", path, sep);
    } else {
        memcpy(file, path, pl + 1);
        const char *slash = strrchr(path, '/');
        size_t dl = slash ? (size_t)(slash - path) + 1 : 0;
        memcpy(config, path, dl);
        memcpy(config + dl, "tokenizer_config.json", sizeof "tokenizer_config.json");
    }
    sn_tokenizer *t = calloc(1, sizeof *t);
    sana_status st = t ? SANA_OK : sn_fail(SANA_ERR_OUT_OF_MEMORY, "out of memory");
    if (st == SANA_OK) {
        t->bos_id = t->eos_id = t->pad_id = t->unk_special_id = -1;
        t->path = file;
        file = NULL;
        st = load_json(t, t->path);
        if (st == SANA_ERR_NOT_FOUND && S_ISDIR(stt.st_mode))
            st = sn_fail(SANA_ERR_NOT_FOUND, "%s: the folder holds no tokenizer.json", path);
    }
    if (st == SANA_OK) {
        /* defaults by name, then tokenizer_config.json */
        t->bos_id = sn_tokenizer_piece_id(t, "<bos>", 5);
        t->eos_id = sn_tokenizer_piece_id(t, "<eos>", 5);
        t->pad_id = sn_tokenizer_piece_id(t, "<pad>", 5);
        t->unk_special_id = t->unk_id >= 0 ? t->unk_id : sn_tokenizer_piece_id(t, "<unk>", 5);
        st = load_config(t, config);
    }
    free(file);
    free(config);
    if (st != SANA_OK) {
        sn_tokenizer_free(t);
        return st;
    }
    t->adds_bos = t->n_tmpl > 0 && !t->tmpl[0].is_sequence && t->tmpl[0].n_ids > 0 &&
                  t->tmpl[0].ids[0] == t->bos_id;
    sn_log(SANA_LOG_DEBUG, "%s: %d pieces, %d merges, %zu added tokens", t->path, t->n_vocab,
           t->n_merges, t->n_added);
    *out = t;
    return SANA_OK;
}

void sn_tokenizer_free(sn_tokenizer *t) {
    if (!t) return;
    free(t->path);
    free(t->pool);
    free(t->piece_off);
    free(t->piece_len);
    free(t->is_special);
    free(t->vocab_tab);
    free(t->merge_tab);
    for (size_t k = 0; k < t->n_added; k++) free(t->added[k].content.s);
    free(t->added);
    free(t->raw_trie.nodes);
    free(t->norm_trie.nodes);
    for (size_t k = 0; k < t->n_norm; k++) free(t->norm[k].pattern.s), free(t->norm[k].content.s);
    free(t->norm);
    for (size_t k = 0; k < t->n_pretok; k++) free(t->pretok[k].pattern.s);
    free(t->pretok);
    for (size_t k = 0; k < t->n_dec; k++) free(t->dec[k].pattern.s), free(t->dec[k].content.s);
    free(t->dec);
    for (size_t k = 0; k < t->n_tmpl; k++) free(t->tmpl[k].ids);
    free(t->tmpl);
    free(t);
}
