/* The JSON reader of tokenizer_json.h. */
#include "encoder/tokenizer_json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SN_JSON_MAX_DEPTH 256

typedef struct {
    sn_json *j;
    const char *what;
    size_t pos;
    int depth;
} jparser;

static sana_status jerr(jparser *p, const char *msg) {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < p->pos && i < p->j->size; i++) {
        if (p->j->buf[i] == '\n') line++, col = 1;
        else col++;
    }
    if (p->pos >= p->j->size)
        return sn_fail(SANA_ERR_FORMAT, "%s: truncated JSON: the text ends (byte %zu, line %zu) %s",
                       p->what, p->j->size, line, msg);
    return sn_fail(SANA_ERR_FORMAT, "%s: invalid JSON at line %zu, column %zu: %s", p->what, line,
                   col, msg);
}

static void skip_ws(jparser *p) {
    const char *b = p->j->buf;
    while (p->pos < p->j->size) {
        char c = b[p->pos];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') break;
        p->pos++;
    }
}

static sana_status new_node(jparser *p, sn_jtype type, int32_t *out) {
    sn_json *j = p->j;
    if (j->n == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 1024;
        if (cap > INT32_MAX) return sn_fail(SANA_ERR_FORMAT, "%s: too many JSON values", p->what);
        sn_jnode *nodes = realloc(j->nodes, cap * sizeof *nodes);
        if (!nodes) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory parsing JSON", p->what);
        j->nodes = nodes;
        j->cap = cap;
    }
    sn_jnode *nd = &j->nodes[j->n];
    nd->type = (uint8_t)type;
    nd->next = -1;
    nd->a = -1;
    nd->len = 0;
    nd->key = -1;
    nd->klen = 0;
    *out = (int32_t)j->n++;
    return SANA_OK;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int read_hex4(jparser *p, size_t at, uint32_t *v) {
    if (at + 4 > p->j->size) return 0;
    uint32_t x = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval(p->j->buf[at + k]);
        if (h < 0) return 0;
        x = x * 16 + (uint32_t)h;
    }
    *v = x;
    return 1;
}

