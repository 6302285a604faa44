/* Loading the DiT: the config accessors and parameter count of the fixture models, and the
 * refusals: broken copies of the sana_tiny transformer folder (made here in a temp folder) must
 * fail at load with a message that names the key or tensor. Also the forward's argument checks
 * and the PAG hook's contract. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend.h"
#include "core/call.h"
#include "dit/dit.h"
#include "harness.h"

static sn_backend *be;

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

/* A copy of sana_tiny/transformer in tmp/name: config.json with `key` set to the JSON `value`
 * (NULL: removed), weights linked. */
static const char *broken_copy(const char *tmp, const char *name, const char *key, const char *value) {
    static char dir[4096];
    const char *src = tu_path(tu_fixtures_dir(), "sana_tiny/transformer");
    snprintf(dir, sizeof dir, "%s/%s", tmp, name);
    mkdir(dir, 0755);
    char *text = read_text(tu_path(src, "config.json"));
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (key) {
        cJSON_DeleteItemFromObjectCaseSensitive(root, key);
        if (value) cJSON_AddItemToObject(root, key, cJSON_Parse(value));
    }
    char *out = cJSON_Print(root);
    tu_write_file(tu_path(dir, "config.json"), out, strlen(out));
    cJSON_free(out);
    cJSON_Delete(root);
    CHECK(symlink(tu_path(src, "diffusion_pytorch_model.safetensors"),
                  tu_path(dir, "diffusion_pytorch_model.safetensors")) == 0, "symlink");
    return dir;
}

/* broken_copy with `key` set to the raw JSON text `raw` (cJSON would print 1e999, an inf, as null). */
static const char *broken_copy_raw(const char *tmp, const char *name, const char *key, const char *raw) {
    const char *dir = broken_copy(tmp, name, key, "\"@@\"");
    char *text = read_text(tu_path(dir, "config.json"));
    char *at = strstr(text, "\"@@\"");
    char out[8192];
    snprintf(out, sizeof out, "%.*s%s%s", (int)(at - text), text, raw, at + 4);
    free(text);
    tu_write_file(tu_path(dir, "config.json"), out, strlen(out));
    return dir;
}

/* broken_copy with two keys changed. */
static const char *broken_copy_2(const char *tmp, const char *name, const char *k1, const char *v1,
                                 const char *k2, const char *v2) {
    const char *dir = broken_copy(tmp, name, k1, v1);
    char *text = read_text(tu_path(dir, "config.json"));
    cJSON *root = cJSON_Parse(text);
    free(text);
    cJSON_DeleteItemFromObjectCaseSensitive(root, k2);
    cJSON_AddItemToObject(root, k2, cJSON_Parse(v2));
    char *out = cJSON_Print(root);
    tu_write_file(tu_path(dir, "config.json"), out, strlen(out));
    cJSON_free(out);
    cJSON_Delete(root);
    return dir;
}

static void expect_refused(const char *dir, sana_status code, const char *needle) {
    sn_dit *dit = NULL;
    sana_status st = sn_dit_load(be, dir, NULL, &dit);
    CHECK(st == code, "%s: status %s, expected %s (%s)", dir, sana_status_string(st),
          sana_status_string(code), tu_last_error());
    CHECK(dit == NULL, "a refused load returned a model");
    CHECK(strstr(tu_last_error(), needle) != NULL, "error \"%s\" does not name \"%s\"",
          tu_last_error(), needle);
    sn_dit_free(dit);
}

