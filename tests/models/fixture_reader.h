// Reading scvi-tools parity fixtures (tools/fixtures/README.md layout) in tests: tensors by path,
// scalar attributes, and the fixture directory (skips cleanly when fixtures are absent).
#pragma once
#include <hdf5.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "engine/tensor.h"
#include "io/h5_util.h"

namespace cuvi::test {

struct HostArray {
  Shape shape;
  std::vector<float> v;
};

inline std::string fixture_dir(const std::string& sub) {
  const char* env = std::getenv("CUVI_SOURCE_DIR");
  std::string root = env ? env : CUVI_SOURCE_DIR;
  return root + "/tests/fixtures/" + sub;
}

inline HostArray read_array(const io::Node& ds) {
  HostArray a;
  const std::vector<int64_t> dims = ds.dims();
  if (dims.empty()) {  // scalar dataset
    double x = 0;
    H5Dread(ds.id(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &x);
    a.v = {float(x)};
    a.shape = Shape{1};
    return a;
  }
  for (int64_t d : dims) a.shape.d[a.shape.ndim++] = d;
  std::vector<double> tmp(static_cast<size_t>(a.shape.numel()));
  if (dims.size() <= 1) {
    if (!tmp.empty()) io::read_range(ds, 0, int64_t(tmp.size()), tmp.data());
  } else if (dims.size() > 2) {  // attention-dropout masks (B, H, T, T): one whole read
    ds.check_readable();
    if (H5Dread(ds.id(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, tmp.data()) < 0)
      ds.fail("cannot read the dataset");
  } else {
    io::read_rows(ds, 0, dims[0], tmp.data());
  }
  a.v.assign(tmp.begin(), tmp.end());
  return a;
}

inline double attr_double(const io::Node& n, const std::string& name) {
  io::H5Handle a(H5Aopen(n.id(), name.c_str(), H5P_DEFAULT));
  double x = 0;
  H5Aread(a.get(), H5T_NATIVE_DOUBLE, &x);
  return x;
}

}  // namespace cuvi::test
