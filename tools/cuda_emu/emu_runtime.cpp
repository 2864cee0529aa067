// CUDA emulator runtime: device memory with guard pages and canaries, streams/events, the block scheduler
// (one fiber per CUDA thread, barriers and warp collectives checked), cuBLAS SGEMM, CUB radix sort, and
// stream capture into graphs that replay the recorded work.
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "emu_cuda.h"

EMU_API uint3 threadIdx;
EMU_API uint3 blockIdx;
EMU_API dim3 blockDim;
EMU_API dim3 gridDim;

struct CUstream_st {
  unsigned flags = 0;
  // Stream capture (cudaStreamBeginCapture .. cudaStreamEndCapture): work issued to the stream is
  // appended to `graph` instead of running.
  bool capturing = false;
  bool invalidated = false;  // a forbidden call or a failed operation ended the capture's validity
  int mode = 0;              // cudaStreamCaptureMode
  std::thread::id thread;    // the thread that began the capture
  CUgraph_st* graph = nullptr;
};
// One recorded operation: its description and a closure holding its arguments by value.
struct CUgraphNode_st {
  std::string what;
  std::function<cudaError_t()> run;
};
struct CUgraph_st {
  std::vector<std::shared_ptr<CUgraphNode_st>> nodes;
};
struct CUgraphExec_st {
  std::vector<std::shared_ptr<CUgraphNode_st>> nodes;  // shared with the graph: nodes never change
};
struct CUevent_st {
  std::chrono::steady_clock::time_point t;
  bool recorded;
};
struct cublasContext {
  cudaStream_t stream;
  cublasMath_t math;
  cublasPointerMode_t pointer_mode;
  // cublasSetWorkspace's buffer; null = cuBLAS's own pool (the state after cublasCreate and after every
  // cublasSetStream, which resets the workspace unconditionally).
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
};
struct cublasLtContext {
  int unused;
};

namespace emu {
namespace {

// ------------------------------------------------------------------------------------------------
// Configuration (environment) and error reporting.

constexpr size_t kSmemDefault = 48 * 1024;      // per-block shared memory without an opt-in attribute
constexpr size_t kSmemOptinMax = 227 * 1024;    // sm_90 opt-in maximum
constexpr size_t kTotalMemory = size_t(80) << 30;
constexpr size_t kStackBytes = 256 * 1024;      // per emulated thread
constexpr unsigned char kPoison = 0xFF;         // fresh device and shared memory: NaN floats, -1 ints
constexpr unsigned char kCanary = 0xFD;         // slack around allocations and after dynamic shared memory
constexpr size_t kSmemGuard = 256;
constexpr size_t kMaxParamBytes = 32764;        // kernel parameter space (CUDA 12.1+, sm_70+)

// Thread order of a block between barriers: a result that depends on it reveals a race. Forward and
// Reverse advance all threads phase by phase in opposite orders; Warps runs one warp at a time as far as
// its own collectives allow (ascending; WarpsReverse descending), so a warp overtakes the others and
// exposes a missing __syncthreads between warps that a lock-step order hides.
enum class Order { Forward, Reverse, Random, Warps, WarpsReverse };

struct Config {
  Order order = Order::Forward;
  unsigned seed = 1;
  bool protect = true;       // device memory is inaccessible to host code outside runtime calls
  bool all_fibers = false;   // run barrier-free kernels on fibers too
  bool abort_on_error = false;
  bool no_device = false;
  bool verbose = false;
  bool stats = false;
  Config() {
    if (const char* o = std::getenv("CUVI_EMU_ORDER")) {
      const std::string s = o;
      if (s == "reverse") order = Order::Reverse;
      if (s == "warps") order = Order::Warps;
      if (s == "warps-reverse") order = Order::WarpsReverse;
      if (s.rfind("random", 0) == 0) {
        order = Order::Random;
        if (s.size() > 7) seed = unsigned(std::strtoul(s.c_str() + 7, nullptr, 10));
      }
    }
    auto flag = [](const char* name, bool dflt) {
      const char* v = std::getenv(name);
      return v ? std::strcmp(v, "0") != 0 : dflt;
    };
    protect = flag("CUVI_EMU_PROTECT", true);
    all_fibers = flag("CUVI_EMU_ALL_FIBERS", false);
    abort_on_error = flag("CUVI_EMU_ABORT", false);
    no_device = flag("CUVI_EMU_NO_DEVICE", false);
    verbose = flag("CUVI_EMU_VERBOSE", false);
    stats = flag("CUVI_EMU_STATS", false);
  }
};
Config& config() {
  static Config c;
  return c;
}

std::recursive_mutex g_mu;          // one emulated device: every runtime call is serialised
cudaError_t g_last_error = cudaSuccess;
long g_error_count = 0;

std::string vformat(const char* fmt, va_list ap) {
  char buf[2048];
  vsnprintf(buf, sizeof buf, fmt, ap);
  return buf;
}
std::string format(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::string s = vformat(fmt, ap);
  va_end(ap);
  return s;
}

// Reports a detected fault and returns `code` (also stored as the last error).
int g_expect_faults = 0;  // > 0: the emulator's own tests provoke faults on purpose

// `sets_last_error`: false for faults of the libraries (cuBLAS, CUB), which return their own status and
// leave cudaGetLastError() alone.
cudaError_t report(cudaError_t code, const std::string& what, bool sets_last_error = true) {
  if (g_expect_faults) {
    std::fprintf(stderr, "[cuda-emu] expected fault: %s\n", what.c_str());
  } else {
    ++g_error_count;
    std::fprintf(stderr, "[cuda-emu] error: %s\n", what.c_str());
    if (config().abort_on_error) std::abort();
  }
  std::fflush(stderr);
  if (sets_last_error) g_last_error = code;
  return code;
}

struct ExitReport {
  ~ExitReport() {
    if (g_error_count) std::fprintf(stderr, "[cuda-emu] %ld error(s) reported in this process\n", g_error_count);
  }
} g_exit_report;

// ------------------------------------------------------------------------------------------------
// Device memory: one mapping per allocation, [front slack | payload | back slack] + a PROT_NONE guard
// page. The payload ends on a 256-byte boundary just before the guard page, so an overrun past the
// rounded size faults at once; smaller overruns and underruns hit canaries checked after every call.
// Outside runtime calls and kernels every allocation is PROT_NONE (host code cannot read device
// memory); inside, an allocation is opened on its first access (SIGSEGV handler) and closed at the end,
// so the cost follows the allocations a call touches, not the number alive.

size_t page_size() {
  static const size_t p = size_t(sysconf(_SC_PAGESIZE));
  return p;
}
size_t round_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

struct Alloc {
  char* map;
  size_t span;  // accessible bytes from map (payload + slack); the guard page follows
  char* ptr;
  size_t size;
  long id;
  bool open;    // readable and writable now
};
std::map<uintptr_t, Alloc> g_allocs;  // by payload address
size_t g_allocated = 0;
long g_alloc_ids = 0;
int g_scope = 0;  // > 0: inside a runtime call or a kernel, device memory accessible

// The live allocation whose payload [ptr, ptr + size] contains p (the end address included).
const Alloc* find_alloc(const void* p) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  auto it = g_allocs.upper_bound(a);
  if (it == g_allocs.begin()) return nullptr;
  --it;
  const Alloc& al = it->second;
  return a <= reinterpret_cast<uintptr_t>(al.ptr) + al.size ? &al : nullptr;
}
// The allocation whose mapping (payload, slack and guard page) contains p (fault handling).
Alloc* find_mapping(const void* p) {
  const char* c = static_cast<const char*>(p);
  for (auto& kv : g_allocs)
    if (c >= kv.second.map && c < kv.second.map + kv.second.span + page_size()) return &kv.second;
  return nullptr;
}
bool is_device(const void* p) { return p && find_alloc(p) != nullptr; }
// [p, p + bytes) lies inside one live allocation.
bool device_range(const void* p, size_t bytes) {
  const Alloc* a = find_alloc(p);
  if (!a) return false;
  return static_cast<const char*>(p) + bytes <= a->ptr + a->size;
}
std::string describe_ptr(const void* p) {
  if (!p) return "null";
  const Alloc* a = find_alloc(p);
  if (a)
    return format("%p (offset %zu of device allocation #%ld of %zu bytes)", p,
                  size_t(static_cast<const char*>(p) - a->ptr), a->id, a->size);
  return format("%p (not device memory: a host pointer or freed memory)", p);
}

// Allocations opened in the current scope (written by the SIGSEGV handler: no allocation there).
constexpr int kMaxOpen = 1 << 14;
Alloc* g_open[kMaxOpen];
int g_n_open = 0;

void close_alloc(Alloc& a) {
  mprotect(a.map, a.span, PROT_NONE);
  a.open = false;
}
void forget_open(const Alloc* a) {
  for (int i = 0; i < g_n_open; ++i)
    if (g_open[i] == a) g_open[i] = g_open[--g_n_open];
}

// Marks a runtime call or a launch: device memory may be opened for its duration.
struct DeviceScope {
  DeviceScope() { ++g_scope; }
  ~DeviceScope() {
    if (--g_scope == 0 && config().protect) {
      for (int i = 0; i < g_n_open; ++i) close_alloc(*g_open[i]);
      g_n_open = 0;
    }
  }
};

// True when [p, p + n) holds only canary bytes.
bool all_canary(const char* p, size_t n) {
  static char block[4096];
  static bool init = (std::memset(block, kCanary, sizeof block), true);
  (void)init;
  while (n) {
    const size_t k = std::min(n, sizeof block);
    if (std::memcmp(p, block, k) != 0) return false;
    p += k;
    n -= k;
  }
  return true;
}

// Checks the canaries of an allocation; names the culprit (inside a DeviceScope).
bool check_alloc_canaries(const Alloc& a, const char* culprit) {
  {
    char* end = a.map + a.span;
    if (all_canary(a.map, size_t(a.ptr - a.map)) && all_canary(a.ptr + a.size, size_t(end - (a.ptr + a.size))))
      return true;
    long off = 0;
    for (const char* c = a.map; c < end; ++c)
      if ((c < a.ptr || c >= a.ptr + a.size) && static_cast<unsigned char>(*c) != kCanary) {
        off = c < a.ptr ? -long(a.ptr - c) : long(c - a.ptr);
        break;
      }
    report(cudaErrorIllegalAddress, format("%s wrote outside device allocation #%ld (%zu bytes) at byte offset %ld",
                                           culprit, a.id, a.size, off));
    // Restore, so that one overrun is reported once.
    std::memset(a.map, kCanary, size_t(a.ptr - a.map));
    std::memset(a.ptr + a.size, kCanary, size_t(end - (a.ptr + a.size)));
    return false;
  }
}

// Checks every allocation the current scope could have written: the opened ones (all when unprotected).
bool check_canaries(const char* culprit) {
  bool ok = true;
  if (config().protect) {
    for (int i = 0; i < g_n_open; ++i) ok = check_alloc_canaries(*g_open[i], culprit) && ok;
  } else {
    for (auto& kv : g_allocs) ok = check_alloc_canaries(kv.second, culprit) && ok;
  }
  return ok;
}

// Host addresses a struct argument must not carry: the heap, the calling thread's stack, and the
// writable segments of the executable and its libraries (static data).
struct HostRanges {
  std::vector<std::pair<uintptr_t, uintptr_t>> rw;  // [lo, hi) from /proc/self/maps
  uintptr_t heap_lo = 0;
  HostRanges() {
    if (FILE* f = std::fopen("/proc/self/maps", "r")) {
      char line[512];
      while (std::fgets(line, sizeof line, f)) {
        unsigned long lo = 0, hi = 0;
        char perms[8] = {};
        int path = 0;
        if (std::sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &lo, &hi, perms, &path) < 3) continue;
        const std::string name = path ? std::string(line + path) : std::string();
        if (name.rfind("[heap]", 0) == 0) heap_lo = lo;
        else if (perms[1] == 'w' && !name.empty() && name[0] == '/') rw.emplace_back(lo, hi);
      }
      std::fclose(f);
    }
  }
};
thread_local std::pair<uintptr_t, uintptr_t> t_stack{0, 0};

