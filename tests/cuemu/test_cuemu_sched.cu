// The cuemu scheduler's self-test, written as a kernel source (cuemu_prep.py rewrites it like
// kernels/*.cu): built-in variables, block and warp barriers, shuffles, dynamic shared memory,
// launch errors as CUDA reports them, and the deadlock / bad-shuffle reports (in forked children).
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

static int failures = 0;
#define EXPECT(cond, ...)                                                   \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
            failures++;                                                     \
        }                                                                   \
    } while (0)

// --- built-in variables over a 3-D grid of 3-D blocks ---------------------------------------------
__global__ void k_ids(int *out) {
    int t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    int b = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
    int nt = blockDim.x * blockDim.y * blockDim.z;
    out[b * nt + t] = b * 10000 + t;
}

static void test_ids() {
    dim3 g(3, 2, 2), b(5, 4, 3);
    std::vector<int> out(12 * 60, -1);
    k_ids<<<g, b>>>(out.data());
    EXPECT(cudaGetLastError() == cudaSuccess, "launch");
    int bad = 0;
    for (int i = 0; i < 12 * 60; i++) bad += out[i] != (i / 60) * 10000 + i % 60;
    EXPECT(bad == 0, "%d of %d thread/block indices wrong", bad, 12 * 60);
}

// --- __syncthreads: a rotation through shared memory needs every write before any read --------
__global__ void k_rotate(const int *in, int *out, int rounds) {
    __shared__ int buf[1024];
    int n = blockDim.x, t = threadIdx.x;
    int v = in[blockIdx.x * n + t];
    for (int r = 0; r < rounds; r++) {
        buf[t] = v;
        __syncthreads();
        v = buf[(t + 1) % n];
        __syncthreads();  // every read of this round before the next round's writes
    }
    out[blockIdx.x * n + t] = v;
}

static void test_block_barrier() {
    for (int n : {1, 80, 256, 1024}) {
        int blocks = 3, rounds = 5;
        std::vector<int> in(blocks * n), out(blocks * n, -1);
        for (int i = 0; i < blocks * n; i++) in[i] = i * 7 + 1;
        k_rotate<<<blocks, n>>>(in.data(), out.data(), rounds);
        int bad = 0;
        for (int b = 0; b < blocks; b++)
            for (int t = 0; t < n; t++) bad += out[b * n + t] != in[b * n + (t + rounds) % n];
        EXPECT(bad == 0, "block of %d: %d values wrong", n, bad);
    }
}

// --- shuffles -----------------------------------------------------------------------------------
__global__ void k_shuffles(int *out) {
    int t = threadIdx.x, l = t & 31;
    int *o = out + t * 6;
    o[0] = __shfl_xor_sync(0xffffffffu, 100 + t, 5);
    o[1] = __shfl_down_sync(0xffffffffu, 100 + t, 3);
    o[2] = __shfl_up_sync(0xffffffffu, 100 + t, 2, 16);
    o[3] = __shfl_sync(0xffffffffu, 100 + t, 7, 8);
    float s = (float)l;
    for (int m = 16; m > 0; m >>= 1) s += __shfl_xor_sync(0xffffffffu, s, m);
    o[4] = (int)s;
    double d = __shfl_sync(0xffffffffu, (double)t * 0.5, 31 - l);
    o[5] = (int)(d * 2.0);
}

static void test_shuffles() {
    const int n = 64;
    std::vector<int> out(n * 6, -1);
    k_shuffles<<<1, n>>>(out.data());
    int bad = 0;
    for (int t = 0; t < n; t++) {
        int l = t & 31, w = t - l;
        int want[6] = {100 + w + (l ^ 5), 100 + (l + 3 < 32 ? t + 3 : t), 100 + ((l & 15) >= 2 ? t - 2 : t),
                       100 + w + (l & ~7) + 7, 496, w + 31 - l};
        for (int k = 0; k < 6; k++)
            if (out[t * 6 + k] != want[k]) {
                if (bad++ < 5) fprintf(stderr, "  thread %d shuffle %d: %d, want %d\n", t, k, out[t * 6 + k], want[k]);
            }
    }
    EXPECT(bad == 0, "%d shuffle results wrong", bad);
}

