/* The fragment rules of the emulated PTX warp instructions (tests/cuemu/ptx_frag.h), without the
 * emulator: each lane's share of a collective is computed here from all 32 lanes' inputs laid
 * out by hand.
 *   - the gather helpers (which lane holds A[r][c], B[r][c]) invert the ISA's formulas exactly:
 *     every (lane, element) of A and B is reached once;
 *   - f16 / bf16 bit patterns decode to the right floats (normal, subnormal, inf, sign);
 *   - ldmatrix.x4 then mma.m16n8k16 compute C + A·B: A row-major, B both as "col" (Bᵀ rows,
 *     plain ldmatrix) and row-major (ldmatrix.trans), bf16 and f16, against a direct product.
 *     The addresses each lane gives are derived here from the ISA's tables (matrix m of A is
 *     the 8x8 block holding a_{2m}, a_{2m+1}), not taken from any kernel; each product is also
 *     run with A, then B, laid out by hand from the mma formulas instead of by ldmatrix. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cuemu/ptx_frag.h"
#include "harness.h"

static void check_inverses(void) {
    int seen_a[16][16] = {{0}}, seen_b[16][8] = {{0}};
    for (int lane = 0; lane < 32; lane++) {
        for (int i = 0; i < 8; i++) {
            int r, c, l2, i2;
            cuemu_mma_a_pos(lane, i, &r, &c);
            cuemu_mma_a_owner(r, c, &l2, &i2);
            CHECK(l2 == lane && i2 == i, "A: lane %d a%d at (%d,%d) maps back to lane %d a%d", lane, i, r, c,
                  l2, i2);
            seen_a[r][c]++;
        }
        for (int i = 0; i < 4; i++) {
            int r, c, l2, i2;
            cuemu_mma_b_pos(lane, i, &r, &c);
            cuemu_mma_b_owner(r, c, &l2, &i2);
            CHECK(l2 == lane && i2 == i, "B: lane %d b%d at (%d,%d) maps back to lane %d b%d", lane, i, r, c,
                  l2, i2);
            seen_b[r][c]++;
        }
    }
    for (int r = 0; r < 16; r++)
        for (int c = 0; c < 16; c++) CHECK(seen_a[r][c] == 1, "A[%d][%d] held %d times", r, c, seen_a[r][c]);
    for (int r = 0; r < 16; r++)
        for (int c = 0; c < 8; c++) CHECK(seen_b[r][c] == 1, "B[%d][%d] held %d times", r, c, seen_b[r][c]);
}

/* A few positions read off the ISA's tables by hand (lane 6: groupID 1, threadID_in_group 2; lane
 * 31: 7, 3), so that an error in a forward formula cannot hide behind its own inverse. */
static void check_spots(void) {
    static const int a6[8][2] = {{1, 4}, {1, 5}, {9, 4}, {9, 5}, {1, 12}, {1, 13}, {9, 12}, {9, 13}};
    static const int b6[4][2] = {{4, 1}, {5, 1}, {12, 1}, {13, 1}};
    static const int c6[4][2] = {{1, 4}, {1, 5}, {9, 4}, {9, 5}};
    int r, c;
    for (int i = 0; i < 8; i++) {
        cuemu_mma_a_pos(6, i, &r, &c);
        CHECK(r == a6[i][0] && c == a6[i][1], "lane 6 a%d at (%d,%d)", i, r, c);
    }
    for (int i = 0; i < 4; i++) {
        cuemu_mma_b_pos(6, i, &r, &c);
        CHECK(r == b6[i][0] && c == b6[i][1], "lane 6 b%d at (%d,%d)", i, r, c);
        cuemu_mma_c_pos(6, i, &r, &c);
        CHECK(r == c6[i][0] && c == c6[i][1], "lane 6 c%d at (%d,%d)", i, r, c);
    }
    cuemu_mma_a_pos(31, 7, &r, &c);
    CHECK(r == 15 && c == 15, "lane 31 a7 at (%d,%d)", r, c);
    cuemu_mma_b_pos(31, 3, &r, &c);
    CHECK(r == 15 && c == 7, "lane 31 b3 at (%d,%d)", r, c);
    cuemu_mma_c_pos(31, 3, &r, &c);
    CHECK(r == 15 && c == 7, "lane 31 c3 at (%d,%d)", r, c);
    /* ldmatrix: element (row, col) of matrix m holds 256 m + 16 row + col; lane 6 register 2 is
     * matrix 2's row 1, cols 4, 5 (plain) or rows 4, 5, col 1 (.trans) */
    uint16_t mem[4][8][8];
    const void *rows[32];
    for (int m = 0; m < 4; m++)
        for (int i = 0; i < 8; i++) {
            for (int j = 0; j < 8; j++) mem[m][i][j] = (uint16_t)(256 * m + 16 * i + j);
            rows[8 * m + i] = mem[m][i];
        }
    uint32_t reg[4];
    cuemu_ldsm_x4_lane(rows, 0, 6, reg);
    CHECK(reg[2] == (0x214u | 0x215u << 16), "ldmatrix lane 6 r2 = %08x", reg[2]);
    cuemu_ldsm_x4_lane(rows, 1, 6, reg);
    CHECK(reg[2] == (0x241u | 0x251u << 16), "ldmatrix.trans lane 6 r2 = %08x", reg[2]);
    cuemu_ldsm_x4_lane(rows, 1, 31, reg);
    CHECK(reg[3] == (0x367u | 0x377u << 16), "ldmatrix.trans lane 31 r3 = %08x", reg[3]);
}

