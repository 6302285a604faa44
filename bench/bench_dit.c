/* One DiT forward at a real SANA configuration with random weights made in memory (nothing is
 * read from disk), on the CPU backend. Prints one JSON object: parameter count, time to build
 * the model, to prepare the text (caption path + every block's K/V, once per prompt; wall and
 * process CPU seconds), of the forward itself (best and mean wall, CPU seconds per forward),
 * peak RSS, and the output's sum of squares and a hash of its bits (to see a change of result).
 *
 *   bench_dit [--model 0.6b|1.6b] [--size 512] [--batch 1] [--tokens 300] [--threads N]
 *             [--repeat 1]
 * --size is the image side in pixels (latent side = size / 32). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "backend/backend.h"
#include "bench_clock.h"
#include "core/threads.h"
#include "dit/dit.h"

/* Configs as published (transformer/config.json of the diffusers repos; spec §2.2). */
static const char *const k_sana_600m =
    "{\"_class_name\": \"SanaTransformer2DModel\", \"in_channels\": 32, \"out_channels\": 32,"
    " \"num_attention_heads\": 36, \"attention_head_dim\": 32, \"num_layers\": 28,"
    " \"num_cross_attention_heads\": 16, \"cross_attention_head_dim\": 72,"
    " \"cross_attention_dim\": 1152, \"caption_channels\": 2304, \"mlp_ratio\": 2.5,"
    " \"dropout\": 0.0, \"attention_bias\": false, \"sample_size\": 16, \"patch_size\": 1,"
    " \"norm_elementwise_affine\": false, \"norm_eps\": 1e-06, \"interpolation_scale\": null}";
static const char *const k_sana_1600m =
    "{\"_class_name\": \"SanaTransformer2DModel\", \"in_channels\": 32, \"out_channels\": 32,"
    " \"num_attention_heads\": 70, \"attention_head_dim\": 32, \"num_layers\": 20,"
    " \"num_cross_attention_heads\": 20, \"cross_attention_head_dim\": 112,"
    " \"cross_attention_dim\": 2240, \"caption_channels\": 2304, \"mlp_ratio\": 2.5,"
    " \"dropout\": 0.0, \"attention_bias\": false, \"sample_size\": 16, \"patch_size\": 1,"
    " \"norm_elementwise_affine\": false, \"norm_eps\": 1e-06, \"interpolation_scale\": null}";

static void fill(float *x, size_t n, uint64_t seed) {
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        x[i] = (float)((double)(s >> 11) / (double)(1ull << 53) * 2.0 - 1.0);
    }
}

static int fail(const char *what, sana_status st) {
    fprintf(stderr, "bench_dit: %s: %s: %s\n", what, sana_status_string(st), sn_error_text());
    return 1;
}

int main(int argc, char **argv) {
    const char *model = "0.6b";
    int size = 512, batch = 1, tokens = 300, threads = 0, repeat = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--model")) model = argv[i + 1];
        else if (!strcmp(argv[i], "--size")) size = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch")) batch = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--tokens")) tokens = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--repeat")) repeat = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "bench_dit: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    const char *cfg = !strcmp(model, "1.6b") ? k_sana_1600m : !strcmp(model, "0.6b") ? k_sana_600m : NULL;
    if (!cfg || size < 32 || size % 32 || batch < 1 || tokens < 1 || repeat < 1) {
        fprintf(stderr, "bench_dit: --model 0.6b|1.6b, --size a multiple of 32\n");
        return 2;
    }
    int64_t side = size / 32;

    sn_backend *be;
    sana_status st = sn_backend_cpu_create(threads, &be);
    if (st) return fail("backend", st);
    sn_threads_set(be->n_threads); /* what the API does for a context */
    double t0 = wall_s();
    sn_dit *dit;
    st = sn_dit_create_random(be, cfg, 1, &dit);
    if (st) return fail("model", st);
    double t_build = wall_s() - t0;

    sn_tensor emb, lat, out;
    if ((st = sn_tensor_alloc(be, SN_F32, 3, SN_SHAPE(batch, tokens, 2304), &emb)) ||
        (st = sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(batch, 32, side, side), &lat)) ||
        (st = sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(batch, 32, side, side), &out)))
        return fail("tensors", st);
    fill(emb.data, (size_t)sn_numel(&emb), 2);
    fill(lat.data, (size_t)sn_numel(&lat), 3);
    float *mask = malloc((size_t)(batch * tokens) * sizeof(float));
    float *t = malloc((size_t)batch * sizeof(float));
    for (int i = 0; i < batch * tokens; i++) mask[i] = (i % tokens) < 40 ? 1.0f : 0.0f;
    for (int i = 0; i < batch; i++) t[i] = 999.0f;

    t0 = wall_s();
    double c_text = cpu_s();
    sn_dit_text *text;
    st = sn_dit_prepare_text(dit, &emb, mask, &text);
    if (st) return fail("prepare_text", st);
    double t_text = wall_s() - t0;
    c_text = cpu_s() - c_text;

    double best = 1e30, total = 0, c0 = cpu_s();
    for (int r = 0; r < repeat; r++) {
        t0 = wall_s();
        st = sn_dit_forward(dit, text, &lat, t, NULL, NULL, &out);
        if (st) return fail("forward", st);
        double dt = wall_s() - t0;
        total += dt;
        if (dt < best) best = dt;
    }
    double fwd_cpu = (cpu_s() - c0) / repeat;
    /* a checksum, so that a broken forward (NaN, zeros) shows in the output */
    float *host = malloc((size_t)sn_numel(&out) * sizeof(float));
    double checksum = 0;
    uint64_t hash = 1469598103934665603ull; /* FNV-1a of the output's bits: same bits, same hash */
    if (host && sn_download_f32(&out, host) == SANA_OK)
        for (int64_t i = 0; i < sn_numel(&out); i++) {
            checksum += (double)host[i] * host[i];
            uint32_t u;
            memcpy(&u, &host[i], sizeof u);
            hash = (hash ^ u) * 1099511628211ull;
        }
    free(host);

    printf("{\"bench\": \"dit\", \"backend\": \"cpu\", \"model\": \"sana-%s\", \"params\": %lld, "
           "\"image\": %d, \"latent\": [%lld, %lld], \"batch\": %d, \"text_tokens\": %d, "
           "\"threads\": %d, \"build_random_s\": %.3f, \"prepare_text_s\": %.3f, "
           "\"prepare_text_cpu_s\": %.3f, "
           "\"forward_s\": %.3f, \"forward_mean_s\": %.3f, \"forward_cpu_s\": %.3f, "
           "\"repeat\": %d, "
           "\"scratch_peak_mib\": %.1f, \"peak_rss_mib\": %.1f, \"out_sumsq\": %.9g, "
           "\"out_hash\": \"%016llx\"}\n",
           model, (long long)sn_dit_param_count(dit), size, (long long)side, (long long)side,
           batch, tokens, be->n_threads, t_build, t_text, c_text, best, total / repeat, fwd_cpu, repeat,
           (double)be->scratch.peak / (1024.0 * 1024.0), peak_rss_mib(), checksum,
           (unsigned long long)hash);

    sn_dit_text_free(text);
    sn_tensor_free(&emb), sn_tensor_free(&lat), sn_tensor_free(&out);
    free(mask), free(t);
    sn_dit_free(dit);
    sn_backend_free(be);
    return 0;
}
