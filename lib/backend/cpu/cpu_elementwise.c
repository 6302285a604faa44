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

/* e^t for t in [-87, 88]: t = k ln2 + r (ln2 in two parts, |r| <= ln2/2), e^r by Cephes' degree-7
 * polynomial, times 2^k built in the exponent bits. Within ~1 ulp of expf, and only float
 * arithmetic, conversions and selects: it vectorizes, where glibc's expf is one call per value. */
static inline float sn_exp_poly(float t) {
    const float fx = t * 1.44269504088896341f + 0.5f;
    int32_t k = (int32_t)fx;
    k -= (float)k > fx; /* floor */
    const float kf = (float)k;
    float r = t - kf * 0.693359375f;
    r = r - kf * -2.12194440e-4f;
    float y = 1.9875691500e-4f;
    y = y * r + 1.3981999507e-3f;
    y = y * r + 8.3334519073e-3f;
    y = y * r + 4.1665795894e-2f;
    y = y * r + 1.6666665459e-1f;
    y = y * r + 5.0000001201e-1f;
    y = y * (r * r) + r + 1.0f;
    const uint32_t bits = (uint32_t)(k + 127) << 23;
    float p;
    memcpy(&p, &bits, sizeof p);
    return y * p;
}

/* a where c, else b, as bits: GCC keeps a float select as a branch (its compare may trap), which
 * stops the loop from vectorizing */
static inline float sn_select(int c, float a, float b) {
    uint32_t ua, ub;
    const uint32_t m = 0u - (uint32_t)c;
    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    ub = (ua & m) | (ub & ~m);
    memcpy(&b, &ub, sizeof b);
    return b;
}

/* SiLU over a row (the DiT's Mix-FFN expand and GLU gate, the DC-AE's ResBlocks):
 * y = x / (1 + e^-x) with e^-x from sn_exp_poly; y may be x. x is clamped at -88 (SiLU is
 * below 1e-36 in magnitude there; -inf gives that, not NaN) and e^-x's argument at -87 (for
 * x > 87, 1 + e^-x rounds to 1 either way). */
static SN_CPU_VECTOR void sn_silu_row(float *y, const float *xs, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const float x = sn_select(xs[i] < -88.0f, -88.0f, xs[i]);
        const float t = sn_select(x > 87.0f, 87.0f, x);
        y[i] = x / (1.0f + sn_exp_poly(-t));
    }
}

/* GELU, tanh form (Gemma-2's MLP gate, the caption projection): ½x(1 + tanh z) with
 * z = √(2/π)(x + 0.044715x³) is x / (1 + e^-2z), and e^-2z comes from sn_exp_poly: no tanhf
 * call per value. The exponent is clamped to [-87, 87]: above, 1 + e^-2z is 1 in float; below,
 * the result is under 1e-37 of x where ½x(1 + tanh z) rounds to 0 (±inf inputs: unspecified). */
static SN_CPU_VECTOR void sn_gelu_tanh_row(float *y, const float *xs, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const float x = xs[i], u = -1.5957691216057308f * (x + 0.044715f * x * x * x); /* -2z */
        const float t = sn_select(u > 87.0f, 87.0f, sn_select(u < -87.0f, -87.0f, u));
        y[i] = x / (1.0f + sn_exp_poly(t));
    }
}

/* y = act(x) over a row, y may be x: the vectorized kernels where there is one */
static void sn_act_row2(sn_act act, float *y, const float *x, int64_t n) {
    switch (act) {
    case SN_ACT_SILU: sn_silu_row(y, x, n); return;
    case SN_ACT_GELU_TANH: sn_gelu_tanh_row(y, x, n); return;
    case SN_ACT_RELU:
        for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        return;
    default:
        for (int64_t i = 0; i < n; i++) y[i] = sn_cpu_act(act, x[i]);
    }
}

void sn_cpu_act_row(sn_act act, float *y, int64_t n) {
    if (act != SN_ACT_NONE) sn_act_row2(act, y, y, n);
}

typedef struct {
    const float *X, *Bv;
    float *Y;
    sn_act act;
    float alpha, beta;
    int nd, full; /* full: b has a's shape (no broadcast) */
    sn_binop op;
    int64_t shape[SN_MAX_DIMS], stride[SN_MAX_DIMS]; /* binary: b's; permute: y's, x's per y axis */
} sn_elem_job;

static void sn_unary_range(void *p, int64_t i0, int64_t i1) {
    const sn_elem_job *j = p;
    if (j->act == SN_ACT_NONE) memmove(j->Y + i0, j->X + i0, (size_t)(i1 - i0) * sizeof(float));
    else sn_act_row2(j->act, j->Y + i0, j->X + i0, i1 - i0);
}

sana_status sn_cpu_unary(sn_backend *be, sn_act act, const sn_tensor *x, sn_tensor *y) {
    (void)be;
    sn_elem_job j = {.X = SN_CF(x), .Y = SN_F(y), .act = act};
    sn_parallel_for(sn_numel(x), sn_unary_range, &j);
    return SANA_OK;
}

/* y[k] = u[k] op v[k * vs] for k < n, vs 0 (v broadcast) or 1: one loop per case, so each
 * vectorizes */
static SN_CPU_VECTOR void sn_binary_row(sn_binop op, float *y, const float *u, const float *v, int64_t vs,
                                        int64_t n) {
    if (vs == 0) {
        const float c = v[0];
        if (op == SN_ADD) for (int64_t k = 0; k < n; k++) y[k] = u[k] + c;
        else if (op == SN_MUL) for (int64_t k = 0; k < n; k++) y[k] = u[k] * c;
        else for (int64_t k = 0; k < n; k++) y[k] = u[k] - c;
    } else {
        if (op == SN_ADD) for (int64_t k = 0; k < n; k++) y[k] = u[k] + v[k];
        else if (op == SN_MUL) for (int64_t k = 0; k < n; k++) y[k] = u[k] * v[k];
        else for (int64_t k = 0; k < n; k++) y[k] = u[k] - v[k];
    }
}

/* Elements [i0, i1) of y, a run of the last axis at a time (b's offset computed once per run);
 * a b as large as a is one run. */
static void sn_binary_range(void *p, int64_t i0, int64_t i1) {
    const sn_elem_job *j = p;
    if (j->full) {
        sn_binary_row(j->op, j->Y + i0, j->X + i0, j->Bv + i0, 1, i1 - i0);
        return;
    }
    const int last = j->nd - 1;
    const int64_t W = j->shape[last];
    for (int64_t i = i0; i < i1;) {
        int64_t n = W - i % W, bo = 0;
        if (n > i1 - i) n = i1 - i;
        for (int64_t rem = i, d = last; d >= 0; d--) {
            bo += (rem % j->shape[d]) * j->stride[d];
            rem /= j->shape[d];
        }
        sn_binary_row(j->op, j->Y + i, j->X + i, j->Bv + bo, j->stride[last], n);
        i += n;
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
    sn_elem_job j = {.X = SN_CF(a), .Bv = SN_CF(b), .Y = SN_F(y), .nd = nd, .op = op,
                     .full = sn_numel(b) == sn_numel(a)};
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
