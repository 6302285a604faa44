/* SANA prompt conditioning (see prompt.h for the recipe and the diffusers/NVlabs differences). */
#include "encoder/prompt.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/threads.h"

#define SN_CHI_BODY                                                                                          \
    " that provides detailed visual descriptions suitable for image generation. Evaluate the level of "     \
    "detail in the user prompt:\n"                                                                           \
    "- If the prompt is simple, focus on adding specifics about colors, shapes, sizes, textures, and "       \
    "spatial relationships to create vivid and concrete scenes.\n"                                           \
    "- If the prompt is already detailed, refine and enhance the existing details slightly without "         \
    "overcomplicating.\n"                                                                                    \
    "Here are examples of how to transform or refine prompts:\n"                                             \
    "- User Prompt: A cat sleeping -> Enhanced: A small, fluffy white cat curled up in a round shape, "      \
    "sleeping peacefully on a warm sunny windowsill, surrounded by pots of blooming red flowers.\n"          \
    "- User Prompt: A busy city street -> Enhanced: A bustling city street scene at dusk, featuring "         \
    "glowing street lamps, a diverse crowd of people in colorful clothing, and a double-decker bus passing " \
    "by towering glass skyscrapers.\n"                                                                       \
    "Please generate only the enhanced description for the prompt below and avoid including any "           \
    "additional commentary or evaluations:\n"                                                                \
    "User Prompt: "

/* diffusers SanaPipeline.__call__'s default complex_human_instruction, "\n".join()ed */
const char sn_chi_diffusers[] = "Given a user prompt, generate an 'Enhanced prompt'" SN_CHI_BODY;
/* NVlabs configs (text_encoder.chi_prompt): the same lines, double quotes in the first */
const char sn_chi_nvlabs[] = "Given a user prompt, generate an \"Enhanced prompt\"" SN_CHI_BODY;

void sn_prompt_params_default(sn_prompt_params *p) {
    memset(p, 0, sizeof *p);
    p->complex_human_instruction = 1;
    p->max_sequence_length = 300;
}

static const char *sn_prompt_chi(const sn_prompt_params *p) {
    if (!p->complex_human_instruction) return NULL;
    const char *chi = p->chi ? p->chi : p->nvlabs_compat ? sn_chi_nvlabs : sn_chi_diffusers;
    return *chi ? chi : NULL; /* an empty instruction is none, as `if not complex_human_instruction` */
}

/* NVlabs' prepare_prompt_ar: the text before the first "--aspect_ratio", "--ar" or "--hw"
 * (plain substrings, as its str.split does: "--art" cuts too). Its app takes the size from its
 * arguments, not from the flag, and so does the caller here. */
static size_t sn_prompt_ar_cut(const char *text) {
    static const char *const flags[3] = {"--aspect_ratio", "--ar", "--hw"};
    size_t cut = strlen(text);
    for (int i = 0; i < 3; i++) {
        const char *f = strstr(text, flags[i]);
        if (f && (size_t)(f - text) < cut) cut = (size_t)(f - text);
    }
    return cut;
}

/* diffusers: lower().strip() for every prompt; NVlabs: prompts cut at their aspect-ratio flags
 * and strip()ped, negatives as given. */
static sana_status sn_prompt_preprocess(const char *text, const sn_prompt_params *p, int negative, char **out) {
    if (p->nvlabs_compat && negative) {
        *out = strdup(text);
        return *out ? SANA_OK : sn_fail(SANA_ERR_OUT_OF_MEMORY, "prompt: out of memory");
    }
    return sn_text_lower_strip(text, p->nvlabs_compat ? sn_prompt_ar_cut(text) : strlen(text), !p->nvlabs_compat, out);
}

/* One sequence: <bos> + tokens of `text`, cut to M (the head is kept), padded to M. */
static sana_status sn_prompt_tokenize_one(const sn_tokenizer *tok, const char *text, int64_t M, int32_t *ids,
                                          int32_t *mask) {
    int32_t *t = NULL;
    size_t nt = 0;
    SN_TRY(sn_tokenizer_encode(tok, text, strlen(text), 1, &t, &nt));
    int32_t pad = sn_tokenizer_pad_id(tok);
    if (pad < 0) pad = 0;
    if ((int64_t)nt > M)
        sn_log(SANA_LOG_INFO, "prompt: %zu tokens, truncated to %lld (the end of the prompt is dropped)", nt,
               (long long)M);
    for (int64_t i = 0; i < M; i++) {
        int real = i < (int64_t)nt;
        ids[i] = real ? t[i] : pad;
        mask[i] = real;
    }
    free(t);
    return SANA_OK;
}

