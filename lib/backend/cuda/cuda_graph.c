/* CUDA graphs: one call of a sequence of ops (one DiT step) captured once and replayed.
 *
 * While a graph is captured or checked, the backend's ops table is swapped for the one below:
 * every op first hashes its arguments (op, data pointers, dtypes, shapes, scalars), then either
 * runs the ordinary op into the capturing stream (capture) or does nothing (dry run). A later
 * call therefore costs a host-only dry run, whose hash must equal the capture's, plus one graph
 * launch; any difference (other tensors, shapes, scalars, scratch position) drops the graph and
 * sn_graph_run captures again, so a replay always computes what the call would have.
 *
 * Uploads inside the call (the DiT's timestep sinusoid, positional table) cannot be baked into
 * the graph: each one gets a slot, a device staging buffer the graph copies (and converts) from.
 * Before each launch the slots are filled from one of three pinned host buffers, by plain async
 * copies on the stream ahead of the launch; a buffer is rewritten only after the event recorded
 * behind its last copies has passed, so the host never overwrites data still being read. */
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda_internal.h"
#include "core/log.h"
#include "kernels/kernels.h"

#define SN_RING 3

typedef struct sn_graph_slot {
    void *dst;       /* the upload's destination (checked on replay) */
    void *dstage;    /* device staging, src_type */
    size_t bytes;    /* host bytes */
    size_t host_off; /* offset in each ring buffer */
} sn_graph_slot;

struct sn_graph {
    cudaGraphExec_t exec; /* NULL: nothing captured yet */
    uint64_t hash, run_hash;
    sn_graph_slot *slots;
    int n_slots, cap_slots, run_slot, run_bad;
    unsigned char *first; /* capture-time upload bytes, until the ring exists */
    size_t host_bytes;
    void *ring[SN_RING];
    cudaEvent_t ev[SN_RING];
    int ring_cur, ring_next;
};

/* --- hashing (FNV-1a over the raw argument bytes) ---------------------------------------------- */

static sn_graph *sn_g(sn_backend *be) { return sn_cuda_of(be)->graph; }

static void sn_hb(sn_graph *g, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) g->run_hash = (g->run_hash ^ b[i]) * 1099511628211ull;
}
/* hashes the bytes of a scalar (or struct) value; an expression, usable in comma lists */
#define SN_HV(g, v) sn_hb((g), &(__typeof__(v)){(v)}, sizeof(v))

static void sn_ht(sn_graph *g, const sn_tensor *t) {
    if (!t) {
        SN_HV(g, (int64_t)-1);
        return;
    }
    SN_HV(g, (uintptr_t)t->data);
    SN_HV(g, (int32_t)t->dtype);
    SN_HV(g, t->ndim);
    for (int i = 0; i < t->ndim; i++) SN_HV(g, t->shape[i]);
}

/* The op's name, hashed; then `run` decides whether it executes (capture) or not (dry run). */
static sn_graph *sn_gop(sn_backend *be, const char *op) {
    sn_graph *g = sn_g(be);
    sn_hb(g, op, strlen(op) + 1);
    return g;
}
#define SN_RUN(be, op, ...) \
    (sn_cuda_of(be)->mode == SN_CUDA_CAPTURE ? sn_cuda_of(be)->run_ops->op(be, __VA_ARGS__) : SANA_OK)

/* --- the ops table while capturing or checking ---------------------------------------------------- */

static void *g_alloc(sn_backend *be, size_t bytes) { return sn_cuda_of(be)->run_ops->alloc(be, bytes); }
static void g_free(sn_backend *be, void *p) { sn_cuda_of(be)->run_ops->free(be, p); }
static void g_destroy(sn_backend *be) { sn_cuda_of(be)->run_ops->destroy(be); }

static sana_status g_refuse(const char *what) {
    return sn_fail(SANA_ERR_INTERNAL, "cuda graph: %s inside a graph run (not replayable)", what);
}
static sana_status g_download(sn_backend *be, void *dst, const void *src, size_t bytes) {
    (void)be;
    (void)dst;
    (void)src;
    (void)bytes;
    return g_refuse("download");
}
static sana_status g_sync(sn_backend *be) {
    (void)be;
    return g_refuse("synchronize");
}

