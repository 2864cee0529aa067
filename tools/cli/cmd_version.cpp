// cuvi version: the build (version, CUDA architectures, host instruction set it was compiled for) and the
// machine it runs on (CPU, the OpenBLAS kernels chosen for it, CUDA device), one fact per line.
#include <cstdio>
#include <fstream>
#include <string>

#include "engine/backend.h"
#include "tools/cli/commands.h"

namespace cuvi::cli {
namespace {

std::string cpu_line() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  std::string isa = "generic";
#if defined(__x86_64__)
  isa = __builtin_cpu_supports("avx512f") ? "AVX-512" : __builtin_cpu_supports("avx2") ? "AVX2" : "SSE";
#endif
  return (model.empty() ? std::string("unknown CPU") : model) + " (" + isa + ")";
}

}  // namespace

int cmd_version(const Argv& argv) {
  if (!argv.empty() && (argv[0] == "-h" || argv[0] == "--help")) {
    std::puts("usage: cuvi version   (build and machine facts)");
    return 0;
  }
  std::printf("cuvi %s\n", CUVI_VERSION);
  std::printf("build: CUDA architectures %s, host code for %s\n", CUVI_CUDA_ARCHITECTURES, compiled_isa());
  std::printf("cpu: %s\n", cpu_line().c_str());
  std::printf("blas: %s\n", cpu_blas_description().c_str());
  std::string why;
  std::printf("cuda: %s\n", cuda_device_available(&why) ? "device available" : ("no device (" + why + ")").c_str());
  return 0;
}

}  // namespace cuvi::cli
