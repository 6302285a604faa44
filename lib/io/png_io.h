/* PNG through libpng: 8-bit RGB/RGBA write with a tEXt "parameters" chunk, and read of any PNG
 * converted to 8-bit RGB or RGBA. */
#ifndef SN_IO_PNG_IO_H
#define SN_IO_PNG_IO_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

sana_status sn_png_write(const char *path, uint32_t width, uint32_t height, uint32_t channels,
                         size_t stride, const uint8_t *pixels, const char *parameters);

/* *pixels (malloc'd, stride = width * channels) and *parameters (malloc'd, or NULL) are the
 * caller's to free. */
sana_status sn_png_read(const char *path, uint32_t *width, uint32_t *height, uint32_t *channels,
                        uint8_t **pixels, char **parameters);

#endif