/* Capture: stage in a new slot. Dry run: the next slot must be the same upload; fill its bytes. */
static sana_status g_stage(sn_backend *be, void *dst, sn_dtype dst_type, sn_dtype src_type, const void *src,
                           int64_t n, size_t bytes) {
    sn_cuda *c = sn_cuda_of(be);
    sn_graph *g = c->graph;
    SN_HV(g, (uintptr_t)dst);
    SN_HV(g, bytes);
    if (c->mode == SN_CUDA_CAPTURE) return sn_cuda_graph_upload(be, dst, dst_type, src_type, src, n);
    if (g->run_slot >= g->n_slots || g->slots[g->run_slot].bytes != bytes || g->slots[g->run_slot].dst != dst) {
        g->run_bad = 1;
        return SANA_OK;
    }
    sn_graph_slot *s = &g->slots[g->run_slot++];
    memcpy((char *)g->ring[g->ring_next] + s->host_off, src, bytes);
    return SANA_OK;
}
static sana_status g_upload(sn_backend *be, void *dst, const void *src, size_t bytes) {
    sn_gop(be, "upload");
    return g_stage(be, dst, SN_U8, SN_U8, src, (int64_t)bytes, bytes);
}
static sana_status g_upload_convert(sn_backend *be, sn_tensor *dst, sn_dtype src_type, const void *src) {
    sn_ht(sn_gop(be, "upload_convert"), dst);
    int64_t n = sn_numel(dst);
    return g_stage(be, dst->data, dst->dtype, src_type, src, n, (size_t)n * sn_dtype_size(src_type));
}

