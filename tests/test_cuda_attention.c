/* The CUDA softmax attention against the CPU backend, in bf16 and fp16 storage, each kernel:
 * SANA_CUDA_ATTENTION=flash (the tensor-core kernel: must run for every supported call and fail
 * with SANA_ERR_UNSUPPORTED elsewhere), =simple (the warp-per-row kernel), and the default where
 * flash does not apply (head dim 48, dv != d, a q not 16-byte aligned: it falls back). Fresh
 * random inputs per case cover every head dim the flash kernel has (32, 64, 72, 112, 128, 256), ragged
 * lengths (1..1000 queries, 1..333 keys), grouped K/V, soft-cap, causal, sliding window, key
 * masks with fully masked batch rows (-inf: zeros, as on the CPU), Gemma-style [B, L, L] masks of
 * finfo.min (a row with every key masked averages all values, as on the CPU), batch > 1. Outputs
 * are poisoned with NaN before each run, so an unwritten element fails; each flash run is repeated
 * and must be bit-identical (a race shows as a difference). Tolerance 2e-2 (max |gpu - cpu| /
 * max |cpu|). Skips (77) where no GPU or no CUDA build is at hand. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attention_cases.h"
#include "backend/backend.h"
#include "core/dtype.h"
#include "cuda_pair.h"
#include "harness.h"

static int runs_on(const char *kernel, const att_case *c, const sn_tensor *q, const sn_tensor *k,
                   const sn_tensor *v, const sn_attn_params *p, sn_tensor *y, float *out) {
    setenv("SANA_CUDA_ATTENTION", kernel, 1);
    poison(y); /* an element the kernel skips stays NaN and fails */
    sana_status st = sn_attention(q, k, v, p, y);
    unsetenv("SANA_CUDA_ATTENTION");
    if (strcmp(kernel, "flash") == 0 && !c->flash) {
        CHECK(st == SANA_ERR_UNSUPPORTED, "%s: flash should not apply (status %s)", c->name,
              sana_status_string(st));
        return 0;
    }
    CHECK(st == SANA_OK, "%s (%s): %s (%s)", c->name, kernel, sana_status_string(st),
          tu_last_error());
    if (st != SANA_OK) return 0;
    CHECK_OK(sn_download_f32(y, out));
    return 1;
}

static void run_case(const att_case *c, uint64_t seed) {
    pair q = mk(4, SN_SHAPE(c->B, c->Hq, c->Nq, c->D), seed);
    pair k = mk(4, SN_SHAPE(c->B, c->Hk, c->Nk, c->D), seed + 1);
    pair v = mk(4, SN_SHAPE(c->B, c->Hk, c->Nk, c->Dv), seed + 2);
    pair y = mk(4, SN_SHAPE(c->B, c->Hq, c->Nq, c->Dv), 0);
    sn_tensor mc = {0}, mg = {0}, qbig = {0}, qg = q.g;
    if (c->misalign) { /* the same values, one element further on */
        CHECK_OK(sn_tensor_alloc(gpu, gpu->act_dtype, 1, SN_SHAPE(sn_numel(&q.g) + 8), &qbig));
        qg.data = (char *)qbig.data + sn_dtype_size(gpu->act_dtype);
        CHECK_OK(sn_copy(&qg, &q.g));
    }
    sn_attn_params pc = {c->scale, c->softcap, c->causal, c->window, NULL}, pg = pc;
    if (c->mask != MASK_NONE) {
        int64_t rows = c->mask == MASK_KEYS ? 1 : c->Nq;
        sn_dtype gdt =
            c->mask == MASK_KEYS ? SN_F32 : gpu->act_dtype; /* as the models upload them */
        CHECK_OK(sn_tensor_alloc(cpu, SN_F32, 3, SN_SHAPE(c->B, rows, c->Nk), &mc));
        CHECK_OK(sn_tensor_alloc(gpu, gdt, 3, SN_SHAPE(c->B, rows, c->Nk), &mg));
        if (c->mask == MASK_KEYS)
            key_mask(c, mc.data, seed + 3);
        else
            gemma_mask(c, mc.data, gpu->act_dtype);
        CHECK_OK(sn_upload_convert(&mg, SN_F32, mc.data));
        CHECK_OK(sn_download_f32(&mg, mc.data)); /* the CPU sees the values the GPU holds */
        pc.mask = &mc;
        pg.mask = &mg;
    }
    CHECK_OK(sn_attention(&q.c, &k.c, &v.c, &pc, &y.c));

    size_t n = (size_t)sn_numel(&y.c);
    float *got = malloc(n * 4), *again = malloc(n * 4);
    CHECK(got && again, "host buffers");
    const char *kernels[] = {"simple", "flash", ""};
    for (int i = 0; i < 3 && got && again; i++) {
        if (i == 2 && c->flash) continue; /* the default is flash there: ran already */
        if (!runs_on(kernels[i], c, &qg, &k.g, &v.g, &pg, &y.g, got)) continue;
        double e = tu_rel_err(got, y.c.data, n);
        printf("%-5s %-58s %-7s rel err %.3g\n", sn_dtype_name(gpu->act_dtype), c->name,
               *kernels[i] ? kernels[i] : "default", e);
        CHECK(e <= tol, "%s (%s): rel err %.3g > %.3g", c->name, kernels[i], e, tol);
        if (i == 1 && runs_on("flash", c, &qg, &k.g, &v.g, &pg, &y.g, again))
            CHECK(memcmp(got, again, n * 4) == 0, "%s: two flash runs differ (a race?)", c->name);
    }
    free(got);
    free(again);
    sn_tensor_free(&mc);
    sn_tensor_free(&mg);
    sn_tensor_free(&qbig);
    done(&q), done(&k), done(&v), done(&y);
}

