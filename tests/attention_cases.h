/* Softmax attention test cases shared by the CUDA tests (test_cuda_attention on a GPU,
 * test_cuemu_attention on the CPU emulator): the case description and the masks the models
 * build, so that both tests feed the kernels the same kinds of input. */
#ifndef SANA_TEST_ATTENTION_CASES_H
#define SANA_TEST_ATTENTION_CASES_H

#include <math.h>
#include <stdint.h>

#include "core/dtype.h"
#include "harness.h"

typedef enum { MASK_NONE, MASK_KEYS, MASK_GEMMA, MASK_ROWS } mask_kind;

typedef struct att_case {
    const char *name;
    int64_t B, Hq, Hk, Nq, Nk, D, Dv;
    float scale, softcap;
    int causal, window;
    mask_kind mask;
    int gemma_window; /* MASK_GEMMA: sliding window built into the mask (0: none) */
    int flash;        /* the flash kernel applies */
    int misalign;     /* q on the GPU starts one element past a 16-byte boundary */
} att_case;

/* [B, 1, Nk] float32 (what the DiT uploads): batch 0 random additive values with its last keys
 * -inf, batch 1 (when B > 2) the DiT's -10000 for its last keys, the last batch all -inf. */
static inline void key_mask(const att_case *c, float *m, uint64_t seed) {
    tu_fill_random(m, (size_t)(c->B * c->Nk), seed);
    for (int64_t b = 0; b < c->B; b++)
        for (int64_t j = 0; j < c->Nk; j++) {
            float *x = &m[b * c->Nk + j];
            int64_t valid = c->Nk - 3 * b - 2 > 1 ? c->Nk - 3 * b - 2 : 1;
            if (b == c->B - 1 && c->B > 1)
                *x = -INFINITY;
            else if (b == 0)
                *x = j < valid ? *x : -INFINITY;
            else
                *x = j < valid ? 0.0f : -10000.0f;
        }
}

/* [B, L, L] as the text encoder builds it: allowed iff j <= i, key j is a real token and (with a
 * window W) j > i - W; else finfo(dtype).min. Batch b has L - 7b real tokens, the last batch none
 * (every row fully masked by a finite value: softmax over the raw scores, as on the CPU). */
static inline void gemma_mask(const att_case *c, float *m, sn_dtype dt) {
    float masked = dt == SN_BF16 ? sn_bf16_to_f32(0xFF7F) : -65504.0f;
    int64_t L = c->Nk;
    for (int64_t b = 0; b < c->B; b++) {
        int64_t real = b == c->B - 1 && c->B > 1 ? 0 : L - 7 * b;
        for (int64_t i = 0; i < L; i++)
            for (int64_t j = 0; j < L; j++) {
                int ok = j <= i && j < real && (c->gemma_window == 0 || j > i - c->gemma_window);
                m[(b * L + i) * L + j] = ok ? 0.0f : masked;
            }
    }
}

/* [B, Nq, Nk] float32 with -inf holes: random additive values, every 7th key of a row -inf, and
 * rows (b + i) % 5 == 3 all -inf: those rows output zeros, as on the CPU. */
static inline void row_mask(const att_case *c, float *m, uint64_t seed) {
    tu_fill_random(m, (size_t)(c->B * c->Nq * c->Nk), seed);
    for (int64_t b = 0; b < c->B; b++)
        for (int64_t i = 0; i < c->Nq; i++)
            for (int64_t j = 0; j < c->Nk; j++) {
                int dead = (b + i) % 5 == 3 || (i + j) % 7 == 0;
                if (dead) m[(b * c->Nq + i) * c->Nk + j] = -INFINITY;
            }
}

#endif
