/* sana_context: backend, lock, log sink, cancellation, last error. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/internal.h"
#include "core/call.h"

/* n_threads above this is refused: the CPU backend starts that many worker threads per calling
 * thread (INT32_MAX of them would never return). */
#define SN_MAX_THREADS 1024

#define SN_STR2(x) #x
#define SN_STR(x) SN_STR2(x)

const char *sana_version(void) {
    return SN_STR(SANA_VERSION_MAJOR) "." SN_STR(SANA_VERSION_MINOR) "." SN_STR(SANA_VERSION_PATCH);
}

uint32_t sana_version_number(void) { return SANA_VERSION_NUMBER; }

sana_status sn_params_read(void *dst, size_t dst_size, const void *src, const char *what) {
    if (!src) return SANA_OK;
    uint32_t size;
    memcpy(&size, src, sizeof size);
    if (size < sizeof(uint32_t))
        return sn_fail(SANA_ERR_INVALID_ARGUMENT,
                       "%s: struct_size is %u; fill the struct with its *_params_init() first",
                       what, size);
    size_t n = size < dst_size ? size : dst_size;
    memcpy((char *)dst + sizeof(uint32_t), (const char *)src + sizeof(uint32_t),
           n - sizeof(uint32_t));
    return SANA_OK;
}

sana_status sn_api_check_memory(double bytes, const char *fn, const char *what) {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    double phys = (pages > 0 && page > 0) ? (double)pages * (double)page : 64e9;
    if (bytes > phys)
        return sn_fail(SANA_ERR_OUT_OF_MEMORY, "%s: %s need about %.1f GiB of host memory; this machine "
                       "has %.1f GiB", fn, what, bytes / 1073741824.0, phys / 1073741824.0);
    return SANA_OK;
}

void sana_context_params_init(sana_context_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->backend = SANA_BACKEND_AUTO;
    p->precision = SANA_PRECISION_AUTO;
    p->log_level = SANA_LOG_WARN;
}

static sana_status sn_context_backend_create(const sana_context_params *p, sana_context *ctx) {
    switch (p->backend) {
    case SANA_BACKEND_AUTO:
        ctx->kind = SANA_BACKEND_CUDA;
        if (sn_backend_cuda_create(p->device, p->precision, &ctx->be) == SANA_OK) return SANA_OK;
        ctx->kind = SANA_BACKEND_CPU;
        return sn_backend_cpu_create(p->n_threads, &ctx->be);
    case SANA_BACKEND_CPU:
        ctx->kind = SANA_BACKEND_CPU;
        return sn_backend_cpu_create(p->n_threads, &ctx->be);
    case SANA_BACKEND_CUDA:
        ctx->kind = SANA_BACKEND_CUDA;
        return sn_backend_cuda_create(p->device, p->precision, &ctx->be);
    }
    return sn_fail(SANA_ERR_INVALID_ARGUMENT, "unknown backend %d", (int)p->backend);
}

sana_status sana_context_create(const sana_context_params *params, sana_context **out) {
    sn_error_clear();
    if (!out) return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_context_create: out is NULL");
    *out = NULL;
    sana_context_params p;
    sana_context_params_init(&p);
    SN_TRY(sn_params_read(&p, sizeof p, params, "sana_context_params"));
    if (p.n_threads < 0 || p.n_threads > SN_MAX_THREADS)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "n_threads is %d; it must be 1..%d, or 0 for one per core",
                       p.n_threads, SN_MAX_THREADS);
    if (p.precision < SANA_PRECISION_AUTO || p.precision > SANA_PRECISION_BF16)
        return sn_fail(SANA_ERR_INVALID_ARGUMENT, "sana_context_params: unknown precision %d", (int)p.precision);

    sana_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return sn_fail(SANA_ERR_OUT_OF_MEMORY, "sana_context_create: out of memory");
    sana_status st = sn_context_backend_create(&p, ctx);
    if (st != SANA_OK) {
        free(ctx);
        return st;
    }
    ctx->be->kind = ctx->kind;
    ctx->be->device = p.device;
    ctx->be->precision = p.precision;
    sn_error_clear();
    sn_mutex_init(&ctx->lock);
    atomic_init(&ctx->cancel, 0);
    ctx->sink.fn = p.log;
    ctx->sink.user_data = p.log_user_data;
    ctx->sink.max_level = p.log_level;
    *out = ctx;
    return SANA_OK;
}

void sana_context_free(sana_context *ctx) {
    if (!ctx) return;
    sn_backend_free(ctx->be);
    sn_mutex_destroy(&ctx->lock);
    free(ctx);
}

sana_backend sana_context_backend(const sana_context *ctx) {
    return ctx ? ctx->kind : SANA_BACKEND_AUTO;
}

const char *sana_context_last_error(const sana_context *ctx) {
    return ctx ? ctx->last_error : "sana_context_last_error: ctx is NULL";
}

void sana_context_cancel(sana_context *ctx) {
    if (ctx) atomic_store(&ctx->cancel, 1);
}

void sn_api_enter(sana_context *ctx) {
    sn_mutex_lock(&ctx->lock);
    atomic_store(&ctx->cancel, 0);
    ctx->last_error[0] = '\0';
    sn_error_clear();
    sn_log_bind(ctx->sink.fn ? &ctx->sink : NULL);
    sn_call_bind_cancel(&ctx->cancel);
    sn_backend_bind_call(ctx->be);
    ctx->caller_threads = ctx->kind == SANA_BACKEND_CPU ? sn_threads_set(ctx->be->n_threads) : 0;
}

sana_status sn_api_leave(sana_context *ctx, sana_status status) {
    if (status != SANA_OK) {
        const char *text = sn_error_text()[0] ? sn_error_text() : sana_status_string(status);
        strncpy(ctx->last_error, text, SN_ERR_CAP - 1);
        ctx->last_error[SN_ERR_CAP - 1] = '\0';
    }
    sn_arena_trim(&ctx->be->scratch, ctx->be->scratch_keep);
    sn_call_bind_cancel(NULL);
    sn_backend_bind_call(NULL);
    sn_log_bind(NULL);
    sn_threads_set(ctx->caller_threads);
    sn_mutex_unlock(&ctx->lock);
    return status;
}
