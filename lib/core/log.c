#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

static void sn_log_stderr(sana_log_level level, const char *message, void *user_data) {
    static const char *const names[] = {"error", "warning", "info", "debug"};
    (void)user_data;
    fprintf(stderr, "libsana %s: %s\n", names[level <= SANA_LOG_DEBUG ? level : SANA_LOG_DEBUG],
            message);
}

static sn_log_sink sn_default_sink = {sn_log_stderr, NULL, SANA_LOG_WARN};
static _Thread_local const sn_log_sink *sn_bound_sink;

void sana_log_set_default(sana_log_fn fn, void *user_data, sana_log_level max_level) {
    sn_default_sink.fn = fn ? fn : sn_log_stderr;
    sn_default_sink.user_data = fn ? user_data : NULL;
    sn_default_sink.max_level = max_level;
}

const sn_log_sink *sn_log_bind(const sn_log_sink *sink) {
    const sn_log_sink *old = sn_bound_sink;
    sn_bound_sink = sink;
    return old;
}

void sn_log(sana_log_level level, const char *fmt, ...) {
    const sn_log_sink *sink = sn_bound_sink ? sn_bound_sink : &sn_default_sink;
    if (!sink->fn || level > sink->max_level) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    sink->fn(level, buf, sink->user_data);
}
