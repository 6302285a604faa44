#include "core/call.h"

#include <stddef.h>

static _Thread_local const atomic_int *sn_cancel_flag;

void sn_call_bind_cancel(const atomic_int *flag) { sn_cancel_flag = flag; }

int sn_cancel_requested(void) { return sn_cancel_flag && atomic_load(sn_cancel_flag) != 0; }
