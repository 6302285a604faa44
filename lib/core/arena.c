#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>

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
    a->spare = NULL;
    a->peak = 0;
    a->used = 0;
    a->held = 0;
}

void *sn_arena_alloc(sn_arena *a, size_t bytes) { return sn_arena_alloc_room(a, bytes, 0); }

void *sn_arena_alloc_room(sn_arena *a, size_t bytes, size_t room) {
    bytes = sn_arena_round(bytes);
    room = room ? sn_arena_round(room) : 0;
    const size_t need = bytes + room;
    sn_arena_chunk *c = a->head;
    if (!c || c->size - c->offset < need) {
        /* a spare chunk that fits, else a new one */
        sn_arena_chunk **pp = &a->spare;
        while (*pp && (*pp)->size < need) pp = &(*pp)->next;
        sn_arena_chunk *n = *pp;
        if (n) {
            *pp = n->next;
        } else {
            size_t size = need > a->chunk_size ? need : a->chunk_size;
            n = malloc(sizeof *n);
            if (!n) return NULL;
            n->base = a->alloc(a->owner, size);
            if (!n->base) {
                free(n);
                return NULL;
            }
            n->size = size;
            a->held += size;
        }
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
        c->next = a->spare;
        a->spare = c;
    }
    if (a->head) a->head->offset = mark.offset;
    a->used = mark.used;
}

static void sn_arena_free_list(sn_arena *a, sn_arena_chunk *c) {
    while (c) {
        sn_arena_chunk *next = c->next;
        a->free(a->owner, c->base);
        free(c);
        c = next;
    }
}

void sn_arena_release(sn_arena *a) {
    sn_arena_free_list(a, a->head);
    sn_arena_free_list(a, a->spare);
    a->head = a->spare = NULL;
    a->used = 0;
    a->held = 0;
}

void sn_arena_trim(sn_arena *a, size_t keep) {
    if (a->used) return; /* a scratch mark is still open: nothing may move */
    sn_arena_reset_to(a, (sn_arena_mark){NULL, 0, 0});
    while (a->held > keep && a->spare) {
        sn_arena_chunk **big = &a->spare;
        for (sn_arena_chunk **pp = &a->spare; *pp; pp = &(*pp)->next)
            if ((*pp)->size > (*big)->size) big = pp;
        sn_arena_chunk *c = *big;
        *big = c->next;
        a->held -= c->size;
        a->free(a->owner, c->base);
        free(c);
    }
}
