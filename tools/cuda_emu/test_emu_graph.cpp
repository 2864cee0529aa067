// Tests of the emulator's stream capture and graphs against CUDA's documented semantics: work issued to a
// capturing stream is recorded with its arguments as they were, replays run it again each time, and calls
// that synchronise or allocate during a capture fail and invalidate it (built only into cuvi_tests_emu).
#include <gtest/gtest.h>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <thread>
#include <vector>

#include "engine/optimizer.h"
#include "engine/trainer.h"
#include "tools/cuda_emu/graph_selftest.h"

namespace emu_selftest {
namespace {

template <class T>
struct Buf {
  T* p = nullptr;
  size_t n = 0;
  explicit Buf(size_t count) : n(count) { EXPECT_EQ(cudaMalloc(&p, n * sizeof(T)), cudaSuccess); }
  ~Buf() { cudaFree(p); }
  void put(const std::vector<T>& v) {
    ASSERT_EQ(cudaMemcpy(p, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  }
  std::vector<T> get() const {
    std::vector<T> v(n);
    EXPECT_EQ(cudaMemcpy(v.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    return v;
  }
};

struct Stream {
  cudaStream_t s = nullptr;
  Stream() { EXPECT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess); }
  ~Stream() { cudaStreamDestroy(s); }
};

// Faults provoked on purpose are reported as expected, not counted as errors of the run.
struct ExpectFaults {
  ExpectFaults() {
    cudaGetLastError();
    emu_expect_faults(1);
  }
  ~ExpectFaults() {
    emu_expect_faults(0);
    cudaGetLastError();
  }
};

cudaStreamCaptureStatus status_of(cudaStream_t s) {
  cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
  EXPECT_EQ(cudaStreamIsCapturing(s, &st), cudaSuccess);
  return st;
}

size_t node_count(cudaGraph_t g) {
  size_t n = 0;
  EXPECT_EQ(cudaGraphGetNodes(g, nullptr, &n), cudaSuccess);
  return n;
}

TEST(EmuGraph, CaptureRecordsWithoutRunningAndEachLaunchRunsOnce) {
  const int n = 100;
  Stream st;
  Buf<float> x(n), y(n), z(n);
  Buf<int> counter(1);
  x.put(std::vector<float>(n, 1.f));
  y.put(std::vector<float>(n, 0.f));
  counter.put({0});
  ASSERT_EQ(cudaStreamBeginCapture(st.s, cudaStreamCaptureModeGlobal), cudaSuccess);
  EXPECT_EQ(status_of(st.s), cudaStreamCaptureStatusActive);
  float a = 2.f;
  axpy(st.s, y.p, x.p, a, n);
  a = 5.f;  // after the launch: the recorded argument stays 2
  increment(st.s, counter.p);
  EXPECT_EQ(cudaMemcpyAsync(z.p, y.p, n * sizeof(float), cudaMemcpyDeviceToDevice, st.s), cudaSuccess);
  EXPECT_EQ(cudaMemsetAsync(y.p + n / 2, 0, (n - n / 2) * sizeof(float), st.s), cudaSuccess);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  cudaGraph_t g = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(st.s, &g), cudaSuccess);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(status_of(st.s), cudaStreamCaptureStatusNone);
  // Nothing ran (reading them inside the capture would have been a forbidden synchronous copy).
  EXPECT_EQ(y.get(), std::vector<float>(n, 0.f));
  EXPECT_EQ(counter.get(), std::vector<int>{0});
  EXPECT_EQ(node_count(g), 4u);
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, g, 0), cudaSuccess);
  ASSERT_EQ(cudaGraphDestroy(g), cudaSuccess);  // the executable does not depend on the graph

  ASSERT_EQ(cudaGraphLaunch(exec, st.s), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(st.s), cudaSuccess);
  std::vector<float> want_y(n, 2.f), want_z(n, 2.f);
  for (int i = n / 2; i < n; ++i) want_y[i] = 0.f;
  EXPECT_EQ(y.get(), want_y);
  EXPECT_EQ(z.get(), want_z);
  EXPECT_EQ(counter.get(), std::vector<int>{1});

