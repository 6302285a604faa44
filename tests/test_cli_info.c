/* sana-cli info against the fixture models: each component's parameter count must equal the sum
 * of numel over its safetensors headers and its dtypes the dtypes there (both computed here, file
 * by file), and the config summary must show the config's values. Bad folders must give a clear
 * message and a non-zero exit. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "io/safetensors.h"

static char out[1 << 16];

/* Runs `sana-cli info ARGS` with stderr merged into stdout; returns the exit code. */
static int run_info(const char *args) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' info %s 2>&1", SANA_CLI_PATH, args);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The block of component `name` in the output ("[name] ..." up to the next blank line), copied. */
static const char *block_of(const char *name, char *buf, size_t cap) {
    char head[64];
    snprintf(head, sizeof head, "\n[%s] ", name);
    const char *s = strstr(out, head);
    if (!s) return NULL;
    const char *e = strstr(s + 1, "\n\n");
    size_t n = e ? (size_t)(e - s) : strlen(s);
    if (n >= cap) n = cap - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return buf;
}

/* Sum of numel and per-dtype tensor counts over the *.safetensors files of `dir`. */
static int64_t scan_folder(const char *dir, size_t per_dtype[SN_DTYPE_COUNT]) {
    int64_t total = 0;
    memset(per_dtype, 0, SN_DTYPE_COUNT * sizeof *per_dtype);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 12 || strcmp(e->d_name + n - 12, ".safetensors") != 0) continue;
        sn_safetensors *st = NULL;
        CHECK_OK(sn_safetensors_open(tu_path(dir, e->d_name), &st));
        for (size_t i = 0; st && i < sn_safetensors_count(st); i++) {
            const sn_st_tensor *t = sn_safetensors_at(st, i);
            total += sn_st_numel(t);
            per_dtype[t->dtype]++;
        }
        sn_safetensors_close(st);
    }
    if (d) closedir(d);
    return total;
}

/* The integer `key` of folder/config.json, or -1. */
static int64_t config_int(const char *folder, const char *key) {
    FILE *f = fopen(tu_path(folder, "config.json"), "rb");
    if (!f) return -1;
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    cJSON *j = cJSON_Parse(text);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    int64_t r = cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
    cJSON_Delete(j);
    return r;
}

static void check_model(const char *rel, const char *const *components, int n) {
    char model[2048], buf[8192], want[256];
    snprintf(model, sizeof model, "%s/%s", tu_fixtures_dir(), rel);
    int rc = run_info(model);
    CHECK(rc == 0, "%s: exit %d\n%s", rel, rc, out);
    int64_t total = 0;
    for (int c = 0; c < n; c++) {
        const char *blk = block_of(components[c], buf, sizeof buf);
        CHECK(blk != NULL, "%s: no [%s] block in\n%s", rel, components[c], out);
        if (!blk) continue;
        char folder[4096];
        snprintf(folder, sizeof folder, "%s/%s", model, components[c]);
        struct stat sb;
        if (stat(tu_path(folder, "config.json"), &sb) != 0) /* a single-component folder */
            snprintf(folder, sizeof folder, "%s", model);
        if (strcmp(components[c], "scheduler") == 0 || strcmp(components[c], "tokenizer") == 0) {
            CHECK(strstr(blk, "params:") == NULL, "%s: no params for %s", rel, components[c]);
            continue;
        }
        size_t per_dtype[SN_DTYPE_COUNT];
        int64_t params = scan_folder(folder, per_dtype);
        total += params;
        snprintf(want, sizeof want, "\n  params:  %" PRId64 " (", params);
        CHECK(strstr(blk, want) != NULL, "%s [%s]: want%s in\n%s", rel, components[c], want, blk);
        for (int d = 0; d < SN_DTYPE_COUNT; d++) {
            if (!per_dtype[d]) continue;
            snprintf(want, sizeof want, " %s x%zu", sn_dtype_name((sn_dtype)d), per_dtype[d]);
            CHECK(strstr(blk, want) != NULL, "%s [%s]: want '%s' in\n%s", rel, components[c], want,
                  blk);
        }
        const char *key = strcmp(components[c], "text_encoder") == 0 ? "num_hidden_layers"
                          : strcmp(components[c], "vae") == 0      ? "latent_channels"
                                                                   : "num_layers";
        snprintf(want, sizeof want, " %s=%" PRId64, key, config_int(folder, key));
        CHECK(strstr(blk, want) != NULL, "%s [%s]: want '%s' in\n%s", rel, components[c], want,
              blk);
        printf("  %-22s %-12s params %8" PRId64 " ok\n", rel, components[c], params);
    }
    snprintf(want, sizeof want, "\ntotal params: %" PRId64 " (", total);
    CHECK(strstr(out, want) != NULL, "%s: want '%s'", rel, want + 1);
}

