/* The DiT against the oracle: every "dit" case of tests/fixtures/index.json (each variant: base,
 * non-square, batch 2, Sprint, SANA-1.5 qk-norm in bf16, 2K/4K sin-cos PE on and off the base
 * grid, 3 blocks), the output and every recorded intermediate (patch_embed, time_embed.*,
 * caption_*, block.i, block.0.attn1/attn2/ff, norm_out, proj_out), each within its recorded
 * fp32 tolerance. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "dit/dit.h"
#include "harness.h"

#define MAX_OUTS 64

typedef struct probe_state {
    const tu_case *c;
    const char *names[MAX_OUTS];
    int seen[MAX_OUTS];
    int n;
} probe_state;

/* got: [B, N, C] token-major (or the output). The oracle hooks GLUMBConv itself, whose output
 * is still an image [B, C, H, W]: such a golden is compared after transposing ours to it. */
static void compare(probe_state *ps, const char *name, const float *got, size_t n, int64_t B,
                    int64_t C) {
    for (int i = 0; i < ps->n; i++) {
        if (strcmp(ps->names[i], name)) continue;
        tu_tensor ref;
        if (tu_golden(ps->c, name, &ref)) return;
        float *img = NULL;
        if (ref.ndim == 4 && strcmp(name, "output") && ref.n == n && ref.shape[1] == C) {
            int64_t N = (int64_t)n / B / C;
            img = malloc(n * sizeof(float));
            for (int64_t b = 0; b < B; b++)
                for (int64_t t = 0; t < N; t++)
                    for (int64_t c = 0; c < C; c++) img[(b * C + c) * N + t] = got[(b * N + t) * C + c];
            got = img;
        }
        char what[160];
        snprintf(what, sizeof what, "%s: %s", ps->c->name, name);
        CHECK(ref.n == n, "%s: %zu values, golden has %zu", what, n, ref.n);
        if (ref.n == n) tu_check_close(what, got, ref.f, n, tu_case_tol(ps->c, name));
        ps->seen[i]++;
        free(img);
        tu_tensor_free(&ref);
    }
}

static void probe(void *user, const char *name, const sn_tensor *t) {
    probe_state *ps = user;
    size_t n = (size_t)sn_numel(t);
    float *host = malloc(n * sizeof(float));
    CHECK_OK(sn_download_f32(t, host));
    compare(ps, name, host, n, t->shape[0], t->shape[t->ndim - 1]);
    free(host);
}

static void run_case(sn_backend *be, const tu_case *c) {
    const char *variant = tu_param_str(c, "variant", NULL);
    sn_dit *dit = NULL;
    CHECK_OK(sn_dit_load(be, tu_case_model_dir(c), variant, &dit));
    if (!dit) return;

    probe_state ps = {.c = c};
    const cJSON *outs = cJSON_GetObjectItemCaseSensitive((const cJSON *)c->json, "outputs");
    const cJSON *o;
    cJSON_ArrayForEach(o, outs) if (ps.n < MAX_OUTS && cJSON_IsString(o)) ps.names[ps.n++] = o->valuestring;
    sn_dit_set_probe(dit, probe, &ps);

    tu_tensor x, t, y, m, g = {0};
    int bad = tu_golden(c, "hidden_states", &x) | tu_golden(c, "timestep", &t) |
              tu_golden(c, "encoder_hidden_states", &y) | tu_golden(c, "encoder_attention_mask", &m);
    int sprint = sn_dit_guidance_embeds(dit);
    if (sprint) bad |= tu_golden(c, "guidance", &g);
    if (bad) {
        sn_dit_free(dit);
        return;
    }
    int64_t B = x.shape[0];
    float *mask = malloc(m.n * sizeof(float));
    for (size_t i = 0; i < m.n; i++) mask[i] = m.i ? (float)m.i[i] : m.f[i];

    sn_tensor emb, lat, out;
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 3, y.shape, &emb));
    CHECK_OK(sn_upload_convert(&emb, SN_F32, y.f));
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, x.shape, &lat));
    CHECK_OK(sn_upload_convert(&lat, SN_F32, x.f));
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(B, sn_dit_out_channels(dit), x.shape[2], x.shape[3]), &out));

    sn_dit_text *text = NULL;
    CHECK_OK(sn_dit_prepare_text(dit, &emb, mask, &text));
    if (text) {
        CHECK_OK(sn_dit_forward(dit, text, &lat, t.f, sprint ? g.f : NULL, NULL, &out));
        float *host = malloc((size_t)sn_numel(&out) * sizeof(float));
        CHECK_OK(sn_download_f32(&out, host));
        compare(&ps, "output", host, (size_t)sn_numel(&out), B, 0);
        /* the positional table made once per size (sn_dit_prepare_positions) gives the same
         * output; a table prepared for another size is not used */
        size_t n = (size_t)sn_numel(&out);
        float *again = malloc(n * sizeof(float));
        int64_t H = x.shape[2], W = x.shape[3];
        for (int k = 0; k < 2; k++) {
            CHECK_OK(sn_dit_prepare_positions(dit, text, H * (k + 1), W * (k + 1)));
            sn_dit_set_probe(dit, NULL, NULL);
            CHECK_OK(sn_dit_forward(dit, text, &lat, t.f, sprint ? g.f : NULL, NULL, &out));
            CHECK_OK(sn_download_f32(&out, again));
            CHECK(memcmp(host, again, n * sizeof(float)) == 0,
                  "%s: output with positions prepared for %lldx%lld differs", c->name,
                  (long long)(H * (k + 1)), (long long)(W * (k + 1)));
        }
        CHECK_STATUS(sn_dit_prepare_positions(dit, text, 0, W), SANA_ERR_INVALID_ARGUMENT);
        free(again);
        free(host);
    }
    for (int i = 0; i < ps.n; i++) CHECK(ps.seen[i] == 1, "%s: output %s compared %d times", c->name, ps.names[i], ps.seen[i]);

    sn_dit_text_free(text);
    sn_tensor_free(&emb), sn_tensor_free(&lat), sn_tensor_free(&out);
    free(mask);
    tu_tensor_free(&x), tu_tensor_free(&t), tu_tensor_free(&y), tu_tensor_free(&m), tu_tensor_free(&g);
    sn_dit_free(dit);
}

int main(void) {
    const tu_case *cases[64];
    int n = tu_cases_of_kind("dit", cases, 64);
    if (n <= 0) tu_skip("no dit fixtures");
    sn_backend *be;
    CHECK_OK(sn_backend_cpu_create(0, &be));
    for (int i = 0; i < n && i < 64; i++) {
        int before = tu_failures;
        run_case(be, cases[i]);
        fprintf(stderr, "%s %s\n", tu_failures == before ? "ok  " : "FAIL", cases[i]->name);
    }
    CHECK(n >= 11, "expected the 11 dit cases of the oracle, found %d", n);
    sn_backend_free(be);
    return tu_finish("test_dit_golden");
}
