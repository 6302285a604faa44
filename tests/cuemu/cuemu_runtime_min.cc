// The least of a CUDA runtime cuemu needs: what the kernels' own host code calls (launch errors,
// the device's attributes, function attributes) and a submit() that runs each launch at once.
// A fuller fake runtime (streams, memory, graphs) replaces this file; keep it small.
#include <map>
#include <mutex>

#include "cuemu.h"

namespace {
constexpr int kSmemDefault = 48 * 1024;
constexpr int kSmemOptin = 227 * 1024;  // sm_90: 228 KiB per SM, 227 KiB for one block
thread_local cudaError_t tl_last_error = cudaSuccess;
std::mutex g_mu;
std::map<const void *, int> g_smem_limit;  // cudaFuncAttributeMaxDynamicSharedMemorySize by function
int g_smem_max = kSmemDefault;
}  // namespace

namespace cuemu {
void submit(cudaStream_t, std::function<void()> work) { work(); }
void set_last_error(cudaError_t e) { tl_last_error = e; }
size_t dyn_smem_limit() {
    std::lock_guard<std::mutex> lock(g_mu);
    return (size_t)g_smem_max;
}
}  // namespace cuemu

extern "C" {

cudaError_t cudaGetLastError(void) {
    cudaError_t e = tl_last_error;
    tl_last_error = cudaSuccess;
    return e;
}

cudaError_t cudaPeekAtLastError(void) { return tl_last_error; }

cudaError_t cudaGetDevice(int *device) {
    *device = 0;
    return cudaSuccess;
}

// An sm_90 device (H100-like): what the kernels' host code asks for.
cudaError_t cudaDeviceGetAttribute(int *value, enum cudaDeviceAttr attr, int device) {
    if (device != 0) return cudaErrorInvalidDevice;
    switch (attr) {
    case cudaDevAttrComputeCapabilityMajor: *value = 9; break;
    case cudaDevAttrComputeCapabilityMinor: *value = 0; break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = kSmemOptin; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = kSmemDefault; break;
    case cudaDevAttrMaxThreadsPerBlock: *value = 1024; break;
    case cudaDevAttrWarpSize: *value = 32; break;
    case cudaDevAttrMultiProcessorCount: *value = 132; break;
    default: return cudaErrorInvalidValue;  // not emulated: the caller sees it
    }
    return cudaSuccess;
}

cudaError_t cudaFuncGetAttributes(struct cudaFuncAttributes *attr, const void *func) {
    if (!func) return cudaErrorInvalidDeviceFunction;
    *attr = cudaFuncAttributes{};
    attr->maxThreadsPerBlock = 1024;
    attr->ptxVersion = 90;
    attr->binaryVersion = 90;
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_smem_limit.find(func);
    attr->maxDynamicSharedSizeBytes = it == g_smem_limit.end() ? kSmemDefault : it->second;
    return cudaSuccess;
}

cudaError_t cudaFuncSetAttribute(const void *func, enum cudaFuncAttribute attr, int value) {
    if (!func) return cudaErrorInvalidDeviceFunction;
    if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize) return cudaSuccess;  // hints: accepted
    if (value < 0 || value > kSmemOptin) return cudaErrorInvalidValue;
    std::lock_guard<std::mutex> lock(g_mu);
    g_smem_limit[func] = value;
    if (value > g_smem_max) g_smem_max = value;
    return cudaSuccess;
}

}  // extern "C"
