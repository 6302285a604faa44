/* PNG: RGB and RGBA round trips with the "parameters" text, byte-identical rewrites, other PNG
 * kinds converted to 8-bit RGB(A) on read, and unreadable files refused with a message naming
 * the file. */
#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "io/png_io.h"

static const char *dir;

static unsigned char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(sz > 0 ? (size_t)sz : 1);
    *n = b ? fread(b, 1, (size_t)sz, f) : 0;
    fclose(f);
    return b;
}

static void expect_msg(const char *a, const char *b) {
    const char *m = tu_last_error();
    CHECK(strstr(m, a) != NULL, "message lacks '%s': %s", a, m);
    if (b) CHECK(strstr(m, b) != NULL, "message lacks '%s': %s", b, m);
    printf("  %s\n", m);
}

/* Writes w x h pixels of c channels (rows padded to `stride`), reads them back, compares. */
static void round_trip(uint32_t w, uint32_t h, uint32_t c, const char *params) {
    size_t stride = (size_t)w * c + 5; /* padding the reader must not see */
    uint8_t *px = malloc(stride * h);
    for (size_t i = 0; i < stride * h; i++) px[i] = (uint8_t)(i * 31 + (i >> 8) * 7);
    char name[64];
    snprintf(name, sizeof name, "rt_%ux%u_%u.png", w, h, c);
    const char *path = tu_path(dir, name);
    CHECK_OK(sn_png_write(path, w, h, c, stride, px, params));
    uint32_t rw = 0, rh = 0, rc = 0;
    uint8_t *back = NULL;
    char *text = NULL;
    CHECK_OK(sn_png_read(path, &rw, &rh, &rc, &back, &text));
    CHECK(rw == w && rh == h && rc == c, "%s: %ux%ux%u", name, rw, rh, rc);
    int same = back != NULL;
    for (uint32_t y = 0; same && y < h; y++)
        same = memcmp(back + (size_t)y * w * c, px + y * stride, (size_t)w * c) == 0;
    CHECK(same, "%s: pixels differ", name);
    if (params && *params)
        CHECK(text && strcmp(text, params) == 0, "%s: parameters '%s'", name, text ? text : "(null)");
    else
        CHECK(text == NULL, "%s: no parameters expected", name);

    /* the same pixels and text give the same bytes */
    size_t n1 = 0, n2 = 0;
    unsigned char *b1 = read_all(path, &n1);
    CHECK_OK(sn_png_write(path, w, h, c, stride, px, params));
    unsigned char *b2 = read_all(path, &n2);
    CHECK(b1 && b2 && n1 == n2 && memcmp(b1, b2, n1) == 0, "%s: rewrite differs", name);
    printf("  %s: %zu bytes, parameters %s\n", name, n1, text ? "kept" : "none");
    free(b1);
    free(b2);
    free(px);
    free(back);
    free(text);
}

/* A PNG of another kind, written with libpng directly: 16-bit gray, or 2-bit palette with a
 * transparent entry. */
