/* The public context calls: params defaults, create/free, NULL handling, struct_size rules
 * (too small is refused; fields beyond it are not read), the last error text of a failed call
 * on the context (model folders that are missing or lack a component), the cancel flag, and
 * the thread count a call runs with. */
#include <omp.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include "api/internal.h"
#include "core/call.h"
#include "harness.h"

static void expect_text(const char *text, const char *a) {
    CHECK(text && strstr(text, a) != NULL, "error text lacks '%s': %s", a, text ? text : "(null)");
}

static void test_params(void) {
    sana_context_params p;
    memset(&p, 0xab, sizeof p);
    sana_context_params_init(&p);
    CHECK(p.struct_size == sizeof p && p.backend == SANA_BACKEND_AUTO && p.n_threads == 0 &&
              p.device == 0 && p.log == NULL && p.log_level == SANA_LOG_WARN,
          "defaults");
    sana_context_params_init(NULL); /* harmless */

    sana_context *ctx = (sana_context *)1;
    CHECK_STATUS(sana_context_create(&p, NULL), SANA_ERR_INVALID_ARGUMENT);
    expect_text(sana_last_error(), "NULL");

    /* struct_size smaller than its own field */
    p.struct_size = 2;
    CHECK_STATUS(sana_context_create(&p, &ctx), SANA_ERR_INVALID_ARGUMENT);
    CHECK(ctx == NULL, "out cleared");
    expect_text(sana_last_error(), "struct_size");

    /* a bad field the caller's struct_size covers is refused ... */
    sana_context_params_init(&p);
    p.backend = SANA_BACKEND_CPU;
    p.n_threads = -3;
    CHECK_STATUS(sana_context_create(&p, &ctx), SANA_ERR_INVALID_ARGUMENT);
    expect_text(sana_last_error(), "n_threads");
    /* a thread count no machine has (the first call would start a million workers), and a
     * precision outside the enum (both were accepted) */
    p.n_threads = 1 << 20;
    CHECK_STATUS(sana_context_create(&p, &ctx), SANA_ERR_INVALID_ARGUMENT);
    expect_text(sana_last_error(), "1..1024");
    p.n_threads = 0;
    p.precision = (sana_precision)99;
    CHECK_STATUS(sana_context_create(&p, &ctx), SANA_ERR_INVALID_ARGUMENT);
    expect_text(sana_last_error(), "precision");
    p.precision = SANA_PRECISION_AUTO;
    p.n_threads = -3;
    /* ... and one beyond it is not read (an older caller's struct) */
    p.struct_size = (uint32_t)offsetof(sana_context_params, n_threads);
    CHECK_OK(sana_context_create(&p, &ctx));
    CHECK(ctx && sana_context_backend(ctx) == SANA_BACKEND_CPU, "backend field was read");
    sana_context_free(ctx);

    /* defaults: a real backend, never AUTO */
    ctx = NULL;
    CHECK_OK(sana_context_create(NULL, &ctx));
    CHECK(ctx && sana_context_backend(ctx) != SANA_BACKEND_AUTO, "resolved backend");
    CHECK(ctx && sana_context_last_error(ctx)[0] == '\0', "no error yet");
    sana_context_free(ctx);

    /* CUDA asked of a build or machine without it: refused with a reason, or granted */
    sana_context_params_init(&p);
    p.backend = SANA_BACKEND_CUDA;
    sana_status st = sana_context_create(&p, &ctx);
    if (st == SANA_OK) {
        CHECK(sana_context_backend(ctx) == SANA_BACKEND_CUDA, "cuda context");
        sana_context_free(ctx);
    } else {
        CHECK(ctx == NULL && sana_last_error()[0] != '\0', "cuda refused with a reason");
        printf("  cuda: %s\n", sana_last_error());
    }

    /* NULL handles */
    sana_context_free(NULL);
    sana_context_cancel(NULL);
    CHECK(sana_context_backend(NULL) == SANA_BACKEND_AUTO, "NULL backend");
    CHECK(sana_context_last_error(NULL) && sana_context_last_error(NULL)[0], "NULL last error");
}

