/* sana-cli generate: text to image with a SANA model folder.
 *
 *   sana-cli generate [--model DIR] --prompt TEXT [--negative TEXT] [--width N] [--height N]
 *                     [--steps N] [--cfg X] [--pag X] [--pag-layers 8,9] [--seed N]
 *                     [--solver dpm|euler|scm] [--batch N] [--init-image PNG] [--strength X]
 *                     [--no-binning] [--threads N] [--out FILE.png]
 *
 * Without --model it runs the bundled tiny test model and says so on stderr. A progress bar goes
 * to stderr; the PNG carries the generation parameters in a tEXt "parameters" chunk. The same
 * command always writes the same bytes. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sana/sana.h"

#ifndef SANA_BUNDLED_MODEL
#define SANA_BUNDLED_MODEL "tests/fixtures/sana_tiny"
#endif

#define MAX_PAG_LAYERS 64
#define MAX_BATCH 64

static int usage(FILE *f) {
    fprintf(f,
            "usage: sana-cli generate [--model DIR] --prompt TEXT [options]\n"
            "  --model DIR          SANA pipeline folder (default: the bundled tiny test model)\n"
            "  --prompt TEXT        what to draw (required)\n"
            "  --negative TEXT      negative prompt (default \"\")\n"
            "  --width N --height N image size in pixels (default 1024x1024)\n"
            "  --steps N            denoising steps (default: the solver's: 20 DPM, 28 Euler, 2 SCM)\n"
            "  --cfg X              guidance scale (default 4.5)\n"
            "  --pag X              perturbed-attention guidance scale (default 0 = off)\n"
            "  --pag-layers LIST    transformer blocks for PAG, e.g. 8 or 7,8 (default 8)\n"
            "  --seed N             noise seed (default 0)\n"
            "  --solver NAME        dpm, euler or scm (default: the model's)\n"
            "  --batch N            images per prompt (default 1; files out-0.png, out-1.png...)\n"
            "  --init-image PNG     image to image (SANA-Sprint models)\n"
            "  --strength X         image to image strength in [0, 1] (default 0.8)\n"
            "  --no-binning         generate at exactly --width x --height (multiples of 32)\n"
            "  --threads N          CPU threads (default: one per core)\n"
            "  --out FILE.png       output file (default sana.png)\n");
    return f == stderr ? 2 : 0;
}

static int parse_int(const char *opt, const char *s, long lo, long hi, int32_t *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "sana-cli generate: %s must be an integer in %ld..%ld, not '%s'\n", opt, lo, hi, s);
        return -1;
    }
    *out = (int32_t)v;
    return 0;
}

static int parse_float(const char *opt, const char *s, float *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) {
        fprintf(stderr, "sana-cli generate: %s must be a finite number, not '%s'\n", opt, s);
        return -1;
    }
    *out = (float)v;
    return 0;
}

/* "out.png" + k -> "out-k.png" */
static void numbered(const char *path, int k, char *dst, size_t cap) {
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash)) dot = path + strlen(path);
    snprintf(dst, cap, "%.*s-%d%s", (int)(dot - path), path, k, dot);
}

static void progress_bar(int32_t step, int32_t steps, void *user) {
    (void)user;
    const int width = 30;
    int filled = steps > 0 ? (int)((long)width * step / steps) : width;
    fprintf(stderr, "\r[");
    for (int i = 0; i < width; i++) fputc(i < filled ? '#' : '.', stderr);
    fprintf(stderr, "] step %d/%d", step, steps);
    if (step == steps) fputc('\n', stderr);
    fflush(stderr);
}

