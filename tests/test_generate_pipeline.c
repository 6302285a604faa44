/* sana_generate on the tiny fixture models, beyond the goldens: resolution binning and the
 * resize back, batch, progress / preview / cancellation, the Euler solver, and SANA-Sprint
 * image-to-image (checked against diffusers' SanaSprintImg2ImgPipeline by hand: max 1 LSB). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static sana_context *ctx;

static void base_params(sana_generate_params *p) {
    sana_generate_params_init(p);
    p->prompt = "a red fox";
    p->width = 96, p->height = 64;
    p->resolution_binning = 0;
    p->steps = 2;
    p->seed = 5;
}

/* max |a - b| over two images of the same size (or 999 when the sizes differ) */
static int max_diff(const sana_image *a, const sana_image *b) {
    if (sana_image_width(a) != sana_image_width(b) || sana_image_height(a) != sana_image_height(b)) return 999;
    size_t n = (size_t)sana_image_width(a) * sana_image_height(a) * 3;
    int d = 0;
    for (size_t i = 0; i < n; i++) {
        int x = abs((int)sana_image_pixels_const(a)[i] - (int)sana_image_pixels_const(b)[i]);
        if (x > d) d = x;
    }
    return d;
}

typedef struct calls {
    int progress[16], n_progress, n_preview, cancel_at;
    int32_t shape[4];
} calls;

static void on_progress(int32_t step, int32_t steps, void *user) {
    calls *c = user;
    if (c->n_progress < 16) c->progress[c->n_progress++] = step * 100 + steps;
    if (c->cancel_at && step == c->cancel_at) sana_context_cancel(ctx);
}

static void on_preview(int32_t step, const float *lat, int32_t b, int32_t ch, int32_t h, int32_t w, void *user) {
    calls *c = user;
    (void)step;
    c->n_preview += lat != NULL;
    c->shape[0] = b, c->shape[1] = ch, c->shape[2] = h, c->shape[3] = w;
}

static void test_sana(sana_model *m) {
    sana_generate_params p;
    base_params(&p);
    sana_image *one[1] = {0}, *two[2] = {0}, *again[1] = {0};
    calls c = {0};
    p.progress = on_progress, p.progress_user_data = &c;
    p.preview = on_preview, p.preview_user_data = &c;
    CHECK_OK(sana_generate(ctx, m, &p, one));
    CHECK(c.n_progress == 2 && c.progress[0] == 102 && c.progress[1] == 202, "progress calls %d: %d %d",
          c.n_progress, c.progress[0], c.progress[1]);
    CHECK(c.n_preview == 2 && c.shape[0] == 1 && c.shape[1] == 32 && c.shape[2] == 2 && c.shape[3] == 3,
          "preview %d calls, shape %dx%dx%dx%d", c.n_preview, c.shape[0], c.shape[1], c.shape[2], c.shape[3]);
    const char *params = sana_image_parameters(one[0]);
    CHECK(strstr(params, "a red fox") && strstr(params, "Seed: 5") && strstr(params, "Size: 96x64") &&
          strstr(params, "Sampler: Flow-DPM-Solver"), "parameters: %s", params);

    /* batch 2: the first image is the single image (the same first noise values) */
    p.progress = NULL, p.preview = NULL;
    p.batch = 2;
    CHECK_OK(sana_generate(ctx, m, &p, two));
    int d0 = max_diff(one[0], two[0]), d01 = max_diff(two[0], two[1]);
    printf("batch: image 0 vs the single image %d LSB; image 0 vs image 1 %d LSB\n", d0, d01);
    CHECK(d0 <= 1, "batch image 0 differs from the single image by %d", d0);
    CHECK(d01 > 8, "the two batch images should differ (max diff %d)", d01);
    CHECK(strstr(sana_image_parameters(two[1]), "Batch pos: 1") != NULL, "batch parameters: %s", sana_image_parameters(two[1]));
    sana_image_free(two[0]), sana_image_free(two[1]);

    /* binning: 200x100 is made at the 1:2 bin (704x1408) and resized back to 200x100 */
    base_params(&p);
    p.resolution_binning = 1, p.width = 200, p.height = 100;
    CHECK_OK(sana_generate(ctx, m, &p, again));
    CHECK(sana_image_width(again[0]) == 200 && sana_image_height(again[0]) == 100, "binned size %ux%u",
          sana_image_width(again[0]), sana_image_height(again[0]));
    sana_image_free(again[0]);

    /* cancellation after step 1 of 3: SANA_ERR_CANCELLED, no image, the context stays usable */
    base_params(&p);
    p.steps = 3;
    memset(&c, 0, sizeof c);
    c.cancel_at = 1;
    p.progress = on_progress, p.progress_user_data = &c;
    sana_image *none[1] = {(sana_image *)1};
    CHECK_STATUS(sana_generate(ctx, m, &p, none), SANA_ERR_CANCELLED);
    CHECK(none[0] == NULL && c.n_progress == 1, "cancelled run: image %p, %d progress calls", (void *)none[0], c.n_progress);

    /* the context stays usable: the Euler solver through a sampler */
    sana_sampler_params sp;
    sana_sampler_params_init(&sp);
    sp.solver = SANA_SOLVER_FLOW_EULER;
    sana_sampler *s = NULL;
    CHECK_OK(sana_sampler_create(m, &sp, &s));
    base_params(&p);
    p.sampler = s;
    CHECK_OK(sana_generate(ctx, m, &p, again));
    CHECK(again[0] && strstr(sana_image_parameters(again[0]), "Flow-Euler"), "Euler run");
    sana_image_free(again[0]);
    sana_sampler_free(s);

    /* PAG on block 1 */
    base_params(&p);
    int32_t layer = 1;
    p.pag_scale = 2.0f, p.pag_layers = &layer, p.n_pag_layers = 1;
    CHECK_OK(sana_generate(ctx, m, &p, again));
    CHECK(max_diff(one[0], again[0]) > 0, "PAG should change the image");
    sana_image_free(again[0]);
    sana_image_free(one[0]);
}

