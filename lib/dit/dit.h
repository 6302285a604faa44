/* The SANA linear DiT (SanaTransformer2DModel). Spec: shared/spec/dit.md. */
#ifndef SN_DIT_H
#define SN_DIT_H

#include "backend/backend.h"

typedef struct sn_dit sn_dit;

/* Loads transformer/ (config.json + weights) onto `be`. A config the code cannot run, a missing
 * tensor or a wrong shape is refused here with a message naming the key or tensor. */
sana_status sn_dit_load(sn_backend *be, const char *dir, const char *variant, sn_dit **out);
void sn_dit_free(sn_dit *dit);
int64_t sn_dit_param_count(const sn_dit *dit);

#endif
