/* DC-AE against the oracle's goldens (diffusers AutoencoderDC on tiny random models in the real
 * format): decode and encode outputs and every stage's sub-block output, the fp16-on-disk copy
 * of the weights, diffusers' tiled decode, and the DC-AE-Lite layout (pixel_shuffle upsamplers,
 * empty decoder stage 0, conv_out.conv head). fp32 within the tolerances the oracle recorded. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "ae/dcae_internal.h"
#include "harness.h"

typedef struct tap_store {
    char name[64][96];
    float *data[64];
    size_t n[64];
    int count;
} tap_store;

static void tap_fn(void *user, const char *name, int64_t b, sn_tensor *t) {
    tap_store *s = user;
    if (b != 0 || s->count >= 64) return;
    int i = s->count++;
    snprintf(s->name[i], sizeof s->name[i], "%s", name);
    s->n[i] = (size_t)sn_numel(t);
    s->data[i] = malloc(s->n[i] * sizeof(float));
    CHECK_OK(sn_download_f32(t, s->data[i]));
}

static const float *tap_find(const tap_store *s, const char *name, size_t *n) {
    for (int i = 0; i < s->count; i++)
        if (!strcmp(s->name[i], name)) {
            *n = s->n[i];
            return s->data[i];
        }
    return NULL;
}

static void tap_clear(tap_store *s) {
    for (int i = 0; i < s->count; i++) free(s->data[i]);
    s->count = 0;
}

static sn_backend *be;

static sn_tensor upload(const tu_tensor *g) {
    sn_tensor t;
    CHECK_OK(sn_tensor_alloc(be, SN_F32, g->ndim, g->shape, &t));
    CHECK_OK(sn_upload_convert(&t, SN_F32, g->f));
    return t;
}

/* Compares every output the case lists (index.json "outputs": "output" and the stage names)
 * with what the run produced. */
static void compare_outputs(const tu_case *c, const tap_store *taps, const float *out, size_t out_n) {
    const cJSON *outs = cJSON_GetObjectItemCaseSensitive((const cJSON *)c->json, "outputs");
    int compared = 0;
    for (const cJSON *o = outs ? outs->child : NULL; o; o = o->next) {
        const char *name = o->valuestring;
        tu_tensor g;
        if (!name || tu_golden(c, name, &g) != 0) continue;
        size_t n = out_n;
        const float *got = !strcmp(name, "output") ? out : tap_find(taps, name, &n);
        CHECK(got && n == g.n, "%s: %s missing or has %zu elements, golden %zu", c->name, name,
              got ? n : 0, g.n);
        if (got && n == g.n) {
            char what[200];
            snprintf(what, sizeof what, "%s %s", c->name, name);
            CHECK(tu_check_close(what, got, g.f, g.n, tu_case_tol(c, name)), "%s", what);
            compared++;
        }
        tu_tensor_free(&g);
    }
    printf("%s: %d outputs compared\n", c->name, compared);
    CHECK(compared >= 1, "%s: nothing compared", c->name);
}

/* glu_chunk > 0: EfficientViT blocks in row chunks of that many floats (a row or two here) */
static void run_decode(const tu_case *c, int tiled, int64_t glu_chunk) {
    sn_dcae *ae = NULL;
    CHECK_OK(sn_dcae_load(be, tu_case_model_dir(c), NULL, &ae));
    if (!ae) return;
    if (glu_chunk) {
        sn_dcae_set_evit_chunk(ae, glu_chunk);
        printf("%s with EfficientViT temporaries in chunks of %lld floats\n", c->name, (long long)glu_chunk);
    }
    tu_tensor lat;
    if (tu_golden(c, "latent", &lat) != 0) return;
    sn_tensor z = upload(&lat);
    int64_t shape[4];
    sn_dcae_decode_shape(ae, &z, shape);
    sn_tensor y;
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, shape, &y));
    tap_store taps = {0};
    sn_dcae_decode_opts o;
    sn_dcae_decode_opts_init(&o);
    if (tiled) {
        o.tiled = 1;
        o.tile_size = (int32_t)tu_param_num(c, "tile_sample_min_height", 512);
        o.tile_stride = (int32_t)tu_param_num(c, "tile_sample_stride_height", 448);
    } else {
        o.tap = tap_fn;
        o.tap_user = &taps;
    }
    CHECK_OK(sn_dcae_decode(ae, &z, &o, &y));
    float *out = malloc((size_t)sn_numel(&y) * sizeof(float));
    CHECK_OK(sn_download_f32(&y, out));
    compare_outputs(c, &taps, out, (size_t)sn_numel(&y));
    free(out);
    tap_clear(&taps);
    tu_tensor_free(&lat);
    sn_tensor_free(&z);
    sn_tensor_free(&y);
    sn_dcae_free(ae);
}

static void run_encode(const tu_case *c, int tiled) {
    sn_dcae *ae = NULL;
    CHECK_OK(sn_dcae_load(be, tu_case_model_dir(c), NULL, &ae));
    if (!ae) return;
    tu_tensor img;
    if (tu_golden(c, "image", &img) != 0) return;
    sn_tensor x = upload(&img), z;
    const int64_t f = sn_dcae_spatial_factor(ae);
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4,
                             SN_SHAPE(img.shape[0], sn_dcae_latent_channels(ae), img.shape[2] / f, img.shape[3] / f), &z));
    tap_store taps = {0};
    if (tiled)
        CHECK_OK(sn_dcae_encode_tiled(ae, &x, (int32_t)tu_param_num(c, "tile_sample_min_height", 512),
                                      (int32_t)tu_param_num(c, "tile_sample_stride_height", 448), &z));
    else
        CHECK_OK(sn_dcae_encode(ae, &x, tap_fn, &taps, &z));
    float *out = malloc((size_t)sn_numel(&z) * sizeof(float));
    CHECK_OK(sn_download_f32(&z, out));
    compare_outputs(c, &taps, out, (size_t)sn_numel(&z));
    free(out);
    tap_clear(&taps);
    tu_tensor_free(&img);
    sn_tensor_free(&x);
    sn_tensor_free(&z);
    sn_dcae_free(ae);
}

int main(void) {
    tu_case_require("dcae_decode/sana_tiny");
    tu_case_require("dcae_decode/lite_tiny");
    tu_case_require("dcae_decode/lite_tiny_batch2");
    CHECK_OK(sn_backend_cpu_create(2, &be));
    const tu_case *cases[16];
    int n = tu_cases_of_kind("dcae_decode", cases, 16);
    CHECK(n >= 5, "expected the dcae_decode cases, found %d", n);
    for (int i = 0; i < n && i < 16; i++) run_decode(cases[i], 0, 0);
    run_decode(tu_case_require("dcae_decode/sana_tiny"), 0, 1000);
    n = tu_cases_of_kind("dcae_encode", cases, 16);
    CHECK(n >= 2, "expected the dcae_encode cases, found %d", n);
    for (int i = 0; i < n && i < 16; i++) run_encode(cases[i], 0);
    run_decode(tu_case_require("dcae_tiled/decode"), 1, 0);
    run_decode(tu_case_require("dcae_tiled/lite_decode"), 1, 0);
    run_encode(tu_case_require("dcae_tiled/encode"), 1);
    sn_backend_free(be);
    return tu_finish("test_dcae_golden");
}
