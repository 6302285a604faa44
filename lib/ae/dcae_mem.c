/* The memory of one DC-AE call: tensors at planned offsets in one arena block (see
 * sn_dcae_mem in dcae_internal.h), and the ops that take temporary memory, counted in dry runs. */
#include <string.h>

#include "ae/dcae_internal.h"

/* Where tensors of a dry run seem to live: not NULL (a NULL data pointer means "no tensor"), and
 * never dereferenced (a dry run runs no op). */
#define SN_DCAE_DRY_BASE ((uintptr_t)1 << 20)

void sn_dcae_mem_dry(sn_dcae_mem *m, sn_backend *be) {
    memset(m, 0, sizeof *m);
    m->be = be;
    m->dry = 1;
    m->base = SN_DCAE_DRY_BASE;
}

size_t sn_dcae_mem_need(const sn_dcae_mem *m) {
    return m->high + m->op_scratch;
}

sana_status sn_dcae_mem_begin(sn_dcae_mem *m, const sn_dcae_mem *plan) {
    sn_backend *be = plan->be;
    memset(m, 0, sizeof *m);
    m->be = be;
    m->mark = sn_scratch_mark(be);
    void *p = sn_arena_alloc_room(&be->scratch, plan->high, plan->op_scratch);
    if (!p)
        return sn_fail(SANA_ERR_OUT_OF_MEMORY,
                       "DC-AE: cannot take %zu bytes of activations (+ %zu of op scratch) "
                       "from the %s backend's scratch arena",
                       plan->high, plan->op_scratch, be->ops->name);
    m->base = (uintptr_t)p;
    m->cap = plan->high;
    return SANA_OK;
}

void sn_dcae_mem_end(sn_dcae_mem *m) {
    if (!m->dry && m->base) sn_scratch_reset(m->be, m->mark);
    m->base = 0;
    m->n = 0;
    m->live = 0;
}

/* A tensor at the lowest offset >= `from` where it fits between the live ones. */
static sana_status sn_dcae_mem_place(sn_dcae_mem *m, size_t from, sn_dtype dtype, int64_t c,
                                     int64_t h, int64_t w, sn_tensor *t) {
    const size_t size = sn_arena_round((size_t)(c * h * w) * sn_dtype_size(dtype));
    if (m->n == SN_DCAE_MEM_SLOTS)
        return sn_fail(SANA_ERR_INTERNAL, "DC-AE: more than %d live tensors", SN_DCAE_MEM_SLOTS);
    /* first fit over the live tensors, sorted by offset */
    size_t off = from;
    int32_t i = 0;
    for (; i < m->n; i++) {
        const size_t end = m->blk[i].off + m->blk[i].size;
        if (end <= off) continue;               /* wholly below */
        if (m->blk[i].off >= off + size) break; /* fits in the gap before it */
        off = end;
    }
    if (!m->dry && off + size > m->cap)
        return sn_fail(SANA_ERR_INTERNAL,
                       "DC-AE: a tensor of %zu bytes at %zu falls outside the planned %zu "
                       "(the run differs from its dry run)",
                       size, off, m->cap);
    memmove(&m->blk[i + 1], &m->blk[i], (size_t)(m->n - i) * sizeof m->blk[0]);
    m->blk[i].off = off;
    m->blk[i].size = size;
    m->n++;
    if (off + size > m->high) m->high = off + size;
    m->live += size;
    if (m->live > m->peak) m->peak = m->live;
    *t = (sn_tensor){.dtype = dtype, .ndim = 4, .shape = {1, c, h, w}, .be = m->be};
    t->data = (void *)(m->base + off);
    return SANA_OK;
}

sana_status sn_dcae_mem_tensor_dt(sn_dcae_mem *m, sn_dtype dtype, int64_t c, int64_t h, int64_t w,
                                  sn_tensor *t) {
    return sn_dcae_mem_place(m, 0, dtype, c, h, w, t);
}

sana_status sn_dcae_mem_tensor(sn_dcae_mem *m, int64_t c, int64_t h, int64_t w, sn_tensor *t) {
    return sn_dcae_mem_place(m, 0, m->be->act_dtype, c, h, w, t);
}