  // A second launch runs every node again; pointers are captured, so it reads memory as it is now.
  x.put(std::vector<float>(n, 3.f));
  ASSERT_EQ(cudaGraphLaunch(exec, st.s), cudaSuccess);
  for (int i = 0; i < n; ++i) {
    want_z[i] = want_y[i] + 6.f;
    want_y[i] = i < n / 2 ? want_z[i] : 0.f;
  }
  EXPECT_EQ(y.get(), want_y);
  EXPECT_EQ(z.get(), want_z);
  EXPECT_EQ(counter.get(), std::vector<int>{2});
  EXPECT_EQ(cudaGraphExecDestroy(exec), cudaSuccess);
}

TEST(EmuGraph, StructAndScalarArgumentsAreCopiedAtCapture) {
  const int n = 10;
  Stream st;
  Buf<float> y(n);
  y.put(std::vector<float>(n, 1.f));
  Affine f{2.f, 1.f};
  ASSERT_EQ(cudaStreamBeginCapture(st.s, cudaStreamCaptureModeGlobal), cudaSuccess);
  affine(st.s, y.p, f, n);
  f.scale = 100.f;
  affine(st.s, y.p, f, n);
  cudaGraph_t g = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(st.s, &g), cudaSuccess);
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, g, 0), cudaSuccess);
  f = Affine{-7.f, -7.f};  // changes nothing recorded
  ASSERT_EQ(cudaGraphLaunch(exec, st.s), cudaSuccess);
  EXPECT_EQ(y.get(), std::vector<float>(n, (1.f * 2.f + 1.f) * 100.f + 1.f));
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(g);
}

TEST(EmuGraph, CublasHostScalarsAreCapturedDeviceScalarsAreRead) {
  Stream st;
  cublasHandle_t h = nullptr;
  ASSERT_EQ(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasSetStream(h, st.s), CUBLAS_STATUS_SUCCESS);
  Buf<float> ws(256);
  ASSERT_EQ(cublasSetWorkspace(h, ws.p, 1024), CUBLAS_STATUS_SUCCESS);  // after the stream: capturable
  // C (2x2) = alpha A (2x1) B (1x2), column-major.
  Buf<float> A(2), B(2), C(2 * 2), scal(2);
  A.put({1.f, 2.f});
  B.put({3.f, 4.f});
  C.put(std::vector<float>(4, 0.f));
  float alpha = 1.f, beta = 0.f;
  ASSERT_EQ(cudaStreamBeginCapture(st.s, cudaStreamCaptureModeGlobal), cudaSuccess);
  ASSERT_EQ(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 1, &alpha, A.p, 2, B.p, 1, &beta, C.p, 2),
            CUBLAS_STATUS_SUCCESS);
  cudaGraph_t g = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(st.s, &g), cudaSuccess);
  EXPECT_EQ(C.get(), std::vector<float>(4, 0.f));
  alpha = 3.f;  // host pointer mode: cuBLAS read alpha when called
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, g, 0), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(exec, st.s), cudaSuccess);
  EXPECT_EQ(C.get(), (std::vector<float>{3.f, 6.f, 4.f, 8.f}));
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(g);

  // Device pointer mode: the scalars are read when the GEMM runs.
  scal.put({1.f, 0.f});
  ASSERT_EQ(cublasSetPointerMode(h, CUBLAS_POINTER_MODE_DEVICE), CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cudaStreamBeginCapture(st.s, cudaStreamCaptureModeGlobal), cudaSuccess);
  ASSERT_EQ(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 1, scal.p, A.p, 2, B.p, 1, scal.p + 1, C.p, 2),
            CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cudaStreamEndCapture(st.s, &g), cudaSuccess);
  ASSERT_EQ(cudaGraphInstantiate(&exec, g, 0), cudaSuccess);
  scal.put({2.f, 0.f});
  ASSERT_EQ(cudaGraphLaunch(exec, st.s), cudaSuccess);
  EXPECT_EQ(C.get(), (std::vector<float>{6.f, 12.f, 8.f, 16.f}));
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(g);
  cublasDestroy(h);
}

