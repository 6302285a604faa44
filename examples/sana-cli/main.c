/* sana-cli: the command-line front of libsana.
 *
 *   sana-cli info MODEL_DIR
 *   sana-cli generate [--model DIR] --prompt TEXT [...] --out FILE.png
 *   sana-cli tokenize --tokenizer PATH [TEXT | -]
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "sana/sana.h"

static int usage(FILE *f) {
    fprintf(f,
            "usage: sana-cli COMMAND [ARGS]\n"
            "  info MODEL_DIR                      components, dtypes, parameter counts, config\n"
            "  generate [--model DIR] --prompt T   text to image (sana-cli generate --help)\n"
            "  tokenize --tokenizer PATH [TEXT|-]  token ids of TEXT (or of stdin with -)\n"
            "  version                             library version\n");
    return f == stderr ? 2 : 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return usage(stderr);
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) return usage(stdout);
    if (!strcmp(cmd, "version")) {
        printf("libsana %s\n", sana_version());
        return 0;
    }
    if (!strcmp(cmd, "info")) return cmd_info(argc - 1, argv + 1);
    if (!strcmp(cmd, "generate")) return cmd_generate(argc - 1, argv + 1);
    if (!strcmp(cmd, "tokenize")) return cmd_tokenize(argc - 1, argv + 1);
    fprintf(stderr, "sana-cli: unknown command '%s'\n", cmd);
    return usage(stderr);
}