// --- warp barrier, lane, warp scratch: a warp exchanges through its scratch ----------------------
__global__ void k_warp_scratch(int *out, unsigned long long *ptrs) {
    int *s = (int *)cuemu::warp_scratch();
    int l = cuemu::lane();
    s[l] = threadIdx.x * 3;
    __syncwarp();
    out[threadIdx.x] = s[31 - l];
    ptrs[threadIdx.x] = (unsigned long long)(uintptr_t)s;
}

static void test_warp_scratch() {
    std::vector<int> out(96, -1);
    std::vector<unsigned long long> p(96);
    k_warp_scratch<<<1, 96>>>(out.data(), p.data());
    int bad = 0;
    for (int t = 0; t < 96; t++) bad += out[t] != ((t & ~31) + 31 - (t & 31)) * 3;
    EXPECT(bad == 0, "%d exchanged values wrong", bad);
    EXPECT(p[0] == p[31] && p[32] == p[63] && p[0] != p[32] && p[32] != p[64], "one scratch per warp");
}

// --- early exit: warp barriers count only the live lanes ----------------------------------------
__global__ void k_partial_warp(int *out) {
    int t = threadIdx.x;
    if (t >= 20 && t < 40) return;  // lanes 20-31 of warp 0 and 0-7 of warp 1
    int v = __shfl_xor_sync(0xffffffffu, t, 1);
    out[t] = v;
}

static void test_partial_warp() {
    std::vector<int> out(64, -1);
    k_partial_warp<<<1, 64>>>(out.data());
    int bad = 0;
    for (int t = 0; t < 64; t++) bad += out[t] != ((t >= 20 && t < 40) ? -1 : (t ^ 1));
    EXPECT(bad == 0, "%d values wrong", bad);
}

// --- stacks change hands: threads exit at different points while others wait at barriers -------
__global__ void k_staggered(int *out) {
    int t = threadIdx.x, rounds = t % 7, acc = t;
    if (t % 3 == 0) {  // a third exit at once, handing their stack to the next thread
        out[blockIdx.x * blockDim.x + t] = -t;
        return;
    }
    for (int r = 0; r < rounds; r++) {
        acc = acc * 3 + r;
        __syncwarp();  // only the live lanes count
    }
    out[blockIdx.x * blockDim.x + t] = acc;
}

static void test_staggered() {
    const int n = 200, blocks = 3;
    std::vector<int> out(blocks * n, 12345);
    k_staggered<<<blocks, n>>>(out.data());
    int bad = 0;
    for (int b = 0; b < blocks; b++)
        for (int t = 0; t < n; t++) {
            int want = t;
            if (t % 3 == 0) want = -t;
            else
                for (int r = 0; r < t % 7; r++) want = want * 3 + r;
            bad += out[b * n + t] != want;
        }
    EXPECT(bad == 0, "%d values wrong", bad);
}

// --- dynamic shared memory: poisoned at each block start, sized per launch -----------------------
__global__ void k_dyn(float *out, int n) {
    extern __shared__ __align__(16) float dyn[];
    if (threadIdx.x == 0) out[blockIdx.x * 3] = dyn[n - 1];  // never written: NaN
    __syncthreads();
    for (int i = threadIdx.x; i < n; i += blockDim.x) dyn[i] = (float)(i + blockIdx.x);
    __syncthreads();
    if (threadIdx.x == 0) {
        float s = 0.0f;
        for (int i = 0; i < n; i++) s += dyn[i];
        out[blockIdx.x * 3 + 1] = s;
        out[blockIdx.x * 3 + 2] = (float)((uintptr_t)dyn % 128);
    }
}

