/* safetensors reader: a good file read back exactly, and every kind of bad file refused with
 * SANA_ERR_FORMAT (or NOT_FOUND) and a message naming the file and the tensor. */
#include <stdlib.h>
#include <string.h>

#include "core/dtype.h"
#include "harness.h"
#include "io/safetensors.h"

static const char *dir;

/* Opens a file that must fail with `code`; the message must contain `want1` and `want2`. */
static void expect_bad(const char *file, sana_status code, const char *want1, const char *want2) {
    sn_safetensors *st = (sn_safetensors *)1;
    CHECK_STATUS(sn_safetensors_open(file, &st), code);
    CHECK(st == NULL, "%s: out not cleared on failure", file);
    const char *msg = tu_last_error();
    CHECK(strstr(msg, file) != NULL, "message does not name the file: %s", msg);
    if (want1) CHECK(strstr(msg, want1) != NULL, "message lacks '%s': %s", want1, msg);
    if (want2) CHECK(strstr(msg, want2) != NULL, "message lacks '%s': %s", want2, msg);
    printf("  %s\n", msg);
}

/* Writes header + data as `name` and expects it refused. */
static void bad_header(const char *name, const char *header, size_t data_len, const char *want1,
                       const char *want2) {
    static unsigned char zeros[256];
    const char *path = tu_path(dir, name);
    tu_write_safetensors(path, header, zeros, data_len);
    expect_bad(path, SANA_ERR_FORMAT, want1, want2);
}

static void test_good_file(void) {
    /* F32 [2,3] | F16 [4] | BF16 [2,2] | I64 [3] | F64 [1] | U8 [] (scalar) | F32 [0,5] */
    unsigned char data[24 + 8 + 8 + 24 + 8 + 1];
    float f32[6] = {1.5f, -2.0f, 3.25f, 0.0f, 1e-3f, -7.0f};
    uint16_t f16[4], bf16[4];
    float f16v[4] = {0.5f, -1.0f, 65504.0f, 6.1035156e-05f};
    float bf16v[4] = {1.0f, -3.0f, 256.0f, 0.15625f};
    for (int i = 0; i < 4; i++) f16[i] = sn_f32_to_f16(f16v[i]), bf16[i] = sn_f32_to_bf16(bf16v[i]);
    int64_t i64[3] = {-1, 0, 1234567890123};
    double f64 = 2.718281828459045;
    memcpy(data, f32, 24);
    memcpy(data + 24, f16, 8);
    memcpy(data + 32, bf16, 8);
    memcpy(data + 40, i64, 24);
    memcpy(data + 64, &f64, 8);
    data[72] = 200;
    const char *hdr =
        "{\"__metadata__\":{\"format\":\"pt\"},"
        "\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
        "\"h\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[24,32]},"
        "\"b\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[32,40]},"
        "\"ids\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[40,64]},"
        "\"d\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[64,72]},"
        "\"s\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[72,73]},"
        "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[73,73]}}";
    const char *path = tu_path(dir, "good.safetensors");
    tu_write_safetensors(path, hdr, data, sizeof data);
    sn_safetensors *st = NULL;
    CHECK_OK(sn_safetensors_open(path, &st));
    if (!st) return;
    CHECK(sn_safetensors_count(st) == 7, "count %zu", sn_safetensors_count(st));
    CHECK(strcmp(sn_safetensors_at(st, 0)->name, "w") == 0, "header order kept");
    const char *fmt = sn_safetensors_metadata(st, "format");
    CHECK(fmt && strcmp(fmt, "pt") == 0, "metadata format");
    CHECK(sn_safetensors_metadata(st, "nope") == NULL, "absent metadata key");

    const sn_st_tensor *t = sn_safetensors_find(st, "w");
    CHECK(t && t->dtype == SN_F32 && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3 &&
              t->nbytes == 24 && sn_st_numel(t) == 6 && strcmp(t->file, path) == 0,
          "w header");
    if (t) CHECK(memcmp(t->data, f32, 24) == 0, "w data");

    float got[4];
    t = sn_safetensors_find(st, "h");
    CHECK(t && t->dtype == SN_F16 && sn_st_numel(t) == 4, "h header");
    if (t) {
        uint16_t raw[4];
        memcpy(raw, t->data, 8);
        sn_convert_to_f32(SN_F16, raw, got, 4);
        CHECK(memcmp(got, f16v, 16) == 0, "f16 values %g %g %g %g", got[0], got[1], got[2], got[3]);
    }
    t = sn_safetensors_find(st, "b");
    CHECK(t && t->dtype == SN_BF16 && t->ndim == 2, "b header");
    if (t) {
        uint16_t raw[4];
        memcpy(raw, t->data, 8);
        sn_convert_to_f32(SN_BF16, raw, got, 4);
        CHECK(memcmp(got, bf16v, 16) == 0, "bf16 values");
    }
    t = sn_safetensors_find(st, "ids");
    if (t) {
        int64_t v[3];
        memcpy(v, t->data, 24);
        CHECK(t->dtype == SN_I64 && v[0] == -1 && v[2] == 1234567890123, "i64 values");
    }
    t = sn_safetensors_find(st, "d");
    CHECK(t && t->dtype == SN_F64, "d dtype");
    t = sn_safetensors_find(st, "s");
    CHECK(t && t->ndim == 0 && sn_st_numel(t) == 1 && ((const uint8_t *)t->data)[0] == 200,
          "scalar u8");
    t = sn_safetensors_find(st, "empty");
    CHECK(t && sn_st_numel(t) == 0 && t->nbytes == 0, "zero-size tensor");
    CHECK(sn_safetensors_find(st, "missing") == NULL, "missing tensor gives NULL");
    CHECK(sn_safetensors_at(st, 7) == NULL, "at() past the end gives NULL");
    sn_safetensors_close(st);

    /* the golden reader of the harness converts the same file */
    tu_tensor g;
    CHECK(tu_read_tensor(path, "b", &g) == 0 && g.f && g.n == 4 && g.f[2] == 256.0f,
          "tu_read_tensor bf16");
    tu_tensor_free(&g);
    CHECK(tu_read_tensor(path, "ids", &g) == 0 && g.i && g.i[2] == 1234567890123, "tu_read i64");
    tu_tensor_free(&g);
    CHECK(tu_read_tensor(path, "s", &g) == 0 && g.text && (unsigned char)g.text[0] == 200 &&
              g.text[1] == '\0',
          "tu_read u8 text");
    tu_tensor_free(&g);

    /* an empty header object is a valid file with no tensors */
    path = tu_path(dir, "empty.safetensors");
    tu_write_safetensors(path, "{}", NULL, 0);
    CHECK_OK(sn_safetensors_open(path, &st));
    CHECK(st && sn_safetensors_count(st) == 0, "no tensors");
    sn_safetensors_close(st);
}

