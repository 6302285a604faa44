/* DC-AE ops on the CPU: a row-banded convolution (with fused nearest upsampling), the per-pixel
 * channel RMSNorm, the multi-scale ReLU linear attention, and the parameter-free up/down
 * shortcuts of residual autoencoding. Element offsets are 64-bit throughout. */
#include <math.h>
#include <string.h>

#include <omp.h>

#include "backend/cpu/cpu.h"

/* One output row at a time: im2col of that row into cols[Ci*kh*kw, Wo], then one GEMM
 * W[Co, K] · cols -> y[:, row, :]. Every output element therefore sees exactly the same GEMM
 * shape and operands whatever the band it belongs to, which is what makes banded decoding
 * bit-identical to whole-image decoding; the scratch is one row's columns. */
sana_status sn_cpu_conv2d_band(sn_backend *be, const sn_tensor *x, int64_t x_row0, int64_t h_full,
                               const sn_tensor *w, const sn_tensor *b, int32_t up, int32_t stride,
                               int32_t pad, sn_tensor *y, int64_t y_row0) {
    const int64_t B = x->shape[0], Ci = x->shape[1], Hx = x->shape[2], Wx = x->shape[3];
    const int64_t Co = w->shape[0], kh = w->shape[2], kw = w->shape[3];
    const int64_t Ho = y->shape[2], Wo = y->shape[3];
    const int64_t Hin = h_full * up, Win = Wx * up, K = Ci * kh * kw;
    const float *X = SN_CF(x), *Wt = SN_CF(w), *bias = b ? SN_CF(b) : NULL;
    float *Y = SN_F(y);

    sn_arena_mark m = sn_scratch_mark(be);
    float *cols = sn_arena_alloc(&be->scratch, (size_t)(K * Wo) * sizeof(float));
    if (!cols) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "conv2d_band: %lld bytes of columns",
                              (long long)(K * Wo * 4));
    /* One parallel region per output row: the im2col rows are shared out, then every thread
     * computes its slice of the row's GEMM (sn_cpu_sgemm_team: the cut depends only on the
     * shape, so bands stay exact) and adds the bias to it. */
    const int nt = sn_cpu_gemm_threads(Co, Wo, K);
    sn_cpu_blas_enter();
    for (int64_t n = 0; n < B; n++) {
        const float *xn = X + n * Ci * Hx * Wx;
        float *yn = Y + n * Co * Ho * Wo;
        for (int64_t r = 0; r < Ho; r++) {
            const int64_t oy = y_row0 + r; /* row in the whole output */
            float *yr = yn + r * Wo;
#pragma omp parallel num_threads(nt)
            {
#pragma omp for collapse(2) schedule(static)
                for (int64_t ci = 0; ci < Ci; ci++)
                    for (int64_t ky = 0; ky < kh; ky++) {
                        const int64_t iy = oy * stride - pad + ky; /* row of the (upsampled) input */
                        for (int64_t kx = 0; kx < kw; kx++) {
                            float *row = cols + ((ci * kh + ky) * kw + kx) * Wo;
                            if (iy < 0 || iy >= Hin) {
                                memset(row, 0, (size_t)Wo * sizeof(float));
                                continue;
                            }
                            const float *src = xn + (ci * Hx + (iy / up - x_row0)) * Wx;
                            /* output columns whose input column is inside: [lo, hi) */
                            int64_t lo = 0, hi = Wo;
                            while (lo < Wo && lo * stride - pad + kx < 0) lo++;
                            while (hi > lo && (hi - 1) * stride - pad + kx >= Win) hi--;
                            for (int64_t ox = 0; ox < lo; ox++) row[ox] = 0.0f;
                            for (int64_t ox = hi; ox < Wo; ox++) row[ox] = 0.0f;
                            const int64_t off = kx - pad;
                            if (stride == 1 && up == 1) {
                                memcpy(row + lo, src + lo + off, (size_t)(hi - lo) * sizeof(float));
                            } else if (stride == 1 && up == 2) {
                                for (int64_t ox = lo; ox < hi; ox++) row[ox] = src[(ox + off) >> 1];
                            } else if (up == 1) {
                                for (int64_t ox = lo; ox < hi; ox++) row[ox] = src[ox * stride + off];
                            } else {
                                for (int64_t ox = lo; ox < hi; ox++)
                                    row[ox] = src[(ox * stride + off) / up];
                            }
                        }
                    }
                const int tid = omp_get_thread_num(), team = omp_get_num_threads();
                sn_cpu_sgemm_team(tid, team, 0, Co, Wo, K, 1.0f, Wt, K, cols, Wo, 0.0f, yr, Ho * Wo);
                if (bias) {
                    sn_gemm_slice sl;
                    sn_cpu_gemm_slice(Co, Wo, tid, team, &sl);
                    for (int64_t c = sl.m0; c < sl.m1; c++)
                        for (int64_t ox = sl.n0; ox < sl.n1; ox++) yr[c * Ho * Wo + ox] += bias[c];
                }
            }
        }
    }
    sn_cpu_blas_leave();
    sn_scratch_reset(be, m);
    return SANA_OK;
}

