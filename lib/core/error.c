#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SN_ERROR_CAP 2048

static _Thread_local char sn_error_buf[SN_ERROR_CAP];

sana_status sn_fail(sana_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sn_error_buf, sizeof sn_error_buf, fmt, ap);
    va_end(ap);
    return code;
}

sana_status sn_fail_prefix(sana_status code, const char *fmt, ...) {
    char prefix[512];
    char old[SN_ERROR_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, sn_error_buf, sizeof old);
    size_t n = strlen(prefix);
    memcpy(sn_error_buf, prefix, n);
    size_t room = sizeof sn_error_buf - 1 - n, m = strlen(old);
    if (m > room) m = room;
    memcpy(sn_error_buf + n, old, m);
    sn_error_buf[n + m] = '\0';
    return code;
}

const char *sn_error_text(void) { return sn_error_buf; }

void sn_error_clear(void) { sn_error_buf[0] = '\0'; }

const char *sana_status_string(sana_status status) {
    switch (status) {
    case SANA_OK: return "SANA_OK: success";
    case SANA_ERR_INVALID_ARGUMENT: return "SANA_ERR_INVALID_ARGUMENT: invalid argument";
    case SANA_ERR_NOT_FOUND: return "SANA_ERR_NOT_FOUND: not found";
    case SANA_ERR_IO: return "SANA_ERR_IO: input/output error";
    case SANA_ERR_FORMAT: return "SANA_ERR_FORMAT: malformed file";
    case SANA_ERR_UNSUPPORTED: return "SANA_ERR_UNSUPPORTED: not supported";
    case SANA_ERR_OUT_OF_MEMORY: return "SANA_ERR_OUT_OF_MEMORY: out of memory";
    case SANA_ERR_CANCELLED: return "SANA_ERR_CANCELLED: cancelled";
    case SANA_ERR_BACKEND: return "SANA_ERR_BACKEND: device error";
    case SANA_ERR_INTERNAL: return "SANA_ERR_INTERNAL: internal error";
    }
    return "SANA_ERR_UNKNOWN: unknown status code";
}

const char *sana_last_error(void) { return sn_error_buf; }