static void test_dyn_smem() {
    const int n = 3000;
    std::vector<float> out(6, 0.0f);
    k_dyn<<<2, 128, n * sizeof(float)>>>(out.data(), n);
    EXPECT(cudaGetLastError() == cudaSuccess, "launch");
    for (int b = 0; b < 2; b++) {
        EXPECT(out[b * 3] != out[b * 3], "block %d: unwritten dynamic shared memory reads %g, not NaN", b, out[b * 3]);
        EXPECT(out[b * 3 + 1] == (float)(n * (n - 1) / 2 + b * n), "block %d: sum %g", b, out[b * 3 + 1]);
        EXPECT(out[b * 3 + 2] == 0.0f, "alignment");
    }
}

// --- launch errors: as CUDA reports them, nothing run, and cleared by cudaGetLastError -----------
__global__ void k_mark(int *p) {
    if (threadIdx.x == 0) p[0] = 1;
}
__global__ void k_big(int *p) {
    if (threadIdx.x == 0) p[0] = 2;
}

static void test_launch_errors() {
    int mark = 0;
    EXPECT(cudaGetLastError() == cudaSuccess, "no error to begin with");
    k_mark<<<0, 32>>>(&mark);
    EXPECT(cudaGetLastError() == cudaErrorInvalidConfiguration, "grid of 0 blocks");
    EXPECT(cudaGetLastError() == cudaSuccess, "cudaGetLastError clears the error");
    k_mark<<<1, 1025>>>(&mark);
    EXPECT(cudaPeekAtLastError() == cudaErrorInvalidConfiguration, "1025 threads");
    EXPECT(cudaGetLastError() == cudaErrorInvalidConfiguration, "peek leaves the error");
    k_mark<<<1, dim3(32, 32, 2)>>>(&mark);
    EXPECT(cudaGetLastError() == cudaErrorInvalidConfiguration, "2048 threads");
    k_mark<<<dim3(1, 65536), 1>>>(&mark);
    EXPECT(cudaGetLastError() == cudaErrorInvalidConfiguration, "grid.y over 65535");
    EXPECT(mark == 0, "a failed launch ran");
    k_big<<<1, 32, 64 * 1024>>>(&mark);
    EXPECT(cudaGetLastError() == cudaErrorInvalidValue, "64 KiB of dynamic shared memory without opting in");
    EXPECT(mark == 0, "a failed launch ran");
    EXPECT(cudaFuncSetAttribute(k_big, cudaFuncAttributeMaxDynamicSharedMemorySize, 300 * 1024) == cudaErrorInvalidValue,
           "beyond the device's opt-in limit");
    cudaGetLastError();  // a runtime call that fails is also the last error (CUDA's rule)
    EXPECT(cudaFuncSetAttribute(k_big, cudaFuncAttributeMaxDynamicSharedMemorySize, 64 * 1024) == cudaSuccess, "opt in");
    cudaFuncAttributes fa;
    EXPECT(cudaFuncGetAttributes(&fa, k_big) == cudaSuccess && fa.maxDynamicSharedSizeBytes == 64 * 1024, "attribute");
    k_big<<<1, 32, 64 * 1024>>>(&mark);
    EXPECT(cudaGetLastError() == cudaSuccess && mark == 2, "64 KiB after opting in");
    k_mark<<<1, 1024>>>(&mark);
    EXPECT(cudaGetLastError() == cudaSuccess && mark == 1, "1024 threads");
}

// --- what must abort: run in a child, its stderr checked -----------------------------------------
__global__ void k_exit_before_barrier(int *p) {
    if (threadIdx.x == 37) return;
    __syncthreads();
    p[threadIdx.x] = 1;
}
__global__ void k_mixed_barriers(int *p) {
    if (threadIdx.x < 16) __syncwarp();
    else __syncthreads();
    p[threadIdx.x] = 1;
}
__global__ void k_shfl_from_exited(int *p) {
    if (threadIdx.x == 3) return;
    p[threadIdx.x] = __shfl_sync(0xffffffffu, (int)threadIdx.x, 3);
}
__global__ void k_shfl_past_block(int *p) {
    // a 48-thread block: lanes 16-31 of warp 1 do not exist, xor 16 reads them
    p[threadIdx.x] = __shfl_xor_sync(0xffffffffu, (int)threadIdx.x, 16);
}
__global__ void k_partial_mask(int *p) {
    if (threadIdx.x < 8) p[threadIdx.x] = __shfl_sync(0xffu, (int)threadIdx.x, 0);
}

