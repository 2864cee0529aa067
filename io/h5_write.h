// Writers for individual anndata 0.8+ elements through the HDF5 C API: every element tagged with
// encoding-type/encoding-version, vlen UTF-8 strings, enum booleans, 64K-1M element chunks, optional gzip (file-formats.md §1, §4.2, §4.11).
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "io/csr.h"
#include "io/dataframe.h"

namespace cuvi::io {

struct WriteOptions {
  int gzip_level = 0;  // 0: no compression; 1-9: deflate level (4 is h5py's default)
};

namespace h5w {

void set_string_attr(hid_t obj, const std::string& name, const std::string& value);
void set_string_list_attr(hid_t obj, const std::string& name, const std::vector<std::string>& values);
void set_int_array_attr(hid_t obj, const std::string& name, const std::vector<int64_t>& values);
void set_bool_attr(hid_t obj, const std::string& name, bool value);
void tag(hid_t obj, const std::string& type, const std::string& version);

bool exists(hid_t loc, const std::string& name);
void remove(hid_t loc, const std::string& name);  // no-op when absent
// Creates (or opens, when present) a group tagged dict 0.1.0; the caller closes the returned id.
hid_t dict_group(hid_t loc, const std::string& name);

void write_string_array(hid_t loc, const std::string& name, const std::vector<std::string>& v, const WriteOptions& o);
void write_doubles(hid_t loc, const std::string& name, const std::vector<double>& v, const WriteOptions& o);
void write_int64s(hid_t loc, const std::string& name, const std::vector<int64_t>& v, const WriteOptions& o);
void write_bools(hid_t loc, const std::string& name, const std::vector<uint8_t>& v, const WriteOptions& o);
void write_dense_f32(hid_t loc, const std::string& name, const float* data, int64_t n_rows, int64_t n_cols,
                     const WriteOptions& o);  // (n_rows, n_cols) row-major
void write_csr(hid_t loc, const std::string& name, const CsrMatrix& m, const WriteOptions& o);
void write_categorical(hid_t loc, const std::string& name, const Categorical& c, const WriteOptions& o);
// One dataframe column; String columns become categoricals when strings_as_categorical (obs/var).
void write_column(hid_t loc, const Column& c, bool strings_as_categorical, const WriteOptions& o);
void write_dataframe(hid_t loc, const std::string& name, const DataFrame& df, bool strings_as_categorical,
                     const WriteOptions& o);
void write_string_scalar(hid_t loc, const std::string& name, const std::string& value);
void write_number_scalar(hid_t loc, const std::string& name, double value);
void write_integer_scalar(hid_t loc, const std::string& name, int64_t value);

}  // namespace h5w
}  // namespace cuvi::io
