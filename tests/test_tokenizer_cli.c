/* sana-cli tokenize: ids on one line, stdin read byte for byte, clear errors with a non-zero
 * exit. Runs the built sana-cli (SANA_CLI_PATH) through the shell. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

/* Runs `cmd` through the shell, captures its stdout into out; returns the exit code. */
static int run(const char *cmd, char *out, size_t cap) {
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(void) {
    char dir[4096], cmd[16384], out[8192];
    snprintf(dir, sizeof dir, "%s", tu_path(tu_shared_dir(), "data/gemma2-tokenizer"));
    const char *cli = SANA_CLI_PATH;
    const char *tmp = tu_temp_dir();

    /* TEXT argument, folder path */
    snprintf(cmd, sizeof cmd, "'%s' tokenize --tokenizer '%s' 'why is the sky blue?'", cli, dir);
    int rc = run(cmd, out, sizeof out);
    CHECK(rc == 0 && !strcmp(out, "2 18177 603 573 8203 3868 235336\n"), "text arg: rc %d out '%s'", rc,
          out);

    /* stdin, byte for byte: a trailing newline is part of the text (id 108), and so are the
     * two leading spaces; the tokenizer.json file path form */
    char in_path[4096];
    snprintf(in_path, sizeof in_path, "%s", tu_path(tmp, "in.txt"));
    tu_write_file(in_path, "  a cat\n", 8);
    snprintf(cmd, sizeof cmd, "'%s' tokenize --tokenizer '%s/tokenizer.json' - < '%s'", cli, dir,
             in_path);
    rc = run(cmd, out, sizeof out);
    CHECK(rc == 0 && !strcmp(out, "2 139 235250 4401 108\n"), "stdin: rc %d out '%s'", rc, out);

    /* --no-special, and invalid UTF-8 on stdin (as Python's decode(errors="replace")) */
    tu_write_file(in_path, "caf\xE9", 4);
    snprintf(cmd, sizeof cmd, "'%s' tokenize --no-special --tokenizer '%s' - < '%s'", cli, dir,
             in_path);
    rc = run(cmd, out, sizeof out);
    CHECK(rc == 0 && !strcmp(out, "67504 236193\n"), "invalid UTF-8 stdin: rc %d out '%s'", rc, out);

    /* empty stdin: just <bos> */
    tu_write_file(in_path, "", 0);
    snprintf(cmd, sizeof cmd, "'%s' tokenize --tokenizer '%s' - < '%s'", cli, dir, in_path);
    rc = run(cmd, out, sizeof out);
    CHECK(rc == 0 && !strcmp(out, "2\n"), "empty stdin: rc %d out '%s'", rc, out);

    /* a bad file: non-zero exit, the reason on stderr */
    char bad[4096];
    snprintf(bad, sizeof bad, "%s", tu_path(tmp, "tokenizer.json"));
    const char *unigram = "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}";
    tu_write_file(bad, unigram, strlen(unigram));
    snprintf(cmd, sizeof cmd, "'%s' tokenize --tokenizer '%s' x 2>&1", cli, bad);
    rc = run(cmd, out, sizeof out);
    CHECK(rc == 1 && strstr(out, "Unigram") && strstr(out, "not supported"), "bad file: rc %d out '%s'",
          rc, out);
    snprintf(cmd, sizeof cmd, "'%s' tokenize --tokenizer /nonexistent/tok x 2>&1", cli);
    rc = run(cmd, out, sizeof out);
    CHECK(rc == 1 && strstr(out, "/nonexistent/tok"), "missing file: rc %d out '%s'", rc, out);
    snprintf(cmd, sizeof cmd, "'%s' tokenize x 2>&1", cli);
    rc = run(cmd, out, sizeof out);
    CHECK(rc == 2 && strstr(out, "--tokenizer"), "no --tokenizer: rc %d out '%s'", rc, out);
    return tu_finish("test_tokenizer_cli");
}
