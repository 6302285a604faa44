/* A bump allocator over memory chunks supplied by a backend. Scratch for one forward pass is
 * taken from it and given back all at once with sn_arena_reset_to(mark). Chunks given back are
 * kept and reused, so a steady-state forward pass allocates nothing from the system (on a GPU,
 * no cudaMalloc/cudaFree, which would synchronise). */
#ifndef SN_CORE_ARENA_H
#define SN_CORE_ARENA_H

#include <stddef.h>

typedef void *(*sn_chunk_alloc_fn)(void *owner, size_t bytes);
typedef void (*sn_chunk_free_fn)(void *owner, void *ptr);

typedef struct sn_arena_chunk sn_arena_chunk;

typedef struct sn_arena {
    sn_chunk_alloc_fn alloc;
    sn_chunk_free_fn free;
    void *owner;
    size_t chunk_size;     /* minimum size of a new chunk */
    sn_arena_chunk *head;  /* chunks in use, newest first */
    sn_arena_chunk *spare; /* chunks given back by a reset, kept for reuse */
    size_t peak;           /* most bytes in use at once */
    size_t used;           /* bytes in use now */
    size_t held;           /* bytes of every chunk it holds (in use or spare): its footprint */
} sn_arena;

typedef struct sn_arena_mark {
    sn_arena_chunk *chunk;
    size_t offset;
    size_t used;
} sn_arena_mark;

void sn_arena_init(sn_arena *a, sn_chunk_alloc_fn alloc, sn_chunk_free_fn free, void *owner,
                   size_t chunk_size);
#define SN_ARENA_ALIGN ((size_t)256)
/* What an allocation of `bytes` adds to `used` (planners that count every byte use it). */
static inline size_t sn_arena_round(size_t bytes) {
    return ((bytes ? bytes : 1) + SN_ARENA_ALIGN - 1) & ~(SN_ARENA_ALIGN - 1);
}

/* 256-byte aligned memory, or NULL when the backend has none left. */
void *sn_arena_alloc(sn_arena *a, size_t bytes);
/* The same, in a chunk that keeps at least `room` more bytes free after it, so that allocations
 * of up to `room` bytes in all that follow (an op's scratch) take no new chunk. */
void *sn_arena_alloc_room(sn_arena *a, size_t bytes, size_t room);
sn_arena_mark sn_arena_mark_now(const sn_arena *a);
void sn_arena_reset_to(sn_arena *a, sn_arena_mark mark);
void sn_arena_release(sn_arena *a); /* frees every chunk */
/* Gives memory back between calls: when nothing is in use, frees spare chunks, largest first,
 * until the arena holds at most `keep` bytes. Chunks in use are never freed. */
void sn_arena_trim(sn_arena *a, size_t keep);

#endif
