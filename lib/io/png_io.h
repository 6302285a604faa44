/* PNG through libpng: 8-bit RGB/RGBA write with a tEXt "parameters" chunk, and read of any PNG
 * converted to 8-bit RGB or RGBA. */
#ifndef SN_IO_PNG_IO_H
#define SN_IO_PNG_IO_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* `stride` bytes per row (>= width * channels). `parameters` (NULL or "" for none) goes into a
 * tEXt chunk, or iTXt when it is not plain ASCII. Fixed settings and no time chunk: the same
 * pixels and text always give the same bytes. Bad arguments: SANA_ERR_INVALID_ARGUMENT; a file
 * that cannot be written: SANA_ERR_IO (and no partial file is left). */
sana_status sn_png_write(const char *path, uint32_t width, uint32_t height, uint32_t channels,
                         size_t stride, const uint8_t *pixels, const char *parameters);

/* *pixels (malloc'd, stride = width * channels) and *parameters (malloc'd, or NULL) are the
 * caller's to free. *channels is 4 when the PNG has alpha (or a tRNS chunk), else 3; 16-bit
 * samples keep their high byte. The "parameters" text may be tEXt, zTXt or iTXt.
 * Missing file: SANA_ERR_NOT_FOUND; not a PNG, truncated or corrupt: SANA_ERR_FORMAT; more than
 * 1 GiB of pixels: SANA_ERR_UNSUPPORTED. Every message names the file. */
sana_status sn_png_read(const char *path, uint32_t *width, uint32_t *height, uint32_t *channels,
                        uint8_t **pixels, char **parameters);

#endif