bool is_host_data(const void* p) {
  static const HostRanges ranges;
  const uintptr_t v = reinterpret_cast<uintptr_t>(p);
  if (v < 4096 || is_device(p)) return false;
  if (ranges.heap_lo && v >= ranges.heap_lo && v < reinterpret_cast<uintptr_t>(sbrk(0))) return true;
  for (auto& r : ranges.rw)
    if (v >= r.first && v < r.second) return true;
  if (!t_stack.second) {
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
      void* base = nullptr;
      size_t size = 0;
      pthread_attr_getstack(&attr, &base, &size);
      t_stack = {reinterpret_cast<uintptr_t>(base), reinterpret_cast<uintptr_t>(base) + size};
      pthread_attr_destroy(&attr);
    }
  }
  return v >= t_stack.first && v < t_stack.second;
}

// ------------------------------------------------------------------------------------------------
// Streams, events, handles.

std::set<cudaStream_t> g_streams;
std::set<cudaEvent_t> g_events;
std::set<cublasHandle_t> g_cublas;
std::set<cublasLtHandle_t> g_cublaslt;
std::map<const void*, int> g_func_max_dynamic_smem;

bool valid_stream(cudaStream_t s) {
  return s == nullptr || s == cudaStreamLegacy || s == cudaStreamPerThread || g_streams.count(s);
}

// ------------------------------------------------------------------------------------------------
// Stream capture. A capturing stream records kernels, copies, memsets, GEMMs and sorts (arguments by value)
// into its graph. Calls that synchronise with the host or allocate are forbidden while a capture is under way
// (Global mode: from any thread; ThreadLocal: from the capturing thread; Relaxed: allowed), and so is
// synchronising the capturing stream itself in any mode; each such call returns
// cudaErrorStreamCaptureUnsupported and invalidates the capture, as on the hardware.

std::set<cudaStream_t> g_capturing;
std::set<cudaGraph_t> g_graphs;
std::set<cudaGraphExec_t> g_execs;
std::map<uintptr_t, size_t> g_pinned;  // page-locked host allocations: address -> bytes
long g_graph_launches = 0, g_graph_nodes_run = 0;

// The capture that records work issued to s, or null when s runs its work now.
cudaStream_t capture_of(cudaStream_t s) {
  return s && g_streams.count(s) && s->capturing ? s : nullptr;
}

// A call that synchronises with the host or allocates (cudaMalloc, cudaMemcpy, ...).
cudaError_t forbidden_in_capture(const std::string& what) {
  for (cudaStream_t c : g_capturing) {
    if (c->mode == cudaStreamCaptureModeRelaxed) continue;
    if (c->mode == cudaStreamCaptureModeThreadLocal && c->thread != std::this_thread::get_id()) continue;
    c->invalidated = true;
    return report(cudaErrorStreamCaptureUnsupported,
                  format("%s while stream %p is capturing a graph: the call synchronises or allocates, which a "
                         "capture forbids (the capture is invalidated)",
                         what.c_str(), static_cast<void*>(c)));
  }
  return cudaSuccess;
}

// Work on the legacy default stream waits for every blocking stream, so it may not touch a capture.
cudaError_t legacy_touches_capture(cudaStream_t s, const std::string& what) {
  if (s != nullptr && s != cudaStreamLegacy) return cudaSuccess;
  for (cudaStream_t c : g_capturing)
    if (!(c->flags & cudaStreamNonBlocking)) {
      c->invalidated = true;
      return report(cudaErrorStreamCaptureImplicit,
                    format("%s on the legacy default stream while blocking stream %p is capturing (an implicit "
                           "dependency on the capture; the capture is invalidated)",
                           what.c_str(), static_cast<void*>(c)));
    }
  return cudaSuccess;
}

// Appends an operation to capture c (whose arguments `run` holds by value).
cudaError_t record_node(cudaStream_t c, const std::string& what, std::function<cudaError_t()> run) {
  if (c->invalidated) {
    g_last_error = cudaErrorStreamCaptureInvalidated;
    return cudaErrorStreamCaptureInvalidated;
  }
  c->graph->nodes.push_back(std::make_shared<CUgraphNode_st>(CUgraphNode_st{what, std::move(run)}));
  static const bool print_nodes = std::getenv("CUVI_EMU_PRINT_GRAPH") != nullptr;  // which launches a graph holds
  if (print_nodes) std::fprintf(stderr, "[cuda-emu] graph node %zu: %s\n", c->graph->nodes.size(), what.c_str());
  return cudaSuccess;
}

// [p, p + bytes) lies in one page-locked host allocation.
bool is_pinned(const void* p, size_t bytes) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  auto it = g_pinned.upper_bound(a);
  if (it == g_pinned.begin()) return false;
  --it;
  return a + bytes <= it->first + it->second;
}

// ------------------------------------------------------------------------------------------------
// Block scheduler. Kernels that use barriers or warp collectives run one fiber (ucontext) per CUDA
// thread: each runs until it reaches a barrier/collective or exits, then the scheduler releases the
// barrier once every live thread waits there. Barrier-free kernels run thread after thread directly.

enum ThreadState : int { kReady, kAtBarrier, kAtWarp, kDone };

struct Slot {
  ucontext_t uc;
  int state;
  const char* file;
  int line;
  int op;
  unsigned mask;
  int arg, width, bytes;
  uint64_t val, res;
};

struct Abort {};  // unwinds a directly executed kernel after a reported fault

struct LaunchState {
  const KernelInfo* info = nullptr;
  bool fibers = false;
  unsigned nthreads = 0;
  void (*thunk)(void*) = nullptr;
  void* ctx = nullptr;
  size_t smem = 0;            // dynamic shared bytes
  size_t smem_limit = kSmemDefault;
  bool failed = false;
  cudaError_t code = cudaSuccess;
  std::string error;          // first fault of the launch
};

bool g_in_kernel = false;
LaunchState g_launch;
std::vector<Slot> g_slots;
std::vector<char*> g_stacks;
ucontext_t g_sched;
int g_cur = -1;
std::vector<unsigned> g_thread_order;

struct Site {
  int site;
  const char* file;
  size_t off, bytes;
};
std::vector<Site> g_sites;
std::vector<char> g_static_smem(kSmemOptinMax);
size_t g_static_used = 0;
std::vector<char> g_dyn_smem;

struct KernelStats {
  long launches = 0;
  double threads = 0, seconds = 0;
  unsigned max_block = 0;  // most threads per block of any launch
  std::string file;
};
std::map<std::string, KernelStats> g_stats;

struct StatsReport {
  ~StatsReport() {
    // CUVI_EMU_LAUNCH_LOG=path: "kernel file max_threads_per_block" per kernel launched, for
    // check_resources.py (register use from ptxas against the block sizes actually launched).
    if (const char* path = std::getenv("CUVI_EMU_LAUNCH_LOG"))
      if (FILE* f = std::fopen(path, "a")) {
        for (auto& e : g_stats) std::fprintf(f, "%s %s %u\n", e.first.c_str(), e.second.file.c_str(), e.second.max_block);
        std::fclose(f);
      }
    if (!config().stats || g_stats.empty()) return;
    if (g_graph_launches)
      std::fprintf(stderr, "[cuda-emu] %ld graph launches ran %ld recorded operations\n", g_graph_launches,
                   g_graph_nodes_run);
    std::vector<std::pair<std::string, KernelStats>> v(g_stats.begin(), g_stats.end());
    std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.second.seconds > b.second.seconds; });
    double total = 0;
    for (auto& e : v) total += e.second.seconds;
    std::fprintf(stderr, "[cuda-emu] kernel time %.2f s\n", total);
    for (auto& e : v)
      std::fprintf(stderr, "[cuda-emu] %-40s %8ld launches %12.0f threads %8.3f s\n", e.first.c_str(),
                   e.second.launches, e.second.threads, e.second.seconds);
  }
} g_stats_report;

std::string where() {
  if (!g_in_kernel) return "host code";
  return format("kernel %s (%s:%d) block (%u,%u,%u) thread (%u,%u,%u)", g_launch.info->name, g_launch.info->file,
                g_launch.info->line, blockIdx.x, blockIdx.y, blockIdx.z, threadIdx.x, threadIdx.y, threadIdx.z);
}

