// Writes the fuzz seed corpus: small valid files of every layout the readers accept (tagged, 0.7, <= 0.6
// compound, dense/CSC/LZF/gzip, 10x v2/v3/ARC, h5mu with obsmap or names). Usage: fuzz_make_seeds DIR
#include <cmath>
#include <cstdio>
#include <string>

#include "io/h5_util.h"
#include "io/h5ad_writer.h"
#include "tests/io/h5_builder.h"
#include "tests/io/lzf_encoder.h"

using namespace cuvi;
using test::H5Builder;
using test::ToyAnnData;
using test::ToySparse;

namespace {

void legacy06(const std::string& file) {
  H5Builder b(file);
  struct Row {
    char index[8];
    int64_t n;
    int8_t cat;
    float score;
  };
  const Row rows[4] = {{"c0", 3, 0, 0.5f}, {"c1", 0, 1, 1.f}, {"c2", 4, 0, 2.f}, {"c3", 6, 1, 0.f}};
  hid_t s8 = H5Tcopy(H5T_C_S1);
  H5Tset_size(s8, 8);
  H5Tset_strpad(s8, H5T_STR_NULLPAD);
  hid_t ct = H5Tcreate(H5T_COMPOUND, sizeof(Row));
  H5Tinsert(ct, "index", HOFFSET(Row, index), s8);
  H5Tinsert(ct, "n", HOFFSET(Row, n), H5T_NATIVE_INT64);
  H5Tinsert(ct, "cat", HOFFSET(Row, cat), H5T_NATIVE_INT8);
  H5Tinsert(ct, "score", HOFFSET(Row, score), H5T_NATIVE_FLOAT);
  hsize_t n = 4;
  hid_t sp = H5Screate_simple(1, &n, nullptr);
  hid_t ds = H5Dcreate2(b.id(), "/obs", ct, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(ds, ct, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows);
  H5Dclose(ds);
  struct Var {
    char index[8];
  };
  const Var vars[3] = {{"g0"}, {"g1"}, {"g2"}};
  hid_t vt = H5Tcreate(H5T_COMPOUND, sizeof(Var));
  H5Tinsert(vt, "index", 0, s8);
  hsize_t nv = 3;
  hid_t vsp = H5Screate_simple(1, &nv, nullptr);
  ds = H5Dcreate2(b.id(), "/var", vt, vsp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(ds, vt, H5S_ALL, H5S_ALL, H5P_DEFAULT, vars);
  H5Dclose(ds);
  struct Obsm {
    float pca[2];
  };
  const Obsm m[4] = {{{1, 2}}, {{3, 4}}, {{5, 6}}, {{7, 8}}};
  hsize_t two = 2;
  hid_t at = H5Tarray_create2(H5T_NATIVE_FLOAT, 1, &two);
  hid_t mt = H5Tcreate(H5T_COMPOUND, sizeof(Obsm));
  H5Tinsert(mt, "X_pca", 0, at);
  ds = H5Dcreate2(b.id(), "/obsm", mt, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, m);
  H5Dclose(ds);
  for (hid_t h : {at, mt, vt, ct, s8}) H5Tclose(h);
  H5Sclose(sp);
  H5Sclose(vsp);
  b.strings("/uns/cat_categories", {"B", "T"}, 4);
  ToySparse x = test::toy_csr();
  x.encoding = "h5sparse-csr";
  test::write_toy_sparse(b, "/X", x);
  x.shape = {4, 3};
  test::write_toy_sparse(b, "/raw.X", x);
  b.strings("/raw.var", {"g0", "g1", "g2"}, 4);
}

void tenx_v3(const std::string& file) {
  H5Builder b(file);
  b.attr_string("/", "filetype", "matrix");
  b.strings("/matrix/barcodes", {"AAAC-1", "AAAG-1", "AACC-1", "AAGT-1"}, 18);
  b.array("/matrix/data", std::vector<int32_t>{1, 2, 3, 4, 1, 1, 7});
  b.array("/matrix/indices", std::vector<int64_t>{0, 3, 5, 1, 4, 3, 2});
  b.array("/matrix/indptr", std::vector<int64_t>{0, 2, 5, 5, 7});
  b.array("/matrix/shape", std::vector<int32_t>{6, 4});
  b.strings("/matrix/features/id", {"ENSG1", "ENSG2", "ENSG3", "chr1:1-10", "chr1:20-30", "chr2:5-9"}, 15);
  b.strings("/matrix/features/name", {"A", "B", "C", "p1", "p2", "p3"}, 15);
  b.strings("/matrix/features/feature_type",
            {"Gene Expression", "Gene Expression", "Gene Expression", "Peaks", "Peaks", "Peaks"}, 15);
  b.strings("/matrix/features/genome", std::vector<std::string>(6, "GRCh38"), 6);
  b.strings("/matrix/features/interval", {"a", "b", "c", "d", "e", "f"}, 2);
  b.strings("/matrix/features/_all_tag_keys", {"genome", "interval"}, 8);
}

void tenx_v2(const std::string& file) {
  H5Builder b(file);
  for (const char* g : {"/hg19", "/mm10"}) {
    const std::string p = g;
    b.strings(p + "/barcodes", {"AAAC-1", "AAAG-1", "AACC-1"}, 18);
    b.array(p + "/data", std::vector<int32_t>{1, 2, 3});
    b.array(p + "/indices", std::vector<int64_t>{0, 1, 1});
    b.array(p + "/indptr", std::vector<int64_t>{0, 1, 1, 3});
    b.array(p + "/shape", std::vector<int32_t>{2, 3});
    b.strings(p + "/genes", {"ENSG1", "ENSG2"}, 14);
    b.strings(p + "/gene_names", {"A", "B"}, 14);
  }
  b.array("/mm10/scalar_dataset", std::vector<int64_t>{1});
}

void mudata(const std::string& file, bool obsmap) {
  H5Builder b(file);
  b.tag("/", "MuData", "0.1.0");
  test::write_toy_dataframe(b, "/obs", {"a", "b", "c", "d"}, {}, {}, false);
  test::write_toy_dataframe(b, "/var", {"g0", "g1", "g2", "p0", "p1"}, {}, {}, false);
  b.group("/mod");
  b.attr_strings("/mod", "mod-order", {"rna", "atac"});
  b.group("/mod/rna");
  b.tag("/mod/rna", "anndata", "0.1.0");
  test::write_toy_dataframe(b, "/mod/rna/obs", {"a", "b", "c"}, {}, {}, false);
  test::write_toy_dataframe(b, "/mod/rna/var", {"g0", "g1", "g2"}, {}, {}, false);
  ToySparse r;
  r.shape = {3, 3};
  r.indptr = {0, 1, 2, 3};
  r.indices = {0, 1, 2};
  r.data = {1, 2, 3};
  test::write_toy_sparse(b, "/mod/rna/X", r);
  b.group("/mod/atac");
  // nullable-string-array index
  b.group("/mod/atac/obs");
  b.attr_string("/mod/atac/obs", "_index", "fizz");
  b.attr_empty_floats("/mod/atac/obs", "column-order");
  b.tag("/mod/atac/obs", "dataframe", "0.2.0");
  b.group("/mod/atac/obs/fizz");
  b.tag("/mod/atac/obs/fizz", "nullable-string-array", "0.1.0");
  b.strings("/mod/atac/obs/fizz/values", {"d", "b"});
  b.bools("/mod/atac/obs/fizz/mask", {0, 0});
  test::write_toy_dataframe(b, "/mod/atac/var", {"p0", "p1"}, {}, {}, false);
  std::vector<double> dense = {7, 0, 0, 9};
  b.array("/mod/atac/X", dense, {2, 2});
  if (obsmap) {
    b.array("/obsmap/rna", std::vector<uint32_t>{1, 2, 3, 0});
    b.array("/obsmap/atac", std::vector<uint32_t>{0, 2, 0, 1});
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_make_seeds DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  io::h5_init();
  try {
    ToyAnnData t = test::toy_anndata();
    t.layers["spliced"] = test::toy_csr();
    t.obsm_latent = std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8};
    test::write_toy_h5ad(dir + "/tagged.h5ad", t);

    ToyAnnData l = test::toy_anndata();
    l.legacy07 = true;
    test::write_toy_h5ad(dir + "/legacy07.h5ad", l);

    legacy06(dir + "/legacy06.h5ad");

    ToyAnnData d = test::toy_anndata();
    d.x.reset();
    d.x_dense = std::vector<double>{1, 0, 2, 0, 0, 0, 3, 1, 0, 0, 5, 1};
    ToySparse csc;
    csc.shape = {4, 3};
    csc.encoding = "csc_matrix";
    csc.indptr = {0, 2, 4, 6};
    csc.indices = {0, 2, 2, 3, 0, 3};
    csc.data = {1, 3, 1, 5, 2, 1};
    d.layers["counts"] = csc;
    test::write_toy_h5ad(dir + "/dense_csc.h5ad", d);

    ToyAnnData z = test::toy_anndata();
    z.x->data_filter = 32000;
    z.x->filter_cd = {4, 4, 4096};
    test::register_test_lzf_codec();
    test::write_toy_h5ad(dir + "/lzf.h5ad", z);
    io::register_lzf_filter();

    {
      io::DataFrame obs;
      obs.index = {"c0", "c1", "c2", "c3"};
      obs.columns.push_back(io::Column::categorical_from_strings("cell_type", {"T", "B", "T", "NK"}));
      obs.columns.push_back(io::Column::numbers("age", {30, std::nan(""), 41, 57}, true));
      obs.columns.push_back(io::Column::booleans("keep", {true, false, true, true}));
      io::DataFrame var;
      var.index = {"g0", "g1", "g2"};
      io::WriteOptions wo;
      wo.gzip_level = 1;
      io::H5adWriter w = io::H5adWriter::create(dir + "/written_gzip.h5ad", obs, var, wo);
      io::CsrMatrix x;
      x.n_rows = 4;
      x.n_cols = 3;
      x.indptr = {0, 2, 2, 4, 6};
      x.indices = {0, 2, 0, 1, 1, 2};
      x.data = {1, 2, 3, 1, 5, 1};
      w.set_x(x);
      const std::vector<float> latent = {1, 2, 3, 4, 5, 6, 7, 8};
      w.add_obsm("X_scVI", latent.data(), 4, 2);
      w.add_uns_string("cuvi/model", "SCVI");
      w.commit();
    }
    tenx_v3(dir + "/tenx_v3_arc.h5");
    tenx_v2(dir + "/tenx_v2.h5");
    mudata(dir + "/partial.h5mu", false);
    mudata(dir + "/obsmap.h5mu", true);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_make_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