static void test_refusals(void) {
    const char *tmp = tu_temp_dir();
    expect_refused(broken_copy(tmp, "unknown", "cross_attention_type", "\"flash\""),
                   SANA_ERR_UNSUPPORTED, "cross_attention_type");
    expect_refused(broken_copy(tmp, "qk", "qk_norm", "\"l2\""), SANA_ERR_UNSUPPORTED, "qk_norm");
    /* per-head q/k norms raise a shape error inside diffusers' Sana processors */
    expect_refused(broken_copy(tmp, "qkhead", "qk_norm", "\"rms_norm\""), SANA_ERR_UNSUPPORTED, "qk_norm");
    expect_refused(broken_copy(tmp, "crossdim", "cross_attention_dim", "16"), SANA_ERR_UNSUPPORTED,
                   "cross_attention_dim");
    expect_refused(broken_copy(tmp, "nocross", "cross_attention_dim", "null"), SANA_ERR_UNSUPPORTED,
                   "cross_attention_dim");
    expect_refused(broken_copy(tmp, "class", "_class_name", "\"UNet2DConditionModel\""),
                   SANA_ERR_UNSUPPORTED, "_class_name");
    expect_refused(broken_copy(tmp, "type", "num_layers", "\"two\""), SANA_ERR_FORMAT, "num_layers");
    expect_refused(broken_copy(tmp, "negative", "patch_size", "0"), SANA_ERR_UNSUPPORTED, "patch_size");
    /* sizes in range one by one whose products are not: heads x head_dim was an int32 wrap to 0,
     * patch_size^2 x out_channels an int64 overflow, before any shape was compared */
    expect_refused(broken_copy_2(tmp, "heads", "num_attention_heads", "16777216", "attention_head_dim", "16777216"),
                   SANA_ERR_UNSUPPORTED, "\"num_attention_heads\" x \"attention_head_dim\"");
    expect_refused(broken_copy_2(tmp, "patch", "patch_size", "16777216", "out_channels", "16777216"),
                   SANA_ERR_UNSUPPORTED, "\"patch_size\" x \"patch_size\"");
    expect_refused(broken_copy_2(tmp, "patch2", "patch_size", "512", "out_channels", "16777216"),
                   SANA_ERR_UNSUPPORTED, "\"patch_size\" x \"out_channels\"");
    /* float keys that parse but are not finite (1e999 reads as inf): norm_eps, timestep_scale and
     * guidance_embeds_scale loaded and gave NaN; mlp_ratio was cast to int32 from inf */
    expect_refused(broken_copy_raw(tmp, "eps", "norm_eps", "1e999"), SANA_ERR_FORMAT, "norm_eps\" must be a finite");
    expect_refused(broken_copy_raw(tmp, "tscale", "timestep_scale", "1e999"), SANA_ERR_FORMAT, "timestep_scale");
    expect_refused(broken_copy_raw(tmp, "gscale", "guidance_embeds_scale", "-1e999"), SANA_ERR_FORMAT,
                   "guidance_embeds_scale");
    expect_refused(broken_copy_raw(tmp, "ratio_inf", "mlp_ratio", "1e999"), SANA_ERR_FORMAT, "mlp_ratio\" must be a finite");
    expect_refused(broken_copy(tmp, "ratio_big", "mlp_ratio", "1e300"), SANA_ERR_UNSUPPORTED, "mlp_ratio");
    expect_refused(broken_copy_raw(tmp, "interp", "interpolation_scale", "1e999"), SANA_ERR_FORMAT, "interpolation_scale");
    /* more layers than the weights hold: refused before 2^24 blocks are allocated */
    expect_refused(broken_copy(tmp, "layers_big", "num_layers", "16777216"), SANA_ERR_NOT_FOUND,
                   "\"num_layers\" = 16777216");

    /* a config asking for tensors the file lacks, or of other shapes */
    expect_refused(broken_copy(tmp, "layers", "num_layers", "3"), SANA_ERR_NOT_FOUND,
                   "transformer_blocks.2.scale_shift_table");
    expect_refused(broken_copy(tmp, "ratio", "mlp_ratio", "3.0"), SANA_ERR_FORMAT,
                   "transformer_blocks.0.ff.conv_inverted.weight");
    expect_refused(broken_copy(tmp, "inch", "in_channels", "16"), SANA_ERR_FORMAT,
                   "patch_embed.proj.weight");
    expect_refused(broken_copy(tmp, "sprint", "guidance_embeds", "true"), SANA_ERR_NOT_FOUND,
                   "time_embed.timestep_embedder.linear_1.weight");
    expect_refused(broken_copy(tmp, "qknorm", "qk_norm", "\"rms_norm_across_heads\""),
                   SANA_ERR_NOT_FOUND, "transformer_blocks.0.attn1.norm_q.weight");

    /* a weights file missing a tensor */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/missing", tmp);
    mkdir(dir, 0755);
    char *cfg = read_text(tu_path(tu_path(tu_fixtures_dir(), "sana_tiny/transformer"), "config.json"));
    tu_write_file(tu_path(dir, "config.json"), cfg, strlen(cfg));
    free(cfg);
    float w[32 * 32] = {0};
    tu_write_safetensors(tu_path(dir, "diffusion_pytorch_model.safetensors"),
                         "{\"patch_embed.proj.weight\":{\"dtype\":\"F32\",\"shape\":[32,32,1,1],"
                         "\"data_offsets\":[0,4096]}}",
                         w, sizeof w);
    expect_refused(dir, SANA_ERR_NOT_FOUND, "patch_embed.proj.bias");
    expect_refused(tu_path(tmp, "nothing-here"), SANA_ERR_NOT_FOUND, "config.json");

    /* an unknown key left at null/false is harmless */
    sn_dit *dit = NULL;
    CHECK_OK(sn_dit_load(be, broken_copy(tmp, "unknown_null", "use_fancy_thing", "false"), NULL, &dit));
    sn_dit_free(dit);
    /* keys missing from config.json take the reference's defaults: attention_bias false,
     * qk_norm null, interpolation_scale null, out_channels = in_channels ... */
    dit = NULL;
    CHECK_OK(sn_dit_load(be, broken_copy(tmp, "defaults", "qk_norm", NULL), NULL, &dit));
    if (dit) CHECK(sn_dit_out_channels(dit) == 32 && sn_dit_timestep_scale(dit) == 1.0f, "defaults");
    sn_dit_free(dit);
}

