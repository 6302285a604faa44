/* Component weights: single files, shards through an index, the variant file names of diffusers
 * and transformers, shape checks, and conversion of F16/BF16 on disk to the backend's dtype. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend/backend.h"
#include "core/dtype.h"
#include "harness.h"
#include "io/weights.h"

static sn_backend *be;

/* A new folder base/name; the path stays valid for the whole test (tu_path's ring does not). */
static const char *new_dir(const char *base, const char *name) {
    static char paths[64][4096];
    static int next;
    char *d = paths[next++ & 63];
    snprintf(d, sizeof paths[0], "%s/%s", base, name);
    CHECK(mkdir(d, 0755) == 0, "mkdir %s", d);
    return d;
}

/* A file with one tensor `name` of n values v0, v0+1, ... in `dtype` (F32, F16 or BF16). */
static void write_one(const char *path, const char *name, sn_dtype dtype, int n, float v0) {
    unsigned char data[256];
    size_t es = sn_dtype_size(dtype);
    for (int i = 0; i < n; i++) {
        float v = v0 + (float)i;
        uint16_t h = dtype == SN_F16 ? sn_f32_to_f16(v) : sn_f32_to_bf16(v);
        if (dtype == SN_F32)
            memcpy(data + 4 * i, &v, 4);
        else
            memcpy(data + 2 * i, &h, 2);
    }
    char hdr[256];
    snprintf(hdr, sizeof hdr, "{\"%s\":{\"dtype\":\"%s\",\"shape\":[%d],\"data_offsets\":[0,%zu]}}",
             name, sn_dtype_name(dtype), n, n * es);
    tu_write_safetensors(path, hdr, data, n * es);
}

static void expect_msg(const char *a, const char *b) {
    const char *m = tu_last_error();
    CHECK(strstr(m, a) != NULL, "message lacks '%s': %s", a, m);
    if (b) CHECK(strstr(m, b) != NULL, "message lacks '%s': %s", b, m);
    printf("  %s\n", m);
}

/* Loads `name` as [n] floats and checks the first value. */
static void expect_value(const sn_weights *w, const char *name, int n, float first) {
    sn_tensor t;
    CHECK_OK(sn_weights_load(w, be, name, 1, SN_SHAPE(n), &t));
    if (!t.data) return;
    float v[16];
    CHECK_OK(sn_download_f32(&t, v));
    CHECK(v[0] == first && v[n - 1] == first + (float)(n - 1), "%s: %g, expected %g", name, v[0],
          first);
    sn_tensor_free(&t);
}