static void test_bad_files(void) {
    /* missing file */
    expect_bad(tu_path(dir, "nothere.safetensors"), SANA_ERR_NOT_FOUND, "cannot open", NULL);

    /* shorter than the 8-byte length */
    const char *p = tu_path(dir, "short.safetensors");
    tu_write_file(p, "\x10\x00\x00", 3);
    expect_bad(p, SANA_ERR_FORMAT, "too short", NULL);

    /* header length pointing past the end */
    p = tu_path(dir, "hlen_past_end.safetensors");
    unsigned char b[16] = {0xff, 0xff, 0, 0, 0, 0, 0, 0, '{', '}'};
    tu_write_file(p, b, 10);
    expect_bad(p, SANA_ERR_FORMAT, "past the end", NULL);
    b[7] = 0x80; /* 2^63 + ...: no overflow in the bound check */
    tu_write_file(p, b, 10);
    expect_bad(p, SANA_ERR_FORMAT, "past the end", NULL);

    /* truncated: a good file cut inside its data section */
    p = tu_path(dir, "truncated.safetensors");
    float v[8] = {0};
    const char *hdr = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                      "\"big\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[8,32]}}";
    tu_write_safetensors(p, hdr, v, 20);
    expect_bad(p, SANA_ERR_FORMAT, "'big'", "outside the data section");

    /* a file cut inside its header */
    p = tu_path(dir, "cut_header.safetensors");
    tu_write_safetensors(p, hdr, v, 32);
    {
        FILE *f = fopen(p, "rb");
        unsigned char buf[64];
        size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
        if (f) fclose(f);
        tu_write_file(p, buf, n < 40 ? n : 40);
    }
    expect_bad(p, SANA_ERR_FORMAT, "past the end", NULL);

    bad_header("offsets_past_end.safetensors",
               "{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 16, "'x'",
               "outside");
    bad_header("begin_after_end.safetensors",
               "{\"x\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 16, "'x'",
               "outside");
    bad_header("overlap.safetensors",
               "{\"p\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
               "\"q\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[12,28]}}",
               32, "overlap", "'q'");
    bad_header("size_mismatch.safetensors",
               "{\"m\":{\"dtype\":\"F16\",\"shape\":[3,3],\"data_offsets\":[0,16]}}", 16, "'m'",
               "need 18");
    bad_header("unknown_dtype.safetensors",
               "{\"u\":{\"dtype\":\"F8_E4M3\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4, "'u'",
               "unknown dtype \"F8_E4M3\"");
    bad_header("negative_dim.safetensors",
               "{\"n\":{\"dtype\":\"F32\",\"shape\":[-1,4],\"data_offsets\":[0,16]}}", 16, "'n'",
               "shape[0]");
    bad_header("fraction_dim.safetensors",
               "{\"n\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 16, "'n'",
               "shape[0]");
    bad_header("overflow_dims.safetensors",
               "{\"o\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],"
               "\"data_offsets\":[0,16]}}",
               16, "'o'", "overflow");
    bad_header("too_many_dims.safetensors",
               "{\"o\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}",
               16, "'o'", "dimensions");
    bad_header("no_dtype.safetensors", "{\"z\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "'z'",
               "dtype");
    bad_header("no_shape.safetensors", "{\"z\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4,
               "'z'", "shape");
    bad_header("no_offsets.safetensors", "{\"z\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "'z'",
               "data_offsets");
    bad_header("bad_offsets.safetensors",
               "{\"z\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, "'z'",
               "data_offsets");
    bad_header("entry_not_object.safetensors", "{\"z\":[1,2]}", 4, "'z'", "not a JSON object");
    bad_header("duplicate.safetensors",
               "{\"d\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
               "\"d\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
               4, "'d'", "twice");
    bad_header("not_json.safetensors", "{\"a\": nope", 4, "not valid JSON", NULL);
    bad_header("trailing_garbage.safetensors", "{} xx", 0, "not valid JSON", NULL);
    bad_header("array_header.safetensors", "[1, 2, 3]", 0, "not a JSON object", NULL);
    bad_header("bad_metadata.safetensors", "{\"__metadata__\":{\"k\":3}}", 0, "__metadata__",
               NULL);

    /* garbage: random bytes whose first 8 make a huge length */
    p = tu_path(dir, "garbage.safetensors");
    unsigned char g[100];
    for (int i = 0; i < 100; i++) g[i] = (unsigned char)(i * 97 + 13);
    tu_write_file(p, g, sizeof g);
    expect_bad(p, SANA_ERR_FORMAT, "header length", NULL);

    /* a folder is not a file */
    expect_bad(dir, SANA_ERR_IO, "not a regular file", NULL);
}

