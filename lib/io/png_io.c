/* PNG through libpng.
 *
 * libpng reports errors by longjmp. Each setjmp lives in a small function whose state sits in a
 * struct owned by its caller, so nothing that longjmp could leave indeterminate (non-volatile
 * locals changed after setjmp) is ever read, and the caller frees whatever was allocated
 * whichever way the body ended. */
#include "io/png_io.h"

#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SN_PNG_MAX_SIDE 65536u
/* Reading allocates the whole image; a few hundred bytes of PNG can claim 65536 x 65536, so
 * reads stop at 1 GiB of pixels (16384 x 16384 RGBA). */
#define SN_PNG_MAX_READ_BYTES ((size_t)1 << 30)

typedef struct sn_png_state {
    const char *path;
    FILE *f;
    png_structp png;
    png_infop info;
    png_bytep *rows;
    uint8_t *pixels;
    char *parameters;
    uint32_t width, height, channels;
    char msg[256]; /* libpng's error text */
} sn_png_state;

static void sn_png_error(png_structp png, png_const_charp msg) {
    sn_png_state *s = png_get_error_ptr(png);
    snprintf(s->msg, sizeof s->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void sn_png_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg; /* benign (e.g. an unknown chunk); the read goes on */
}

/* --- write -------------------------------------------------------------------------------- */

static int sn_png_write_body(sn_png_state *s, const char *parameters) {
    if (setjmp(png_jmpbuf(s->png))) return -1;
    png_init_io(s->png, s->f);
    /* fixed settings, no time chunk: the same pixels and text always give the same bytes */
    png_set_compression_level(s->png, 6);
    png_set_IHDR(s->png, s->info, s->width, s->height, 8,
                 s->channels == 4 ? PNG_COLOR_TYPE_RGBA : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (parameters && *parameters) {
        /* tEXt is Latin-1: plain ASCII goes there, anything else (UTF-8 prompts) into iTXt */
        int ascii = 1;
        for (const unsigned char *p = (const unsigned char *)parameters; *p; p++) ascii &= *p < 0x80;
        png_text t;
        memset(&t, 0, sizeof t);
        t.compression = ascii ? PNG_TEXT_COMPRESSION_NONE : PNG_ITXT_COMPRESSION_NONE;
        t.key = "parameters";
        t.text = (char *)parameters;
        t.text_length = strlen(parameters);
        png_set_text(s->png, s->info, &t, 1);
    }
    png_write_info(s->png, s->info);
    png_write_image(s->png, s->rows);
    png_write_end(s->png, s->info);
    return 0;
}

sana_status sn_png_write(const char *path, uint32_t width, uint32_t height, uint32_t channels,
                         size_t stride, const uint8_t *pixels, const char *parameters) {
    if (channels != 3 && channels != 4)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "%s: PNG channels must be 3 or 4, not %u", path,
                       channels);
    if (width == 0 || height == 0 || width > SN_PNG_MAX_SIDE || height > SN_PNG_MAX_SIDE)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "%s: PNG size %ux%u out of range", path, width,
                       height);
    if (!pixels || stride < (size_t)width * channels)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "%s: no pixels, or stride %zu < %u x %u", path,
                       stride, width, channels);
    sn_png_state s;
    memset(&s, 0, sizeof s);
    s.path = path;
    s.width = width;
    s.height = height;
    s.channels = channels;
    s.rows = malloc(height * sizeof *s.rows);
    if (!s.rows) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    for (uint32_t y = 0; y < height; y++) s.rows[y] = (png_bytep)(pixels + (size_t)y * stride);
    s.f = fopen(path, "wb");
    if (!s.f) {
        int e = errno;
        free(s.rows);
        return sn_fail(SANA_ERR_IO, "%s: cannot create: %s", path, strerror(e));
    }
    sana_status st = SANA_OK;
    s.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &s, sn_png_error, sn_png_warning);
    if (s.png) s.info = png_create_info_struct(s.png);
    if (!s.png || !s.info)
        st = sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: cannot start libpng", path);
    else if (sn_png_write_body(&s, parameters) != 0)
        st = sn_fail(SANA_ERR_IO, "%s: cannot write PNG: %s", path, s.msg);
    png_destroy_write_struct(&s.png, &s.info);
    free(s.rows);
    if (fclose(s.f) != 0 && st == SANA_OK)
        st = sn_fail(SANA_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    if (st != SANA_OK) remove(path); /* no half-written file left behind */
    return st;
}

