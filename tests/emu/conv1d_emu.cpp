// Host emulation runtime for the CUDA conv1d kernels: the fiber scheduler behind
// tests/emu/conv1d_emu.h, the few CUDA runtime calls the kernels' launchers make, and the
// harness helpers of kernels/conv1d_cuda.h (alloc, copies, timing) for "device" memory that is
// host memory with guard pages. See conv1d_emu.h for what is and is not checked.
#include "conv1d_emu.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../../kernels/conv1d_cuda.h"

// A minimal x86-64 context switch (callee-saved registers only): glibc's swapcontext makes a
// sigprocmask system call per switch, which made the emulation ~50x slower.
extern "C" void gpt_emu_switch(void** save_sp, void* load_sp);
asm(R"(
.text
.globl gpt_emu_switch
.type gpt_emu_switch,@function
gpt_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
.size gpt_emu_switch,.-gpt_emu_switch
.section .note.GNU-stack,"",@progbits
.text
)");

namespace gpt_emu {
namespace {

constexpr size_t kStack = 128 * 1024;

struct Fiber {
  void* sp = nullptr;
  char* stack = nullptr;
  Dim3 tid;
  int lane = 0, warp = 0;
  bool done = false;
  bool started = false;
  const char* waiting = nullptr;  // what it waits for, for deadlock reports
};

struct Worker {
  std::vector<Fiber> f;
  std::vector<std::unique_ptr<char[]>> stacks;
  void* sched_sp = nullptr;
  Fiber* cur = nullptr;
  Dim3 bid, bdim, gdim;
  std::vector<float> smem;
  const std::function<void()>* body = nullptr;
  int live = 0;
  // block barrier
  int bar_arrived = 0;
  uint64_t bar_gen = 0;
  // warp barriers
  std::vector<int> w_size, w_live, w_arrived;
  std::vector<uint64_t> w_gen;
  std::vector<std::array<unsigned char, 16>> slot;  // one per thread
  uint64_t events = 0;
};

thread_local Worker* W = nullptr;
const Dim3 kZero{};

void yield() {
  Fiber* f = W->cur;
  gpt_emu_switch(&f->sp, W->sched_sp);
}

void release_block_if_ready() {
  if (W->bar_arrived > 0 && W->bar_arrived == W->live) {
    W->bar_arrived = 0;
    ++W->bar_gen;
    ++W->events;
  }
}

void release_warp_if_ready(int w) {
  if (W->w_arrived[w] > 0 && W->w_arrived[w] == W->w_live[w]) {
    W->w_arrived[w] = 0;
    ++W->w_gen[w];
    ++W->events;
  }
}

void fiber_entry() {
  (*W->body)();
  Fiber* f = W->cur;
  f->done = true;
  --W->live;
  --W->w_live[f->warp];
  ++W->events;
  release_block_if_ready();
  release_warp_if_ready(f->warp);
  gpt_emu_switch(&f->sp, W->sched_sp);
  fail("a finished fiber was resumed");
}

void fiber_start(Fiber& f) {
  auto* sp = reinterpret_cast<uintptr_t*>((reinterpret_cast<uintptr_t>(f.stack) + kStack) & ~uintptr_t(15));
  *--sp = 0;                                                  // fiber_entry's return address
  *--sp = reinterpret_cast<uintptr_t>(&fiber_entry);          // where gpt_emu_switch returns
  for (int i = 0; i < 6; ++i) *--sp = 0;                      // rbp rbx r12-r15
  f.sp = sp;
}

void warp_barrier(unsigned mask) {
  Fiber* f = W->cur;
  const int w = f->warp;
  const unsigned full = W->w_size[w] == 32 ? 0xffffffffu : ((1u << W->w_size[w]) - 1u);
  if ((mask & full) != full) fail("warp operation with a partial mask (not emulated)");
  if (W->w_live[w] != W->w_size[w]) fail("warp operation while lanes of the warp have exited");
  const uint64_t g = W->w_gen[w];
  ++W->w_arrived[w];
  ++W->events;
  release_warp_if_ready(w);
  f->waiting = "a warp shuffle/__syncwarp";
  while (W->w_gen[w] == g) yield();
  f->waiting = nullptr;
}

void run_block(unsigned b, Dim3 shape, size_t smem_bytes) {
  Worker& w = *W;
  const unsigned block = shape.x * shape.y * shape.z;
  w.bid = Dim3{b, 0, 0};
  w.f.assign(block, Fiber{});
  if (w.stacks.size() < block)
    for (size_t i = w.stacks.size(); i < block; ++i) w.stacks.emplace_back(new char[kStack]);
  const int nwarps = int((block + 31) / 32);
  w.w_size.assign(size_t(nwarps), 0);
  for (unsigned t = 0; t < block; ++t) ++w.w_size[t / 32];
  w.w_live = w.w_size;
  w.w_arrived.assign(size_t(nwarps), 0);
  w.w_gen.assign(size_t(nwarps), 0);
  w.slot.assign(block, {});
  w.live = int(block);
  w.bar_arrived = 0;
  w.bar_gen = 0;
  // Dynamic shared memory starts as NaN, so a read of an element nobody wrote shows up.
  w.smem.assign((smem_bytes + 3) / 4 + 1, std::nanf(""));
  for (unsigned t = 0; t < block; ++t) {
    Fiber& f = w.f[t];
    f.tid = Dim3{t % shape.x, (t / shape.x) % shape.y, t / (shape.x * shape.y)};
    f.lane = int(t % 32);
    f.warp = int(t / 32);
    f.stack = w.stacks[t].get();
    fiber_start(f);
  }
  int done = 0;
  while (done < int(block)) {
    const uint64_t before = w.events;
    done = 0;
    for (unsigned t = 0; t < block; ++t) {
      Fiber& f = w.f[t];
      if (f.done) { ++done; continue; }
      if (!f.started) { f.started = true; ++w.events; }
      w.cur = &f;
      gpt_emu_switch(&w.sched_sp, f.sp);
      w.cur = nullptr;
      if (f.done) ++done;
    }
    if (done < int(block) && w.events == before) {
      for (unsigned t = 0; t < block; ++t)
        if (!w.f[t].done)
          std::fprintf(stderr, "emu: block %u thread %u waits at %s\n", b, t,
                       w.f[t].waiting ? w.f[t].waiting : "?");
      fail("deadlock: a barrier can never complete (divergent __syncthreads or shuffle?)");
    }
  }
}

int workers() {
  static const int n = [] {
    const char* e = std::getenv("GPT_EMU_THREADS");
    int v = e ? std::atoi(e) : 2;
    return std::max(1, std::min(v, 64));
  }();
  return n;
}

}  // namespace

const Dim3& thread_idx() { return W && W->cur ? W->cur->tid : kZero; }
const Dim3& block_idx() { return W->bid; }
const Dim3& block_dim() { return W->bdim; }
const Dim3& grid_dim() { return W->gdim; }
float* dynamic_smem() { return W->smem.data(); }
int lane_id() { return W->cur->lane; }

void fail(const char* what) {
  if (W && W->cur)
    std::fprintf(stderr, "emu: FAIL in block %u thread %u: %s\n", W->bid.x, W->cur->tid.x, what);
  else
    std::fprintf(stderr, "emu: FAIL: %s\n", what);
  std::fflush(stderr);
  std::abort();
}

void check_align(const void* p, size_t bytes) {
  if (reinterpret_cast<uintptr_t>(p) % bytes != 0) fail("misaligned vector access");
}

void sync_block() {
  Fiber* f = W->cur;
  const uint64_t g = W->bar_gen;
  ++W->bar_arrived;
  ++W->events;
  release_block_if_ready();
  f->waiting = "__syncthreads";
  while (W->bar_gen == g) yield();
  f->waiting = nullptr;
}

void sync_warp(unsigned mask) { warp_barrier(mask); }

void warp_exchange(const void* in, void* out, size_t bytes, unsigned mask,
                   int (*src_of)(int, int), int arg) {
  Fiber* f = W->cur;
  const int base = f->warp * 32;
  std::memcpy(W->slot[size_t(base + f->lane)].data(), in, bytes);
  warp_barrier(mask);  // everyone has deposited
  int src = src_of(f->lane, arg);
  if (src < 0 || src >= 32) src = f->lane;  // shfl_up/down past the edge: own value
  if (src >= W->w_size[size_t(f->warp)]) fail("shuffle from a lane that does not exist");
  std::memcpy(out, W->slot[size_t(base + src)].data(), bytes);
  warp_barrier(mask);  // everyone has read before the slots are reused
}

void run_grid(unsigned grid, Dim3 block, size_t smem, const std::function<void()>& body) {
  const int nw = std::min<int>(workers(), int(grid));
  std::vector<std::thread> th;
  std::atomic<unsigned> next{0};
  auto work = [&] {
    Worker w;
    W = &w;
    w.body = &body;
    w.bdim = block;
    w.gdim = Dim3{grid, 1, 1};
    for (unsigned b; (b = next.fetch_add(1)) < grid;) run_block(b, block, smem);
    W = nullptr;
  };
  for (int i = 1; i < nw; ++i) th.emplace_back(work);
  work();
  for (auto& t : th) t.join();
}

}  // namespace gpt_emu

