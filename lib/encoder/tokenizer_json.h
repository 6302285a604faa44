/* A small JSON reader for tokenizer.json (11 MB, ~840k values): one pass, strings unescaped in
 * place in the caller's buffer, nodes in one growing array linked by index. Made for loading
 * fast and for errors that say where a file is broken (line and column); not a general library. */
#ifndef SN_ENCODER_TOKENIZER_JSON_H
#define SN_ENCODER_TOKENIZER_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef enum { SN_JNULL, SN_JFALSE, SN_JTRUE, SN_JNUM, SN_JSTR, SN_JARR, SN_JOBJ } sn_jtype;

typedef struct sn_jnode {
    uint8_t type;
    int32_t next;  /* next sibling, -1 at the end */
    int32_t a;     /* STR/NUM: offset of the text in buf; ARR/OBJ: first child, -1 when empty */
    uint32_t len;  /* STR/NUM: bytes; ARR/OBJ: child count */
    int32_t key;   /* object members: offset of the key in buf, -1 otherwise */
    uint32_t klen; /* key bytes */
} sn_jnode;

typedef struct sn_json {
    char *buf; /* the document, modified in place (owned) */
    size_t size;
    sn_jnode *nodes; /* nodes[0] is the root */
    size_t n, cap;
} sn_json;

/* Parses `buf` (size bytes, taking ownership: freed by sn_json_free, even on failure). `what`
 * names the file in error messages. */
sana_status sn_json_parse(sn_json *j, char *buf, size_t size, const char *what);
void sn_json_free(sn_json *j);

/* Member `key` of object node `obj`, -1 when absent or when obj is not an object. */
int32_t sn_json_get(const sn_json *j, int32_t obj, const char *key);
/* Type of node i, SN_JNULL for -1 (absent behaves as null). */
sn_jtype sn_json_type(const sn_json *j, int32_t i);
/* String node text (NUL-terminated in place) and length; NULL when not a string. */
const char *sn_json_str(const sn_json *j, int32_t i, size_t *len);
/* Number node as double (NaN when not a number). */
double sn_json_num(const sn_json *j, int32_t i);
/* 1/0 for true/false, `dflt` for anything else (absent, null). */
int sn_json_bool(const sn_json *j, int32_t i, int dflt);

#endif
