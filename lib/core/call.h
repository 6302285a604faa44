/* The state of the public call running on this thread: its cancellation flag. The API layer
 * binds it on entry, so long loops deep inside (denoising steps, decode bands) can poll it
 * without a context pointer. */
#ifndef SN_CORE_CALL_H
#define SN_CORE_CALL_H

#include <stdatomic.h>

void sn_call_bind_cancel(const atomic_int *flag);
/* 1 when the caller asked the running call to stop. */
int sn_cancel_requested(void);

#endif