void set_thread_index(unsigned t) {
  threadIdx.x = t % blockDim.x;
  threadIdx.y = (t / blockDim.x) % blockDim.y;
  threadIdx.z = t / (blockDim.x * blockDim.y);
}

// Records the first fault of the launch; the launch then stops.
void fault(cudaError_t code, const std::string& what) {
  if (g_launch.failed) return;
  g_launch.failed = true;
  g_launch.code = code;
  g_launch.error = what;
}

// Leaves the current emulated thread for good after a fault.
[[noreturn]] void abandon_thread() {
  if (g_launch.fibers) {
    g_slots[g_cur].state = kDone;
    swapcontext(&g_slots[g_cur].uc, &g_sched);  // never resumed
    std::abort();
  }
  throw Abort{};
}

void yield_to_scheduler(int me) { swapcontext(&g_slots[me].uc, &g_sched); }

void fiber_main() {
  const int me = g_cur;
  try {
    g_launch.thunk(g_launch.ctx);
  } catch (const Abort&) {
  } catch (const std::exception& e) {
    fault(cudaErrorLaunchFailure, where() + ": exception in kernel code: " + e.what());
  } catch (...) {
    fault(cudaErrorLaunchFailure, where() + ": exception in kernel code");
  }
  g_slots[me].state = kDone;
  // Returning resumes g_sched (uc_link).
}

char* stack_for(unsigned t) {
  while (g_stacks.size() <= t) {
    const size_t pg = page_size();
    void* m = mmap(nullptr, kStackBytes + pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (m == MAP_FAILED) {
      std::fprintf(stderr, "[cuda-emu] cannot map a thread stack\n");
      std::abort();
    }
    mprotect(m, pg, PROT_NONE);  // overflow faults instead of corrupting the neighbour
    g_stacks.push_back(static_cast<char*>(m) + pg);
  }
  return g_stacks[t];
}

// Completes the collectives of warp w0 / 32 whose participants have all arrived. Returns whether any did.
bool resolve_warp(unsigned w0) {
  bool progressed = false;
  const unsigned n = g_launch.nthreads;
  {
    const unsigned lanes = std::min(32u, n - w0);
    for (unsigned i = 0; i < lanes; ++i) {
      Slot& lead = g_slots[w0 + i];
      if (lead.state != kAtWarp) continue;
      const unsigned mask = lead.mask;
      bool complete = true;
      unsigned active = 0;  // lanes that take part (named in mask, not exited)
      for (unsigned j = 0; j < lanes; ++j) {
        if (!(mask >> j & 1u)) continue;
        const Slot& s = g_slots[w0 + j];
        if (s.state == kDone) continue;
        if (s.state != kAtWarp) {
          complete = false;
          break;
        }
        if (s.mask != mask || s.op != lead.op || std::strcmp(s.file, lead.file) != 0 || s.line != lead.line ||
            s.width != lead.width) {
          fault(cudaErrorLaunchFailure,
                format("kernel %s block (%u,%u,%u): lanes %u and %u of warp %u are in different warp collectives "
                       "(%s:%d mask %08x vs %s:%d mask %08x); all lanes named in a mask must execute the same "
                       "intrinsic with the same mask",
                       g_launch.info->name, blockIdx.x, blockIdx.y, blockIdx.z, i, j, w0 / 32, lead.file, lead.line,
                       lead.mask, s.file, s.line, s.mask));
          return false;
        }
        active |= 1u << j;
      }
      if (!complete) continue;
      const int width = lead.width;
      uint64_t poison = ~uint64_t(0);
      if (lead.bytes < 8) poison &= (uint64_t(1) << (8 * lead.bytes)) - 1;
      uint64_t ballot = 0;
      for (unsigned j = 0; j < lanes; ++j)
        if (active >> j & 1u) ballot |= uint64_t(g_slots[w0 + j].val != 0) << j;
      for (unsigned j = 0; j < lanes; ++j) {
        if (!(active >> j & 1u)) continue;
        Slot& s = g_slots[w0 + j];
        const int base = int(j) & ~(width - 1);
        int src = int(j);
        switch (s.op) {
          case kShflIdx: src = base + (s.arg & (width - 1)); break;
          case kShflUp: src = int(j) - s.arg < base ? int(j) : int(j) - s.arg; break;
          case kShflDown: src = int(j) + s.arg >= base + width ? int(j) : int(j) + s.arg; break;
          case kShflXor: src = (int(j) ^ s.arg) >= base + width ? int(j) : (int(j) ^ s.arg); break;
          default: break;
        }
        switch (s.op) {
          case kShflIdx:
          case kShflUp:
          case kShflDown:
          case kShflXor:
            // Reading a lane that does not take part is undefined: poison (NaN) makes any use visible.
            s.res = (src >= 0 && src < 32 && (active >> src & 1u)) ? g_slots[w0 + src].val : poison;
            break;
          case kBallot: s.res = ballot; break;
          case kAny: s.res = ballot != 0; break;
          case kAll: s.res = ballot == active; break;
          default: s.res = 0; break;
        }
        s.state = kReady;
      }
      progressed = true;
    }
  }
  return progressed;
}

bool resolve_warps() {
  bool progressed = false;
  for (unsigned w0 = 0; w0 < g_launch.nthreads && !g_launch.failed; w0 += 32) progressed |= resolve_warp(w0);
  return progressed;
}

// Releases the block barrier once every live thread waits at it. Returns whether it did.
bool resolve_barrier() {
  const unsigned n = g_launch.nthreads;
  unsigned at = 0, done = 0;
  for (unsigned t = 0; t < n; ++t) {
    at += g_slots[t].state == kAtBarrier;
    done += g_slots[t].state == kDone;
  }
  if (at == 0 || at + done != n) return false;
  const Slot* first = nullptr;
  for (unsigned t = 0; t < n; ++t)
    if (g_slots[t].state == kAtBarrier) {
      first = &g_slots[t];
      break;
    }
  if (done) {
    fault(cudaErrorLaunchFailure,
          format("kernel %s block (%u,%u,%u): __syncthreads at %s:%d is reached by %u threads while %u threads of "
                 "the block have already exited (a barrier must be reached by every thread of the block)",
                 g_launch.info->name, blockIdx.x, blockIdx.y, blockIdx.z, first->file, first->line, at, done));
    return false;
  }
  long count = 0;
  for (unsigned t = 0; t < n; ++t) {
    const Slot& s = g_slots[t];
    if (std::strcmp(s.file, first->file) != 0 || s.line != first->line) {
      fault(cudaErrorLaunchFailure,
            format("kernel %s block (%u,%u,%u): threads wait at different barriers (%s:%d and %s:%d, thread %u)",
                   g_launch.info->name, blockIdx.x, blockIdx.y, blockIdx.z, first->file, first->line, s.file, s.line,
                   t));
      return false;
    }
    count += s.val != 0;
  }
  for (unsigned t = 0; t < n; ++t) {
    Slot& s = g_slots[t];
    switch (s.op) {
      case kBarCount: s.res = uint64_t(count); break;
      case kBarAnd: s.res = count == long(n); break;
      case kBarOr: s.res = count != 0; break;
      default: s.res = 0; break;
    }
    s.state = kReady;
  }
  return true;
}

std::string describe_states() {
  std::map<std::string, unsigned> groups;
  for (unsigned t = 0; t < g_launch.nthreads; ++t) {
    const Slot& s = g_slots[t];
    std::string k = s.state == kDone       ? "exited"
                    : s.state == kAtBarrier ? format("at __syncthreads %s:%d", s.file, s.line)
                    : s.state == kAtWarp    ? format("at a warp collective %s:%d (mask %08x)", s.file, s.line, s.mask)
                                            : "running";
    ++groups[k];
  }
  std::string r;
  for (auto& g : groups) r += format("%s%u threads %s", r.empty() ? "" : "; ", g.second, g.first.c_str());
  return r;
}

void run_block_fibers() {
  const unsigned n = g_launch.nthreads;
  if (g_slots.size() < n) g_slots.resize(n);
  for (unsigned t = 0; t < n; ++t) {
    Slot& s = g_slots[t];
    s.state = kReady;
    getcontext(&s.uc);
    s.uc.uc_stack.ss_sp = stack_for(t);
    s.uc.uc_stack.ss_size = kStackBytes;
    s.uc.uc_link = &g_sched;
    makecontext(&s.uc, fiber_main, 0);
  }
  auto run = [](unsigned t) {
    if (g_slots[t].state != kReady) return;
    g_cur = int(t);
    set_thread_index(t);
    swapcontext(&g_sched, &g_slots[t].uc);
  };
  const bool warp_serial = config().order == Order::Warps || config().order == Order::WarpsReverse;
  const unsigned n_warps = (n + 31) / 32;
  for (;;) {
    if (warp_serial) {
      for (unsigned k = 0; k < n_warps; ++k) {
        const unsigned w0 = 32 * (config().order == Order::Warps ? k : n_warps - 1 - k);
        do {
          for (unsigned t = w0; t < std::min(n, w0 + 32); ++t) {
            run(t);
            if (g_launch.failed) return;
          }
        } while (resolve_warp(w0));
        if (g_launch.failed) return;
      }
    } else {
      for (unsigned t : g_thread_order) {
        run(t);
        if (g_launch.failed) return;
      }
    }
    g_cur = -1;
    bool all_done = true;
    for (unsigned t = 0; t < n; ++t) all_done = all_done && g_slots[t].state == kDone;
    if (all_done) return;
    if (resolve_warps()) continue;
    if (g_launch.failed) return;
    if (resolve_barrier()) continue;
    if (g_launch.failed) return;
    fault(cudaErrorLaunchFailure, format("kernel %s block (%u,%u,%u) deadlocks: %s", g_launch.info->name,
                                         blockIdx.x, blockIdx.y, blockIdx.z, describe_states().c_str()));
    return;
  }
}

void run_block_direct() {
  for (unsigned t : g_thread_order) {
    set_thread_index(t);
    try {
      g_launch.thunk(g_launch.ctx);
    } catch (const Abort&) {
      return;
    } catch (const std::exception& e) {
      fault(cudaErrorLaunchFailure, where() + ": exception in kernel code: " + e.what());
      return;
    }
    if (g_launch.failed) return;
  }
}

void make_order(std::vector<unsigned>& v, unsigned n, unsigned salt) {
  v.resize(n);
  std::iota(v.begin(), v.end(), 0u);
  switch (config().order) {
    case Order::Forward:
    case Order::Warps: break;
    case Order::Reverse:
    case Order::WarpsReverse: std::reverse(v.begin(), v.end()); break;
    case Order::Random: {
      std::mt19937 rng(config().seed * 2654435761u + salt);
      std::shuffle(v.begin(), v.end(), rng);
      break;
    }
  }
}

// ------------------------------------------------------------------------------------------------
// SIGSEGV: names the kernel, thread and allocation involved before the process dies.

char g_altstack[64 * 1024];

void on_segv(int sig, siginfo_t* si, void*) {
  const void* addr = si->si_addr;
  std::string msg;
  Alloc* a = find_mapping(addr);
  const bool in_span = a && static_cast<const char*>(addr) < a->map + a->span;
  if (in_span && g_scope > 0 && !a->open && config().protect && g_n_open < kMaxOpen) {
    // First access of this call to the allocation: open it and retry the access.
    mprotect(a->map, a->span, PROT_READ | PROT_WRITE);
    a->open = true;
    g_open[g_n_open++] = a;
    return;
  }
  if (a && !in_span)
    msg = format("%s accessed %p, past the end of device allocation #%ld (%zu bytes at %p)", where().c_str(), addr,
                 a->id, a->size, static_cast<const void*>(a->ptr));
  else if (a && g_scope == 0)
    msg = format("host code dereferenced device memory %p (allocation #%ld of %zu bytes); device memory is not "
                 "accessible from the host (copy it with cudaMemcpy)",
                 addr, a->id, a->size);
  else {
    bool stack = false;
    for (char* s : g_stacks)
      if (static_cast<const char*>(addr) >= s - page_size() && static_cast<const char*>(addr) < s) stack = true;
    msg = stack ? format("%s overflowed its %zu-byte emulated stack", where().c_str(), kStackBytes)
                : format("%s: segmentation fault at %p", where().c_str(), addr);
  }
  std::fprintf(stderr, "[cuda-emu] fatal: %s\n", msg.c_str());
  std::fflush(stderr);
  signal(sig, SIG_DFL);
}

struct SegvHandler {
  SegvHandler() {
    stack_t ss{};
    ss.ss_sp = g_altstack;
    ss.ss_size = sizeof g_altstack;
    sigaltstack(&ss, nullptr);
    struct sigaction sa {};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, nullptr);
    sigaction(SIGBUS, &sa, nullptr);
  }
} g_segv_handler;