static void test_last_error(sana_context *ctx) {
    sana_model *m = (sana_model *)1;
    const char *base = tu_temp_dir();
    const char *missing = tu_path(base, "no_such_model");
    CHECK_STATUS(sana_model_load(ctx, missing, NULL, &m), SANA_ERR_NOT_FOUND);
    CHECK(m == NULL, "out cleared");
    expect_text(sana_context_last_error(ctx), missing);
    printf("  %s\n", sana_context_last_error(ctx));

    /* sana_model_params out of range, refused before the folder is read: no component (was
     * SANA_ERR_NOT_FOUND, "none of the requested components"), bits no component has and an
     * unknown weights precision (both were ignored) */
    sana_model_params rp;
    sana_model_params_init(&rp);
    rp.components = 0;
    CHECK_STATUS(sana_model_load(ctx, missing, &rp, &m), SANA_ERR_INVALID_ARGUMENT);
    expect_text(sana_context_last_error(ctx), "components 0x0");
    rp.components = SANA_COMPONENT_VAE | 0x100u;
    CHECK_STATUS(sana_model_load(ctx, missing, &rp, &m), SANA_ERR_INVALID_ARGUMENT);
    expect_text(sana_context_last_error(ctx), "components 0x108");
    sana_model_params_init(&rp);
    rp.weights = (sana_precision)-1;
    CHECK_STATUS(sana_model_load(ctx, missing, &rp, &m), SANA_ERR_INVALID_ARGUMENT);
    expect_text(sana_context_last_error(ctx), "weights precision");

    /* a pipeline whose model_index.json lists a vae that is not there */
    char root[4096];
    snprintf(root, sizeof root, "%s/pipe", base);
    mkdir(root, 0755);
    const char *idx = "{\"_class_name\": \"SanaPipeline\", \"vae\": [\"diffusers\", \"AutoencoderDC\"]}";
    tu_write_file(tu_path(root, "model_index.json"), idx, strlen(idx));
    CHECK_STATUS(sana_model_load(ctx, root, NULL, &m), SANA_ERR_NOT_FOUND);
    expect_text(sana_context_last_error(ctx), "'vae'");
    printf("  %s\n", sana_context_last_error(ctx));

    /* a corrupt model_index.json */
    tu_write_file(tu_path(root, "model_index.json"), "{\"_class_name\": ", 16);
    CHECK_STATUS(sana_model_load(ctx, root, NULL, &m), SANA_ERR_FORMAT);
    expect_text(sana_context_last_error(ctx), "model_index.json");

    /* a transformer folder whose weights are truncated: the error names file and tensor */
    char single[4096];
    snprintf(single, sizeof single, "%s/dit", base);
    mkdir(single, 0755);
    const char *cfg = "{\"_class_name\": \"SanaTransformer2DModel\"}";
    tu_write_file(tu_path(single, "config.json"), cfg, strlen(cfg));
    float zeros[4] = {0};
    tu_write_safetensors(tu_path(single, "diffusion_pytorch_model.safetensors"),
                         "{\"patch_embed.proj.weight\":{\"dtype\":\"F32\",\"shape\":[4,4],"
                         "\"data_offsets\":[0,64]}}",
                         zeros, sizeof zeros);
    CHECK_STATUS(sana_model_load(ctx, single, NULL, &m), SANA_ERR_FORMAT);
    expect_text(sana_context_last_error(ctx), "diffusion_pytorch_model.safetensors");
    expect_text(sana_context_last_error(ctx), "'patch_embed.proj.weight'");
    printf("  %s\n", sana_context_last_error(ctx));

    CHECK_STATUS(sana_model_load(ctx, NULL, NULL, &m), SANA_ERR_INVALID_ARGUMENT);
    expect_text(sana_context_last_error(ctx), "NULL");
    sana_model_params mp;
    sana_model_params_init(&mp);
    mp.struct_size = 1;
    CHECK_STATUS(sana_model_load(ctx, root, &mp, &m), SANA_ERR_INVALID_ARGUMENT);
    expect_text(sana_context_last_error(ctx), "struct_size");
    CHECK_STATUS(sana_model_load(NULL, root, NULL, &m), SANA_ERR_INVALID_ARGUMENT);
}

static void *cancel_from_thread(void *ctx) {
    sana_context_cancel(ctx);
    return NULL;
}

static void test_cancel(sana_context *ctx) {
    /* a call binds the context's flag; cancel() from another thread raises it; the next call
     * starts with it cleared */
    sn_api_enter(ctx);
    CHECK(sn_cancel_requested() == 0, "clear at the start of a call");
    pthread_t th;
    CHECK(pthread_create(&th, NULL, cancel_from_thread, ctx) == 0, "thread");
    pthread_join(th, NULL);
    CHECK(sn_cancel_requested() == 1, "cancel seen by the running call");
    sana_status st = sn_api_leave(ctx, sn_fail(SANA_ERR_CANCELLED, "stopped at step 3 of 20"));
    CHECK(st == SANA_ERR_CANCELLED, "status passed through");
    expect_text(sana_context_last_error(ctx), "step 3");
    CHECK(sn_cancel_requested() == 0, "no flag outside a call");
    sn_api_enter(ctx);
    CHECK(sn_cancel_requested() == 0, "cleared when the next call starts");
    sn_api_leave(ctx, SANA_OK);
    CHECK(sana_context_last_error(ctx)[0] == '\0', "a successful call clears the last error");
}

/* n_threads is honoured: a call on a CPU context runs its OpenMP regions with the context's
 * thread count, and the calling thread's own setting is back when the call returns. */
static void test_threads(void) {
    omp_set_num_threads(5);
    sana_context_params p;
    sana_context_params_init(&p);
    p.backend = SANA_BACKEND_CPU;
    p.n_threads = 3;
    sana_context *ctx = NULL;
    CHECK_OK(sana_context_create(&p, &ctx));
    if (!ctx) return;
    CHECK(omp_get_max_threads() == 5, "creating a context leaves the caller's setting");
    sn_api_enter(ctx);
    CHECK(omp_get_max_threads() == 3, "inside a call: %d threads, asked 3", omp_get_max_threads());
    int team = 0;
#pragma omp parallel
#pragma omp single
    team = omp_get_num_threads();
    CHECK(team == 3, "a parallel region inside the call has %d threads", team);
    sn_api_leave(ctx, SANA_OK);
    CHECK(omp_get_max_threads() == 5, "after the call: %d, the caller had 5", omp_get_max_threads());
    sana_context_free(ctx);

    /* 0 = OpenMP's default of the creating thread */
    p.n_threads = 0;
    CHECK_OK(sana_context_create(&p, &ctx));
    if (!ctx) return;
    sn_api_enter(ctx);
    CHECK(omp_get_max_threads() == 5, "n_threads 0 keeps the default: %d", omp_get_max_threads());
    sn_api_leave(ctx, SANA_OK);
    sana_context_free(ctx);
}

int main(void) {
    test_params();
    test_threads();
    sana_context_params p;
    sana_context_params_init(&p);
    p.backend = SANA_BACKEND_CPU;
    p.n_threads = 1;
    sana_context *ctx = NULL;
    CHECK_OK(sana_context_create(&p, &ctx));
    if (!ctx) return tu_finish("test_api_context");
    test_last_error(ctx);
    test_cancel(ctx);
    sana_context_free(ctx);
    return tu_finish("test_api_context");
}