/* Spec §4's count, for any widths (no qk-norm, no attention bias, p = 1). */
static int64_t expected_params(int64_t D, int64_t Dc, int64_t F, int64_t L, int64_t C, int64_t Cc,
                               int sprint) {
    int64_t block = 6 * D + 4 * D * D + D + (3 * (Dc * D + Dc) + D * Dc + D) +
                    (2 * F * D + 2 * F + 18 * F + 2 * F + F * D) + (sprint ? 2 * D + 2 * Dc : 0);
    int64_t mlp = 256 * D + D + D * D + D;
    int64_t other = (C * D + D) + mlp * (sprint ? 2 : 1) + 6 * D * D + 6 * D + (Cc * D + D + D * D + D) +
                    D + 2 * D + (D * C + C);
    return L * block + other;
}

/* sn_dit_forward_staged's callback: records the block indices and the stream at block -1
 * (`keep`), or overwrites the stream there with `put`; fails at block `fail_at`. */
typedef struct block_calls {
    int32_t seen[8];
    int n, fail_at;
    float *keep;
    const float *put;
} block_calls;

static sana_status on_block(int32_t block, sn_tensor *x, void *user) {
    block_calls *c = user;
    if (c->n < 8) c->seen[c->n] = block;
    c->n++;
    if (block == c->fail_at) return sn_fail(SANA_ERR_INTERNAL, "test: callback fails at block %d", block);
    if (block == -1 && c->keep) CHECK_OK(sn_download_f32(x, c->keep));
    if (block == -1 && c->put) CHECK_OK(sn_upload_convert(x, SN_F32, c->put));
    return SANA_OK;
}

