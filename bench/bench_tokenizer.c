/* Tokenizer benchmark: load the real Gemma-2 tokenizer.json and encode a ~300-token prompt.
 * Prints one JSON object. Its twin, bench/python/bench_tokenizer.py, times the Python
 * `tokenizers` package on the same file and the same text.
 *
 *   bench_tokenizer [--tokenizer PATH] [--loads N] [--reps N]
 *
 * PATH defaults to ../shared/data/gemma2-tokenizer (run from the repository root). Times are
 * medians: of N loads, and of batches of encodes (per-encode time = batch time / batch size).
 * "cpu" figures are process CPU time, which the other jobs on a shared machine disturb less. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_clock.h"
#include "encoder/tokenizer.h"

/* The same text as bench/python/bench_tokenizer.py: 299 ids with <bos>. */
static const char *k_prompt =
    "A breathtaking panoramic view of an ancient mountain village at golden hour, with "
    "terraced rice fields carved into the steep green hillsides, wooden houses with curved "
    "clay-tile roofs, and thin ribbons of smoke rising from stone chimneys. In the foreground, "
    "an elderly woman in a faded indigo robe carries a bamboo basket full of persimmons along a "
    "narrow cobblestone path, while two children chase a red kite across a meadow dotted with "
    "wild lavender and yellow buttercups. A crystal-clear river winds through the valley, "
    "reflecting the orange and magenta sky; a small wooden bridge crosses it near a moss-covered "
    "water mill. Far in the background, snow-capped peaks glow pink in the last light, and a "
    "flock of cranes flies in a loose V formation toward the horizon. Highly detailed, "
    "photorealistic, 8k resolution, shot on a 35mm lens with shallow depth of field, soft "
    "volumetric lighting, gentle haze in the distance, rich color grading, cinematic "
    "composition following the rule of thirds, subtle film grain, award-winning landscape "
    "photography, National Geographic style, ultra sharp focus on the woman and the basket, "
    "natural skin tones, intricate textures on the wooden beams and the woven bamboo, tranquil "
    "and nostalgic atmosphere. The sky is filled with soft cumulus clouds edged in gold, a lone "
    "hawk circles above the pines, and lanterns begin to glow in the windows of the teahouse by "
    "the river, where an old fisherman mends his net while a tabby cat sleeps on a warm barrel.";

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int main(int argc, char **argv) {
    const char *path = "../shared/data/gemma2-tokenizer";
    int loads = 5, reps = 4000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tokenizer") && i + 1 < argc) path = argv[++i];
        else if (!strcmp(argv[i], "--loads") && i + 1 < argc) loads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_tokenizer [--tokenizer PATH] [--loads N] [--reps N]\n");
            return 2;
        }
    }
    if (loads < 1) loads = 1;
    if (reps < 100) reps = 100;

    double *lw = malloc((size_t)loads * sizeof *lw), *lc = malloc((size_t)loads * sizeof *lc);
    sn_tokenizer *tok = NULL;
    for (int k = 0; k < loads; k++) {
        sn_tokenizer_free(tok);
        double w0 = wall_s(), c0 = cpu_s();
        if (sn_tokenizer_load(path, &tok) != SANA_OK) {
            fprintf(stderr, "bench_tokenizer: %s\n", sn_error_text());
            return 1;
        }
        lw[k] = wall_s() - w0;
        lc[k] = cpu_s() - c0;
    }

    size_t len = strlen(k_prompt), n = 0;
    int32_t *ids = NULL;
    /* warm-up, and the id count */
    for (int k = 0; k < 50; k++) {
        free(ids);
        if (sn_tokenizer_encode(tok, k_prompt, len, 1, &ids, &n) != SANA_OK) {
            fprintf(stderr, "bench_tokenizer: %s\n", sn_error_text());
            return 1;
        }
    }
    int batch = 50, batches = reps / batch;
    double *ew = malloc((size_t)batches * sizeof *ew), *ec = malloc((size_t)batches * sizeof *ec);
    for (int b = 0; b < batches; b++) {
        double w0 = wall_s(), c0 = cpu_s();
        for (int k = 0; k < batch; k++) {
            int32_t *v;
            size_t m;
            sn_tokenizer_encode(tok, k_prompt, len, 1, &v, &m);
            free(v);
        }
        ew[b] = (wall_s() - w0) / batch;
        ec[b] = (cpu_s() - c0) / batch;
    }
    double emin = ew[0];
    for (int b = 1; b < batches; b++)
        if (ew[b] < emin) emin = ew[b];
    printf("{\"bench\": \"tokenizer\", \"impl\": \"libsana\", \"tokenizer\": \"%s\", "
           "\"vocab_size\": %d, \"prompt_bytes\": %zu, \"n_ids\": %zu, \"first_ids\": [%d, %d, %d], "
           "\"loads\": %d, \"load_ms_median\": %.1f, \"load_cpu_ms_median\": %.1f, "
           "\"encode_reps\": %d, \"encode_us_median\": %.2f, \"encode_us_min\": %.2f, "
           "\"encode_cpu_us_median\": %.2f}\n",
           path, sn_tokenizer_vocab_size(tok), len, n, ids[0], ids[1], ids[2], loads,
           median(lw, loads) * 1e3, median(lc, loads) * 1e3, batches * batch,
           median(ew, batches) * 1e6, emin * 1e6, median(ec, batches) * 1e6);
    free(ids);
    free(lw);
    free(lc);
    free(ew);
    free(ec);
    sn_tokenizer_free(tok);
    return 0;
}
