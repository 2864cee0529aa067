// Drives every io reader over one file the way the CLI would; cuvi::Error is the only acceptable failure.
// Shared by the libFuzzer target (fuzz_readers.cpp) and the regression replay test (tests/io/test_fuzz_regressions.cpp).
#pragma once
#include <hdf5.h>

#include <sstream>
#include <string>

#include "engine/error.h"
#include "io/anndata.h"
#include "io/dataset.h"
#include "io/inspect.h"
#include "io/mudata.h"
#include "io/tenx.h"

namespace cuvi::fuzz {

// Runs f; swallows cuvi::Error (a clean rejection). Anything else propagates to the caller.
template <class F>
void clean(F&& f) {
  try {
    f();
  } catch (const cuvi::Error&) {
  }
}

inline void exercise_anndata(const io::AnnDataFile& a) {
  std::vector<std::string> which = {"X", "raw"};
  for (const auto& l : a.layers()) which.push_back(l);
  for (const auto& w : which) {
    clean([&] { a.matrix_info(w); });
    clean([&] { a.scan_matrix(w); });
    clean([&] { a.read_matrix(w); });
    clean([&] {
      io::ReadOptions o;
      o.require_counts = false;
      o.rows = std::vector<int64_t>{a.n_obs() - 1, 0, -1, 0};
      o.cols = std::vector<int64_t>{a.n_vars() - 1, 0};
      a.read_matrix(w, o);
    });
  }
  clean([&] { a.raw_var(); });
  clean([&] {
    for (const auto& k : a.obsm_keys()) clean([&] {
        int64_t n = 0;
        a.read_obsm(k, &n);
      });
  });
  clean([&] { a.obsm_info(); });
  clean([&] { a.uns_keys(); });
}

inline void exercise_readers(const std::string& path) {
  clean([&] {
    std::ostringstream sink;
    io::inspect_file(path, sink);
  });
  clean([&] { io::load_dataset(path); });
  clean([&] {
    switch (io::detect_format(path)) {
      case io::FileFormat::AnnData:
        exercise_anndata(io::AnnDataFile::open(path));
        break;
      case io::FileFormat::Tenx:
        for (const auto& g : io::describe_10x_h5(path).groups) {
          for (const auto& ft : g.feature_types) clean([&] {
              io::TenxOptions o;
              o.genome = g.genome;
              o.feature_type = ft.first;
              o.rows = std::vector<int64_t>{0, -1};
              io::read_10x_h5(path, o);
            });
          clean([&] {
            io::TenxOptions o;
            o.genome = g.genome;
            io::read_10x_h5(path, o);
          });
        }
        break;
      case io::FileFormat::MuData: {
        const io::MuDataFile mu = io::MuDataFile::open(path);
        for (const auto& m : mu.modalities()) {
          exercise_anndata(mu.modality(m));
          clean([&] { mu.read_aligned(m); });
          clean([&] {
            io::LoadOptions lo;
            lo.modality = m;
            io::load_dataset(path, lo);
          });
        }
        break;
      }
    }
  });
}

// Identifiers still open on files (files, groups, datasets, attributes) after the readers ran; the
// process-wide vlen string memory types are not file objects and are not counted.
inline ssize_t open_hdf5_objects() {
  return H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE | H5F_OBJ_DATASET | H5F_OBJ_GROUP | H5F_OBJ_ATTR);
}

}  // namespace cuvi::fuzz