/* clang-format off */
static const att_case cases[] = {
    /* name                                              B  Hq Hk   Nq    Nk   D    Dv   scale       cap    causal window mask     gw  flash misalign */
    {"dit cross-attn d32, 1000 x 300, key mask",         3, 3, 3, 1000,  300,  32,  32, 0.1767767f, 0,     0, 0,   MASK_KEYS,  0,  1, 0},
    {"sana 0.6b cross-attn d72 (as 80), 1024 x 120",     3, 16,16,1024,  120,  72,  72, 0.1178511f, 0,     0, 0,   MASK_KEYS,  0,  1, 0},
    {"sana 1.6b cross-attn d112, 1000 x 300, key mask",  3, 4, 4, 1000,  300, 112, 112, 0.0944911f, 0,     0, 0,   MASK_KEYS,  0,  1, 0},
    {"d72, causal, window 9, GQA 2:1, 77 x 130",         2, 4, 2,   77,  130,  72,  72, 0.1178511f, 0,     1, 9,   MASK_NONE,  0,  1, 0},
    {"d32, 1 query x 1 key",                             1, 1, 1,    1,    1,  32,  32, 0.1767767f, 0,     0, 0,   MASK_NONE,  0,  1, 0},
    {"d32, 77 x 15 keys, scale 1, GQA 2:1, key mask",    2, 2, 1,   77,   15,  32,  32, 1.0f,       0,     0, 0,   MASK_KEYS,  0,  1, 0},
    {"d32, 1 query x 333 keys",                          2, 2, 2,    1,  333,  32,  32, 0.5f,       0,     0, 0,   MASK_NONE,  0,  1, 0},
    {"d64, 1000 x 300, key mask, GQA 4:1",               2, 4, 1, 1000,  300,  64,  64, 0.125f,     0,     0, 0,   MASK_KEYS,  0,  1, 0},
    {"d64, causal, 130 queries x 17 keys, GQA 2:1",      1, 4, 2,  130,   17,  64,  64, 0.125f,     0,     1, 0,   MASK_NONE,  0,  1, 0},
    {"d64, window 5 only: rows past it see nothing",     2, 2, 2, 1000,   17,  64,  64, 0.125f,     0,     0, 5,   MASK_NONE,  0,  1, 0},
    {"d128, 333 x 333, causal, window 100, soft-cap 1",  2, 4, 1,  333,  333, 128, 128, 0.5f,       1.0f,  1, 100, MASK_NONE,  0,  1, 0},
    {"d128, 300 x 300, key mask",                        3, 2, 2,  300,  300, 128, 128, 0.0883883f, 0,     0, 0,   MASK_KEYS,  0,  1, 0},
    {"d256 gemma, 300 tokens, cap 50, [B,L,L] mask",     3, 8, 4,  300,  300, 256, 256, 0.0625f,    50.0f, 0, 0,   MASK_GEMMA, 0,  1, 0},
    {"d256 gemma sliding 64 (mask + causal + window)",   2, 8, 4,  333,  333, 256, 256, 0.0625f,    50.0f, 1, 64,  MASK_GEMMA, 64, 1, 0},
    {"d256, 15 queries x 17 keys, soft-cap 0.5",         1, 8, 4,   15,   17, 256, 256, 0.0625f,    0.5f,  0, 0,   MASK_NONE,  0,  1, 0},
    {"d48: not flash (falls back)",                      1, 2, 2,   40,   33,  48,  48, 0.144f,     0,     0, 0,   MASK_KEYS,  0,  0, 0},
    {"d32 with dv 64: not flash (falls back)",           2, 2, 1,   40,   33,  32,  64, 0.1767767f, 0,     1, 0,   MASK_NONE,  0,  0, 0},
    {"d32, q not 16-byte aligned: falls back",            2, 2, 2,   50,   40,  32,  32, 0.1767767f, 0,     0, 0,   MASK_KEYS,  0,  0, 1},
};
/* clang-format on */

int main(void) {
    sana_precision precisions[] = {SANA_PRECISION_BF16, SANA_PRECISION_F16};
    tol = 2e-2;
    CHECK_OK(sn_backend_cpu_create(0, &cpu));
    if (!cpu) return tu_finish("test_cuda_attention");
    for (int pi = 0; pi < 2; pi++) {
        gpu = NULL;
        if (pi == 0) gpu = cuda_or_skip(precisions[pi]); /* skips (77) where there is no GPU */
        else CHECK_OK(sn_backend_cuda_create(0, precisions[pi], &gpu));
        if (!gpu) continue;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            run_case(&cases[i], 1000 * (uint64_t)(pi + 1) + 10 * i + 1);
        sn_backend_free(gpu);
    }
    sn_backend_free(cpu);
    return tu_finish("test_cuda_attention");
}