// cuBLAS's rule for capture: a GEMM recorded into a graph needs the handle's own workspace, and
// cublasSetStream resets the workspace to cuBLAS's pool, so it must come before cublasSetWorkspace.
TEST(EmuGraph, CublasCaptureNeedsAWorkspaceThatSetStreamResets) {
  Stream st;
  cublasHandle_t h = nullptr;
  ASSERT_EQ(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
  Buf<float> ws(256), A(2), B(2), C(4);
  A.put({1.f, 2.f});
  B.put({3.f, 4.f});
  C.put(std::vector<float>(4, 0.f));
  const float one = 1.f, zero = 0.f;
  auto capture_gemm = [&](cublasStatus_t want_gemm, cudaError_t want_end) {
    ASSERT_EQ(cudaStreamBeginCapture(st.s, cudaStreamCaptureModeGlobal), cudaSuccess);
    EXPECT_EQ(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 1, &one, A.p, 2, B.p, 1, &zero, C.p, 2), want_gemm);
    cudaGraph_t g = nullptr;
    EXPECT_EQ(cudaStreamEndCapture(st.s, &g), want_end);
    if (g) cudaGraphDestroy(g);
    cudaGetLastError();  // the refused GEMM's error is not left behind for the next test
  };
  // Workspace set, then the stream: the stream call dropped the workspace.
  ASSERT_EQ(cublasSetWorkspace(h, ws.p, 1024), CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasSetStream(h, st.s), CUBLAS_STATUS_SUCCESS);
  emu_expect_faults(1);
  capture_gemm(CUBLAS_STATUS_NOT_SUPPORTED, cudaErrorStreamCaptureInvalidated);
  emu_expect_faults(0);
  // Eager calls may use the pool.
  EXPECT_EQ(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 1, &one, A.p, 2, B.p, 1, &zero, C.p, 2),
            CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(C.get(), (std::vector<float>{3.f, 6.f, 4.f, 8.f}));
  // Stream first, then the workspace: captured.
  ASSERT_EQ(cublasSetWorkspace(h, ws.p, 1024), CUBLAS_STATUS_SUCCESS);
  capture_gemm(CUBLAS_STATUS_SUCCESS, cudaSuccess);
  // Setting the (same) stream again resets it once more.
  ASSERT_EQ(cublasSetStream(h, st.s), CUBLAS_STATUS_SUCCESS);
  emu_expect_faults(1);
  capture_gemm(CUBLAS_STATUS_NOT_SUPPORTED, cudaErrorStreamCaptureInvalidated);
  emu_expect_faults(0);
  cublasDestroy(h);
}

TEST(EmuGraph, PinnedCopiesAreCapturedAndReadAtLaunch) {
  Stream st;
  Buf<float> d(4);
  float* pinned = nullptr;
  ASSERT_EQ(cudaMallocHost(&pinned, 4 * sizeof(float)), cudaSuccess);
  for (int i = 0; i < 4; ++i) pinned[i] = float(i);
  ASSERT_EQ(cudaStreamBeginCapture(st.s, cudaStreamCaptureModeGlobal), cudaSuccess);
  ASSERT_EQ(cudaMemcpyAsync(d.p, pinned, 4 * sizeof(float), cudaMemcpyHostToDevice, st.s), cudaSuccess);
  cudaGraph_t g = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(st.s, &g), cudaSuccess);
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, g, 0), cudaSuccess);
  for (int i = 0; i < 4; ++i) pinned[i] = 10.f + float(i);
  ASSERT_EQ(cudaGraphLaunch(exec, st.s), cudaSuccess);
  EXPECT_EQ(d.get(), (std::vector<float>{10.f, 11.f, 12.f, 13.f}));
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(g);
  EXPECT_EQ(cudaFreeHost(pinned), cudaSuccess);
}

// Begins a capture, runs `forbidden`, and checks that it failed with `code` and invalidated the capture.
template <class F>
void expect_invalidates(cudaStreamCaptureMode mode, cudaError_t code, F&& forbidden) {
  Stream st;
  Buf<float> y(8);
  ASSERT_EQ(cudaStreamBeginCapture(st.s, mode), cudaSuccess);
  increment(st.s, reinterpret_cast<int*>(y.p));
  {
    ExpectFaults expected;
    EXPECT_EQ(forbidden(st.s), code);
    EXPECT_EQ(status_of(st.s), cudaStreamCaptureStatusInvalidated);
    // Work issued to an invalidated capture fails too.
    EXPECT_EQ(cudaMemsetAsync(y.p, 0, 4, st.s), cudaErrorStreamCaptureInvalidated);
    cudaGraph_t g = reinterpret_cast<cudaGraph_t>(&st);
    EXPECT_EQ(cudaStreamEndCapture(st.s, &g), cudaErrorStreamCaptureInvalidated);
    EXPECT_EQ(g, nullptr);
  }
  EXPECT_EQ(status_of(st.s), cudaStreamCaptureStatusNone);
}

