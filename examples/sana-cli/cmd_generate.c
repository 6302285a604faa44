/* sana-cli generate (placeholder until its issue lands). */
#include <stdio.h>

#include "cli.h"

int cmd_generate(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "sana-cli generate: not implemented yet\n");
    return 1;
}