sana_status sn_prompt_tokenize(const sn_tokenizer *tok, const char *const *prompts, int32_t n,
                               const sn_prompt_params *p, int with_chi, int32_t **ids_out,
                               int32_t **mask_out, int64_t *m_out) {
    *ids_out = *mask_out = NULL;
    if (!tok) return sn_fail(SANA_ERR_UNSUPPORTED, "prompt: the model has no tokenizer loaded");
    if (n < 1 || p->max_sequence_length < 1)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "prompt: %d prompts, max_sequence_length %d", n,
                       p->max_sequence_length);
    const char *chi = with_chi ? sn_prompt_chi(p) : NULL;
    int64_t L = p->max_sequence_length, M = L;
    if (chi) {
        int32_t *t = NULL;
        size_t n_chi = 0;
        SN_TRY(sn_tokenizer_encode(tok, chi, strlen(chi), 1, &t, &n_chi));
        free(t);
        /* "magic number 2": the CHI's <bos> and its trailing "▁", which merges into the prompt */
        M = (int64_t)n_chi + L - 2;
        if (M < L) return sn_fail(SANA_ERR_INVALID_ARGUMENT, "prompt: the complex human instruction has only %zu tokens", n_chi);
    }
    int32_t *ids = malloc((size_t)(n * M) * sizeof *ids), *mask = malloc((size_t)(n * M) * sizeof *mask);
    sana_status st = ids && mask ? SANA_OK : sn_fail(SANA_ERR_OUT_OF_MEMORY, "prompt: out of memory");
    for (int32_t i = 0; i < n && st == SANA_OK; i++) {
        char *pre = NULL, *text = NULL;
        st = sn_prompt_preprocess(prompts[i] ? prompts[i] : "", p, !with_chi, &pre);
        if (st == SANA_OK) {
            size_t a = chi ? strlen(chi) : 0, b = strlen(pre);
            text = malloc(a + b + 1);
            if (!text) st = sn_fail(SANA_ERR_OUT_OF_MEMORY, "prompt: out of memory");
            else memcpy(text, chi ? chi : "", a), memcpy(text + a, pre, b + 1);
        }
        if (st == SANA_OK) st = sn_prompt_tokenize_one(tok, text, M, ids + i * M, mask + i * M);
        free(pre), free(text);
    }
    if (st != SANA_OK) {
        free(ids), free(mask);
        return st;
    }
    *ids_out = ids, *mask_out = mask, *m_out = M;
    return SANA_OK;
}

/* Rows [first, first + rows) of t viewed as [R, C] (C = last dim): a view over the same data. */
static sn_tensor sn_rows(const sn_tensor *t, int64_t first, int64_t rows) {
    sn_tensor v = *t;
    int64_t C = t->shape[t->ndim - 1];
    v.ndim = 2;
    memset(v.shape, 0, sizeof v.shape);
    v.shape[0] = rows, v.shape[1] = C;
    v.data = (char *)t->data + (size_t)(first * C) * sn_dtype_size(t->dtype);
    return v;
}

static sana_status sn_upload_mask(sn_backend *be, const float *m, int64_t n, int64_t L, sn_tensor *mask) {
    SN_TRY(sn_tensor_alloc(be, SN_F32, 2, SN_SHAPE(n, L), mask));
    sana_status st = sn_upload_convert(mask, SN_F32, m);
    if (st != SANA_OK) sn_tensor_free(mask);
    return st;
}

/* Source row of output row r: <bos>, then the last L - 1 rows (select_index). */
static int64_t sn_selected_row(int64_t r, int64_t M, int64_t L) { return r == 0 ? 0 : M - L + r; }

