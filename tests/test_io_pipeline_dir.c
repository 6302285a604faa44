/* The diffusers folder layout: pipelines through model_index.json, single component folders,
 * and the errors for a missing folder, a missing component and a corrupt model_index.json. Then
 * the fixture models, when present: every component found and every weight file readable. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"
#include "io/pipeline_dir.h"
#include "io/safetensors.h"
#include "io/weights.h"

/* A new folder base/name; the path stays valid for the whole test (tu_path's ring does not). */
static const char *new_dir(const char *base, const char *name) {
    static char paths[64][4096];
    static int next;
    char *d = paths[next++ & 63];
    snprintf(d, sizeof paths[0], "%s/%s", base, name);
    CHECK(mkdir(d, 0755) == 0, "mkdir %s", d);
    return d;
}

static void put(const char *dir, const char *name, const char *text) {
    tu_write_file(tu_path(dir, name), text, strlen(text));
}

static void expect_msg(const char *a, const char *b) {
    const char *m = tu_last_error();
    CHECK(strstr(m, a) != NULL, "message lacks '%s': %s", a, m);
    if (b) CHECK(strstr(m, b) != NULL, "message lacks '%s': %s", b, m);
    printf("  %s\n", m);
}

static int streq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

static const char *index_json =
    "{\"_class_name\": \"SanaPipeline\", \"_diffusers_version\": \"0.32.0\",\n"
    " \"scheduler\": [\"diffusers\", \"DPMSolverMultistepScheduler\"],\n"
    " \"text_encoder\": [\"transformers\", \"Gemma2Model\"],\n"
    " \"tokenizer\": [\"transformers\", \"GemmaTokenizerFast\"],\n"
    " \"transformer\": [\"diffusers\", \"SanaTransformer2DModel\"],\n"
    " \"vae\": [\"diffusers\", \"AutoencoderDC\"],\n"
    " \"safety_checker\": [null, null], \"feature_extractor\": null,\n"
    " \"requires_safety_checker\": false}";

static void test_pipeline(const char *base) {
    const char *root = new_dir(base, "pipe");
    put(root, "model_index.json", index_json);
    const char *names[] = {"scheduler", "text_encoder", "tokenizer", "transformer", "vae"};
    for (int i = 0; i < 5; i++) new_dir(root, names[i]);
    sn_pipeline_dir *d = NULL;
    char slash[4200];
    snprintf(slash, sizeof slash, "%s/", root); /* a trailing '/' is the same folder */
    CHECK_OK(sn_pipeline_dir_open(slash, &d));
    if (!d) return;
    CHECK(streq(sn_pipeline_dir_class(d), "SanaPipeline"), "class %s", sn_pipeline_dir_class(d));
    CHECK(!sn_pipeline_dir_is_single(d), "not single");
    CHECK(streq(sn_pipeline_dir_path(d), root), "path %s", sn_pipeline_dir_path(d));
    CHECK(sn_pipeline_dir_count(d) == 5, "5 components, got %zu", sn_pipeline_dir_count(d));
    for (int i = 0; i < 5; i++) {
        CHECK(streq(sn_pipeline_dir_name_at(d, (size_t)i), names[i]), "order %d", i);
        CHECK(streq(sn_pipeline_dir_component(d, names[i]), tu_path(root, names[i])), "folder %s",
              names[i]);
    }
    CHECK(streq(sn_pipeline_dir_component_class(d, "vae"), "AutoencoderDC"), "vae class");
    CHECK(streq(sn_pipeline_dir_component_class(d, "text_encoder"), "Gemma2Model"), "te class");
    CHECK(sn_pipeline_dir_component(d, "safety_checker") == NULL, "[null, null] is absent");
    CHECK(sn_pipeline_dir_component(d, "feature_extractor") == NULL, "null is absent");
    CHECK(sn_pipeline_dir_component(d, "requires_safety_checker") == NULL, "options skipped");
    CHECK(sn_pipeline_dir_name_at(d, 5) == NULL, "name_at past the end");
    sn_pipeline_dir_close(d);

    /* a listed component without its folder */
    const char *root2 = new_dir(base, "pipe_novae");
    put(root2, "model_index.json", index_json);
    for (int i = 0; i < 4; i++) new_dir(root2, names[i]);
    d = (sn_pipeline_dir *)1;
    CHECK_STATUS(sn_pipeline_dir_open(root2, &d), SANA_ERR_NOT_FOUND);
    CHECK(d == NULL, "out cleared");
    expect_msg("'vae'", "AutoencoderDC");

    /* corrupt and wrong-typed model_index.json */
    const char *root3 = new_dir(base, "pipe_bad");
    put(root3, "model_index.json", "{\"_class_name\": \"SanaPipeline\", \"vae\": [\"diffusers\"");
    CHECK_STATUS(sn_pipeline_dir_open(root3, &d), SANA_ERR_FORMAT);
    expect_msg("model_index.json", "invalid JSON");
    put(root3, "model_index.json", "{\"_class_name\": 5}");
    CHECK_STATUS(sn_pipeline_dir_open(root3, &d), SANA_ERR_FORMAT);
    expect_msg("model_index.json", "\"_class_name\"");
    put(root3, "model_index.json", "{\"vae\": [\"diffusers\", \"AutoencoderDC\"]}");
    CHECK_STATUS(sn_pipeline_dir_open(root3, &d), SANA_ERR_FORMAT);
    expect_msg("model_index.json", "\"_class_name\" is missing");
    put(root3, "model_index.json", "{\"_class_name\": \"SanaPipeline\", \"vae\": [1, 2]}");
    CHECK_STATUS(sn_pipeline_dir_open(root3, &d), SANA_ERR_FORMAT);
    expect_msg("model_index.json", "\"vae\"");
    put(root3, "model_index.json", "[\"SanaPipeline\"]");
    CHECK_STATUS(sn_pipeline_dir_open(root3, &d), SANA_ERR_FORMAT);
    expect_msg("model_index.json", "not a JSON object");
}