static void write_other(const char *path, int kind) {
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (!f || !png || !info || setjmp(png_jmpbuf(png))) {
        CHECK(0, "cannot write %s", path);
        exit(1);
    }
    png_init_io(png, f);
    unsigned char rows[2][8];
    if (kind == 0) {
        png_set_IHDR(png, info, 3, 2, 16, PNG_COLOR_TYPE_GRAY, 0, 0, 0);
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 3; x++) rows[y][2 * x] = (unsigned char)(y * 100 + x * 50), rows[y][2 * x + 1] = 0x7f;
    } else {
        png_color pal[3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
        png_byte trans[1] = {0}; /* entry 0 fully transparent */
        png_set_IHDR(png, info, 3, 2, 2, PNG_COLOR_TYPE_PALETTE, 0, 0, 0);
        png_set_PLTE(png, info, pal, 3);
        png_set_tRNS(png, info, trans, 1, NULL);
        rows[0][0] = (0 << 6) | (1 << 4) | (2 << 2); /* 0 1 2 */
        rows[1][0] = (2 << 6) | (2 << 4) | (1 << 2); /* 2 2 1 */
        png_text t = {0};
        t.compression = PNG_TEXT_COMPRESSION_zTXt;
        t.key = "parameters";
        t.text = "compressed text";
        t.text_length = strlen(t.text);
        png_set_text(png, info, &t, 1);
    }
    png_bytep rp[2] = {rows[0], rows[1]};
    png_write_info(png, info);
    png_write_image(png, rp);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

static void test_other_kinds(void) {
    uint32_t w, h, c;
    uint8_t *px = NULL;
    char *text = NULL;
    const char *p = tu_path(dir, "gray16.png");
    write_other(p, 0);
    CHECK_OK(sn_png_read(p, &w, &h, &c, &px, &text));
    CHECK(w == 3 && h == 2 && c == 3 && px, "gray16 -> RGB %ux%ux%u", w, h, c);
    if (px) CHECK(px[0] == 0 && px[3 * 4 + 0] == 150 && px[3 * 4 + 1] == 150 && px[3 * 4 + 2] == 150,
                  "gray16 values (high byte kept): %u %u", px[0], px[12]);
    free(px);
    free(text);
    p = tu_path(dir, "palette.png");
    write_other(p, 1);
    CHECK_OK(sn_png_read(p, &w, &h, &c, &px, &text));
    CHECK(w == 3 && h == 2 && c == 4 && px, "palette+tRNS -> RGBA %ux%ux%u", w, h, c);
    if (px) {
        static const uint8_t want[24] = {255, 0, 0, 0,   0, 255, 0, 255, 0, 0, 255, 255,
                                         0, 0, 255, 255, 0, 0, 255, 255, 0, 255, 0, 255};
        CHECK(memcmp(px, want, 24) == 0, "palette values");
    }
    CHECK(text && strcmp(text, "compressed text") == 0, "zTXt parameters read");
    free(px);
    free(text);
}

static void test_bad(void) {
    uint32_t w = 9, h = 9, c = 9;
    uint8_t *px = (uint8_t *)1;
    char *text = (char *)1;
    const char *p = tu_path(dir, "missing.png");
    CHECK_STATUS(sn_png_read(p, &w, &h, &c, &px, &text), SANA_ERR_NOT_FOUND);
    CHECK(px == NULL && text == NULL && w == 0, "outputs cleared on failure");
    expect_msg(p, "cannot open");

    p = tu_path(dir, "garbage.png");
    unsigned char g[200];
    for (int i = 0; i < 200; i++) g[i] = (unsigned char)(i * 73 + 5);
    tu_write_file(p, g, sizeof g);
    CHECK_STATUS(sn_png_read(p, &w, &h, &c, &px, &text), SANA_ERR_FORMAT);
    expect_msg(p, "not a PNG");

    p = tu_path(dir, "empty.png");
    tu_write_file(p, "", 0);
    CHECK_STATUS(sn_png_read(p, &w, &h, &c, &px, &text), SANA_ERR_FORMAT);
    expect_msg(p, "not a PNG");

    /* a good file cut short, a signature with garbage after it, and a flipped byte in IDAT */
    uint8_t img[64 * 48 * 3];
    for (size_t i = 0; i < sizeof img; i++) img[i] = (uint8_t)(i * 13 + (i >> 7));
    const char *good = tu_path(dir, "good.png");
    CHECK_OK(sn_png_write(good, 64, 48, 3, 64 * 3, img, "x"));
    size_t n = 0;
    unsigned char *bytes = read_all(good, &n);
    if (!bytes) return;
    size_t cuts[] = {n / 2, 40, 12};
    for (int i = 0; i < 3; i++) {
        char name[64];
        snprintf(name, sizeof name, "truncated_%zu.png", cuts[i]);
        p = tu_path(dir, name);
        tu_write_file(p, bytes, cuts[i]);
        CHECK_STATUS(sn_png_read(p, &w, &h, &c, &px, &text), SANA_ERR_FORMAT);
        expect_msg(p, "truncated");
    }
    p = tu_path(dir, "sig_then_garbage.png");
    memcpy(g, bytes, 8);
    tu_write_file(p, g, sizeof g);
    CHECK_STATUS(sn_png_read(p, &w, &h, &c, &px, &text), SANA_ERR_FORMAT);
    expect_msg(p, "corrupt");
    p = tu_path(dir, "bad_crc.png");
    bytes[n / 2] ^= 0x55;
    tu_write_file(p, bytes, n);
    CHECK_STATUS(sn_png_read(p, &w, &h, &c, &px, &text), SANA_ERR_FORMAT);
    expect_msg(p, "corrupt");
    free(bytes);

    /* writes that cannot happen */
    p = tu_path(dir, "no/such/folder/x.png");
    CHECK_STATUS(sn_png_write(p, 2, 2, 3, 6, img, NULL), SANA_ERR_IO);
    expect_msg(p, "cannot create");
    p = tu_path(dir, "bad.png");
    CHECK_STATUS(sn_png_write(p, 2, 2, 2, 6, img, NULL), SANA_ERR_INVALID_ARGUMENT);
    expect_msg(p, "channels");
    CHECK_STATUS(sn_png_write(p, 0, 2, 3, 6, img, NULL), SANA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(sn_png_write(p, 4, 2, 3, 6, img, NULL), SANA_ERR_INVALID_ARGUMENT); /* stride */
    CHECK_STATUS(sn_png_write(p, 2, 2, 3, 6, NULL, NULL), SANA_ERR_INVALID_ARGUMENT);
}

/* Mutated copies of a good PNG: each reads cleanly or fails with SANA_ERR_FORMAT naming the
 * file; never a crash or a leak on libpng's longjmp path (the sanitizer build checks both). */
static void test_mutations(void) {
    uint8_t img[12 * 10 * 4];
    for (size_t i = 0; i < sizeof img; i++) img[i] = (uint8_t)(i * 7 + (i >> 5));
    const char *good = tu_path(dir, "mut_src.png");
    CHECK_OK(sn_png_write(good, 12, 10, 4, 48, img, "seed 1, steps 2"));
    size_t n = 0;
    unsigned char *src = read_all(good, &n);
    if (!src) return;
    unsigned char *buf = malloc(n);
    const char *path = tu_path(dir, "mutant.png");
    uint64_t r = 0x2545f4914f6cdd1dull;
    int ok = 0, bad = 0, other = 0;
    for (int iter = 0; iter < 1500; iter++) {
        memcpy(buf, src, n);
        size_t len = n;
        for (int e = 0; e < 1 + iter % 3; e++) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            buf[8 + (size_t)(r >> 8) % (n - 8)] ^= (unsigned char)(1 + (r >> 40) % 255);
        }
        if (iter % 7 == 0) len = 8 + (size_t)(r >> 20) % (n - 8);
        tu_write_file(path, buf, len);
        uint32_t w, h, c;
        uint8_t *px = NULL;
        char *text = NULL;
        sana_status s = sn_png_read(path, &w, &h, &c, &px, &text);
        if (s == SANA_OK)
            ok++;
        else if ((s == SANA_ERR_FORMAT || s == SANA_ERR_UNSUPPORTED) && strstr(tu_last_error(), path))
            bad++; /* UNSUPPORTED: a header claiming more than the read limit */
        else
            other++, fprintf(stderr, "mutation %d: %s\n", iter, tu_last_error());
        free(px);
        free(text);
    }
    CHECK(other == 0, "%d mutations gave another status", other);
    CHECK(bad > 500, "most mutations are refused (%d)", bad);
    printf("  1500 mutations: %d read, %d refused\n", ok, bad);
    free(buf);
    free(src);
}

int main(void) {
    dir = tu_temp_dir();
    round_trip(7, 5, 3, "a red fox, steps: 20, seed: 42");
    round_trip(16, 9, 4, "prompt with UTF-8: Кошка 🐱, guidance 4.5");
    round_trip(1, 1, 3, NULL);
    round_trip(33, 2, 4, "");
    test_other_kinds();
    test_bad();
    test_mutations();
    return tu_finish("test_io_png");
}