static sana_status g_copy(sn_backend *be, sn_tensor *dst, const sn_tensor *src) {
    sn_graph *g = sn_gop(be, "copy");
    sn_ht(g, dst), sn_ht(g, src);
    return SN_RUN(be, copy, dst, src);
}
static sana_status g_fill(sn_backend *be, sn_tensor *dst, float v) {
    sn_graph *g = sn_gop(be, "fill");
    sn_ht(g, dst), SN_HV(g, v);
    return SN_RUN(be, fill, dst, v);
}
static sana_status g_linear(sn_backend *be, const sn_tensor *x, const sn_tensor *w, const sn_tensor *b, sn_act act,
                            sn_tensor *y) {
    sn_graph *g = sn_gop(be, "linear");
    sn_ht(g, x), sn_ht(g, w), sn_ht(g, b), SN_HV(g, (int)act), sn_ht(g, y);
    return SN_RUN(be, linear, x, w, b, act, y);
}
static sana_status g_matmul(sn_backend *be, const sn_tensor *a, const sn_tensor *bm, int32_t tb, float alpha,
                            sn_tensor *y) {
    sn_graph *g = sn_gop(be, "matmul");
    sn_ht(g, a), sn_ht(g, bm), SN_HV(g, tb), SN_HV(g, alpha), sn_ht(g, y);
    return SN_RUN(be, matmul, a, bm, tb, alpha, y);
}
static sana_status g_conv2d(sn_backend *be, const sn_tensor *x, const sn_tensor *w, const sn_tensor *b,
                            const sn_conv_params *p, sn_tensor *y) {
    sn_graph *g = sn_gop(be, "conv2d");
    sn_ht(g, x), sn_ht(g, w), sn_ht(g, b), sn_hb(g, p, sizeof *p), sn_ht(g, y);
    return SN_RUN(be, conv2d, x, w, b, p, y);
}
static sana_status g_unary(sn_backend *be, sn_act act, const sn_tensor *x, sn_tensor *y) {
    sn_graph *g = sn_gop(be, "unary");
    SN_HV(g, (int)act), sn_ht(g, x), sn_ht(g, y);
    return SN_RUN(be, unary, act, x, y);
}
static sana_status g_binary(sn_backend *be, sn_binop op, const sn_tensor *a, const sn_tensor *b, sn_tensor *y) {
    sn_graph *g = sn_gop(be, "binary");
    SN_HV(g, (int)op), sn_ht(g, a), sn_ht(g, b), sn_ht(g, y);
    return SN_RUN(be, binary, op, a, b, y);
}
static sana_status g_scale(sn_backend *be, const sn_tensor *x, float alpha, float beta, sn_tensor *y) {
    sn_graph *g = sn_gop(be, "scale");
    sn_ht(g, x), SN_HV(g, alpha), SN_HV(g, beta), sn_ht(g, y);
    return SN_RUN(be, scale, x, alpha, beta, y);
}
static sana_status g_permute(sn_backend *be, const sn_tensor *x, const int32_t *perm, sn_tensor *y) {
    sn_graph *g = sn_gop(be, "permute");
    sn_ht(g, x), sn_hb(g, perm, (size_t)x->ndim * sizeof *perm), sn_ht(g, y);
    return SN_RUN(be, permute, x, perm, y);
}
static sana_status g_layer_norm(sn_backend *be, const sn_tensor *x, const sn_tensor *w, const sn_tensor *b,
                                const sn_tensor *shift, const sn_tensor *scale, float eps, sn_tensor *y) {
    sn_graph *g = sn_gop(be, "layer_norm");
    sn_ht(g, x), sn_ht(g, w), sn_ht(g, b), sn_ht(g, shift), sn_ht(g, scale), SN_HV(g, eps), sn_ht(g, y);
    return SN_RUN(be, layer_norm, x, w, b, shift, scale, eps, y);
}
static sana_status g_rms_norm(sn_backend *be, const sn_tensor *x, const sn_tensor *w, const sn_tensor *b,
                              float w_offset, float eps, sn_tensor *y) {
    sn_graph *g = sn_gop(be, "rms_norm");
    sn_ht(g, x), sn_ht(g, w), sn_ht(g, b), SN_HV(g, w_offset), SN_HV(g, eps), sn_ht(g, y);
    return SN_RUN(be, rms_norm, x, w, b, w_offset, eps, y);
}
static sana_status g_attention(sn_backend *be, const sn_tensor *q, const sn_tensor *k, const sn_tensor *v,
                               const sn_attn_params *p, sn_tensor *y) {
    sn_graph *g = sn_gop(be, "attention");
    sn_ht(g, q), sn_ht(g, k), sn_ht(g, v), sn_ht(g, y);
    SN_HV(g, p->scale), SN_HV(g, p->softcap), SN_HV(g, p->causal), SN_HV(g, p->window), sn_ht(g, p->mask);
    return SN_RUN(be, attention, q, k, v, p, y);
}
static sana_status g_rope(sn_backend *be, const sn_tensor *x, float theta, int64_t pos0, sn_tensor *y) {
    sn_graph *g = sn_gop(be, "rope");
    sn_ht(g, x), SN_HV(g, theta), SN_HV(g, pos0), sn_ht(g, y);
    return SN_RUN(be, rope, x, theta, pos0, y);
}
static sana_status g_linear_attention(sn_backend *be, const sn_tensor *q, const sn_tensor *k, const sn_tensor *v,
                                      int32_t heads, float eps, sn_tensor *y) {
    sn_graph *g = sn_gop(be, "linear_attention");
    sn_ht(g, q), sn_ht(g, k), sn_ht(g, v), SN_HV(g, heads), SN_HV(g, eps), sn_ht(g, y);
    return SN_RUN(be, linear_attention, q, k, v, heads, eps, y);
}
static sana_status g_dwconv2d_nhwc(sn_backend *be, const sn_tensor *x, const sn_tensor *w, const sn_tensor *b,
                                   int32_t pad, sn_tensor *y) {
    sn_graph *g = sn_gop(be, "dwconv2d_nhwc");
    sn_ht(g, x), sn_ht(g, w), sn_ht(g, b), SN_HV(g, pad), sn_ht(g, y);
    return SN_RUN(be, dwconv2d_nhwc, x, w, b, pad, y);
}
static sana_status g_glu(sn_backend *be, const sn_tensor *x, sn_act act, sn_tensor *y) {
    sn_graph *g = sn_gop(be, "glu");
    sn_ht(g, x), SN_HV(g, (int)act), sn_ht(g, y);
    return SN_RUN(be, glu, x, act, y);
}
static sana_status g_gated_add(sn_backend *be, sn_tensor *x, const sn_tensor *y, const sn_tensor *gate) {
    sn_graph *g = sn_gop(be, "gated_add");
    sn_ht(g, x), sn_ht(g, y), sn_ht(g, gate);
    return SN_RUN(be, gated_add, x, y, gate);
}
static sana_status g_conv2d_band(sn_backend *be, const sn_tensor *x, int64_t x_row0, int64_t h_full,
                                 const sn_tensor *w, const sn_tensor *b, int32_t up, int32_t stride, int32_t pad,
                                 sn_tensor *y, int64_t y_row0) {
    sn_graph *g = sn_gop(be, "conv2d_band");
    sn_ht(g, x), SN_HV(g, x_row0), SN_HV(g, h_full), sn_ht(g, w), sn_ht(g, b);
    SN_HV(g, up), SN_HV(g, stride), SN_HV(g, pad), sn_ht(g, y), SN_HV(g, y_row0);
    return SN_RUN(be, conv2d_band, x, x_row0, h_full, w, b, up, stride, pad, y, y_row0);
}
static sana_status g_channel_norm(sn_backend *be, const sn_tensor *x, const sn_tensor *w, const sn_tensor *b,
                                  float eps, sn_act act, sn_tensor *y) {
    sn_graph *g = sn_gop(be, "channel_norm");
    sn_ht(g, x), sn_ht(g, w), sn_ht(g, b), SN_HV(g, eps), SN_HV(g, (int)act), sn_ht(g, y);
    return SN_RUN(be, channel_norm, x, w, b, eps, act, y);
}
static sana_status g_linear_attention_relu(sn_backend *be, const sn_tensor *qkv, float eps, sn_tensor *y) {
    sn_graph *g = sn_gop(be, "linear_attention_relu");
    sn_ht(g, qkv), SN_HV(g, eps), sn_ht(g, y);
    return SN_RUN(be, linear_attention_relu, qkv, eps, y);
}
static sana_status g_shortcut_dup(sn_backend *be, const sn_tensor *x, int64_t x_row0, int32_t f, sn_tensor *y,
                                  int64_t y_row0) {
    sn_graph *g = sn_gop(be, "shortcut_dup");
    sn_ht(g, x), SN_HV(g, x_row0), SN_HV(g, f), sn_ht(g, y), SN_HV(g, y_row0);
    return SN_RUN(be, shortcut_dup, x, x_row0, f, y, y_row0);
}
static sana_status g_shortcut_avg(sn_backend *be, const sn_tensor *x, int32_t f, sn_tensor *y) {
    sn_graph *g = sn_gop(be, "shortcut_avg");
    sn_ht(g, x), SN_HV(g, f), sn_ht(g, y);
    return SN_RUN(be, shortcut_avg, x, f, y);
}
static sana_status g_linear_attention_state(sn_backend *be, const sn_tensor *qkv, sn_tensor *s) {
    sn_graph *g = sn_gop(be, "linear_attention_state");
    sn_ht(g, qkv), sn_ht(g, s);
    return SN_RUN(be, linear_attention_state, qkv, s);
}
static sana_status g_linear_attention_apply(sn_backend *be, const sn_tensor *qkv, const sn_tensor *s, float eps,
                                            sn_tensor *y) {
    sn_graph *g = sn_gop(be, "linear_attention_apply");
    sn_ht(g, qkv), sn_ht(g, s), SN_HV(g, eps), sn_ht(g, y);
    return SN_RUN(be, linear_attention_apply, qkv, s, eps, y);
}
static sana_status g_nested_begin(sn_backend *be, sn_graph **g) {
    (void)be;
    (void)g;
    return g_refuse("a nested graph run");
}
static sana_status g_nested_launch(sn_backend *be, sn_graph *g) {
    (void)be;
    (void)g;
    return g_refuse("a graph launch");
}
static void g_graph_free(sn_backend *be, sn_graph *g) { sn_cuda_of(be)->run_ops->graph_free(be, g); }
static sana_status g_memory(sn_backend *be, size_t *in_use, size_t *peak) {
    return sn_cuda_of(be)->run_ops->memory(be, in_use, peak);
}
static size_t g_scratch_bytes(sn_backend *be, const sn_op_shape *s) {
    return sn_cuda_of(be)->run_ops->scratch_bytes(be, s);
}

