/* Error reporting inside the library.
 *
 * Inner modules report a failure by `return sn_fail(code, "fmt", ...)`: the text goes to a
 * thread-local buffer, so no module needs a context pointer just to say what went wrong. The API
 * layer copies it into the context (or leaves it for sana_last_error()) when a call returns. */
#ifndef SN_CORE_ERROR_H
#define SN_CORE_ERROR_H

#include "sana/sana.h"

#if defined(__GNUC__)
#define SN_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SN_PRINTF(f, a)
#endif

/* Records the message for this thread and returns `code`. */
sana_status sn_fail(sana_status code, const char *fmt, ...) SN_PRINTF(2, 3);

/* Prefixes the current message with more context ("loading transformer: " + old text) and returns
 * `code` unchanged; use when passing a failure up. */
sana_status sn_fail_prefix(sana_status code, const char *fmt, ...) SN_PRINTF(2, 3);

const char *sn_error_text(void);
void sn_error_clear(void);

/* Propagate a failure: `SN_TRY(sn_something(...));` */
#define SN_TRY(expr)                                                                               \
    do {                                                                                           \
        sana_status sn_try_status_ = (expr);                                                       \
        if (sn_try_status_ != SANA_OK) return sn_try_status_;                                      \
    } while (0)

#endif
