/* The DC-AE decoder's 3x3 convolutions on the CPU by Winograd F(2x2, 3x3): every 2x2 tile of
 * output pixels costs 16 multiply-adds per input channel instead of 36, so the GEMMs (most of
 * a decode's cost) shrink 2.25x. Per block of tiles:
 *
 *   V[16][Ci][T] = Bᵀ d B      input transform of the tiles' 4x4 input windows
 *   M[q] = U[q] · V[q]          16 GEMMs, q = 0..15: [Co, Ci] x [Ci, T]
 *   y = Aᵀ M A + bias           output transform
 *
 * with U[16][Co][Ci] = G g Gᵀ, the transformed weights (once per call and chunk of output
 * channels). The transform matrices hold only 0, ±1 and ½, so the extra rounding is small (the
 * goldens' tolerances hold).
 *
 * Exact bands. Blocks are fixed in whole-image tile coordinates: block (by, bx) is always the
 * same tiles and the same GEMM shapes, whichever band asks for some of its rows, and a band
 * computes every block it touches in full. Tile rows a band does not need read zeros for the
 * input rows it does not hold; that changes nothing that the band keeps: a GEMM's column
 * depends only on its own input column, and in Aᵀ M A the first output row of a tile reads
 * only the transform rows 0-2 (input rows 0-2 of the window), the second only rows 1-3. So
 * every output pixel goes through the same float operations in any band: a banded decode is
 * bit-identical to a whole-image one. The 16 products are shared out whole over the threads
 * (one single-threaded sgemm each), so the thread count changes nothing either.
 *
 * SANA_CPU_CONV_BAND=rows selects the im2col row path (cpu_dcae.c) instead. */
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu.h"
#include "core/pool.h"

/* Tiles per block at most: the products' N. */
#define SN_WINO_TILES 256

typedef struct sn_wino_geom {
    int64_t ntx, nty; /* tiles across and down the whole output */
    int64_t bc, br;   /* tile columns and tile rows per block */
    int64_t co;       /* output channels per chunk */
} sn_wino_geom;

/* Transformed weights held at once, in floats (8 MiB): wider layers (512 x 512 channels and
 * up) run in chunks of output channels, each chunk recomputing the input transform (a few %
 * of the layer's time). */
#define SN_WINO_MAX_U ((int64_t)1 << 21)
/* Tiles per block at least, however small the layer. */
#define SN_WINO_MIN_TILES 32

/* Depends on the layer's shape only (never on the band). BLAS packs the weight matrix again
 * for every product, so blocks should be long; but V and M grow with the block, so they are
 * kept within the larger of U and the im2col row path's scratch (9 Ci Wo floats): the scratch
 * stays in proportion to the layer and at most 16 MiB in all (U + V + M, fp32). A block is
 * whole tile rows, or a tile row is split into equal blocks. */
static void sn_wino_geom_init(int64_t Hout, int64_t Wout, int64_t Ci, int64_t Co, sn_wino_geom *g) {
    g->ntx = (Wout + 1) / 2;
    g->nty = (Hout + 1) / 2;
    g->co = Co * Ci <= SN_WINO_MAX_U / 16 ? Co : SN_WINO_MAX_U / 16 / Ci;
    if (g->co < 1) g->co = 1;
    const int64_t u = 16 * g->co * Ci, cap = u > 9 * Ci * Wout ? u : 9 * Ci * Wout;
    int64_t tiles = cap / (16 * (Ci + g->co));
    tiles = tiles < SN_WINO_MIN_TILES ? SN_WINO_MIN_TILES : tiles > SN_WINO_TILES ? SN_WINO_TILES : tiles;
    const int64_t nbx = (g->ntx + tiles - 1) / tiles;
    g->bc = (g->ntx + nbx - 1) / nbx;
    g->br = tiles / g->bc;
    if (g->br < 1) g->br = 1;
}

typedef struct sn_wino_wjob {
    const float *w;
    int64_t P; /* Co_chunk * Ci */
    float *U;
} sn_wino_wjob;

