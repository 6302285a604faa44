/* Resolution handling: the aspect-ratio bins (values from diffusers'
 * PixArtImageProcessor.classify_height_width_bin) and the bilinear resize + centre crop
 * (values from torch F.interpolate(mode="bilinear", align_corners=False)). */
#include <string.h>

#include "harness.h"
#include "solver/resolution.h"

static void test_bins(void) {
    static const struct { int h, w, b1h, b1w, b5h, b5w, b4h, b4w; } cases[] = {
        {1024, 1024, 1024, 1024, 512, 512, 4096, 4096}, {768, 1360, 768, 1344, 384, 672, 3072, 5376},
        {1000, 500, 1408, 704, 704, 352, 5632, 2816},   {100, 300, 576, 1728, 288, 864, 2304, 6912},
        {333, 333, 1024, 1024, 512, 512, 4096, 4096},   {1, 4000, 512, 2048, 256, 1024, 2048, 8192},
        {4000, 1, 2048, 512, 1024, 256, 8192, 2048},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int32_t h, w;
        CHECK_OK(sn_resolution_bin(32, cases[i].h, cases[i].w, &h, &w));
        CHECK(h == cases[i].b1h && w == cases[i].b1w, "1024 bin of %dx%d: %dx%d", cases[i].h, cases[i].w, h, w);
        CHECK_OK(sn_resolution_bin(16, cases[i].h, cases[i].w, &h, &w));
        CHECK(h == cases[i].b5h && w == cases[i].b5w, "512 bin of %dx%d: %dx%d", cases[i].h, cases[i].w, h, w);
        CHECK_OK(sn_resolution_bin(128, cases[i].h, cases[i].w, &h, &w));
        CHECK(h == cases[i].b4h && w == cases[i].b4w, "4096 bin of %dx%d: %dx%d", cases[i].h, cases[i].w, h, w);
    }
    int32_t h, w;
    CHECK_OK(sn_resolution_bin(64, 2048, 2048, &h, &w));
    CHECK(h == 2048 && w == 2048, "2048 bin");
    CHECK_STATUS(sn_resolution_bin(8, 64, 64, &h, &w), SANA_ERR_UNSUPPORTED);
    CHECK_STATUS(sn_resolution_bin(32, 0, 64, &h, &w), SANA_ERR_INVALID_ARGUMENT);
}

static void test_resize(void) {
    float x[12];
    for (int i = 0; i < 12; i++) x[i] = (float)i * 0.37f - 1.5f;
    static const float up[35] = {
        -1.5f, -1.3678571f, -1.15642858f, -0.944999933f, -0.733571351f, -0.522142768f, -0.389999986f,
        -0.907999992f, -0.775857091f, -0.564428568f, -0.352999866f, -0.141571254f, 0.0698573291f,
        0.202000141f, -0.0199999809f, 0.112142883f, 0.323571473f, 0.535000086f, 0.746428668f,
        0.957857311f, 1.09000015f, 0.868000269f, 1.00014305f, 1.21157169f, 1.42300022f, 1.63442886f,
        1.8458575f, 1.97800028f, 1.46000004f, 1.59214282f, 1.80357122f, 2.0150001f, 2.22642851f,
        2.43785739f, 2.57000017f};
    static const float down[6] = {-1.06833327f, -0.575000048f, -0.0816665664f, 1.15166676f, 1.64499998f, 2.13833356f};
    float y[35], z[6];
    sn_resize_bilinear(x, 1, 3, 4, y, 5, 7);
    tu_check_close("bilinear 3x4 -> 5x7 vs torch", y, up, 35, 1e-6);
    sn_resize_bilinear(x, 1, 3, 4, z, 2, 3);
    tu_check_close("bilinear 3x4 -> 2x3 vs torch", z, down, 6, 1e-6);

    /* resize_and_crop_tensor: 1024x768 bin back to 1000x700: ratio max(700/768, 1000/1024)
     * -> resized 1000x750 (hxw: 1000 x 750), crop 25 columns left */
    int32_t rh, rw;
    sn_resolution_resized_size(1024, 768, 1000, 700, &rh, &rw);
    CHECK(rh == 1000 && rw == 750, "resized size %dx%d", rh, rw);
    /* a plane with a vertical ramp: the crop keeps the centre columns */
    enum { H = 4, W = 8, OH = 4, OW = 4 };
    float src[H * W], tmp[H * W], dst[OH * OW];
    for (int y0 = 0; y0 < H; y0++)
        for (int x0 = 0; x0 < W; x0++) src[y0 * W + x0] = (float)x0;
    sn_resize_and_crop(src, 1, H, W, tmp, dst, OH, OW);
    CHECK(dst[0] == 2.0f && dst[3] == 5.0f, "centre crop picks columns 2..5: %g %g", dst[0], dst[3]);
}

int main(void) {
    test_bins();
    test_resize();
    return tu_finish("test_solver_resolution");
}
