// The cuemu scheduler: runs a grid block after block; in a block every CUDA thread is a coroutine
// run until it exits or parks at a barrier, in thread order. A block barrier releases when every
// thread of the block waits at one; a warp barrier when every non-exited lane of the warp waits
// at one. When nothing can run but threads remain, the block is deadlocked (threads exited or
// wait at another kind of barrier): that is reported and aborts.
//
// Stacks ("fibers") are handed out when a thread starts: a thread that exits without parking
// leaves its fiber to the next thread not yet started, on the spot, so a kernel without barriers
// runs a whole block on one stack without a single switch. A fiber is entered the first time with
// setcontext (its stack set up by makecontext) and afterwards with _setjmp/_longjmp, which save no
// signal mask and so make no system call.
#undef _FORTIFY_SOURCE  // its longjmp check rejects jumps between stacks, which is the point here
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "cuemu.h"

// With CUEMU_RACES (the kernels built with -fsanitize=thread, this file without) every CUDA thread is a TSan fiber
// and the barriers are its only happens-before edges, so TSan reports two threads of a block that
// touch the same byte (shared or global memory) between barriers, one of them writing. Switches
// between fibers establish no order themselves (no_sync). Blocks are ordered one after another:
// one block's shared memory is the next one's (a real GPU gives each its own).
// Each thread keeps a stack of its own there (TSan would take two threads' locals at the same
// address for shared data).
#if defined(CUEMU_RACES)
#include <sanitizer/tsan_interface.h>
#define CUEMU_TSAN(...) __VA_ARGS__
constexpr bool kStackPerThread = true;
#else
#define CUEMU_TSAN(...)
constexpr bool kStackPerThread = false;
#endif

// Under AddressSanitizer every switch of stacks is announced, or ASan takes the jump for a huge
// stack frame and warns that false reports may follow.
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define CUEMU_ASAN(...) __VA_ARGS__
#else
#define CUEMU_ASAN(...)
#endif

