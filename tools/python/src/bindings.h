// Shared declarations of the _cuvi extension: the registration function of each bound part, the
// registered in-memory AnnData (MemoryData) and the numpy hand-over helper used by all of them.
#pragma once
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "engine/error.h"
#include "tools/python/src/memory_counts.h"
#include "tools/workflow/result_table.h"
#include "tools/workflow/session.h"
#include "tools/workflow/setup.h"

namespace cuvi::python {

namespace nb = nanobind;

// An AnnData registered in memory: the workflow's PreparedData whose counts may be borrowed from the
// caller's arrays, which `arrays` keeps alive for as long as the data are used.
struct MemoryData {
  workflow::PreparedData prepared;
  std::vector<InArray> arrays;  // borrowed data and indices
  std::vector<int64_t> indptr;        // their indptr as int64 (moving the vector keeps its buffer)
};

// Where and how an inference call runs.
struct RunOptions {
  std::string device = "auto";
  int threads = 0;
  uint64_t seed = 0;
  int64_t batch_size = 128;
};

// An opened inference's data, its session closed first (overloaded where the data live elsewhere).
template <class Inference>
workflow::PreparedData release_data(Inference& inf) {
  inf.session.reset();
  return std::move(inf.data);
}

// Runs f(inference) on a new backend, where open(backend, prepared) opens a model's inference session
// over the registered data: the data move into the inference for the call and back afterwards, also
// when f fails. Runs without the GIL.
template <class Open, class F>
auto with_session(MemoryData& data, const RunOptions& o, Open&& open, F&& f) {
  CUVI_CHECK(o.batch_size >= 1, "batch_size must be positive");
  nb::gil_scoped_release release;
  std::unique_ptr<Backend> backend = make_backend(o.device, o.seed, nullptr, o.threads);
  auto inf = open(*backend, std::move(data.prepared));
  using Inference = decltype(inf);
  struct GiveBack {
    Inference& opened;
    MemoryData& data;
    ~GiveBack() { data.prepared = release_data(opened); }
  } give_back{inf, data};
  return f(inf);
}

// A numpy array that owns `v` (moved, not copied) with the given shape.
template <class T>
nb::ndarray<nb::numpy, T> to_numpy(std::vector<T>&& v, std::vector<size_t> shape) {
  auto* owned = new std::vector<T>(std::move(v));
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  return nb::ndarray<nb::numpy, T>(owned->data(), shape.size(), shape.data(), owner);
}

void bind_build(nb::module_& m);     // build.cpp: build_info, cuda_available
void bind_data(nb::module_& m);      // memory_data.cpp: SetupKeys, DataRegistry, Data, prepare_anndata
void bind_model(nb::module_& m);     // model.cpp: Model (train, read, save, history)
void bind_analysis(nb::module_& m);  // analysis.cpp: latent, normalized expression, DE, fit, sampling, loadings
void bind_mrvi(nb::module_& m);      // mrvi.cpp: MrviConfig, MrviModel, MRVI inference and analyses
void bind_regvi(nb::module_& m);     // regvi.cpp: RegviKeys, RegviConfig, RegviModel, its inference and DE

// The position of `name` in a trained model's `names` (genes, batches, ...), or a one-line error naming `what`.
int64_t index_of(const std::vector<std::string>& names, const std::string& name, const std::string& what);

// get_normalized_expression's arguments as the workflow's options (library_size none: the latent library),
// checked against the model's registry; every model's binding uses it (analysis.cpp).
workflow::NormalizeOptions normalize_options(const workflow::DataRegistry& reg, std::optional<double> library_size,
                                             int64_t n_samples, const std::vector<std::string>& transform_batch,
                                             const std::vector<std::string>& genes);

// A result table as (index, [(name, values)]) with numpy arrays for numbers and lists for text (analysis.cpp).
nb::tuple table_to_python(const workflow::ResultTable& t);

}  // namespace cuvi::python
