/* config.json getters: values, defaults for missing or null keys, and SANA_ERR_FORMAT naming
 * the key and the file for wrong types and corrupt JSON. */
#include <math.h>
#include <string.h>

#include "harness.h"
#include "io/config.h"

static const char *dir;

/* The last error must name both `a` and `b`. */
static void expect_msg(const char *a, const char *b) {
    const char *m = tu_last_error();
    CHECK(strstr(m, a) != NULL, "message lacks '%s': %s", a, m);
    if (b) CHECK(strstr(m, b) != NULL, "message lacks '%s': %s", b, m);
    printf("  %s\n", m);
}

static void test_values(void) {
    const char *path = tu_path(dir, "config.json");
    const char *text = "{\n"
                       "  \"_class_name\": \"SanaTransformer2DModel\",\n"
                       "  \"num_layers\": 28,\n"
                       "  \"norm_eps\": 1e-06,\n"
                       "  \"whole_float\": 2.0,\n"
                       "  \"qk_norm\": null,\n"
                       "  \"use_pe\": false,\n"
                       "  \"block_out_channels\": [128, 256, 512],\n"
                       "  \"scale\": 0.5,\n"
                       "  \"types\": [\"ResBlock\", \"EfficientViTBlock\"],\n"
                       "  \"one_type\": \"ResBlock\",\n"
                       "  \"big\": 12345678901234\n"
                       "}\n";
    tu_write_file(path, text, strlen(text));
    sn_config *c = NULL;
    CHECK_OK(sn_config_load(path, &c));
    if (!c) return;
    CHECK(strcmp(sn_config_path(c), path) == 0, "path kept");
    int64_t i;
    double f;
    int b;
    const char *s;
    CHECK_OK(sn_config_int(c, "num_layers", -1, &i));
    CHECK(i == 28, "num_layers %lld", (long long)i);
    CHECK_OK(sn_config_int(c, "big", -1, &i));
    CHECK(i == 12345678901234LL, "big %lld", (long long)i);
    CHECK_OK(sn_config_int(c, "whole_float", -1, &i)); /* 2.0 is an integer value */
    CHECK(i == 2, "2.0 as int");
    CHECK_OK(sn_config_int(c, "missing", 7, &i));
    CHECK(i == 7, "default int");
    CHECK_OK(sn_config_int(c, "qk_norm", 9, &i)); /* null takes the default */
    CHECK(i == 9, "null -> default");
    CHECK_OK(sn_config_float(c, "norm_eps", 0.5, &f));
    CHECK(f == 1e-06, "norm_eps %g", f);
    CHECK_OK(sn_config_float(c, "num_layers", 0.5, &f)); /* an integer is a number */
    CHECK(f == 28.0, "int as float");
    CHECK_OK(sn_config_float(c, "missing", 0.25, &f));
    CHECK(f == 0.25, "default float");
    CHECK_OK(sn_config_bool(c, "use_pe", 1, &b));
    CHECK(b == 0, "use_pe");
    CHECK_OK(sn_config_bool(c, "missing", 1, &b));
    CHECK(b == 1, "default bool");
    CHECK_OK(sn_config_string(c, "_class_name", NULL, &s));
    CHECK(s && strcmp(s, "SanaTransformer2DModel") == 0, "class");
    CHECK_OK(sn_config_string(c, "missing", "dflt", &s));
    CHECK(s && strcmp(s, "dflt") == 0, "default string");
    CHECK(sn_config_has(c, "num_layers") && !sn_config_has(c, "qk_norm") &&
              !sn_config_has(c, "missing"),
          "has");

    int64_t arr[4];
    double farr[4];
    const char *sarr[4];
    int32_t n = -1;
    CHECK_OK(sn_config_int_array(c, "block_out_channels", arr, 4, &n));
    CHECK(n == 3 && arr[0] == 128 && arr[2] == 512, "int array n=%d", n);
    CHECK_OK(sn_config_int_array(c, "num_layers", arr, 4, &n));
    CHECK(n == 1 && arr[0] == 28, "scalar as array of one");
    CHECK_OK(sn_config_int_array(c, "missing", arr, 4, &n));
    CHECK(n == 0, "missing array n=0");
    CHECK_OK(sn_config_float_array(c, "block_out_channels", farr, 4, &n));
    CHECK(n == 3 && farr[1] == 256.0, "float array");
    CHECK_OK(sn_config_string_array(c, "types", sarr, 4, &n));
    CHECK(n == 2 && strcmp(sarr[1], "EfficientViTBlock") == 0, "string array");
    CHECK_OK(sn_config_string_array(c, "one_type", sarr, 4, &n));
    CHECK(n == 1 && strcmp(sarr[0], "ResBlock") == 0, "string as array of one");

    /* wrong types */
    CHECK_STATUS(sn_config_int(c, "norm_eps", 0, &i), SANA_ERR_FORMAT);
    expect_msg("\"norm_eps\"", path);
    CHECK_STATUS(sn_config_int(c, "_class_name", 0, &i), SANA_ERR_FORMAT);
    expect_msg("\"_class_name\"", "integer");
    CHECK_STATUS(sn_config_float(c, "types", 0, &f), SANA_ERR_FORMAT);
    expect_msg("\"types\"", path);
    CHECK_STATUS(sn_config_bool(c, "num_layers", 0, &b), SANA_ERR_FORMAT);
    expect_msg("\"num_layers\"", "true or false");
    CHECK_STATUS(sn_config_string(c, "use_pe", "", &s), SANA_ERR_FORMAT);
    expect_msg("\"use_pe\"", "string");
    CHECK_STATUS(sn_config_int_array(c, "types", arr, 4, &n), SANA_ERR_FORMAT);
    expect_msg("\"types\"", path);
    CHECK_STATUS(sn_config_int_array(c, "block_out_channels", arr, 2, &n), SANA_ERR_FORMAT);
    expect_msg("\"block_out_channels\"", "at most 2");
    CHECK_STATUS(sn_config_string_array(c, "block_out_channels", sarr, 4, &n), SANA_ERR_FORMAT);
    expect_msg("\"block_out_channels\"", path);
    sn_config_free(c);
}

