/* The diffusers folder layout (lib/io/pipeline_dir.c): the input as model_index.json of a
 * pipeline folder whose five component folders exist, and as config.json of a lone component
 * folder (which the same code classifies from its _class_name / architectures / model_type). */
#include "fuzz_common.h"
#include "io/pipeline_dir.h"

static void fz_open(const char *dir) {
    sn_pipeline_dir *d = NULL;
    sn_error_clear();
    sana_status s = sn_pipeline_dir_open(dir, &d);
    fz_check_failure(s, "sn_pipeline_dir_open");
    if (s != SANA_OK) return;
    (void)sn_pipeline_dir_class(d);
    (void)sn_pipeline_dir_is_single(d);
    for (size_t i = 0; i < sn_pipeline_dir_count(d); i++) {
        const char *name = sn_pipeline_dir_name_at(d, i);
        if (!name || !sn_pipeline_dir_component(d, name)) abort();
        (void)sn_pipeline_dir_component_class(d, name);
    }
    (void)sn_pipeline_dir_component(d, "vae");
    sn_pipeline_dir_close(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_quiet();
    char pipe[FZ_PATH_MAX], single[FZ_PATH_MAX], file[FZ_PATH_MAX];
    fz_mkdir(fz_join(pipe, fz_dir(), "pipeline"));
    fz_mkdir(fz_join(single, fz_dir(), "single"));
    static const char *const comps[] = {"scheduler", "text_encoder", "tokenizer", "transformer",
                                        "vae"};
    for (int i = 0; i < 5; i++) fz_mkdir(fz_join(file, pipe, comps[i]));
    fz_write(fz_join(file, pipe, "model_index.json"), data, size);
    fz_open(pipe);
    fz_write(fz_join(file, single, "config.json"), data, size);
    fz_open(single);
    return 0;
}