static void test_single_file(const char *base) {
    const char *d = new_dir(base, "single");
    /* F16 [2,3] (6 values), BF16 [4] then F32 [3] at a 2-byte offset: misaligned for floats */
    unsigned char data[12 + 8 + 12 + 8];
    uint16_t h[6], b[4];
    float f[3] = {1.0f / 3.0f, -2.5f, 1e-20f};
    for (int i = 0; i < 6; i++) h[i] = sn_f32_to_f16((float)i * 0.25f - 0.5f);
    for (int i = 0; i < 4; i++) b[i] = sn_f32_to_bf16((float)i * 100.0f);
    int64_t ids[1] = {42};
    memcpy(data, h, 12);
    memcpy(data + 12, b, 8);
    memcpy(data + 20, f, 12);
    memcpy(data + 32, ids, 8);
    const char *hdr = "{\"blocks.0.w\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[0,12]},"
                      "\"blocks.0.b\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[12,20]},"
                      "\"blocks.1.w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[20,32]},"
                      "\"pos\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[32,40]}}";
    /* header of odd length: write it unpadded so the data section starts misaligned */
    char raw[512];
    size_t hl = strlen(hdr);
    for (int i = 0; i < 8; i++) raw[i] = (char)((hl >> (8 * i)) & 0xff);
    memcpy(raw + 8, hdr, hl);
    memcpy(raw + 8 + hl, data, sizeof data);
    tu_write_file(tu_path(d, "diffusion_pytorch_model.safetensors"), raw, 8 + hl + sizeof data);

    sn_weights *w = NULL;
    CHECK_OK(sn_weights_open(d, NULL, &w));
    if (!w) return;
    CHECK(sn_weights_count(w) == 4, "count");
    CHECK(sn_weights_param_count(w) == 6 + 4 + 3 + 1, "params %lld",
          (long long)sn_weights_param_count(w));
    CHECK(strcmp(sn_weights_at(w, 0)->name, "blocks.0.b") == 0, "sorted by name");
    CHECK(sn_weights_find(w, "pos") && !sn_weights_find(w, "nope"), "find");

    sn_tensor t;
    CHECK_OK(sn_weights_load(w, be, "blocks.0.w", 2, SN_SHAPE(2, 3), &t));
    CHECK(t.dtype == be->weight_dtype && t.ndim == 2 && t.shape[1] == 3, "loaded tensor header");
    float v[6];
    if (t.data) {
        CHECK_OK(sn_download_f32(&t, v));
        CHECK(v[0] == -0.5f && v[5] == 0.75f, "f16 values %g %g", v[0], v[5]);
    }
    sn_tensor_free(&t);
    CHECK_OK(sn_weights_loadf(w, be, 1, SN_SHAPE(4), &t, "blocks.%d.b", 0));
    if (t.data) {
        CHECK_OK(sn_download_f32(&t, v));
        CHECK(v[0] == 0.0f && v[3] == 300.0f, "bf16 values %g %g", v[0], v[3]);
    }
    sn_tensor_free(&t);
    CHECK_OK(sn_weights_loadf(w, be, 1, SN_SHAPE(3), &t, "blocks.%d.w", 1));
    if (t.data) {
        CHECK_OK(sn_download_f32(&t, v));
        CHECK(memcmp(v, f, 12) == 0, "misaligned f32 values exact");
    }
    sn_tensor_free(&t);

    /* wrong shape, missing tensor, non-float tensor */
    CHECK_STATUS(sn_weights_load(w, be, "blocks.0.w", 2, SN_SHAPE(3, 2), &t), SANA_ERR_FORMAT);
    expect_msg("'blocks.0.w'", "has shape [2, 3], expected [3, 2]");
    CHECK(t.data == NULL, "no tensor on failure");
    CHECK_STATUS(sn_weights_load(w, be, "blocks.0.w", 1, SN_SHAPE(6), &t), SANA_ERR_FORMAT);
    expect_msg("diffusion_pytorch_model.safetensors", "expected [6]");
    CHECK_STATUS(sn_weights_loadf(w, be, 1, SN_SHAPE(3), &t, "blocks.%d.w", 7), SANA_ERR_NOT_FOUND);
    expect_msg("'blocks.7.w'", d);
    CHECK_STATUS(sn_weights_load(w, be, "pos", 1, SN_SHAPE(1), &t), SANA_ERR_FORMAT);
    expect_msg("'pos'", "I64");
    const sn_st_tensor *st;
    CHECK_OK(sn_weights_get(w, "pos", 1, SN_SHAPE(1), &st));
    CHECK(st && st->dtype == SN_I64, "get of an integer tensor");
    sn_weights_close(w);
}

/* F64 on disk (after a 1-byte tensor, so misaligned too) arrives as the nearest floats. */
static void test_f64(const char *base) {
    const char *d = new_dir(base, "f64");
    unsigned char data[1 + 24];
    double v[3] = {0.1, -1e10, 3.0};
    data[0] = 7;
    memcpy(data + 1, v, 24);
    tu_write_safetensors(tu_path(d, "model.safetensors"),
                         "{\"flag\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                         "\"x\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[1,25]}}",
                         data, sizeof data);
    sn_weights *w = NULL;
    CHECK_OK(sn_weights_open(d, NULL, &w));
    sn_tensor t;
    float got[3] = {0};
    if (w) CHECK_OK(sn_weights_load(w, be, "x", 1, SN_SHAPE(3), &t));
    if (w && t.data) {
        CHECK_OK(sn_download_f32(&t, got));
        CHECK(got[0] == (float)0.1 && got[1] == (float)-1e10 && got[2] == 3.0f, "f64 values %g %g %g",
              got[0], got[1], got[2]);
        sn_tensor_free(&t);
    }
    sn_weights_close(w);
}

