/* Placeholder until lib/io lands (issue 3): every loader refuses clearly. */
#include <stddef.h>

#include "io/config.h"
#include "io/pipeline_dir.h"
#include "io/png_io.h"

#define SN_IO_NOT_YET(path) sn_fail(SANA_ERR_UNSUPPORTED, "%s: file loading is not implemented yet", path)

sana_status sn_pipeline_dir_open(const char *path, sn_pipeline_dir **out) {
    *out = NULL;
    return SN_IO_NOT_YET(path);
}
void sn_pipeline_dir_close(sn_pipeline_dir *d) { (void)d; }
const char *sn_pipeline_dir_class(const sn_pipeline_dir *d) {
    (void)d;
    return "";
}
const char *sn_pipeline_dir_component(const sn_pipeline_dir *d, const char *name) {
    (void)d;
    (void)name;
    return NULL;
}
sana_status sn_png_write(const char *path, uint32_t width, uint32_t height, uint32_t channels,
                         size_t stride, const uint8_t *pixels, const char *parameters) {
    (void)width, (void)height, (void)channels, (void)stride, (void)pixels, (void)parameters;
    return SN_IO_NOT_YET(path);
}
sana_status sn_png_read(const char *path, uint32_t *width, uint32_t *height, uint32_t *channels,
                        uint8_t **pixels, char **parameters) {
    (void)width, (void)height, (void)channels, (void)pixels, (void)parameters;
    return SN_IO_NOT_YET(path);
}