// ------------------------------------------------------------------------------------------------
// Memory copies.

cudaError_t check_copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, const char* what) {
  if (bytes == 0) return cudaSuccess;
  if (!dst || !src) return report(cudaErrorInvalidValue, format("%s: null pointer", what));
  const bool dd = is_device(dst), sd = is_device(src);
  if (kind == cudaMemcpyDefault) kind = dd ? (sd ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                                           : (sd ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  const bool want_dd = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool want_sd = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  static const char* kinds[] = {"HostToHost", "HostToDevice", "DeviceToHost", "DeviceToDevice", "Default"};
  if (kind < 0 || kind > 3) return report(cudaErrorInvalidMemcpyDirection, format("%s: invalid kind", what));
  if (want_dd != dd || want_sd != sd)
    return report(cudaErrorInvalidValue, format("%s(%s, %zu bytes): dst %s, src %s", what, kinds[kind], bytes,
                                                describe_ptr(dst).c_str(), describe_ptr(src).c_str()));
  if (dd && !device_range(dst, bytes))
    return report(cudaErrorInvalidValue, format("%s: %zu bytes at dst %s run past the allocation", what, bytes,
                                                describe_ptr(dst).c_str()));
  if (sd && !device_range(src, bytes))
    return report(cudaErrorInvalidValue, format("%s: %zu bytes at src %s run past the allocation", what, bytes,
                                                describe_ptr(src).c_str()));
  const char* d = static_cast<const char*>(dst);
  const char* s = static_cast<const char*>(src);
  if (d < s + bytes && s < d + bytes)
    return report(cudaErrorInvalidValue, format("%s: source and destination overlap", what));
  return cudaSuccess;
}

cudaError_t exec_copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, const char* what) {
  DeviceScope scope;
  const cudaError_t e = check_copy(dst, src, bytes, kind, what);
  if (e != cudaSuccess) return e;
  if (bytes) std::memcpy(dst, src, bytes);
  return cudaSuccess;
}

// `sync`: cudaMemcpy (the host waits), else cudaMemcpyAsync on `stream`.
cudaError_t do_copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream, bool sync,
                    const char* what) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!valid_stream(stream)) return report(cudaErrorInvalidResourceHandle, format("%s: invalid stream", what));
  cudaError_t e = sync ? forbidden_in_capture(what) : cudaSuccess;
  if (e == cudaSuccess) e = legacy_touches_capture(stream, what);
  if (e != cudaSuccess) return e;
  if (cudaStream_t c = capture_of(stream)) {
    {
      DeviceScope scope;
      e = check_copy(dst, src, bytes, kind, what);
    }
    if (e != cudaSuccess) {
      c->invalidated = true;
      return e;
    }
    // A copy between the device and pageable host memory is staged by the host: not capturable.
    const bool dd = is_device(dst), sd = is_device(src);
    const void* host = !dd ? dst : (!sd ? src : nullptr);
    if (bytes && host && !is_pinned(host, bytes)) {
      c->invalidated = true;
      return report(cudaErrorStreamCaptureUnsupported,
                    format("%s of %zu bytes %s pageable host memory %p while stream %p is capturing: only "
                           "page-locked memory (cudaMallocHost) can be copied in a graph (the capture is "
                           "invalidated)",
                           what, bytes, dd ? "from" : "to", host, static_cast<void*>(c)));
    }
    return record_node(c, format("%s(%zu bytes)", what, bytes),
                       [=] { return exec_copy(dst, src, bytes, kind, what); });
  }
  return exec_copy(dst, src, bytes, kind, what);
}

cudaError_t exec_memset(void* dst, int value, size_t bytes, const char* what) {
  DeviceScope scope;
  if (!device_range(dst, bytes))
    return report(cudaErrorInvalidValue,
                  format("%s: %zu bytes at %s are not inside one device allocation", what, bytes,
                         describe_ptr(dst).c_str()));
  std::memset(dst, value, bytes);
  return cudaSuccess;
}

cudaError_t do_memset(void* dst, int value, size_t bytes, cudaStream_t stream, bool sync, const char* what) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!valid_stream(stream)) return report(cudaErrorInvalidResourceHandle, format("%s: invalid stream", what));
  cudaError_t e = sync ? forbidden_in_capture(what) : cudaSuccess;
  if (e == cudaSuccess) e = legacy_touches_capture(stream, what);
  if (e != cudaSuccess) return e;
  if (bytes == 0) return cudaSuccess;
  if (cudaStream_t c = capture_of(stream)) {
    if (!device_range(dst, bytes)) {
      c->invalidated = true;
      return report(cudaErrorInvalidValue, format("%s: %zu bytes at %s are not inside one device allocation", what,
                                                  bytes, describe_ptr(dst).c_str()));
    }
    return record_node(c, format("%s(%zu bytes)", what, bytes),
                       [=] { return exec_memset(dst, value, bytes, what); });
  }
  return exec_memset(dst, value, bytes, what);
}

// Column-major operand of op(X) with `rows` x `cols` (after op) and leading dimension ld: the byte range read.
bool gemm_operand_ok(const float* p, bool trans, int rows, int cols, int ld) {
  const int r = trans ? cols : rows, c = trans ? rows : cols;  // stored shape
  if (r == 0 || c == 0) return true;
  return device_range(p, (size_t(c - 1) * size_t(ld) + size_t(r)) * sizeof(float));
}

float tf32(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  if ((u & 0x7f800000u) == 0x7f800000u) return x;
  u = (u + 0x1000u) & 0xffffe000u;  // round to nearest, 10 mantissa bits
  std::memcpy(&x, &u, 4);
  return x;
}

}  // namespace

cudaError_t lib_report(cudaError_t code, const std::string& what) { return report(code, what, false); }

// ------------------------------------------------------------------------------------------------
// Device-side services.

int barrier(int op, int pred, const char* file, int line) {
  if (!g_in_kernel) trap("__syncthreads called outside a kernel", file, line);
  if (!g_launch.fibers) {
    fault(cudaErrorLaunchFailure,
          format("kernel %s reached __syncthreads at %s:%d but was classified barrier-free by transform.py "
                 "(rerun with CUVI_EMU_ALL_FIBERS=1 and fix the classification)",
                 g_launch.info->name, file, line));
    throw Abort{};
  }
  const int me = g_cur;
  Slot& s = g_slots[me];
  s.state = kAtBarrier;
  s.file = file;
  s.line = line;
  s.op = op;
  s.val = uint64_t(pred);
  yield_to_scheduler(me);
  return int(g_slots[me].res);
}

uint64_t warp_collective(int op, unsigned mask, uint64_t bits, int arg, int width, int bytes, const char* file,
                         int line) {
  if (!g_in_kernel) trap("warp intrinsic called outside a kernel", file, line);
  if (!g_launch.fibers) {
    fault(cudaErrorLaunchFailure,
          format("kernel %s reached a warp collective at %s:%d but was classified barrier-free by transform.py",
                 g_launch.info->name, file, line));
    throw Abort{};
  }
  const int me = g_cur;
  const unsigned lane = unsigned(me) % 32;
  if (!(mask >> lane & 1u)) {
    fault(cudaErrorLaunchFailure, format("%s: warp collective at %s:%d with mask %08x that omits the calling lane %u",
                                         where().c_str(), file, line, mask, lane));
    abandon_thread();
  }
  if (width < 1 || width > 32 || (width & (width - 1))) {
    fault(cudaErrorLaunchFailure,
          format("%s: shuffle width %d at %s:%d is not a power of two <= 32", where().c_str(), width, file, line));
    abandon_thread();
  }
  Slot& s = g_slots[me];
  s.state = kAtWarp;
  s.op = op;
  s.mask = mask;
  s.val = bits;
  s.arg = arg;
  s.width = width;
  s.bytes = bytes;
  s.file = file;
  s.line = line;
  yield_to_scheduler(me);
  return g_slots[me].res;
}

