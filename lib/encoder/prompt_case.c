/* Python's str.lower() and str.strip() on UTF-8, for diffusers' prompt preprocessing
 * (`prompt.lower().strip()`). Exactness matters: the lower-cased text is what gets tokenized.
 *
 * - lower: the single-code-point mappings of Python 3.11's Unicode 14 database (table generated
 *   from the reference interpreter), U+0130 -> "i\u0307" (the one multi-code-point mapping), and
 *   the Final_Sigma rule exactly as CPython applies it (capital sigma becomes final sigma when a
 *   cased letter precedes it and none follows, skipping case-ignorable code points).
 * - strip: Python's whitespace set (str.isspace).
 * - Bytes that are not valid UTF-8 pass through unchanged; the tokenizer then decodes them the
 *   way Python's bytes.decode("utf-8", "replace") does, so the result equals Python's.
 *
 * The table (prompt_case_table.h) was generated with this script, run by the reference venv:
 *   lower: for cp, chr(cp).lower() of length 1 and != chr(cp) -> runs of equal delta;
 *   cased: c.islower() or c.isupper() or c.istitle();
 *   case-ignorable: category Mn, Me, Cf, Lm, Sk, or Word_Break MidLetter/MidNumLet/Single_Quote. */
#include <stdlib.h>
#include <string.h>

#include "encoder/prompt.h"
#include "encoder/prompt_case_table.h"

#define SN_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Decodes one well-formed UTF-8 sequence at s (n bytes left): its length, or 0 when invalid. */
static size_t sn_utf8_next(const unsigned char *s, size_t n, int32_t *cp) {
    unsigned char c = s[0];
    if (c < 0x80) return *cp = c, 1;
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    if (!len || len > n || c > 0xF4) return 0;
    int32_t v = c & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    static const int32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min[len] || v > 0x10FFFF || (v >= 0xD800 && v < 0xE000)) return 0;
    *cp = v;
    return len;
}

static size_t sn_utf8_put(char *o, int32_t cp) {
    if (cp < 0x80) return o[0] = (char)cp, 1;
    if (cp < 0x800) return o[0] = (char)(0xC0 | cp >> 6), o[1] = (char)(0x80 | (cp & 0x3F)), 2;
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12), o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)), o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18), o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static int sn_in_ranges(const int32_t (*r)[2], size_t n, int32_t cp) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < r[mid][0]) hi = mid;
        else if (cp > r[mid][1]) lo = mid + 1;
        else return 1;
    }
    return 0;
}

static int32_t sn_lower_cp(int32_t cp) {
    size_t lo = 0, hi = SN_NELEM(sn_lower_ranges);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const int32_t *r = sn_lower_ranges[mid];
        if (cp < r[0]) hi = mid;
        else if (cp > r[1]) lo = mid + 1;
        else return (cp - r[0]) % r[2] == 0 ? cp + r[3] : cp;
    }
    return cp;
}

static int sn_is_cased(int32_t cp) { return cp >= 0 && sn_in_ranges(sn_cased_ranges, SN_NELEM(sn_cased_ranges), cp); }
static int sn_is_case_ignorable(int32_t cp) {
    return cp >= 0 && sn_in_ranges(sn_case_ignorable_ranges, SN_NELEM(sn_case_ignorable_ranges), cp);
}

int sn_unicode_is_space(int32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 ||
           cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* The text as code points; an invalid byte b is kept as -1 - b. */
static int32_t *sn_decode(const char *text, size_t len, size_t *n) {
    int32_t *cps = malloc((len + 1) * sizeof *cps);
    if (!cps) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < len;) {
        int32_t cp;
        size_t m = sn_utf8_next((const unsigned char *)text + i, len - i, &cp);
        if (m) cps[k++] = cp, i += m;
        else cps[k++] = -1 - (int32_t)(unsigned char)text[i], i++;
    }
    *n = k;
    return cps;
}

/* CPython's handle_capital_sigma. */
static int sn_final_sigma(const int32_t *c, size_t n, size_t i) {
    size_t j = i;
    while (j > 0 && sn_is_case_ignorable(c[j - 1])) j--;
    if (j == 0 || !sn_is_cased(c[j - 1])) return 0;
    j = i + 1;
    while (j < n && sn_is_case_ignorable(c[j])) j++;
    return j == n || !sn_is_cased(c[j]);
}

sana_status sn_text_lower_strip(const char *text, size_t len, int lower, char **out) {
    *out = NULL;
    size_t n = 0;
    int32_t *c = sn_decode(text, len, &n);
    char *o = malloc(len * 2 + 4 + 1); /* lower-casing grows a code point by at most one byte */
    if (!c || !o) {
        free(c), free(o);
        return sn_fail(SANA_ERR_OUT_OF_MEMORY, "prompt: out of memory");
    }
    size_t a = 0, b = n;
    while (a < b && c[a] >= 0 && sn_unicode_is_space(c[a])) a++;
    while (b > a && c[b - 1] >= 0 && sn_unicode_is_space(c[b - 1])) b--;
    size_t k = 0;
    for (size_t i = a; i < b; i++) {
        int32_t cp = c[i];
        if (cp < 0) {
            o[k++] = (char)(-1 - cp);
            continue;
        }
        if (lower) {
            if (cp == 0x130) { /* U+0130 -> "i" + U+0307 COMBINING DOT ABOVE */
                k += sn_utf8_put(o + k, 'i');
                cp = 0x307;
            } else if (cp == 0x3A3) {
                cp = sn_final_sigma(c, n, i) ? 0x3C2 : 0x3C3;
            } else {
                cp = sn_lower_cp(cp);
            }
        }
        k += sn_utf8_put(o + k, cp);
    }
    o[k] = 0;
    free(c);
    *out = o;
    return SANA_OK;
}
