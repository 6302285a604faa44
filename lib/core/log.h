/* Logging. A call on a context sets this thread's sink for its duration (sn_log_bind), so inner
 * modules log with sn_log() and the message reaches that context's callback. */
#ifndef SN_CORE_LOG_H
#define SN_CORE_LOG_H

#include "core/error.h"

typedef struct sn_log_sink {
    sana_log_fn fn;
    void *user_data;
    sana_log_level max_level;
} sn_log_sink;

void sn_log(sana_log_level level, const char *fmt, ...) SN_PRINTF(2, 3);

/* Sets this thread's sink (NULL = the process default) and returns the previous one. */
const sn_log_sink *sn_log_bind(const sn_log_sink *sink);

#endif