unsigned active_mask() {
  if (!g_in_kernel || !g_launch.fibers) return 0xffffffffu;
  const unsigned w0 = unsigned(g_cur) / 32 * 32, lanes = std::min(32u, g_launch.nthreads - w0);
  unsigned m = 0;
  for (unsigned j = 0; j < lanes; ++j)
    if (g_slots[w0 + j].state != kDone) m |= 1u << j;
  return m;
}

void* shared_alloc(int site, size_t bytes, size_t align, const char* file) {
  for (const Site& s : g_sites)
    if (s.site == site && std::strcmp(s.file, file) == 0) return g_static_smem.data() + s.off;
  const size_t off = round_up(g_static_used, std::max<size_t>(align, 16));
  if (off + bytes > g_static_smem.size()) {
    fault(cudaErrorLaunchOutOfResources,
          format("kernel %s declares more than %zu bytes of static shared memory", g_launch.info->name,
                 g_static_smem.size()));
    abandon_thread();
  }
  std::memset(g_static_smem.data() + off, kPoison, bytes);
  g_sites.push_back({site, file, off, bytes});
  g_static_used = off + bytes;
  return g_static_smem.data() + off;
}

void* dynamic_shared_base() { return g_dyn_smem.data(); }

void trap(const char* why, const char* file, int line) {
  if (!g_in_kernel) {
    report(cudaErrorLaunchFailure, format("%s at %s:%d outside a kernel", why, file, line));
    std::abort();
  }
  fault(cudaErrorLaunchFailure, format("%s: %s at %s:%d", where().c_str(), why, file, line));
  abandon_thread();
}

// Checks a launch as the runtime does when it is issued (configuration, stream, parameters); sets *limit to
// the dynamic shared memory the kernel may use. Reports and returns false on a fault.
bool check_launch_config(const KernelInfo& info, const void* func, dim3 grid, dim3 block, size_t smem,
                         cudaStream_t stream, const ArgView* args, int n_args, size_t param_bytes,
                         const std::string& name, size_t* limit_out) {
  if (g_in_kernel) {
    report(cudaErrorNotSupported, name + ": launched from inside a kernel (dynamic parallelism is not emulated)");
    return false;
  }
  const unsigned long long nthreads = 1ull * block.x * block.y * block.z;
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.x > 0x7fffffffu || grid.y > 65535 || grid.z > 65535 ||
      block.x == 0 || block.y == 0 || block.z == 0 || block.x > 1024 || block.y > 1024 || block.z > 64 ||
      nthreads > 1024) {
    report(cudaErrorInvalidConfiguration, format("%s: invalid configuration grid (%u,%u,%u) block (%u,%u,%u)",
                                                 name.c_str(), grid.x, grid.y, grid.z, block.x, block.y, block.z));
    return false;
  }
  if (info.max_threads > 0 && nthreads > unsigned(info.max_threads)) {
    report(cudaErrorLaunchOutOfResources, format("%s: %llu threads per block exceed __launch_bounds__(%d)",
                                                 name.c_str(), nthreads, info.max_threads));
    return false;
  }
  size_t limit = kSmemDefault;
  auto attr = g_func_max_dynamic_smem.find(func);
  if (attr != g_func_max_dynamic_smem.end()) limit = std::max(limit, size_t(attr->second));
  if (smem > limit) {
    report(cudaErrorInvalidValue, format("%s: %zu bytes of dynamic shared memory exceed the %zu-byte limit%s",
                                         name.c_str(), smem, limit,
                                         attr == g_func_max_dynamic_smem.end()
                                             ? " (no cudaFuncAttributeMaxDynamicSharedMemorySize opt-in)"
                                             : ""));
    return false;
  }
  if (!valid_stream(stream)) {
    report(cudaErrorInvalidResourceHandle, name + ": launched on an invalid stream");
    return false;
  }
  if (param_bytes > kMaxParamBytes) {
    report(cudaErrorInvalidValue, format("%s: %zu bytes of kernel parameters exceed the %zu-byte limit",
                                         name.c_str(), param_bytes, kMaxParamBytes));
    return false;
  }
  for (int i = 0; i < n_args; ++i) {
    const ArgView& a = args[i];
    if (a.pointer && a.value && !is_device(a.value)) {
      report(cudaErrorIllegalAddress, format("%s: pointer argument %d is %s", name.c_str(), a.index,
                                             describe_ptr(a.value).c_str()));
      return false;
    }
    // A struct argument carrying a host address (heap, stack or static data) would fault on the device.
    for (size_t off = 0; !a.pointer && off + 8 <= a.bytes; off += 8) {
      uint64_t word;
      std::memcpy(&word, static_cast<const char*>(a.value) + off, 8);
      if (is_host_data(reinterpret_cast<const void*>(word))) {
        report(cudaErrorIllegalAddress, format("%s: argument %d (a %zu-byte struct) holds host address %p at byte "
                                               "offset %zu", name.c_str(), a.index, a.bytes,
                                               reinterpret_cast<const void*>(word), off));
        return false;
      }
    }
  }
  // Two __restrict__ parameters holding the same address, at least one of them written through: the
  // compiler may reorder their loads and stores (undefined behaviour the host build may not show).
  for (int i = 0; i < n_args; ++i)
    for (int j = i + 1; j < n_args; ++j) {
      const ArgView &x = args[i], &y = args[j];
      if (!x.pointer || !y.pointer || !x.value || x.value != y.value) continue;
      const unsigned long long bi = 1ull << x.index, bj = 1ull << y.index;
      if (!(info.restricted & bi) || !(info.restricted & bj)) continue;
      if ((info.restrict_const & bi) && (info.restrict_const & bj)) continue;
      report(cudaErrorInvalidValue, format("%s: __restrict__ pointer arguments %d and %d alias (%s)", name.c_str(),
                                           x.index, y.index, describe_ptr(x.value).c_str()));
      return false;
    }
  *limit_out = limit;
  return true;
}

// Runs a checked launch: every block, one after another, then the canary check and the statistics.
cudaError_t execute_grid(const KernelInfo& info, dim3 grid, dim3 block, size_t smem, size_t limit,
                         void (*thunk)(void*), void* ctx, const std::string& name) {
  const auto t0 = std::chrono::steady_clock::now();
  const unsigned long long nthreads = 1ull * block.x * block.y * block.z;
  const unsigned long long nblocks = 1ull * grid.x * grid.y * grid.z;
  DeviceScope scope;
  g_launch = LaunchState{};
  g_launch.info = &info;
  g_launch.fibers = info.barriers || config().all_fibers;
  g_launch.nthreads = unsigned(nthreads);
  g_launch.thunk = thunk;
  g_launch.ctx = ctx;
  g_launch.smem = smem;
  g_launch.smem_limit = limit;
  blockDim = block;
  gridDim = grid;
  g_dyn_smem.assign(smem + kSmemGuard, char(kCanary));
  if (config().verbose)
    std::fprintf(stderr, "[cuda-emu] launch %s grid (%u,%u,%u) block (%u,%u,%u) smem %zu%s\n", info.name, grid.x,
                 grid.y, grid.z, block.x, block.y, block.z, smem, g_launch.fibers ? " fibers" : "");
  make_order(g_thread_order, unsigned(nthreads), 7);
  std::vector<unsigned> block_order;
  make_order(block_order, unsigned(std::min<unsigned long long>(nblocks, 0xffffffffu)), 11);
  g_in_kernel = true;
  for (unsigned b : block_order) {
    blockIdx.x = b % grid.x;
    blockIdx.y = (b / grid.x) % grid.y;
    blockIdx.z = b / (grid.x * grid.y);
    g_sites.clear();
    g_static_used = 0;
    std::memset(g_dyn_smem.data(), kPoison, smem);
    if (g_launch.fibers)
      run_block_fibers();
    else
      run_block_direct();
    if (!g_launch.failed && g_static_used + smem > limit)
      fault(cudaErrorLaunchOutOfResources,
            format("%s: %zu bytes of static plus %zu bytes of dynamic shared memory exceed the %zu-byte limit",
                   name.c_str(), g_static_used, smem, limit));
    if (!g_launch.failed)
      for (size_t i = smem; i < smem + kSmemGuard; ++i)
        if (static_cast<unsigned char>(g_dyn_smem[i]) != kCanary) {
          fault(cudaErrorIllegalAddress,
                format("%s block (%u,%u,%u) wrote past the end of its %zu bytes of dynamic shared memory",
                       name.c_str(), blockIdx.x, blockIdx.y, blockIdx.z, smem));
          break;
        }
    if (g_launch.failed) break;
  }
  g_in_kernel = false;
  g_cur = -1;
  const cudaError_t result = g_launch.failed ? g_launch.code : cudaSuccess;
  if (g_launch.failed) report(g_launch.code, g_launch.error);
  check_canaries(name.c_str());
  KernelStats& st = g_stats[info.name];
  st.file = info.file;
  st.max_block = std::max(st.max_block, unsigned(nthreads));
  ++st.launches;
  st.threads += double(nthreads) * double(nblocks);
  st.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

void run_grid(const KernelInfo& info, const void* func, dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
              void (*thunk)(void*), void* ctx, void* (*clone)(const void*), void (*destroy)(void*),
              const ArgView* args, int n_args, size_t param_bytes) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  const std::string name = format("kernel %s (%s:%d)", info.name, info.file, info.line);
  const cudaStream_t capture = valid_stream(stream) ? capture_of(stream) : nullptr;
  size_t limit = 0;
  if (!check_launch_config(info, func, grid, block, smem, stream, args, n_args, param_bytes, name, &limit)) {
    if (capture) capture->invalidated = true;  // a failed launch invalidates the capture
    return;
  }
  if (legacy_touches_capture(stream, name) != cudaSuccess) return;
  if (!capture) {
    execute_grid(info, grid, block, smem, limit, thunk, ctx, name);
    return;
  }
  // Recorded: the node owns a copy of the arguments as they are now; struct views move into the copy.
  std::shared_ptr<void> copy(clone(ctx), destroy);
  std::vector<ArgView> views(args, args + n_args);
  for (ArgView& a : views)
    if (!a.pointer) a.value = static_cast<const char*>(copy.get()) + (static_cast<const char*>(a.value) -
                                                                      static_cast<const char*>(ctx));
  const KernelInfo ki = info;  // the launch site's KernelInfo is a temporary; its strings are literals
  record_node(capture, name, [=]() -> cudaError_t {
    // The allocations the captured pointers name must still be alive when the graph runs.
    for (const ArgView& a : views)
      if (a.pointer && a.value && !is_device(a.value))
        return report(cudaErrorIllegalAddress, format("graph node %s: pointer argument %d is %s", name.c_str(),
                                                      a.index, describe_ptr(a.value).c_str()));
    return execute_grid(ki, grid, block, smem, limit, thunk, copy.get(), name);
  });
}