static const sn_ops sn_cuda_graph_ops = {
    .name = "cuda",
    .destroy = g_destroy,
    .alloc = g_alloc,
    .free = g_free,
    .upload = g_upload,
    .download = g_download,
    .upload_convert = g_upload_convert,
    .copy = g_copy,
    .fill = g_fill,
    .synchronize = g_sync,
    .linear = g_linear,
    .matmul = g_matmul,
    .conv2d = g_conv2d,
    .unary = g_unary,
    .binary = g_binary,
    .scale = g_scale,
    .permute = g_permute,
    .layer_norm = g_layer_norm,
    .rms_norm = g_rms_norm,
    .attention = g_attention,
    .rope = g_rope,
    .linear_attention = g_linear_attention,
    .dwconv2d_nhwc = g_dwconv2d_nhwc,
    .glu = g_glu,
    .gated_add = g_gated_add,
    .conv2d_band = g_conv2d_band,
    .channel_norm = g_channel_norm,
    .linear_attention_relu = g_linear_attention_relu,
    .shortcut_dup = g_shortcut_dup,
    .shortcut_avg = g_shortcut_avg,
    .linear_attention_state = g_linear_attention_state,
    .linear_attention_apply = g_linear_attention_apply,
    .scratch_bytes = g_scratch_bytes,
    .graph_begin = g_nested_begin,
    .graph_end = sn_cuda_graph_end, /* sn_graph_run ends the graph through this table */
    .graph_launch = g_nested_launch,
    .graph_free = g_graph_free,
    .memory = g_memory,
};