// ---- the CUDA runtime calls made by the launchers ------------------------------------------
extern "C" {
cudaError_t cudaGetLastError(void) { return cudaSuccess; }
const char* cudaGetErrorString(cudaError_t) { return "emulated CUDA error"; }
cudaError_t cudaMemsetAsync(void* p, int v, size_t n, cudaStream_t) {
  std::memset(p, v, n);
  return cudaSuccess;
}
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int) {
  if (attr == cudaDevAttrMultiProcessorCount) {
    const char* e = std::getenv("GPT_EMU_SMS");
    *value = e ? std::atoi(e) : 132;
    return cudaSuccess;
  }
  *value = 0;
  return cudaErrorInvalidValue;
}
}

// ---- harness helpers of kernels/conv1d_cuda.h ----------------------------------------------
namespace gpt::conv1d::cuda {

namespace {
// "Device" buffers: the data ends flush with a PROT_NONE page where the size is a multiple of
// 256 (cudaMalloc's alignment); the slack before it holds a canary that release() checks.
struct Alloc { void* map; size_t map_bytes; size_t slack; };
std::mutex g_mu;
std::map<void*, Alloc> g_allocs;
constexpr unsigned char kCanary = 0xA5;
}  // namespace

bool device_ok(std::string*) { return true; }
std::string device_summary() { return "host emulation (GPT_CONV1D_EMULATE), not a GPU"; }

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) raise_error(std::string("CUDA error in ") + what);
}
void check_launch(const char*) {}

