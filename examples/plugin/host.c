/* A stand-in for an engine: loads the plugin once, then runs "frames" while the image is
 * generated in the background, shows progress, cancels one request, and saves the last image
 * from its own RGBA buffer.
 *
 *   sana-plugin-host MODEL_DIR OUT.png [PROMPT]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sana_plugin.h"

typedef struct {
    atomic_int step, steps, done;
    sana_status status;
    sana_plugin *plugin;
    int cancel_at; /* the step at which the "user" cancels (0 = never) */
} frame_state;

/* Runs on the generation's thread. The cancel is requested here, at the step itself, rather
 * than from the frame loop: a small model can run all its steps within one frame. */
static void on_progress(int32_t step, int32_t steps, void *user_data) {
    frame_state *f = user_data;
    atomic_store(&f->steps, steps);
    atomic_store(&f->step, step);
    if (f->cancel_at && step >= f->cancel_at) sana_plugin_cancel(f->plugin);
}

static void on_done(sana_status status, const char *message, void *user_data) {
    frame_state *f = user_data;
    f->status = status;
    if (status != SANA_OK) fprintf(stderr, "  generation ended: %s\n", message);
    atomic_store(&f->done, 1);
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Runs one request, "rendering frames" until it is done; cancels once `cancel_at` steps are done
 * (0 = never). Returns the status. */
static sana_status run_request(sana_plugin *plugin, const char *prompt, uint64_t seed,
                               uint8_t *rgba, int w, int h, int cancel_at) {
    frame_state f;
    atomic_init(&f.step, 0);
    atomic_init(&f.steps, 0);
    atomic_init(&f.done, 0);
    f.status = SANA_OK;
    f.plugin = plugin;
    f.cancel_at = cancel_at;
    sana_plugin_request req = {prompt, w, h, seed, 3, on_progress, on_done, &f};
    sana_status st = sana_plugin_start(plugin, &req, rgba, (size_t)w * 4);
    if (st != SANA_OK) return st;
    int frames = 0, shown = -1;
    while (!atomic_load(&f.done)) { /* the engine's frame loop keeps running */
        int step = atomic_load(&f.step);
        if (step != shown) {
            printf("  frame %d: step %d/%d\n", frames, step, atomic_load(&f.steps));
            shown = step;
        }
        frames++;
        sleep_ms(5);
    }
    sana_plugin_wait(plugin);
    printf("  %s after %d frames\n", sana_status_string(f.status), frames);
    return f.status;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL_DIR OUT.png [PROMPT]\n", argv[0]);
        return 2;
    }
    const char *prompt = argc > 3 ? argv[3] : "a castle on a hill at dawn";
    char err[512] = "";
    sana_plugin *plugin = NULL;
    sana_status st = sana_plugin_open(argv[1], 0, &plugin, err, sizeof err);
    if (st != SANA_OK) {
        fprintf(stderr, "plugin: %s: %s\n", sana_status_string(st), err);
        return 1;
    }
    enum { W = 96, H = 128 };
    uint8_t *texture = calloc((size_t)W * H, 4); /* the engine's buffer */

    printf("request 1 (cancelled at step 1):\n");
    sana_status a = run_request(plugin, prompt, 1, texture, W, H, 1);
    printf("request 2:\n");
    sana_status b = run_request(plugin, prompt, 2, texture, W, H, 0);

    int ok = a == SANA_ERR_CANCELLED && b == SANA_OK;
    if (b == SANA_OK) { /* save the engine's buffer, to look at */
        sana_image *im = NULL;
        if (sana_image_create(W, H, 4, &im) == SANA_OK) {
            uint8_t *px = sana_image_pixels(im);
            for (size_t i = 0; i < (size_t)W * H * 4; i++) px[i] = texture[i];
            ok = ok && sana_image_save_png(im, argv[2], prompt) == SANA_OK;
            sana_image_free(im);
        }
    }
    sana_plugin_close(plugin);
    free(texture);
    printf("plugin example: %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