cudaError_t radix_sort(void* d_temp, size_t& temp_bytes, const void* keys_in, void* keys_out, const void* values_in,
                       void* values_out, long long n, int key_bytes, int kind, int value_bytes, int begin_bit,
                       int end_bit, cudaStream_t stream, const char* what) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  const size_t items = n > 0 ? size_t(n) : 0;
  const size_t need = round_up(1024 + items * size_t(key_bytes + value_bytes), 256);
  if (!d_temp) {
    temp_bytes = need;
    return cudaSuccess;
  }
  const size_t kb = items * size_t(key_bytes), vb = items * size_t(value_bytes);
  const cudaStream_t capture = valid_stream(stream) ? capture_of(stream) : nullptr;
  const cudaError_t bad = [&]() -> cudaError_t {
    if (n < 0) return lib_report(cudaErrorInvalidValue, format("%s: negative item count", what));
    if (begin_bit < 0 || end_bit > 8 * key_bytes || begin_bit > end_bit)
      return lib_report(cudaErrorInvalidValue,
                        format("%s: bit range [%d, %d) outside the key", what, begin_bit, end_bit));
    if (!valid_stream(stream)) return lib_report(cudaErrorInvalidResourceHandle, format("%s: invalid stream", what));
    if (temp_bytes < need)
      return report(cudaErrorInvalidValue,
                    format("%s: %zu bytes of temporary storage given, %zu needed", what, temp_bytes, need));
    if (!device_range(d_temp, temp_bytes))
      return lib_report(cudaErrorInvalidValue, format("%s: temporary storage %s (%zu bytes) is not device memory",
                                                      what, describe_ptr(d_temp).c_str(), temp_bytes));
    if (items && (!device_range(keys_in, kb) || !device_range(keys_out, kb)))
      return lib_report(cudaErrorInvalidValue,
                        format("%s: keys %s -> %s (%zu bytes) are not device memory", what,
                               describe_ptr(keys_in).c_str(), describe_ptr(keys_out).c_str(), kb));
    if (items && value_bytes && (!device_range(values_in, vb) || !device_range(values_out, vb)))
      return lib_report(cudaErrorInvalidValue, format("%s: values are not device memory", what));
    auto overlap = [](const void* a, size_t na, const void* b, size_t nb) {
      const char *x = static_cast<const char*>(a), *y = static_cast<const char*>(b);
      return na && nb && x < y + nb && y < x + na;
    };
    if (overlap(keys_in, kb, keys_out, kb) || overlap(d_temp, temp_bytes, keys_in, kb) ||
        overlap(d_temp, temp_bytes, keys_out, kb) || (value_bytes && overlap(values_in, vb, values_out, vb)))
      return lib_report(cudaErrorInvalidValue, format("%s: input, output and temporary ranges overlap", what));
    return legacy_touches_capture(stream, what);
  }();
  if (bad != cudaSuccess) {
    if (capture) capture->invalidated = true;
    return bad;
  }
  const size_t tb = temp_bytes;
  auto run = [=]() -> cudaError_t {
    DeviceScope scope;
    const int bits = 8 * key_bytes;
    const uint64_t top = uint64_t(1) << (bits - 1);
    const uint64_t all = bits == 64 ? ~uint64_t(0) : (uint64_t(1) << bits) - 1;
    std::vector<uint64_t> ordered(items);
    for (size_t i = 0; i < items; ++i) {
      uint64_t u = 0;
      std::memcpy(&u, static_cast<const char*>(keys_in) + i * key_bytes, size_t(key_bytes));
      if (kind == 1) u ^= top;
      if (kind == 2) {
        if (u == top) u = 0;  // -0.0 sorts with +0.0
        u = (u & top) ? (~u & all) : (u | top);
      }
      const int width = end_bit - begin_bit;
      ordered[i] = width == 0 ? 0 : (u >> begin_bit) & (width == 64 ? ~uint64_t(0) : (uint64_t(1) << width) - 1);
    }
    std::vector<size_t> idx(items);
    std::iota(idx.begin(), idx.end(), size_t(0));
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return ordered[a] < ordered[b]; });
    std::vector<char> tmp_k(kb), tmp_v(vb);
    for (size_t i = 0; i < items; ++i) {
      std::memcpy(tmp_k.data() + i * key_bytes, static_cast<const char*>(keys_in) + idx[i] * key_bytes,
                  size_t(key_bytes));
      if (value_bytes)
        std::memcpy(tmp_v.data() + i * value_bytes, static_cast<const char*>(values_in) + idx[i] * value_bytes,
                    size_t(value_bytes));
    }
    if (kb) std::memcpy(keys_out, tmp_k.data(), kb);
    if (vb) std::memcpy(values_out, tmp_v.data(), vb);
    std::memset(d_temp, kPoison, tb);  // the sort scribbles over its temporary storage
    check_canaries(what);
    return cudaSuccess;
  };
  if (capture) return record_node(capture, what, run);
  return run();
}

}  // namespace emu

using namespace emu;

// ------------------------------------------------------------------------------------------------
// CUDA runtime API.

extern "C" {

void emu_expect_faults(int on) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  g_expect_faults += on ? 1 : -1;
}

cudaError_t cudaGetDeviceCount(int* count) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (config().no_device) {
    *count = 0;
    g_last_error = cudaErrorNoDevice;
    return cudaErrorNoDevice;
  }
  *count = 1;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) {
  if (device != 0) return report(cudaErrorInvalidDevice, format("cudaSetDevice(%d): one device is emulated", device));
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int device) {
  if (device != 0) return report(cudaErrorInvalidDevice, "cudaGetDeviceProperties: one device is emulated");
  std::memset(p, 0, sizeof *p);
  std::snprintf(p->name, sizeof p->name, "cuvi CUDA emulator (host)");
  p->totalGlobalMem = kTotalMemory;
  p->sharedMemPerBlock = kSmemDefault;
  p->sharedMemPerBlockOptin = kSmemOptinMax;
  p->sharedMemPerMultiprocessor = 228 * 1024;
  p->regsPerBlock = 65536;
  p->warpSize = 32;
  p->maxThreadsPerBlock = 1024;
  p->maxThreadsDim[0] = 1024;
  p->maxThreadsDim[1] = 1024;
  p->maxThreadsDim[2] = 64;
  p->maxGridSize[0] = 0x7fffffff;
  p->maxGridSize[1] = 65535;
  p->maxGridSize[2] = 65535;
  p->totalConstMem = 65536;
  p->major = 9;
  p->minor = 0;
  p->multiProcessorCount = 8;
  p->maxThreadsPerMultiProcessor = 2048;
  p->l2CacheSize = 50 << 20;
  p->memoryBusWidth = 5120;
  p->concurrentKernels = 1;
  p->unifiedAddressing = 1;
  return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize(void) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  // It waits for every stream, a capturing one included: forbidden in every capture mode.
  for (cudaStream_t c : g_capturing) {
    c->invalidated = true;
    return report(cudaErrorStreamCaptureUnsupported,
                  format("cudaDeviceSynchronize while stream %p is capturing a graph (the capture is invalidated)",
                         static_cast<void*>(c)));
  }
  return cudaSuccess;
}
cudaError_t cudaDeviceReset(void) { return cudaSuccess; }
cudaError_t cudaGetLastError(void) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  const cudaError_t e = g_last_error;
  g_last_error = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError(void) { return g_last_error; }

const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInitializationError: return "cudaErrorInitializationError";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    case cudaErrorLaunchOutOfResources: return "cudaErrorLaunchOutOfResources";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    case cudaErrorNotSupported: return "cudaErrorNotSupported";
    case cudaErrorIllegalState: return "cudaErrorIllegalState";
    case cudaErrorStreamCaptureUnsupported: return "cudaErrorStreamCaptureUnsupported";
    case cudaErrorStreamCaptureInvalidated: return "cudaErrorStreamCaptureInvalidated";
    case cudaErrorStreamCaptureUnmatched: return "cudaErrorStreamCaptureUnmatched";
    case cudaErrorStreamCaptureImplicit: return "cudaErrorStreamCaptureImplicit";
    case cudaErrorStreamCaptureWrongThread: return "cudaErrorStreamCaptureWrongThread";
    default: return "cudaErrorUnknown";
  }
}
const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
    default: return cudaGetErrorName(e);
  }
}

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!ptr) return report(cudaErrorInvalidValue, "cudaMalloc: null result pointer");
  *ptr = nullptr;
  if (const cudaError_t e = forbidden_in_capture(format("cudaMalloc(%zu bytes)", bytes))) return e;
  if (bytes == 0) return cudaSuccess;
  if (g_allocated + bytes > kTotalMemory) return cudaErrorMemoryAllocation;
  const size_t pg = page_size(), padded = round_up(bytes, 256), span = round_up(padded, pg);
  void* m = mmap(nullptr, span + pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) return cudaErrorMemoryAllocation;
  char* map = static_cast<char*>(m);
  Alloc a{map, span, map + span - padded, bytes, ++g_alloc_ids, true};
  std::memset(map, kCanary, span);
  std::memset(a.ptr, kPoison, bytes);
  mprotect(map + span, pg, PROT_NONE);
  Alloc& stored = g_allocs[reinterpret_cast<uintptr_t>(a.ptr)] = a;
  if (config().protect) {
    if (g_scope == 0)
      close_alloc(stored);
    else
      g_open[g_n_open++] = &stored;
  }
  g_allocated += bytes;
  *ptr = a.ptr;
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!ptr) return cudaSuccess;
  if (const cudaError_t e = forbidden_in_capture("cudaFree")) return e;
  auto it = g_allocs.find(reinterpret_cast<uintptr_t>(ptr));
  if (it == g_allocs.end())
    return report(cudaErrorInvalidValue, format("cudaFree(%s): not the start of a live allocation",
                                                describe_ptr(ptr).c_str()));
  {
    DeviceScope scope;
    check_alloc_canaries(it->second, "code using the freed allocation");
    forget_open(&it->second);
  }
  const Alloc a = it->second;
  g_allocs.erase(it);
  g_allocated -= a.size;
  munmap(a.map, a.span + page_size());
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  *total_bytes = kTotalMemory;
  *free_bytes = kTotalMemory - g_allocated;
  return cudaSuccess;
}

