// A fake CUDA runtime on the CPU, for running lib/backend/cuda (compiled against the real
// cuda_runtime.h) with the emulated kernels: every cudart function libsana, its tests and examples
// call, with CUDA's semantics where they find our bugs.
//
// Memory: device memory is host memory, but a table of live allocations is kept. Freeing an
// unknown pointer or freeing twice aborts; memcpy / memset / GEMM operands must lie inside one live
// allocation of the right kind. New allocations are filled with NaN bytes (0xFF) and freed ones are
// refilled and held back (CUEMU_QUARANTINE bytes, default 256 MiB) before their memory is reused,
// so a kernel reading uninitialised or freed memory computes NaN instead of yesterday's values.
// cudaMemGetInfo reports CUEMU_DEVICE_MEMORY (bytes, or with a K/M/G suffix; default 80G) as the
// total and that minus the live bytes as free; cudaMalloc beyond it fails as the real one does.
//
// Streams are in-order queues executed at once on the calling thread, except while capturing:
// then kernels, async copies / memsets and cuBLASLt matmuls are recorded into the graph with the
// pointers and values they were given, and a graph launch replays exactly those. Calls that wait
// for the device while a capture is under way fail as on the real runtime and invalidate it
// (cudaStreamSynchronize / cudaStreamQuery / cudaEventSynchronize of captured work, and in global
// mode cudaMalloc / cudaFree). Deliberately stricter than the real runtime, because libsana's
// rule is "no host sync inside a captured forward": any synchronous cudaMemcpy / cudaMemset or
// cudaDeviceSynchronize while some stream captures, and a captured async copy from pageable host
// memory (the graph would read that host buffer at every replay), fail the capture the same way.
//
// CUEMU_ASYNC=1 defers work instead: each stream's operations run in order only when something
// waits for them (stream / event / device synchronisation, a synchronous copy, a copy into
// pageable memory, cudaFree), so host code that rewrites pinned memory a queued copy has yet to
// read, or reads results it never waited for, gets wrong values as on a GPU.
// CUEMU_SM (default 90) is the compute capability reported; CUEMU_STATS=1 prints counters at exit.
#include "cuemu_runtime.h"

#include <chrono>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <vector>

// CUDA's handle types are pointers to these incomplete structs; the fake defines them.
struct CUstream_st {
    unsigned flags = 0;
    bool capturing = false, invalidated = false;
    cudaStreamCaptureMode mode = cudaStreamCaptureModeGlobal;
    unsigned long long capture_id = 0;
    std::vector<std::function<void()>> nodes;
    // CUEMU_ASYNC: work queued, run at the next point that waits for it
    std::deque<std::function<void()>> pending;
    unsigned long long pushed = 0, done = 0;
};
struct CUevent_st {
    unsigned flags = 0;
    bool recorded = false;
    unsigned long long capture_id = 0;  // nonzero: last recorded inside that capture
    double ms = 0;
    CUstream_st *stream = nullptr;  // where it was last recorded, after how many ops
    unsigned long long seq = 0;
};
struct CUgraph_st {
    std::vector<std::function<void()>> nodes;
};
struct CUgraphExec_st {
    std::vector<std::function<void()>> nodes;
};