/* Rows [0, R) of every sequence of ids / mask [n, M], packed as [n, R] (malloc'd). */
static sana_status sn_prefix_rows(const int32_t *a, int64_t n, int64_t M, int64_t R, int32_t **out) {
    *out = malloc((size_t)(n * R) * sizeof **out);
    if (!*out) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "prompt: out of memory");
    for (int64_t b = 0; b < n; b++) memcpy(*out + b * R, a + b * M, (size_t)R * sizeof **out);
    return SANA_OK;
}

sana_status sn_prompt_forward(const sn_gemma *g, const int32_t *ids, const int32_t *mask, int64_t n, int64_t M,
                              int exact, sn_tensor *emb) {
    sn_backend *be = sn_gemma_backend(g);
    int64_t L = emb->shape[1], H = emb->shape[2], R = M;
    if (!exact && mask) { /* causal attention: rows up to the last real token never see a pad */
        R = 1;
        for (int64_t b = 0; b < n; b++)
            for (int64_t i = M - 1; i >= R; i--)
                if (mask[b * M + i]) {
                    R = i + 1;
                    break;
                }
    }
    int32_t *rids = NULL, *rmask = NULL;
    sana_status st = R == M ? SANA_OK : sn_prefix_rows(ids, n, M, R, &rids);
    if (st == SANA_OK && R < M && mask) st = sn_prefix_rows(mask, n, M, R, &rmask);
    sn_arena_mark mark = sn_scratch_mark(be);
    sn_tensor h = *emb; /* all rows ran and none is dropped: Gemma writes emb itself */
    if (st == SANA_OK && !(R == M && M == L)) st = sn_tensor_scratch(be, emb->dtype, 3, SN_SHAPE(n, R, H), &h);
    if (st == SANA_OK) st = sn_gemma_forward(g, rids ? rids : ids, rmask ? rmask : mask, n, R, &h, NULL, NULL);
    for (int64_t b = 0; b < n && st == SANA_OK && h.data != emb->data; b++) {
        sn_tensor dst0 = sn_rows(emb, b * L, 1), src0 = sn_rows(&h, b * R, 1);
        st = sn_copy(&dst0, &src0);
        int64_t first = sn_selected_row(1, M, L), count = (R < M ? R : M) - first; /* rows 1.. that ran */
        if (st == SANA_OK && L > 1 && count > 0) {
            sn_tensor dst = sn_rows(emb, b * L + 1, count), src = sn_rows(&h, b * R + first, count);
            st = sn_copy(&dst, &src);
        }
    }
    /* pad rows (with every row that did not run: all pads) are zero, in runs */
    for (int64_t b = 0; b < n && st == SANA_OK && !exact && mask; b++)
        for (int64_t r = 0; r < L && st == SANA_OK;) {
            if (mask[b * M + sn_selected_row(r, M, L)]) {
                r++;
                continue;
            }
            int64_t end = r + 1;
            while (end < L && !mask[b * M + sn_selected_row(end, M, L)]) end++;
            sn_tensor pads = sn_rows(emb, b * L + r, end - r);
            st = sn_fill(&pads, 0.0f);
            r = end;
        }
    sn_scratch_reset(be, mark);
    free(rids), free(rmask);
    return st;
}

/* Tokenize, run Gemma over [n, M], keep rows [0] + [M-L+1, M) of each sequence. */
static sana_status sn_prompt_run(const sn_tokenizer *tok, const sn_gemma *g, const char *const *prompts, int32_t n,
                                 const sn_prompt_params *p, int positive, sn_tensor *emb, sn_tensor *mask) {
    if (!g) return sn_fail(SANA_ERR_UNSUPPORTED, "prompt: the text encoder is not loaded (or was released)");
    sn_backend *be = sn_gemma_backend(g);
    int64_t H = sn_gemma_get_config(g)->hidden_size, L = p->max_sequence_length, M = 0;
    int32_t *ids = NULL, *m = NULL;
    SN_TRY(sn_prompt_tokenize(tok, prompts, n, p, positive, &ids, &m, &M));
    sn_log(SANA_LOG_INFO, "text encoder: %d %s prompt(s) of %lld tokens", n, positive ? "positive" : "negative",
           (long long)M);
    int exact = p->exact_padding || (p->nvlabs_compat && !positive);
    float *mh = malloc((size_t)(n * L) * sizeof *mh);
    sana_status st = mh ? SANA_OK : sn_fail(SANA_ERR_OUT_OF_MEMORY, "prompt: out of memory");
    if (st == SANA_OK) st = sn_tensor_alloc(be, be->act_dtype, 3, SN_SHAPE(n, L, H), emb);
    if (st == SANA_OK && (st = sn_prompt_forward(g, ids, m, n, M, exact, emb)) != SANA_OK) sn_tensor_free(emb);
    for (int64_t b = 0; b < n && st == SANA_OK; b++)
        for (int64_t r = 0; r < L; r++) mh[b * L + r] = (float)m[b * M + sn_selected_row(r, M, L)];
    if (st == SANA_OK && (st = sn_upload_mask(be, mh, n, L, mask)) != SANA_OK) sn_tensor_free(emb);
    free(ids), free(m), free(mh);
    return st;
}

