#include "core/dtype.h"

#include <math.h>
#include <string.h>

static const struct {
    const char *name;
    size_t size;
} sn_dtypes[SN_DTYPE_COUNT] = {
    [SN_F32] = {"F32", 4}, [SN_F16] = {"F16", 2}, [SN_BF16] = {"BF16", 2}, [SN_F64] = {"F64", 8},
    [SN_I64] = {"I64", 8}, [SN_I32] = {"I32", 4}, [SN_I16] = {"I16", 2},  [SN_I8] = {"I8", 1},
    [SN_U8] = {"U8", 1},   [SN_BOOL] = {"BOOL", 1},
};

size_t sn_dtype_size(sn_dtype t) { return (unsigned)t < SN_DTYPE_COUNT ? sn_dtypes[t].size : 0; }

const char *sn_dtype_name(sn_dtype t) {
    return (unsigned)t < SN_DTYPE_COUNT ? sn_dtypes[t].name : "?";
}

int sn_dtype_parse(const char *name, sn_dtype *out) {
    for (int i = 0; i < SN_DTYPE_COUNT; i++) {
        if (strcmp(name, sn_dtypes[i].name) == 0) {
            *out = (sn_dtype)i;
            return 0;
        }
    }
    return -1;
}

static uint32_t sn_f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float sn_bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float sn_bf16_to_f32(uint16_t b) { return sn_bits_f32((uint32_t)b << 16); }

uint16_t sn_f32_to_bf16(float f) {
    uint32_t u = sn_f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float sn_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0) {
        /* zero or subnormal: value = man * 2^-24 */
        float v = (float)man * 5.9604644775390625e-08f;
        return sign ? -v : v;
    }
    if (exp == 31) return sn_bits_f32(sign | 0x7f800000u | (man << 13));
    return sn_bits_f32(sign | ((exp + 112u) << 23) | (man << 13));
}

uint16_t sn_f32_to_f16(float f) {
    uint32_t u = sn_f32_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t abs = u & 0x7fffffffu;
    if (abs > 0x7f800000u) return sign | 0x7e00u;  /* NaN */
    if (abs >= 0x477ff000u) return sign | 0x7c00u; /* overflow (rounds up past 65504) -> inf */
    if (abs < 0x38800000u) {
        /* subnormal or zero in half: round abs * 2^24 to an integer, ties to even */
        float v = sn_bits_f32(abs) * 16777216.0f;
        return sign | (uint16_t)lrintf(v);
    }
    uint32_t r = abs + 0xfffu + ((abs >> 13) & 1u);
    return sign | (uint16_t)((r - 0x38000000u) >> 13);
}

int sn_convert_to_f32(sn_dtype src_type, const void *src, float *dst, int64_t n) {
    switch (src_type) {
    case SN_F32:
        memmove(dst, src, (size_t)n * 4);
        return 0;
    case SN_F16: {
        const uint16_t *s = src;
        for (int64_t i = 0; i < n; i++) dst[i] = sn_f16_to_f32(s[i]);
        return 0;
    }
    case SN_BF16: {
        const uint16_t *s = src;
        for (int64_t i = 0; i < n; i++) dst[i] = sn_bf16_to_f32(s[i]);
        return 0;
    }
    case SN_F64: {
        const double *s = src;
        for (int64_t i = 0; i < n; i++) dst[i] = (float)s[i];
        return 0;
    }
    default:
        return -1;
    }
}