TEST(EmuGraph, SynchronisingCallsInvalidateTheCapture) {
  expect_invalidates(cudaStreamCaptureModeRelaxed, cudaErrorStreamCaptureUnsupported,
                     [](cudaStream_t s) { return cudaStreamSynchronize(s); });
  expect_invalidates(cudaStreamCaptureModeRelaxed, cudaErrorStreamCaptureUnsupported,
                     [](cudaStream_t s) { return cudaStreamQuery(s); });
  expect_invalidates(cudaStreamCaptureModeRelaxed, cudaErrorStreamCaptureUnsupported,
                     [](cudaStream_t) { return cudaDeviceSynchronize(); });
  Buf<float> d(2);
  expect_invalidates(cudaStreamCaptureModeGlobal, cudaErrorStreamCaptureUnsupported, [&](cudaStream_t) {
    const float host[2] = {1.f, 2.f};
    return cudaMemcpy(d.p, host, sizeof host, cudaMemcpyHostToDevice);
  });
  expect_invalidates(cudaStreamCaptureModeGlobal, cudaErrorStreamCaptureUnsupported,
                     [&](cudaStream_t) { return cudaMemset(d.p, 0, sizeof(float)); });
}

TEST(EmuGraph, AllocationsAndPageableCopiesInvalidateTheCapture) {
  expect_invalidates(cudaStreamCaptureModeGlobal, cudaErrorStreamCaptureUnsupported, [](cudaStream_t) {
    void* p = nullptr;
    const cudaError_t e = cudaMalloc(&p, 64);
    EXPECT_EQ(p, nullptr);
    return e;
  });
  expect_invalidates(cudaStreamCaptureModeThreadLocal, cudaErrorStreamCaptureUnsupported, [](cudaStream_t) {
    void* p = nullptr;
    return cudaMallocHost(&p, 64);
  });
  Buf<float> d(4);
  expect_invalidates(cudaStreamCaptureModeGlobal, cudaErrorStreamCaptureUnsupported, [&](cudaStream_t s) {
    const std::vector<float> pageable(4, 1.f);
    return cudaMemcpyAsync(d.p, pageable.data(), 4 * sizeof(float), cudaMemcpyHostToDevice, s);
  });
  expect_invalidates(cudaStreamCaptureModeGlobal, cudaErrorStreamCaptureUnsupported, [&](cudaStream_t s) {
    std::vector<float> pageable(4);
    return cudaMemcpyAsync(pageable.data(), d.p, 4 * sizeof(float), cudaMemcpyDeviceToHost, s);
  });
}

TEST(EmuGraph, CaptureModesDecideWhoMayAllocate) {
  Stream st;
  Buf<int> c(1);
  // Relaxed: allocating during the capture is allowed.
  ASSERT_EQ(cudaStreamBeginCapture(st.s, cudaStreamCaptureModeRelaxed), cudaSuccess);
  increment(st.s, c.p);
  void* p = nullptr;
  EXPECT_EQ(cudaMalloc(&p, 64), cudaSuccess);
  EXPECT_EQ(cudaFree(p), cudaSuccess);
  cudaGraph_t g = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(st.s, &g), cudaSuccess);
  EXPECT_EQ(node_count(g), 1u);
  cudaGraphDestroy(g);
  // ThreadLocal: another thread may allocate; the capturing thread may not.
  ASSERT_EQ(cudaStreamBeginCapture(st.s, cudaStreamCaptureModeThreadLocal), cudaSuccess);
  cudaError_t other = cudaErrorUnknown;
  std::thread t([&] {
    void* q = nullptr;
    other = cudaMalloc(&q, 64);
    cudaFree(q);
  });
  t.join();
  EXPECT_EQ(other, cudaSuccess);
  EXPECT_EQ(status_of(st.s), cudaStreamCaptureStatusActive);
  ASSERT_EQ(cudaStreamEndCapture(st.s, &g), cudaSuccess);
  cudaGraphDestroy(g);
}

