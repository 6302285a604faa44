// cuemu: CUDA kernels run on the CPU. Force-included (-include cuemu.h) into every kernel source
// after tests/cuemu/cuemu_prep.py rewrote its launches; the kernels then build with the host C++
// compiler against the toolkit's own (host-compilable) runtime, fp16 and bf16 headers.
//
// Execution model (tests/cuemu/cuemu_sched.cc): the blocks of a grid run one after another; in a
// block every CUDA thread is a coroutine, run until it exits or waits at a barrier (a thread
// that parks keeps its stack; one that never does passes it on to the next). So __shared__ variables are plain statics (one block at a time uses them), and
// threadIdx & co. are per-OS-thread variables the scheduler sets before it resumes a thread.
#pragma once

#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include <functional>
#include <tuple>
#include <type_traits>

namespace cuemu {

// --- launching (cuemu_sched.cc) ---------------------------------------------------------------
// What `name<<<grid, block, smem, stream>>>(args)` becomes: checks the configuration as CUDA does
// (a bad one is recorded for cudaGetLastError and runs nothing), then submit()s a closure that runs
// the whole grid, each thread calling body(). `name` labels error reports.
void launch(dim3 grid, dim3 block, size_t smem, cudaStream_t s, std::function<void()> body,
            const char *name = "kernel");
// The block's dynamic shared memory (extern __shared__), 128-byte aligned, filled with 0xff bytes
// (NaN as float) when the block starts: a read of a byte no thread wrote shows up.
void *dyn_smem();

// --- for PTX shims (emulated warp-level instructions) -------------------------------------------
void block_barrier();  // __syncthreads: every thread of the block
void warp_barrier();   // every non-exited lane of the caller's warp
int lane();            // the caller's lane in its warp (linear thread index % 32)
void *warp_scratch();  // >= 64 KiB per warp, the same pointer for all its lanes
// differs for every block this OS thread runs, never 0: per-thread state a shim keeps (ptx.cuh's
// cp.async queues) stamped with another block's serial is stale
uint64_t block_serial();

// --- what the runtime provides (tests/cuemu/cuemu_runtime.cc) ----------------------------------
// Runs `work` (one launch) in stream order: at once, or recorded while the stream captures a graph.
void submit(cudaStream_t s, std::function<void()> work);
// Records a launch error the next cudaGetLastError / cudaPeekAtLastError returns.
void set_last_error(cudaError_t e);
// The largest dynamic shared memory a launch may ask for: 48 KiB unless cudaFuncSetAttribute
// (cudaFuncAttributeMaxDynamicSharedMemorySize) raised it. The launch does not know which
// function it runs, so the largest limit granted to any function counts.
size_t dyn_smem_limit();

namespace detail {
extern thread_local uint3 t_thread_idx, t_block_idx;
extern thread_local dim3 t_block_dim, t_grid_dim;

// shuffles: every lane deposits its value, the warp meets, each reads its source lane's value
// (two slot arrays in turn, so no lane overwrites a slot another has yet to read). Reading a lane
// that has exited or does not exist (a partial last warp) aborts: on a GPU that value is undefined.
uint64_t shfl_exchange(unsigned mask, uint64_t bits, int src, const char *what);
void check_mask(unsigned mask, const char *what);

template <typename T>
T shfl(unsigned mask, T v, int src, const char *what) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffle of a type over 8 bytes");
    uint64_t bits = 0;
    __builtin_memcpy(&bits, &v, sizeof(T));
    bits = shfl_exchange(mask, bits, src, what);
    T r;
    __builtin_memcpy(&r, &bits, sizeof(T));
    return r;
}
}  // namespace detail

}  // namespace cuemu

// --- CUDA's built-in variables and qualifiers ---------------------------------------------------
#define threadIdx (::cuemu::detail::t_thread_idx)
#define blockIdx (::cuemu::detail::t_block_idx)
#define blockDim (::cuemu::detail::t_block_dim)
#define gridDim (::cuemu::detail::t_grid_dim)
#ifndef warpSize
#define warpSize 32
#endif

#undef __shared__
#define __shared__ static
#ifndef __launch_bounds__
#define __launch_bounds__(...)
#endif

// --- synchronisation and warp intrinsics --------------------------------------------------------
inline void __syncthreads() { ::cuemu::block_barrier(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) {
    ::cuemu::detail::check_mask(mask, "__syncwarp");
    ::cuemu::warp_barrier();
}
template <typename T>
inline T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
    int l = ::cuemu::lane();
    return ::cuemu::detail::shfl(mask, v, (l & ~(width - 1)) + (src & (width - 1)), "__shfl_sync");
}
template <typename T>
inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
    int l = ::cuemu::lane(), s = l ^ lane_mask;
    // a source outside the caller's width-wide segment: the caller's own value
    return ::cuemu::detail::shfl(mask, v, (s & ~(width - 1)) == (l & ~(width - 1)) ? s : l, "__shfl_xor_sync");
}
template <typename T>
inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    int l = ::cuemu::lane(), s = l + (int)delta;
    return ::cuemu::detail::shfl(mask, v, (s & ~(width - 1)) == (l & ~(width - 1)) ? s : l, "__shfl_down_sync");
}
template <typename T>
inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    int l = ::cuemu::lane(), s = l - (int)delta;
    return ::cuemu::detail::shfl(mask, v, s >= (l & ~(width - 1)) ? s : l, "__shfl_up_sync");
}

// --- device math the host headers lack (the extern "C" intrinsics are in cuemu_math.cc) ---------
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
// CUDA's min/max overloads for every arithmetic type pair (device code calls min(a, b) on int64)
template <typename A, typename B, typename = std::enable_if_t<std::is_arithmetic<A>::value && std::is_arithmetic<B>::value>>
inline std::common_type_t<A, B> min(A a, B b) {
    return (std::common_type_t<A, B>)b < (std::common_type_t<A, B>)a ? b : a;
}
template <typename A, typename B, typename = std::enable_if_t<std::is_arithmetic<A>::value && std::is_arithmetic<B>::value>>
inline std::common_type_t<A, B> max(A a, B b) {
    return (std::common_type_t<A, B>)a < (std::common_type_t<A, B>)b ? b : a;
}

// The runtime's C++ overloads taking a kernel itself (cuda_runtime.h has them for nvcc only).
template <typename T>
inline cudaError_t cudaFuncSetAttribute(T *entry, cudaFuncAttribute attr, int value) {
    return ::cudaFuncSetAttribute(reinterpret_cast<const void *>(entry), attr, value);
}
template <typename T>
inline cudaError_t cudaFuncGetAttributes(cudaFuncAttributes *attr, T *entry) {
    return ::cudaFuncGetAttributes(attr, reinterpret_cast<const void *>(entry));
}