cudaError_t cudaMallocHost(void** ptr, size_t bytes) { return cudaHostAlloc(ptr, bytes, cudaHostAllocDefault); }
cudaError_t cudaHostAlloc(void** ptr, size_t bytes, unsigned int) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!ptr) return report(cudaErrorInvalidValue, "cudaMallocHost: null result pointer");
  *ptr = nullptr;
  if (const cudaError_t e = forbidden_in_capture(format("cudaMallocHost(%zu bytes)", bytes))) return e;
  void* p = std::aligned_alloc(4096, round_up(std::max<size_t>(bytes, 1), 4096));
  if (!p) return cudaErrorMemoryAllocation;
  g_pinned[reinterpret_cast<uintptr_t>(p)] = bytes;
  *ptr = p;
  return cudaSuccess;
}
cudaError_t cudaFreeHost(void* ptr) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!ptr) return cudaSuccess;
  if (const cudaError_t e = forbidden_in_capture("cudaFreeHost")) return e;
  if (!g_pinned.erase(reinterpret_cast<uintptr_t>(ptr)))
    return report(cudaErrorInvalidValue, format("cudaFreeHost(%p): not a page-locked allocation", ptr));
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  return do_copy(dst, src, bytes, kind, nullptr, true, "cudaMemcpy");
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
  return do_copy(dst, src, bytes, kind, stream, false, "cudaMemcpyAsync");
}
cudaError_t cudaMemset(void* dst, int value, size_t bytes) {
  return do_memset(dst, value, bytes, nullptr, true, "cudaMemset");
}
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t stream) {
  return do_memset(dst, value, bytes, stream, false, "cudaMemsetAsync");
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, 0); }
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  *stream = new CUstream_st;
  (*stream)->flags = flags;
  g_streams.insert(*stream);
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!g_streams.count(stream)) return report(cudaErrorInvalidResourceHandle, "cudaStreamDestroy: invalid stream");
  if (stream->capturing)
    return report(cudaErrorIllegalState, "cudaStreamDestroy: the stream is capturing (end the capture first)");
  g_streams.erase(stream);
  delete stream;
  return cudaSuccess;
}
static cudaError_t stream_wait(cudaStream_t stream, const char* what) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!valid_stream(stream)) return report(cudaErrorInvalidResourceHandle, format("%s: invalid stream", what));
  if (cudaStream_t c = capture_of(stream)) {
    c->invalidated = true;
    return report(cudaErrorStreamCaptureUnsupported,
                  format("%s on stream %p while it is capturing a graph: the host cannot wait for work that is "
                         "only being recorded (the capture is invalidated)",
                         what, static_cast<void*>(c)));
  }
  return legacy_touches_capture(stream, what);
}
cudaError_t cudaStreamSynchronize(cudaStream_t stream) { return stream_wait(stream, "cudaStreamSynchronize"); }
cudaError_t cudaStreamQuery(cudaStream_t stream) { return stream_wait(stream, "cudaStreamQuery"); }
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!valid_stream(stream) || !g_events.count(event))
    return report(cudaErrorInvalidResourceHandle, "cudaStreamWaitEvent: invalid stream or event");
  if (cudaStream_t c = capture_of(stream)) {
    c->invalidated = true;
    return report(cudaErrorNotSupported, "cudaStreamWaitEvent on a capturing stream: multi-stream capture (fork "
                                         "and join through events) is not emulated");
  }
  return cudaSuccess;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (stream == nullptr || stream == cudaStreamLegacy)
    return report(cudaErrorStreamCaptureUnsupported, "cudaStreamBeginCapture: the legacy default stream cannot capture");
  if (!g_streams.count(stream))
    return report(cudaErrorInvalidResourceHandle, "cudaStreamBeginCapture: invalid stream");
  if (mode < cudaStreamCaptureModeGlobal || mode > cudaStreamCaptureModeRelaxed)
    return report(cudaErrorInvalidValue, "cudaStreamBeginCapture: invalid capture mode");
  if (stream->capturing) return report(cudaErrorIllegalState, "cudaStreamBeginCapture: the stream is already capturing");
  stream->capturing = true;
  stream->invalidated = false;
  stream->mode = mode;
  stream->thread = std::this_thread::get_id();
  stream->graph = new CUgraph_st;
  g_capturing.insert(stream);
  return cudaSuccess;
}
cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!graph) return report(cudaErrorInvalidValue, "cudaStreamEndCapture: null graph pointer");
  *graph = nullptr;
  if (!g_streams.count(stream)) return report(cudaErrorInvalidResourceHandle, "cudaStreamEndCapture: invalid stream");
  if (!stream->capturing) return report(cudaErrorIllegalState, "cudaStreamEndCapture: the stream is not capturing");
  if (stream->mode != cudaStreamCaptureModeRelaxed && stream->thread != std::this_thread::get_id())
    return report(cudaErrorStreamCaptureWrongThread,
                  "cudaStreamEndCapture: called from another thread than the one that began the capture");
  stream->capturing = false;
  g_capturing.erase(stream);
  CUgraph_st* g = stream->graph;
  stream->graph = nullptr;
  if (stream->invalidated) {  // the call that invalidated it was reported
    delete g;
    g_last_error = cudaErrorStreamCaptureInvalidated;
    return cudaErrorStreamCaptureInvalidated;
  }
  g_graphs.insert(g);
  *graph = g;
  return cudaSuccess;
}
cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!status || !valid_stream(stream))
    return report(cudaErrorInvalidValue, "cudaStreamIsCapturing: invalid stream or null status pointer");
  *status = cudaStreamCaptureStatusNone;
  if (stream == nullptr || stream == cudaStreamLegacy) {
    for (cudaStream_t c : g_capturing)
      if (!(c->flags & cudaStreamNonBlocking)) return cudaErrorStreamCaptureImplicit;
    return cudaSuccess;
  }
  if (stream != cudaStreamPerThread && stream->capturing)
    *status = stream->invalidated ? cudaStreamCaptureStatusInvalidated : cudaStreamCaptureStatusActive;
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!exec) return report(cudaErrorInvalidValue, "cudaGraphInstantiate: null result pointer");
  *exec = nullptr;
  if (!g_graphs.count(graph)) return report(cudaErrorInvalidValue, "cudaGraphInstantiate: invalid graph");
  *exec = new CUgraphExec_st{graph->nodes};
  g_execs.insert(*exec);
  return cudaSuccess;
}
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!g_execs.count(exec)) return report(cudaErrorInvalidValue, "cudaGraphLaunch: invalid executable graph");
  if (!valid_stream(stream)) return report(cudaErrorInvalidResourceHandle, "cudaGraphLaunch: invalid stream");
  if (cudaStream_t c = capture_of(stream)) {
    c->invalidated = true;
    return report(cudaErrorNotSupported, "cudaGraphLaunch into a capturing stream (a child graph) is not emulated");
  }
  if (const cudaError_t e = legacy_touches_capture(stream, "cudaGraphLaunch")) return e;
  ++g_graph_launches;
  // The nodes run in the order they were recorded; the first fault ends the launch, as it ends a context.
  for (const auto& node : exec->nodes) {
    ++g_graph_nodes_run;
    const cudaError_t e = node->run();
    if (e != cudaSuccess) {
      g_last_error = e;
      return e;
    }
  }
  return cudaSuccess;
}
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!g_execs.erase(exec)) return report(cudaErrorInvalidValue, "cudaGraphExecDestroy: invalid executable graph");
  delete exec;
  return cudaSuccess;
}
cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!g_graphs.erase(graph)) return report(cudaErrorInvalidValue, "cudaGraphDestroy: invalid graph");
  delete graph;
  return cudaSuccess;
}
cudaError_t cudaGraphGetNodes(cudaGraph_t graph, cudaGraphNode_t* nodes, size_t* num_nodes) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!num_nodes || !g_graphs.count(graph)) return report(cudaErrorInvalidValue, "cudaGraphGetNodes: invalid graph");
  const size_t n = graph->nodes.size();
  if (nodes) {
    for (size_t i = 0; i < *num_nodes; ++i) nodes[i] = i < n ? graph->nodes[i].get() : nullptr;
    *num_nodes = std::min(*num_nodes, n);
  } else {
    *num_nodes = n;
  }
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, 0); }
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  *event = new CUevent_st{std::chrono::steady_clock::now(), false};
  g_events.insert(*event);
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t event) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!g_events.erase(event)) return report(cudaErrorInvalidResourceHandle, "cudaEventDestroy: invalid event");
  delete event;
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!g_events.count(event) || !valid_stream(stream))
    return report(cudaErrorInvalidResourceHandle, "cudaEventRecord: invalid event or stream");
  if (cudaStream_t c = capture_of(stream)) {
    c->invalidated = true;
    return report(cudaErrorNotSupported, "cudaEventRecord on a capturing stream: events inside a capture (fork, "
                                         "join, timing) are not emulated");
  }
  event->t = std::chrono::steady_clock::now();
  event->recorded = true;
  return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!g_events.count(event)) return report(cudaErrorInvalidResourceHandle, "cudaEventSynchronize: invalid event");
  return cudaSuccess;
}
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!g_events.count(start) || !g_events.count(end))
    return report(cudaErrorInvalidResourceHandle, "cudaEventElapsedTime: invalid event");
  if (!start->recorded || !end->recorded) return cudaErrorInvalidResourceHandle;
  *ms = std::chrono::duration<float, std::milli>(end->t - start->t).count();
  return cudaSuccess;
}

