/* tokenizer.json loading (lib/encoder/tokenizer_json.c, the JSON reader, and tokenizer_load.c,
 * the tables built from it). The input is tokenizer.json, optionally followed by a line
 * "--tokenizer_config.json--" and that file's text. A tokenizer that loads must then encode the
 * input itself (arbitrary bytes) and decode what it gave back. */
#include "encoder/tokenizer.h"
#include "fuzz_common.h"

#define FZ_SPLIT "\n--tokenizer_config.json--\n"

static const uint8_t *fz_find(const uint8_t *h, size_t hn, const char *needle) {
    size_t nn = strlen(needle);
    for (size_t i = 0; i + nn <= hn; i++)
        if (memcmp(h + i, needle, nn) == 0) return h + i;
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_quiet();
    char dir[FZ_PATH_MAX], file[FZ_PATH_MAX], tc[FZ_PATH_MAX];
    fz_mkdir(fz_join(dir, fz_dir(), "tok"));
    const uint8_t *split = fz_find(data, size, FZ_SPLIT);
    size_t tj = split ? (size_t)(split - data) : size;
    fz_write(fz_join(file, dir, "tokenizer.json"), data, tj);
    fz_join(tc, dir, "tokenizer_config.json");
    if (split) {
        size_t off = tj + strlen(FZ_SPLIT);
        fz_write(tc, data + off, size - off);
    } else {
        remove(tc);
    }
    sn_error_clear();
    sn_tokenizer *tok = NULL;
    sana_status s = sn_tokenizer_load(dir, &tok);
    fz_check_failure(s, "sn_tokenizer_load");
    if (s != SANA_OK) {
        if (tok) abort();
        return 0;
    }
    int32_t n_vocab = sn_tokenizer_vocab_size(tok);
    const char *texts[] = {(const char *)data, "Hello world", " a  b ", "<bos>x<eos>", ""};
    size_t lens[] = {tj, 11, 6, 11, 0};
    for (int i = 0; i < 5; i++)
        for (int special = 0; special < 2; special++) {
            int32_t *ids = NULL;
            size_t n = 0;
            s = sn_tokenizer_encode(tok, texts[i], lens[i], special, &ids, &n);
            fz_check_failure(s, "sn_tokenizer_encode");
            for (size_t k = 0; s == SANA_OK && k < n; k++)
                if (ids[k] < 0 || ids[k] >= n_vocab) abort(); /* an id outside the vocab */
            if (s == SANA_OK) {
                char *text = NULL;
                size_t len = 0;
                s = sn_tokenizer_decode(tok, ids, n, special, &text, &len);
                fz_check_failure(s, "sn_tokenizer_decode");
                if (s == SANA_OK && strlen(text) > len) abort();
                free(text);
            }
            free(ids);
        }
    /* every piece and its reverse lookup (small vocabularies only: the corpus is small files) */
    for (int32_t id = 0; id < n_vocab && id < 4096; id++) {
        size_t len = 0;
        const char *p = sn_tokenizer_piece(tok, id, &len);
        if (p) (void)sn_tokenizer_piece_id(tok, p, len);
    }
    (void)sn_tokenizer_bos_id(tok);
    (void)sn_tokenizer_adds_bos(tok);
    sn_tokenizer_free(tok);
    return 0;
}
