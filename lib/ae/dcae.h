/* DC-AE (AutoencoderDC): decoder, encoder, banded and tiled decode. Spec: shared/spec/dcae.md. */
#ifndef SN_AE_DCAE_H
#define SN_AE_DCAE_H

#include "backend/backend.h"

typedef struct sn_dcae sn_dcae;

sana_status sn_dcae_load(sn_backend *be, const char *dir, const char *variant, sn_dcae **out);
void sn_dcae_free(sn_dcae *ae);
int64_t sn_dcae_param_count(const sn_dcae *ae);

#endif
