/* Text encoder speed on this machine: a Gemma-2 with the real 2B widths (hidden 2304, MLP 9216,
 * 8 x 256 query heads, 4 KV heads) but few layers and a small vocabulary, random bf16 weights
 * written to a temporary folder in the real format. Times the forward for the sequence lengths
 * SANA runs (300: a prompt without the instruction or the negative ""; 512: with it) and
 * extrapolates to the real 26 layers. JSON on stdout.
 *
 *   bench_text_encoder [layers=2] [threads=0] [reps=2] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/dtype.h"
#include "core/threads.h"
#include "encoder/gemma.h"
#include "bench_clock.h"


typedef struct { char name[96]; int64_t rows, cols; } wspec;

int main(int argc, char **argv) {
    int layers = argc > 1 ? atoi(argv[1]) : 2, threads = argc > 2 ? atoi(argv[2]) : 0;
    int reps = argc > 3 ? atoi(argv[3]) : 2;
    const int64_t V = 4096, H = 2304, I = 9216, QD = 2048, KD = 1024;
    char dir[] = "/tmp/sana_bench_te_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char path[512];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) return 1;
    fprintf(f, "{\"model_type\": \"gemma2\", \"vocab_size\": %lld, \"num_hidden_layers\": %d}\n", (long long)V, layers);
    fclose(f);
    /* tensors */
    int nt = 2 + 11 * layers;
    wspec *ws = calloc((size_t)nt, sizeof *ws);
    int k = 0;
    snprintf(ws[k].name, 96, "embed_tokens.weight"), ws[k].rows = V, ws[k++].cols = H;
    snprintf(ws[k].name, 96, "norm.weight"), ws[k].rows = 1, ws[k++].cols = H;
    static const char *norms[4] = {"input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                                   "post_feedforward_layernorm"};
    for (int l = 0; l < layers; l++) {
        for (int j = 0; j < 4; j++) snprintf(ws[k].name, 96, "layers.%d.%s.weight", l, norms[j]), ws[k].rows = 1, ws[k++].cols = H;
        snprintf(ws[k].name, 96, "layers.%d.self_attn.q_proj.weight", l), ws[k].rows = QD, ws[k++].cols = H;
        snprintf(ws[k].name, 96, "layers.%d.self_attn.k_proj.weight", l), ws[k].rows = KD, ws[k++].cols = H;
        snprintf(ws[k].name, 96, "layers.%d.self_attn.v_proj.weight", l), ws[k].rows = KD, ws[k++].cols = H;
        snprintf(ws[k].name, 96, "layers.%d.self_attn.o_proj.weight", l), ws[k].rows = H, ws[k++].cols = QD;
        snprintf(ws[k].name, 96, "layers.%d.mlp.gate_proj.weight", l), ws[k].rows = I, ws[k++].cols = H;
        snprintf(ws[k].name, 96, "layers.%d.mlp.up_proj.weight", l), ws[k].rows = I, ws[k++].cols = H;
        snprintf(ws[k].name, 96, "layers.%d.mlp.down_proj.weight", l), ws[k].rows = H, ws[k++].cols = I;
    }
    size_t hcap = (size_t)nt * 200 + 64, hl = 0, off = 0;
    char *hdr = malloc(hcap);
    hl += (size_t)snprintf(hdr + hl, hcap - hl, "{");
    for (int i = 0; i < nt; i++) {
        size_t bytes = (size_t)(ws[i].rows * ws[i].cols) * 2;
        if (ws[i].rows == 1)
            hl += (size_t)snprintf(hdr + hl, hcap - hl, "%s\"%s\":{\"dtype\":\"BF16\",\"shape\":[%lld],\"data_offsets\":[%zu,%zu]}",
                                   i ? "," : "", ws[i].name, (long long)ws[i].cols, off, off + bytes);
        else
            hl += (size_t)snprintf(hdr + hl, hcap - hl, "%s\"%s\":{\"dtype\":\"BF16\",\"shape\":[%lld,%lld],\"data_offsets\":[%zu,%zu]}",
                                   i ? "," : "", ws[i].name, (long long)ws[i].rows, (long long)ws[i].cols, off, off + bytes);
        off += bytes;
    }
    hl += (size_t)snprintf(hdr + hl, hcap - hl, "}");
    while (hl % 8) hdr[hl++] = ' ';
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    f = fopen(path, "wb");
    uint64_t n8 = hl;
    fwrite(&n8, 8, 1, f);
    fwrite(hdr, 1, hl, f);
    uint64_t s = 12345;
    uint16_t *buf = malloc((size_t)(I * H) * 2);
    for (int i = 0; i < nt; i++) {
        int64_t n = ws[i].rows * ws[i].cols;
        float scale = ws[i].rows == 1 ? 0.1f : 1.0f / sqrtf((float)ws[i].cols);
        for (int64_t j = 0; j < n; j++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            buf[j] = sn_f32_to_bf16(((float)(s >> 40) / (float)(1 << 24) * 2.0f - 1.0f) * scale);
        }
        fwrite(buf, 2, (size_t)n, f);
    }
    fclose(f);
    free(buf), free(hdr), free(ws);

    sn_backend *be = NULL;
    sn_gemma *g = NULL;
    if (sn_backend_cpu_create(threads, &be) || sn_gemma_load(be, dir, NULL, &g)) {
        fprintf(stderr, "%s\n", sn_error_text());
        return 1;
    }
    sn_threads_set(be->n_threads); /* what the API does for a context */
    printf("{\"bench\": \"text_encoder\", \"backend\": \"cpu\", \"threads\": %d, \"layers_run\": %d, "
           "\"hidden\": %lld, \"results\": [",
           be->n_threads, layers, (long long)H);
    const int64_t lens[2] = {300, 512};
    for (int li = 0; li < 2; li++) {
        int64_t L = lens[li];
        int32_t *ids = malloc((size_t)L * 4);
        for (int64_t i = 0; i < L; i++) ids[i] = (int32_t)((i * 7919) % V);
        sn_tensor out;
        sn_tensor_alloc(be, SN_F32, 3, SN_SHAPE(1, L, H), &out);
        double best = 1e30, best_cpu = 1e30;
        for (int r = 0; r < reps; r++) {
            double t0 = wall_s(), c0 = cpu_s();
            if (sn_gemma_forward(g, ids, NULL, 1, L, &out, NULL, NULL)) {
                fprintf(stderr, "%s\n", sn_error_text());
                return 1;
            }
            double t = wall_s() - t0, c = cpu_s() - c0;
            if (t < best) best = t;
            if (c < best_cpu) best_cpu = c;
        }
        double per_layer = best / layers;
        double flop_layer = 2.0 * (double)L * (QD * H * 2 + KD * H * 2 + 3.0 * I * H) + 4.0 * 8 * 256 * (double)L * (double)L;
        printf("%s{\"tokens\": %lld, \"seconds_per_layer\": %.4f, \"gflops\": %.1f, \"seconds_26_layers\": %.2f, "
               "\"cpu_seconds_per_layer\": %.4f, \"cpu_seconds_26_layers\": %.2f}",
               li ? ", " : "", (long long)L, per_layer, flop_layer / per_layer * 1e-9, per_layer * 26,
               best_cpu / layers, best_cpu / layers * 26);
        sn_tensor_free(&out);
        free(ids);
    }
    printf("]}\n");
    sn_gemma_free(g);
    sn_backend_free(be);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    rmdir(dir);
    return 0;
}
