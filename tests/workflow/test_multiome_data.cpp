// MULTIVI's data layer (tools/workflow/multiome_data): the organize_multiome_anndatas concatenation
// against scvi-tools' own result, an .h5mu with unpaired cells aligned by obs names, a 10x multiome
// .h5, the real SNARE-seq and muon files, and the errors a user can provoke.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "io/anndata.h"
#include "io/mudata.h"
#include "tests/models/fixture_reader.h"
#include "tests/test_env.h"
#include "tools/workflow/multiome_data.h"

namespace cuvi::test {
namespace {

std::string data_file(const std::string& name) { return fixture_dir("multivi/data") + "/" + name; }

std::vector<float> dense(const io::CsrMatrix& m) {
  std::vector<float> d(size_t(m.n_rows * m.n_cols), 0.f);
  for (int64_t i = 0; i < m.n_rows; ++i)
    for (int64_t k = m.indptr[i]; k < m.indptr[i + 1]; ++k) d[size_t(i * m.n_cols + m.indices[k])] = m.data[k];
  return d;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

workflow::SetupKeys multiome_keys() {
  workflow::SetupKeys k;
  k.multiome.enabled = true;
  return k;
}

TEST(MultiomeData, OrganizeMatchesScviToolsConcatenation) {
  workflow::SetupKeys k = multiome_keys();
  k.multiome.rna_data = data_file("rna_only.h5ad");
  k.multiome.atac_data = data_file("atac_only.h5ad");
  const workflow::MultiomeData md = workflow::load_multiome(data_file("multi.h5ad"), k, false);
  const io::AnnDataFile ref = io::AnnDataFile::open(data_file("organized.h5ad"));
  EXPECT_EQ(md.data.obs.index, ref.obs().index);
  EXPECT_EQ(md.data.var.index, ref.var().index);
  EXPECT_EQ(dense(md.data.counts), dense(ref.read_matrix("")));
  for (const char* col : {"modality", "batch", "cell_type"}) {
    const io::Column& a = md.data.obs.require(col, "cuvi", "obs");
    const io::Column& b = ref.obs().require(col, "organized.h5ad", "obs");
    for (int64_t i = 0; i < ref.n_obs(); ++i) EXPECT_EQ(a.text(i), b.text(i)) << col << " of cell " << i;
  }
  EXPECT_EQ(md.n_paired, 10);
  EXPECT_EQ(md.n_expression, 5);
  EXPECT_EQ(md.n_accessibility, 4);
  bool told = false;
  for (const auto& n : md.data.notes) told |= n.find("1 genes absent from the multiome data") != std::string::npos;
  EXPECT_TRUE(told) << "the extra gene of the RNA-only file must be reported as left out";
}

TEST(MultiomeData, MudataWithUnpairedCellsAlignsByObsNames) {
  const workflow::MultiomeData md = workflow::load_multiome(data_file("unpaired.h5mu"), multiome_keys(), false);
  const io::MuDataFile mu = io::MuDataFile::open(data_file("unpaired.h5mu"));
  ASSERT_EQ(md.data.counts.n_rows, 12);
  ASSERT_EQ(md.genes.size(), 6u);
  ASSERT_EQ(md.regions.size(), 8u);
  const std::vector<float> x = dense(md.data.counts);
  const int64_t C = 14;
  // Each global cell's rows must equal its row in the modality (found by name), or be empty.
  for (const char* mod : {"rna", "atac"}) {
    const io::AnnDataFile& a = mu.modality(mod);
    const std::vector<float> m = dense(a.read_matrix(""));
    const int64_t F = a.n_vars(), off = std::string(mod) == "rna" ? 0 : 6;
    std::map<std::string, int64_t> row;
    for (int64_t i = 0; i < a.n_obs(); ++i) row[a.obs().index[size_t(i)]] = i;
    for (int64_t g = 0; g < 12; ++g) {
      auto it = row.find(md.data.obs.index[size_t(g)]);
      for (int64_t j = 0; j < F; ++j) {
        const float want = it == row.end() ? 0.f : m[size_t(it->second * F + j)];
        EXPECT_EQ(x[size_t(g * C + off + j)], want) << mod << " cell " << md.data.obs.index[size_t(g)] << " feature " << j;
      }
    }
  }
  const io::Column& kind = md.data.obs.require("modality", "cuvi", "obs");
  int paired = 0;
  for (int64_t g = 0; g < 12; ++g) {
    const int c = std::stoi(md.data.obs.index[size_t(g)].substr(1));
    const std::string want = c >= 3 && c <= 7 ? "paired" : (c < 3 ? "expression" : "accessibility");
    EXPECT_EQ(kind.text(g), want) << md.data.obs.index[size_t(g)];
    paired += want == "paired";
  }
  EXPECT_EQ(md.n_paired, paired);
  EXPECT_NE(md.data.obs.find("batch"), nullptr);
}

TEST(MultiomeData, TenxMultiomeSplitsGenesAndPeaks) {
  const workflow::MultiomeData md = workflow::load_multiome(data_file("multiome_10x.h5"), multiome_keys(), false);
  ASSERT_EQ(md.data.counts.n_rows, 7);
  EXPECT_EQ(md.genes.size(), 6u);
  EXPECT_EQ(md.regions.size(), 8u);
  std::ifstream f(data_file("multiome_10x_counts.txt"));
  std::vector<float> want;
  for (float v; f >> v;) want.push_back(v);
  EXPECT_EQ(dense(md.data.counts), want);
  EXPECT_EQ(md.n_paired, 7);
}

TEST(MultiomeData, SnareSeqLoadsBothModalitiesSparse) {
  CUVI_DATA_FILE_OR_SKIP(path, "multiome-snareseq-mouse-cortex/snareseq_mouse_cortex_10309cells.h5mu");
  workflow::SetupKeys k = multiome_keys();
  k.batch_key = "batch";
  const workflow::PreparedData p = workflow::prepare_multiome(path, k);
  EXPECT_EQ(p.data.counts.n_rows, 10309);
  EXPECT_EQ(p.registry.genes.size(), 1677u);
  EXPECT_EQ(p.registry.regions.size(), 25734u);
  EXPECT_EQ(p.data.counts.nnz(), 1097506 + 1018463);  // README: nnz of mod/rna/X and mod/atac/X
  EXPECT_EQ(p.registry.batch_categories.size(), 12u);
  EXPECT_EQ(p.registry.regions[0].rfind("chr", 0), 0u);
}

TEST(MultiomeData, MuonTinyOldLayoutLoads) {
  CUVI_DATA_FILE_OR_SKIP(path, "multiome-pbmc-muon-tiny/test_rna_atac.h5mu");
  const workflow::MultiomeData md = workflow::load_multiome(path, multiome_keys(), false);
  EXPECT_EQ(md.data.counts.n_rows, 1000);
  EXPECT_EQ(md.genes.size(), 45u);
  EXPECT_EQ(md.regions.size(), 174u);
  EXPECT_EQ(md.n_paired, 1000);
}

TEST(MultiomeData, ErrorsNameTheProblem) {
  workflow::SetupKeys k = multiome_keys();
  k.multiome.atac_modality = "peaks";
  EXPECT_NE(error_of([&] { workflow::load_multiome(data_file("unpaired.h5mu"), k, false); })
                .find("no modality 'peaks' (modalities: rna, atac)"),
            std::string::npos);
  EXPECT_NE(error_of([&] { workflow::load_multiome(data_file("rna_only.h5ad"), multiome_keys(), false); })
                .find("var has no 'feature_types' column"),
            std::string::npos);
  workflow::SetupKeys bad_rna = multiome_keys();
  bad_rna.multiome.rna_data = data_file("atac_only.h5ad");
  EXPECT_NE(error_of([&] { workflow::load_multiome(data_file("multi.h5ad"), bad_rna, false); })
                .find("no genes in common with the multiome data"),
            std::string::npos);
  // Inference data must carry the model's regions.
  workflow::DataRegistry model;
  model.genes = {"g0", "g1", "g2", "g3", "g4", "g5"};
  model.regions = {"chr1:0-50"};
  EXPECT_NE(error_of([&] { workflow::prepare_multiome(data_file("multi.h5ad"), multiome_keys(), &model); }).find("regions"),
            std::string::npos);
}

}  // namespace
}  // namespace cuvi::test