namespace {

enum Kind { DEVICE, PINNED };

struct Block {
    size_t bytes;
    Kind kind;
};

struct State {
    std::recursive_mutex mu;
    std::map<uintptr_t, Block> live;   // start -> block
    std::map<uintptr_t, size_t> freed;  // quarantined device blocks: start -> bytes
    std::deque<uintptr_t> freed_order;
    size_t live_device = 0, quarantined = 0, quarantine_max = 0, total = 0;
    bool poison = true;
    int sm = 90, device = 0;
    std::map<const void *, int> smem_limit;  // cudaFuncAttributeMaxDynamicSharedMemorySize by function
    size_t smem_max = 48 << 10;             // the largest granted (the launcher cannot tell functions apart)
    std::vector<CUstream_st *> streams;  // every stream, for the "is anything capturing" checks
    CUstream_st legacy;                  // stream 0 (and cudaStreamLegacy / cudaStreamPerThread)
    unsigned long long next_capture = 1;
    // counters (CUEMU_STATS)
    unsigned long long n_submit = 0, n_captured = 0, n_replayed = 0, n_graph_launch = 0, n_malloc = 0,
                       n_malloc_in_capture = 0, n_capture_fail = 0;
    size_t peak_device = 0;
    bool stats = false, async = false;
    State();
    ~State();
};

void release_quarantine(size_t keep);
void flush(CUstream_st *s, unsigned long long upto);
void flush_all();

size_t parse_bytes(const char *s, size_t dflt) {
    if (!s || !*s) return dflt;
    char *end = nullptr;
    double v = strtod(s, &end);
    if (end == s || v < 0) cuemu::fatal("cannot read a size from \"%s\"", s);
    switch (*end) {
    case 'k': case 'K': v *= 1024.0; break;
    case 'm': case 'M': v *= 1024.0 * 1024; break;
    case 'g': case 'G': v *= 1024.0 * 1024 * 1024; break;
    case 't': case 'T': v *= 1024.0 * 1024 * 1024 * 1024; break;
    default: break;
    }
    return (size_t)v;
}

State::State() {
    total = parse_bytes(getenv("CUEMU_DEVICE_MEMORY"), (size_t)80 << 30);
    quarantine_max = parse_bytes(getenv("CUEMU_QUARANTINE"), (size_t)256 << 20);
    const char *p = getenv("CUEMU_POISON");
    poison = !(p && strcmp(p, "0") == 0);
    const char *sm_env = getenv("CUEMU_SM");
    if (sm_env && *sm_env) sm = atoi(sm_env);
    const char *st = getenv("CUEMU_STATS");
    stats = st && *st && strcmp(st, "0") != 0;
    const char *as = getenv("CUEMU_ASYNC");
    async = as && *as && strcmp(as, "0") != 0;
    legacy.flags = 0;
}

State::~State() {
    // Quarantined blocks go back now (LeakSanitizer checks after static destructors and would
    // report them); blocks still allocated stay reported: device memory a test never freed.
    release_quarantine(0);
    if (stats)
        fprintf(stderr,
                "cuemu: %llu stream ops run at submit, %llu captured, %llu replayed in %llu graph launches; "
                "%llu cudaMalloc (%llu while capturing), peak %zu device bytes, %llu captures failed, %zu bytes "
                "still allocated at exit\n",
                n_submit, n_captured, n_replayed, n_graph_launch, n_malloc, n_malloc_in_capture, peak_device,
                n_capture_fail, live_device);
}

State &S() {
    static State s;
    return s;
}

thread_local cudaError_t last_error = cudaSuccess;

cudaError_t ret(cudaError_t e) {
    if (e != cudaSuccess) last_error = e;
    return e;
}

CUstream_st *stream_of(cudaStream_t s) {
    if (s == nullptr || s == cudaStreamLegacy || s == cudaStreamPerThread) return &S().legacy;
    return s;
}

bool known_stream(cudaStream_t s) {
    if (s == nullptr || s == cudaStreamLegacy || s == cudaStreamPerThread) return true;
    for (CUstream_st *x : S().streams)
        if (x == s) return true;
    return false;
}

bool any_capturing() {
    for (CUstream_st *x : S().streams)
        if (x->capturing) return true;
    return false;
}

bool any_capturing_global() {
    for (CUstream_st *x : S().streams)
        if (x->capturing && x->mode != cudaStreamCaptureModeRelaxed) return true;
    return false;
}

// A call the real runtime refuses while capturing: the capture is invalidated, the call fails.
cudaError_t refuse_in_capture(CUstream_st *only, const char *call, cudaError_t e) {
    State &st = S();
    for (CUstream_st *x : st.streams)
        if (x->capturing && (!only || x == only)) {
            if (!x->invalidated) st.n_capture_fail++;
            x->invalidated = true;
        }
    fprintf(stderr, "cuemu: %s while a stream is capturing a graph: %s (the capture is invalidated)\n", call,
            cudaGetErrorString(e));
    return ret(e);
}

const Block *find_block(uintptr_t a, uintptr_t *start) {
    auto &live = S().live;
    auto it = live.upper_bound(a);
    if (it == live.begin()) return nullptr;
    --it;
    if (a >= it->first + it->second.bytes && !(it->second.bytes == 0 && a == it->first)) return nullptr;
    if (start) *start = it->first;
    return &it->second;
}

bool in_freed(uintptr_t a) {
    auto &freed = S().freed;
    auto it = freed.upper_bound(a);
    if (it == freed.begin()) return false;
    --it;
    return a < it->first + it->second;
}

// Host memory: pinned (cudaMallocHost) or pageable (anything not in the table).
bool is_device(const void *p) {
    const Block *b = find_block((uintptr_t)p, nullptr);
    return b && b->kind == DEVICE;
}

bool is_pinned(const void *p) {
    const Block *b = find_block((uintptr_t)p, nullptr);
    return b && b->kind == PINNED;
}

// cudaMalloc returns at least 256-byte aligned memory. Exactly `bytes` are asked of the host
// allocator, so an AddressSanitizer build reports a kernel reading or writing past the end.
void *alloc_raw(size_t bytes) {
    void *p = nullptr;
    return posix_memalign(&p, 256, bytes ? bytes : 1) == 0 ? p : nullptr;
}

void release_quarantine(size_t keep) {
    State &st = S();
    while (st.quarantined > keep && !st.freed_order.empty()) {
        uintptr_t a = st.freed_order.front();
        st.freed_order.pop_front();
        auto it = st.freed.find(a);
        if (it == st.freed.end()) continue;
        st.quarantined -= it->second;
        st.freed.erase(it);
        free((void *)a);
    }
}

cudaError_t device_alloc(void **p, size_t bytes, const char *call) {
    State &st = S();
    std::lock_guard<std::recursive_mutex> g(st.mu);
    if (!p) return ret(cudaErrorInvalidValue);
    *p = nullptr;
    if (any_capturing_global()) return refuse_in_capture(nullptr, call, cudaErrorStreamCaptureUnsupported);
    if (any_capturing()) st.n_malloc_in_capture++;
    st.n_malloc++;
    size_t rounded = (bytes + 255) & ~(size_t)255;
    if (bytes == 0) return cudaSuccess;  // the real one returns NULL for 0 bytes
    if (st.live_device + rounded > st.total) return ret(cudaErrorMemoryAllocation);
    void *m = alloc_raw(bytes);
    if (!m) {
        release_quarantine(0);
        m = alloc_raw(bytes);
        if (!m) return ret(cudaErrorMemoryAllocation);
    }
    if (st.poison) memset(m, 0xFF, bytes);
    st.freed.erase((uintptr_t)m);  // a quarantined block is never handed out while still listed
    st.live[(uintptr_t)m] = Block{bytes, DEVICE};
    st.live_device += rounded;
    if (st.live_device > st.peak_device) st.peak_device = st.live_device;
    *p = m;
    return cudaSuccess;
}

cudaError_t device_free(void *p, const char *call) {
    State &st = S();
    std::lock_guard<std::recursive_mutex> g(st.mu);
    if (!p) return cudaSuccess;
    if (any_capturing_global()) return refuse_in_capture(nullptr, call, cudaErrorStreamCaptureUnsupported);
    flush_all();  // cudaFree waits for the device
    auto it = st.live.find((uintptr_t)p);
    if (it == st.live.end() || it->second.kind != DEVICE) {
        if (in_freed((uintptr_t)p)) cuemu::fatal("%s(%p): double free (the block was freed before)", call, p);
        if (it != st.live.end()) cuemu::fatal("%s(%p): a pinned host block (cudaFreeHost frees those)", call, p);
        if (find_block((uintptr_t)p, nullptr))
            cuemu::fatal("%s(%p): points into an allocation, not at its start", call, p);
        cuemu::fatal("%s(%p): not a pointer cudaMalloc returned", call, p);
    }
    size_t bytes = it->second.bytes, rounded = (bytes + 255) & ~(size_t)255;
    st.live_device -= rounded;
    st.live.erase(it);
    if (st.poison) memset(p, 0xFF, bytes);
    st.freed[(uintptr_t)p] = bytes;
    st.freed_order.push_back((uintptr_t)p);
    st.quarantined += bytes;
    release_quarantine(st.quarantine_max);
    return cudaSuccess;
}

void check_range(const void *p, size_t bytes, Kind kind, const char *what) {
    if (bytes == 0) return;
    uintptr_t a = (uintptr_t)p, start = 0;
    const Block *b = find_block(a, &start);
    if (!b) {
        if (kind == DEVICE && in_freed(a)) cuemu::fatal("%s: %p is freed device memory (use after free)", what, p);
        if (kind == DEVICE) cuemu::fatal("%s: %p is not device memory (no live cudaMalloc block holds it)", what, p);
        return;  // pageable host memory: nothing known about it
    }
    if (kind == DEVICE && b->kind != DEVICE) cuemu::fatal("%s: %p is pinned host memory, not device memory", what, p);
    if (a + bytes > start + b->bytes)
        cuemu::fatal("%s: [%p, +%zu) runs %zu bytes past the end of its %zu-byte allocation at %p", what, p, bytes,
                     (size_t)(a + bytes - (start + b->bytes)), b->bytes, (void *)start);
}

// What cudaMemcpy's kind says each side is; cudaMemcpyDefault: what the table says.
void check_copy(void *dst, const void *src, size_t n, cudaMemcpyKind kind, const char *call) {
    bool dst_dev, src_dev;
    switch (kind) {
    case cudaMemcpyHostToHost: dst_dev = false, src_dev = false; break;
    case cudaMemcpyHostToDevice: dst_dev = true, src_dev = false; break;
    case cudaMemcpyDeviceToHost: dst_dev = false, src_dev = true; break;
    case cudaMemcpyDeviceToDevice: dst_dev = true, src_dev = true; break;
    case cudaMemcpyDefault: dst_dev = is_device(dst), src_dev = is_device(src); break;
    default: cuemu::fatal("%s: unknown cudaMemcpyKind %d", call, (int)kind);
    }
    char what[96];
    snprintf(what, sizeof what, "%s destination", call);
    if (dst_dev) check_range(dst, n, DEVICE, what);
    else if (is_device(dst)) cuemu::fatal("%s: destination %p is device memory but the kind says host", call, dst);
    else check_range(dst, n, PINNED, what);
    snprintf(what, sizeof what, "%s source", call);
    if (src_dev) check_range(src, n, DEVICE, what);
    else if (is_device(src)) cuemu::fatal("%s: source %p is device memory but the kind says host", call, src);
    else check_range(src, n, PINNED, what);
}

// CUEMU_ASYNC: runs a stream's queued work until `upto` ops of it have run.
void flush(CUstream_st *s, unsigned long long upto) {
    while (s->done < upto && !s->pending.empty()) {
        std::function<void()> w = std::move(s->pending.front());
        s->pending.pop_front();
        s->done++;
        w();
    }
}

void flush_all() {
    State &st = S();
    flush(&st.legacy, st.legacy.pushed);
    for (size_t i = 0; i < st.streams.size(); i++) flush(st.streams[i], st.streams[i]->pushed);
}

double now_ms() {
    using namespace std::chrono;
    return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

// --- the hooks the emulated kernels and the fake cuBLASLt use ------------------------------------

namespace cuemu {

// Runs the work now, or records it while the stream captures; an invalidated capture drops it.
cudaError_t enqueue(cudaStream_t stream, std::function<void()> work) {
    State &st = S();
    {
        std::lock_guard<std::recursive_mutex> g(st.mu);
        if (!known_stream(stream))
            fatal("work submitted to stream %p, which is not a live stream", (void *)stream);
        CUstream_st *s = stream_of(stream);
        if (s->capturing) {
            if (s->invalidated) return cudaErrorStreamCaptureInvalidated;
            st.n_captured++;
            s->nodes.push_back(std::move(work));
            return cudaSuccess;
        }
        st.n_submit++;
        if (st.async) {  // run when something waits for it (flush)
            s->pending.push_back(std::move(work));
            s->pushed++;
            return cudaSuccess;
        }
    }
    work();
    return cudaSuccess;
}

void fatal(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("cuemu: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
    abort();
}

void submit(cudaStream_t stream, std::function<void()> work) { ret(enqueue(stream, std::move(work))); }

void set_last_error(cudaError_t e) { ret(e); }

size_t dyn_smem_limit() {
    std::lock_guard<std::recursive_mutex> g(S().mu);
    return S().smem_max;
}

void check_device(const void *p, size_t bytes, const char *what) {
    std::lock_guard<std::recursive_mutex> g(S().mu);
    check_range(p, bytes, DEVICE, what);
}

}  // namespace cuemu

// --- the runtime API ------------------------------------------------------------------------------

extern "C" {

cudaError_t cudaGetLastError(void) {
    cudaError_t e = last_error;
    last_error = cudaSuccess;
    return e;
}

cudaError_t cudaPeekAtLastError(void) { return last_error; }

const char *cudaGetErrorName(cudaError_t e) {
    switch (e) {
#define N(x) \
    case x: return #x;
        N(cudaSuccess)
        N(cudaErrorInvalidValue)
        N(cudaErrorMemoryAllocation)
        N(cudaErrorInvalidConfiguration)
        N(cudaErrorInvalidDevicePointer)
        N(cudaErrorInvalidMemcpyDirection)
        N(cudaErrorNoDevice)
        N(cudaErrorInvalidDevice)
        N(cudaErrorInvalidResourceHandle)
        N(cudaErrorIllegalState)
        N(cudaErrorNotReady)
        N(cudaErrorIllegalAddress)
        N(cudaErrorLaunchFailure)
        N(cudaErrorLaunchOutOfResources)
        N(cudaErrorInvalidDeviceFunction)
        N(cudaErrorStreamCaptureUnsupported)
        N(cudaErrorStreamCaptureInvalidated)
        N(cudaErrorStreamCaptureMerge)
        N(cudaErrorStreamCaptureUnmatched)
        N(cudaErrorStreamCaptureUnjoined)
        N(cudaErrorStreamCaptureIsolation)
        N(cudaErrorStreamCaptureImplicit)
        N(cudaErrorStreamCaptureWrongThread)
        N(cudaErrorNotSupported)
#undef N
    default: return "cudaErrorUnknown";
    }
}

const char *cudaGetErrorString(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated:
        return "operation failed due to a previous error during capture";
    case cudaErrorStreamCaptureImplicit:
        return "operation would make the legacy stream depend on a capturing blocking stream";
    case cudaErrorStreamCaptureUnmatched: return "capture was not initiated in this stream";
    default: return cudaGetErrorName(e);
    }
}

// --- device --------------------------------------------------------------------------------------

cudaError_t cudaGetDeviceCount(int *count) {
    if (!count) return ret(cudaErrorInvalidValue);
    *count = 1;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
    if (device != 0) return ret(cudaErrorInvalidDevice);
    S().device = device;
    return cudaSuccess;
}

cudaError_t cudaGetDevice(int *device) {
    if (!device) return ret(cudaErrorInvalidValue);
    *device = S().device;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *prop, int device) {
    if (!prop) return ret(cudaErrorInvalidValue);
    if (device != 0) return ret(cudaErrorInvalidDevice);
    memset(prop, 0, sizeof *prop);
    snprintf(prop->name, sizeof prop->name, "cuemu (CPU emulation of sm_%d)", S().sm);
    prop->totalGlobalMem = S().total;
    prop->major = S().sm / 10;
    prop->minor = S().sm % 10;
    prop->multiProcessorCount = 132;
    prop->warpSize = 32;
    prop->maxThreadsPerBlock = 1024;
    prop->maxThreadsDim[0] = prop->maxThreadsDim[1] = 1024, prop->maxThreadsDim[2] = 64;
    prop->maxGridSize[0] = 0x7fffffff, prop->maxGridSize[1] = prop->maxGridSize[2] = 65535;
    prop->sharedMemPerBlock = 48 << 10;
    prop->sharedMemPerBlockOptin = S().sm >= 90 ? 227 << 10 : S().sm >= 80 ? 163 << 10 : 99 << 10;
    prop->regsPerBlock = 65536;
    prop->l2CacheSize = 50 << 20;
    prop->unifiedAddressing = 1;
    return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int *value, enum cudaDeviceAttr attr, int device) {
    if (!value) return ret(cudaErrorInvalidValue);
    if (device != 0) return ret(cudaErrorInvalidDevice);
    cudaDeviceProp p;
    cudaGetDeviceProperties(&p, 0);
    switch (attr) {
    case cudaDevAttrComputeCapabilityMajor: *value = p.major; break;
    case cudaDevAttrComputeCapabilityMinor: *value = p.minor; break;
    case cudaDevAttrMultiProcessorCount: *value = p.multiProcessorCount; break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = (int)p.sharedMemPerBlockOptin; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = (int)p.sharedMemPerBlock; break;
    case cudaDevAttrMaxThreadsPerBlock: *value = p.maxThreadsPerBlock; break;
    case cudaDevAttrWarpSize: *value = p.warpSize; break;
    case cudaDevAttrMaxGridDimX: *value = p.maxGridSize[0]; break;
    case cudaDevAttrMaxGridDimY: *value = p.maxGridSize[1]; break;
    case cudaDevAttrMaxGridDimZ: *value = p.maxGridSize[2]; break;
    default: cuemu::fatal("cudaDeviceGetAttribute(%d): attribute not emulated", (int)attr);
    }
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void) {
    std::lock_guard<std::recursive_mutex> g(S().mu);
    if (any_capturing()) return refuse_in_capture(nullptr, "cudaDeviceSynchronize", cudaErrorStreamCaptureUnsupported);
    flush_all();
    return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total) {
    State &st = S();
    std::lock_guard<std::recursive_mutex> g(st.mu);
    if (free_bytes) *free_bytes = st.total > st.live_device ? st.total - st.live_device : 0;
    if (total) *total = st.total;
    return cudaSuccess;
}

// --- memory --------------------------------------------------------------------------------------

cudaError_t cudaMalloc(void **p, size_t bytes) { return device_alloc(p, bytes, "cudaMalloc"); }

cudaError_t cudaFree(void *p) { return device_free(p, "cudaFree"); }

// Stream-ordered allocation: outside a capture as cudaMalloc / cudaFree (the stream runs at once);
// inside one it would be a graph memory node, which the fake does not model.
cudaError_t cudaMallocAsync(void **p, size_t bytes, cudaStream_t s) {
    if (stream_of(s)->capturing) cuemu::fatal("cudaMallocAsync while capturing: not emulated");
    return device_alloc(p, bytes, "cudaMallocAsync");
}

cudaError_t cudaFreeAsync(void *p, cudaStream_t s) {
    if (stream_of(s)->capturing) cuemu::fatal("cudaFreeAsync while capturing: not emulated");
    return device_free(p, "cudaFreeAsync");
}

cudaError_t cudaMallocHost(void **p, size_t bytes) {
    State &st = S();
    std::lock_guard<std::recursive_mutex> g(st.mu);
    if (!p) return ret(cudaErrorInvalidValue);
    *p = nullptr;
    if (any_capturing_global()) return refuse_in_capture(nullptr, "cudaMallocHost", cudaErrorStreamCaptureUnsupported);
    void *m = alloc_raw(bytes);
    if (!m) return ret(cudaErrorMemoryAllocation);
    st.live[(uintptr_t)m] = Block{bytes, PINNED};
    *p = m;
    return cudaSuccess;
}

cudaError_t cudaHostAlloc(void **p, size_t bytes, unsigned int flags) {
    (void)flags;
    return cudaMallocHost(p, bytes);
}

cudaError_t cudaFreeHost(void *p) {
    State &st = S();
    std::lock_guard<std::recursive_mutex> g(st.mu);
    if (!p) return cudaSuccess;
    if (any_capturing_global()) return refuse_in_capture(nullptr, "cudaFreeHost", cudaErrorStreamCaptureUnsupported);
    flush_all();  // as cudaFree
    auto it = st.live.find((uintptr_t)p);
    if (it == st.live.end() || it->second.kind != PINNED)
        cuemu::fatal("cudaFreeHost(%p): not a live cudaMallocHost block (double free, or device memory)", p);
    st.live.erase(it);
    free(p);
    return cudaSuccess;
}

// Copies and memsets check their ranges when they run (at submit, or at every replay).
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, cudaMemcpyKind kind, cudaStream_t s) {
    State &st = S();
    {
        std::lock_guard<std::recursive_mutex> g(st.mu);
        if (!known_stream(s)) return ret(cudaErrorInvalidResourceHandle);
        check_copy(dst, src, n, kind, "cudaMemcpyAsync");
        CUstream_st *cs = stream_of(s);
        if (cs->capturing && !cs->invalidated) {
            bool host_src = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyHostToHost ||
                            (kind == cudaMemcpyDefault && !is_device(src));
            bool host_dst = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyHostToHost ||
                            (kind == cudaMemcpyDefault && !is_device(dst));
            if ((host_src && !is_pinned(src)) || (host_dst && !is_pinned(dst)))
                return refuse_in_capture(cs, "cudaMemcpyAsync with pageable host memory",
                                         cudaErrorStreamCaptureUnsupported);
        }
    }
    // Pageable host memory is copied at the call as CUDA does (the source staged before it
    // returns, a pageable destination written before it returns); pinned memory is read and
    // written when the copy runs, which CUEMU_ASYNC puts off until something waits for it.
    bool pageable_src, pageable_dst;
    {
        std::lock_guard<std::recursive_mutex> g(st.mu);
        pageable_src = !is_device(src) && !is_pinned(src);
        pageable_dst = !is_device(dst) && !is_pinned(dst);
    }
    cudaError_t e;
    if (pageable_src && st.async) {
        std::vector<unsigned char> staged((const unsigned char *)src, (const unsigned char *)src + n);
        e = cuemu::enqueue(s, [=] {
            {
                std::lock_guard<std::recursive_mutex> g(S().mu);
                check_copy(dst, staged.data(), n, kind, "cudaMemcpyAsync (when it ran)");
            }
            if (n) memmove(dst, staged.data(), n);
        });
    } else {
        e = cuemu::enqueue(s, [=] {
            {
                std::lock_guard<std::recursive_mutex> g(S().mu);
                check_copy(dst, src, n, kind, "cudaMemcpyAsync (when it ran)");
            }
            if (n) memmove(dst, src, n);
        });
    }
    if (e == cudaSuccess && pageable_dst && st.async) {
        std::lock_guard<std::recursive_mutex> g(st.mu);
        CUstream_st *cs = stream_of(s);
        if (!cs->capturing) flush(cs, cs->pushed);
    }
    return ret(e);
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t n, cudaMemcpyKind kind) {
    {
        std::lock_guard<std::recursive_mutex> g(S().mu);
        if (any_capturing()) return refuse_in_capture(nullptr, "cudaMemcpy", cudaErrorStreamCaptureImplicit);
    }
    cudaError_t e = cudaMemcpyAsync(dst, src, n, kind, nullptr);
    std::lock_guard<std::recursive_mutex> g(S().mu);
    flush(&S().legacy, S().legacy.pushed);  // synchronous: done when it returns
    return e;
}

cudaError_t cudaMemsetAsync(void *p, int value, size_t n, cudaStream_t s) {
    {
        std::lock_guard<std::recursive_mutex> g(S().mu);
        if (!known_stream(s)) return ret(cudaErrorInvalidResourceHandle);
        cuemu::check_device(p, n, "cudaMemsetAsync");
    }
    return ret(cuemu::enqueue(s, [=] {
        cuemu::check_device(p, n, "cudaMemsetAsync (when it ran)");
        memset(p, value, n);
    }));
}

cudaError_t cudaMemset(void *p, int value, size_t n) {
    {
        std::lock_guard<std::recursive_mutex> g(S().mu);
        if (any_capturing()) return refuse_in_capture(nullptr, "cudaMemset", cudaErrorStreamCaptureImplicit);
    }
    cudaError_t e = cudaMemsetAsync(p, value, n, nullptr);
    std::lock_guard<std::recursive_mutex> g(S().mu);
    flush(&S().legacy, S().legacy.pushed);
    return e;
}

// --- streams -------------------------------------------------------------------------------------

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned int flags) {
    if (!s) return ret(cudaErrorInvalidValue);
    std::lock_guard<std::recursive_mutex> g(S().mu);
    CUstream_st *x = new CUstream_st;
    x->flags = flags;
    S().streams.push_back(x);
    *s = x;
    return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t *s) { return cudaStreamCreateWithFlags(s, cudaStreamDefault); }

cudaError_t cudaStreamDestroy(cudaStream_t s) {
    std::lock_guard<std::recursive_mutex> g(S().mu);
    auto &v = S().streams;
    for (size_t i = 0; i < v.size(); i++)
        if (v[i] == s) {
            if (s->capturing) cuemu::fatal("cudaStreamDestroy(%p) while it captures a graph", (void *)s);
            flush(s, s->pushed);  // its queued work still completes
            v.erase(v.begin() + (long)i);
            delete s;
            return cudaSuccess;
        }
    cuemu::fatal("cudaStreamDestroy(%p): not a live stream (destroyed twice?)", (void *)s);
}

cudaError_t cudaStreamSynchronize(cudaStream_t s) {
    std::lock_guard<std::recursive_mutex> g(S().mu);
    if (!known_stream(s)) return ret(cudaErrorInvalidResourceHandle);
    CUstream_st *x = stream_of(s);
    if (x->capturing) return refuse_in_capture(x, "cudaStreamSynchronize", cudaErrorStreamCaptureUnsupported);
    if (x == &S().legacy && any_capturing())
        return refuse_in_capture(nullptr, "cudaStreamSynchronize(legacy stream)", cudaErrorStreamCaptureImplicit);
    flush(x, x->pushed);
    return cudaSuccess;
}

cudaError_t cudaStreamQuery(cudaStream_t s) {
    std::lock_guard<std::recursive_mutex> g(S().mu);
    if (!known_stream(s)) return ret(cudaErrorInvalidResourceHandle);
    CUstream_st *x = stream_of(s);
    if (x->capturing) return refuse_in_capture(x, "cudaStreamQuery", cudaErrorStreamCaptureUnsupported);
    flush(x, x->pushed);
    return cudaSuccess;
}

cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned int flags) {
    (void)flags;
    if (!known_stream(s) || !e) return ret(cudaErrorInvalidResourceHandle);
    std::lock_guard<std::recursive_mutex> g(S().mu);
    if (e->stream && known_stream(e->stream) && !e->stream->capturing) flush(e->stream, e->seq);
    return cudaSuccess;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t s, enum cudaStreamCaptureMode mode) {
    State &st = S();
    std::lock_guard<std::recursive_mutex> g(st.mu);
    if (!known_stream(s)) return ret(cudaErrorInvalidResourceHandle);
    CUstream_st *x = stream_of(s);
    if (x == &st.legacy) return ret(cudaErrorStreamCaptureUnsupported);  // the legacy stream cannot capture
    if (x->capturing) return ret(cudaErrorIllegalState);
    x->capturing = true;
    x->invalidated = false;
    x->mode = mode;
    x->capture_id = st.next_capture++;
    x->nodes.clear();
    return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *graph) {
    std::lock_guard<std::recursive_mutex> g(S().mu);
    if (!known_stream(s) || !graph) return ret(cudaErrorInvalidValue);
    CUstream_st *x = stream_of(s);
    *graph = nullptr;
    if (!x->capturing) return ret(cudaErrorIllegalState);
    x->capturing = false;
    std::vector<std::function<void()>> nodes;
    nodes.swap(x->nodes);
    if (x->invalidated) {
        x->invalidated = false;
        return ret(cudaErrorStreamCaptureInvalidated);
    }
    CUgraph_st *gr = new CUgraph_st;
    gr->nodes = std::move(nodes);
    *graph = gr;
    return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t s, enum cudaStreamCaptureStatus *status) {
    std::lock_guard<std::recursive_mutex> g(S().mu);
    if (!known_stream(s) || !status) return ret(cudaErrorInvalidValue);
    CUstream_st *x = stream_of(s);
    *status = !x->capturing ? cudaStreamCaptureStatusNone
              : x->invalidated ? cudaStreamCaptureStatusInvalidated
                               : cudaStreamCaptureStatusActive;
    return cudaSuccess;
}