sana_status sn_prompt_encode(const sn_tokenizer *tok, const sn_gemma *g, const char *const *prompts,
                             int32_t n, const sn_prompt_params *p, sn_tensor *emb, sn_tensor *mask) {
    return sn_prompt_run(tok, g, prompts, n, p, 1, emb, mask);
}

sana_status sn_prompt_encode_negative(const sn_tokenizer *tok, const sn_gemma *g,
                                      const char *const *negatives, int32_t n,
                                      const sn_prompt_params *p, sn_tensor *emb, sn_tensor *mask) {
    static const char *const empty[1] = {""};
    return sn_prompt_run(tok, g, negatives ? negatives : empty, negatives ? n : 1, p, 0, emb, mask);
}

/* --- the unconditional cache ------------------------------------------------------------------ */

#define SN_PROMPT_CACHE_CAP 4

typedef struct sn_prompt_cache_entry {
    uint64_t encoder; /* sn_gemma_serial */
    const sn_tokenizer *tok;
    int32_t L, nvlabs, exact;
    char *text;
    sn_tensor emb, mask; /* [1, L, H], [1, L] */
} sn_prompt_cache_entry;

struct sn_prompt_cache {
    sn_mutex lock;
    int32_t count;
    sn_prompt_cache_entry e[SN_PROMPT_CACHE_CAP]; /* most recently used first */
    int64_t hits, misses;
};

sana_status sn_prompt_cache_create(sn_prompt_cache **out) {
    *out = calloc(1, sizeof **out);
    if (!*out) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "prompt cache: out of memory");
    sn_mutex_init(&(*out)->lock);
    return SANA_OK;
}

static void sn_prompt_cache_entry_free(sn_prompt_cache_entry *e) {
    free(e->text);
    sn_tensor_free(&e->emb);
    sn_tensor_free(&e->mask);
    memset(e, 0, sizeof *e);
}

void sn_prompt_cache_free(sn_prompt_cache *c) {
    if (!c) return;
    for (int32_t i = 0; i < c->count; i++) sn_prompt_cache_entry_free(&c->e[i]);
    sn_mutex_destroy(&c->lock);
    free(c);
}

void sn_prompt_cache_stats(const sn_prompt_cache *c, int64_t *hits, int64_t *misses) {
    *hits = c ? c->hits : 0;
    *misses = c ? c->misses : 0;
}