static void check_decode(void) {
    CHECK(cuemu_f16_f32(0x3C00) == 1.0f, "f16 1");
    CHECK(cuemu_f16_f32(0xC000) == -2.0f, "f16 -2");
    CHECK(cuemu_f16_f32(0x7BFF) == 65504.0f, "f16 max");
    CHECK(cuemu_f16_f32(0x0001) == ldexpf(1.0f, -24), "f16 smallest subnormal");
    CHECK(cuemu_f16_f32(0x3555) == 1365.0f / 4096.0f, "f16 0x3555 (%.9g)", cuemu_f16_f32(0x3555));
    CHECK(isinf(cuemu_f16_f32(0xFC00)) && cuemu_f16_f32(0xFC00) < 0, "f16 -inf");
    CHECK(cuemu_bf16_f32(0x3F80) == 1.0f && cuemu_bf16_f32(0xC040) == -3.0f, "bf16 1, -3");
    CHECK(cuemu_elem(0xC0003C00u, 0, CUEMU_F16) == 1.0f && cuemu_elem(0xC0003C00u, 1, CUEMU_F16) == -2.0f,
          "low half first");
}

/* a random 16-bit float of the type whose value is in [-1, 1) */
static uint16_t rand16(int type, uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    float x = (float)((*s >> 40) & 0xFFFF) / 32768.0f - 1.0f;
    if (type == CUEMU_BF16) {
        uint32_t u;
        memcpy(&u, &x, 4);
        return (uint16_t)(u >> 16); /* truncation: any bf16 value will do */
    }
    /* f16 of x: 10 fraction bits of |x| in [2^-14, 1) (smaller: zero) */
    float a = fabsf(x);
    if (a < ldexpf(1.0f, -14)) return 0;
    int e;
    float m = frexpf(a, &e); /* a = m 2^e, m in [0.5, 1) */
    uint16_t h = (uint16_t)(((e - 1 + 15) << 10) | ((int)(m * 2048.0f) & 1023));
    return x < 0 ? (uint16_t)(h | 0x8000) : h;
}