static void test_sharded(const char *base) {
    /* transformers style, bf16: model.safetensors.index.json -> model-0000i-of-00002 */
    const char *d = new_dir(base, "sharded");
    write_one(tu_path(d, "model-00001-of-00002.safetensors"), "embed", SN_BF16, 8, 1.0f);
    write_one(tu_path(d, "model-00002-of-00002.safetensors"), "norm", SN_BF16, 4, -3.0f);
    const char *idx = "{\"metadata\": {\"total_size\": 24}, \"weight_map\": {"
                      "\"embed\": \"model-00001-of-00002.safetensors\","
                      "\"norm\": \"model-00002-of-00002.safetensors\"}}";
    tu_write_file(tu_path(d, "model.safetensors.index.json"), idx, strlen(idx));
    sn_weights *w = NULL;
    CHECK_OK(sn_weights_open(d, NULL, &w));
    if (w) {
        CHECK(sn_weights_count(w) == 2 && sn_weights_param_count(w) == 12, "sharded count");
        expect_value(w, "embed", 8, 1.0f);
        expect_value(w, "norm", 4, -3.0f);
        const sn_st_tensor *t = sn_weights_find(w, "norm");
        CHECK(t && strstr(t->file, "model-00002-of-00002.safetensors"), "file of a shard tensor");
    }
    sn_weights_close(w);

    /* an index naming a shard that is not there */
    const char *d2 = new_dir(base, "shard_missing");
    write_one(tu_path(d2, "model-00001-of-00002.safetensors"), "embed", SN_F32, 2, 0.0f);
    tu_write_file(tu_path(d2, "model.safetensors.index.json"), idx, strlen(idx));
    CHECK_STATUS(sn_weights_open(d2, NULL, &w), SANA_ERR_NOT_FOUND);
    expect_msg("model-00002-of-00002.safetensors", NULL);

    /* an index that puts a tensor in the wrong shard */
    const char *d3 = new_dir(base, "shard_wrong");
    write_one(tu_path(d3, "model-00001-of-00002.safetensors"), "embed", SN_F32, 2, 0.0f);
    write_one(tu_path(d3, "model-00002-of-00002.safetensors"), "other", SN_F32, 2, 0.0f);
    tu_write_file(tu_path(d3, "model.safetensors.index.json"), idx, strlen(idx));
    CHECK_STATUS(sn_weights_open(d3, NULL, &w), SANA_ERR_FORMAT);
    expect_msg("'norm'", "model-00002-of-00002.safetensors");

    /* the same tensor in two shards */
    const char *d4 = new_dir(base, "shard_dup");
    write_one(tu_path(d4, "model-00001-of-00002.safetensors"), "embed", SN_F32, 2, 0.0f);
    write_one(tu_path(d4, "model-00002-of-00002.safetensors"), "embed", SN_F32, 2, 0.0f);
    tu_write_file(tu_path(d4, "model.safetensors.index.json"), idx, strlen(idx));
    CHECK_STATUS(sn_weights_open(d4, NULL, &w), SANA_ERR_FORMAT);
    expect_msg("'embed'", "both");

    /* a corrupt index, and one whose weight_map is not an object */
    const char *d5 = new_dir(base, "index_corrupt");
    tu_write_file(tu_path(d5, "model.safetensors.index.json"), "{\"weight_map\": {", 16);
    CHECK_STATUS(sn_weights_open(d5, NULL, &w), SANA_ERR_FORMAT);
    expect_msg("model.safetensors.index.json", "invalid JSON");
    tu_write_file(tu_path(d5, "model.safetensors.index.json"), "{\"weight_map\": []}", 18);
    CHECK_STATUS(sn_weights_open(d5, NULL, &w), SANA_ERR_FORMAT);
    expect_msg("model.safetensors.index.json", "weight_map");
    const char *evil = "{\"weight_map\": {\"x\": \"../single/diffusion_pytorch_model.safetensors\"}}";
    tu_write_file(tu_path(d5, "model.safetensors.index.json"), evil, strlen(evil));
    CHECK_STATUS(sn_weights_open(d5, NULL, &w), SANA_ERR_FORMAT);
    expect_msg("'x'", "plain file name");
    /* a corrupt shard: its own error names it */
    const char *d6 = new_dir(base, "shard_corrupt");
    tu_write_file(tu_path(d6, "model-00001-of-00002.safetensors"), "\x08\0\0\0\0\0\0\0{\"a\":1} ",
                  16);
    write_one(tu_path(d6, "model-00002-of-00002.safetensors"), "norm", SN_F32, 4, 0.0f);
    tu_write_file(tu_path(d6, "model.safetensors.index.json"), idx, strlen(idx));
    CHECK_STATUS(sn_weights_open(d6, NULL, &w), SANA_ERR_FORMAT);
    expect_msg("model-00001-of-00002.safetensors", "'a'");
}

