/* The public image calls: create/free, accessors and NULL handling, argument checks with
 * sana_last_error() text, and PNG save/load through the API (parameters kept, same bytes twice,
 * unreadable files refused naming the file). Only the public header is used. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const char *dir;

static void expect_last(const char *a) {
    const char *m = sana_last_error();
    CHECK(m && strstr(m, a) != NULL, "sana_last_error() lacks '%s': %s", a, m ? m : "(null)");
}

static void test_create(void) {
    sana_image *im = NULL;
    CHECK_OK(sana_image_create(5, 3, 4, &im));
    CHECK(im && sana_image_width(im) == 5 && sana_image_height(im) == 3 &&
              sana_image_channels(im) == 4 && sana_image_stride(im) == 20,
          "accessors");
    CHECK(strcmp(sana_image_parameters(im), "") == 0, "no parameters yet");
    CHECK(sana_last_error()[0] == '\0', "no error after success: %s", sana_last_error());
    uint8_t *px = sana_image_pixels(im);
    int zero = px != NULL;
    for (int i = 0; zero && i < 60; i++) zero = px[i] == 0;
    CHECK(zero, "new image is zeroed");
    CHECK(sana_image_pixels_const(im) == px, "const pixels alias");
    sana_image_free(im);

    /* bad arguments: a status, *out NULL and a message saying which */
    im = (sana_image *)1;
    CHECK_STATUS(sana_image_create(4, 4, 2, &im), SANA_ERR_INVALID_ARGUMENT);
    CHECK(im == NULL, "out cleared");
    expect_last("channels");
    CHECK_STATUS(sana_image_create(0, 4, 3, &im), SANA_ERR_INVALID_ARGUMENT);
    expect_last("0x4");
    CHECK_STATUS(sana_image_create(70000, 4, 3, &im), SANA_ERR_INVALID_ARGUMENT);
    expect_last("out of range");
    CHECK_STATUS(sana_image_create(4, 4, 3, NULL), SANA_ERR_INVALID_ARGUMENT);
    expect_last("NULL");

    /* NULL handles are harmless */
    sana_image_free(NULL);
    CHECK(sana_image_width(NULL) == 0 && sana_image_height(NULL) == 0 &&
              sana_image_channels(NULL) == 0 && sana_image_stride(NULL) == 0 &&
              sana_image_pixels(NULL) == NULL && sana_image_pixels_const(NULL) == NULL,
          "NULL accessors");
    CHECK(sana_image_parameters(NULL) && sana_image_parameters(NULL)[0] == '\0', "NULL params");
    CHECK(sana_status_string(SANA_ERR_FORMAT) && sana_status_string((sana_status)1234),
          "status strings never NULL");
}

static unsigned char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *b = malloc(1 << 16);
    *n = b ? fread(b, 1, 1 << 16, f) : 0;
    fclose(f);
    return b;
}

static void test_png(void) {
    for (uint32_t ch = 3; ch <= 4; ch++) {
        sana_image *im = NULL;
        CHECK_OK(sana_image_create(9, 6, ch, &im));
        if (!im) continue;
        uint8_t *px = sana_image_pixels(im);
        for (size_t i = 0; i < sana_image_stride(im) * 6; i++) px[i] = (uint8_t)(i * 37 + ch);
        char name[32];
        snprintf(name, sizeof name, "api_%u.png", ch);
        const char *path = tu_path(dir, name);
        const char *params = "a lighthouse, seed 7, 20 steps, cfg 4.5";
        CHECK_OK(sana_image_save_png(im, path, params));
        size_t n1 = 0, n2 = 0;
        unsigned char *b1 = read_all(path, &n1);
        CHECK_OK(sana_image_save_png(im, path, params));
        unsigned char *b2 = read_all(path, &n2);
        CHECK(b1 && b2 && n1 == n2 && n1 > 0 && memcmp(b1, b2, n1) == 0, "same bytes twice");
        free(b1);
        free(b2);

        sana_image *back = NULL;
        CHECK_OK(sana_image_load_png(path, &back));
        CHECK(back && sana_image_width(back) == 9 && sana_image_height(back) == 6 &&
                  sana_image_channels(back) == ch,
              "loaded header");
        if (back) {
            CHECK(memcmp(sana_image_pixels_const(back), px, sana_image_stride(im) * 6) == 0,
                  "pixels survive (%u channels)", ch);
            CHECK(strcmp(sana_image_parameters(back), params) == 0, "parameters '%s'",
                  sana_image_parameters(back));
        }
        /* NULL parameters: the image's own (here the loaded ones) */
        CHECK_OK(sana_image_save_png(back, tu_path(dir, "again.png"), NULL));
        sana_image *again = NULL;
        CHECK_OK(sana_image_load_png(tu_path(dir, "again.png"), &again));
        CHECK(again && strcmp(sana_image_parameters(again), params) == 0, "own parameters kept");
        sana_image_free(again);
        sana_image_free(back);
        sana_image_free(im);
    }

    /* unreadable PNGs through the API: status and last error naming the file */
    sana_image *im = (sana_image *)1;
    const char *p = tu_path(dir, "missing.png");
    CHECK_STATUS(sana_image_load_png(p, &im), SANA_ERR_NOT_FOUND);
    CHECK(im == NULL, "out cleared");
    expect_last(p);
    p = tu_path(dir, "garbage.png");
    tu_write_file(p, "GIF89a garbage, not a png at all", 32);
    CHECK_STATUS(sana_image_load_png(p, &im), SANA_ERR_FORMAT);
    expect_last(p);
    p = tu_path(dir, "truncated.png");
    size_t n = 0;
    unsigned char *b = read_all(tu_path(dir, "api_3.png"), &n);
    if (b) tu_write_file(p, b, n - 20);
    free(b);
    CHECK_STATUS(sana_image_load_png(p, &im), SANA_ERR_FORMAT);
    expect_last("truncated");
    CHECK_STATUS(sana_image_load_png(NULL, &im), SANA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(sana_image_load_png(p, NULL), SANA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(sana_image_save_png(NULL, p, NULL), SANA_ERR_INVALID_ARGUMENT);
    expect_last("NULL");
    sana_image *ok = NULL;
    CHECK_OK(sana_image_create(2, 2, 3, &ok));
    CHECK_STATUS(sana_image_save_png(ok, NULL, NULL), SANA_ERR_INVALID_ARGUMENT);
    p = tu_path(dir, "no/such/dir/x.png");
    CHECK_STATUS(sana_image_save_png(ok, p, NULL), SANA_ERR_IO);
    expect_last(p);
    sana_image_free(ok);
}

int main(void) {
    dir = tu_temp_dir();
    test_create();
    test_png();
    return tu_finish("test_api_image");
}