// --- graphs --------------------------------------------------------------------------------------

cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t graph, unsigned long long flags) {
    (void)flags;
    if (!exec || !graph) return ret(cudaErrorInvalidValue);
    CUgraphExec_st *e = new CUgraphExec_st;
    e->nodes = graph->nodes;  // the executable graph is a copy: destroying the graph keeps it
    *exec = e;
    return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
    if (!graph) return ret(cudaErrorInvalidValue);
    delete graph;
    return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
    if (!exec) return ret(cudaErrorInvalidValue);
    delete exec;
    return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t s) {
    State &st = S();
    {
        std::lock_guard<std::recursive_mutex> g(st.mu);
        if (!exec) return ret(cudaErrorInvalidValue);
        if (!known_stream(s)) return ret(cudaErrorInvalidResourceHandle);
        st.n_graph_launch++;
        st.n_replayed += exec->nodes.size();
    }
    for (const auto &n : exec->nodes) {
        cudaError_t e = cuemu::enqueue(s, n);
        if (e != cudaSuccess) return ret(e);
    }
    return cudaSuccess;
}

// --- events --------------------------------------------------------------------------------------

cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned int flags) {
    if (!e) return ret(cudaErrorInvalidValue);
    CUevent_st *x = new CUevent_st;
    x->flags = flags;
    *e = x;
    return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t *e) { return cudaEventCreateWithFlags(e, cudaEventDefault); }

