#!/usr/bin/env python3
"""Replays the fragment index formulas of kernels/flash_attention.cu on the PTX ISA's rules, in
plain Python with exact float arithmetic, for one warp: S = Q·Kᵀ through ldmatrix.x4 (Q as A, K as
B) and mma.m16n8k16, then O = P·V with P taken from the S accumulators and V through
ldmatrix.x4.trans. Prints the largest error against a direct product (rounding only, ~1e-14) and
exits 1 when any formula is wrong. No GPU needed; run it after changing an index in the kernel.

The rules (PTX ISA 9.7.14.5.8 and 9.7.14.5.15), g = lane >> 2, t = lane & 3:
  mma A (16x16): reg0 = A[g][2t, 2t+1], reg1 = A[g+8][2t, 2t+1], reg2 = A[g][2t+8, 2t+9],
                 reg3 = A[g+8][2t+8, 2t+9];  B (16x8): reg0 = B[2t, 2t+1][g], reg1 = B[2t+8, 2t+9][g];
  C (16x8): c0, c1 = C[g][2t, 2t+1], c2, c3 = C[g+8][2t, 2t+1].
  ldmatrix.x4: lanes 8i..8i+7 address the rows of matrix i; register i of lane l = matrix i's
  (row l/4, cols 2(l%4), 2(l%4)+1); .trans: (rows 2(l%4), 2(l%4)+1, col l/4).
"""
import math
import random
import sys


def ldmatrix_x4(smem, addr, trans):
    """addr[l] = (row, col) where the 16-byte row that lane l supplies starts."""
    regs = []
    for l in range(32):
        g, t = l >> 2, l & 3
        r = []
        for i in range(4):
            def m(row, col):
                a = addr[8 * i + row]
                return smem[a[0]][a[1] + col]
            r.append((m(2 * t, g), m(2 * t + 1, g)) if trans else (m(g, 2 * t), m(g, 2 * t + 1)))
        regs.append(r)
    return regs


def mma_m16n8k16(c, a, b0, b1):
    A = [[None] * 16 for _ in range(16)]
    B = [[None] * 8 for _ in range(16)]
    for l in range(32):
        g, t = l >> 2, l & 3
        for e in range(2):
            A[g][2 * t + e], A[g + 8][2 * t + e] = a[l][0][e], a[l][1][e]
            A[g][2 * t + 8 + e], A[g + 8][2 * t + 8 + e] = a[l][2][e], a[l][3][e]
            B[2 * t + e][g], B[2 * t + 8 + e][g] = b0[l][e], b1[l][e]
    out = []
    for l in range(32):
        g, t = l >> 2, l & 3
        pos = [(g, 2 * t), (g, 2 * t + 1), (g + 8, 2 * t), (g + 8, 2 * t + 1)]
        out.append([c[l][i] + sum(A[r][k] * B[k][n] for k in range(16)) for i, (r, n) in enumerate(pos)])
    return out


def check(D, BN, warp):
    rows = 64  # kBM: 4 warps of 16 rows
    rnd = lambda n: [[random.uniform(-1, 1) for _ in range(D)] for _ in range(n)]
    Q, K, V = rnd(rows), rnd(BN), rnd(BN)
    pad = lambda M: [r + [float("nan")] * 8 for r in M]  # the 16-byte row padding: never read
    sQ, sK, sV = pad(Q), pad(K), pad(V)
    s = [[[0.0] * 4 for _ in range(32)] for _ in range(BN // 8)]
    for kk in range(D // 16):
        a = ldmatrix_x4(sQ, [(warp * 16 + (l & 15), kk * 16 + (l >> 4) * 8) for l in range(32)], False)
        for j in range(0, BN // 8, 2):
            bk = ldmatrix_x4(sK, [(j * 8 + (l & 7) + (l >> 4) * 8, kk * 16 + ((l >> 3) & 1) * 8)
                                  for l in range(32)], False)
            s[j] = mma_m16n8k16(s[j], a, [r[0] for r in bk], [r[1] for r in bk])
            s[j + 1] = mma_m16n8k16(s[j + 1], a, [r[2] for r in bk], [r[3] for r in bk])
    err_s = 0.0
    for l in range(32):
        g, t = l >> 2, l & 3
        for j in range(BN // 8):
            for e in range(4):
                i, key = warp * 16 + g + 8 * (e >> 1), j * 8 + 2 * t + (e & 1)
                err_s = max(err_s, abs(sum(Q[i][d] * K[key][d] for d in range(D)) - s[j][l][e]))
    p = [[[math.exp(0.1 * x) for x in s[j][l]] for l in range(32)] for j in range(BN // 8)]
    o = [[[0.0] * 4 for _ in range(32)] for _ in range(D // 8)]
    for kk in range(BN // 16):
        a = [((p[2 * kk][l][0], p[2 * kk][l][1]), (p[2 * kk][l][2], p[2 * kk][l][3]),
              (p[2 * kk + 1][l][0], p[2 * kk + 1][l][1]), (p[2 * kk + 1][l][2], p[2 * kk + 1][l][3]))
             for l in range(32)]
        for j in range(0, D // 8, 2):
            bv = ldmatrix_x4(sV, [(kk * 16 + (l & 7) + ((l >> 3) & 1) * 8, j * 8 + (l >> 4) * 8)
                                  for l in range(32)], True)
            o[j] = mma_m16n8k16(o[j], a, [r[0] for r in bv], [r[1] for r in bv])
            o[j + 1] = mma_m16n8k16(o[j + 1], a, [r[2] for r in bv], [r[3] for r in bv])
    err_o = 0.0
    for l in range(32):  # the output staging: row g gets (c0, c1), row g + 8 (c2, c3) of each d block
        g, t = l >> 2, l & 3
        for j in range(D // 8):
            for e in range(4):
                i, d = warp * 16 + g + 8 * (e >> 1), j * 8 + 2 * t + (e & 1)
                P = [math.exp(0.1 * sum(Q[i][x] * K[key][x] for x in range(D))) for key in range(BN)]
                err_o = max(err_o, abs(sum(P[key] * V[key][d] for key in range(BN)) - o[j][l][e]))
    ok = err_s < 1e-9 and err_o < 1e-9
    print(f"D {D:3d} BN {BN:2d} warp {warp}: S err {err_s:.2g}, P·V err {err_o:.2g} {'ok' if ok else 'WRONG'}")
    return ok


if __name__ == "__main__":
    random.seed(1)
    results = [check(D, 32 if D >= 256 else 64, w) for D, w in ((32, 0), (64, 3), (128, 1), (256, 2))]
    sys.exit(0 if all(results) else 1)
