/* Gemma-2 as SANA's text encoder (last hidden state). Spec: shared/spec/text_encoder.md. */
#ifndef SN_ENCODER_GEMMA_H
#define SN_ENCODER_GEMMA_H

#include "backend/backend.h"

typedef struct sn_gemma sn_gemma;

sana_status sn_gemma_load(sn_backend *be, const char *dir, const char *variant, sn_gemma **out);
void sn_gemma_free(sn_gemma *g);
int64_t sn_gemma_param_count(const sn_gemma *g);

#endif