cudaError_t cudaFuncSetAttribute(const void* func, cudaFuncAttribute attr, int value) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize) {
    if (value < 0 || size_t(value) > kSmemOptinMax)
      return report(cudaErrorInvalidValue, format("cudaFuncSetAttribute: %d bytes of dynamic shared memory exceed "
                                                  "the %zu-byte opt-in maximum", value, kSmemOptinMax));
    g_func_max_dynamic_smem[func] = value;
  }
  return cudaSuccess;
}

// ------------------------------------------------------------------------------------------------
// cuBLAS.

static cublasStatus_t blas_fail(cublasStatus_t s, const std::string& what) {
  report(cudaErrorInvalidValue, what, false);
  return s;
}

cublasStatus_t cublasCreate(cublasHandle_t* handle) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  *handle = new cublasContext{nullptr, CUBLAS_DEFAULT_MATH, CUBLAS_POINTER_MODE_HOST};
  g_cublas.insert(*handle);
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy(cublasHandle_t handle) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!g_cublas.erase(handle)) return blas_fail(CUBLAS_STATUS_NOT_INITIALIZED, "cublasDestroy: invalid handle");
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!g_cublas.count(handle)) return blas_fail(CUBLAS_STATUS_NOT_INITIALIZED, "cublasSetStream: invalid handle");
  if (!valid_stream(stream)) return blas_fail(CUBLAS_STATUS_INVALID_VALUE, "cublasSetStream: invalid stream");
  handle->stream = stream;
  handle->workspace = nullptr;  // cuBLAS: "unconditionally resets the workspace back to the default pool"
  handle->workspace_bytes = 0;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasGetStream(cublasHandle_t handle, cudaStream_t* stream) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!g_cublas.count(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  *stream = handle->stream;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!g_cublas.count(handle)) return blas_fail(CUBLAS_STATUS_NOT_INITIALIZED, "cublasSetMathMode: invalid handle");
  handle->math = mode;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasGetMathMode(cublasHandle_t handle, cublasMath_t* mode) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!g_cublas.count(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  *mode = handle->math;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetPointerMode(cublasHandle_t handle, cublasPointerMode_t mode) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!g_cublas.count(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->pointer_mode = mode;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasGetPointerMode(cublasHandle_t handle, cublasPointerMode_t* mode) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!g_cublas.count(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  *mode = handle->pointer_mode;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetWorkspace(cublasHandle_t handle, void* workspace, size_t bytes) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!g_cublas.count(handle)) return blas_fail(CUBLAS_STATUS_NOT_INITIALIZED, "cublasSetWorkspace: invalid handle");
  if (bytes && (!device_range(workspace, bytes) || reinterpret_cast<uintptr_t>(workspace) % 256))
    return blas_fail(CUBLAS_STATUS_INVALID_VALUE,
                     format("cublasSetWorkspace: %zu bytes at %s are not a 256-byte aligned device range", bytes,
                            describe_ptr(workspace).c_str()));
  handle->workspace = bytes ? workspace : nullptr;
  handle->workspace_bytes = bytes;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgemm(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                           int k, const float* alpha, const float* A, int lda, const float* B, int ldb,
                           const float* beta, float* C, int ldc) {
  return cublasSgemmStridedBatched(handle, transa, transb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1);
}

// One SGEMM call with its arguments fixed (alpha/beta by value in host pointer mode, as cuBLAS reads them
// when called; by address in device pointer mode, read when the GEMM runs).
struct GemmCall {
  std::string call;
  bool ta, tb, tf;
  int m, n, k, lda, ldb, ldc, batch;
  const float *A, *B;
  float* C;
  long long strideA, strideB, strideC;
  float alpha, beta;
  const float *alpha_dev, *beta_dev;  // device pointer mode
};

static cublasStatus_t run_gemm(const GemmCall& g) {
  DeviceScope scope;
  const float a = g.alpha_dev ? *g.alpha_dev : g.alpha, b = g.beta_dev ? *g.beta_dev : g.beta;
  const bool read_ab = a != 0.f && g.k > 0;
  for (int q = 0; q < g.batch; ++q) {
    const float* Aq = g.A + q * g.strideA;
    const float* Bq = g.B + q * g.strideB;
    float* Cq = g.C + q * g.strideC;
    if (read_ab && (!gemm_operand_ok(Aq, g.ta, g.m, g.k, g.lda) || !gemm_operand_ok(Bq, g.tb, g.k, g.n, g.ldb)))
      return blas_fail(CUBLAS_STATUS_EXECUTION_FAILED,
                       g.call + format(": A %s or B %s is not a device range of the given shape",
                                       describe_ptr(Aq).c_str(), describe_ptr(Bq).c_str()));
    if (!gemm_operand_ok(Cq, false, g.m, g.n, g.ldc))
      return blas_fail(CUBLAS_STATUS_EXECUTION_FAILED,
                       g.call + format(": C %s is not a device range of the given shape", describe_ptr(Cq).c_str()));
    for (int j = 0; j < g.n; ++j)
      for (int i = 0; i < g.m; ++i) {
        float acc = 0.f;
        if (read_ab)
          for (int l = 0; l < g.k; ++l) {
            float x = g.ta ? Aq[size_t(i) * g.lda + l] : Aq[size_t(l) * g.lda + i];
            float y = g.tb ? Bq[size_t(l) * g.ldb + j] : Bq[size_t(j) * g.ldb + l];
            if (g.tf) {
              x = tf32(x);
              y = tf32(y);
            }
            acc = std::fma(x, y, acc);
          }
        float& c = Cq[size_t(j) * g.ldc + i];
        // beta == 0: C is not read (NaN in C does not propagate), as cuBLAS specifies.
        c = b == 0.f ? a * acc : std::fma(b, c, a * acc);
      }
  }
  check_canaries(g.call.c_str());
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                         int m, int n, int k, const float* alpha, const float* A, int lda,
                                         long long strideA, const float* B, int ldb, long long strideB,
                                         const float* beta, float* C, int ldc, long long strideC, int batch) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  const std::string call =
      format("cublasSgemm(%s, %s, m=%d, n=%d, k=%d, lda=%d, ldb=%d, ldc=%d)", transa == CUBLAS_OP_N ? "N" : "T",
             transb == CUBLAS_OP_N ? "N" : "T", m, n, k, lda, ldb, ldc);
  if (!g_cublas.count(handle)) return blas_fail(CUBLAS_STATUS_NOT_INITIALIZED, call + ": invalid handle");
  if (!valid_stream(handle->stream)) return blas_fail(CUBLAS_STATUS_EXECUTION_FAILED, call + ": destroyed stream");
  const cudaStream_t capture = capture_of(handle->stream);
  auto fail = [&](cublasStatus_t st, const std::string& what) {
    if (capture) capture->invalidated = true;
    return blas_fail(st, what);
  };
  const bool ta = transa != CUBLAS_OP_N, tb = transb != CUBLAS_OP_N;
  if (transa < 0 || transa > 2 || transb < 0 || transb > 2 || m < 0 || n < 0 || k < 0 || batch < 0 ||
      lda < std::max(1, ta ? k : m) || ldb < std::max(1, tb ? n : k) || ldc < std::max(1, m))
    return fail(CUBLAS_STATUS_INVALID_VALUE, call + ": invalid argument (see the cuBLAS gemm requirements)");
  if (m == 0 || n == 0 || batch == 0) return CUBLAS_STATUS_SUCCESS;
  const bool dev_mode = handle->pointer_mode == CUBLAS_POINTER_MODE_DEVICE;
  if (!dev_mode && (is_device(alpha) || is_device(beta)))
    return fail(CUBLAS_STATUS_INVALID_VALUE, call + ": alpha/beta are device pointers in host pointer mode");
  if (dev_mode && (!is_device(alpha) || !is_device(beta)))
    return fail(CUBLAS_STATUS_INVALID_VALUE, call + ": alpha/beta are host pointers in device pointer mode");
  if (legacy_touches_capture(handle->stream, call) != cudaSuccess) return CUBLAS_STATUS_EXECUTION_FAILED;
  // Captured without a user workspace, cuBLAS takes one from its pool: an allocation inside the graph, and
  // possibly another algorithm than the eager call picked. Treated as an error, as cuBLAS advises.
  if (capture && !handle->workspace)
    return fail(CUBLAS_STATUS_NOT_SUPPORTED,
                call + ": called while its stream captures a graph, but the handle has no workspace of its own "
                       "(cublasSetWorkspace; cublasSetStream resets it to cuBLAS's pool)");
  GemmCall g{call, ta, tb, handle->math == CUBLAS_TF32_TENSOR_OP_MATH, m, n, k, lda, ldb, ldc, batch, A, B, C,
             strideA, strideB, strideC, 0.f, 0.f, nullptr, nullptr};
  if (dev_mode) {
    g.alpha_dev = alpha;
    g.beta_dev = beta;
  } else {
    g.alpha = *alpha;
    g.beta = *beta;
  }
  if (capture) {
    const cudaError_t e = record_node(capture, call, [g]() {
      return run_gemm(g) == CUBLAS_STATUS_SUCCESS ? cudaSuccess : cudaErrorLaunchFailure;
    });
    return e == cudaSuccess ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_EXECUTION_FAILED;
  }
  return run_gemm(g);
}

const char* cublasGetStatusString(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "CUBLAS_STATUS_UNKNOWN";
  }
}

cublasStatus_t cublasLtCreate(cublasLtHandle_t* handle) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  *handle = new cublasLtContext{0};
  g_cublaslt.insert(*handle);
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtDestroy(cublasLtHandle_t handle) {
  std::lock_guard<std::recursive_mutex> lk(g_mu);
  if (!g_cublaslt.erase(handle)) return blas_fail(CUBLAS_STATUS_NOT_INITIALIZED, "cublasLtDestroy: invalid handle");
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

}  // extern "C"