cudaError_t cudaEventDestroy(cudaEvent_t e) {
    if (!e) return ret(cudaErrorInvalidResourceHandle);
    delete e;
    return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s) {
    std::lock_guard<std::recursive_mutex> g(S().mu);
    if (!e || !known_stream(s)) return ret(cudaErrorInvalidResourceHandle);
    CUstream_st *x = stream_of(s);
    e->recorded = true;
    e->capture_id = x->capturing ? x->capture_id : 0;
    if (!x->capturing) e->ms = now_ms();
    e->stream = x->capturing ? nullptr : x;
    e->seq = x->pushed;
    return cudaSuccess;
}

// Waiting on an event recorded inside a capture that is still under way waits for captured work.
static cudaError_t event_wait(cudaEvent_t e, const char *call) {
    std::lock_guard<std::recursive_mutex> g(S().mu);
    if (!e) return ret(cudaErrorInvalidResourceHandle);
    if (e->capture_id)
        for (CUstream_st *x : S().streams)
            if (x->capturing && x->capture_id == e->capture_id)
                return refuse_in_capture(x, call, cudaErrorStreamCaptureUnsupported);
    // CUEMU_ASYNC: what was queued before the record runs now
    if (e->stream && known_stream(e->stream) && !e->stream->capturing) flush(e->stream, e->seq);
    return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t e) { return event_wait(e, "cudaEventSynchronize"); }