static void test_variants(const char *base) {
    sn_weights *w = NULL;
    /* diffusers: plain and .fp16 side by side; each variant gets its own file */
    const char *d = new_dir(base, "both");
    write_one(tu_path(d, "diffusion_pytorch_model.safetensors"), "x", SN_F32, 2, 10.0f);
    write_one(tu_path(d, "diffusion_pytorch_model.fp16.safetensors"), "x", SN_F16, 2, 20.0f);
    CHECK_OK(sn_weights_open(d, NULL, &w));
    if (w) expect_value(w, "x", 2, 10.0f);
    sn_weights_close(w);
    CHECK_OK(sn_weights_open(d, "fp16", &w));
    if (w) expect_value(w, "x", 2, 20.0f);
    sn_weights_close(w);
    CHECK_OK(sn_weights_open(d, "bf16", &w)); /* absent variant: the plain file */
    if (w) expect_value(w, "x", 2, 10.0f);
    sn_weights_close(w);

    /* only a .bf16 file: found without asking for it */
    d = new_dir(base, "bf16_only");
    write_one(tu_path(d, "diffusion_pytorch_model.bf16.safetensors"), "x", SN_BF16, 2, 30.0f);
    CHECK_OK(sn_weights_open(d, NULL, &w));
    if (w) expect_value(w, "x", 2, 30.0f);
    sn_weights_close(w);

    /* diffusers sharded fp16 variant: index.fp16.json -> diffusion_pytorch_model.fp16-0000i */
    d = new_dir(base, "sharded_fp16");
    write_one(tu_path(d, "diffusion_pytorch_model.fp16-00001-of-00002.safetensors"), "a", SN_F16,
              2, 1.0f);
    write_one(tu_path(d, "diffusion_pytorch_model.fp16-00002-of-00002.safetensors"), "b", SN_F16,
              3, 5.0f);
    const char *idx = "{\"weight_map\": {"
                      "\"a\": \"diffusion_pytorch_model.fp16-00001-of-00002.safetensors\","
                      "\"b\": \"diffusion_pytorch_model.fp16-00002-of-00002.safetensors\"}}";
    tu_write_file(tu_path(d, "diffusion_pytorch_model.safetensors.index.fp16.json"), idx,
                  strlen(idx));
    CHECK_OK(sn_weights_open(d, "fp16", &w));
    if (w) {
        CHECK(sn_weights_count(w) == 2, "fp16 shards");
        expect_value(w, "b", 3, 5.0f);
    }
    sn_weights_close(w);

    /* the older diffusers spelling of a variant index */
    d = new_dir(base, "old_index_name");
    write_one(tu_path(d, "diffusion_pytorch_model.fp16-00001-of-00002.safetensors"), "a", SN_F16,
              2, 1.0f);
    write_one(tu_path(d, "diffusion_pytorch_model.fp16-00002-of-00002.safetensors"), "b", SN_F16,
              3, 5.0f);
    tu_write_file(tu_path(d, "diffusion_pytorch_model.fp16.safetensors.index.json"), idx,
                  strlen(idx));
    CHECK_OK(sn_weights_open(d, "fp16", &w));
    CHECK(w && sn_weights_count(w) == 2, "old-style fp16 index");
    sn_weights_close(w);

    /* transformers: model.fp16.safetensors */
    d = new_dir(base, "te_fp16");
    write_one(tu_path(d, "model.fp16.safetensors"), "x", SN_F16, 2, 40.0f);
    CHECK_OK(sn_weights_open(d, "fp16", &w));
    if (w) expect_value(w, "x", 2, 40.0f);
    sn_weights_close(w);

    /* any lone *.safetensors */
    d = new_dir(base, "lone");
    write_one(tu_path(d, "weights.safetensors"), "x", SN_F32, 2, 50.0f);
    CHECK_OK(sn_weights_open(d, NULL, &w));
    if (w) expect_value(w, "x", 2, 50.0f);
    sn_weights_close(w);

    CHECK_STATUS(sn_weights_open(d, "../x", &w), SANA_ERR_INVALID_ARGUMENT);
    expect_msg("../x", "variant");
}

