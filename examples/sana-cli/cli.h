/* sana-cli subcommands, one file each. Each returns the process exit code (0 ok, 1 failure,
 * 2 usage). */
#ifndef SANA_CLI_H
#define SANA_CLI_H

int cmd_info(int argc, char **argv);     /* cmd_info.c */
int cmd_generate(int argc, char **argv); /* cmd_generate.c */
int cmd_tokenize(int argc, char **argv); /* cmd_tokenize.c */

#endif
