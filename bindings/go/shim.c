/* C side of the Go callbacks: libsana calls these, they call the exported Go functions with the
 * cgo.Handle that user_data carries (converted here, not in Go, to keep vet quiet). */
#include <stdint.h>
#include <sana/sana.h>

#include "_cgo_export.h"

static void sanago_progress(int32_t step, int32_t steps, void *user_data) {
    sanaGoProgress(step, steps, (uintptr_t)user_data);
}

void sanago_set_progress(sana_generate_params *p, uintptr_t handle) {
    p->progress = sanago_progress;
    p->progress_user_data = (void *)handle;
}

static void sanago_log(sana_log_level level, const char *message, void *user_data) {
    sanaGoLog((int)level, (char *)message, (uintptr_t)user_data);
}

void sanago_set_log(sana_context_params *p, uintptr_t handle) {
    p->log = sanago_log;
    p->log_user_data = (void *)handle;
}

void sanago_set_denoise_progress(sana_denoise_params *p, uintptr_t handle) {
    p->progress = sanago_progress;
    p->progress_user_data = (void *)handle;
}
