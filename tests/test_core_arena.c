/* The scratch arena: bump allocation over chunks, marks and resets, reuse of spare chunks, and
 * sn_arena_trim (what sn_api_leave calls to give a call's big blocks back to the system). */
#include <stdint.h>
#include <stdlib.h>

#include "core/arena.h"
#include "harness.h"

typedef struct counter {
    int allocs, frees;
    size_t live;
} counter;

static void *chunk_alloc(void *owner, size_t bytes) {
    counter *c = owner;
    c->allocs++;
    c->live += bytes;
    /* backends hand out 256-byte aligned chunks; the size is kept in front */
    size_t *p = aligned_alloc(SN_ARENA_ALIGN, bytes + SN_ARENA_ALIGN);
    if (p) p[0] = bytes;
    return p ? (char *)p + SN_ARENA_ALIGN : NULL;
}

static void chunk_free(void *owner, void *ptr) {
    counter *c = owner;
    size_t *p = (size_t *)((char *)ptr - SN_ARENA_ALIGN);
    c->frees++;
    c->live -= p[0];
    free(p);
}

int main(void) {
    counter n = {0};
    sn_arena a;
    sn_arena_init(&a, chunk_alloc, chunk_free, &n, 1024);

    /* three chunks: the minimum, then two larger than it */
    sn_arena_mark m0 = sn_arena_mark_now(&a);
    void *p1 = sn_arena_alloc(&a, 100);
    void *p2 = sn_arena_alloc(&a, 5000);
    void *p3 = sn_arena_alloc(&a, 20000);
    CHECK(p1 && p2 && p3, "allocations");
    CHECK((uintptr_t)p2 % SN_ARENA_ALIGN == 0, "256-byte alignment");
    CHECK(n.allocs == 3, "3 chunks, got %d", n.allocs);
    CHECK(a.held == n.live && a.held == 1024 + 5120 + 20224, "held %zu, live %zu", a.held, n.live);

    /* trim with a mark open frees nothing */
    sn_arena_trim(&a, 0);
    CHECK(n.frees == 0 && a.held == n.live, "trim while in use freed %d chunks", n.frees);

    /* reset: chunks become spare and are reused without new allocations */
    sn_arena_reset_to(&a, m0);
    CHECK(a.used == 0, "used after reset %zu", a.used);
    CHECK(sn_arena_alloc(&a, 19000) != NULL && n.allocs == 3, "spare chunk reused (%d allocs)", n.allocs);
    sn_arena_reset_to(&a, m0);

    /* trim to 8 KiB: the largest chunk goes first, then the next, until held <= keep */
    sn_arena_trim(&a, 8192);
    CHECK(n.frees == 1 && a.held == 1024 + 5120, "after trim(8192): %d frees, held %zu", n.frees, a.held);
    CHECK(a.held == n.live, "held %zu = live %zu", a.held, n.live);
    sn_arena_trim(&a, 1024);
    CHECK(n.frees == 2 && a.held == 1024, "after trim(1024): %d frees, held %zu", n.frees, a.held);
    /* still usable: the kept chunk serves a small request, a big one takes a new chunk */
    CHECK(sn_arena_alloc(&a, 500) != NULL && n.allocs == 3, "kept chunk reused");
    CHECK(sn_arena_alloc(&a, 3000) != NULL && n.allocs == 4, "new chunk after trim");
    sn_arena_reset_to(&a, m0);
    sn_arena_trim(&a, SIZE_MAX);
    CHECK(n.frees == 2, "trim(SIZE_MAX) keeps everything");

    sn_arena_release(&a);
    CHECK(n.live == 0 && n.allocs == n.frees, "release: %zu bytes live, %d allocs, %d frees", n.live, n.allocs, n.frees);
    return tu_finish("test_core_arena");
}
