/*
 * An engine-plugin style wrapper over libsana (a game engine, an editor, a DCC tool):
 *
 *   - load once:     sana_plugin_open() keeps one context and the model for the plugin's life;
 *   - no frame hitch: sana_plugin_start() returns at once and generates on a worker thread;
 *   - caller memory: the image lands in the caller's RGBA8 buffer (any row stride), e.g. a
 *                    texture upload buffer; the plugin never hands out memory to free;
 *   - callbacks:     on_progress(step, steps) and on_done(status) from the worker thread;
 *   - cancel:        sana_plugin_cancel() from any thread; the run stops between steps.
 *
 * One generation at a time per plugin instance (open several for parallel work).
 */
#ifndef SANA_PLUGIN_H
#define SANA_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include <sana/sana.h>

typedef struct sana_plugin sana_plugin;

typedef struct sana_plugin_request {
    const char *prompt;
    int32_t width, height; /* pixels; the buffer must hold height rows of width * 4 bytes */
    uint64_t seed;
    int32_t steps;         /* 0 = the model's default */
    /* Called on the worker thread. */
    void (*on_progress)(int32_t step, int32_t steps, void *user_data);
    void (*on_done)(sana_status status, const char *message, void *user_data);
    void *user_data;
} sana_plugin_request;

/* Loads the model once. On failure returns the status and writes the reason to err. */
sana_status sana_plugin_open(const char *model_dir, int32_t n_threads, sana_plugin **out,
                             char *err, size_t err_size);

/* Starts a generation into `rgba` (RGBA8, `stride` bytes per row; must stay valid until
 * on_done). Returns SANA_ERR_INVALID_ARGUMENT while another one is running. */
sana_status sana_plugin_start(sana_plugin *plugin, const sana_plugin_request *request,
                              uint8_t *rgba, size_t stride);

/* Stops the running generation (on_done gets SANA_ERR_CANCELLED). Any thread. */
void sana_plugin_cancel(sana_plugin *plugin);

/* Waits for the running generation (if any) and returns its status. */
sana_status sana_plugin_wait(sana_plugin *plugin);

/* Cancels, waits, and frees everything. */
void sana_plugin_close(sana_plugin *plugin);

#endif