/* The entry for this key, moved to the front, computing it on a miss. Called with the lock held. */
static sana_status sn_prompt_cache_get(sn_prompt_cache *c, const sn_tokenizer *tok, const sn_gemma *g,
                                       const char *text, const sn_prompt_params *p, sn_prompt_cache_entry **out) {
    if (!g) return sn_fail(SANA_ERR_UNSUPPORTED, "prompt: the text encoder is not loaded (or was released)");
    uint64_t serial = sn_gemma_serial(g);
    int32_t i = 0;
    for (; i < c->count; i++) {
        sn_prompt_cache_entry *e = &c->e[i];
        if (e->encoder == serial && e->tok == tok && e->L == p->max_sequence_length &&
            e->nvlabs == !!p->nvlabs_compat && e->exact == !!p->exact_padding && !strcmp(e->text, text))
            break;
    }
    sn_prompt_cache_entry hit;
    if (i < c->count) {
        c->hits++;
        hit = c->e[i];
        memmove(&c->e[1], &c->e[0], (size_t)i * sizeof c->e[0]);
    } else {
        memset(&hit, 0, sizeof hit);
        hit.encoder = serial, hit.tok = tok, hit.L = p->max_sequence_length, hit.nvlabs = !!p->nvlabs_compat;
        hit.exact = !!p->exact_padding;
        hit.text = strdup(text);
        if (!hit.text) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "prompt cache: out of memory");
        /* Entries outlive the call and serve every context sharing the model: compute them on
         * the encoder's own backend (this runs under the cache's lock), then wait for it. */
        sn_backend *call = sn_backend_bind_call(NULL);
        sana_status st = sn_prompt_encode_negative(tok, g, &text, 1, p, &hit.emb, &hit.mask);
        if (st == SANA_OK) st = hit.emb.be->ops->synchronize(hit.emb.be);
        sn_backend_bind_call(call);
        if (st != SANA_OK) {
            free(hit.text);
            return st;
        }
        c->misses++;
        if (c->count == SN_PROMPT_CACHE_CAP) sn_prompt_cache_entry_free(&c->e[--c->count]);
        memmove(&c->e[1], &c->e[0], (size_t)c->count * sizeof c->e[0]);
        c->count++;
    }
    c->e[0] = hit;
    *out = &c->e[0];
    return SANA_OK;
}

/* dst [n, ...] <- n copies of src [1, ...] */
static sana_status sn_repeat(const sn_tensor *src, int32_t n, sn_tensor *dst) {
    int64_t shape[SN_MAX_DIMS];
    memcpy(shape, src->shape, sizeof shape);
    shape[0] = n;
    SN_TRY(sn_tensor_alloc(sn_backend_for_call(src->be), src->dtype, src->ndim, shape, dst));
    int64_t per = sn_numel(src) / src->shape[src->ndim - 1]; /* rows of one copy */
    for (int32_t i = 0; i < n; i++) {
        sn_tensor d = sn_rows(dst, i * per, per), s = sn_rows(src, 0, per);
        sana_status st = sn_copy(&d, &s);
        if (st != SANA_OK) {
            sn_tensor_free(dst);
            return st;
        }
    }
    return SANA_OK;
}

sana_status sn_prompt_encode_cfg(sn_prompt_cache *cache, const sn_tokenizer *tok, const sn_gemma *g,
                                 const char *const *prompts, int32_t n, const char *negative,
                                 const sn_prompt_params *p, sn_tensor *cond, sn_tensor *cond_mask,
                                 sn_tensor *uncond, sn_tensor *uncond_mask) {
    const char *neg = negative ? negative : "";
    SN_TRY(sn_prompt_encode(tok, g, prompts, n, p, cond, cond_mask));
    if (!cache) cache = sn_gemma_uncond_cache(g); /* g is loaded: sn_prompt_encode checked */
    sana_status st;
    sn_prompt_cache_entry local, *e = &local;
    memset(&local, 0, sizeof local);
    if (cache) {
        sn_mutex_lock(&cache->lock);
        st = sn_prompt_cache_get(cache, tok, g, neg, p, &e);
    } else {
        st = sn_prompt_encode_negative(tok, g, &neg, 1, p, &local.emb, &local.mask);
    }
    if (st == SANA_OK) st = sn_repeat(&e->emb, n, uncond);
    if (st == SANA_OK) {
        /* NVlabs hands the positive prompt's mask to both CFG branches */
        if (!p->nvlabs_compat) {
            st = sn_repeat(&e->mask, n, uncond_mask);
        } else if ((st = sn_tensor_alloc(cond_mask->be, cond_mask->dtype, 2, cond_mask->shape, uncond_mask)) == SANA_OK &&
                   (st = sn_copy(uncond_mask, cond_mask)) != SANA_OK) {
            sn_tensor_free(uncond_mask);
        }
        if (st != SANA_OK) sn_tensor_free(uncond);
    }
    if (cache) sn_mutex_unlock(&cache->lock);
    else sn_prompt_cache_entry_free(&local);
    if (st != SANA_OK) {
        sn_tensor_free(cond);
        sn_tensor_free(cond_mask);
    }
    return st;
}