void* alloc(size_t bytes) {
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  const size_t data = (std::max<size_t>(bytes, 1) + 255) / 256 * 256;
  const size_t body = (data + page - 1) / page * page;
  const size_t total = body + 2 * page;
  void* m = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) raise_error("emu: mmap failed");
  char* base = static_cast<char*>(m);
  mprotect(base, page, PROT_NONE);
  mprotect(base + page + body, page, PROT_NONE);
  char* p = base + page + body - data;
  std::memset(p, 0xFF, data);
  std::memset(p + bytes, kCanary, data - bytes);
  std::lock_guard<std::mutex> lk(g_mu);
  g_allocs[p] = Alloc{m, total, data - bytes};
  return p;
}

void release(void* p) {
  Alloc a;
  {
    std::lock_guard<std::mutex> lk(g_mu);
    auto it = g_allocs.find(p);
    if (it == g_allocs.end()) gpt_emu::fail("release of an unknown pointer");
    a = it->second;
    g_allocs.erase(it);
  }
  const char* page_end = static_cast<char*>(a.map) + a.map_bytes - size_t(sysconf(_SC_PAGESIZE));
  for (const char* q = page_end - a.slack; q < page_end; ++q)
    if (static_cast<unsigned char>(*q) != kCanary) gpt_emu::fail("a kernel wrote past the end of a buffer");
  munmap(a.map, a.map_bytes);
}

void to_device(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
void to_host(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
void fill_bytes(void* p, int value, size_t bytes) { std::memset(p, value, bytes); }

std::vector<double> time_runs(const std::function<void()>& fn, int warmup, int iters,
                              double max_seconds, bool) {
  // One run each: emulation times say nothing about a GPU.
  (void)warmup; (void)iters; (void)max_seconds;
  auto t0 = std::chrono::steady_clock::now();
  fn();
  auto t1 = std::chrono::steady_clock::now();
  return {std::chrono::duration<double, std::milli>(t1 - t0).count()};
}

double copy_ms(size_t bytes, int) {
  std::vector<char> a(bytes, 1), b(bytes);
  auto t0 = std::chrono::steady_clock::now();
  std::memcpy(b.data(), a.data(), bytes);
  auto t1 = std::chrono::steady_clock::now();
  return std::max(1e-6, std::chrono::duration<double, std::milli>(t1 - t0).count());
}

}  // namespace gpt::conv1d::cuda
