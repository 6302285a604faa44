/* PNG reading (lib/io/png_io.c, through libpng): init images for img2img and the "parameters"
 * text of earlier outputs. A decoded image must be exactly width x height x channels bytes. */
#include "fuzz_common.h"
#include "io/png_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_quiet();
    char path[FZ_PATH_MAX];
    fz_join(path, fz_dir(), "fuzz.png");
    fz_write(path, data, size);
    sn_error_clear();
    uint32_t w, h, c;
    uint8_t *pixels;
    char *params;
    sana_status s = sn_png_read(path, &w, &h, &c, &pixels, &params);
    fz_check_failure(s, "sn_png_read");
    if (s != SANA_OK) {
        if (pixels || params) abort(); /* nothing handed out on failure */
        return 0;
    }
    if (!(c == 3 || c == 4) || !pixels) abort();
    volatile uint8_t sink = 0;
    size_t n = (size_t)w * h * c;
    for (size_t i = 0; i < n; i++) sink ^= pixels[i];
    if (params) (void)strlen(params);
    (void)sink;
    free(pixels);
    free(params);
    return 0;
}