TEST(EmuGraph, ReplayChecksThatCapturedAllocationsAreAlive) {
  Stream st;
  int* counter = nullptr;
  ASSERT_EQ(cudaMalloc(&counter, sizeof(int)), cudaSuccess);
  ASSERT_EQ(cudaStreamBeginCapture(st.s, cudaStreamCaptureModeGlobal), cudaSuccess);
  increment(st.s, counter);
  cudaGraph_t g = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(st.s, &g), cudaSuccess);
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, g, 0), cudaSuccess);
  ASSERT_EQ(cudaFree(counter), cudaSuccess);
  {
    ExpectFaults expected;
    EXPECT_EQ(cudaGraphLaunch(exec, st.s), cudaErrorIllegalAddress);
  }
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(g);
}

TEST(EmuGraph, CaptureMisuseIsReported) {
  Stream st;
  ExpectFaults expected;
  cudaGraph_t g = nullptr;
  EXPECT_EQ(cudaStreamEndCapture(st.s, &g), cudaErrorIllegalState);  // not capturing
  EXPECT_EQ(cudaStreamBeginCapture(nullptr, cudaStreamCaptureModeGlobal), cudaErrorStreamCaptureUnsupported);
  ASSERT_EQ(cudaStreamBeginCapture(st.s, cudaStreamCaptureModeGlobal), cudaSuccess);
  EXPECT_EQ(cudaStreamBeginCapture(st.s, cudaStreamCaptureModeGlobal), cudaErrorIllegalState);
  ASSERT_EQ(cudaStreamEndCapture(st.s, &g), cudaSuccess);  // an empty graph is a graph
  EXPECT_EQ(node_count(g), 0u);
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, g, 0), cudaSuccess);
  EXPECT_EQ(cudaGraphLaunch(exec, st.s), cudaSuccess);
  EXPECT_EQ(cudaGraphExecDestroy(exec), cudaSuccess);
  EXPECT_EQ(cudaGraphExecDestroy(exec), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGraphDestroy(g), cudaSuccess);
}

// The engine's step graph on the emulated CUDA backend: a step that synchronises, uploads or changes the
// optimizer's segment table cannot be captured, the error names the cause, and the stream stays usable.
TEST(EmuGraph, StepGraphRejectsHostSynchronisationInsideTheStep) {
  auto b = cuvi::make_cuda_backend(0);
  cuvi::DeviceBuffer buf(*b, 4 * sizeof(float));
  const float host[4] = {1.f, 2.f, 3.f, 4.f};
  cuvi::ParamStore ps;
  ps.add("w", cuvi::Shape{3}, cuvi::Init::constant(0.5));
  ps.allocate(*b);
  ps.initialize(0);
  cuvi::Adam adam(*b, ps, cuvi::AdamConfig::scvi());
  cuvi::StepGraph g;
  {
    ExpectFaults expected;
    EXPECT_THROW(g.capture(*b, [&] { b->upload(buf.data(), host, sizeof host); return true; }), cuvi::Error);
    EXPECT_THROW(g.capture(*b, [&] { b->synchronize(); return true; }), cuvi::Error);
    EXPECT_THROW(g.capture(*b, [&] { return b->read_scalars().step == 0; }), cuvi::Error);
  }
  // A new segment table is refused before any CUDA call is made.
  EXPECT_THROW(g.capture(*b, [&] { adam.set_used({0}); return true; }), cuvi::Error);
  EXPECT_FALSE(g.valid());
  adam.set_used({0});  // outside a capture: uploads the table
  ASSERT_TRUE(g.capture(*b, [&] {
    adam.set_used({0});  // unchanged: no upload
    b->fill_zero(buf.data(), 2 * sizeof(float));
    return true;
  }));
  EXPECT_EQ(g.n_nodes(), 1u);
  b->upload(buf.data(), host, sizeof host);
  g.launch(*b);
  float back[4];
  b->download(back, buf.data(), sizeof back);
  EXPECT_EQ(std::vector<float>(back, back + 4), (std::vector<float>{0.f, 0.f, 3.f, 4.f}));
  EXPECT_FALSE(g.capture(*b, [&] {
    b->fill_zero(buf.data(), sizeof(float));
    return false;
  }));
  EXPECT_FALSE(g.valid());
}

}  // namespace
}  // namespace emu_selftest
