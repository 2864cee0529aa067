// Every file in ../shared/data (format fixtures and real data sets) round-trips: read X/obs/var/obsm,
// write a new minimal .h5ad, read it back, and compare shapes, values, names, codes and categories.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "io/anndata.h"
#include "io/dataset.h"
#include "io/h5ad_writer.h"
#include "io/mudata.h"
#include "io/tenx.h"
#include "tests/io/io_test_util.h"

namespace cuvi::test {
namespace {

using io::Column;
using io::ColumnKind;
using io::CsrMatrix;
using io::DataFrame;

struct Unit {
  std::string label;
  DataFrame obs, var;
  std::optional<CsrMatrix> x;
  std::vector<std::pair<std::string, std::pair<std::vector<float>, int64_t>>> obsm;
};

Unit anndata_unit(const io::AnnDataFile& a, const std::string& label) {
  Unit u;
  u.label = label;
  u.obs = a.obs();
  u.var = a.var();
  io::ReadOptions o;
  o.require_counts = false;
  if (a.has_x()) u.x = a.read_matrix("X", o);
  for (const auto& info : a.obsm_info()) {
    if (info.kind != "dense" || info.n_rows != a.n_obs() || info.n_cols == 0) continue;
    int64_t k = 0;
    auto v = a.read_obsm(info.name, &k);
    u.obsm.push_back({info.name, {std::move(v), k}});
  }
  return u;
}

std::vector<Unit> units_of(const std::string& path) {
  std::vector<Unit> out;
  switch (io::detect_format(path)) {
    case io::FileFormat::AnnData:
      out.push_back(anndata_unit(io::AnnDataFile::open(path), "h5ad"));
      break;
    case io::FileFormat::MuData: {
      const io::MuDataFile mu = io::MuDataFile::open(path);
      for (const auto& m : mu.modalities()) out.push_back(anndata_unit(mu.modality(m), "mod/" + m));
      break;
    }
    case io::FileFormat::Tenx: {
      for (const auto& g : io::describe_10x_h5(path).groups) {
        io::TenxOptions o;
        o.genome = g.genome;
        io::TenxData d = io::read_10x_h5(path, o);
        Unit u;
        u.label = g.group;
        u.obs = std::move(d.obs);
        u.var = std::move(d.var);
        u.x = std::move(d.counts);
        out.push_back(std::move(u));
      }
      break;
    }
  }
  return out;
}

bool same_number(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

void expect_same_frame(const DataFrame& a, const DataFrame& b, const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_EQ(a.index, b.index);
  ASSERT_EQ(a.columns.size(), b.columns.size());
  for (size_t c = 0; c < a.columns.size(); ++c) {
    const Column& x = a.columns[c];
    const Column& y = b.columns[c];
    SCOPED_TRACE(x.name);
    ASSERT_EQ(x.name, y.name);
    ASSERT_EQ(x.size(), y.size());
    if (x.kind == ColumnKind::String) {  // stored back as a categorical, same values
      ASSERT_EQ(y.kind, ColumnKind::Categorical);
      for (int64_t i = 0; i < x.size(); ++i) ASSERT_EQ(x.text(i), y.text(i)) << "row " << i;
      continue;
    }
    ASSERT_EQ(int(x.kind), int(y.kind));
    if (x.kind == ColumnKind::Categorical) {
      EXPECT_EQ(x.cat.categories, y.cat.categories);
      EXPECT_EQ(x.cat.codes, y.cat.codes);
      EXPECT_EQ(x.cat.ordered, y.cat.ordered);
    } else {
      EXPECT_EQ(x.is_integer, y.is_integer);
      for (size_t i = 0; i < x.numeric.size(); ++i)
        ASSERT_TRUE(same_number(x.numeric[i], y.numeric[i])) << "row " << i << ": " << x.numeric[i] << " vs " << y.numeric[i];
    }
  }
}

void round_trip(const std::string& path) {
  TempDir dir;
  const auto units = units_of(path);
  ASSERT_FALSE(units.empty());
  for (const Unit& u : units) {
    SCOPED_TRACE(u.label);
    const std::string out = dir.file("rt.h5ad");
    {
      io::H5adWriter w = io::H5adWriter::create(out, u.obs, u.var);
      if (u.x) w.set_x(*u.x);
      for (const auto& [name, m] : u.obsm) w.add_obsm(name, m.first.data(), u.obs.n_rows(), m.second);
      w.commit();
    }
    const io::AnnDataFile back = io::AnnDataFile::open(out);
    expect_same_frame(u.obs, back.obs(), "obs");
    expect_same_frame(u.var, back.var(), "var");
    ASSERT_EQ(u.x.has_value(), back.has_x());
    if (u.x) {
      io::ReadOptions o;
      o.require_counts = false;
      const CsrMatrix y = back.read_matrix("X", o);
      EXPECT_EQ(u.x->n_rows, y.n_rows);
      EXPECT_EQ(u.x->n_cols, y.n_cols);
      EXPECT_EQ(u.x->indptr, y.indptr);
      EXPECT_EQ(u.x->indices, y.indices);
      EXPECT_EQ(u.x->data, y.data);
    }
    ASSERT_EQ(back.obsm_keys().size(), u.obsm.size());
    for (const auto& [name, m] : u.obsm) {
      int64_t k = 0;
      EXPECT_EQ(back.read_obsm(name, &k), m.first) << name;
      EXPECT_EQ(k, m.second) << name;
    }
  }
}

std::vector<std::string> data_files() {
  std::vector<std::string> files;
  const std::string root = shared_data_dir();
  if (root.empty()) return {"(no shared data)"};
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    const std::string ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".h5ad" || ext == ".h5" || ext == ".h5mu"))
      files.push_back(std::filesystem::relative(e.path(), root).string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

class IoRoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(IoRoundTrip, ReadWriteReadIsIdentical) {
  CUVI_DATA_OR_SKIP(data);
  round_trip(data + "/" + GetParam());
}

INSTANTIATE_TEST_SUITE_P(IoData, IoRoundTrip, ::testing::ValuesIn(data_files()),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string s = p.param;
                           for (char& c : s)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return s;
                         });

TEST(IoRoundTripCoverage, EveryFixtureFolderIsCovered) {
  CUVI_DATA_OR_SKIP(data);
  const auto files = data_files();
  for (const char* must : {"format-fixtures/anndata-archives/adata_v0.5.0.h5ad", "format-fixtures/10x-h5/cellranger_v2_multiple_genomes.h5",
                           "format-fixtures/mudata-archives/mdata_v0.4.1_axis1.h5mu", "multiome-pbmc-muon-tiny/test_rna_atac.h5mu",
                           "pbmc-kang2018/pbmc_kang2018_ctrl_8donors_12261cells.h5ad"})
    EXPECT_NE(std::find(files.begin(), files.end(), must), files.end()) << must;
  EXPECT_GE(files.size(), 25u);
}

}  // namespace
}  // namespace cuvi::test
