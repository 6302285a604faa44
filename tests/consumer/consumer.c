/* An out-of-tree program built against an installed libsana: checks that the header and the
 * library agree and that the basic calls work. Exit 0 on success. */
#include <stdio.h>
#include <string.h>

#include <sana/sana.h>

int main(void) {
    if (sana_version_number() != SANA_VERSION_NUMBER) {
        fprintf(stderr, "header %d, library %u (%s)\n", SANA_VERSION_NUMBER, sana_version_number(),
                sana_version());
        return 1;
    }
    sana_context_params p;
    sana_context_params_init(&p);
    p.backend = SANA_BACKEND_CPU;
    p.n_threads = 1;
    sana_context *ctx = NULL;
    sana_status st = sana_context_create(&p, &ctx);
    if (st != SANA_OK) {
        fprintf(stderr, "sana_context_create: %s: %s\n", sana_status_string(st), sana_last_error());
        return 1;
    }
    int ok = sana_context_backend(ctx) == SANA_BACKEND_CPU;
    sana_image *im = NULL;
    ok = ok && sana_image_create(8, 4, 3, &im) == SANA_OK && sana_image_stride(im) == 24;
    sana_image_free(im);
    /* Errors come back as a status and a message, never an abort. */
    ok = ok && sana_image_create(0, 4, 3, &im) == SANA_ERR_INVALID_ARGUMENT && im == NULL &&
         strlen(sana_last_error()) > 0;
    sana_context_free(ctx);
    printf("consumer: libsana %s, %s\n", sana_version(), ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
