/* The plugin: one context and one model, a worker thread per generation. */
#define _POSIX_C_SOURCE 200809L
#include "sana_plugin.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sana_plugin {
    sana_context *ctx;
    sana_model *model;
    pthread_t worker;
    int running;      /* a worker was started and not joined yet */
    atomic_int busy;  /* the worker has not finished */
    atomic_int cancel; /* asked before or during the run (a context cancel only reaches a
                          call already running) */
    sana_status last;
    /* The request being run (strings copied: the caller's may go away). */
    sana_plugin_request req;
    char *prompt;
    uint8_t *rgba;
    size_t stride;
};

sana_status sana_plugin_open(const char *model_dir, int32_t n_threads, sana_plugin **out,
                             char *err, size_t err_size) {
    *out = NULL;
    sana_plugin *p = calloc(1, sizeof *p);
    if (!p) return SANA_ERR_OUT_OF_MEMORY;
    atomic_init(&p->busy, 0);
    atomic_init(&p->cancel, 0);
    sana_context_params cp;
    sana_context_params_init(&cp);
    cp.n_threads = n_threads;
    sana_status st = sana_context_create(&cp, &p->ctx);
    if (st != SANA_OK) {
        snprintf(err, err_size, "%s", sana_last_error());
        free(p);
        return st;
    }
    st = sana_model_load(p->ctx, model_dir, NULL, &p->model);
    if (st != SANA_OK) {
        snprintf(err, err_size, "%s", sana_context_last_error(p->ctx));
        sana_context_free(p->ctx);
        free(p);
        return st;
    }
    *out = p;
    return SANA_OK;
}

static void forward_progress(int32_t step, int32_t steps, void *user_data) {
    sana_plugin *p = user_data;
    if (atomic_load(&p->cancel)) sana_context_cancel(p->ctx);
    if (p->req.on_progress) p->req.on_progress(step, steps, p->req.user_data);
}

/* Copies the library's RGB image into the caller's RGBA buffer. */
static void copy_rgba(const sana_image *im, uint8_t *dst, size_t dst_stride) {
    uint32_t w = sana_image_width(im), h = sana_image_height(im), c = sana_image_channels(im);
    const uint8_t *src = sana_image_pixels_const(im);
    for (uint32_t y = 0; y < h; y++) {
        const uint8_t *s = src + y * sana_image_stride(im);
        uint8_t *d = dst + y * dst_stride;
        for (uint32_t x = 0; x < w; x++) {
            d[4 * x + 0] = s[c * x + 0];
            d[4 * x + 1] = s[c * x + 1];
            d[4 * x + 2] = s[c * x + 2];
            d[4 * x + 3] = c == 4 ? s[c * x + 3] : 255;
        }
    }
}

static void *run(void *arg) {
    sana_plugin *p = arg;
    sana_generate_params g;
    sana_generate_params_init(&g);
    g.prompt = p->prompt;
    g.width = p->req.width;
    g.height = p->req.height;
    g.resolution_binning = 0; /* the caller's buffer has exactly this size */
    g.seed = p->req.seed;
    g.steps = p->req.steps;
    g.progress = forward_progress;
    g.progress_user_data = p;
    sana_image *im = NULL;
    sana_status st = atomic_load(&p->cancel) ? SANA_ERR_CANCELLED
                                             : sana_generate(p->ctx, p->model, &g, &im);
    if (st == SANA_OK) {
        if ((int32_t)sana_image_width(im) == p->req.width &&
            (int32_t)sana_image_height(im) == p->req.height)
            copy_rgba(im, p->rgba, p->stride);
        else
            st = SANA_ERR_INTERNAL;
    }
    sana_image_free(im);
    p->last = st;
    if (p->req.on_done) {
        const char *msg = st == SANA_OK ? "" : sana_context_last_error(p->ctx);
        p->req.on_done(st, msg[0] ? msg : sana_status_string(st), p->req.user_data);
    }
    atomic_store(&p->busy, 0);
    return NULL;
}

sana_status sana_plugin_start(sana_plugin *p, const sana_plugin_request *req, uint8_t *rgba,
                              size_t stride) {
    if (!p || !req || !req->prompt || !rgba || req->width <= 0 || req->height <= 0 ||
        stride < (size_t)req->width * 4)
        return SANA_ERR_INVALID_ARGUMENT;
    if (atomic_load(&p->busy)) return SANA_ERR_INVALID_ARGUMENT;
    if (p->running) { /* finished: reap the thread */
        pthread_join(p->worker, NULL);
        p->running = 0;
    }
    free(p->prompt);
    p->prompt = strdup(req->prompt);
    if (!p->prompt) return SANA_ERR_OUT_OF_MEMORY;
    p->req = *req;
    p->rgba = rgba;
    p->stride = stride;
    atomic_store(&p->cancel, 0);
    atomic_store(&p->busy, 1);
    if (pthread_create(&p->worker, NULL, run, p) != 0) {
        atomic_store(&p->busy, 0);
        return SANA_ERR_OUT_OF_MEMORY;
    }
    p->running = 1;
    return SANA_OK;
}

void sana_plugin_cancel(sana_plugin *p) {
    if (!p) return;
    atomic_store(&p->cancel, 1);
    sana_context_cancel(p->ctx);
}

sana_status sana_plugin_wait(sana_plugin *p) {
    if (p->running) {
        pthread_join(p->worker, NULL);
        p->running = 0;
    }
    return p->last;
}

void sana_plugin_close(sana_plugin *p) {
    if (!p) return;
    sana_plugin_cancel(p);
    sana_plugin_wait(p);
    sana_model_free(p->model);
    sana_context_free(p->ctx);
    free(p->prompt);
    free(p);
}
