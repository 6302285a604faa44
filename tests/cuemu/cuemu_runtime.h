// The fake CUDA runtime's internals shared by cuemu_runtime.cc and cuemu_cublaslt.cc (not by the
// library: lib/backend/cuda sees only the real cuda_runtime.h / cublasLt.h).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <functional>

namespace cuemu {

// Queues work on a stream: runs it now, or records it into the graph while the stream captures.
// The kernel launcher (cuemu.h) and the fake cuBLASLt both go through it.
void submit(cudaStream_t stream, std::function<void()> work);
// The same, saying whether the work was queued: cudaErrorStreamCaptureInvalidated when the stream's
// capture was invalidated (the work is dropped), else cudaSuccess.
cudaError_t enqueue(cudaStream_t stream, std::function<void()> work);

// Sets the error cudaGetLastError / cudaPeekAtLastError return (launch errors of emulated kernels).
void set_last_error(cudaError_t e);

// The largest dynamic shared memory a launch may use (48 KiB unless cudaFuncSetAttribute raised it
// for some function; the launcher cannot tell functions apart, so the largest grant counts).
size_t dyn_smem_limit();

// Aborts with `what` in the message unless [p, p + bytes) lies inside one live device allocation
// (cudaMalloc'd and not freed); says so when it lies in freed memory.
void check_device(const void *p, size_t bytes, const char *what);

// Prints "cuemu: <message>" and aborts: our code did what the real library would reject.
[[noreturn]] void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace cuemu