static void check_product(int type, int b_trans, uint64_t seed) {
    uint16_t A[16][16], Bt[8][16], B[16][8]; /* Bt[n][k] = B[k][n] */
    float C[16][8];
    uint64_t s = seed;
    for (int r = 0; r < 16; r++)
        for (int c = 0; c < 16; c++) A[r][c] = rand16(type, &s);
    for (int k = 0; k < 16; k++)
        for (int n = 0; n < 8; n++) Bt[n][k] = B[k][n] = rand16(type, &s);
    for (int r = 0; r < 16; r++)
        for (int n = 0; n < 8; n++) C[r][n] = (float)((int)(s = s * 6364136223846793005ull + 1) % 100) / 64.0f;

    /* A: register m of the mma is a_{2m}, a_{2m+1}: rows g (+8 for m = 1, 3), columns 2t.. (+8 for
     * m = 2, 3): the 8x8 block at row 8 (m & 1), column 8 (m >> 1), one ldmatrix matrix per block */
    const void *arows[32], *brows[32];
    for (int m = 0; m < 4; m++)
        for (int r = 0; r < 8; r++) arows[8 * m + r] = &A[8 * (m & 1) + r][8 * (m >> 1)];
    /* B: b0, b1 = B[2t, 2t+1][g], b2, b3 = B[2t+8, 2t+9][g]. As Bᵀ rows (plain): matrix 0 = Bt rows
     * n = 0..7, k 0..7; matrix 1 = k 8..15. Row-major B (.trans): matrix 0 = B rows k 0..7 read as
     * columns, matrix 1 = rows k 8..15. Matrices 2, 3 repeat them. */
    for (int m = 0; m < 4; m++)
        for (int r = 0; r < 8; r++)
            brows[8 * m + r] = b_trans ? (const void *)&B[8 * (m & 1) + r][0] : (const void *)&Bt[r][8 * (m & 1)];

    /* the same fragments laid out by hand from the mma formulas (ptx_frag.h's forward rules):
     * ldmatrix paired with a hand-made operand catches what a consistent error in both would hide
     * (a permutation of k applied to A and B alike leaves A·B unchanged) */
    uint32_t ha[32][4] = {{0}}, hb[32][2] = {{0}};
    for (int l = 0; l < 32; l++) {
        for (int i = 0; i < 8; i++) {
            int r, c;
            cuemu_mma_a_pos(l, i, &r, &c);
            ha[l][i >> 1] |= (uint32_t)A[r][c] << (16 * (i & 1));
        }
        for (int i = 0; i < 4; i++) {
            int r, c;
            cuemu_mma_b_pos(l, i, &r, &c);
            hb[l][i >> 1] |= (uint32_t)B[r][c] << (16 * (i & 1));
        }
    }
    double worst = 0;
    for (int how = 0; how < 3; how++) { /* 0: both by ldmatrix, 1: A by hand, 2: B by hand */
        cuemu_mma_frag all[32];
        for (int l = 0; l < 32; l++) {
            uint32_t rb[4];
            cuemu_ldsm_x4_lane(arows, 0, l, all[l].a);
            cuemu_ldsm_x4_lane(brows, b_trans, l, rb);
            all[l].b[0] = rb[0];
            all[l].b[1] = rb[1];
            CHECK(rb[2] == rb[0] && rb[3] == rb[1], "repeated matrices differ");
            if (how == 1) memcpy(all[l].a, ha[l], sizeof ha[l]);
            if (how == 2) memcpy(all[l].b, hb[l], sizeof hb[l]);
        }
        for (int l = 0; l < 32; l++) {
            float c[4], d[4];
            for (int e = 0; e < 4; e++) {
                int r, n;
                cuemu_mma_c_pos(l, e, &r, &n);
                c[e] = C[r][n];
            }
            cuemu_mma_lane(all, type, l, c, d);
            for (int e = 0; e < 4; e++) {
                int r, n;
                cuemu_mma_c_pos(l, e, &r, &n);
                double ref = C[r][n], mag = fabs(C[r][n]);
                for (int k = 0; k < 16; k++) {
                    double x = cuemu_elem(A[r][k], 0, type), y = cuemu_elem(B[k][n], 0, type);
                    ref += x * y;
                    mag += fabs(x * y);
                }
                double err = fabs(d[e] - ref) / (mag > 0 ? mag : 1);
                if (err > worst) worst = err;
            }
        }
    }
    printf("%s, B %s: max error %.3g (of the sum of |terms|)\n", type == CUEMU_BF16 ? "bf16" : "f16 ",
           b_trans ? "row-major (ldmatrix.trans)" : "as Bt rows (ldmatrix)    ", worst);
    CHECK(worst <= 1e-7, "C + A·B off by %.3g", worst); /* one float rounding */
}

int main(void) {
    check_inverses();
    check_spots();
    check_decode();
    for (int type = CUEMU_F16; type <= CUEMU_BF16; type++)
        for (int tr = 0; tr < 2; tr++) check_product(type, tr, 77 + 10 * (uint64_t)type + (uint64_t)tr);
    return tu_finish("test_ptx_fragments");
}