/* --- read --------------------------------------------------------------------------------- */

/* Takes the "parameters" text of the chunks read so far (tEXt, zTXt or iTXt). */
static void sn_png_take_parameters(sn_png_state *s) {
    png_textp text;
    int n = 0;
    if (s->parameters || !png_get_text(s->png, s->info, &text, &n)) return;
    for (int i = 0; i < n; i++)
        if (strcmp(text[i].key, "parameters") == 0) {
            size_t len = text[i].compression >= PNG_ITXT_COMPRESSION_NONE ? text[i].itxt_length
                                                                          : text[i].text_length;
            s->parameters = malloc(len + 1);
            if (s->parameters) {
                memcpy(s->parameters, text[i].text ? text[i].text : "", len);
                s->parameters[len] = '\0';
            }
            return;
        }
}

/* Walks the chunk list (length, type, data, CRC) before libpng sees it: a chunk that claims more
 * bytes than the file has is refused here, since libpng would first allocate (and clear) a
 * buffer of the claimed size, up to 2 GiB for a few hundred bytes of file. Leaves the file
 * just after the signature. Returns 0, or -1 with s->msg set. */
static int sn_png_check_chunks(sn_png_state *s) {
    if (fseek(s->f, 0, SEEK_END) != 0) return 0; /* not seekable: leave it to libpng */
    long end = ftell(s->f);
    long at = 8;
    int ok = 0;
    while (end > 0 && at + 12 <= end) {
        unsigned char h[8];
        if (fseek(s->f, at, SEEK_SET) != 0 || fread(h, 1, 8, s->f) != 8) break;
        uint32_t len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
        if (len > 0x7fffffffu || (long)len > end - at - 12) {
            char type[5] = "????";
            for (int i = 0; i < 4; i++)
                if ((h[4 + i] | 0x20) >= 'a' && (h[4 + i] | 0x20) <= 'z') type[i] = (char)h[4 + i];
            snprintf(s->msg, sizeof s->msg, "chunk '%s' at byte %ld claims %u bytes but %ld remain",
                     type, at, len, end - at - 12);
            return -1;
        }
        at += 12 + (long)len;
        if (memcmp(h + 4, "IEND", 4) == 0) {
            ok = 1;
            break;
        }
    }
    if (!ok) {
        snprintf(s->msg, sizeof s->msg, "no IEND chunk before the end of the file");
        return -1;
    }
    return fseek(s->f, 8, SEEK_SET) == 0 ? 0 : -1;
}

