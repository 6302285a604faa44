/* Elementwise ops, broadcasting binary ops, and permutes. */
#include <math.h>

#include "backend/cpu/cpu.h"

float sn_cpu_act(sn_act act, float x) {
    switch (act) {
    case SN_ACT_NONE: return x;
    case SN_ACT_SILU: return x / (1.0f + expf(-x));
    case SN_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case SN_ACT_GELU_TANH: {
        const float k = 0.7978845608028654f; /* sqrt(2/pi) */
        return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
    }
    case SN_ACT_GELU: return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f));
    }
    return x;
}

sana_status sn_cpu_unary(sn_backend *be, sn_act act, const sn_tensor *x, sn_tensor *y) {
    (void)be;
    int64_t n = sn_numel(x);
    const float *X = SN_CF(x);
    float *Y = SN_F(y);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) Y[i] = sn_cpu_act(act, X[i]);
    return SANA_OK;
}

sana_status sn_cpu_binary(sn_backend *be, sn_binop op, const sn_tensor *a, const sn_tensor *b,
                          sn_tensor *y) {
    (void)be;
    /* b's dims right-aligned with a's; stride 0 where b has size 1 */
    int nd = a->ndim, off = a->ndim - b->ndim;
    int64_t ashape[SN_MAX_DIMS] = {1, 1, 1, 1}, bstride[SN_MAX_DIMS] = {0, 0, 0, 0};
    int64_t st = 1;
    for (int i = nd - 1; i >= 0; i--) {
        ashape[i] = a->shape[i];
        int bi = i - off;
        if (bi >= 0 && b->shape[bi] != 1) bstride[i] = st;
        if (bi >= 0) st *= b->shape[bi];
    }
    int64_t n = sn_numel(a);
    const float *A = SN_CF(a), *Bv = SN_CF(b);
    float *Y = SN_F(y);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        int64_t rem = i, bo = 0;
        for (int d = nd - 1; d >= 0; d--) {
            int64_t idx = rem % ashape[d];
            rem /= ashape[d];
            bo += idx * bstride[d];
        }
        float u = A[i], v = Bv[bo];
        Y[i] = op == SN_ADD ? u + v : op == SN_MUL ? u * v : u - v;
    }
    return SANA_OK;
}

sana_status sn_cpu_scale(sn_backend *be, const sn_tensor *x, float alpha, float beta, sn_tensor *y) {
    (void)be;
    int64_t n = sn_numel(x);
    const float *X = SN_CF(x);
    float *Y = SN_F(y);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) Y[i] = X[i] * alpha + beta;
    return SANA_OK;
}

sana_status sn_cpu_permute(sn_backend *be, const sn_tensor *x, const int32_t *perm, sn_tensor *y) {
    (void)be;
    int nd = x->ndim;
    int64_t xs[SN_MAX_DIMS], ys[SN_MAX_DIMS] = {1, 1, 1, 1}, ystr_x[SN_MAX_DIMS];
    int64_t st = 1;
    for (int i = nd - 1; i >= 0; i--) {
        xs[i] = st;
        st *= x->shape[i];
    }
    for (int i = 0; i < nd; i++) {
        ys[i] = y->shape[i];
        ystr_x[i] = xs[perm[i]]; /* stride in x of y's axis i */
    }
    int64_t n = sn_numel(x);
    const float *X = SN_CF(x);
    float *Y = SN_F(y);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        int64_t rem = i, xo = 0;
        for (int d = nd - 1; d >= 0; d--) {
            xo += (rem % ys[d]) * ystr_x[d];
            rem /= ys[d];
        }
        Y[i] = X[xo];
    }
    return SANA_OK;
}