/* RMSNorm over the channel axis of NCHW, per pixel: sum of squares in double, then
 * y = act(x * rsqrt(mean + eps) * w + b), the affine part in float as the reference does. */
sana_status sn_cpu_channel_norm(sn_backend *be, const sn_tensor *x, const sn_tensor *w,
                                const sn_tensor *b, float eps, sn_act act, sn_tensor *y) {
    (void)be;
    const int64_t B = x->shape[0], C = x->shape[1], P = x->shape[2] * x->shape[3];
    const float *X = SN_CF(x), *Wv = SN_CF(w), *Bv = b ? SN_CF(b) : NULL;
    float *Y = SN_F(y);
    const int64_t blk = 256; /* pixels per task: one task keeps its sums in registers/L1 */
    const int64_t nblk = (P + blk - 1) / blk;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < B; n++)
        for (int64_t t = 0; t < nblk; t++) {
            const int64_t p0 = t * blk, np = P - p0 < blk ? P - p0 : blk;
            double ss[256];
            float inv[256];
            const float *xn = X + n * C * P + p0;
            float *yn = Y + n * C * P + p0;
            for (int64_t i = 0; i < np; i++) ss[i] = 0.0;
            for (int64_t c = 0; c < C; c++)
                for (int64_t i = 0; i < np; i++) {
                    const double v = xn[c * P + i];
                    ss[i] += v * v;
                }
            for (int64_t i = 0; i < np; i++)
                inv[i] = (float)(1.0 / sqrt(ss[i] / (double)C + (double)eps));
            for (int64_t c = 0; c < C; c++) {
                const float wc = Wv[c], bc = Bv ? Bv[c] : 0.0f;
                for (int64_t i = 0; i < np; i++)
                    yn[c * P + i] = sn_cpu_act(act, xn[c * P + i] * inv[i] * wc + bc);
            }
        }
    return SANA_OK;
}

/* ReLU linear attention per head, diffusers' formulation: v padded with a row of ones,
 * s = [v; 1] · relu(k)ᵀ ([d+1, d]), o = s · relu(q) ([d+1, N]), y = o[:d] / (o[d] + eps). All in
 * fp32 (GEMM sums in float). */
