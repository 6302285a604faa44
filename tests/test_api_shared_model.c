/* One model, several contexts: the model outlives the context that loaded it, and contexts
 * sharing it generate in parallel threads with the same results as one at a time. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

typedef struct job {
    const sana_model *model;
    uint64_t seed;
    sana_status st;
    sana_image *img;
    char err[512];
} job;

static sana_context *new_ctx(void) {
    sana_context *ctx = NULL;
    sana_context_params cp;
    sana_context_params_init(&cp);
    cp.backend = SANA_BACKEND_CPU;
    cp.n_threads = 1;
    CHECK_OK(sana_context_create(&cp, &ctx));
    return ctx;
}

static void *run(void *arg) {
    job *j = arg;
    sana_context *ctx = new_ctx();
    sana_generate_params gp;
    sana_generate_params_init(&gp);
    gp.prompt = j->seed & 1 ? "a red fox" : "a lighthouse at dusk";
    gp.width = 64;
    gp.height = 96;
    gp.resolution_binning = 0;
    gp.steps = 3;
    gp.seed = j->seed;
    j->img = NULL;
    j->st = sana_generate(ctx, j->model, &gp, &j->img);
    snprintf(j->err, sizeof j->err, "%s", sana_context_last_error(ctx));
    sana_context_free(ctx);
    return NULL;
}

static int same_image(const sana_image *a, const sana_image *b) {
    if (!a || !b || sana_image_width(a) != sana_image_width(b) || sana_image_height(a) != sana_image_height(b))
        return 0;
    return !memcmp(sana_image_pixels_const(a), sana_image_pixels_const(b),
                   sana_image_stride(a) * sana_image_height(a));
}

int main(void) {
    sana_context *loader = new_ctx();
    sana_model *model = NULL;
    CHECK_OK(sana_model_load(loader, tu_path(tu_fixtures_dir(), "sana_tiny"), NULL, &model));
    /* the loading context goes away first: the model keeps its own backend */
    sana_context_free(loader);
    if (!model) return tu_finish("test_api_shared_model");

    enum { N = 3 };
    job solo[N], par[N];
    for (int i = 0; i < N; i++) {
        solo[i] = (job){.model = model, .seed = 11 + (uint64_t)i};
        run(&solo[i]);
        CHECK(solo[i].st == SANA_OK, "solo %d: %s", i, solo[i].err);
    }
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        par[i] = (job){.model = model, .seed = 11 + (uint64_t)i};
        pthread_create(&th[i], NULL, run, &par[i]);
    }
    for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < N; i++) {
        CHECK(par[i].st == SANA_OK, "parallel %d: %s", i, par[i].err);
        CHECK(same_image(solo[i].img, par[i].img), "parallel image %d differs from the one made alone", i);
        sana_image_free(solo[i].img);
        sana_image_free(par[i].img);
    }
    sana_model_free(model);
    return tu_finish("test_api_shared_model");
}