static void test_single(const char *base) {
    sn_pipeline_dir *d = NULL;
    struct {
        const char *folder, *file, *text, *kind, *cls;
    } cases[] = {
        {"vae_only", "config.json", "{\"_class_name\": \"AutoencoderDC\", \"latent_channels\": 32}",
         "vae", "AutoencoderDC"},
        {"dit_only", "config.json", "{\"_class_name\": \"SanaTransformer2DModel\"}", "transformer",
         "SanaTransformer2DModel"},
        {"te_only", "config.json",
         "{\"architectures\": [\"Gemma2Model\"], \"model_type\": \"gemma2\"}", "text_encoder",
         "Gemma2Model"},
        {"sched_only", "scheduler_config.json", "{\"_class_name\": \"SCMScheduler\"}", "scheduler",
         "SCMScheduler"},
        {"tok_only", "tokenizer.json", "{}", "tokenizer", "tokenizer.json"},
        {"tok_cfg", "tokenizer.json", "{}", "tokenizer", "GemmaTokenizer"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *f = new_dir(base, cases[i].folder);
        put(f, cases[i].file, cases[i].text);
        if (strcmp(cases[i].folder, "tok_cfg") == 0)
            put(f, "tokenizer_config.json", "{\"tokenizer_class\": \"GemmaTokenizer\"}");
        CHECK_OK(sn_pipeline_dir_open(f, &d));
        if (!d) continue;
        CHECK(sn_pipeline_dir_is_single(d), "%s single", cases[i].folder);
        CHECK(streq(sn_pipeline_dir_class(d), cases[i].cls), "%s class %s", cases[i].folder,
              sn_pipeline_dir_class(d));
        CHECK(streq(sn_pipeline_dir_component(d, cases[i].kind), f), "%s is its own %s",
              cases[i].folder, cases[i].kind);
        CHECK(sn_pipeline_dir_count(d) == 1, "one component");
        CHECK(sn_pipeline_dir_component(d, strcmp(cases[i].kind, "vae") ? "vae" : "transformer") ==
                  NULL,
              "no other component");
        sn_pipeline_dir_close(d);
    }
    /* missing folder, a file instead of a folder, an empty folder, a config of the wrong type */
    const char *missing = tu_path(base, "no_such_model");
    CHECK_STATUS(sn_pipeline_dir_open(missing, &d), SANA_ERR_NOT_FOUND);
    expect_msg(missing, "no such folder");
    put(base, "a_file", "x");
    CHECK_STATUS(sn_pipeline_dir_open(tu_path(base, "a_file"), &d), SANA_ERR_NOT_FOUND);
    expect_msg("a_file", "not a folder");
    const char *empty = new_dir(base, "empty_model");
    CHECK_STATUS(sn_pipeline_dir_open(empty, &d), SANA_ERR_NOT_FOUND);
    expect_msg(empty, "not a model folder");
    const char *bad = new_dir(base, "bad_config");
    put(bad, "config.json", "{\"_class_name\": [\"AutoencoderDC\"]}");
    CHECK_STATUS(sn_pipeline_dir_open(bad, &d), SANA_ERR_FORMAT);
    expect_msg("config.json", "\"_class_name\"");
    put(bad, "config.json", "{\"hidden_size\": 64}");
    CHECK_STATUS(sn_pipeline_dir_open(bad, &d), SANA_ERR_FORMAT);
    expect_msg("config.json", "architectures");
}

/* Sum of numel over every *.safetensors file of `dir`, read file by file. */
static int64_t numel_of_folder(const char *dir) {
    int64_t total = 0;
    DIR *dd = opendir(dir);
    struct dirent *e;
    while (dd && (e = readdir(dd))) {
        size_t n = strlen(e->d_name);
        if (n < 12 || strcmp(e->d_name + n - 12, ".safetensors") != 0) continue;
        sn_safetensors *st;
        CHECK_OK(sn_safetensors_open(tu_path(dir, e->d_name), &st));
        for (size_t i = 0; st && i < sn_safetensors_count(st); i++)
            total += sn_st_numel(sn_safetensors_at(st, i));
        sn_safetensors_close(st);
    }
    if (dd) closedir(dd);
    return total;
}

static void test_fixtures(void) {
    const char *models[] = {"sana_tiny", "sprint_tiny", "variants/sana15_qknorm",
                            "variants/sana_3blocks"};
    struct stat sb;
    if (stat(tu_path(tu_fixtures_dir(), "sana_tiny/model_index.json"), &sb) != 0) {
        printf("  (no fixture models: skipping their part)\n");
        return;
    }
    for (int m = 0; m < 4; m++) {
        const char *path = tu_path(tu_fixtures_dir(), models[m]);
        sn_pipeline_dir *d = NULL;
        CHECK_OK(sn_pipeline_dir_open(path, &d));
        if (!d) continue;
        printf("  %s: %s\n", models[m], sn_pipeline_dir_class(d));
        for (size_t i = 0; i < sn_pipeline_dir_count(d); i++) {
            const char *name = sn_pipeline_dir_name_at(d, i);
            const char *folder = sn_pipeline_dir_component(d, name);
            if (strcmp(name, "transformer") && strcmp(name, "vae") && strcmp(name, "text_encoder"))
                continue;
            sn_weights *w = NULL;
            CHECK_OK(sn_weights_open(folder, NULL, &w));
            int64_t want = numel_of_folder(folder);
            CHECK(w && sn_weights_param_count(w) == want && want > 0, "%s: %lld params, files say %lld",
                  folder, (long long)sn_weights_param_count(w), (long long)want);
            printf("    %-12s %-24s %8zu tensors %10lld params\n", name,
                   sn_pipeline_dir_component_class(d, name), sn_weights_count(w),
                   (long long)sn_weights_param_count(w));
            sn_weights_close(w);
        }
        sn_pipeline_dir_close(d);
    }
}

int main(void) {
    const char *base = tu_temp_dir();
    test_pipeline(base);
    test_single(base);
    test_fixtures();
    return tu_finish("test_io_pipeline_dir");
}