sana_status sn_dcae_mem_lift(sn_dcae_mem *m, sn_tensor *x, size_t below) {
    below = sn_arena_round(below);
    if ((size_t)((uintptr_t)x->data - m->base) >= below) return SANA_OK;
    sn_tensor n;
    SN_TRY(sn_dcae_mem_place(m, below, x->dtype, x->shape[1], x->shape[2], x->shape[3], &n));
    SN_DCAE_RUN(m, sn_copy(&n, x)); /* n is placed while x is alive: they do not overlap */
    sn_dcae_mem_free(m, x);
    *x = n;
    return SANA_OK;
}

void sn_dcae_mem_free(sn_dcae_mem *m, sn_tensor *t) {
    if (!t->be || !t->data) return;
    const size_t off = (size_t)((uintptr_t)t->data - m->base);
    for (int32_t i = 0; i < m->n; i++)
        if (m->blk[i].off == off) {
            m->live -= m->blk[i].size;
            memmove(&m->blk[i], &m->blk[i + 1], (size_t)(m->n - i - 1) * sizeof m->blk[0]);
            m->n--;
            break;
        }
    t->be = NULL;
    t->data = NULL;
}

/* --- ops with temporary memory ------------------------------------------------------------------
 */

static void sn_dcae_count(sn_dcae_mem *m, const sn_op_shape *s) {
    const size_t b = sn_op_scratch_bytes(m->be, s);
    if (b > m->op_scratch) m->op_scratch = b;
}

sana_status sn_dcae_conv(sn_dcae_mem *m, const sn_tensor *x, const sn_tensor *w, const sn_tensor *b,
                         int32_t stride, int32_t pad, int32_t groups, sn_tensor *y) {
    if (!m->dry) return sn_conv2d(x, w, b, stride, pad, groups, y);
    sn_dcae_count(m, &(sn_op_shape){.op = SN_OP_CONV2D,
                                    .x = x,
                                    .w = w,
                                    .y = y,
                                    .stride = stride,
                                    .pad = pad,
                                    .groups = groups});
    return SANA_OK;
}

sana_status sn_dcae_conv_band(sn_dcae_mem *m, const sn_tensor *x, int64_t x_row0, int64_t h_full,
                              const sn_tensor *w, const sn_tensor *b, int32_t up, int32_t stride,
                              int32_t pad, sn_tensor *y, int64_t y_row0) {
    if (!m->dry) return sn_conv2d_band(x, x_row0, h_full, w, b, up, stride, pad, y, y_row0);
    sn_dcae_count(m, &(sn_op_shape){.op = SN_OP_CONV2D_BAND,
                                    .x = x,
                                    .w = w,
                                    .y = y,
                                    .up = up,
                                    .stride = stride,
                                    .pad = pad,
                                    .groups = 1,
                                    .h_full = h_full});
    return SANA_OK;
}

sana_status sn_dcae_linattn(sn_dcae_mem *m, const sn_tensor *qkv, float eps, sn_tensor *y) {
    if (!m->dry) return sn_linear_attention_relu(qkv, eps, y);
    sn_dcae_count(m, &(sn_op_shape){.op = SN_OP_LINATTN_RELU, .x = qkv, .y = y});
    return SANA_OK;
}

sana_status sn_dcae_linattn_state(sn_dcae_mem *m, const sn_tensor *qkv, sn_tensor *s) {
    if (!m->dry) return sn_linear_attention_state(qkv, s);
    sn_dcae_count(m, &(sn_op_shape){.op = SN_OP_LINATTN_STATE, .x = qkv, .y = s});
    return SANA_OK;
}

sana_status sn_dcae_linattn_apply(sn_dcae_mem *m, const sn_tensor *qkv, const sn_tensor *s,
                                  float eps, sn_tensor *y) {
    if (!m->dry) return sn_linear_attention_apply(qkv, s, eps, y);
    sn_dcae_count(m, &(sn_op_shape){.op = SN_OP_LINATTN_APPLY, .x = qkv, .w = s, .y = y});
    return SANA_OK;
}