/* U[q][co][ci] = (G g Gᵀ)[q / 4][q % 4] for g = w[co][ci] (3x3), G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1];
 * pairs p = co * Ci + ci in [p0, p1). */
SN_CPU_VECTOR static void sn_wino_weights(void *arg, int64_t p0, int64_t p1) {
    const sn_wino_wjob *j = arg;
    const int64_t P = j->P;
    float *U = j->U;
    for (int64_t p = p0; p < p1; p++) {
        const float *g = j->w + p * 9;
        float t[4][3];
        for (int c = 0; c < 3; c++) {
            t[0][c] = g[c];
            t[1][c] = 0.5f * (g[c] + g[3 + c] + g[6 + c]);
            t[2][c] = 0.5f * (g[c] - g[3 + c] + g[6 + c]);
            t[3][c] = g[6 + c];
        }
        for (int i = 0; i < 4; i++) {
            const float a = t[i][0], b = t[i][1], c = t[i][2];
            U[(4 * i + 0) * P + p] = a;
            U[(4 * i + 1) * P + p] = 0.5f * (a + b + c);
            U[(4 * i + 2) * P + p] = 0.5f * (a - b + c);
            U[(4 * i + 3) * P + p] = c;
        }
    }
}

/* One input row at the columns the tiles tx0 .. tx0+n-1 read, split by parity:
 * e[k] = row[2(tx0+k) - 1], o[k] = row[2(tx0+k)] for k = 0..n (n+1 values each), in the
 * upsampled row's coordinates (column u reads src[u / up]); zero outside [0, Win) or when the
 * row is padding (src NULL). */
SN_CPU_VECTOR static void sn_wino_gather(const float *src, int32_t up, int64_t Win, int64_t tx0, int64_t n,
                           float *e, float *o) {
    if (!src) {
        memset(e, 0, (size_t)(n + 1) * sizeof(float));
        memset(o, 0, (size_t)(n + 1) * sizeof(float));
        return;
    }
    const int64_t c0 = 2 * tx0 - 1; /* column of e[0] */
    /* k with both columns inside: c0 + 2k >= 0 and c0 + 2k + 1 < Win */
    const int64_t klo = c0 < 0 ? 1 : 0;
    int64_t khi = Win - 1 - c0 >= 1 ? (Win - 2 - c0) / 2 + 1 : 0;
    if (khi > n + 1) khi = n + 1;
    if (khi < klo) khi = klo;
    for (int64_t k = 0; k <= n; k++) { /* the edges (a few values) */
        if (k == klo) k = khi;
        if (k > n) break;
        const int64_t ue = c0 + 2 * k, uo = ue + 1;
        e[k] = ue >= 0 && ue < Win ? src[ue / up] : 0.0f;
        o[k] = uo >= 0 && uo < Win ? src[uo / up] : 0.0f;
    }
    if (up == 1) {
        for (int64_t k = klo; k < khi; k++) {
            e[k] = src[c0 + 2 * k];
            o[k] = src[c0 + 2 * k + 1];
        }
    } else { /* up == 2: columns 2j-1, 2j of the upsampled row are src[j-1], src[j] */
        for (int64_t k = klo; k < khi; k++) {
            e[k] = src[tx0 + k - 1];
            o[k] = src[tx0 + k];
        }
    }
}

/* One block of one image: its tiles, operands and buffers. */
typedef struct sn_wino_job {
    const float *x; /* the image's input: [Ci, Hx, Wx] holding rows [x_row0, x_row0 + Hx) */
    int64_t Ci, Hx, Wx, x_row0, Hin, Win;
    int32_t up;
    int64_t ty0, nr, tx0, nc; /* tile rows ty0 .. ty0+nr-1, tile columns tx0 .. tx0+nc-1 */
    int64_t Co;               /* output channels of this chunk */
    const float *U, *bias;
    float *V, *M, *y; /* y: the chunk's first channel of the image's output */
    int64_t y_row0, Ho, Wout;
} sn_wino_job;

