// A corpus of malformed files generated here with the HDF5 C API; each must fail with its own one-line
// cuvi::Error naming the file, the HDF5 path and the problem -- never crash, never succeed.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "io/anndata.h"
#include "io/dataset.h"
#include "io/h5_util.h"
#include "io/inspect.h"
#include "io/mudata.h"
#include "io/validate.h"
#include "tests/io/h5_builder.h"
#include "tests/io/io_test_util.h"

namespace cuvi::test {
namespace {

using io::AnnDataFile;

class IoMalformed : public ::testing::Test {
 protected:
  // Writes a toy file after `edit` and returns its path.
  template <class F>
  std::string toy(const std::string& name, F&& edit) {
    ToyAnnData t = toy_anndata();
    edit(t);
    const std::string f = m_dir.file(name);
    write_toy_h5ad(f, t);
    return f;
  }
  io::CsrMatrix read_x(const std::string& f) { return AnnDataFile::open(f).read_matrix("X"); }
  TempDir m_dir;
};

TEST_F(IoMalformed, NegativeCount) {
  const auto f = toy("neg.h5ad", [](ToyAnnData& t) { t.x->data[3] = -1; });
  EXPECT_IO_ERROR(read_x(f), f + ": /X/data: negative count -1 at row 2, column 1");
}

TEST_F(IoMalformed, NonIntegerCount) {
  const auto f = toy("frac.h5ad", [](ToyAnnData& t) { t.x->data[0] = 0.5; });
  EXPECT_IO_ERROR(read_x(f), "/X/data: non-integer count 0.5 at row 0, column 0; the matrix looks normalised");
  io::ReadOptions o;
  o.require_counts = false;
  EXPECT_EQ(AnnDataFile::open(f).read_matrix("X", o).data[0], 0.5f);
}

// Fractional counts (Salmon/alevin, SoupX) load with one warning naming how many and the first; negative
// and NaN values stay errors under the same option.
TEST_F(IoMalformed, FractionalCountsLoadWithAWarningWhenAllowed) {
  const auto f = toy("frac2.h5ad", [](ToyAnnData& t) {
    t.x->data[2] = 2.25;
    t.x->data[4] = 0.1;
  });
  io::LoadOptions lo;
  EXPECT_IO_ERROR(io::load_dataset(f, lo), "non-integer count 2.25");
  lo.allow_fractional_counts = true;
  const io::Dataset d = io::load_dataset(f, lo);
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_NE(d.warnings[0].find("2 of 6 stored values are not integers (first: 2.25 at row 2, column 0)"),
            std::string::npos) << d.warnings[0];
  EXPECT_NEAR(d.counts.data[4], 0.1, 1e-7);  // held as float32
  EXPECT_TRUE(io::load_dataset(toy("int.h5ad", [](ToyAnnData&) {}), lo).warnings.empty());
  const auto g = toy("fracneg.h5ad", [](ToyAnnData& t) {
    t.x->data[2] = 2.25;
    t.x->data[3] = -1;
  });
  EXPECT_IO_ERROR(io::load_dataset(g, lo), "negative count -1");
}

TEST_F(IoMalformed, NaNAndInf) {
  const auto f = toy("nan.h5ad", [](ToyAnnData& t) { t.x->data[5] = std::nan(""); });
  EXPECT_IO_ERROR(read_x(f), "/X/data: NaN at row 3, column 2");
  const auto g = toy("inf.h5ad", [](ToyAnnData& t) { t.x->data[4] = INFINITY; });
  EXPECT_IO_ERROR(read_x(g), "/X/data: infinite value at row 3, column 1");
  const auto d = toy("densenan.h5ad", [](ToyAnnData& t) {
    t.x.reset();
    t.x_dense = std::vector<double>{1, 0, 2, 0, 0, 0, 3, std::nan(""), 0, 0, 5, 1};
  });
  EXPECT_IO_ERROR(read_x(d), d + ": /X: NaN at row 2, column 1");
}

TEST_F(IoMalformed, CountTooLargeForFloat32) {
  const auto f = toy("big.h5ad", [](ToyAnnData& t) {
    t.x->data_type = "int64";
    t.x->data[2] = 16777217;
  });
  EXPECT_IO_ERROR(read_x(f), "count 16777217 at row 2, column 0 cannot be held exactly in float32");
}

TEST_F(IoMalformed, IndexOutOfRange) {
  const auto f = toy("oob.h5ad", [](ToyAnnData& t) { t.x->indices[1] = 3; });
  EXPECT_IO_ERROR(read_x(f), "/X/indices: column index 3 in row 0 is out of range [0, 3)");
  const auto g = toy("negidx.h5ad", [](ToyAnnData& t) { t.x->indices[4] = -2; });
  EXPECT_IO_ERROR(read_x(g), "column index -2 in row 3 is out of range");
}

TEST_F(IoMalformed, UnsortedAndDuplicateIndices) {
  const auto f = toy("unsorted.h5ad", [](ToyAnnData& t) {
    std::swap(t.x->indices[0], t.x->indices[1]);
    std::swap(t.x->data[0], t.x->data[1]);
  });
  io::ReadOptions strict;
  strict.allow_unsorted_indices = false;
  EXPECT_IO_ERROR(AnnDataFile::open(f).read_matrix("X", strict), "/X/indices: column indices not sorted within row 0 (0 after 2)");
  const io::CsrMatrix x = read_x(f);  // default: sorted on read, values follow their columns
  EXPECT_EQ(x.indices, (std::vector<int32_t>{0, 2, 0, 1, 1, 2}));
  EXPECT_EQ(x.data, (std::vector<float>{1, 2, 3, 1, 5, 1}));
  const auto d = toy("dup.h5ad", [](ToyAnnData& t) { t.x->indices[5] = 1; });
  EXPECT_IO_ERROR(read_x(d), "/X/indices: duplicate column index 1 in row 3");
  const auto d2 = toy("dup2.h5ad", [](ToyAnnData& t) {
    t.x->indptr = {0, 3, 3, 4, 6};
    t.x->indices = {2, 0, 2, 0, 1, 2};
    t.x->data = {1, 1, 1, 3, 5, 1};
  });
  EXPECT_IO_ERROR(read_x(d2), "duplicate column index 2 in row 0");
}

TEST_F(IoMalformed, IndptrProblems) {
  const auto f = toy("nonmono.h5ad", [](ToyAnnData& t) { t.x->indptr = {0, 3, 2, 4, 6}; });
  EXPECT_IO_ERROR(read_x(f), "/X/indptr: not monotonic: indptr[1] = 3 > indptr[2] = 2");
  const auto g = toy("last.h5ad", [](ToyAnnData& t) { t.x->indptr = {0, 2, 2, 4, 5}; });
  EXPECT_IO_ERROR(read_x(g), "/X/indptr: ends at 5 but data has 6 entries (the last indptr must equal nnz)");
  const auto h = toy("first.h5ad", [](ToyAnnData& t) { t.x->indptr = {1, 2, 2, 4, 6}; });
  EXPECT_IO_ERROR(read_x(h), "indptr[0] is 1, expected 0");
  const auto i = toy("len.h5ad", [](ToyAnnData& t) { t.x->indptr = {0, 2, 2, 6}; });
  EXPECT_IO_ERROR(AnnDataFile::open(i), "/X: shape (4, 3) claims 4 rows but indptr has 4 entries (expected 4 + 1)");
}

TEST_F(IoMalformed, DataIndicesLengthMismatch) {
  const auto f = toy("mismatch.h5ad", [](ToyAnnData& t) { t.x->data.pop_back(); });
  EXPECT_IO_ERROR(AnnDataFile::open(f), "/X: data has 5 entries but indices has 6");
}

TEST_F(IoMalformed, ShapeDisagreesWithObsAndVar) {
  const auto f = toy("obs.h5ad", [](ToyAnnData& t) {
    t.obs.push_back("c4");
    t.obs_categoricals.clear();
    t.obs_numbers.clear();
  });
  EXPECT_IO_ERROR(AnnDataFile::open(f), f + ": /X: shape (4, 3) disagrees with obs (5 rows)");
  const auto g = toy("var.h5ad", [](ToyAnnData& t) { t.var.pop_back(); });
  EXPECT_IO_ERROR(AnnDataFile::open(g), "/X: shape (4, 3) disagrees with var (2 rows)");
  const auto h = toy("layer.h5ad", [](ToyAnnData& t) {
    ToySparse l = toy_csr();
    l.shape = {4, 4};
    t.layers["counts"] = l;
  });
  EXPECT_IO_ERROR(AnnDataFile::open(h).read_matrix("counts"), "/layers/counts: shape (4, 4) disagrees with var (3 rows)");
  const auto c = toy("col.h5ad", [](ToyAnnData& t) { t.obs_numbers[0].second.pop_back(); });
  EXPECT_IO_ERROR(AnnDataFile::open(c), "/obs/n_counts: column has 3 values but the index has 4");
}

TEST_F(IoMalformed, AbsurdHeaderSizes) {
  const auto f = toy("huge.h5ad", [](ToyAnnData& t) { t.x->shape = {1000000000000000LL, 3}; });
  EXPECT_IO_ERROR(AnnDataFile::open(f), "shape (1000000000000000, 3) claims 1000000000000000 rows but indptr has 5 entries");
  const auto g = toy("shape3.h5ad", [](ToyAnnData& t) { t.x->shape = {4, 3, 1}; });
  EXPECT_IO_ERROR(AnnDataFile::open(g), "the shape attribute must hold two non-negative integers, found (4, 3, 1)");
  const auto n = toy("negshape.h5ad", [](ToyAnnData& t) { t.x->shape = {4, -3}; });
  EXPECT_IO_ERROR(AnnDataFile::open(n), "the shape attribute must hold two non-negative integers");
  const auto c = toy("cols.h5ad", [](ToyAnnData& t) { t.x->shape = {4, 5000000000LL}; });
  EXPECT_IO_ERROR(AnnDataFile::open(c), "has more than 2^31 - 1 columns");

  // An obs index claiming 10^12 names (chunked, nothing allocated): refused before allocating.
  const std::string h = m_dir.file("hugeindex.h5ad");
  {
    H5Builder b(h);
    b.tag("/", "anndata", "0.1.0");
    b.group("/obs");
    b.attr_string("/obs", "_index", "_index");
    b.attr_empty_floats("/obs", "column-order");
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    b.sparse_extent("/obs/_index", t, {1000000000000ULL});
    H5Tclose(t);
    write_toy_dataframe(b, "/var", {"g0"}, {}, {}, false);
  }
  EXPECT_IO_ERROR(AnnDataFile::open(h), "/obs/_index: the string dataset claims 1000000000000 elements");
  EXPECT_IO_ERROR(AnnDataFile::open(h), "more than the memory budget");

  // indptr with a claimed extent of 10^15 + 1 entries behind a matching shape.
  const std::string p = m_dir.file("hugeptr.h5ad");
  {
    H5Builder b(p);
    write_toy_dataframe(b, "/obs", {"a"}, {}, {}, false);
    write_toy_dataframe(b, "/var", {"g"}, {}, {}, false);
    b.group("/X");
    b.tag("/X", "csr_matrix", "0.1.0");
    b.attr_ints("/X", "shape", {1000000000000000LL, 1});
    b.array("/X/data", std::vector<float>{});
    b.array("/X/indices", std::vector<int32_t>{});
    b.sparse_extent("/X/indptr", H5T_NATIVE_INT64, {1000000000000001ULL});
  }
  const io::Node root = io::Node::root(io::H5File::open_read(p));
  const io::MatrixElement m = io::open_matrix_element(root.open("X"));
  EXPECT_IO_ERROR(io::read_matrix_element(m, {}), "/X: the row pointer of the output claims 1000000000000001 elements");
  EXPECT_IO_ERROR(AnnDataFile::open(p), "/X: shape (1000000000000000, 1) disagrees with obs (1 rows)");

  // A small explicit budget is honoured too.
  io::ReadOptions tiny;
  tiny.memory_budget_bytes = 16;
  EXPECT_IO_ERROR(AnnDataFile::open(toy("ok.h5ad", [](ToyAnnData&) {})).read_matrix("X", tiny),
                  "more than the memory budget of 16.0 B");
}

TEST_F(IoMalformed, MissingLayerObsColumnAndMembers) {
  const auto f = toy("layers.h5ad", [](ToyAnnData& t) {
    t.layers["spliced"] = toy_csr();
    t.layers["unspliced"] = toy_csr();
  });
  const AnnDataFile a = AnnDataFile::open(f);
  EXPECT_IO_ERROR(a.read_matrix("counts"), "layer 'counts' not found in " + f + "; layers: spliced, unspliced");
  EXPECT_IO_ERROR(a.matrix_info("layers/counts"), "layer 'counts' not found in " + f + "; layers: spliced, unspliced");
  EXPECT_IO_ERROR(a.obs().require("batch", a.path()), f + ": column 'batch' not found in obs; columns: cell_type, n_counts");
  EXPECT_IO_ERROR(a.read_matrix("raw"), "raw/X not found (the file has no raw)");
  const auto g = toy("noptr.h5ad", [](ToyAnnData&) {});
  {
    hid_t file = H5Fopen(g.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(file, "/X/indptr", H5P_DEFAULT);
    H5Fclose(file);
  }
  EXPECT_IO_ERROR(AnnDataFile::open(g), "/X: sparse matrix group has no 'indptr' dataset");
  const std::string h = m_dir.file("noobs.h5");
  {
    H5Builder b(h);
    b.group("/foo");
    b.array("/bar", std::vector<int32_t>{1});
  }
  EXPECT_IO_ERROR(io::detect_format(h), "not an AnnData, 10x or MuData file; top-level members: bar, foo");
  EXPECT_IO_ERROR(AnnDataFile::open(h), "not an AnnData group: the file has no obs (members: bar, foo)");
}

TEST_F(IoMalformed, TruncatedEmptyAndNotHdf5) {
  const auto f = toy("trunc.h5ad", [](ToyAnnData&) {});
  std::filesystem::resize_file(f, std::filesystem::file_size(f) * 6 / 10);
  EXPECT_IO_ERROR(AnnDataFile::open(f), f + ": cannot open as HDF5 (truncated or corrupt file?)");
  const std::string e = m_dir.file("empty.h5ad");
  std::ofstream(e).close();
  EXPECT_IO_ERROR(AnnDataFile::open(e), e + ": not an HDF5 file");
  const std::string t = m_dir.file("text.h5ad");
  std::ofstream(t) << "cell,gene,count\nc0,g0,1\n";
  EXPECT_IO_ERROR(io::load_dataset(t), t + ": not an HDF5 file (no HDF5 signature)");
  EXPECT_IO_ERROR(AnnDataFile::open(m_dir.file("absent.h5ad")), "absent.h5ad: no such file");
  EXPECT_IO_ERROR(AnnDataFile::open(m_dir.path()), "is a directory");
}

size_t identity_filter(unsigned, size_t, const unsigned[], size_t nbytes, size_t*, void**) { return nbytes; }

TEST_F(IoMalformed, UnknownCompressionFilter) {
  io::h5_init();
  static const H5Z_class2_t cls = {H5Z_CLASS_T_VERS, 32015, 1, 1, "zstd stand-in", nullptr, nullptr, identity_filter};
  ASSERT_GE(H5Zregister(&cls), 0);
  const auto f = toy("zstd.h5ad", [](ToyAnnData& t) { t.x->data_filter = 32015; });
  ASSERT_GE(H5Zunregister(32015), 0);
  EXPECT_IO_ERROR(read_x(f), f + ": /X/data: compressed with HDF5 filter 32015 (zstd), which this build cannot decode");
  std::ostringstream sink;
  EXPECT_IO_ERROR(io::inspect_file(f, sink), "HDF5 filter 32015 (zstd)");
}

TEST_F(IoMalformed, WrongTypesAndCategoricalCodes) {
  const auto f = toy("floatidx.h5ad", [](ToyAnnData&) {});
  {
    hid_t file = H5Fopen(f.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(file, "/X/indices", H5P_DEFAULT);
    const hsize_t n = 6;
    hid_t sp = H5Screate_simple(1, &n, nullptr);
    hid_t ds = H5Dcreate2(file, "/X/indices", H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const float v[6] = {0, 2, 0, 1, 1, 2};
    H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Dclose(ds);
    H5Sclose(sp);
    H5Fclose(file);
  }
  EXPECT_IO_ERROR(AnnDataFile::open(f), "/X/indices: indices must be integers, found float32");
  const std::string c = m_dir.file("codes.h5ad");
  {
    H5Builder b(c);
    b.tag("/", "anndata", "0.1.0");
    write_toy_dataframe(b, "/obs", {"a", "b"}, {{"ct", {"x", "y"}}}, {}, false);
    write_toy_dataframe(b, "/var", {"g"}, {}, {}, false);
    H5Ldelete(b.id(), "/obs/ct/codes", H5P_DEFAULT);
    b.array("/obs/ct/codes", std::vector<int8_t>{0, 5});
  }
  EXPECT_IO_ERROR(AnnDataFile::open(c), "/obs/ct/codes: categorical code 5 at row 1 is out of range (2 categories)");
  const std::string s = m_dir.file("strx.h5ad");
  {
    H5Builder b(s);
    write_toy_dataframe(b, "/obs", {"a"}, {}, {}, false);
    write_toy_dataframe(b, "/var", {"g"}, {}, {}, false);
    b.strings("/X", {"oops"});
  }
  EXPECT_IO_ERROR(AnnDataFile::open(s), "/X: expected a 2-d matrix, found shape (1)");
  const std::string g = m_dir.file("groupx.h5ad");
  {
    H5Builder b(g);
    write_toy_dataframe(b, "/obs", {"a"}, {}, {}, false);
    write_toy_dataframe(b, "/var", {"g"}, {}, {}, false);
    b.group("/X");
    b.tag("/X", "dict", "0.1.0");
  }
  EXPECT_IO_ERROR(AnnDataFile::open(g), "/X: encoding 'dict' is not a matrix");
}

TEST_F(IoMalformed, GeneListsThatDoNotMatch) {
  EXPECT_NO_THROW(io::check_same_genes({"a", "b", "c"}, {"a", "b", "c"}, "f.h5ad"));
  EXPECT_IO_ERROR(io::check_same_genes({"a", "b", "c"}, {"a", "c", "b"}, "f.h5ad"),
                  "f.h5ad: the file has the model's 3 genes in a different order (first difference at position 1: model 'b', file 'c')");
  EXPECT_IO_ERROR(io::check_same_genes({"a", "b", "c", "d"}, {"a", "x", "c"}, "f.h5ad"),
                  "f.h5ad: genes do not match the model: model has 4, file has 3, 2 in common; first difference at position 1: "
                  "model 'b', file 'x'; missing from the file: b, d; not in the model: x");
}

TEST_F(IoMalformed, AllZeroCellsAreCountedNotRejected) {
  const auto f = toy("zero.h5ad", [](ToyAnnData&) {});
  const io::CountsSummary s = io::summarize_counts(read_x(f));
  EXPECT_EQ(s.all_zero_cells, 1);
  EXPECT_EQ(s.all_zero_genes, 0);
  EXPECT_EQ(s.nnz, 6);
  EXPECT_EQ(s.max_value, 5);
  EXPECT_EQ(s.total, 13);
  const io::Dataset d = io::load_dataset(f);
  EXPECT_EQ(d.notes, (std::vector<std::string>{"1 of 4 cells have no counts"}));
}

}  // namespace
}  // namespace cuvi::test
