/* The DC-AE decoder at the real dc-ae-f32c32-sana-1.0 configuration (or, --model lite, the real
 * dc-ae-lite-f32c32-sana-1.1 one) with random weights made in memory (nothing read from disk), on
 * the CPU backend: one decode of a random latent, untiled or in exact bands under a memory budget.
 * Prints one JSON object: time (wall and process CPU), peak RSS, the decoder's own activation
 * peak, the bands used.
 *
 *   bench_dcae [--model sana|lite] [--size 1024] [--budget-mib 0] [--band-rows 0] [--threads N]
 *   bench_dcae --estimate 1   (no decode: activation peaks from the decoder's own accounting
 *                              at 1024², 2048², 4096² for several budgets, one JSON line each)
 * --size is the image side in pixels (latent side = size / 32). --budget-mib 0 = one band.
 * Run one configuration per process: peak RSS is per process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "ae/dcae.h"
#include "backend/backend.h"
#include "bench_clock.h"
#include "core/threads.h"

static int fail(const char *what, sana_status st) {
    fprintf(stderr, "bench_dcae: %s: %s (%s)\n", what, sana_status_string(st), sn_error_text());
    return 1;
}

int main(int argc, char **argv) {
    int64_t size = 1024, band_rows = 0;
    double budget_mib = 0;
    int threads = 0, estimate = 0, lite = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--model")) {
            if (!strcmp(argv[i + 1], "lite")) lite = 1;
            else if (strcmp(argv[i + 1], "sana")) {
                fprintf(stderr, "bench_dcae: --model must be sana or lite, not %s\n", argv[i + 1]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--size")) size = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--budget-mib")) budget_mib = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--band-rows")) band_rows = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--estimate")) estimate = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "bench_dcae: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (size < 32 || size % 32) {
        fprintf(stderr, "bench_dcae: --size must be a positive multiple of 32\n");
        return 2;
    }
    sn_backend *be;
    sana_status st = sn_backend_cpu_create(threads, &be);
    if (st) return fail("backend", st);
    sn_threads_set(be->n_threads); /* what the API does for a context */
    sn_dcae_config cfg;
    if (lite) sn_dcae_config_sana_lite(&cfg);
    else sn_dcae_config_sana(&cfg);
    double t0 = wall_s();
    sn_dcae *ae;
    if ((st = sn_dcae_create_random(be, &cfg, 42, &ae))) return fail("model", st);
    double build_s = wall_s() - t0, rss_model = peak_rss_mib();
    if (estimate) {
        const int64_t sizes[3] = {1024, 2048, 4096};
        const double budgets[5] = {0, 4096, 1024, 512, 256};
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < 5; k++) {
                size_t peak;
                int32_t rows;
                if ((st = sn_dcae_estimate(ae, sizes[i] / 32, sizes[i] / 32, (size_t)(budgets[k] * 1048576.0),
                                           &peak, &rows)))
                    return fail("estimate", st);
                printf("{\"size\": %lld, \"budget_mib\": %.0f, \"band_rows\": %d, \"activation_peak_mib\": %.1f}\n",
                       (long long)sizes[i], budgets[k], rows, (double)peak / 1048576.0);
            }
        sn_dcae_free(ae);
        sn_backend_free(be);
        return 0;
    }

    const int64_t h = size / 32;
    sn_tensor z, y;
    if ((st = sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(1, 32, h, h), &z))) return fail("latent", st);
    uint64_t s = 7;
    for (int64_t i = 0; i < sn_numel(&z); i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        ((float *)z.data)[i] = (float)((double)(s >> 11) / (double)(1ull << 53) * 4.0 - 2.0);
    }
    if ((st = sn_tensor_alloc(be, SN_F32, 4, SN_SHAPE(1, 3, size, size), &y))) return fail("output", st);
    sn_dcae_decode_opts o;
    sn_dcae_decode_opts_init(&o);
    o.memory_budget = (size_t)(budget_mib * 1048576.0);
    o.band_rows = (int32_t)band_rows;
    double w0 = wall_s(), c0 = cpu_s();
    if ((st = sn_dcae_decode(ae, &z, &o, &y))) return fail("decode", st);
    double wall = wall_s() - w0, cpu = cpu_s() - c0;
    sn_dcae_decode_stats ds = sn_dcae_last_decode_stats();
    /* At 1024²: SANA 4.18 TMAC (spec §5.2); Lite 3.757 TMAC, its decoder's convolutions counted by
     * forward hooks on diffusers' module at 1024² (spec §3.2: ≈ 3.76) */
    const double tflop = (lite ? 7.514 : 8.36) * (double)(size * size) / (1024.0 * 1024.0);
    double sum = 0;
    for (int64_t i = 0; i < sn_numel(&y); i += 997) sum += ((float *)y.data)[i];
    printf("{\"impl\": \"libsana\", \"model\": \"%s (random weights)\", \"size\": %lld, "
           "\"threads\": %d, \"params\": %lld, \"decoder_params\": %lld, \"build_s\": %.2f, "
           "\"budget_mib\": %.1f, \"band_rows\": %d, "
           "\"n_bands\": %d, \"decode_wall_s\": %.2f, \"decode_cpu_s\": %.2f, \"gflops_wall\": %.1f, "
           "\"activation_peak_mib\": %.1f, \"scratch_peak_mib\": %.1f, \"rss_after_model_mib\": %.0f, "
           "\"peak_rss_mib\": %.0f, \"checksum\": %.6g}\n",
           lite ? "dc-ae-lite-f32c32-sana-1.1" : "dc-ae-f32c32-sana-1.0", (long long)size,
           be->n_threads, (long long)sn_dcae_param_count(ae), (long long)sn_dcae_decoder_param_count(ae),
           build_s, budget_mib, ds.band_rows, ds.n_bands, wall, cpu, tflop * 1000.0 / wall,
           (double)ds.peak_bytes / 1048576.0, (double)ds.peak_scratch_bytes / 1048576.0, rss_model,
           peak_rss_mib(), sum);
    sn_tensor_free(&z), sn_tensor_free(&y);
    sn_dcae_free(ae);
    sn_backend_free(be);
    return 0;
}
