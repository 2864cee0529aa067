// MuData reader: every mudata archive generation, nullable-string indices, obsmap (1-based, 0 = missing)
// and obs-name alignment with missing cells kept as empty rows (what MULTIVI needs), and error cases.
#include <gtest/gtest.h>

#include "io/dataset.h"
#include "io/mudata.h"
#include "tests/io/h5_builder.h"
#include "tests/io/io_test_util.h"

namespace cuvi::test {
namespace {

using io::CsrMatrix;
using io::MuDataFile;

std::vector<float> dense_row(const CsrMatrix& m, int64_t r) {
  std::vector<float> d(size_t(m.n_cols), 0.f);
  for (int64_t q = m.indptr[r]; q < m.indptr[r + 1]; ++q) d[size_t(m.indices[q])] = m.data[q];
  return d;
}

io::ReadOptions values_only() {
  io::ReadOptions o;
  o.require_counts = false;
  return o;
}

TEST(IoMudata, ArchivesOfEveryGenerationOpen) {
  CUVI_DATA_OR_SKIP(data);
  for (const char* v : {"0.1.2", "0.2.4", "0.3.10", "0.4.1"}) {
    SCOPED_TRACE(v);
    const MuDataFile mu = MuDataFile::open(data + "/format-fixtures/mudata-archives/mdata_v" + v + "_axis0.h5mu");
    EXPECT_EQ(mu.axis(), 0);
    EXPECT_EQ(mu.modalities(), (std::vector<std::string>{"mod2", "mod1"}));  // mod-order, not storage order
    EXPECT_EQ(mu.encoder(), std::string("mudata ") + v);
    EXPECT_EQ(mu.n_obs(), 100);
    EXPECT_EQ(mu.modality("mod1").obs().index_name, "fizz");
    EXPECT_EQ(mu.modality("mod1").obs().index[1], "obs_1");
    EXPECT_EQ(mu.modality("mod2").var().index_name, "buzz");
    EXPECT_EQ(mu.modality("mod1").n_vars(), 20);
    EXPECT_EQ(mu.alignment("mod1"), "obsmap");
    const auto& map = mu.row_map("mod1");
    for (int64_t i = 0; i < 100; ++i) ASSERT_EQ(map[size_t(i)], i);
    const auto& ft = mu.modality("mod1").var().require("feature_type", "mod1", "var");
    EXPECT_EQ(ft.cat.categories, (std::vector<std::string>{"mod1"}));
  }
}

TEST(IoMudata, Axis1ObsmapLeavesMissingCellsEmpty) {
  CUVI_DATA_OR_SKIP(data);
  const MuDataFile mu = MuDataFile::open(data + "/format-fixtures/mudata-archives/mdata_v0.4.1_axis1.h5mu");
  EXPECT_EQ(mu.axis(), 1);
  ASSERT_EQ(mu.n_obs(), 200);
  EXPECT_EQ(mu.obs().index[0], "mod2_obs_0");    // nullable-string-array index
  EXPECT_EQ(mu.obs().index[100], "mod1_obs_0");
  const auto& m1 = mu.row_map("mod1");
  const auto& m2 = mu.row_map("mod2");
  EXPECT_EQ(m1[0], -1);
  EXPECT_EQ(m1[99], -1);
  EXPECT_EQ(m1[100], 0);
  EXPECT_EQ(m1[102], 2);
  EXPECT_EQ(m2[0], 0);
  EXPECT_EQ(m2[99], 99);
  EXPECT_EQ(m2[100], -1);
  const CsrMatrix a1 = mu.read_aligned("mod1", "", values_only());
  ASSERT_EQ(a1.n_rows, 200);
  EXPECT_EQ(a1.indptr[100], 0);  // the first 100 global cells are missing from mod1
  const auto row = dense_row(a1, 100);
  EXPECT_FLOAT_EQ(row[1], 0.1f);
  EXPECT_FLOAT_EQ(row[2], 0.2f);
  const CsrMatrix a2 = mu.read_aligned("mod2");
  EXPECT_EQ(dense_row(a2, 0)[0], 101.f);
  EXPECT_EQ(dense_row(a2, 0)[2], 103.f);
  EXPECT_EQ(a2.indptr[200] - a2.indptr[100], 0);
  EXPECT_IO_ERROR(mu.read_aligned("mod1"), "non-integer count 0.1 at row 0, column 1");
}

TEST(IoMudata, MuonMultiomeAlignsByIdentity) {
  CUVI_DATA_OR_SKIP(data);
  const std::string f = data + "/multiome-pbmc-muon-tiny/test_rna_atac.h5mu";
  const MuDataFile mu = MuDataFile::open(f);
  EXPECT_EQ(mu.encoder(), "");
  EXPECT_EQ(mu.modalities(), (std::vector<std::string>{"atac", "rna"}));
  EXPECT_EQ(mu.alignment("rna"), "identity");
  const CsrMatrix rna = mu.read_aligned("rna");
  const CsrMatrix atac = mu.read_aligned("atac");
  EXPECT_EQ(rna.n_rows, 1000);
  EXPECT_EQ(rna.n_cols, 45);
  EXPECT_EQ(rna.nnz(), 14512);
  EXPECT_EQ(atac.n_cols, 174);
  EXPECT_EQ(atac.nnz(), 15416);
  EXPECT_EQ(mu.modality("atac").var().require("feature_types", f, "var").cat.categories,
            (std::vector<std::string>{"Peaks"}));
  io::LoadOptions lo;
  lo.modality = "rna";
  const io::Dataset d = io::load_dataset(f, lo);
  EXPECT_EQ(d.format, io::FileFormat::MuData);
  EXPECT_EQ(d.source, "/mod/rna/X");
  EXPECT_EQ(d.counts.nnz(), 14512);
  EXPECT_EQ(d.var.index[1], "CD2");
  EXPECT_IO_ERROR(io::load_dataset(f), "the file holds 2 modalities (atac, rna); choose one");
  lo.modality = "prot";
  EXPECT_IO_ERROR(io::load_dataset(f, lo), "modality 'prot' not found; modalities: atac, rna");
}

// Partially paired file without obsmap: alignment through obs names.
void write_partial(const std::string& file, bool duplicate_names, bool bad_obsmap,
                   const std::vector<std::string>& mod_order = {"rna", "atac"}) {
  H5Builder b(file);
  b.tag("/", "MuData", "0.1.0");
  write_toy_dataframe(b, "/obs", {"a", "b", "c", "d"}, {}, {}, false);
  write_toy_dataframe(b, "/var", {"g0", "g1", "g2", "p0", "p1"}, {}, {}, false);
  b.group("/mod");
  b.attr_strings("/mod", "mod-order", mod_order);
  ToyAnnData rna;
  rna.obs = {"a", "b", "c"};
  rna.var = {"g0", "g1", "g2"};
  ToySparse r;
  r.shape = {3, 3};
  r.indptr = {0, 1, 2, 3};
  r.indices = {0, 1, 2};
  r.data = {1, 2, 3};
  b.group("/mod/rna");
  b.tag("/mod/rna", "anndata", "0.1.0");
  write_toy_dataframe(b, "/mod/rna/obs", rna.obs, {}, {}, false);
  write_toy_dataframe(b, "/mod/rna/var", rna.var, {}, {}, false);
  write_toy_sparse(b, "/mod/rna/X", r);
  ToySparse a;
  a.shape = {2, 2};
  a.indptr = {0, 1, 2};
  a.indices = {0, 1};
  a.data = {7, 9};
  b.group("/mod/atac");
  b.tag("/mod/atac", "anndata", "0.1.0");
  write_toy_dataframe(b, "/mod/atac/obs", duplicate_names ? std::vector<std::string>{"d", "d"} : std::vector<std::string>{"d", "b"},
                      {}, {}, false);
  write_toy_dataframe(b, "/mod/atac/var", {"p0", "p1"}, {}, {}, false);
  write_toy_sparse(b, "/mod/atac/X", a);
  if (bad_obsmap) b.array("/obsmap/rna", std::vector<uint32_t>{1, 2, 3, 4});
}

TEST(IoMudata, PartiallyPairedCellsAlignByName) {
  TempDir dir;
  write_partial(dir.file("p.h5mu"), false, false);
  const MuDataFile mu = MuDataFile::open(dir.file("p.h5mu"));
  EXPECT_EQ(mu.modalities(), (std::vector<std::string>{"rna", "atac"}));
  EXPECT_EQ(mu.alignment("atac"), "obs_names");
  EXPECT_EQ(mu.row_map("rna"), (std::vector<int64_t>{0, 1, 2, -1}));
  EXPECT_EQ(mu.row_map("atac"), (std::vector<int64_t>{-1, 1, -1, 0}));
  const CsrMatrix atac = mu.read_aligned("atac");
  EXPECT_EQ(atac.indptr, (std::vector<int64_t>{0, 0, 1, 1, 2}));
  EXPECT_EQ(atac.data, (std::vector<float>{9, 7}));
  io::ReadOptions o;
  o.rows = std::vector<int64_t>{3, 1};
  const CsrMatrix sub = mu.read_aligned("rna", "X", o);
  EXPECT_EQ(sub.indptr, (std::vector<int64_t>{0, 0, 1}));
  EXPECT_EQ(sub.data, (std::vector<float>{2}));
}

TEST(IoMudata, AlignmentErrors) {
  TempDir dir;
  write_partial(dir.file("dup.h5mu"), true, false);
  EXPECT_IO_ERROR(MuDataFile::open(dir.file("dup.h5mu")),
                  "cannot align modality 'atac' to the global cells: its obs names are not unique ('d' repeats)");
  write_partial(dir.file("bad.h5mu"), false, true);
  EXPECT_IO_ERROR(MuDataFile::open(dir.file("bad.h5mu")),
                  "/obsmap/rna: value 4 at global cell 3 is out of range (modality 'rna' has 3 cells; 1-based, 0 = missing)");
}

// mod-order naming a modality that /mod lacks is an error naming it, even when another modality is chosen.
TEST(IoMudata, ModOrderNamingAnAbsentModalityIsAnError) {
  TempDir dir;
  write_partial(dir.file("order.h5mu"), false, false, {"rna", "prot", "atac"});
  EXPECT_IO_ERROR(MuDataFile::open(dir.file("order.h5mu")),
                  "attribute 'mod-order' names modality 'prot', which is absent; modalities stored: atac, rna");
  io::LoadOptions lo;
  lo.modality = "rna";
  EXPECT_IO_ERROR(io::load_dataset(dir.file("order.h5mu"), lo), "names modality 'prot', which is absent");
  // A mod-order that leaves a stored modality out is only an order: the file opens.
  write_partial(dir.file("subset.h5mu"), false, false, {"rna"});
  EXPECT_EQ(MuDataFile::open(dir.file("subset.h5mu")).modalities(), (std::vector<std::string>{"atac", "rna"}));
}

}  // namespace
}  // namespace cuvi::test
