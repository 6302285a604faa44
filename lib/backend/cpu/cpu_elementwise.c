/* Elementwise ops, broadcasting binary ops, and permutes. */
#include <math.h>
#include <string.h>

#include "backend/cpu/cpu.h"
#include "core/pool.h"

/* below -88.8 expf(-x) overflows to inf and x / inf = -0: the same value without glibc's slow
 * overflow path */
static inline float sn_silu(float x) { return x < -88.8f ? -0.0f : x / (1.0f + expf(-x)); }

float sn_cpu_act(sn_act act, float x) {
    switch (act) {
    case SN_ACT_NONE: return x;
    case SN_ACT_SILU: return sn_silu(x);
    case SN_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case SN_ACT_GELU_TANH: {
        const float k = 0.7978845608028654f; /* sqrt(2/pi) */
        return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
    }
    case SN_ACT_GELU: return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f));
    }
    return x;
}

void sn_cpu_act_row(sn_act act, float *y, int64_t n) {
    switch (act) {
    case SN_ACT_NONE: return;
    case SN_ACT_SILU:
        for (int64_t i = 0; i < n; i++) y[i] = sn_silu(y[i]);
        return;
    case SN_ACT_RELU:
        for (int64_t i = 0; i < n; i++) y[i] = y[i] > 0.0f ? y[i] : 0.0f;
        return;
    default:
        for (int64_t i = 0; i < n; i++) y[i] = sn_cpu_act(act, y[i]);
    }
}

typedef struct {
    const float *X, *Bv;
    float *Y;
    sn_act act;
    float alpha, beta;
    int nd;
    sn_binop op;
    int64_t shape[SN_MAX_DIMS], stride[SN_MAX_DIMS]; /* binary: b's; permute: y's, x's per y axis */
} sn_elem_job;

static void sn_unary_range(void *p, int64_t i0, int64_t i1) {
    const sn_elem_job *j = p;
    for (int64_t i = i0; i < i1; i++) j->Y[i] = sn_cpu_act(j->act, j->X[i]);
}

sana_status sn_cpu_unary(sn_backend *be, sn_act act, const sn_tensor *x, sn_tensor *y) {
    (void)be;
    sn_elem_job j = {.X = SN_CF(x), .Y = SN_F(y), .act = act};
    sn_parallel_for(sn_numel(x), sn_unary_range, &j);
    return SANA_OK;
}

static void sn_binary_range(void *p, int64_t i0, int64_t i1) {
    const sn_elem_job *j = p;
    for (int64_t i = i0; i < i1; i++) {
        int64_t rem = i, bo = 0;
        for (int d = j->nd - 1; d >= 0; d--) {
            int64_t idx = rem % j->shape[d];
            rem /= j->shape[d];
            bo += idx * j->stride[d];
        }
        float u = j->X[i], v = j->Bv[bo];
        j->Y[i] = j->op == SN_ADD ? u + v : j->op == SN_MUL ? u * v : u - v;
    }
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
    sn_elem_job j = {.X = SN_CF(a), .Bv = SN_CF(b), .Y = SN_F(y), .nd = nd, .op = op};
    for (int i = 0; i < SN_MAX_DIMS; i++) j.shape[i] = ashape[i], j.stride[i] = bstride[i];
    sn_parallel_for(sn_numel(a), sn_binary_range, &j);
    return SANA_OK;
}

static void sn_scale_range(void *p, int64_t i0, int64_t i1) {
    const sn_elem_job *j = p;
    for (int64_t i = i0; i < i1; i++) j->Y[i] = j->X[i] * j->alpha + j->beta;
}

sana_status sn_cpu_scale(sn_backend *be, const sn_tensor *x, float alpha, float beta, sn_tensor *y) {
    (void)be;
    sn_elem_job j = {.X = SN_CF(x), .Y = SN_F(y), .alpha = alpha, .beta = beta};
    sn_parallel_for(sn_numel(x), sn_scale_range, &j);
    return SANA_OK;
}

/* rows [r0, r1) of y (all of its axes but the last): one offset computed per row, then the
 * row copied, contiguously when the last axes agree (the cross-attention's head permutes) */
static void sn_permute_rows(void *p, int64_t r0, int64_t r1) {
    const sn_elem_job *j = p;
    const int last = j->nd - 1;
    const int64_t n = j->shape[last], xs = j->stride[last];
    for (int64_t r = r0; r < r1; r++) {
        int64_t rem = r, xo = 0;
        for (int d = last - 1; d >= 0; d--) {
            xo += (rem % j->shape[d]) * j->stride[d];
            rem /= j->shape[d];
        }
        const float *x = j->X + xo;
        float *y = j->Y + r * n;
        if (xs == 1) memcpy(y, x, (size_t)n * sizeof(float));
        else
            for (int64_t i = 0; i < n; i++) y[i] = x[i * xs];
    }
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
    sn_elem_job j = {.X = SN_CF(x), .Y = SN_F(y), .nd = nd};
    for (int i = 0; i < SN_MAX_DIMS; i++) j.shape[i] = ys[i], j.stride[i] = i < nd ? ystr_x[i] : 0;
    if (nd < 1 || sn_numel(x) == 0) return SANA_OK;
    sn_parallel_for(sn_numel(x) / ys[nd - 1], sn_permute_rows, &j);
    return SANA_OK;
}
