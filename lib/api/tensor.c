/* sana_tensor: host float32 arrays passed between the low-level stages. */
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

sana_status sn_api_tensor_new(int32_t ndim, const int64_t *shape, sana_tensor **out) {
    if (ndim < 1 || ndim > SN_MAX_DIMS || !shape)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "tensor rank %d is out of range (1..4)", ndim);
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] <= 0 || shape[i] > ((int64_t)1 << 40) / n)
            return sn_fail(SANA_ERR_INVALID_ARGUMENT, "tensor dimension %d is %lld", i,
                           (long long)shape[i]);
        n *= shape[i];
    }
    sana_tensor *t = calloc(1, sizeof *t);
    float *d = calloc((size_t)n, sizeof(float));
    if (!t || !d) {
        free(t);
        free(d);
        return sn_fail(SANA_ERR_OUT_OF_MEMORY, "tensor of %lld floats: out of memory", (long long)n);
    }
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->data = d;
    *out = t;
    return SANA_OK;
}

sana_status sana_tensor_create(int32_t ndim, const int64_t *shape, const float *data,
                               sana_tensor **out) {
    sn_error_clear();
    if (!out) return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_tensor_create: out is NULL");
    *out = NULL;
    SN_TRY(sn_api_tensor_new(ndim, shape, out));
    if (data) memcpy((*out)->data, data, (size_t)sana_tensor_numel(*out) * sizeof(float));
    return SANA_OK;
}

void sana_tensor_free(sana_tensor *t) {
    if (!t) return;
    free(t->data);
    free(t);
}

int32_t sana_tensor_ndim(const sana_tensor *t) { return t ? t->ndim : 0; }

int64_t sana_tensor_dim(const sana_tensor *t, int32_t axis) {
    return (t && axis >= 0 && axis < t->ndim) ? t->shape[axis] : 0;
}

int64_t sana_tensor_numel(const sana_tensor *t) {
    if (!t) return 0;
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

sana_status sana_tensor_read(const sana_tensor *t, float *dst, size_t capacity) {
    sn_error_clear();
    if (!t || !dst) return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_tensor_read: NULL argument");
    size_t n = (size_t)sana_tensor_numel(t);
    if (capacity < n)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_tensor_read: capacity %zu < %zu elements",
                       capacity, n);
    memcpy(dst, t->data, n * sizeof(float));
    return SANA_OK;
}