static void test_configs(void) {
    sn_dit *dit = NULL;
    CHECK_OK(sn_dit_load(be, tu_path(tu_fixtures_dir(), "sana_tiny/transformer"), NULL, &dit));
    if (!dit) return;
    CHECK(sn_dit_in_channels(dit) == 32 && sn_dit_patch_size(dit) == 1 &&
              sn_dit_sample_size(dit) == 32 && sn_dit_caption_channels(dit) == 16 &&
              sn_dit_hidden_size(dit) == 32 && sn_dit_num_layers(dit) == 2 &&
              !sn_dit_guidance_embeds(dit),
          "sana_tiny accessors");
    int64_t want = expected_params(32, 32, 80, 2, 32, 16, 0);
    CHECK(sn_dit_param_count(dit) == want, "sana_tiny: %lld params, expected %lld",
          (long long)sn_dit_param_count(dit), (long long)want);
    sn_dit *sp = NULL;
    CHECK_OK(sn_dit_load(be, tu_path(tu_fixtures_dir(), "sprint_tiny/transformer"), NULL, &sp));
    if (sp) {
        CHECK(sn_dit_guidance_embeds(sp) && sn_dit_guidance_embeds_scale(sp) == 0.1f, "sprint flags");
        want = expected_params(32, 32, 80, 2, 32, 16, 1);
        CHECK(sn_dit_param_count(sp) == want, "sprint_tiny: %lld params, expected %lld",
              (long long)sn_dit_param_count(sp), (long long)want);
    }

    /* forward argument checks */
    sn_tensor emb, lat, out, out_bad;
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 3, SN_SHAPE(2, 5, 16), &emb));
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(2, 32, 3, 4), &lat));
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(2, 32, 3, 4), &out));
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(2, 32, 4, 3), &out_bad));
    tu_fill_random(emb.data, (size_t)sn_numel(&emb), 7);
    tu_fill_random(lat.data, (size_t)sn_numel(&lat), 8);
    memcpy((float *)lat.data + 32 * 12, lat.data, 32 * 12 * sizeof(float)); /* entry 1 = entry 0 */
    memcpy((float *)emb.data + 5 * 16, emb.data, 5 * 16 * sizeof(float));
    float mask[10] = {1, 1, 1, 0, 0, 1, 1, 1, 0, 0};
    float t[2] = {500.0f, 500.0f}, g[2] = {0.45f, 0.45f};
    sn_dit_text *text = NULL, *text1 = NULL;
    CHECK_OK(sn_dit_prepare_text(dit, &emb, mask, &text));
    sn_tensor emb1 = emb;
    emb1.shape[0] = 1;
    CHECK_OK(sn_dit_prepare_text(dit, &emb1, mask, &text1));
    CHECK(sn_dit_text_batch(text) == 2, "text batch");
    CHECK_STATUS(sn_dit_forward(dit, text, &lat, t, g, NULL, &out), SANA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(sn_dit_forward(dit, text, &lat, t, NULL, NULL, &out_bad), SANA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(sn_dit_forward(dit, text1, &lat, t, NULL, NULL, &out), SANA_ERR_INVALID_ARGUMENT);
    sn_tensor bad_emb;
    CHECK_OK(sn_tensor_alloc(be, SN_F32, 3, SN_SHAPE(1, 5, 17), &bad_emb));
    sn_dit_text *none = NULL;
    CHECK_STATUS(sn_dit_prepare_text(dit, &bad_emb, NULL, &none), SANA_ERR_INVALID_ARGUMENT);
    if (sp) {
        sn_dit_text *st = NULL;
        CHECK_OK(sn_dit_prepare_text(sp, &emb, mask, &st));
        CHECK_STATUS(sn_dit_forward(sp, st, &lat, t, NULL, NULL, &out), SANA_ERR_INVALID_ARGUMENT);
        CHECK_OK(sn_dit_forward(sp, st, &lat, t, g, NULL, &out));
        sn_dit_text_free(st);
    }

    /* PAG: batch [x, x]; block 1's self-attention of entry 1 becomes identity attention. Entry 0
     * must be untouched, entry 1 must change; perturbed_from = B is no PAG at all. */
    size_t half = 32 * 12;
    float *plain = malloc(2 * half * sizeof(float)), *pag = malloc(2 * half * sizeof(float));
    CHECK_OK(sn_dit_forward(dit, text, &lat, t, NULL, NULL, &out));
    CHECK_OK(sn_download_f32(&out, plain));
    tu_check_close("CFG-style batch: identical entries agree", plain + half, plain, half, 1e-6);
    int32_t blocks[1] = {1};
    sn_dit_pag p = {blocks, 1, 1};
    CHECK_OK(sn_dit_forward(dit, text, &lat, t, NULL, &p, &out));
    CHECK_OK(sn_download_f32(&out, pag));
    tu_check_close("PAG: unperturbed entry unchanged", pag, plain, half, 1e-6);
    double diff = 0;
    for (size_t i = 0; i < half; i++) diff = fmax(diff, fabs(pag[half + i] - plain[half + i]));
    CHECK(diff > 1e-3, "PAG: perturbed entry unchanged (max diff %g)", diff);
    p.perturbed_from = 2;
    CHECK_OK(sn_dit_forward(dit, text, &lat, t, NULL, &p, &out));
    CHECK_OK(sn_download_f32(&out, pag));
    tu_check_close("PAG with nothing perturbed", pag, plain, 2 * half, 0.0);
    p.blocks = (int32_t[]){2};
    CHECK_STATUS(sn_dit_forward(dit, text, &lat, t, NULL, &p, &out), SANA_ERR_INVALID_ARGUMENT);
    free(plain), free(pag);

    /* the staged forward: called at -1 (the patch embedding) and after each block; without
     * changes it computes the plain forward; the stream it leaves at -1 is what the rest reads
     * (the latents are read by the patch embedding only: forcing the stream of other latents
     * gives their output); a failing callback stops the forward with its status */
    {
        const size_t nx = (size_t)sn_numel(&out), ns = 2 * 12 * 32; /* stream [B, N, D] */
        float *ref = malloc(nx * 4), *got = malloc(nx * 4), *stream = malloc(ns * 4);
        float *lat2 = malloc(nx * 4), *saved = malloc(nx * 4);
        block_calls calls = {.fail_at = 99, .keep = stream};
        CHECK_OK(sn_dit_forward(dit, text, &lat, t, NULL, NULL, &out));
        CHECK_OK(sn_download_f32(&out, ref));
        CHECK_OK(sn_dit_forward_staged(dit, text, &lat, t, NULL, NULL, on_block, &calls, &out));
        CHECK_OK(sn_download_f32(&out, got));
        CHECK(calls.n == 3 && calls.seen[0] == -1 && calls.seen[1] == 0 && calls.seen[2] == 1,
              "staged forward: %d calls (%d, %d, %d), expected -1, 0, 1", calls.n, calls.seen[0],
              calls.seen[1], calls.seen[2]);
        tu_check_close("staged forward, callback changes nothing", got, ref, nx, 0.0);
        CHECK_OK(sn_download_f32(&lat, saved));
        tu_fill_random(lat2, nx, 9);
        CHECK_OK(sn_upload_convert(&lat, SN_F32, lat2));
        calls = (block_calls){.fail_at = 99, .put = stream};
        CHECK_OK(sn_dit_forward_staged(dit, text, &lat, t, NULL, NULL, on_block, &calls, &out));
        CHECK_OK(sn_download_f32(&out, got));
        tu_check_close("staged forward from the stream of other latents", got, ref, nx, 0.0);
        CHECK_OK(sn_upload_convert(&lat, SN_F32, saved));
        calls = (block_calls){.fail_at = 0};
        CHECK_STATUS(sn_dit_forward_staged(dit, text, &lat, t, NULL, NULL, on_block, &calls, &out),
                     SANA_ERR_INTERNAL);
        CHECK(calls.n == 2, "staged forward: went on after a failing callback (%d calls)", calls.n);
        free(ref), free(got), free(stream), free(lat2), free(saved);
    }

    /* cancellation is polled between blocks */
    atomic_int cancel = 1;
    sn_call_bind_cancel(&cancel);
    CHECK_STATUS(sn_dit_forward(dit, text, &lat, t, NULL, NULL, &out), SANA_ERR_CANCELLED);
    sn_call_bind_cancel(NULL);
    CHECK_OK(sn_dit_forward(dit, text, &lat, t, NULL, NULL, &out));

    sn_dit_text_free(text), sn_dit_text_free(text1);
    sn_tensor_free(&emb), sn_tensor_free(&lat), sn_tensor_free(&out), sn_tensor_free(&out_bad);
    sn_tensor_free(&bad_emb);
    sn_dit_free(sp);
    sn_dit_free(dit);
}

int main(void) {
    if (access(tu_path(tu_fixtures_dir(), "sana_tiny/transformer/config.json"), R_OK))
        tu_skip("no sana_tiny fixture");
    CHECK_OK(sn_backend_cpu_create(0, &be));
    test_refusals();
    test_configs();
    sn_backend_free(be);
    return tu_finish("test_dit_load");
}