static void check_fails(const char *args, int want_rc, const char *a, const char *b) {
    int rc = run_info(args);
    CHECK(rc == want_rc, "info %s: exit %d, expected %d\n%s", args, rc, want_rc, out);
    if (a) CHECK(strstr(out, a) != NULL, "info %s: output lacks '%s':\n%s", args, a, out);
    if (b) CHECK(strstr(out, b) != NULL, "info %s: output lacks '%s':\n%s", args, b, out);
    const char *err = strstr(out, "sana-cli info:");
    printf("  exit %d: %.*s\n", rc, err ? (int)strcspn(err, "\n") : 0, err ? err : "");
}

static void copy_file(const char *from, const char *to) {
    FILE *f = fopen(from, "rb");
    static char buf[1 << 20];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    tu_write_file(to, buf, n);
}

int main(void) {
    if (access(SANA_CLI_PATH, X_OK) != 0) tu_skip("sana-cli not built");
    /* errors first: they need no fixtures */
    const char *tmp = tu_temp_dir();
    char p[2048], q[4096];
    check_fails(tu_path(tmp, "no_such_model"), 1, "no_such_model", "no such folder");
    check_fails("", 2, "usage", NULL);
    snprintf(p, sizeof p, "%s/pipe", tmp);
    mkdir(p, 0755);
    const char *idx = "{\"_class_name\": \"SanaPipeline\", \"transformer\": [\"diffusers\", "
                      "\"SanaTransformer2DModel\"], \"vae\": [\"diffusers\", \"AutoencoderDC\"]}";
    tu_write_file(tu_path(p, "model_index.json"), idx, strlen(idx));
    snprintf(q, sizeof q, "%s/transformer", p);
    mkdir(q, 0755);
    check_fails(p, 1, "'vae'", "missing");
    snprintf(q, sizeof q, "%s/vae", p);
    mkdir(q, 0755);
    const char *cfg = "{\"_class_name\": \"AutoencoderDC\", \"latent_channels\": \"32\"}";
    tu_write_file(tu_path(q, "config.json"), cfg, strlen(cfg));
    tu_write_safetensors(tu_path(q, "diffusion_pytorch_model.safetensors"),
                         "{\"conv_in.weight\":{\"dtype\":\"F32\",\"shape\":[4,4],"
                         "\"data_offsets\":[0,64]}}",
                         "0123456789abcdef0123456789abcdef", 32); /* truncated */
    snprintf(q, sizeof q, "%s/transformer", p);
    tu_write_file(tu_path(q, "config.json"), "{\"num_layers\": 2,", 17); /* corrupt JSON */
    tu_write_safetensors(tu_path(q, "diffusion_pytorch_model.safetensors"),
                         "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                         "01234567", 8);
    check_fails(p, 1, "'conv_in.weight'", "diffusion_pytorch_model.safetensors");
    CHECK(strstr(out, "transformer/config.json: invalid JSON") != NULL, "corrupt config named:\n%s",
          out);
    CHECK(strstr(out, "\n  params:  2 (") != NULL, "the readable component is still listed");
    tu_write_file(tu_path(p, "model_index.json"), "{\"_class_name\": 3}", 18);
    check_fails(p, 1, "model_index.json", "\"_class_name\"");

    struct stat sb;
    if (stat(tu_path(tu_fixtures_dir(), "sana_tiny/model_index.json"), &sb) != 0) {
        printf("  (no fixture models; only the error cases ran)\n");
        return tu_finish("test_cli_info");
    }
    const char *pipe_comps[] = {"transformer", "vae", "text_encoder", "scheduler", "tokenizer"};
    check_model("sana_tiny", pipe_comps, 5);
    check_model("sprint_tiny", pipe_comps, 5);
    const char *single[] = {"transformer"};
    check_model("variants/sana15_qknorm", single, 1);
    check_model("variants/sana_4k_pe", single, 1);
    /* the variant flag picks the bf16 file; an unknown one falls back */
    char model[4096];
    snprintf(model, sizeof model, "%s/variants/sana15_qknorm --variant bf16", tu_fixtures_dir());
    CHECK(run_info(model) == 0 && strstr(out, "diffusion_pytorch_model.bf16.safetensors"),
          "--variant bf16:\n%s", out);
    /* a copy of a fixture component with one file corrupted */
    snprintf(q, sizeof q, "%s/broken", tmp);
    mkdir(q, 0755);
    copy_file(tu_path(tu_fixtures_dir(), "sana_tiny/transformer/config.json"),
              tu_path(q, "config.json"));
    copy_file(tu_path(tu_fixtures_dir(), "sana_tiny/transformer/diffusion_pytorch_model.safetensors"),
              tu_path(q, "diffusion_pytorch_model.safetensors"));
    FILE *f = fopen(tu_path(q, "diffusion_pytorch_model.safetensors"), "r+b");
    if (f) {
        fseek(f, 12, SEEK_SET);
        fputs("\"dtype\":\"Q9\"", f); /* clobber the header */
        fclose(f);
    }
    check_fails(q, 1, "diffusion_pytorch_model.safetensors", NULL);
    return tu_finish("test_cli_info");
}
