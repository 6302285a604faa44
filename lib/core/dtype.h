/* Element types as they appear on disk (safetensors) and in device memory, and conversions. */
#ifndef SN_CORE_DTYPE_H
#define SN_CORE_DTYPE_H

#include <stddef.h>
#include <stdint.h>

typedef enum sn_dtype {
    SN_F32 = 0,
    SN_F16,
    SN_BF16,
    SN_F64,
    SN_I64,
    SN_I32,
    SN_I16,
    SN_I8,
    SN_U8,
    SN_BOOL,
    SN_DTYPE_COUNT
} sn_dtype;

size_t sn_dtype_size(sn_dtype t);
const char *sn_dtype_name(sn_dtype t); /* safetensors spelling: "F32", "BF16", ... */
/* Parses the safetensors spelling; returns 0 on success. */
int sn_dtype_parse(const char *name, sn_dtype *out);

float sn_f16_to_f32(uint16_t h);
uint16_t sn_f32_to_f16(float f);     /* round to nearest even */
float sn_bf16_to_f32(uint16_t b);
uint16_t sn_f32_to_bf16(float f);    /* round to nearest even, NaN kept */

/* Converts n elements of a float type (F32, F16, BF16, F64) to float32. Returns 0, or -1 for a
 * dtype that is not a float type. */
int sn_convert_to_f32(sn_dtype src_type, const void *src, float *dst, int64_t n);

#endif