// Runs f in a child; its wait status, its stderr in *text.
template <typename F>
static int run_child(F f, std::string *text) {
    int fd[2];
    if (pipe(fd) != 0) return -1;
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 2);
        close(fd[0]);
        f();
        _exit(0);
    }
    close(fd[1]);
    char buf[512];
    ssize_t k;
    while ((k = read(fd[0], buf, sizeof buf)) > 0) text->append(buf, (size_t)k);
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

// true when f, in a child, aborted with `want` in its stderr
template <typename F>
static bool aborts_with(F f, const char *want) {
    std::string text;
    int status = run_child(f, &text);
    bool ok = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && text.find(want) != std::string::npos;
    if (!ok) fprintf(stderr, "  child's status %d, its stderr:\n%s\n", status, text.c_str());
    return ok;
}

#ifdef CUEMU_RACES
// --- under ThreadSanitizer: a race between barriers is reported, barriers order what they should --
__global__ void k_racy(int *out) {
    __shared__ int buf[64];
    buf[threadIdx.x] = (int)threadIdx.x;
    out[threadIdx.x] = buf[(threadIdx.x + 1) % 64];  // no __syncthreads between the write and the read
}

static void test_races() {
    static int p[64];
    std::string text;
    int status = run_child([] { k_racy<<<1, 64>>>(p); }, &text);
    // (the exit status is TSan's exitcode only when TSAN_OPTIONS has halt_on_error=1, as ctest's)
    bool ok = text.find("ThreadSanitizer: data race") != std::string::npos &&
              text.find("k_racy") != std::string::npos;
    EXPECT(ok, "a missing __syncthreads is reported (status %d):\n%s", status, text.c_str());
}
#endif

static void test_reports() {
    static int p[1024];
    EXPECT(aborts_with([] { k_exit_before_barrier<<<2, 64>>>(p); },
                       "kernel k_exit_before_barrier, block (0,0,0): deadlock"),
           "a thread exits while the others wait at __syncthreads");
    EXPECT(aborts_with([] { k_exit_before_barrier<<<2, 64>>>(p); }, "threads (37,0,0) .. (37,0,0) has exited"),
           "the report names the thread");
    EXPECT(aborts_with([] { k_mixed_barriers<<<1, 32>>>(p); }, "waits at a warp barrier"),
           "half a warp at __syncwarp, half at __syncthreads");
    EXPECT(aborts_with([] { k_shfl_from_exited<<<1, 32>>>(p); }, "reads lane 3, which has exited"),
           "a shuffle from an exited lane");
    EXPECT(aborts_with([] { k_shfl_past_block<<<1, 48>>>(p); }, "reads lane 16, which the block does not have"),
           "a shuffle from a lane past the block's end");
    EXPECT(aborts_with([] { k_partial_mask<<<1, 32>>>(p); }, "leaves out live lanes ffffff00"), "a partial mask");
    EXPECT(aborts_with([] { __syncthreads(); }, "outside a kernel"), "a barrier outside a kernel");
    std::string text;
    int status = run_child([] { k_rotate<<<1, 64>>>(p, p + 512, 1); }, &text);
    EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a good kernel in a child: status %d", status);
}

int main() {
    test_ids();
    test_block_barrier();
    test_shuffles();
    test_warp_scratch();
    test_partial_warp();
    test_staggered();
    test_dyn_smem();
    test_launch_errors();
    test_reports();
#ifdef CUEMU_RACES
    test_races();
#endif
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("cuemu scheduler: all checks passed\n");
    return 0;
}
