// obsp through H5adWriter and AnnDataFile: pairwise CSR matrices with rows in any column order (scanpy's
// distances keep neighbour order) written as csr_matrix 0.1.0, read back with sorted rows; shape and
// structure errors name the element; absent keys list the ones present.
#include <gtest/gtest.h>

#include "engine/error.h"
#include "io/anndata.h"
#include "io/h5ad_writer.h"
#include "tests/io/io_test_util.h"

namespace cuvi::test {
namespace {

io::CsrMatrix neighbour_order() {  // 3 cells, row 0 lists column 2 before column 1
  io::CsrMatrix m;
  m.n_rows = m.n_cols = 3;
  m.indptr = {0, 2, 3, 4};
  m.indices = {2, 1, 0, 0};
  m.data = {0.5f, 1.5f, 0.25f, 2.f};
  return m;
}

TEST(IoObsp, WritesUnsortedRowsAndReadsThemSorted) {
  TempDir dir;
  const std::string out = dir.file("obsp.h5ad");
  {
    io::H5adWriter w = io::H5adWriter::create(out, {"c0", "c1", "c2"}, {"g0"});
    w.add_obsp_csr("distances", neighbour_order());
    w.add_uns_string("neighbors/distances_key", "distances");
    w.add_uns_integer("neighbors/params/n_neighbors", 2);
    w.commit();
  }
  const io::AnnDataFile f = io::AnnDataFile::open(out);
  EXPECT_EQ(f.obsp_keys(), std::vector<std::string>{"distances"});
  const io::CsrMatrix m = f.read_obsp("distances");
  EXPECT_EQ(m.indptr, (std::vector<int64_t>{0, 2, 3, 4}));
  EXPECT_EQ(m.indices, (std::vector<int32_t>{1, 2, 0, 0}));
  EXPECT_EQ(m.data, (std::vector<float>{1.5f, 0.5f, 0.25f, 2.f}));
  try {
    f.read_obsp("connectivities");
    FAIL() << "an absent obsp key must fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("obsp 'connectivities' not found in " + out + "; obsp: distances"),
              std::string::npos)
        << e.what();
  }
}

TEST(IoObsp, RefusesWrongShapesAndBrokenStructure) {
  TempDir dir;
  io::H5adWriter w = io::H5adWriter::create(dir.file("bad.h5ad"), {"c0", "c1", "c2"}, {"g0"});
  io::CsrMatrix m = neighbour_order();
  m.n_cols = 4;
  EXPECT_THROW(w.add_obsp_csr("distances", m), Error);
  m = neighbour_order();
  m.indices[1] = 3;  // out of range
  EXPECT_THROW(w.add_obsp_csr("distances", m), Error);
  m = neighbour_order();
  m.indptr = {0, 2, 1, 4};  // not monotonic
  EXPECT_THROW(w.add_obsp_csr("distances", m), Error);
}

}  // namespace
}  // namespace cuvi::test
