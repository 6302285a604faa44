/* The Gemma tokenizer from tokenizer.json (BPE with byte fallback). */
#ifndef SN_ENCODER_TOKENIZER_H
#define SN_ENCODER_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct sn_tokenizer sn_tokenizer;

/* `path`: a tokenizer.json file or a folder holding one. */
sana_status sn_tokenizer_load(const char *path, sn_tokenizer **out);
void sn_tokenizer_free(sn_tokenizer *tok);

#endif
