#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>

#define SN_ARENA_ALIGN 256u

struct sn_arena_chunk {
    sn_arena_chunk *next;
    void *base;
    size_t size;
    size_t offset;
};

void sn_arena_init(sn_arena *a, sn_chunk_alloc_fn alloc, sn_chunk_free_fn free, void *owner,
                   size_t chunk_size) {
    a->alloc = alloc;
    a->free = free;
    a->owner = owner;
    a->chunk_size = chunk_size;
    a->head = NULL;
    a->peak = 0;
    a->used = 0;
}

static size_t sn_align_up(size_t v) { return (v + SN_ARENA_ALIGN - 1) & ~(size_t)(SN_ARENA_ALIGN - 1); }

void *sn_arena_alloc(sn_arena *a, size_t bytes) {
    bytes = sn_align_up(bytes ? bytes : 1);
    sn_arena_chunk *c = a->head;
    if (!c || c->size - c->offset < bytes) {
        /* Chunks freed by a reset are not reused here on purpose: reset_to() pops them. */
        size_t size = bytes > a->chunk_size ? bytes : a->chunk_size;
        sn_arena_chunk *n = malloc(sizeof *n);
        if (!n) return NULL;
        n->base = a->alloc(a->owner, size);
        if (!n->base) {
            free(n);
            return NULL;
        }
        n->size = size;
        n->offset = 0;
        n->next = a->head;
        a->head = n;
        c = n;
    }
    void *p = (char *)c->base + c->offset;
    c->offset += bytes;
    a->used += bytes;
    if (a->used > a->peak) a->peak = a->used;
    return p;
}

sn_arena_mark sn_arena_mark_now(const sn_arena *a) {
    sn_arena_mark m = {a->head, a->head ? a->head->offset : 0, a->used};
    return m;
}

void sn_arena_reset_to(sn_arena *a, sn_arena_mark mark) {
    while (a->head && a->head != mark.chunk) {
        sn_arena_chunk *c = a->head;
        a->head = c->next;
        a->free(a->owner, c->base);
        free(c);
    }
    if (a->head) a->head->offset = mark.offset;
    a->used = mark.used;
}

void sn_arena_release(sn_arena *a) {
    sn_arena_mark none = {NULL, 0, 0};
    sn_arena_reset_to(a, none);
}