sana_status sn_cpu_linear_attention_relu(sn_backend *be, const sn_tensor *qkv, float eps,
                                         sn_tensor *y) {
    const int64_t B = qkv->shape[0], G = qkv->shape[1], d = qkv->shape[2] / 3, N = qkv->shape[3];
    const float *X = SN_CF(qkv);
    float *Y = SN_F(y);
    sn_arena_mark m = sn_scratch_mark(be);
    const size_t need = (size_t)((2 * d + 2 * (d + 1)) * N + (d + 1) * d) * sizeof(float);
    float *q = sn_arena_alloc(&be->scratch, need);
    if (!q) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "linear attention: %zu bytes of scratch", need);
    float *k = q + d * N, *vp = k + d * N, *o = vp + (d + 1) * N, *s = o + (d + 1) * N;
    for (int64_t n = 0; n < B; n++)
        for (int64_t g = 0; g < G; g++) {
            const float *h = X + (n * G + g) * 3 * d * N;
#pragma omp parallel for schedule(static)
            for (int64_t i = 0; i < d * N; i++) {
                q[i] = h[i] > 0.0f ? h[i] : 0.0f;
                k[i] = h[d * N + i] > 0.0f ? h[d * N + i] : 0.0f;
                vp[i] = h[2 * d * N + i];
            }
            for (int64_t i = 0; i < N; i++) vp[d * N + i] = 1.0f;
            sn_cpu_sgemm(1, d + 1, d, N, 1.0f, vp, N, k, N, 0.0f, s, d);
            sn_cpu_sgemm(0, d + 1, N, d, 1.0f, s, d, q, N, 0.0f, o, N);
            float *yh = Y + (n * G + g) * d * N;
#pragma omp parallel for schedule(static)
            for (int64_t i = 0; i < N; i++) {
                const float den = o[d * N + i] + eps;
                for (int64_t c = 0; c < d; c++) yh[c * N + i] = o[c * N + i] / den;
            }
        }
    sn_scratch_reset(be, m);
    return SANA_OK;
}

/* Two-pass form for token chunks: the state s = [v; 1] · relu(k)ᵀ accumulates over chunks
 * (GEMM with beta = 1), then each chunk's tokens are read out. */
sana_status sn_cpu_linear_attention_state(sn_backend *be, const sn_tensor *qkv, sn_tensor *s) {
    const int64_t B = qkv->shape[0], G = qkv->shape[1], d = qkv->shape[2] / 3, N = qkv->shape[3];
    const float *X = SN_CF(qkv);
    float *S = SN_F(s);
    sn_arena_mark m = sn_scratch_mark(be);
    const size_t need = (size_t)((2 * d + 1) * N) * sizeof(float);
    float *k = sn_arena_alloc(&be->scratch, need);
    if (!k) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "linear attention state: %zu bytes of scratch", need);
    float *vp = k + d * N;
    for (int64_t n = 0; n < B; n++)
        for (int64_t g = 0; g < G; g++) {
            const float *h = X + (n * G + g) * 3 * d * N;
#pragma omp parallel for schedule(static)
            for (int64_t i = 0; i < d * N; i++) {
                k[i] = h[d * N + i] > 0.0f ? h[d * N + i] : 0.0f;
                vp[i] = h[2 * d * N + i];
            }
            for (int64_t i = 0; i < N; i++) vp[d * N + i] = 1.0f;
            sn_cpu_sgemm(1, d + 1, d, N, 1.0f, vp, N, k, N, 1.0f, S + (n * G + g) * (d + 1) * d, d);
        }
    sn_scratch_reset(be, m);
    return SANA_OK;
}