static void test_sprint(sana_model *m) {
    sana_generate_params p;
    base_params(&p);
    sana_image *t2i[1] = {0}, *i2i[1] = {0};
    CHECK_OK(sana_generate(ctx, m, &p, t2i));
    CHECK(t2i[0] && strstr(sana_image_parameters(t2i[0]), "Sampler: SCM"), "Sprint text to image");

    /* image to image: strength 0.6 of 4 steps runs the last 3 */
    sana_sampler_params sp;
    sana_sampler_params_init(&sp);
    sp.steps = 4;
    sana_sampler *s = NULL;
    CHECK_OK(sana_sampler_create(m, &sp, &s));
    p.sampler = s;
    p.steps = 0;
    p.init_image = t2i[0];
    p.strength = 0.6f;
    calls c = {0};
    p.progress = on_progress, p.progress_user_data = &c;
    CHECK_OK(sana_generate(ctx, m, &p, i2i));
    CHECK(c.n_progress == 3 && c.progress[2] == 303, "img2img progress: %d calls, last %d", c.n_progress,
          c.n_progress ? c.progress[c.n_progress - 1] : 0);
    CHECK(i2i[0] && strstr(sana_image_parameters(i2i[0]), "Denoising strength: 0.6"), "img2img parameters");
    sana_image_free(i2i[0]);
    /* an init image of another size is resized to the generated size */
    sana_image *small = NULL;
    CHECK_OK(sana_image_create(48, 32, 3, &small));
    p.init_image = small;
    p.progress = NULL;
    CHECK_OK(sana_generate(ctx, m, &p, i2i));
    CHECK(i2i[0] && sana_image_width(i2i[0]) == 96 && sana_image_height(i2i[0]) == 64, "img2img from a smaller image");
    sana_image_free(i2i[0]);
    /* strength that leaves no step, or out of range */
    p.strength = 0.0f;
    CHECK_STATUS(sana_generate(ctx, m, &p, i2i), SANA_ERR_INVALID_ARGUMENT);
    p.strength = NAN;
    CHECK_STATUS(sana_generate(ctx, m, &p, i2i), SANA_ERR_INVALID_ARGUMENT);
    p.strength = 1.5f;
    CHECK_STATUS(sana_generate(ctx, m, &p, i2i), SANA_ERR_INVALID_ARGUMENT);
    /* PAG is not a Sprint feature */
    p.strength = 0.6f, p.pag_scale = 2.0f;
    int32_t layer = 0;
    p.pag_layers = &layer, p.n_pag_layers = 1;
    CHECK_STATUS(sana_generate(ctx, m, &p, i2i), SANA_ERR_UNSUPPORTED);
    sana_image_free(small);
    sana_sampler_free(s);
    sana_image_free(t2i[0]);
}

int main(void) {
    sana_context_params cp;
    sana_context_params_init(&cp);
    cp.backend = SANA_BACKEND_CPU;
    cp.n_threads = 2;
    CHECK_OK(sana_context_create(&cp, &ctx));
    sana_model *sana = tu_fixture_model(ctx, "sana_tiny"), *sprint = tu_fixture_model(ctx, "sprint_tiny");
    if (!sana && !sprint) tu_skip("the fixture pipelines do not load here");
    if (sana) test_sana(sana);
    if (sprint) test_sprint(sprint);
    sana_model_free(sana);
    sana_model_free(sprint);
    sana_context_free(ctx);
    return tu_finish("test_generate_pipeline");
}
