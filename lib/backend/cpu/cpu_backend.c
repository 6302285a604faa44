/* CPU backend: memory is plain host memory; activations and weights are float32. */
#define _DEFAULT_SOURCE /* madvise */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <omp.h>

#include "backend/cpu/cpu.h"

/* Big buffers (weights, the scratch arena's chunks) are asked for in 2 MiB transparent huge
 * pages, which most distributions give only on request (THP "madvise"): filling the fp32 Gemma-2
 * (10 GB) then takes ~5 000 page faults instead of ~2.6 M, each costly under a hypervisor, and
 * the GEMMs walk 512x fewer TLB entries. Advice only: where it is refused nothing changes. */
#define SN_HUGE_PAGE ((size_t)2 << 20)

static void *sn_cpu_alloc(sn_backend *be, size_t bytes) {
    (void)be;
    void *p = NULL;
    int huge = bytes >= 2 * SN_HUGE_PAGE;
    if (posix_memalign(&p, huge ? SN_HUGE_PAGE : 64, bytes ? bytes : 1)) return NULL;
#ifdef MADV_HUGEPAGE
    if (huge) (void)madvise(p, bytes & ~(SN_HUGE_PAGE - 1), MADV_HUGEPAGE);
#endif
    return p;
}

static void sn_cpu_free(sn_backend *be, void *ptr) {
    (void)be;
    free(ptr);
}

static void *sn_cpu_chunk_alloc(void *owner, size_t bytes) { return sn_cpu_alloc(owner, bytes); }
static void sn_cpu_chunk_free(void *owner, void *ptr) { sn_cpu_free(owner, ptr); }

static void sn_cpu_destroy(sn_backend *be) { free(be); }

static sana_status sn_cpu_upload(sn_backend *be, void *dst, const void *src, size_t bytes) {
    (void)be;
    memcpy(dst, src, bytes);
    return SANA_OK;
}

static sana_status sn_cpu_upload_convert(sn_backend *be, sn_tensor *dst, sn_dtype src_type,
                                         const void *src) {
    (void)be;
    int64_t n = sn_numel(dst);
    if (dst->dtype == src_type) {
        memcpy(dst->data, src, (size_t)n * sn_dtype_size(src_type));
        return SANA_OK;
    }
    if (dst->dtype != SN_F32 || sn_convert_to_f32(src_type, src, SN_F(dst), n) != 0)
        return sn_fail(SANA_ERR_UNSUPPORTED, "cpu backend: cannot convert %s to %s",
                       sn_dtype_name(src_type), sn_dtype_name(dst->dtype));
    return SANA_OK;
}

static sana_status sn_cpu_copy(sn_backend *be, sn_tensor *dst, const sn_tensor *src) {
    (void)be;
    if (dst->dtype != src->dtype) return sn_fail(SANA_ERR_INTERNAL, "copy between dtypes");
    memmove(dst->data, src->data, (size_t)sn_numel(src) * sn_dtype_size(src->dtype));
    return SANA_OK;
}

static sana_status sn_cpu_fill(sn_backend *be, sn_tensor *dst, float value) {
    (void)be;
    float *d = SN_F(dst);
    int64_t n = sn_numel(dst);
    for (int64_t i = 0; i < n; i++) d[i] = value;
    return SANA_OK;
}

static sana_status sn_cpu_sync(sn_backend *be) {
    (void)be;
    return SANA_OK;
}

static const sn_ops sn_cpu_ops = {
    .name = "cpu",
    .destroy = sn_cpu_destroy,
    .alloc = sn_cpu_alloc,
    .free = sn_cpu_free,
    .upload = sn_cpu_upload,
    .download = sn_cpu_upload,
    .upload_convert = sn_cpu_upload_convert,
    .copy = sn_cpu_copy,
    .fill = sn_cpu_fill,
    .synchronize = sn_cpu_sync,
    .linear = sn_cpu_linear,
    .matmul = sn_cpu_matmul,
    .conv2d = sn_cpu_conv2d,
    .unary = sn_cpu_unary,
    .binary = sn_cpu_binary,
    .scale = sn_cpu_scale,
    .permute = sn_cpu_permute,
    .layer_norm = sn_cpu_layer_norm,
    .rms_norm = sn_cpu_rms_norm,
    .attention = sn_cpu_attention,
    /* text encoder ops (issue 4) */
    .rope = sn_cpu_rope,

    /* DiT ops (issue 5) */
    .linear_attention = sn_cpu_linear_attention,
    .dwconv2d_nhwc = sn_cpu_dwconv2d_nhwc,
    .glu = sn_cpu_glu,
    .gated_add = sn_cpu_gated_add,

    /* DC-AE ops (issue 6) */
    .conv2d_band = sn_cpu_conv2d_band_fast,
    .channel_norm = sn_cpu_channel_norm,
    .linear_attention_relu = sn_cpu_linear_attention_relu,
    .shortcut_dup = sn_cpu_shortcut_dup,
    .shortcut_avg = sn_cpu_shortcut_avg,
    .linear_attention_state = sn_cpu_linear_attention_state,
    .linear_attention_apply = sn_cpu_linear_attention_apply,
    .scratch_bytes = sn_cpu_scratch_bytes,
};

sana_status sn_backend_cpu_create(int32_t n_threads, sn_backend **out) {
    sn_backend *be = calloc(1, sizeof *be);
    if (!be) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "cpu backend: out of memory");
    be->ops = &sn_cpu_ops;
    be->act_dtype = SN_F32;
    be->weight_dtype = SN_F32;
    be->host_weights = 1;
    /* 0: OpenMP's default for this thread (one per core, or OMP_NUM_THREADS) */
    be->n_threads = n_threads > 0 ? n_threads : omp_get_max_threads();
    sn_arena_init(&be->scratch, sn_cpu_chunk_alloc, sn_cpu_chunk_free, be, (size_t)64 << 20);
    /* host memory is the application's too: a decode's block (1.6 GiB at 1024²) is given back
     * after the call; taking it again costs page faults, small against a CPU decode */
    be->scratch_keep = (size_t)64 << 20;
    *out = be;
    return SANA_OK;
}
