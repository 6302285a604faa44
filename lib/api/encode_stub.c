/* Placeholder until prompt encoding lands (issue 4). */
#include <string.h>

#include "api/internal.h"

#define SN_NOT_YET(what) sn_fail(SANA_ERR_UNSUPPORTED, "%s is not implemented yet in this libsana", what)

void sana_encode_params_init(sana_encode_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->complex_human_instruction = 1;
    p->max_sequence_length = 300;
}
sana_status sana_encode_prompt(sana_context *ctx, const sana_model *model, const char *const *prompts,
                               int32_t n, const sana_encode_params *params, sana_tensor **embeddings,
                               sana_tensor **mask) {
    (void)model;
    (void)prompts;
    (void)n;
    (void)params;
    (void)embeddings;
    (void)mask;
    if (!ctx) return SN_NOT_YET("sana_encode_prompt");
    sn_api_enter(ctx);
    return sn_api_leave(ctx, SN_NOT_YET("sana_encode_prompt"));
}

