/* sana-cli tokenize --tokenizer PATH [--no-special] [TEXT | -]
 *
 * Prints the token ids of TEXT, space-separated on one line. With "-" (or no TEXT) the text is
 * read from stdin byte for byte: nothing trimmed, no newline added. PATH is a tokenizer.json
 * file or a folder holding one. --no-special leaves out what the post-processor adds (<bos>). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sana/sana.h"

static int tok_usage(FILE *f) {
    fprintf(f, "usage: sana-cli tokenize --tokenizer PATH [--no-special] [TEXT | -]\n"
               "  PATH          tokenizer.json, or a folder holding it (and tokenizer_config.json)\n"
               "  TEXT          the text; '-' or nothing reads stdin byte for byte\n"
               "  --no-special  no <bos> (add_special_tokens=False)\n");
    return f == stderr ? 2 : 0;
}

static char *read_stdin(size_t *len) {
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    while (b) {
        size_t got = fread(b + n, 1, cap - n, stdin);
        n += got;
        if (got == 0) break;
        if (n == cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) free(b);
            b = nb;
        }
    }
    if (b && ferror(stdin)) {
        free(b);
        b = NULL;
    }
    *len = n;
    return b;
}

int cmd_tokenize(int argc, char **argv) {
    const char *path = NULL, *text = NULL;
    int special = 1, have_text = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return tok_usage(stdout);
        if (!strcmp(a, "--tokenizer")) {
            if (++i >= argc) return tok_usage(stderr);
            path = argv[i];
        } else if (!strncmp(a, "--tokenizer=", 12)) {
            path = a + 12;
        } else if (!strcmp(a, "--no-special")) {
            special = 0;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "sana-cli tokenize: unknown option '%s'\n", a);
            return tok_usage(stderr);
        } else if (have_text) {
            fprintf(stderr, "sana-cli tokenize: one TEXT argument only (quote it)\n");
            return tok_usage(stderr);
        } else {
            text = a;
            have_text = 1;
        }
    }
    if (!path) {
        fprintf(stderr, "sana-cli tokenize: --tokenizer PATH is required\n");
        return tok_usage(stderr);
    }
    char *owned = NULL;
    size_t len;
    if (!have_text || !strcmp(text, "-")) {
        owned = read_stdin(&len);
        if (!owned) {
            fprintf(stderr, "sana-cli tokenize: cannot read stdin\n");
            return 1;
        }
        text = owned;
    } else {
        len = strlen(text);
    }

    sana_tokenizer *tok;
    sana_status st = sana_tokenizer_load(path, &tok);
    if (st != SANA_OK) {
        fprintf(stderr, "sana-cli tokenize: %s\n", sana_last_error());
        free(owned);
        return 1;
    }
    size_t n = 0;
    int32_t *ids = NULL;
    st = sana_tokenizer_encode(tok, text, len, special, NULL, 0, &n);
    if (st == SANA_OK) {
        ids = malloc((n ? n : 1) * sizeof *ids);
        st = ids ? sana_tokenizer_encode(tok, text, len, special, ids, n, &n) : SANA_ERR_OUT_OF_MEMORY;
    }
    if (st != SANA_OK) {
        fprintf(stderr, "sana-cli tokenize: %s\n", ids ? sana_last_error() : "out of memory");
    } else {
        for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
        printf("\n");
    }
    free(ids);
    free(owned);
    sana_tokenizer_free(tok);
    return st == SANA_OK ? 0 : 1;
}