static int sn_png_read_body(sn_png_state *s) {
    if (setjmp(png_jmpbuf(s->png))) return -1;
    png_init_io(s->png, s->f);
    png_set_sig_bytes(s->png, 8);
    png_set_user_limits(s->png, SN_PNG_MAX_SIDE, SN_PNG_MAX_SIDE);
    /* ancillary chunks (text, profiles) above 1 MiB are skipped, not buffered */
    png_set_chunk_malloc_max(s->png, (png_alloc_size_t)1 << 20);
    png_read_info(s->png, s->info);
    png_uint_32 w, h;
    int depth, color, interlace;
    png_get_IHDR(s->png, s->info, &w, &h, &depth, &color, &interlace, NULL, NULL);
    int alpha = (color & PNG_COLOR_MASK_ALPHA) || png_get_valid(s->png, s->info, PNG_INFO_tRNS);
    /* everything to 8-bit RGB(A): palette and low bit depths expanded, tRNS to alpha, 16 bits
     * stripped, gray copied to three channels */
    png_set_expand(s->png);
    png_set_strip_16(s->png);
    png_set_gray_to_rgb(s->png);
    png_set_interlace_handling(s->png);
    png_read_update_info(s->png, s->info);
    s->channels = png_get_channels(s->png, s->info);
    if (s->channels != (alpha ? 4u : 3u) || png_get_bit_depth(s->png, s->info) != 8) {
        snprintf(s->msg, sizeof s->msg, "unexpected layout after conversion");
        return -1;
    }
    s->width = w;
    s->height = h;
    size_t stride = (size_t)w * s->channels;
    if (stride * h > SN_PNG_MAX_READ_BYTES) {
        snprintf(s->msg, sizeof s->msg, "%ux%u pixels exceed the read limit of %zu MiB",
                 (unsigned)w, (unsigned)h, SN_PNG_MAX_READ_BYTES >> 20);
        return -3;
    }
    s->pixels = malloc(stride * h);
    s->rows = malloc(h * sizeof *s->rows);
    if (!s->pixels || !s->rows) {
        snprintf(s->msg, sizeof s->msg, "out of memory for %ux%u pixels", (unsigned)w, (unsigned)h);
        return -2;
    }
    for (png_uint_32 y = 0; y < h; y++) s->rows[y] = s->pixels + (size_t)y * stride;
    sn_png_take_parameters(s);
    png_read_image(s->png, s->rows);
    png_read_end(s->png, s->info); /* text chunks after the image data */
    sn_png_take_parameters(s);
    return 0;
}

sana_status sn_png_read(const char *path, uint32_t *width, uint32_t *height, uint32_t *channels,
                        uint8_t **pixels, char **parameters) {
    *pixels = NULL;
    *parameters = NULL;
    *width = *height = *channels = 0;
    sn_png_state s;
    memset(&s, 0, sizeof s);
    s.path = path;
    s.f = fopen(path, "rb");
    if (!s.f)
        return sn_fail(errno == ENOENT ? SANA_ERR_NOT_FOUND : SANA_ERR_IO, "%s: cannot open: %s",
                       path, strerror(errno));
    unsigned char sig[8];
    size_t got = fread(sig, 1, 8, s.f);
    if (got != 8 || png_sig_cmp(sig, 0, 8) != 0) {
        fclose(s.f);
        return sn_fail(SANA_ERR_FORMAT, "%s: not a PNG file (bad signature)", path);
    }
    sana_status st = SANA_OK;
    s.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, sn_png_error, sn_png_warning);
    if (s.png) s.info = png_create_info_struct(s.png);
    if (!s.png || !s.info) {
        st = sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: cannot start libpng", path);
    } else if (sn_png_check_chunks(&s) != 0) {
        st = sn_fail(SANA_ERR_FORMAT, "%s: truncated or corrupt PNG: %s", path, s.msg);
    } else {
        int r = sn_png_read_body(&s);
        if (r == -2)
            st = sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: %s", path, s.msg);
        else if (r == -3)
            st = sn_fail(SANA_ERR_UNSUPPORTED, "%s: %s", path, s.msg);
        else if (r != 0 && feof(s.f))
            st = sn_fail(SANA_ERR_FORMAT, "%s: truncated PNG (the file ends early)", path);
        else if (r != 0)
            st = sn_fail(SANA_ERR_FORMAT, "%s: corrupt PNG: %s", path, s.msg);
    }
    png_destroy_read_struct(&s.png, &s.info, NULL);
    fclose(s.f);
    free(s.rows);
    if (st != SANA_OK) {
        free(s.pixels);
        free(s.parameters);
        return st;
    }
    *width = s.width;
    *height = s.height;
    *channels = s.channels;
    *pixels = s.pixels;
    *parameters = s.parameters;
    return SANA_OK;
}