/* V[q][ci][r * nc + k] (T = nr * nc) for the pairs i = ci * nr + r in [i0, i1). Input rows
 * outside x read as zeros. */
SN_CPU_VECTOR static void sn_wino_input(void *arg, int64_t i0, int64_t i1) {
    const sn_wino_job *j = arg;
    const int64_t Ci = j->Ci, nr = j->nr, nc = j->nc, T = nr * nc;
    for (int64_t it = i0; it < i1; it++) {
        const int64_t ci = it / nr, r = it % nr, ty = j->ty0 + r;
        float e[4][SN_WINO_TILES + 1], o[4][SN_WINO_TILES + 1];
        for (int a = 0; a < 4; a++) {
            const int64_t iy = 2 * ty - 1 + a; /* row of the (upsampled) input */
            const int64_t sy = iy >= 0 && iy < j->Hin ? iy / j->up - j->x_row0 : -1;
            const float *src = sy >= 0 && sy < j->Hx ? j->x + (ci * j->Hx + sy) * j->Wx : NULL;
            sn_wino_gather(src, j->up, j->Win, j->tx0, nc, e[a], o[a]);
        }
        /* rows: Bᵀ d, Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1] */
        float re[4][SN_WINO_TILES + 1], ro[4][SN_WINO_TILES + 1];
        for (int64_t k = 0; k <= nc; k++) {
            re[0][k] = e[0][k] - e[2][k];
            re[1][k] = e[1][k] + e[2][k];
            re[2][k] = e[2][k] - e[1][k];
            re[3][k] = e[1][k] - e[3][k];
            ro[0][k] = o[0][k] - o[2][k];
            ro[1][k] = o[1][k] + o[2][k];
            ro[2][k] = o[2][k] - o[1][k];
            ro[3][k] = o[1][k] - o[3][k];
        }
        /* columns: (Bᵀ d) B; the window of tile k is e[k], o[k], e[k+1], o[k+1] */
        for (int i = 0; i < 4; i++) {
            const float *E = re[i], *O = ro[i];
            float *v0 = j->V + ((4 * i + 0) * Ci + ci) * T + r * nc;
            float *v1 = j->V + ((4 * i + 1) * Ci + ci) * T + r * nc;
            float *v2 = j->V + ((4 * i + 2) * Ci + ci) * T + r * nc;
            float *v3 = j->V + ((4 * i + 3) * Ci + ci) * T + r * nc;
            for (int64_t k = 0; k < nc; k++) {
                v0[k] = E[k] - E[k + 1];
                v1[k] = O[k] + E[k + 1];
                v2[k] = E[k + 1] - O[k];
                v3[k] = O[k] - O[k + 1];
            }
        }
    }
}

/* M[q] = U[q] · V[q], whole products q shared out over the team: every product is one
 * single-threaded sgemm of the same shape whatever the team size. */
static void sn_wino_gemms(void *arg, int tid, int nt) {
    const sn_wino_job *j = arg;
    const int64_t Co = j->Co, Ci = j->Ci, T = j->nr * j->nc;
    int64_t q0, q1;
    sn_pool_share(16, tid, nt, &q0, &q1);
    for (int64_t q = q0; q < q1; q++)
        sn_cpu_sgemm_team(0, 1, 0, Co, T, Ci, 1.0f, j->U + q * Co * Ci, Ci, j->V + q * Ci * T, T,
                          0.0f, j->M + q * Co * T, T);
}

/* y rows [y_row0, y_row0 + Ho) of one image ([Co, Ho, Wout]) from M[q][co][r * nc + k]:
 * Aᵀ m A + bias, Aᵀ = [1 1 1 0; 0 1 -1 -1]; pairs i = co * nr + r in [i0, i1). */
