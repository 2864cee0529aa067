// netCDF-4 writer (io/netcdf_writer): the HDF5 layout netCDF readers rely on (dimension scales with
// _Netcdf4Dimid, attached variables), streamed rows, refusal of bad writes without leaving a file, and
// xarray.open_dataset reading back the names, dimensions, coordinates, values, booleans and strings.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <hdf5_hl.h>

#include <filesystem>
#include <fstream>

#include "engine/error.h"
#include "io/netcdf_writer.h"
#include "tests/io/io_test_util.h"

namespace cuvi::test {
namespace {

// A small Dataset shaped like MRVI's local sample distances: dims cell_name (5, strings), sample_x /
// sample_y (3, strings), a dim without coordinate (latent_dim 2), an integer coordinate (mc_sample 4), a
// string variable (one Newick tree per sample).
void write_example(const std::string& path) {
  io::NetcdfWriter w(path);
  w.coordinate("cell_name", std::vector<std::string>{"AAAC-1", "AAAG-1", "cellé", "c3", "c4"});
  const std::vector<std::string> samples = {"donor_0", "donor_1", "donor_2"};
  w.coordinate("sample_x", samples);
  w.coordinate("sample_y", samples);
  w.dimension("latent_dim", 2);
  w.coordinate("mc_sample", std::vector<int64_t>{0, 1, 2, 3});
  w.variable("cell", {"cell_name", "sample_x", "sample_y"}, io::NcType::F32);
  w.variable("rep", {"cell_name", "latent_dim"}, io::NcType::F64);
  w.variable("is_admissible", {"cell_name", "sample_x"}, io::NcType::Bool);
  w.variable("draws", {"mc_sample"}, io::NcType::F32);
  w.variable("tree", {"sample_x"}, io::NcType::String);
  std::vector<float> cell(45);
  for (int i = 0; i < 45; ++i) cell[size_t(i)] = float(i) * 0.5f;
  w.write_rows("cell", 0, 2, cell.data());  // streamed: rows 0-1, then 2-4
  w.write_rows("cell", 2, 3, cell.data() + 18);
  const std::vector<double> rep = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  w.write("rep", rep.data());
  std::vector<uint8_t> adm(15);
  for (int i = 0; i < 15; ++i) adm[size_t(i)] = uint8_t(i % 3 == 0);
  w.write("is_admissible", adm.data());
  const std::vector<float> draws = {0.25f, -1, 2, 8};
  w.write("draws", draws.data());
  w.write("tree", std::vector<std::string>{"(a:1,b:1);", "", "('donor é':0.5,c:0.5);"});
  w.attribute("", "source", "cuvi test");
  w.commit();
}

TEST(IoNetcdf, DimensionScalesAndAttachedVariables) {
  TempDir dir;
  const std::string path = dir.file("ds.nc");
  write_example(path);
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  EXPECT_GT(H5Aexists(f, "_NCProperties"), 0);
  const hid_t cell_name = H5Dopen2(f, "cell_name", H5P_DEFAULT), latent = H5Dopen2(f, "latent_dim", H5P_DEFAULT);
  const hid_t cell = H5Dopen2(f, "cell", H5P_DEFAULT);
  EXPECT_GT(H5DSis_scale(cell_name), 0);
  EXPECT_GT(H5DSis_scale(latent), 0);
  EXPECT_GT(H5Aexists(latent, "_Netcdf4Dimid"), 0);
  char name[128] = {};
  H5DSget_scale_name(latent, name, sizeof name);
  EXPECT_EQ(std::string(name).rfind("This is a netCDF dimension but not a netCDF variable.", 0), 0u) << name;
  EXPECT_EQ(H5DSget_num_scales(cell, 0), 1);
  EXPECT_GT(H5DSis_attached(cell, cell_name, 0), 0);
  float back[45];
  H5Dread(cell, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, back);
  for (int i = 0; i < 45; ++i) EXPECT_EQ(back[i], float(i) * 0.5f) << i;
  H5Dclose(cell);
  H5Dclose(latent);
  H5Dclose(cell_name);
  H5Fclose(f);
}

TEST(IoNetcdf, BadWritesFailAndLeaveNoFile) {
  TempDir dir;
  const std::string path = dir.file("bad.nc");
  try {
    io::NetcdfWriter w(path);
    w.dimension("cell_name", 3);
    w.variable("x", {"cell_name", "nope"}, io::NcType::F32);
    FAIL() << "an undefined dimension must be an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("undefined dimension 'nope'"), std::string::npos) << e.what();
  }
  try {
    io::NetcdfWriter w(path);
    w.dimension("cell_name", 3);
    w.variable("s", {"cell_name"}, io::NcType::String);
    w.write("s", std::vector<std::string>{"a", "b"});
    FAIL() << "too few strings must be an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("holds 3 strings, got 2"), std::string::npos) << e.what();
  }
  try {
    io::NetcdfWriter w(path);
    w.dimension("cell_name", 3);
    w.variable("x", {"cell_name"}, io::NcType::F32);
    const float v[4] = {1, 2, 3, 4};
    w.write_rows("x", 2, 2, v);
    FAIL() << "rows past the end must be an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("outside the variable"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path())) << "no file (or temporary file) may remain";
}

const char* kScript = R"PY(
import sys, warnings
warnings.filterwarnings("ignore")
import numpy as np, xarray as xr
ds = xr.open_dataset(sys.argv[1])
assert set(ds.data_vars) == {"cell", "rep", "is_admissible", "draws", "tree"}, list(ds.data_vars)
assert ds["cell"].dims == ("cell_name", "sample_x", "sample_y")
assert ds["rep"].dims == ("cell_name", "latent_dim")
assert list(ds.cell_name.values) == ["AAAC-1", "AAAG-1", "cellé", "c3", "c4"]
assert list(ds.sample_x.values) == ["donor_0", "donor_1", "donor_2"]
assert "latent_dim" not in ds.coords and ds.sizes["latent_dim"] == 2
assert list(ds.mc_sample.values) == [0, 1, 2, 3]
assert ds["cell"].dtype == np.float32 and ds["rep"].dtype == np.float64
assert np.array_equal(ds["cell"].values.ravel(), np.arange(45, dtype=np.float32) * 0.5)
assert float(ds["cell"].sel(cell_name="cellé", sample_x="donor_1", sample_y="donor_2")) == 0.5 * (18 + 5)
assert ds["is_admissible"].dtype == bool, ds["is_admissible"].dtype
assert ds["is_admissible"].values.sum() == 5
assert ds.attrs["source"] == "cuvi test"
assert ds["tree"].dims == ("sample_x",)
assert list(ds["tree"].values) == ["(a:1,b:1);", "", "('donor é':0.5,c:0.5);"], ds["tree"].values
import netCDF4
nc = netCDF4.Dataset(sys.argv[1])
assert list(nc.dimensions) == ["cell_name", "sample_x", "sample_y", "latent_dim", "mc_sample"], list(nc.dimensions)
print("OK", dict(ds.sizes))
)PY";

TEST(IoNetcdfPython, XarrayOpensOurDatasets) {
  CUVI_PYTHON_OR_SKIP(py, "xarray, netCDF4");
  TempDir dir;
  const std::string path = dir.file("ds.nc");
  write_example(path);
  const std::string script = dir.file("check.py");
  std::ofstream(script) << kScript;
  std::string out;
  const int rc = run_command(py + " " + script + " " + path, &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("OK {"), std::string::npos) << out;
}

}  // namespace
}  // namespace cuvi::test