static void test_bad_json(void) {
    sn_config *c = (sn_config *)1;
    const char *path = tu_path(dir, "corrupt.json");
    const char *text = "{\n  \"a\": 1,\n  \"b\": [1, 2\n}\n";
    tu_write_file(path, text, strlen(text));
    CHECK_STATUS(sn_config_load(path, &c), SANA_ERR_FORMAT);
    CHECK(c == NULL, "out cleared");
    expect_msg(path, "invalid JSON");

    path = tu_path(dir, "trailing.json");
    tu_write_file(path, "{} {}", 5);
    CHECK_STATUS(sn_config_load(path, &c), SANA_ERR_FORMAT);
    expect_msg(path, "invalid JSON");

    path = tu_path(dir, "array.json");
    tu_write_file(path, "[1, 2]", 6);
    CHECK_STATUS(sn_config_load(path, &c), SANA_ERR_FORMAT);
    expect_msg(path, "not a JSON object");

    path = tu_path(dir, "empty.json");
    tu_write_file(path, "", 0);
    CHECK_STATUS(sn_config_load(path, &c), SANA_ERR_FORMAT);
    expect_msg(path, "invalid JSON");

    path = tu_path(dir, "binary.json");
    tu_write_file(path, "\x89PNG\r\n\x1a\n\0\0", 10);
    CHECK_STATUS(sn_config_load(path, &c), SANA_ERR_FORMAT);
    expect_msg(path, "invalid JSON");

    path = tu_path(dir, "missing.json");
    CHECK_STATUS(sn_config_load(path, &c), SANA_ERR_NOT_FOUND);
    expect_msg(path, "cannot open");

    CHECK_STATUS(sn_config_load(dir, &c), SANA_ERR_IO); /* a folder */
    expect_msg(dir, "folder");

    /* in-memory text, named in errors by its origin; whitespace after the object is fine */
    const char *mem = "{\"k\": \"v\"}\n\n  ";
    CHECK_OK(sn_config_parse(mem, strlen(mem), "memory", &c));
    const char *s = NULL;
    if (c) CHECK_OK(sn_config_string(c, "k", NULL, &s));
    CHECK(s && strcmp(s, "v") == 0, "parsed from memory");
    sn_config_free(c);
    CHECK_STATUS(sn_config_parse("{\"k\": tru}", 10, "memory-text", &c), SANA_ERR_FORMAT);
    expect_msg("memory-text", NULL);
    /* Python's json literals (diffusers writes "lambda_min_clipped": -Infinity) */
    const char *py = "{\"lambda_min_clipped\": -Infinity, \"hi\": Infinity, \"nan\": NaN,\n"
                     " \"s\": \"NaN and Infinity \\\" stay\", \"flow_shift\": 3.0}";
    CHECK_OK(sn_config_parse(py, strlen(py), "scheduler_config.json", &c));
    if (c) {
        double f = 0;
        CHECK_OK(sn_config_float(c, "lambda_min_clipped", 0, &f));
        CHECK(isinf(f) && f < 0, "-Infinity -> %g", f);
        CHECK_OK(sn_config_float(c, "hi", 0, &f));
        CHECK(isinf(f) && f > 0, "Infinity -> %g", f);
        CHECK_OK(sn_config_float(c, "nan", 1.5, &f));
        CHECK(f == 1.5, "NaN -> the default, got %g", f);
        CHECK_OK(sn_config_float(c, "flow_shift", 0, &f));
        CHECK(f == 3.0, "flow_shift after the literals");
        int64_t i;
        CHECK_STATUS(sn_config_int(c, "hi", 0, &i), SANA_ERR_FORMAT);
        CHECK_OK(sn_config_string(c, "s", NULL, &s));
        CHECK(s && strcmp(s, "NaN and Infinity \" stay") == 0, "strings untouched: %s", s);
    }
    sn_config_free(c);
    CHECK_STATUS(sn_config_parse("{\"a\": Inf}", 10, "bare-inf", &c), SANA_ERR_FORMAT);
    expect_msg("bare-inf", "invalid JSON");

    /* len bounds the text: a NUL-less prefix of a longer string */
    CHECK_OK(sn_config_parse("{\"a\":1}garbage", 7, "prefix", &c));
    sn_config_free(c);
}

int main(void) {
    dir = tu_temp_dir();
    test_values();
    test_bad_json();
    return tu_finish("test_io_config");
}