SN_CPU_VECTOR static void sn_wino_output(void *arg, int64_t i0, int64_t i1) {
    const sn_wino_job *j = arg;
    const int64_t Co = j->Co, nr = j->nr, nc = j->nc, T = nr * nc, Ho = j->Ho, Wout = j->Wout;
    for (int64_t it = i0; it < i1; it++) {
        const int64_t co = it / nr, r = it % nr;
        const int64_t oy = 2 * (j->ty0 + r) - j->y_row0; /* first row of the tile in y */
        if (oy + 1 < 0 || oy >= Ho) continue;           /* neither row in the band */
        const float *m[16];
        for (int q = 0; q < 16; q++) m[q] = j->M + (q * Co + co) * T + r * nc;
        float a0[SN_WINO_TILES], a1[SN_WINO_TILES], b0[SN_WINO_TILES], b1[SN_WINO_TILES];
        const float bc = j->bias ? j->bias[co] : 0.0f;
        for (int64_t k = 0; k < nc; k++) {
            float z[4][2];
            for (int i = 0; i < 4; i++) {
                z[i][0] = m[4 * i][k] + m[4 * i + 1][k] + m[4 * i + 2][k];
                z[i][1] = m[4 * i + 1][k] - m[4 * i + 2][k] - m[4 * i + 3][k];
            }
            a0[k] = z[0][0] + z[1][0] + z[2][0] + bc;
            a1[k] = z[0][1] + z[1][1] + z[2][1] + bc;
            b0[k] = z[1][0] - z[2][0] - z[3][0] + bc;
            b1[k] = z[1][1] - z[2][1] - z[3][1] + bc;
        }
        const int64_t x0 = 2 * j->tx0;
        const int64_t full = x0 + 2 * nc <= Wout ? nc : nc - 1; /* odd width: last tile half */
        for (int row = 0; row < 2; row++) {
            if (oy + row < 0 || oy + row >= Ho) continue;
            const float *p0 = row ? b0 : a0, *p1 = row ? b1 : a1;
            float *yr = j->y + (co * Ho + oy + row) * Wout + x0;
            for (int64_t k = 0; k < full; k++) {
                yr[2 * k] = p0[k];
                yr[2 * k + 1] = p1[k];
            }
            if (full < nc) yr[2 * full] = p0[full];
        }
    }
}

/* The transforms as pool tasks (a team of nt threads sized before sn_cpu_blas_enter, which
 * makes the calling thread's own count read 1). */
static void sn_wino_input_task(void *arg, int tid, int nt) {
    const sn_wino_job *j = arg;
    int64_t i0, i1;
    sn_pool_share(j->Ci * j->nr, tid, nt, &i0, &i1);
    sn_wino_input(arg, i0, i1);
}

static void sn_wino_output_task(void *arg, int tid, int nt) {
    const sn_wino_job *j = arg;
    int64_t i0, i1;
    sn_pool_share(j->Co * j->nr, tid, nt, &i0, &i1);
    sn_wino_output(arg, i0, i1);
}

static void sn_wino_weights_task(void *arg, int tid, int nt) {
    const sn_wino_wjob *j = arg;
    int64_t i0, i1;
    sn_pool_share(j->P, tid, nt, &i0, &i1);
    sn_wino_weights(arg, i0, i1);
}

/* 0: take the im2col row path (SANA_CPU_CONV_BAND=rows) */
static int sn_wino_enabled(void) {
    static int on = -1;
    if (on < 0) {
        const char *v = getenv("SANA_CPU_CONV_BAND");
        on = !(v && !strcmp(v, "rows"));
    }
    return on;
}

/* U (transformed weights of a chunk of output channels), V and M (a block's transformed inputs
 * and products): the op's one arena allocation */
static size_t sn_wino_scratch_floats(const sn_wino_geom *g, int64_t Ci) {
    return (size_t)(16 * g->co * Ci) + (size_t)(16 * Ci * g->br * g->bc) + (size_t)(16 * g->co * g->br * g->bc);
}