namespace cuemu {
namespace detail {
thread_local uint3 t_thread_idx, t_block_idx;
thread_local dim3 t_block_dim, t_grid_dim;
}  // namespace detail

namespace {

constexpr size_t kStackBytes = 256 * 1024;  // the kernels' locals are small; the guard page catches more
constexpr int kMaxThreads = 1024;
constexpr size_t kWarpScratchBytes = 64 * 1024;

enum State { RUNNABLE, WAIT_WARP, WAIT_BLOCK, DONE };

struct Fiber {
    char *mem = nullptr;  // guard page, then the stack
    size_t bytes = 0;
    ucontext_t uc;
    jmp_buf ctx;
    bool started = false;
    int index = 0;  // in Sched::fibers
    CUEMU_ASAN(void *fake_stack = nullptr;)
    // TSan sees each CUDA thread as a fiber of its own (thread_tsan below); a stack between two
    // threads is this one (a jmp_buf is found only by the TSan fiber that saved it)
    CUEMU_TSAN(void *tsan_idle = nullptr;)
};

struct Warp {
    int waiting = 0;
    uint32_t exists = 0, live = 0;  // lanes the block has; of those, the ones not exited
    uint64_t slots[2][32];  // shuffles alternate between the two (see shfl_exchange)
    uint32_t shuffle_of[2][32];  // which of its shuffles each lane's slot holds
    char *scratch = nullptr;
};

// One per OS thread that runs grids.
struct Sched {
    std::vector<Fiber *> fibers;
    std::vector<int> idle;  // fibers no thread holds
    Fiber *fiber = nullptr; // the running one
    jmp_buf home;
    const std::function<void()> *body = nullptr;
    const char *name = "";
    int n = 0, cur = -1, done = 0, block_waiting = 0;
    bool freed = false;  // the fiber that returned to the scheduler holds no thread now
    std::vector<State> state;
    std::vector<int> fiber_of;  // per thread: the fiber holding it, -1 before it starts
    std::vector<uint32_t> shuffles;  // per thread: shuffles done in this block
    std::vector<uint3> tid;
    std::vector<Warp> warps;
    std::vector<int> queue;
    size_t qhead = 0;
    char *smem = nullptr;
    size_t smem_cap = 0, smem_bytes = 0;
    CUEMU_TSAN(void *tsan_home = nullptr; std::vector<void *> thread_tsan;)
    CUEMU_ASAN(void *home_fake_stack = nullptr; const void *home_bottom = nullptr; size_t home_size = 0;)
    char block_begin, block_end, block_bar;  // addresses TSan synchronises on
};

thread_local Sched *tl_sched;

[[noreturn]] void die_in_kernel(const char *fmt, const char *arg) {
    Sched *S = tl_sched;
    uint3 b = detail::t_block_idx, t = S->tid[S->cur];
    fprintf(stderr, "cuemu: kernel %s, block (%u,%u,%u), thread (%u,%u,%u): ", S->name, b.x, b.y, b.z, t.x, t.y, t.z);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    abort();
}

Sched *current(const char *what) {
    Sched *S = tl_sched;
    if (!S || S->cur < 0) {
        fprintf(stderr, "cuemu: %s called outside a kernel\n", what);
        abort();
    }
    return S;
}

void release_warp(Sched *S, int w) {
    int base = w * 32;
    for (int i = base; i < base + 32 && i < S->n; i++)
        if (S->state[i] == WAIT_WARP) {
            S->state[i] = RUNNABLE;
            S->queue.push_back(i);
        }
    S->warps[w].waiting = 0;
}

// The bookkeeping after thread t stopped: exited (DONE) or parked at a barrier.
void stopped(Sched *S, int t) {
    Warp &w = S->warps[t / 32];
    switch (S->state[t]) {
    case DONE:
        S->done++;
        w.live &= ~(1u << (t & 31));
        if (w.waiting > 0 && w.waiting == __builtin_popcount(w.live)) release_warp(S, t / 32);
        break;
    case WAIT_WARP:
        if (++w.waiting == __builtin_popcount(w.live)) release_warp(S, t / 32);
        break;
    case WAIT_BLOCK:
        if (++S->block_waiting == S->n) {
            S->block_waiting = 0;
            for (int i = 0; i < S->n; i++) {
                S->state[i] = RUNNABLE;
                S->queue.push_back(i);
            }
        }
        break;
    case RUNNABLE: abort();
    }
}

// Makes t the running thread (on the running fiber, as far as TSan is concerned).
void enter(Sched *S, int t) {
    S->cur = t;
    detail::t_thread_idx = S->tid[t];
    CUEMU_TSAN(__tsan_switch_to_fiber(S->thread_tsan[t], __tsan_switch_to_fiber_no_sync));
}

void to_home(Sched *S, Fiber *f) {
    (void)f;
    CUEMU_TSAN(__tsan_switch_to_fiber(S->tsan_home, __tsan_switch_to_fiber_no_sync));
    CUEMU_ASAN(__sanitizer_start_switch_fiber(&f->fake_stack, S->home_bottom, S->home_size));
    _longjmp(S->home, 1);
}

// On a fiber's stack, just switched to from the scheduler's (which ASan learns here).
void landed(Sched *S, Fiber *f) {
    (void)S, (void)f;
    CUEMU_ASAN(__sanitizer_finish_switch_fiber(f->fake_stack, &S->home_bottom, &S->home_size));
}

void fiber_main() {
    Sched *S = tl_sched;
    Fiber *f = S->fiber;
    landed(S, f);
    for (;;) {
        // run S->cur, then each thread not started yet that is next in the queue, on this stack
        for (;;) {
            int t = S->cur;
            CUEMU_TSAN(__tsan_acquire(&S->block_begin));
            (*S->body)();
            CUEMU_TSAN(__tsan_release(&S->block_end));
            S->state[t] = DONE;
            S->fiber_of[t] = -1;
            stopped(S, t);
            if (kStackPerThread || S->qhead == S->queue.size() || S->fiber_of[S->queue[S->qhead]] >= 0) break;
            int next = S->queue[S->qhead++];
            S->fiber_of[next] = f->index;
            enter(S, next);
        }
        // next in the queue is a parked thread (its own stack) or nothing: give this stack back
        CUEMU_TSAN(__tsan_switch_to_fiber(f->tsan_idle, __tsan_switch_to_fiber_no_sync));
        if (!_setjmp(f->ctx)) {
            S->freed = true;
            to_home(S, f);
        }
        landed(S, f);
        // handed a thread not started yet
        CUEMU_TSAN(__tsan_switch_to_fiber(S->thread_tsan[S->cur], __tsan_switch_to_fiber_no_sync));
    }
}

// Parks the running thread (its state already set) and returns when the scheduler resumes it;
// `sync` is the barrier's address for TSan.
void yield(Sched *S, void *sync) {
    Fiber *f = S->fiber;
    (void)sync;
    CUEMU_TSAN(__tsan_release(sync));
    if (!_setjmp(f->ctx)) to_home(S, f);
    landed(S, f);
    CUEMU_TSAN(__tsan_acquire(sync));
}

Fiber *new_fiber(int index) {
    static const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    Fiber *f = new Fiber;
    f->index = index;
    f->bytes = kStackBytes + page;
    void *m = mmap(nullptr, f->bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED || mprotect(m, page, PROT_NONE) != 0) {
        perror("cuemu: a fiber stack");
        abort();
    }
    f->mem = (char *)m;
    getcontext(&f->uc);
    f->uc.uc_stack.ss_sp = f->mem + page;
    f->uc.uc_stack.ss_size = kStackBytes;
    f->uc.uc_link = nullptr;
    makecontext(&f->uc, fiber_main, 0);
    CUEMU_TSAN(f->tsan_idle = __tsan_create_fiber(0));
    return f;
}

// Runs thread t (not started yet, or parked and released) until it parks, or until its fiber
// runs out of threads not started yet.
void resume(Sched *S, int t) {
    int fi = S->fiber_of[t];
    bool fresh = fi < 0;
    if (fresh && kStackPerThread) {
        while ((int)S->fibers.size() <= t) S->fibers.push_back(new_fiber((int)S->fibers.size()));
        fi = S->fiber_of[t] = t;
    } else if (fresh) {
        if (S->idle.empty()) {
            S->idle.push_back((int)S->fibers.size());
            S->fibers.push_back(new_fiber((int)S->fibers.size()));
        }
        fi = S->idle.back();
        S->idle.pop_back();
        S->fiber_of[t] = fi;
    }
    Fiber *f = S->fibers[fi];
    S->fiber = f;
    S->freed = false;
    S->cur = t;
    detail::t_thread_idx = S->tid[t];
    if (!_setjmp(S->home)) {
        CUEMU_ASAN(__sanitizer_start_switch_fiber(&S->home_fake_stack, f->mem + f->bytes - kStackBytes, kStackBytes));
        if (!f->started) {
            f->started = true;
            CUEMU_TSAN(__tsan_switch_to_fiber(S->thread_tsan[t], __tsan_switch_to_fiber_no_sync));
            setcontext(&f->uc);
            abort();  // setcontext returns only on failure
        }
        CUEMU_TSAN(__tsan_switch_to_fiber(fresh ? f->tsan_idle : S->thread_tsan[t], __tsan_switch_to_fiber_no_sync));
        _longjmp(f->ctx, 1);
    }
    CUEMU_ASAN(__sanitizer_finish_switch_fiber(S->home_fake_stack, nullptr, nullptr));
    if (!S->freed) stopped(S, S->cur);  // S->cur parked (the fiber may have run others before it)
    else if (!kStackPerThread) S->idle.push_back(fi);
}

const char *state_name(State s) {
    switch (s) {
    case WAIT_WARP: return "waits at a warp barrier (__syncwarp / shuffle)";
    case WAIT_BLOCK: return "waits at __syncthreads";
    case DONE: return "has exited";
    default: return "is runnable";
    }
}

[[noreturn]] void report_deadlock(Sched *S) {
    uint3 b = detail::t_block_idx;
    fprintf(stderr, "cuemu: kernel %s, block (%u,%u,%u): deadlock, %d of %d threads exited and the rest wait at "
            "barriers that cannot complete:\n", S->name, b.x, b.y, b.z, S->done, S->n);
    // one line per run of threads in the same state
    for (int i = 0; i < S->n;) {
        int j = i;
        while (j + 1 < S->n && S->state[j + 1] == S->state[i]) j++;
        uint3 t0 = S->tid[i], t1 = S->tid[j];
        fprintf(stderr, "  threads (%u,%u,%u) .. (%u,%u,%u) %s\n", t0.x, t0.y, t0.z, t1.x, t1.y, t1.z,
                state_name(S->state[i]));
        i = j + 1;
    }
    abort();
}

thread_local uint64_t tl_block_serial;

void run_block(Sched *S) {
    tl_block_serial++;
    S->done = S->block_waiting = 0;
    S->queue.clear();
    S->qhead = 0;
    for (int i = 0; i < S->n; i++) {
        S->state[i] = RUNNABLE;
        S->fiber_of[i] = -1;
        S->shuffles[i] = 0;
        S->queue.push_back(i);
    }
    for (size_t w = 0; w < S->warps.size(); w++) {
        S->warps[w].waiting = 0;
        S->warps[w].live = S->warps[w].exists;
        memset(S->warps[w].shuffle_of, 0xff, sizeof S->warps[w].shuffle_of);
    }
    if (S->smem_bytes) memset(S->smem, 0xff, S->smem_bytes);
    CUEMU_TSAN(__tsan_release(&S->block_begin));
    while (S->qhead < S->queue.size()) {
        resume(S, S->queue[S->qhead++]);
        if (S->qhead == S->queue.size()) {
            S->queue.clear();
            S->qhead = 0;
        }
    }
    S->cur = -1;
    if (S->done != S->n) report_deadlock(S);
    CUEMU_TSAN(__tsan_acquire(&S->block_end));
}

void run_grid(dim3 grid, dim3 block, size_t smem, const std::function<void()> &body, const char *name) {
    if (!tl_sched) tl_sched = new Sched;
    Sched *S = tl_sched;
    if (S->cur >= 0) {
        fprintf(stderr, "cuemu: kernel %s launched from inside kernel %s\n", name, S->name);
        abort();
    }
    int n = (int)(block.x * block.y * block.z);
    S->n = n;
    S->body = &body;
    S->name = name;
    S->state.assign(n, RUNNABLE);
    S->fiber_of.assign(n, -1);
    S->shuffles.assign(n, 0);
    S->tid.resize(n);
    for (int i = 0; i < n; i++)
        S->tid[i] = make_uint3(i % block.x, (i / block.x) % block.y, i / (block.x * block.y));
    CUEMU_TSAN(if (!S->tsan_home) S->tsan_home = __tsan_get_current_fiber();
               while ((int)S->thread_tsan.size() < n) S->thread_tsan.push_back(__tsan_create_fiber(0));)
    int nw = (n + 31) / 32;
    if ((int)S->warps.size() < nw) S->warps.resize(nw);
    for (int w = 0; w < (int)S->warps.size(); w++) {
        Warp &wp = S->warps[w];
        wp.exists = w < nw ? (n - 32 * w >= 32 ? 0xffffffffu : (1u << (n - 32 * w)) - 1) : 0;
        // here rather than at the first warp_scratch(): allocated before the block starts, as
        // far as a race detector can tell
        if (!wp.scratch && !(wp.scratch = (char *)aligned_alloc(128, kWarpScratchBytes))) abort();
    }
    if (smem > S->smem_cap) {
        free(S->smem);
        S->smem = (char *)aligned_alloc(128, (smem + 127) & ~(size_t)127);
        if (!S->smem) abort();
        S->smem_cap = smem;
    }
    S->smem_bytes = smem;
    detail::t_block_dim = block;
    detail::t_grid_dim = grid;
    for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
            for (unsigned x = 0; x < grid.x; x++) {
                detail::t_block_idx = make_uint3(x, y, z);
                run_block(S);
            }
    S->body = nullptr;
}

}  // namespace

// The last launch asked for (name, grid, block), whether it ran or not: tests check which kernel
// a launcher picked at a given shape and how many blocks it asked for (cuemu_last_launch).
static std::mutex g_last_mu;
static const char *g_last_name = "";
static dim3 g_last_grid, g_last_block;
static std::map<std::string, long> g_launches;  // launches asked for, by label

void launch(dim3 grid, dim3 block, size_t smem, cudaStream_t s, std::function<void()> body, const char *name) {
    {
        std::lock_guard<std::mutex> lock(g_last_mu);
        g_last_name = name, g_last_grid = grid, g_last_block = block;
        g_launches[name]++;
    }
    uint64_t threads = (uint64_t)block.x * block.y * block.z;
    if (grid.x == 0 || grid.y == 0 || grid.z == 0 || threads == 0 || threads > kMaxThreads || block.z > 64 ||
        grid.x > 0x7fffffffu || grid.y > 65535 || grid.z > 65535) {
        set_last_error(cudaErrorInvalidConfiguration);
        return;
    }
    if (smem > dyn_smem_limit()) {
        set_last_error(cudaErrorInvalidValue);
        return;
    }
    submit(s, [grid, block, smem, body = std::move(body), name]() { run_grid(grid, block, smem, body, name); });
}

}  // namespace cuemu