/* --- capture-time uploads ------------------------------------------------------------------------- */

sana_status sn_cuda_graph_upload(sn_backend *be, void *dst, sn_dtype dst_type, sn_dtype src_type,
                                 const void *src_host, int64_t n) {
    sn_cuda *c = sn_cuda_of(be);
    sn_graph *g = c->graph;
    size_t bytes = (size_t)n * sn_dtype_size(src_type);
    if (src_type != dst_type && src_type != SN_F32 && src_type != SN_F16 && src_type != SN_BF16)
        return sn_fail(SANA_ERR_UNSUPPORTED, "cuda graph: cannot upload dtype %s", sn_dtype_name(src_type));
    if (g->n_slots == g->cap_slots) {
        int cap = g->cap_slots ? 2 * g->cap_slots : 8;
        sn_graph_slot *s = realloc(g->slots, (size_t)cap * sizeof *s);
        if (!s) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "cuda graph: upload slots");
        g->slots = s;
        g->cap_slots = cap;
    }
    unsigned char *first = realloc(g->first, g->host_bytes + bytes + 256);
    if (!first) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "cuda graph: %zu bytes of upload staging", bytes);
    g->first = first;
    sn_graph_slot *s = &g->slots[g->n_slots];
    s->dst = dst;
    s->bytes = bytes;
    s->host_off = g->host_bytes;
    s->dstage = sn_cuda_alloc(be, bytes); /* allowed while capturing in relaxed mode */
    if (!s->dstage) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "cuda graph: %zu bytes of device staging", bytes);
    g->n_slots++;
    memcpy(first + s->host_off, src_host, bytes);
    g->host_bytes += (bytes + 255) & ~(size_t)255;
    if (src_type == dst_type)
        return sn_cuda_check(cudaMemcpyAsync(dst, s->dstage, bytes, cudaMemcpyDeviceToDevice, c->stream),
                             "graph upload");
    return sn_cuda_check(sn_k_convert(s->dstage, src_type, dst, dst_type, n, c->stream), "graph upload");
}

/* --- begin / end / launch / free -------------------------------------------------------------------- */

static void sn_graph_clear(sn_backend *be, sn_graph *g) {
    if (g->exec) cudaGraphExecDestroy(g->exec);
    for (int i = 0; i < g->n_slots; i++) sn_cuda_free(be, g->slots[i].dstage);
    for (int i = 0; i < SN_RING; i++) {
        if (g->ring[i]) cudaFreeHost(g->ring[i]);
        if (g->ev[i]) cudaEventDestroy(g->ev[i]);
    }
    free(g->slots);
    free(g->first);
    memset(g, 0, sizeof *g);
}

void sn_cuda_graph_free(sn_backend *be, sn_graph *g) {
    if (!g) return;
    cudaStreamSynchronize(sn_cuda_of(be)->stream); /* no launch may still read its buffers */
    sn_graph_clear(be, g);
    free(g);
}

static void sn_hash_start(sn_backend *be, sn_graph *g) {
    g->run_hash = 1469598103934665603ull;
    sn_arena_mark m = sn_scratch_mark(be);
    SN_HV(g, (uintptr_t)m.chunk), SN_HV(g, m.offset), SN_HV(g, m.used);
}