static void test_missing(const char *base) {
    sn_weights *w = (sn_weights *)1;
    const char *d = tu_path(base, "no_such_folder");
    CHECK_STATUS(sn_weights_open(d, NULL, &w), SANA_ERR_NOT_FOUND);
    CHECK(w == NULL, "out cleared");
    expect_msg(d, "no such folder");
    d = new_dir(base, "empty");
    CHECK_STATUS(sn_weights_open(d, NULL, &w), SANA_ERR_NOT_FOUND);
    expect_msg(d, "no weights");
    /* a truncated weight file: the error names the file and the tensor */
    d = new_dir(base, "truncated");
    float v[8] = {0};
    tu_write_safetensors(tu_path(d, "diffusion_pytorch_model.safetensors"),
                         "{\"proj.weight\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,32]}}",
                         v, 30);
    CHECK_STATUS(sn_weights_open(d, NULL, &w), SANA_ERR_FORMAT);
    expect_msg("diffusion_pytorch_model.safetensors", "'proj.weight'");
}

/* Every tensor of the fixture components (F16, sharded BF16, F32, BF16 variant on disk) loaded
 * through sn_weights_load equals the harness's own conversion of the same file, exactly. */
static void test_fixtures(void) {
    const char *comps[] = {"sana_tiny/transformer", "sana_tiny/text_encoder", "sana_tiny/vae",
                           "variants/sana15_qknorm", "sprint_tiny/transformer"};
    struct stat sb;
    if (stat(tu_path(tu_fixtures_dir(), "sana_tiny/model_index.json"), &sb) != 0) {
        printf("  (no fixture models: skipping their part)\n");
        return;
    }
    for (int c = 0; c < 5; c++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%s", tu_fixtures_dir(), comps[c]);
        sn_weights *w = NULL;
        CHECK_OK(sn_weights_open(dir, NULL, &w));
        size_t checked = 0, exact = 0;
        for (size_t i = 0; w && i < sn_weights_count(w); i++) {
            const sn_st_tensor *st = sn_weights_at(w, i);
            if (st->ndim > SN_MAX_DIMS || st->ndim == 0) continue;
            sn_tensor t;
            CHECK_OK(sn_weights_load(w, be, st->name, st->ndim, st->shape, &t));
            tu_tensor ref;
            if (!t.data || tu_read_tensor(st->file, st->name, &ref) != 0) continue;
            float *got = malloc(ref.n * sizeof *got + 1);
            CHECK_OK(sn_download_f32(&t, got));
            checked++;
            exact += ref.f && memcmp(got, ref.f, ref.n * sizeof *got) == 0;
            free(got);
            tu_tensor_free(&ref);
            sn_tensor_free(&t);
        }
        CHECK(checked > 0 && exact == checked, "%s: %zu of %zu tensors exact", comps[c], exact,
              checked);
        printf("  %-24s %s: %zu tensors loaded, all exact\n", comps[c],
               w ? sn_dtype_name(sn_weights_at(w, 0)->dtype) : "-", checked);
        sn_weights_close(w);
    }
}

int main(void) {
    if (sn_backend_cpu_create(1, &be) != SANA_OK) {
        fprintf(stderr, "no cpu backend: %s\n", tu_last_error());
        return 1;
    }
    const char *base = tu_temp_dir();
    test_single_file(base);
    test_f64(base);
    test_sharded(base);
    test_variants(base);
    test_missing(base);
    test_fixtures();
    sn_backend_free(be);
    return tu_finish("test_io_weights");
}