// The label of the last kernel launch (its name as written before <<<, template arguments
// included) and its grid and block sizes.
extern "C" const char *cuemu_last_launch(unsigned grid[3], unsigned block[3]) {
    std::lock_guard<std::mutex> lock(cuemu::g_last_mu);
    if (grid) grid[0] = cuemu::g_last_grid.x, grid[1] = cuemu::g_last_grid.y, grid[2] = cuemu::g_last_grid.z;
    if (block) block[0] = cuemu::g_last_block.x, block[1] = cuemu::g_last_block.y, block[2] = cuemu::g_last_block.z;
    return cuemu::g_last_name;
}

// How many launches of kernel `label` were asked for so far (in this process).
extern "C" long cuemu_launch_count(const char *label) {
    std::lock_guard<std::mutex> lock(cuemu::g_last_mu);
    auto it = cuemu::g_launches.find(label);
    return it == cuemu::g_launches.end() ? 0 : it->second;
}

// 1 in the race-detecting build of the scheduler: a test can check that it got that one.
extern "C" int cuemu_detects_races(void) { return CUEMU_TSAN(1 +) 0; }

namespace cuemu {

void *dyn_smem() {
    Sched *S = current("dyn_smem");
    return S->smem_bytes ? S->smem : nullptr;
}

void block_barrier() {
    Sched *S = current("__syncthreads");
    S->state[S->cur] = WAIT_BLOCK;
    yield(S, &S->block_bar);
}

void warp_barrier() {
    Sched *S = current("a warp barrier");
    S->state[S->cur] = WAIT_WARP;
    yield(S, &S->warps[S->cur / 32]);
}

int lane() { return current("lane")->cur & 31; }

uint64_t block_serial() {
    current("block_serial");
    return tl_block_serial;
}

void *warp_scratch() {
    Sched *S = current("warp_scratch");
    return S->warps[S->cur / 32].scratch;
}

namespace detail {

void check_mask(unsigned mask, const char *what) {
    Sched *S = current(what);
    uint32_t live = S->warps[S->cur / 32].live;
    if ((mask & live) != live) {
        char buf[96];
        snprintf(buf, sizeof buf, "%s with mask %08x leaves out live lanes %08x", what, mask, live & ~mask);
        die_in_kernel("%s (cuemu runs whole-warp masks only)", buf);
    }
}

// One warp barrier per shuffle: consecutive shuffles use the two slot arrays in turn, and a lane
// writes one array again only after the next shuffle's barrier, which every live lane reaches
// after reading this one's value.
uint64_t shfl_exchange(unsigned mask, uint64_t bits, int src, const char *what) {
    Sched *S = current(what);
    check_mask(mask, what);
    Warp &w = S->warps[S->cur / 32];
    uint32_t k = S->shuffles[S->cur]++;
    uint64_t *slot = w.slots[k & 1];
    uint32_t *of = w.shuffle_of[k & 1];
    slot[S->cur & 31] = bits;
    of[S->cur & 31] = k;
    warp_barrier();
    // the source lane put its value here in this same shuffle (it may have exited since)
    if (src < 0 || src > 31 || of[src] != k) {
        char buf[96];
        snprintf(buf, sizeof buf, "%s reads lane %d, which %s", what, src,
                 src < 0 || src > 31 || !(w.exists >> src & 1) ? "the block does not have" : "has exited");
        die_in_kernel("%s (an undefined value on a GPU)", buf);
    }
    return slot[src];
}

}  // namespace detail
}  // namespace cuemu