sana_status sn_cuda_graph_begin(sn_backend *be, sn_graph **gp) {
    sn_cuda *c = sn_cuda_of(be);
    if (!*gp) {
        *gp = calloc(1, sizeof **gp);
        if (!*gp) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "cuda graph");
    }
    sn_graph *g = *gp;
    sn_hash_start(be, g);
    g->run_slot = 0;
    g->run_bad = 0;
    if (g->exec) {
        /* dry run: the ring buffer it fills must no longer be read by an earlier launch */
        g->ring_next = (g->ring_cur + 1) % SN_RING;
        SN_TRY(sn_cuda_check(cudaEventSynchronize(g->ev[g->ring_next]), "graph ring"));
        c->mode = SN_CUDA_RECORD;
    } else {
        sn_graph_clear(be, g);
        sn_hash_start(be, g);
        SN_TRY(sn_cuda_check(cudaStreamBeginCapture(c->stream, cudaStreamCaptureModeRelaxed), "begin capture"));
        c->mode = SN_CUDA_CAPTURE;
    }
    c->graph = g;
    c->run_ops = be->ops;
    be->ops = &sn_cuda_graph_ops;
    return SANA_OK;
}

static sana_status sn_graph_finish_capture(sn_backend *be, sn_graph *g) {
    sn_cuda *c = sn_cuda_of(be);
    cudaGraph_t graph = NULL;
    sana_status st = sn_cuda_check(cudaStreamEndCapture(c->stream, &graph), "end capture");
    if (st == SANA_OK) st = sn_cuda_check(cudaGraphInstantiate(&g->exec, graph, 0), "instantiate graph");
    if (graph) cudaGraphDestroy(graph);
    for (int i = 0; i < SN_RING && st == SANA_OK; i++) {
        st = sn_cuda_check(cudaMallocHost(&g->ring[i], g->host_bytes ? g->host_bytes : 1), "graph ring");
        if (st == SANA_OK) st = sn_cuda_check(cudaEventCreateWithFlags(&g->ev[i], cudaEventDisableTiming), "graph event");
    }
    if (st == SANA_OK) {
        if (g->host_bytes) memcpy(g->ring[0], g->first, g->host_bytes);
        free(g->first);
        g->first = NULL;
        g->ring_cur = 0;
        g->hash = g->run_hash;
    }
    return st;
}

sana_status sn_cuda_graph_end(sn_backend *be, sn_graph *g, sana_status run_status, int *launchable) {
    sn_cuda *c = sn_cuda_of(be);
    sn_cuda_mode mode = c->mode;
    be->ops = c->run_ops;
    c->mode = SN_CUDA_RUN;
    c->graph = NULL;
    *launchable = 0;
    if (mode == SN_CUDA_CAPTURE) {
        sana_status st = run_status == SANA_OK ? sn_graph_finish_capture(be, g) : run_status;
        if (st != SANA_OK) {
            if (run_status != SANA_OK) { /* leave the stream out of capture mode */
                cudaGraph_t graph = NULL;
                cudaStreamEndCapture(c->stream, &graph);
                if (graph) cudaGraphDestroy(graph);
            }
            cudaGetLastError();
            sn_graph_clear(be, g);
            return run_status == SANA_OK ? st : SANA_OK; /* the run's own error is the caller's */
        }
        *launchable = 1;
        return SANA_OK;
    }
    /* dry run */
    if (run_status != SANA_OK) return SANA_OK;
    if (g->run_bad || g->run_slot != g->n_slots || g->run_hash != g->hash) {
        sn_log(SANA_LOG_DEBUG, "cuda graph: the call differs from the captured one; capturing again");
        cudaStreamSynchronize(c->stream);
        sn_graph_clear(be, g);
        return SANA_OK;
    }
    g->ring_cur = g->ring_next;
    *launchable = 1;
    return SANA_OK;
}

sana_status sn_cuda_graph_launch(sn_backend *be, sn_graph *g) {
    sn_cuda *c = sn_cuda_of(be);
    const char *ring = g->ring[g->ring_cur];
    for (int i = 0; i < g->n_slots; i++)
        SN_TRY(sn_cuda_check(cudaMemcpyAsync(g->slots[i].dstage, ring + g->slots[i].host_off, g->slots[i].bytes,
                                             cudaMemcpyHostToDevice, c->stream),
                             "graph upload"));
    SN_TRY(sn_cuda_check(cudaEventRecord(g->ev[g->ring_cur], c->stream), "graph event"));
    return sn_cuda_check(cudaGraphLaunch(g->exec, c->stream), "graph launch");
}