cudaError_t cudaEventQuery(cudaEvent_t e) { return event_wait(e, "cudaEventQuery"); }

cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end) {
    if (!ms || !start || !end) return ret(cudaErrorInvalidValue);
    if ((start->flags | end->flags) & cudaEventDisableTiming) return ret(cudaErrorInvalidResourceHandle);
    if (!start->recorded || !end->recorded) return ret(cudaErrorInvalidResourceHandle);
    *ms = (float)(end->ms - start->ms);
    return cudaSuccess;
}

// --- kernels' attributes: dynamic shared memory beyond 48 KiB must be asked for per function -----

cudaError_t cudaFuncGetAttributes(struct cudaFuncAttributes *attr, const void *func) {
    if (!attr) return ret(cudaErrorInvalidValue);
    if (!func) return ret(cudaErrorInvalidDeviceFunction);
    memset(attr, 0, sizeof *attr);
    attr->maxThreadsPerBlock = 1024;
    attr->numRegs = 64;
    attr->ptxVersion = attr->binaryVersion = S().sm;
    std::lock_guard<std::recursive_mutex> g(S().mu);
    auto it = S().smem_limit.find(func);
    attr->maxDynamicSharedSizeBytes = it == S().smem_limit.end() ? 48 << 10 : it->second;
    return cudaSuccess;
}

cudaError_t cudaFuncSetAttribute(const void *func, enum cudaFuncAttribute attr, int value) {
    if (!func) return ret(cudaErrorInvalidDeviceFunction);
    if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize) return cudaSuccess;  // hints: accepted
    int optin = 0;
    cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0);
    if (value < 0 || value > optin) return ret(cudaErrorInvalidValue);
    std::lock_guard<std::recursive_mutex> g(S().mu);
    S().smem_limit[func] = value;
    if ((size_t)value > S().smem_max) S().smem_max = (size_t)value;
    return cudaSuccess;
}

}  // extern "C"
