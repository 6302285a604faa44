/* UTF-8 at the tokenizer's boundary: validation, U+FFFD replacement, white space. */
#include <stdlib.h>
#include <string.h>

#include "encoder/tokenizer_internal.h"

/* Returns the length of the valid sequence at s, or 0 with *bad set to the length of the
 * maximal invalid subpart (>= 1) to replace by one U+FFFD. Unicode's "best practice" for
 * U+FFFD substitution, which Python's "replace" error handler follows. */
static size_t utf8_step(const unsigned char *s, size_t n, size_t *bad) {
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        *bad = 1;
        return 0;
    }
    for (size_t k = 1; k <= need; k++) {
        unsigned char l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
        if (k >= n || s[k] < l || s[k] > h) {
            *bad = k;
            return 0;
        }
    }
    return need + 1;
}

size_t sn_utf8_valid_len(const unsigned char *s, size_t n) {
    size_t bad;
    return n ? utf8_step(s, n, &bad) : 0;
}

sana_status sn_utf8_sanitize(const char *text, size_t len, const char **out, size_t *out_len,
                             char **owned) {
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0, bad = 0;
    *owned = NULL;
    while (i < len) {
        size_t l = s[i] < 0x80 ? 1 : utf8_step(s + i, len - i, &bad);
        if (!l) break;
        i += l;
    }
    if (i == len) {
        *out = text;
        *out_len = len;
        return SANA_OK;
    }
    /* Worst case: every byte becomes the 3-byte U+FFFD. */
    if (len > (SIZE_MAX - 1) / 3) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "text too long");
    char *buf = malloc(len * 3 + 1);
    if (!buf) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "out of memory sanitizing %zu bytes", len);
    memcpy(buf, text, i);
    size_t w = i;
    while (i < len) {
        size_t l = utf8_step(s + i, len - i, &bad);
        if (l) {
            memcpy(buf + w, s + i, l);
            w += l;
            i += l;
        } else {
            memcpy(buf + w, "\xEF\xBF\xBD", 3);
            w += 3;
            i += bad;
        }
    }
    buf[w] = '\0';
    *owned = buf;
    *out = buf;
    *out_len = w;
    return SANA_OK;
}

uint32_t sn_utf8_decode(const unsigned char *s, size_t *clen) {
    unsigned char c = s[0];
    size_t l = sn_utf8_char_len(c);
    uint32_t cp = l == 1 ? c : l == 2 ? (c & 0x1Fu) : l == 3 ? (c & 0x0Fu) : (c & 0x07u);
    for (size_t k = 1; k < l; k++) cp = (cp << 6) | (s[k] & 0x3Fu);
    *clen = l;
    return cp;
}

int sn_utf8_is_space(const unsigned char *s, size_t n, size_t *clen) {
    (void)n;
    uint32_t c = sn_utf8_decode(s, clen);
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}
