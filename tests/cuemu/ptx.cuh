// The emulator's stand-in for kernels/ptx.cuh (this folder comes first on the include path of
// the emulated kernels): the same functions, computed on the CPU per the PTX ISA.
//   - mma16816, ldsm_x4, ldsm_x4_trans are warp collectives: each lane deposits its operands
//     (fragment registers, or its row address) in the warp's scratch, waits for the whole warp,
//     computes its own registers from all 32 deposits by the ISA's fragment rules
//     (tests/cuemu/ptx_frag.h), and waits again so that no lane overwrites a deposit another
//     lane still reads. mma: products exact, the 16 per output summed with C in double and
//     rounded to float once.
//   - cp.async is asynchronous as on the GPU: cp_async16 only queues the copy (this thread's
//     queue); cp_async_commit closes the queued copies into a group; cp_async_wait<N> performs
//     the copies of every group but the newest N, oldest first. On the GPU the bytes may land
//     any time in between, so here they hold NaN (0xff bytes) from the issue until the wait: a
//     kernel that reads a tile before waiting for it, or overwrites a stage another warp still
//     reads (no barrier between that read and the issue), reads NaN. The race detector (the
//     _races tests) sees a write by the issuing thread at both ends, so it also reports a read
//     of another thread's copy without a barrier after that thread's wait.
#pragma once
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptx_frag.h"

namespace sn {
namespace ptx {
namespace emu {

template <typename T>
struct elem_type;
template <>
struct elem_type<__nv_bfloat16> {
    static constexpr int value = CUEMU_BF16;
};
template <>
struct elem_type<__half> {
    static constexpr int value = CUEMU_F16;
};

// the warp's scratch: the deposits of the collective in progress, then the cp.async queues
inline unsigned char *scratch() { return static_cast<unsigned char *>(cuemu::warp_scratch()); }

// the ISA's alignment rules (16-byte rows, 16-byte copies): a violation is a kernel bug
inline void need_aligned16(const void *p, const char *what) {
    if ((uintptr_t)p & 15) {
        fprintf(stderr, "cuemu ptx: %s address %p is not 16-byte aligned (thread %u of block %u,%u)\n", what, p,
                threadIdx.x, blockIdx.x, blockIdx.y);
        abort();
    }
}

// One thread's copies in flight, in issue order, each with its commit group (-1: not committed
// yet), in the thread's own part of its warp's scratch (after the deposits): no state shared
// between CUDA threads, so the race detector (the _races tests) sees only the kernel's own
// sharing; the copies a wait performs are writes by the waiting thread, and another thread that
// reads them without a barrier in between is reported. The queue is stamped with the block: one
// another block left (a thread that exited with copies in flight, into shared memory that is
// gone) or the scratch's first contents read as empty.
struct CpOp {
    void *dst;
    const void *src;
    int bytes;  // copied; the rest of the 16 are zeros
    int group;
};
constexpr size_t kDeposits = 1024;  // >= 32 fragments or 32 row addresses
constexpr int kQueueCap = 80;       // copies in flight per thread (flash attention: at most 48)
struct CpQueue {
    uint64_t stamp;
    int n, next_group;
    CpOp ops[kQueueCap];
};
static_assert(32 * sizeof(cuemu_mma_frag) <= kDeposits && 32 * sizeof(void *) <= kDeposits, "deposits");
static_assert(kDeposits + 32 * sizeof(CpQueue) <= 64 * 1024, "the warp scratch holds 64 KiB");

inline CpQueue &queue() {
    CpQueue &q = reinterpret_cast<CpQueue *>(scratch() + kDeposits)[cuemu::lane()];
    const uint64_t stamp = cuemu::block_serial() ^ 0x6370617379636e21ull;  // not what fresh memory holds
    if (q.stamp != stamp) {
        q.stamp = stamp;
        q.n = q.next_group = 0;
    }
    return q;
}

}  // namespace emu

template <typename T>
inline void mma16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    cuemu_mma_frag *all = reinterpret_cast<cuemu_mma_frag *>(emu::scratch());
    const int l = cuemu::lane();
    all[l] = cuemu_mma_frag{{a[0], a[1], a[2], a[3]}, {b0, b1}};
    cuemu::warp_barrier();
    const float c[4] = {d[0], d[1], d[2], d[3]};
    cuemu_mma_lane(all, emu::elem_type<T>::value, l, c, d);
    cuemu::warp_barrier();
}

inline void ldsm_x4_any(uint32_t (&r)[4], const void *row, int trans) {
    emu::need_aligned16(row, "ldmatrix row");
    const void **rows = reinterpret_cast<const void **>(emu::scratch());
    rows[cuemu::lane()] = row;
    cuemu::warp_barrier();
    cuemu_ldsm_x4_lane(rows, trans, cuemu::lane(), r);
    cuemu::warp_barrier();
}
inline void ldsm_x4(uint32_t (&r)[4], const void *row) { ldsm_x4_any(r, row, 0); }
inline void ldsm_x4_trans(uint32_t (&r)[4], const void *row) { ldsm_x4_any(r, row, 1); }

inline void cp_async16(void *dst, const void *src, bool valid) {
    emu::need_aligned16(dst, "cp.async destination");
    emu::need_aligned16(src, "cp.async source");
    emu::CpQueue &q = emu::queue();
    if (q.n == emu::kQueueCap) {
        fprintf(stderr, "cuemu ptx: more than %d cp.async copies in flight in one thread\n", emu::kQueueCap);
        abort();
    }
    q.ops[q.n++] = emu::CpOp{dst, src, valid ? 16 : 0, -1};
    // the 16 bytes are in flux from now until the copy lands: NaN bytes meanwhile, and a write by
    // this thread that the race detector sees at issue as well as at the wait
    memset(dst, 0xff, 16);
}

inline void cp_async_commit() {
    emu::CpQueue &q = emu::queue();
    for (int i = 0; i < q.n; i++)
        if (q.ops[i].group < 0) q.ops[i].group = q.next_group;
    q.next_group++;  // an empty group counts too, as in the ISA
}

// groups [0, next - N) complete now, oldest first (issue order within a group)
template <int N>
inline void cp_async_wait() {
    emu::CpQueue &q = emu::queue();
    const int retire_below = q.next_group - N;
    int kept = 0;
    for (int i = 0; i < q.n; i++) {
        const emu::CpOp op = q.ops[i];
        if (op.group >= 0 && op.group < retire_below) {
            memcpy(op.dst, op.src, (size_t)op.bytes);
            memset(static_cast<unsigned char *>(op.dst) + op.bytes, 0, (size_t)(16 - op.bytes));
        } else {
            q.ops[kept++] = op;
        }
    }
    q.n = kept;
}

}  // namespace ptx
}  // namespace sn
