// BatchNorm's running variance on the CUDA kernels with a one-row batch (label gpu): the unbiased update divides
// by N - 1 = 0, so it is skipped and running_var stays finite (the op's shape rule refuses one-row training as
// torch does; the kernels are guarded below it), in the plain BatchNorm kernel and in the fused FC layer.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/backend.h"
#include "kernels/cuda/fc_layer.h"
#include "kernels/cuda/norm.h"

namespace cuvi {
namespace {

TEST(NormGuardCuda, OneRowBatchKeepsRunningVarFinite) {
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  auto b = make_cuda_backend(1);
  auto s = static_cast<cudaStream_t>(b->ctx().stream);
  const int64_t F = 3;
  const std::vector<float> x = {1.f, 2.f, 3.f}, w = {1.f, 0.5f, -1.f}, one = {2.f};
  const std::vector<float> rv0 = {1.f, 2.f, 3.f}, zeros(F, 0.f);
  DeviceBuffer dx(*b, 12), dw(*b, 12), d1(*b, 4), rm(*b, 12), rv(*b, 12), y(*b, 12), st(*b, 24), pre(*b, 12);
  b->upload(dx.data(), x.data(), 12);
  b->upload(dw.data(), w.data(), 12);
  b->upload(d1.data(), one.data(), 4);
  auto reset = [&] {
    b->upload(rm.data(), zeros.data(), 12);
    b->upload(rv.data(), rv0.data(), 12);
  };
  auto check = [&](const char* what) {
    std::vector<float> got(F), out(F);
    b->download(got.data(), rv.data(), 12);
    b->download(out.data(), y.data(), 12);
    for (int64_t f = 0; f < F; ++f) {
      EXPECT_EQ(got[f], rv0[f]) << what << ": running_var of feature " << f;
      EXPECT_TRUE(std::isfinite(out[f])) << what << ": output " << f;
    }
  };
  float* stats = static_cast<float*>(st.data());
  reset();
  cuda::batchnorm_fwd(s, static_cast<float*>(dx.data()), nullptr, nullptr, static_cast<float*>(rm.data()),
                      static_cast<float*>(rv.data()), static_cast<float*>(y.data()), stats, stats + F, true, 0.1f,
                      1e-3f, 1, F);
  check("batchnorm");
  reset();
  FcConfig c;
  c.norm = kFcNormBatch;
  c.act = kFcActRelu;
  c.momentum = 0.1;
  cuda::fc_layer_fwd(static_cast<cublasHandle_t>(b->ctx().cublas), s, static_cast<float*>(d1.data()),
                     static_cast<float*>(dw.data()), nullptr, nullptr, nullptr, nullptr, static_cast<float*>(rm.data()),
                     static_cast<float*>(rv.data()), nullptr, static_cast<float*>(y.data()),
                     static_cast<float*>(pre.data()), stats, nullptr, c, 0, &b->ctx().scalars->step, 1, 1, 0, F, 0);
  check("fc_layer");
}

}  // namespace
}  // namespace cuvi
