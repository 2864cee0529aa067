// What this build of the extension is: version, CUDA or CPU-only with its CUDA architecture list, host
// instruction set, BLAS; whether a CUDA device is usable here; the process's default CPU thread count.
#include <nanobind/stl/pair.h>
#include <omp.h>
#include <nanobind/stl/string.h>

#include "engine/backend.h"
#include "tools/python/src/bindings.h"

namespace cuvi::python {
namespace {

nb::dict build_info() {
  nb::dict d;
  d["version"] = CUVI_VERSION;
#ifdef CUVI_CPU_ONLY
  d["cuda"] = false;
#else
  d["cuda"] = true;
#endif
  d["cuda_architectures"] = CUVI_CUDA_ARCHITECTURES;
  d["host_isa"] = compiled_isa();
  d["blas"] = cpu_blas_description();
  return d;
}

std::pair<bool, std::string> cuda_available() {
  std::string why;
  const bool ok = cuda_device_available(&why);
  return {ok, why};
}

}  // namespace

void bind_build(nb::module_& m) {
  m.def("build_info", &build_info,
        "The build: version, cuda (bool), cuda_architectures (the list compiled for, or 'none (CPU-only build)'), "
        "host_isa, blas.");
  // "All cores" for this process, read once at import: the engine's CPU backend takes 0 threads as
  // omp_get_max_threads(), which a call with one thread (LinearSCVI loadings, settings.num_threads=1)
  // would otherwise lower for every later call.
  m.attr("default_threads") = omp_get_max_threads();
  m.def("cuda_available", &cuda_available, "(usable, reason): whether a CUDA device can be used, and if not why.");
}

}  // namespace cuvi::python