int cmd_generate(int argc, char **argv) {
    const char *model_dir = NULL, *out = "sana.png", *init_path = NULL, *solver = NULL;
    int32_t threads = 0, pag_layers[MAX_PAG_LAYERS], n_pag = 0;
    sana_generate_params p;
    sana_generate_params_init(&p);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout);
        if (!strcmp(a, "--no-binning")) {
            p.resolution_binning = 0;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "sana-cli generate: unknown option or missing value: %s\n", a);
            return usage(stderr);
        }
        const char *v = argv[++i];
        int bad = 0;
        if (!strcmp(a, "--model")) model_dir = v;
        else if (!strcmp(a, "--prompt")) p.prompt = v;
        else if (!strcmp(a, "--negative")) p.negative_prompt = v;
        else if (!strcmp(a, "--width")) bad = parse_int(a, v, 1, 65536, &p.width);
        else if (!strcmp(a, "--height")) bad = parse_int(a, v, 1, 65536, &p.height);
        else if (!strcmp(a, "--steps")) bad = parse_int(a, v, 1, 1000, &p.steps);
        else if (!strcmp(a, "--cfg")) bad = parse_float(a, v, &p.guidance_scale);
        else if (!strcmp(a, "--pag")) bad = parse_float(a, v, &p.pag_scale);
        else if (!strcmp(a, "--pag-layers")) {
            n_pag = 0;
            for (const char *s = v; *s && !bad;) {
                char *end;
                long l = strtol(s, &end, 10);
                if (end == s || l < 0 || l > 1000 || n_pag >= MAX_PAG_LAYERS || (*end && *end != ',')) {
                    fprintf(stderr, "sana-cli generate: --pag-layers must be a list like 8 or 7,8, not '%s'\n", v);
                    bad = -1;
                    break;
                }
                pag_layers[n_pag++] = (int32_t)l;
                s = *end ? end + 1 : end;
            }
        } else if (!strcmp(a, "--seed")) {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(v, &end, 10);
            if (errno || end == v || *end || v[0] == '-') {
                fprintf(stderr, "sana-cli generate: --seed must be a non-negative integer, not '%s'\n", v);
                bad = -1;
            }
            p.seed = s;
        } else if (!strcmp(a, "--solver")) solver = v;
        else if (!strcmp(a, "--batch")) bad = parse_int(a, v, 1, MAX_BATCH, &p.batch);
        else if (!strcmp(a, "--init-image")) init_path = v;
        else if (!strcmp(a, "--strength")) bad = parse_float(a, v, &p.strength);
        else if (!strcmp(a, "--threads")) bad = parse_int(a, v, 0, 4096, &threads);
        else if (!strcmp(a, "--out")) out = v;
        else {
            fprintf(stderr, "sana-cli generate: unknown option %s\n", a);
            return usage(stderr);
        }
        if (bad) return 2;
    }
    if (!p.prompt) {
        fprintf(stderr, "sana-cli generate: --prompt is required\n");
        return usage(stderr);
    }
    sana_sampler_params sp;
    sana_sampler_params_init(&sp);
    if (solver) {
        if (!strcmp(solver, "dpm")) sp.solver = SANA_SOLVER_FLOW_DPM;
        else if (!strcmp(solver, "euler")) sp.solver = SANA_SOLVER_FLOW_EULER;
        else if (!strcmp(solver, "scm")) sp.solver = SANA_SOLVER_SCM;
        else {
            fprintf(stderr, "sana-cli generate: --solver must be dpm, euler or scm, not '%s'\n", solver);
            return 2;
        }
    }
    if (p.pag_scale > 0.0f && n_pag == 0) pag_layers[n_pag++] = 8;
    p.pag_layers = pag_layers;
    p.n_pag_layers = p.pag_scale > 0.0f ? n_pag : 0;
    if (!model_dir) {
        model_dir = SANA_BUNDLED_MODEL;
        fprintf(stderr, "sana-cli generate: no --model given; using the bundled tiny test model %s "
                        "(random weights: the image is noise-like)\n", model_dir);
    }

    int rc = 1;
    sana_context *ctx = NULL;
    sana_model *model = NULL;
    sana_sampler *sampler = NULL;
    sana_image *init = NULL;
    sana_image *images[MAX_BATCH] = {0};
    sana_context_params cp;
    sana_context_params_init(&cp);
    cp.n_threads = threads;
    if (sana_context_create(&cp, &ctx) != SANA_OK) {
        fprintf(stderr, "sana-cli generate: %s\n", sana_last_error());
        return 1;
    }
    if (init_path && sana_image_load_png(init_path, &init) != SANA_OK) {
        fprintf(stderr, "sana-cli generate: --init-image: %s\n", sana_last_error());
        goto done;
    }
    if (sana_model_load(ctx, model_dir, NULL, &model) != SANA_OK) {
        fprintf(stderr, "sana-cli generate: %s\n", sana_context_last_error(ctx));
        goto done;
    }
    if (sana_sampler_create(model, &sp, &sampler) != SANA_OK) {
        fprintf(stderr, "sana-cli generate: %s\n", sana_last_error());
        goto done;
    }
    p.sampler = sampler;
    p.init_image = init;
    p.progress = progress_bar;
    if (sana_generate(ctx, model, &p, images) != SANA_OK) {
        fprintf(stderr, "\nsana-cli generate: %s\n", sana_context_last_error(ctx));
        goto done;
    }
    rc = 0;
    for (int32_t b = 0; b < p.batch; b++) {
        char path[4096];
        if (p.batch > 1)
            numbered(out, b, path, sizeof path);
        else
            snprintf(path, sizeof path, "%s", out);
        if (sana_image_save_png(images[b], path, NULL) != SANA_OK) {
            fprintf(stderr, "sana-cli generate: %s\n", sana_last_error());
            rc = 1;
            break;
        }
        fprintf(stderr, "wrote %s (%ux%u)\n", path, sana_image_width(images[b]), sana_image_height(images[b]));
    }
done:
    for (int32_t b = 0; b < MAX_BATCH; b++) sana_image_free(images[b]);
    sana_image_free(init);
    sana_sampler_free(sampler);
    sana_model_free(model);
    sana_context_free(ctx);
    return rc;
}
