// Result-file creation shared by the CLI commands that write .h5ad outputs.
#include "tools/workflow/output.h"

#include "tools/workflow/multiome_data.h"
#include "tools/workflow/subset.h"

namespace cuvi::workflow {

io::H5adWriter open_result_file(const PreparedData& data, const std::string& out_path) {
  CUVI_CHECK(out_path != data.data.path, "--out must differ from the input file (" + out_path + ")");
  if (data.data.format == io::FileFormat::AnnData) return io::H5adWriter::copy_of(data.data.path, out_path);
  io::H5adWriter w = io::H5adWriter::create(out_path, data.data.obs, data.data.var);
  w.set_x(data.data.counts);
  return w;
}


io::H5adWriter open_multiome_result(const PreparedData& data, const std::string& out_path, MultiomeFeatures which,
                                    const std::vector<int32_t>& rows) {
  CUVI_CHECK(out_path != data.data.path, "--out must differ from the input file (" + out_path + ")");
  const int64_t G = int64_t(data.registry.genes.size()), R = int64_t(data.registry.regions.size());
  const io::CsrMatrix m = rows.empty() ? data.data.counts : take_rows(data.data.counts, rows);
  const io::DataFrame obs = rows.empty() ? data.data.obs : take_rows(data.data.obs, rows);
  CUVI_CHECK(m.n_cols == G + R, "multiome result: the data do not hold genes and regions");
  if (which == MultiomeFeatures::All) {
    io::H5adWriter w = io::H5adWriter::create(out_path, obs, data.data.var);
    w.set_x(m);
    return w;
  }
  const bool genes = which == MultiomeFeatures::Genes;
  std::vector<int64_t> target(size_t(G + R), -1);
  for (int64_t j = 0; j < (genes ? G : R); ++j) target[size_t(genes ? j : G + j)] = j;
  io::DataFrame var;
  var.index = genes ? data.registry.genes : data.registry.regions;
  var.columns.push_back(io::Column::categorical_from_strings(
      "feature_types", std::vector<std::string>(var.index.size(), genes ? "Gene Expression" : "Peaks")));
  io::H5adWriter w = io::H5adWriter::create(out_path, obs, var);
  w.set_x(remap_columns(m, target, genes ? G : R));
  return w;
}

}  // namespace cuvi::workflow
