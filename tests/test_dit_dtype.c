/* Weights stored as fp16 on disk (the ".fp16" variant file name of the diffusers layout) load and
 * run: the sana_tiny transformer is rewritten here as F16 (variant file) and as F32 holding the
 * same fp16-rounded values; both must give bit-identical outputs, and stay close to the original
 * fp32 model. (bf16 on disk is covered by the sana15_qknorm golden case.)
 *
 * The GEMM matrices read in place on the CPU (sn_weights_mapf): the fp32 sana_3blocks variant is
 * rewritten as BF16 and as F16, and each is loaded twice, in place and, with the backend's
 * host_weights cleared, converted to fp32 copies at load as before; the two forwards must agree,
 * every matrix must be a view of the file's mapping in its dtype (not a copy), and the model's
 * weight bytes must say so. */
#define _DEFAULT_SOURCE /* realpath */
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend/backend.h"
#include "core/dtype.h"
#include "dit/dit.h"
#include "dit/dit_internal.h"
#include "harness.h"
#include "io/safetensors.h"

static sn_backend *be;

/* Writes every tensor of `src` into dir/file as `dtype` (F32, F16 or BF16), its values rounded
 * through `round` (F16 or BF16) first: an F32 file holds the rounded values. */
static void write_rounded(const sn_safetensors *src, const char *dir, const char *file, sn_dtype dtype,
                          sn_dtype round) {
    const size_t es = sn_dtype_size(dtype);
    size_t n = sn_safetensors_count(src), bytes = 0;
    for (size_t i = 0; i < n; i++) bytes += (size_t)sn_st_numel(sn_safetensors_at(src, i)) * es;
    unsigned char *data = malloc(bytes), *p = data;
    cJSON *hdr = cJSON_CreateObject();
    for (size_t i = 0; i < n; i++) {
        const sn_st_tensor *t = sn_safetensors_at(src, i);
        int64_t k = sn_st_numel(t);
        float *f = malloc((size_t)k * sizeof(float));
        CHECK(sn_convert_to_f32(t->dtype, t->data, f, k) == 0, "convert %s", t->name);
        cJSON *e = cJSON_CreateObject(), *shape = cJSON_CreateArray();
        cJSON_AddStringToObject(e, "dtype", dtype == SN_F32 ? "F32" : dtype == SN_F16 ? "F16" : "BF16");
        for (int d = 0; d < t->ndim; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
        cJSON_AddItemToObject(e, "shape", shape);
        cJSON *offs = cJSON_CreateArray();
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(p - data)));
        for (int64_t j = 0; j < k; j++) {
            uint16_t h = round == SN_F16 ? sn_f32_to_f16(f[j]) : sn_f32_to_bf16(f[j]);
            if (dtype != SN_F32) {
                memcpy(p, &h, 2), p += 2;
            } else {
                float r = round == SN_F16 ? sn_f16_to_f32(h) : sn_bf16_to_f32(h);
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

/* A model folder <temp>/sub (its path into out): `src` written as `file` (write_rounded) and
 * cfg_dir's config.json. */
static void write_model(const sn_safetensors *src, const char *cfg_dir, const char *sub, const char *file,
                        sn_dtype dtype, sn_dtype round, char *out, size_t cap) {
    snprintf(out, cap, "%s/%s", tu_temp_dir(), sub);
    mkdir(out, 0755);
    write_rounded(src, out, file, dtype, round);
    copy_file(tu_path(cfg_dir, "config.json"), tu_path(out, "config.json"));
}

/* One forward of `dit` on fixed inputs (B 2, 3x5 latent, T 6). */
static void forward(const sn_dit *dit, float *out_host) {
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
}

/* The same, loading the model in dir first. */
static void run(const char *dir, const char *variant, float *out_host) {
    sn_dit *dit = NULL;
    CHECK_OK(sn_dit_load(be, dir, variant, &dit));
    if (dit) forward(dit, out_host);
    sn_dit_free(dit);
}

/* --- the matrices read in place ---------------------------------------------------------------- */

/* Whether [p, p + n) lies in one mapping of the file `path` (n = 0: whether the file is mapped
 * anywhere), from /proc/self/maps. */
static int in_file_mapping(const void *p, size_t n, const char *path) {
    char want[PATH_MAX], line[PATH_MAX + 128];
    if (!realpath(path, want)) return 0;
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return 0;
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        unsigned long long a, b;
        int at = 0;
        if (sscanf(line, "%llx-%llx %*s %*s %*s %*s %n", &a, &b, &at) != 2 || !at) continue;
        char *name = line + at;
        name[strcspn(name, "\n")] = 0;
        if (strcmp(name, want)) continue;
        uintptr_t lo = (uintptr_t)p, hi = lo + n;
        found = n == 0 || (lo >= a && hi <= b);
    }
    fclose(f);
    return found;
}

/* The GEMM matrices of `dit` (every weight that only sn_linear reads). */
static int gemm_tensors(const sn_dit *dit, const sn_tensor **t) {
    int k = 0;
    t[k++] = &dit->t_mlp.l1, t[k++] = &dit->t_mlp.l2, t[k++] = &dit->t_lin;
    if (dit->cfg.guidance_embeds) t[k++] = &dit->g_mlp.l1, t[k++] = &dit->g_mlp.l2;
    t[k++] = &dit->cap1, t[k++] = &dit->cap2, t[k++] = &dit->proj;
    for (int i = 0; i < dit->cfg.num_layers; i++) {
        const sn_dit_block *b = &dit->blocks[i];
        const sn_tensor *m[10] = {&b->q1, &b->k1, &b->v1, &b->o1, &b->q2, &b->k2, &b->v2, &b->o2, &b->ff_in, &b->ff_out};
        for (int j = 0; j < 10; j++) t[k++] = m[j];
    }
    return k;
}

static int ends_with(const char *s, const char *tail) {
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && !strcmp(s + a - b, tail);
}

/* Elements of the tensors of `st` that are GEMM matrices, by their diffusers names; *all: every
 * element. */
static int64_t gemm_numel(const sn_safetensors *st, int64_t *all) {
    static const char *tails[] = {".to_q.weight", ".to_k.weight", ".to_v.weight", ".to_out.0.weight",
                                  ".conv_inverted.weight", ".conv_point.weight", ".linear_1.weight",
                                  ".linear_2.weight", "time_embed.linear.weight", "proj_out.weight"};
    int64_t g = 0;
    *all = 0;
    for (size_t i = 0; i < sn_safetensors_count(st); i++) {
        const sn_st_tensor *t = sn_safetensors_at(st, i);
        *all += sn_st_numel(t);
        for (size_t j = 0; j < sizeof tails / sizeof *tails; j++)
            if (ends_with(t->name, tails[j])) {
                g += sn_st_numel(t);
                break;
            }
    }
    return g;
}

/* Agreement of the in-place and the converted forward. Both multiply the same fp32 weight values
 * (a 16-bit value widens exactly); they differ only in how linear splits the work: 256-row
 * blocks converted into a buffer, one single-threaded sgemm each, against one threaded sgemm over
 * the fp32 copy. */
#define INPLACE_TOL 1e-6

/* Loads dir/file (`dtype` on disk) in place and converted, checks what each holds, and leaves the
 * in-place forward in out. `gemm` and `all`: the element counts the file should give. */
static void check_in_place(const char *dir, const char *file, const char *variant, sn_dtype dtype, int64_t gemm,
                           int64_t all, size_t n, float *out) {
    const char *path = tu_path(dir, file), *dn = sn_dtype_name(dtype);
    const size_t es = sn_dtype_size(dtype);
    float *conv = calloc(n, sizeof(float));
    const sn_tensor *t[256];

    /* in place: every matrix a view of the mapping in the file's dtype, the rest fp32 copies */
    sn_dit *dit = NULL;
    CHECK_OK(sn_dit_load(be, dir, variant, &dit));
    if (!dit) return;
    int64_t mapped = -1, owned = sn_dit_weight_bytes(dit, &mapped);
    CHECK(mapped == gemm * (int64_t)es && owned == (all - gemm) * 4,
          "%s: %lld bytes mapped, %lld owned; want %lld, %lld", dn, (long long)mapped, (long long)owned,
          (long long)(gemm * (int64_t)es), (long long)((all - gemm) * 4));
    int k = gemm_tensors(dit, t), views = 0;
    for (int i = 0; i < k; i++)
        views += t[i]->be == NULL && t[i]->dtype == dtype &&
                 in_file_mapping(t[i]->data, (size_t)sn_numel(t[i]) * es, path);
    CHECK(views == k, "%s: %d of %d matrices are views of %s", dn, views, k, path);
    CHECK(dit->pe_w.be != NULL && dit->pe_w.dtype == SN_F32 && dit->blocks[0].ff_dw.be != NULL &&
              dit->blocks[0].table.dtype == SN_F32 && dit->blocks[0].o1b.dtype == SN_F32,
          "%s: the patch embedding, depthwise conv, tables and biases are fp32 copies", dn);
    forward(dit, out);
    sn_dit_free(dit);
    CHECK(!in_file_mapping(NULL, 0, path), "%s: the file is unmapped once the model is freed", dn);

    /* converted at load, as before (and as on a backend without host_weights) */
    be->host_weights = 0;
    dit = NULL;
    CHECK_OK(sn_dit_load(be, dir, variant, &dit));
    be->host_weights = 1;
    if (!dit) return;
    owned = sn_dit_weight_bytes(dit, &mapped);
    CHECK(mapped == 0 && owned == all * 4, "%s converted: %lld bytes mapped, %lld owned", dn, (long long)mapped,
          (long long)owned);
    k = gemm_tensors(dit, t), views = 0;
    for (int i = 0; i < k; i++) views += t[i]->be != NULL && t[i]->dtype == SN_F32;
    CHECK(views == k, "%s converted: %d of %d matrices are fp32 copies", dn, views, k);
    CHECK(!in_file_mapping(NULL, 0, path), "%s converted: the file is closed after the load", dn);
    forward(dit, conv);
    sn_dit_free(dit);

    char what[96];
    snprintf(what, sizeof what, "%s matrices in place == converted to fp32 at load", dn);
    tu_check_close(what, out, conv, n, INPLACE_TOL);
    free(conv);
}

int main(void) {
    const char *src_dir = tu_path(tu_fixtures_dir(), "sana_tiny/transformer");
    char src_path[4096];
    snprintf(src_path, sizeof src_path, "%s/diffusion_pytorch_model.safetensors", src_dir);
    sn_safetensors *st = NULL;
    if (sn_safetensors_open(src_path, &st) != SANA_OK) tu_skip("no sana_tiny fixture");
    CHECK_OK(sn_backend_cpu_create(0, &be));

    char d16[4096], d32[4096];
    write_model(st, src_dir, "f16", "diffusion_pytorch_model.fp16.safetensors", SN_F16, SN_F16, d16, sizeof d16);
    write_model(st, src_dir, "f32", "diffusion_pytorch_model.safetensors", SN_F32, SN_F16, d32, sizeof d32);
    sn_safetensors_close(st);

    size_t n = 2 * 32 * 3 * 5;
    float *a = calloc(n, 4), *b = calloc(n, 4), *c = calloc(n, 4);
    run(d16, "fp16", a);
    run(d32, NULL, b);
    run(src_dir, NULL, c);
    tu_check_close("fp16 on disk == fp16-rounded fp32 on disk", a, b, n, 0.0);
    /* fp16 rounding of the weights (2^-11 relative) moves the output a little if at all (the
     * oracle stores values already rounded through a 16-bit type) */
    tu_check_close("fp16 weights vs fp32 weights", a, c, n, 2e-2);

    /* the matrices read in place, from 16-bit copies of an fp32 model and from the model itself */
    char v_dir[2048];
    snprintf(v_dir, sizeof v_dir, "%s", tu_path(tu_fixtures_dir(), "variants/sana_3blocks"));
    snprintf(src_path, sizeof src_path, "%s/diffusion_pytorch_model.safetensors", v_dir);
    CHECK(be->host_weights == 1, "the CPU backend reads weights in place");
    if (sn_safetensors_open(src_path, &st) == SANA_OK) {
        int64_t all = 0, gemm = gemm_numel(st, &all);
        CHECK(gemm > 0 && gemm < all, "GEMM matrices: %lld of %lld values", (long long)gemm, (long long)all);
        char db[4096], dh[4096];
        write_model(st, v_dir, "bf16", "diffusion_pytorch_model.safetensors", SN_BF16, SN_BF16, db, sizeof db);
        write_model(st, v_dir, "inplace_f16", "diffusion_pytorch_model.fp16.safetensors", SN_F16, SN_F16, dh,
                    sizeof dh);
        sn_safetensors_close(st);
        check_in_place(db, "diffusion_pytorch_model.safetensors", NULL, SN_BF16, gemm, all, n, a);
        check_in_place(dh, "diffusion_pytorch_model.fp16.safetensors", "fp16", SN_F16, gemm, all, n, b);
        check_in_place(v_dir, "diffusion_pytorch_model.safetensors", NULL, SN_F32, gemm, all, n, c);
        /* the tolerance resolves the rounding: bf16 and fp16 weights give outputs further apart */
        double e = tu_rel_err(a, b, n);
        CHECK(e > 100 * INPLACE_TOL, "bf16 vs fp16 weights differ by %.3g, more than the in-place tolerance", e);
    } else {
        CHECK(0, "open %s", src_path);
    }
    free(a), free(b), free(c);
    sn_backend_free(be);
    return tu_finish("test_dit_dtype");
}
