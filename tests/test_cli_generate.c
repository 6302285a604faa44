/* sana-cli generate: argument errors, a missing init image, and (when the whole pipeline runs
 * here) that the same command twice writes identical PNG bytes carrying the parameters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

/* Runs `sana-cli generate ARGS`; returns the exit code and the combined output in out. */
static int run(const char *args, char *out, size_t cap) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' generate %s 2>&1", SANA_CLI_PATH, args);
    FILE *f = popen(cmd, "r");
    if (!f) return -1;
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void expect(const char *args, int code, const char *needle) {
    char out[8192];
    int rc = run(args, out, sizeof out);
    CHECK(rc == code, "sana-cli generate %s: exit %d, expected %d\n%s", args, rc, code, out);
    CHECK(strstr(out, needle) != NULL, "sana-cli generate %s: output should mention '%s':\n%s", args, needle, out);
    printf("generate %s -> %d: %.*s\n", args, rc, (int)strcspn(out, "\n"), out);
}

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(len > 0 ? (size_t)len : 1);
    *n = fread(b, 1, (size_t)len, f);
    fclose(f);
    return b;
}

int main(void) {
    const char *tmp = tu_temp_dir();
    char args[4096], out[16384];
    expect("--width 64", 2, "--prompt is required");
    expect("--prompt x --steps 0", 2, "--steps");
    expect("--prompt x --width -5", 2, "--width");
    expect("--prompt x --cfg nan", 2, "--cfg");
    expect("--prompt x --solver heun", 2, "--solver");
    expect("--prompt x --bogus 1", 2, "unknown option");
    snprintf(args, sizeof args, "--prompt x --init-image '%s/missing.png' --out '%s/a.png'", tmp, tmp);
    expect(args, 1, "missing.png");
    snprintf(args, sizeof args, "--model '%s/no-such-model' --prompt x --out '%s/a.png'", tmp, tmp);
    expect(args, 1, "no-such-model");

    /* the bundled model, twice: identical bytes */
    char a[1024], b[1024];
    snprintf(a, sizeof a, "%s/one.png", tmp);
    snprintf(b, sizeof b, "%s/two.png", tmp);
    snprintf(args, sizeof args, "--prompt 'a red fox' --width 64 --height 64 --no-binning --steps 2 --seed 3 --threads 2 --out '%s'", a);
    int rc = run(args, out, sizeof out);
    if (rc != 0 && strstr(out, "not implemented yet")) {
        printf("note: the pipeline does not run here yet (%s); determinism check skipped\n", out);
        return tu_finish("test_cli_generate");
    }
    CHECK(rc == 0, "generate: exit %d\n%s", rc, out);
    CHECK(strstr(out, "bundled tiny test model") != NULL, "no note about the bundled model:\n%s", out);
    CHECK(strstr(out, "step 2/2") != NULL, "no progress bar:\n%s", out);
    snprintf(args, sizeof args, "--prompt 'a red fox' --width 64 --height 64 --no-binning --steps 2 --seed 3 --threads 2 --out '%s'", b);
    CHECK(run(args, out, sizeof out) == 0, "second run failed:\n%s", out);
    size_t na = 0, nb = 0;
    unsigned char *da = slurp(a, &na), *db = slurp(b, &nb);
    CHECK(da && db && na == nb && na > 0 && memcmp(da, db, na) == 0, "the same command wrote different bytes (%zu vs %zu)", na, nb);
    sana_image *im = NULL;
    CHECK_OK(sana_image_load_png(a, &im));
    CHECK(im && strstr(sana_image_parameters(im), "a red fox") && strstr(sana_image_parameters(im), "Seed: 3"),
          "PNG parameters: %s", im ? sana_image_parameters(im) : "");
    CHECK(im && sana_image_width(im) == 64 && sana_image_height(im) == 64, "size");
    printf("identical %zu-byte PNGs; parameters: %s\n", na, im ? sana_image_parameters(im) : "");
    sana_image_free(im);
    free(da);
    free(db);
    /* batch: numbered files */
    snprintf(args, sizeof args, "--prompt 'a red fox' --width 64 --height 64 --no-binning --steps 1 --batch 2 --out '%s/b.png'", tmp);
    CHECK(run(args, out, sizeof out) == 0, "batch run failed:\n%s", out);
    FILE *f0 = fopen(tu_path(tmp, "b-0.png"), "rb"), *f1 = fopen(tu_path(tmp, "b-1.png"), "rb");
    CHECK(f0 && f1, "batch 2 should write b-0.png and b-1.png");
    if (f0) fclose(f0);
    if (f1) fclose(f1);
    return tu_finish("test_cli_generate");
}
