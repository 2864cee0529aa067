// netCDF-4 files through the HDF5 C API, the on-disk form of xarray Datasets (DESIGN.md decision 11):
// dimensions as HDF5 dimension scales (with or without a coordinate variable), variables attached to
// them, string coordinates and string variables as variable-length UTF-8 (netCDF's NC_STRING),
// booleans as int8 tagged dtype="bool" (xarray's encoding). Variables can be written whole or streamed
// in blocks along their first dimension; the file is written to a temporary name and renamed by
// commit(), so a failure leaves nothing behind.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace cuvi::io {

enum class NcType { F32, F64, I64, Bool, String };

class NetcdfWriter {
 public:
  explicit NetcdfWriter(const std::string& path);
  ~NetcdfWriter();  // removes the temporary file unless commit() succeeded
  NetcdfWriter(const NetcdfWriter&) = delete;
  NetcdfWriter& operator=(const NetcdfWriter&) = delete;

  // A dimension without coordinate values (xarray: a dim with no coordinate).
  void dimension(const std::string& name, int64_t size);
  // A dimension with its coordinate variable of the same name.
  void coordinate(const std::string& dim, const std::vector<std::string>& labels);
  void coordinate(const std::string& dim, const std::vector<int64_t>& values);
  bool has_dimension(const std::string& name) const { return m_dims.count(name) > 0; }
  int64_t dimension_size(const std::string& name) const;

  // A data variable over existing dimensions; its values are written with write() or write_rows().
  void variable(const std::string& name, const std::vector<std::string>& dims, NcType type);
  // Whole variable, row-major over its dimensions (numel values).
  void write(const std::string& name, const float* v);
  void write(const std::string& name, const double* v);
  void write(const std::string& name, const uint8_t* v);  // Bool
  void write(const std::string& name, const int64_t* v);  // I64
  void write(const std::string& name, const std::vector<std::string>& v);  // String: numel values
  // Rows [row0, row0 + n_rows) along the first dimension (n_rows * the product of the others values).
  void write_rows(const std::string& name, int64_t row0, int64_t n_rows, const float* v);
  void write_rows(const std::string& name, int64_t row0, int64_t n_rows, const double* v);
  void write_rows(const std::string& name, int64_t row0, int64_t n_rows, const uint8_t* v);
  // String attribute of a variable, or of the file (var = "").
  void attribute(const std::string& var, const std::string& key, const std::string& value);

  void commit();
  const std::string& path() const { return m_path; }

 private:
  struct Dim;
  struct Var;
  Var& var(const std::string& name);
  void write_block(Var& v, int64_t row0, int64_t n_rows, const void* data, int64_t mem_type);

  std::string m_path, m_tmp;
  int64_t m_file = -1;  // hid_t
  bool m_committed = false;
  std::map<std::string, std::unique_ptr<Dim>> m_dims;
  std::map<std::string, std::unique_ptr<Var>> m_vars;
  int m_next_dimid = 0;
};

}  // namespace cuvi::io
