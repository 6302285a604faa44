/* The public sampler and generate calls: sampler defaults and overrides on the fixture models,
 * and every input error of sana_generate / sana_denoise, each a clear status with a message. */
#include <math.h>
#include <string.h>

#include "harness.h"
#include "solver/schedule.h"

static sana_context *ctx;

/* Loads `name` from the fixtures with the given components; NULL (and a note) when it cannot. */
static sana_model *load(const char *name, uint32_t components) {
    sana_model_params mp;
    sana_model_params_init(&mp);
    mp.components = components;
    sana_model *m = NULL;
    if (sana_model_load(ctx, tu_path(tu_fixtures_dir(), name), &mp, &m) != SANA_OK) {
        printf("note: %s (components 0x%x) does not load here: %s\n", name, components, sana_context_last_error(ctx));
        return NULL;
    }
    return m;
}

static void test_sampler(sana_model *sana, sana_model *sprint) {
    sana_sampler *s = NULL;
    float ts[64];
    size_t n = 0;
    /* default: the model's scheduler config, 20 steps, integer timesteps 999 ... */
    CHECK_OK(sana_sampler_create(sana, NULL, &s));
    CHECK_OK(sana_sampler_timesteps(s, NULL, 0, &n));
    CHECK(n == 20, "default steps %zu", n);
    CHECK_OK(sana_sampler_timesteps(s, ts, 64, &n));
    CHECK(ts[0] == 999.0f && ts[19] == 136.0f, "DPM timesteps %g .. %g", ts[0], ts[19]);
    sana_sampler_free(s);

    sana_sampler_params p;
    sana_sampler_params_init(&p);
    p.solver = SANA_SOLVER_FLOW_EULER;
    p.steps = 4;
    p.flow_shift = 6.0f;
    CHECK_OK(sana_sampler_create(sana, &p, &s));
    CHECK_OK(sana_sampler_timesteps(s, ts, 64, &n));
    sn_schedule ref;
    CHECK_OK(sn_schedule_euler(NULL, 6.0, 4, &ref));
    CHECK(n == 4 && memcmp(ts, ref.timesteps, 4 * sizeof(float)) == 0, "Euler shift 6 timesteps");
    sana_sampler_free(s);

    p.solver = SANA_SOLVER_SCM;
    CHECK_STATUS(sana_sampler_create(sana, &p, &s), SANA_ERR_UNSUPPORTED);
    CHECK(s == NULL, "no sampler on failure");
    sana_sampler_params_init(&p);
    p.steps = -1;
    CHECK_STATUS(sana_sampler_create(sana, &p, &s), SANA_ERR_INVALID_ARGUMENT);
    p.steps = 0;
    p.flow_shift = NAN;
    CHECK_STATUS(sana_sampler_create(sana, &p, &s), SANA_ERR_INVALID_ARGUMENT);
    p.flow_shift = 0;
    p.solver = (sana_solver)42;
    CHECK_STATUS(sana_sampler_create(sana, &p, &s), SANA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(sana_sampler_create(NULL, NULL, &s), SANA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(sana_sampler_timesteps(NULL, ts, 4, &n), SANA_ERR_INVALID_ARGUMENT);

    if (sprint) {
        CHECK_OK(sana_sampler_create(sprint, NULL, &s));
        CHECK_OK(sana_sampler_timesteps(s, ts, 64, &n));
        /* 2 steps at TrigFlow 1.5708 and 1.3: the flow times the transformer sees */
        CHECK(n == 2 && ts[0] > 1.0f && ts[0] < 1.00001f && fabsf(ts[1] - 0.782708f) < 1e-5f,
              "Sprint timesteps %zu: %.7f %.7f", n, ts[0], ts[1]);
        sana_sampler_free(s);
        sana_sampler_params_init(&p);
        p.solver = SANA_SOLVER_FLOW_DPM;
        CHECK_STATUS(sana_sampler_create(sprint, &p, &s), SANA_ERR_UNSUPPORTED);
        p.solver = SANA_SOLVER_SCM;
        p.steps = 4;
        CHECK_OK(sana_sampler_create(sprint, &p, &s));
        CHECK_OK(sana_sampler_timesteps(s, ts, 64, &n));
        CHECK(n == 4, "SCM 4 steps");
        sana_sampler_free(s);
        /* a negative intermediate time was read as "none": 2 linspace steps instead */
        sana_sampler_params_init(&p);
        p.intermediate_timesteps = -1.0f;
        s = NULL;
        CHECK_STATUS(sana_sampler_create(sprint, &p, &s), SANA_ERR_INVALID_ARGUMENT);
        CHECK(s == NULL && strstr(sana_last_error(), "intermediate"), "message: %s", sana_last_error());
    }
}

/* Each refused input: the status, no images, and a message naming the argument. */
static void expect_error(sana_model *m, const sana_generate_params *p, sana_status want, const char *needle) {
    sana_image *images[64];
    for (int i = 0; i < 64; i++) images[i] = (sana_image *)1; /* must come back NULL */
    sana_status st = sana_generate(ctx, m, p, images);
    const char *msg = sana_context_last_error(ctx);
    CHECK(st == want, "sana_generate -> %s, expected %s (%s)", sana_status_string(st), sana_status_string(want), msg);
    CHECK(images[0] == NULL, "images[0] must be NULL on failure");
    CHECK(strstr(msg, needle) != NULL, "message '%s' should mention '%s'", msg, needle);
    printf("refused (%s): %s\n", sana_status_string(st), msg);
}

static void test_generate_errors(sana_model *m) {
    sana_generate_params p;
    sana_generate_params_init(&p);
    p.prompt = "a red fox";
    p.steps = 2;
    p.width = p.height = 64;
    p.resolution_binning = 0;

    sana_generate_params q = p;
    q.width = 0;
    expect_error(m, &q, SANA_ERR_INVALID_ARGUMENT, "width");
    q = p, q.height = -64;
    expect_error(m, &q, SANA_ERR_INVALID_ARGUMENT, "height");
    q = p, q.steps = -1;
    expect_error(m, &q, SANA_ERR_INVALID_ARGUMENT, "steps");
    q = p, q.guidance_scale = NAN;
    expect_error(m, &q, SANA_ERR_INVALID_ARGUMENT, "guidance_scale");
    q = p, q.guidance_scale = INFINITY;
    expect_error(m, &q, SANA_ERR_INVALID_ARGUMENT, "guidance_scale");
    q = p, q.pag_scale = NAN;
    expect_error(m, &q, SANA_ERR_INVALID_ARGUMENT, "pag_scale");
    q = p, q.batch = 0;
    expect_error(m, &q, SANA_ERR_INVALID_ARGUMENT, "batch");
    q = p, q.prompt = NULL;
    expect_error(m, &q, SANA_ERR_INVALID_ARGUMENT, "prompt");
    q = p, q.width = 1 << 20;
    expect_error(m, &q, SANA_ERR_OUT_OF_MEMORY, "too large");
    q = p, q.struct_size = 2;
    expect_error(m, &q, SANA_ERR_INVALID_ARGUMENT, "struct_size");
    sana_image *im[1];
    CHECK_STATUS(sana_generate(ctx, NULL, &p, im), SANA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(sana_generate(ctx, m, NULL, im), SANA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(sana_generate(NULL, m, &p, im), SANA_ERR_INVALID_ARGUMENT);
}

/* The errors that need the whole model (sizes are checked against the DiT and DC-AE). */
static void test_generate_size_errors(sana_model *m) {
    sana_generate_params p;
    sana_generate_params_init(&p);
    p.prompt = "a red fox";
    p.steps = 2;
    p.resolution_binning = 0;
    p.width = 100, p.height = 64;
    expect_error(m, &p, SANA_ERR_INVALID_ARGUMENT, "multiples of 32");
    p.width = 64, p.height = 48;
    expect_error(m, &p, SANA_ERR_INVALID_ARGUMENT, "multiples of 32");
    p.width = p.height = 65536;
    p.batch = 64; /* about 10 TiB: more than any machine this runs on */
    expect_error(m, &p, SANA_ERR_OUT_OF_MEMORY, "GiB");
    p.width = p.height = 64;
    p.batch = 1;
    sana_image *init = NULL;
    CHECK_OK(sana_image_create(64, 64, 3, &init));
    p.init_image = init;
    expect_error(m, &p, SANA_ERR_UNSUPPORTED, "image-to-image");
    sana_image_free(init);
    p.init_image = NULL;
    int32_t layers[1] = {99};
    p.pag_scale = 2.0f, p.pag_layers = layers, p.n_pag_layers = 1;
    expect_error(m, &p, SANA_ERR_INVALID_ARGUMENT, "PAG layer");
}

static void test_denoise_errors(sana_model *m) {
    sana_denoise_params p;
    sana_denoise_params_init(&p);
    int64_t shape[4] = {1, 32, 2, 2};
    sana_tensor *lat = NULL;
    CHECK_OK(sana_tensor_create(4, shape, NULL, &lat));
    CHECK_STATUS(sana_denoise(ctx, m, &p, lat), SANA_ERR_INVALID_ARGUMENT); /* no embeddings */
    CHECK_STATUS(sana_denoise(ctx, m, NULL, lat), SANA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(sana_denoise(NULL, m, &p, lat), SANA_ERR_INVALID_ARGUMENT);
    /* PAG as sana_generate checks it, before any work: a negative scale (accepted, and ignored),
     * layers NULL or out of range (refused only from inside the first transformer call) */
    const struct {
        float scale;
        int32_t layer, n;
        int null_layers;
        const char *needle;
    } pag[] = {{-1.0f, 0, 1, 0, "pag_scale"}, {2.0f, 0, 1, 1, "pag_layers NULL"},
               {2.0f, 99, 1, 0, "PAG layer 99"}, {2.0f, 0, -2, 0, "n_pag_layers is -2"}};
    for (size_t i = 0; i < sizeof pag / sizeof *pag; i++) {
        sana_denoise_params_init(&p);
        p.pag_scale = pag[i].scale;
        p.pag_layers = pag[i].null_layers ? NULL : &pag[i].layer;
        p.n_pag_layers = pag[i].n;
        CHECK_STATUS(sana_denoise(ctx, m, &p, lat), SANA_ERR_INVALID_ARGUMENT);
        CHECK(strstr(sana_context_last_error(ctx), pag[i].needle) != NULL, "PAG case %zu: %s", i,
              sana_context_last_error(ctx));
    }
    sana_tensor_free(lat);
}

int main(void) {
    sana_context_params cp;
    sana_context_params_init(&cp);
    cp.backend = SANA_BACKEND_CPU;
    cp.n_threads = 2;
    CHECK_OK(sana_context_create(&cp, &ctx));
    /* the sampler needs only the transformer and the scheduler config */
    const uint32_t part = SANA_COMPONENT_TRANSFORMER | SANA_COMPONENT_SCHEDULER;
    sana_model *sana = load("sana_tiny", part), *sprint = load("sprint_tiny", part);
    if (!sana) tu_skip("the fixture model sana_tiny does not load");
    test_sampler(sana, sprint);
    test_generate_errors(sana);
    test_denoise_errors(sana);
    sana_model *full = load("sana_tiny", SANA_COMPONENT_ALL);
    if (full)
        test_generate_size_errors(full);
    else
        printf("note: size checks against the whole model skipped until every component loads\n");
    sana_model_free(full);
    sana_model_free(sana);
    sana_model_free(sprint);
    sana_context_free(ctx);
    return tu_finish("test_generate");
}
