// Result-file creation shared by the CLI commands that write .h5ad outputs.
#include "tools/workflow/output.h"

namespace cuvi::workflow {

io::H5adWriter open_result_file(const PreparedData& data, const std::string& out_path) {
  CUVI_CHECK(out_path != data.data.path, "--out must differ from the input file (" + out_path + ")");
  if (data.data.format == io::FileFormat::AnnData) return io::H5adWriter::copy_of(data.data.path, out_path);
  io::H5adWriter w = io::H5adWriter::create(out_path, data.data.obs, data.data.var);
  w.set_x(data.data.counts);
  return w;
}

}  // namespace cuvi::workflow