/* Thousands of mutated copies of a good file: each must open cleanly or fail with
 * SANA_ERR_FORMAT, never crash or read outside the file (the sanitizer build checks that). */
static void test_mutations(void) {
    float v[12];
    for (int i = 0; i < 12; i++) v[i] = (float)i;
    const char *hdr = "{\"__metadata__\":{\"format\":\"pt\"},"
                      "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                      "\"b\":{\"dtype\":\"F16\",\"shape\":[12],\"data_offsets\":[24,48]}}";
    const char *good = tu_path(dir, "mut_src.safetensors");
    tu_write_safetensors(good, hdr, v, 48);
    FILE *f = fopen(good, "rb");
    unsigned char src[512], buf[512];
    size_t n = f ? fread(src, 1, sizeof src, f) : 0;
    if (f) fclose(f);
    const char *path = tu_path(dir, "mutant.safetensors");
    uint64_t r = 0x9e3779b97f4a7c15ull;
    int ok = 0, bad = 0, other = 0;
    const char alphabet[] = "{}[]\",:0123456789-eE.FIBU \x00\xff";
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(buf, src, n);
        size_t len = n;
        int edits = 1 + iter % 4;
        for (int e = 0; e < edits; e++) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            size_t at = (size_t)(r >> 8) % len;
            if (at < 8 && iter % 3) at += 8; /* mostly the header text */
            buf[at] = (r & 1) ? (unsigned char)(r >> 40) : (unsigned char)alphabet[(r >> 32) % (sizeof alphabet - 1)];
        }
        if (iter % 10 == 0) len = (size_t)(r >> 20) % n; /* and some truncations */
        tu_write_file(path, buf, len);
        sn_safetensors *st = NULL;
        sana_status s = sn_safetensors_open(path, &st);
        if (s == SANA_OK) {
            ok++;
            /* whatever it says must lie inside the mapping */
            for (size_t i = 0; i < sn_safetensors_count(st); i++) {
                const sn_st_tensor *t = sn_safetensors_at(st, i);
                volatile unsigned char sum = 0;
                for (size_t k = 0; k < t->nbytes; k++) sum += ((const unsigned char *)t->data)[k];
                (void)sum;
            }
            sn_safetensors_close(st);
        } else if (s == SANA_ERR_FORMAT && strstr(tu_last_error(), path)) {
            bad++;
        } else {
            other++;
            fprintf(stderr, "mutation %d: %s: %s\n", iter, sana_status_string(s), tu_last_error());
        }
    }
    CHECK(other == 0, "%d mutations gave another status or a message without the file", other);
    CHECK(bad > 1000, "most mutations are refused (%d)", bad);
    printf("  3000 mutations: %d opened, %d refused with SANA_ERR_FORMAT\n", ok, bad);
}

int main(void) {
    dir = tu_temp_dir();
    test_good_file();
    test_bad_files();
    test_mutations();
    return tu_finish("test_io_safetensors");
}