static size_t put_utf8(char *w, uint32_t cp) {
    if (cp < 0x80) {
        w[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        w[0] = (char)(0xC0 | (cp >> 6));
        w[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        w[0] = (char)(0xE0 | (cp >> 12));
        w[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        w[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    w[0] = (char)(0xF0 | (cp >> 18));
    w[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    w[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    w[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* At an opening quote: unescapes in place, returns the text's offset and length. An escape is
 * never shorter than what it encodes, so the write cursor never passes the read cursor. */
static sana_status parse_string(jparser *p, int32_t *off, uint32_t *len) {
    char *b = p->j->buf;
    size_t start = ++p->pos, r = start, w = start, n = p->j->size;
    for (;;) {
        if (r >= n) {
            p->pos = r;
            return jerr(p, "inside a string");
        }
        unsigned char c = (unsigned char)b[r];
        if (c == '"') break;
        if (c < 0x20) {
            p->pos = r;
            return jerr(p, "control character inside a string");
        }
        if (c != '\\') {
            b[w++] = b[r++];
            continue;
        }
        if (r + 1 >= n) {
            p->pos = n;
            return jerr(p, "inside a string escape");
        }
        char e = b[r + 1];
        r += 2;
        switch (e) {
        case '"': b[w++] = '"'; break;
        case '\\': b[w++] = '\\'; break;
        case '/': b[w++] = '/'; break;
        case 'b': b[w++] = '\b'; break;
        case 'f': b[w++] = '\f'; break;
        case 'n': b[w++] = '\n'; break;
        case 'r': b[w++] = '\r'; break;
        case 't': b[w++] = '\t'; break;
        case 'u': {
            uint32_t cp;
            p->pos = r;
            if (!read_hex4(p, r, &cp)) return jerr(p, "bad \\u escape");
            r += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t lo;
                if (r + 6 > n || b[r] != '\\' || b[r + 1] != 'u' || !read_hex4(p, r + 2, &lo) ||
                    lo < 0xDC00 || lo > 0xDFFF) {
                    p->pos = r;
                    return jerr(p, "lone leading surrogate in a \\u escape");
                }
                r += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return jerr(p, "lone trailing surrogate in a \\u escape");
            }
            w += put_utf8(b + w, cp);
            break;
        }
        default:
            p->pos = r - 1;
            return jerr(p, "unknown string escape");
        }
    }
    b[w] = '\0'; /* w <= r: the closing quote or earlier */
    p->pos = r + 1;
    if (r > INT32_MAX) return jerr(p, "document too large (over 2 GB)");
    *off = (int32_t)start;
    *len = (uint32_t)(w - start);
    return SANA_OK;
}

static sana_status parse_number(jparser *p, int32_t idx) {
    const char *b = p->j->buf;
    size_t s = p->pos, i = s, n = p->j->size;
    if (i < n && b[i] == '-') i++;
    size_t d0 = i;
    while (i < n && b[i] >= '0' && b[i] <= '9') i++;
    if (i == d0) return jerr(p, "expected a digit");
    if (i < n && b[i] == '.') {
        size_t f0 = ++i;
        while (i < n && b[i] >= '0' && b[i] <= '9') i++;
        if (i == f0) {
            p->pos = i;
            return jerr(p, "expected a digit after '.'");
        }
    }
    if (i < n && (b[i] == 'e' || b[i] == 'E')) {
        i++;
        if (i < n && (b[i] == '+' || b[i] == '-')) i++;
        size_t e0 = i;
        while (i < n && b[i] >= '0' && b[i] <= '9') i++;
        if (i == e0) {
            p->pos = i;
            return jerr(p, "expected an exponent");
        }
    }
    if (i > INT32_MAX) return jerr(p, "document too large (over 2 GB)");
    p->j->nodes[idx].a = (int32_t)s;
    p->j->nodes[idx].len = (uint32_t)(i - s);
    p->pos = i;
    return SANA_OK;
}

static int match_word(jparser *p, const char *w) {
    size_t l = strlen(w);
    if (p->pos + l > p->j->size || memcmp(p->j->buf + p->pos, w, l) != 0) return 0;
    p->pos += l;
    return 1;
}

static sana_status parse_value(jparser *p, int32_t *out);

/* Arrays and objects: children are linked through `next` in document order. */
static sana_status parse_container(jparser *p, int is_obj, int32_t idx) {
    char close = is_obj ? '}' : ']';
    if (++p->depth > SN_JSON_MAX_DEPTH) return jerr(p, "nested too deeply");
    p->pos++; /* the opening bracket */
    int32_t last = -1;
    uint32_t count = 0;
    skip_ws(p);
    if (p->pos < p->j->size && p->j->buf[p->pos] == close) {
        p->pos++;
        p->depth--;
        return SANA_OK;
    }
    for (;;) {
        int32_t koff = -1;
        uint32_t klen = 0;
        skip_ws(p);
        if (is_obj) {
            if (p->pos >= p->j->size) return jerr(p, "inside an object");
            if (p->j->buf[p->pos] != '"') return jerr(p, "expected a quoted key");
            SN_TRY(parse_string(p, &koff, &klen));
            skip_ws(p);
            if (p->pos >= p->j->size) return jerr(p, "after an object key");
            if (p->j->buf[p->pos] != ':') return jerr(p, "expected ':' after an object key");
            p->pos++;
        }
        int32_t child;
        SN_TRY(parse_value(p, &child));
        p->j->nodes[child].key = koff;
        p->j->nodes[child].klen = klen;
        if (last < 0) p->j->nodes[idx].a = child;
        else p->j->nodes[last].next = child;
        last = child;
        count++;
        skip_ws(p);
        if (p->pos >= p->j->size) return jerr(p, is_obj ? "inside an object" : "inside an array");
        char c = p->j->buf[p->pos];
        if (c == ',') {
            p->pos++;
            continue;
        }
        if (c == close) {
            p->pos++;
            break;
        }
        return jerr(p, is_obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    p->j->nodes[idx].len = count;
    p->depth--;
    return SANA_OK;
}

static sana_status parse_value(jparser *p, int32_t *out) {
    skip_ws(p);
    if (p->pos >= p->j->size) return jerr(p, "where a value was expected");
    char c = p->j->buf[p->pos];
    int32_t idx;
    switch (c) {
    case '{':
    case '[':
        SN_TRY(new_node(p, c == '{' ? SN_JOBJ : SN_JARR, &idx));
        SN_TRY(parse_container(p, c == '{', idx));
        break;
    case '"': {
        int32_t off;
        uint32_t len;
        SN_TRY(new_node(p, SN_JSTR, &idx));
        SN_TRY(parse_string(p, &off, &len));
        p->j->nodes[idx].a = off;
        p->j->nodes[idx].len = len;
        break;
    }
    case 't':
    case 'f':
    case 'n':
        SN_TRY(new_node(p, c == 't' ? SN_JTRUE : c == 'f' ? SN_JFALSE : SN_JNULL, &idx));
        if (!match_word(p, c == 't' ? "true" : c == 'f' ? "false" : "null"))
            return jerr(p, "unknown literal");
        break;
    default:
        if (c != '-' && (c < '0' || c > '9')) return jerr(p, "unexpected character");
        SN_TRY(new_node(p, SN_JNUM, &idx));
        SN_TRY(parse_number(p, idx));
    }
    *out = idx;
    return SANA_OK;
}

sana_status sn_json_parse(sn_json *j, char *buf, size_t size, const char *what) {
    memset(j, 0, sizeof *j);
    j->buf = buf;
    j->size = size;
    jparser p = {j, what, 0, 0};
    int32_t root;
    sana_status st = parse_value(&p, &root);
    if (st == SANA_OK) {
        skip_ws(&p);
        if (p.pos < size) st = jerr(&p, "unexpected data after the JSON document");
    }
    if (st != SANA_OK) sn_json_free(j);
    return st;
}

void sn_json_free(sn_json *j) {
    free(j->buf);
    free(j->nodes);
    memset(j, 0, sizeof *j);
}

int32_t sn_json_get(const sn_json *j, int32_t obj, const char *key) {
    if (obj < 0 || j->nodes[obj].type != SN_JOBJ) return -1;
    size_t kl = strlen(key);
    for (int32_t c = j->nodes[obj].a; c >= 0; c = j->nodes[c].next)
        if (j->nodes[c].klen == kl && memcmp(j->buf + j->nodes[c].key, key, kl) == 0) return c;
    return -1;
}

sn_jtype sn_json_type(const sn_json *j, int32_t i) {
    return i < 0 ? SN_JNULL : (sn_jtype)j->nodes[i].type;
}

const char *sn_json_str(const sn_json *j, int32_t i, size_t *len) {
    if (i < 0 || j->nodes[i].type != SN_JSTR) return NULL;
    if (len) *len = j->nodes[i].len;
    return j->buf + j->nodes[i].a;
}

double sn_json_num(const sn_json *j, int32_t i) {
    if (i < 0 || j->nodes[i].type != SN_JNUM) return NAN;
    const char *t = j->buf + j->nodes[i].a;
    size_t l = j->nodes[i].len;
    if (l <= 15) { /* plain non-negative integers (every vocab id): no strtod */
        double v = 0;
        size_t k = 0;
        while (k < l && t[k] >= '0' && t[k] <= '9') v = v * 10 + (t[k++] - '0');
        if (k == l) return v;
    }
    char tmp[64];
    if (l >= sizeof tmp) return NAN;
    memcpy(tmp, t, l);
    tmp[l] = '\0';
    return strtod(tmp, NULL);
}

int sn_json_bool(const sn_json *j, int32_t i, int dflt) {
    sn_jtype t = sn_json_type(j, i);
    return t == SN_JTRUE ? 1 : t == SN_JFALSE ? 0 : dflt;
}
