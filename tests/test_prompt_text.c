/* Python's str.lower().strip() (diffusers' prompt preprocessing) in lib/encoder/prompt_case.c,
 * on fixed strings whose expected bytes come from Python 3.11 (the reference interpreter):
 * Cyrillic, Greek final sigma rules, U+0130, titlecase, Deseret/Adlam, Unicode whitespace,
 * invalid UTF-8 passing through. */
#include <stdlib.h>
#include <string.h>

#include "encoder/prompt.h"
#include "harness.h"

static void check_lower(const char *in, const char *want_hex) {
    char *out = NULL;
    CHECK_OK(sn_text_lower_strip(in, strlen(in), 1, &out));
    char hex[512] = "";
    for (size_t i = 0; out && out[i] && i < 250; i++) sprintf(hex + 2 * i, "%02x", (unsigned char)out[i]);
    CHECK(!strcmp(hex, want_hex), "lower().strip() of \"%s\": %s, want %s", in, hex, want_hex);
    free(out);
}

static void test_lower_strip(void) {
    /* expected bytes from Python 3.11: s.lower().strip().encode().hex() */
    check_lower("  Два КОТА 🐱 in the rain  ", "d0b4d0b2d0b020d0bad0bed182d0b020f09f90b120696e20746865207261696e");
    check_lower("ΟΔΟΣ Σ ΑΣ.Σ", "cebfceb4cebfcf8220cf8320ceb1cf832ecf82"); /* final sigma rules */
    check_lower("İstanbul ǅ ẞ Ⅻ ＡＢＣ", "69cc877374616e62756c20c78620c39f20e285bb20efbd81efbd82efbd83");
    check_lower("\u00a0\u2028 x \u3000\xc2\x85", "78"); /* Unicode whitespace is stripped */
    check_lower("ΑΣ\u0301 ΑΣ\u0301Β", "ceb1cf82cc8120ceb1cf83cc81ceb2");
    check_lower("ꭰ Ꭰ 𐐀 𞤀", "eaadb020eaadb020f09090a820f09ea4a2");
    check_lower("A\xff\xc3 B\xe2\x82", "61ffc32062e282"); /* invalid bytes pass through */
    check_lower("", "");
    char *out = NULL;
    CHECK_OK(sn_text_lower_strip(" ABC ", 5, 0, &out)); /* strip only (NVlabs) */
    CHECK(out && !strcmp(out, "ABC"), "strip: %s", out ? out : "(null)");
    free(out);
}

int main(void) {
    test_lower_strip();
    /* the two instructions: diffusers quotes 'Enhanced prompt', NVlabs "Enhanced prompt" */
    CHECK(strstr(sn_chi_diffusers, "generate an 'Enhanced prompt' that") == sn_chi_diffusers + 21, "diffusers CHI");
    CHECK(strstr(sn_chi_nvlabs, "generate an \"Enhanced prompt\" that") == sn_chi_nvlabs + 21, "NVlabs CHI");
    size_t n = strlen(sn_chi_diffusers);
    CHECK(n == strlen(sn_chi_nvlabs) && !strcmp(sn_chi_diffusers + n - 14, "\nUser Prompt: "), "CHI ends in \"User Prompt: \"");
    int lines = 1;
    for (size_t i = 0; i < n; i++) lines += sn_chi_diffusers[i] == '\n';
    CHECK(lines == 8, "the CHI has %d lines", lines);
    return tu_finish("test_prompt_text");
}
