/* The PTX ISA's fragment rules for the warp instructions that tests/cuemu/ptx.cuh emulates, as
 * plain per-lane arithmetic (C99 and C++, no scheduler): which element of which matrix a lane's
 * register holds, and the one lane's result of a collective given what all 32 lanes put in. The
 * rules are transcribed from the ISA text, not from any kernel:
 *
 *   mma.m16n8k16, .f16 / .bf16 multiplicands, .f32 accumulators (PTX ISA 9.7.14.5.8), with
 *   groupID = laneid >> 2, threadID_in_group = laneid % 4; a register holds two 16-bit elements,
 *   element i of the fragment is register i / 2, half i % 2 (low half first):
 *     A (16x16), a0..a7:  row = groupID            for ai with 0 <= i < 2 || 4 <= i < 6
 *                               groupID + 8        otherwise
 *                         col = threadID_in_group * 2 + (i & 1)       for i < 4
 *                               threadID_in_group * 2 + (i & 1) + 8   for i >= 4
 *     B (16x8), b0..b3:   row = threadID_in_group * 2 + (i & 1)       for i < 2
 *                               threadID_in_group * 2 + (i & 1) + 8   for i >= 2
 *                         col = groupID
 *     C, D (16x8), c0..c3 (one float each):
 *                         row = groupID for i < 2, groupID + 8 for i >= 2
 *                         col = threadID_in_group * 2 + (i & 1)
 *   ldmatrix.m8n8.x4.b16 (PTX ISA 9.7.14.5.15): lanes 8m..8m+7 give the addresses of rows 0..7 of
 *   matrix m (16 bytes each); destination register m of every lane holds a fragment of matrix m,
 *   "each thread loads fragments of a row, thread 0 receiving the first fragment, a group of four
 *   threads an entire row": lane l gets row l / 4, elements 2 (l % 4) and 2 (l % 4) + 1 (low
 *   half first). With .trans the matrix is loaded in column-major format: the addressed rows are
 *   its columns, so lane l gets element l / 4 of addressed rows 2 (l % 4) and 2 (l % 4) + 1.
 *
 * The gather directions (which lane holds A[r][c]) are the inverses of these formulas;
 * tests/test_ptx_fragments.c checks them against the forward formulas for every lane and element. */
#ifndef SANA_CUEMU_PTX_FRAG_H
#define SANA_CUEMU_PTX_FRAG_H

#include <stdint.h>
#include <string.h>

/* element type of the 16-bit multiplicands */
enum { CUEMU_F16 = 1, CUEMU_BF16 = 2 };

static inline float cuemu_bf16_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline float cuemu_f16_f32(uint16_t h) {
    uint32_t e = (h >> 10) & 31, m = h & 1023, u;
    float f;
    if (e == 0) {
        f = (float)m * (1.0f / 16777216.0f); /* zero, subnormal: m 2^-24, exact */
        return (h & 0x8000) ? -f : f;
    }
    /* normal: rebias the exponent (15 -> 127); inf and NaN keep an all-ones exponent */
    u = (uint32_t)(h & 0x8000) << 16 | (e == 31 ? 255u : e + 112) << 23 | m << 13;
    memcpy(&f, &u, 4);
    return f;
}

static inline float cuemu_elem(uint32_t reg, int half, int type) {
    uint16_t h = (uint16_t)(half ? reg >> 16 : reg & 0xFFFF);
    return type == CUEMU_BF16 ? cuemu_bf16_f32(h) : cuemu_f16_f32(h);
}

/* --- forward: (lane, element index) -> (row, col), the ISA's formulas ------------------------ */
static inline void cuemu_mma_a_pos(int lane, int i, int *row, int *col) {
    int g = lane >> 2, t = lane % 4;
    *row = (i < 2 || (i >= 4 && i < 6)) ? g : g + 8;
    *col = i < 4 ? t * 2 + (i & 1) : t * 2 + (i & 1) + 8;
}
static inline void cuemu_mma_b_pos(int lane, int i, int *row, int *col) {
    int g = lane >> 2, t = lane % 4;
    *row = i < 2 ? t * 2 + (i & 1) : t * 2 + (i & 1) + 8;
    *col = g;
}
static inline void cuemu_mma_c_pos(int lane, int i, int *row, int *col) {
    int g = lane >> 2, t = lane % 4;
    *row = i < 2 ? g : g + 8;
    *col = t * 2 + (i & 1);
}

/* --- inverse: (row, col) -> the lane and element index holding it --------------------------- */
static inline void cuemu_mma_a_owner(int row, int col, int *lane, int *i) {
    *lane = (row & 7) * 4 + (col & 7) / 2;
    *i = (col & 1) + (row >= 8 ? 2 : 0) + (col >= 8 ? 4 : 0);
}
static inline void cuemu_mma_b_owner(int row, int col, int *lane, int *i) {
    *lane = col * 4 + (row & 7) / 2;
    *i = (row & 1) + (row >= 8 ? 2 : 0);
}

/* What one lane puts into an mma: its A and B registers. */
typedef struct cuemu_mma_frag {
    uint32_t a[4], b[2];
} cuemu_mma_frag;

/* Lane `lane`'s d[0..3] = C + A·B at its four C/D positions, A and B assembled from all 32
 * lanes' fragments. Products of two 16-bit floats are exact in double and the 16 of a dot
 * product are summed in double with C, then rounded to float once (the GPU's internal
 * accumulation order and precision are not specified; this is the exact sum, rounded). */
static inline void cuemu_mma_lane(const cuemu_mma_frag *all, int type, int lane, const float c[4], float d[4]) {
    /* this lane's outputs lie in two rows of A (c0, c1: one row; c2, c3: the other) and two
     * columns of B (c0, c2: one; c1, c3: the other): gathered once */
    double a[2][16], b[2][16];
    int row[4], col[4];
    for (int e = 0; e < 4; e++) cuemu_mma_c_pos(lane, e, &row[e], &col[e]);
    for (int k = 0; k < 16; k++)
        for (int h = 0; h < 2; h++) {
            int la, ia, lb, ib;
            cuemu_mma_a_owner(row[2 * h], k, &la, &ia);
            cuemu_mma_b_owner(k, col[h], &lb, &ib);
            a[h][k] = cuemu_elem(all[la].a[ia >> 1], ia & 1, type);
            b[h][k] = cuemu_elem(all[lb].b[ib >> 1], ib & 1, type);
        }
    for (int e = 0; e < 4; e++) {
        const double *x = a[e >> 1], *y = b[e & 1];
        double s = c[e];
        for (int k = 0; k < 16; k++) s += x[k] * y[k];
        d[e] = (float)s;
    }
}

/* Lane `lane`'s four registers of ldmatrix.m8n8.x4(.trans).b16, rows[j] the address lane j gave. */
static inline void cuemu_ldsm_x4_lane(const void *const *rows, int trans, int lane, uint32_t r[4]) {
    for (int m = 0; m < 4; m++) {
        uint16_t h[2];
        for (int e = 0; e < 2; e++) {
            /* (addressed row, element within it) of this half */
            int ar = trans ? 2 * (lane % 4) + e : lane / 4;
            int ec = trans ? lane / 4 : 2 * (lane % 4) + e;
            memcpy(&h[e], (const unsigned char *)rows[8 * m + ar] + 2 * ec, 2);
        }
        r[m] = (uint32_t)h[0] | (uint32_t)h[1] << 16;
    }
}

#endif
