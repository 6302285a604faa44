/* Weights stored as fp16 on disk (the ".fp16" variant file name of the diffusers layout) load and
 * run: the sana_tiny transformer is rewritten here as F16 (variant file) and as F32 holding the
 * same fp16-rounded values; both must give bit-identical outputs, and stay close to the original
 * fp32 model. (bf16 on disk is covered by the sana15_qknorm golden case.) */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend/backend.h"
#include "core/dtype.h"
#include "dit/dit.h"
#include "harness.h"
#include "io/safetensors.h"

static sn_backend *be;

/* Writes every tensor of `src` into dir/file as `dtype` (F16 or F32), rounded through fp16. */
static void write_rounded(const sn_safetensors *src, const char *dir, const char *file, int f16) {
    size_t n = sn_safetensors_count(src), bytes = 0;
    for (size_t i = 0; i < n; i++) bytes += (size_t)sn_st_numel(sn_safetensors_at(src, i)) * (f16 ? 2 : 4);
    unsigned char *data = malloc(bytes), *p = data;
    cJSON *hdr = cJSON_CreateObject();
    for (size_t i = 0; i < n; i++) {
        const sn_st_tensor *t = sn_safetensors_at(src, i);
        int64_t k = sn_st_numel(t);
        float *f = malloc((size_t)k * sizeof(float));
        CHECK(sn_convert_to_f32(t->dtype, t->data, f, k) == 0, "convert %s", t->name);
        cJSON *e = cJSON_CreateObject(), *shape = cJSON_CreateArray();
        cJSON_AddStringToObject(e, "dtype", f16 ? "F16" : "F32");
        for (int d = 0; d < t->ndim; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
        cJSON_AddItemToObject(e, "shape", shape);
        cJSON *offs = cJSON_CreateArray();
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(p - data)));
        for (int64_t j = 0; j < k; j++) {
            uint16_t h = sn_f32_to_f16(f[j]);
            if (f16) {
                memcpy(p, &h, 2), p += 2;
            } else {
                float r = sn_f16_to_f32(h);
                memcpy(p, &r, 4), p += 4;
            }
        }
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(p - data)));
        cJSON_AddItemToObject(e, "data_offsets", offs);
        cJSON_AddItemToObject(hdr, t->name, e);
        free(f);
    }
    char *json = cJSON_PrintUnformatted(hdr);
    tu_write_safetensors(tu_path(dir, file), json, data, bytes);
    cJSON_free(json);
    cJSON_Delete(hdr);
    free(data);
}

static void copy_file(const char *from, const char *to) {
    FILE *f = fopen(from, "rb");
    CHECK(f != NULL, "open %s", from);
    if (!f) return;
    char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    tu_write_file(to, buf, n);
}

/* One forward of the model in dir on fixed inputs (B 2, 3x5 latent, T 6). */
static void run(const char *dir, const char *variant, float *out_host) {
    sn_dit *dit = NULL;
    CHECK_OK(sn_dit_load(be, dir, variant, &dit));
    if (!dit) return;
    sn_tensor emb, lat, out;
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 3, SN_SHAPE(2, 6, 16), &emb));
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(2, 32, 3, 5), &lat));
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(2, 32, 3, 5), &out));
    tu_fill_random(emb.data, (size_t)sn_numel(&emb), 41);
    tu_fill_random(lat.data, (size_t)sn_numel(&lat), 42);
    float mask[12] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0}, t[2] = {999.0f, 321.0f};
    sn_dit_text *text = NULL;
    CHECK_OK(sn_dit_prepare_text(dit, &emb, mask, &text));
    if (text) CHECK_OK(sn_dit_forward(dit, text, &lat, t, NULL, NULL, &out));
    CHECK_OK(sn_download_f32(&out, out_host));
    sn_dit_text_free(text);
    sn_tensor_free(&emb), sn_tensor_free(&lat), sn_tensor_free(&out);
    sn_dit_free(dit);
}

int main(void) {
    const char *src_dir = tu_path(tu_fixtures_dir(), "sana_tiny/transformer");
    char src_path[4096];
    snprintf(src_path, sizeof src_path, "%s/diffusion_pytorch_model.safetensors", src_dir);
    sn_safetensors *st = NULL;
    if (sn_safetensors_open(src_path, &st) != SANA_OK) tu_skip("no sana_tiny fixture");
    CHECK_OK(sn_backend_cpu_create(0, &be));

    const char *tmp = tu_temp_dir();
    char d16[4096], d32[4096];
    snprintf(d16, sizeof d16, "%s/f16", tmp);
    snprintf(d32, sizeof d32, "%s/f32", tmp);
    mkdir(d16, 0755), mkdir(d32, 0755);
    write_rounded(st, d16, "diffusion_pytorch_model.fp16.safetensors", 1);
    write_rounded(st, d32, "diffusion_pytorch_model.safetensors", 0);
    sn_safetensors_close(st);
    copy_file(tu_path(src_dir, "config.json"), tu_path(d16, "config.json"));
    copy_file(tu_path(src_dir, "config.json"), tu_path(d32, "config.json"));

    size_t n = 2 * 32 * 3 * 5;
    float *a = calloc(n, 4), *b = calloc(n, 4), *c = calloc(n, 4);
    run(d16, "fp16", a);
    run(d32, NULL, b);
    run(src_dir, NULL, c);
    tu_check_close("fp16 on disk == fp16-rounded fp32 on disk", a, b, n, 0.0);
    /* fp16 rounding of the weights (2^-11 relative) moves the output a little if at all (the
     * oracle stores values already rounded through a 16-bit type) */
    tu_check_close("fp16 weights vs fp32 weights", a, c, n, 2e-2);
    free(a), free(b), free(c);
    sn_backend_free(be);
    return tu_finish("test_dit_dtype");
}