sana_status sn_cpu_linear_attention_apply(sn_backend *be, const sn_tensor *qkv, const sn_tensor *s,
                                          float eps, sn_tensor *y) {
    const int64_t B = qkv->shape[0], G = qkv->shape[1], d = qkv->shape[2] / 3, N = qkv->shape[3];
    const float *X = SN_CF(qkv), *S = SN_CF(s);
    float *Y = SN_F(y);
    sn_arena_mark m = sn_scratch_mark(be);
    const size_t need = (size_t)((2 * d + 1) * N) * sizeof(float);
    float *q = sn_arena_alloc(&be->scratch, need);
    if (!q) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "linear attention apply: %zu bytes of scratch", need);
    float *o = q + d * N;
    for (int64_t n = 0; n < B; n++)
        for (int64_t g = 0; g < G; g++) {
            const float *h = X + (n * G + g) * 3 * d * N;
#pragma omp parallel for schedule(static)
            for (int64_t i = 0; i < d * N; i++) q[i] = h[i] > 0.0f ? h[i] : 0.0f;
            sn_cpu_sgemm(0, d + 1, N, d, 1.0f, S + (n * G + g) * (d + 1) * d, d, q, N, 0.0f, o, N);
            float *yh = Y + (n * G + g) * d * N;
#pragma omp parallel for schedule(static)
            for (int64_t i = 0; i < N; i++) {
                const float den = o[d * N + i] + eps;
                for (int64_t c = 0; c < d; c++) yh[c * N + i] = o[c * N + i] / den;
            }
        }
    sn_scratch_reset(be, m);
    return SANA_OK;
}

/* y += pixel_shuffle(repeat_interleave(x, r, channels), f), r = f²·Co/Ci:
 * y[c, fY+i, fX+j] += x[(f²c + f·i + j) / r, Y, X]. Rows are banded: y holds rows
 * [y_row0, ...) of the whole output and x rows [x_row0, ...) of the whole input. */
sana_status sn_cpu_shortcut_dup(sn_backend *be, const sn_tensor *x, int64_t x_row0, int32_t f,
                                sn_tensor *y, int64_t y_row0) {
    (void)be;
    const int64_t B = y->shape[0], Co = y->shape[1], Hy = y->shape[2], Wy = y->shape[3];
    const int64_t Ci = x->shape[1], Hx = x->shape[2], Wx = x->shape[3];
    const int64_t r = (int64_t)f * f * Co / Ci;
    const float *X = SN_CF(x);
    float *Y = SN_F(y);
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < B; n++)
        for (int64_t c = 0; c < Co; c++)
            for (int64_t row = 0; row < Hy; row++) {
                const int64_t oy = y_row0 + row, i = oy % f;
                const int64_t sy = oy / f - x_row0;
                float *yr = Y + ((n * Co + c) * Hy + row) * Wy;
                for (int64_t ox = 0; ox < Wy; ox++) {
                    const int64_t j = ox % f, sc = ((int64_t)f * f * c + f * i + j) / r;
                    yr[ox] += X[((n * Ci + sc) * Hx + sy) * Wx + ox / f];
                }
            }
    return SANA_OK;
}

/* y += mean over consecutive groups of g = f²·Ci/Co channels of pixel_unshuffle(x, f), where
 * pixel_unshuffle(x)[c·f² + i·f + j, Y, X] = x[c, fY+i, fX+j]. Sum in float in channel order,
 * then divide by g (torch's mean). */
sana_status sn_cpu_shortcut_avg(sn_backend *be, const sn_tensor *x, int32_t f, sn_tensor *y) {
    (void)be;
    const int64_t B = y->shape[0], Co = y->shape[1], Hy = y->shape[2], Wy = y->shape[3];
    const int64_t Ci = x->shape[1], Hx = x->shape[2], Wx = x->shape[3];
    const int64_t g = (int64_t)f * f * Ci / Co, ff = (int64_t)f * f;
    const float *X = SN_CF(x);
    float *Y = SN_F(y);
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < B; n++)
        for (int64_t o = 0; o < Co; o++)
            for (int64_t oy = 0; oy < Hy; oy++)
                for (int64_t ox = 0; ox < Wy; ox++) {
                    float s = 0.0f;
                    for (int64_t t = 0; t < g; t++) {
                        const int64_t u = o * g + t, c = u / ff, i = (u % ff) / f, j = u % f;
                        s += X[((n * Ci + c) * Hx + f * oy + i) * Wx + f * ox + j];
                    }
                    Y[((n * Co + o) * Hy + oy) * Wy + ox] += s / (float)g;
                }
    return SANA_OK;
}