int sn_cpu_conv2d_band_wino_scratch(const sn_op_shape *s, size_t *bytes) {
    const sn_tensor *x = s->x, *w = s->w, *y = s->y;
    if (w->shape[2] != 3 || w->shape[3] != 3 || s->stride != 1 || s->pad != 1 || !sn_wino_enabled()) return 0;
    *bytes = 0;
    if (y->shape[2] == 0) return 1;
    sn_wino_geom g;
    sn_wino_geom_init(s->h_full * s->up, y->shape[3], x->shape[1], w->shape[0], &g);
    *bytes = sn_arena_round(sn_wino_scratch_floats(&g, x->shape[1]) * sizeof(float));
    return 1;
}

sana_status sn_cpu_conv2d_band_fast(sn_backend *be, const sn_tensor *x, int64_t x_row0,
                                    int64_t h_full, const sn_tensor *w, const sn_tensor *b,
                                    int32_t up, int32_t stride, int32_t pad, sn_tensor *y,
                                    int64_t y_row0) {
    const int64_t B = x->shape[0], Ci = x->shape[1], Hx = x->shape[2], Wx = x->shape[3];
    const int64_t Co = w->shape[0], Ho = y->shape[2], Wo = y->shape[3];
    if (w->shape[2] != 3 || w->shape[3] != 3 || stride != 1 || pad != 1 || !sn_wino_enabled())
        return sn_cpu_conv2d_band(be, x, x_row0, h_full, w, b, up, stride, pad, y, y_row0);
    if (Ho == 0) return SANA_OK;
    const int64_t Hout = h_full * up; /* the whole output (3x3, stride 1, pad 1) */
    sn_wino_geom g;
    sn_wino_geom_init(Hout, Wo, Ci, Co, &g);

    sn_arena_mark mk = sn_scratch_mark(be);
    const size_t nu = (size_t)(16 * g.co * Ci), nv = (size_t)(16 * Ci * g.br * g.bc),
                 nm = (size_t)(16 * g.co * g.br * g.bc); /* sn_wino_scratch_floats */
    float *U = sn_arena_alloc(&be->scratch, (nu + nv + nm) * sizeof(float));
    if (!U) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "conv2d_band: %zu bytes of Winograd scratch",
                           (nu + nv + nm) * sizeof(float));
    float *V = U + nu, *M = V + nv;

    /* the tile rows this band needs, widened to whole blocks */
    const int64_t t0 = y_row0 / 2, t1 = (y_row0 + Ho + 1) / 2;
    const int64_t by0 = t0 / g.br, by1 = (t1 + g.br - 1) / g.br;
    const int nt = sn_pool_threads(); /* before sn_cpu_blas_enter, which makes it read 1 */
    sn_cpu_blas_enter();
    for (int64_t c0 = 0; c0 < Co; c0 += g.co) {
        const int64_t nco = c0 + g.co <= Co ? g.co : Co - c0;
        sn_wino_wjob wj = {SN_CF(w) + c0 * Ci * 9, nco * Ci, U};
        sn_pool_run(nt, sn_wino_weights_task, &wj);
        for (int64_t n = 0; n < B; n++) {
            sn_wino_job j = {SN_CF(x) + n * Ci * Hx * Wx, Ci, Hx, Wx, x_row0, h_full * up, Wx * up, up,
                             0, 0, 0, 0, nco, U, b ? SN_CF(b) + c0 : NULL, V, M,
                             SN_F(y) + (n * Co + c0) * Ho * Wo, y_row0, Ho, Wo};
            for (int64_t by = by0; by < by1; by++) {
                j.ty0 = by * g.br;
                j.nr = j.ty0 + g.br <= g.nty ? g.br : g.nty - j.ty0;
                for (j.tx0 = 0; j.tx0 < g.ntx; j.tx0 += g.bc) {
                    j.nc = j.tx0 + g.bc <= g.ntx ? g.bc : g.ntx - j.tx0;
                    sn_pool_run(nt, sn_wino_input_task, &j);
                    sn_pool_run(nt, sn_wino_gemms, &j);
                    sn_pool_run(nt, sn_wino_output_task, &j);
                }
            }
        }
    }
    sn_cpu_blas_leave();
    sn_scratch_reset(be, mk);
    return SANA_OK;
}
