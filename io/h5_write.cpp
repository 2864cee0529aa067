// Tagged anndata element writers (see h5_write.h). Layouts follow file-formats.md §1.1 (encoding table),
// §1.4 (dataframe 0.2.0, categorical, nullable) and §4.2 (chunks of 64K-1M elements, gzip or none).
#include "io/h5_write.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/error.h"
#include "io/h5_util.h"

namespace cuvi::io::h5w {

namespace {

constexpr hsize_t kChunk = hsize_t(1) << 18;  // elements per chunk (within the 64K-1M range)

void chk(herr_t r, const std::string& what) {
  if (r < 0) fail("HDF5 write failed: " + what + ": " + h5_error_detail());
}
hid_t chk_id(hid_t id, const std::string& what) {
  if (id < 0) fail("HDF5 write failed: " + what + ": " + h5_error_detail());
  return id;
}

H5Handle vlen_utf8() {
  H5Handle t(H5Tcopy(H5T_C_S1));
  H5Tset_size(t.get(), H5T_VARIABLE);
  H5Tset_cset(t.get(), H5T_CSET_UTF8);
  return t;
}

// numpy bool as h5py stores it: an enum over int8 {FALSE = 0, TRUE = 1}.
H5Handle bool_type() {
  H5Handle t(H5Tenum_create(H5T_NATIVE_INT8));
  const int8_t f = 0, tr = 1;
  H5Tenum_insert(t.get(), "FALSE", &f);
  H5Tenum_insert(t.get(), "TRUE", &tr);
  return t;
}

// Creates dataset `name` (rank 1 or 2); resizable along dim 0 when `resizable` (sparse parts, as anndata does).
H5Handle create_dataset(hid_t loc, const std::string& name, hid_t file_type, int rank, const hsize_t* dims,
                        const WriteOptions& o, bool resizable = false) {
  hsize_t maxdims[2] = {dims[0], rank == 2 ? dims[1] : 0};
  if (resizable) maxdims[0] = H5S_UNLIMITED;
  H5Handle space(chk_id(H5Screate_simple(rank, dims, maxdims), "dataspace for " + name));
  H5Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
  hsize_t total = 1;
  for (int i = 0; i < rank; ++i) total *= dims[i];
  if (total > 0 || resizable) {
    hsize_t chunk[2];
    if (rank == 1) {
      chunk[0] = std::min<hsize_t>(std::max<hsize_t>(dims[0], 1), kChunk);
      if (resizable && dims[0] == 0) chunk[0] = 1024;
    } else {
      chunk[1] = std::max<hsize_t>(1, std::min<hsize_t>(dims[1], kChunk));
      chunk[0] = std::max<hsize_t>(1, std::min<hsize_t>(dims[0], kChunk / chunk[1]));
    }
    chk(H5Pset_chunk(dcpl.get(), rank, chunk), "chunking " + name);
    if (o.gzip_level > 0) chk(H5Pset_deflate(dcpl.get(), unsigned(std::min(o.gzip_level, 9))), "gzip " + name);
  }
  return H5Handle(chk_id(H5Dcreate2(loc, name.c_str(), file_type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                         "create " + name));
}

void write_all(const H5Handle& ds, hid_t mem_type, const void* data, const std::string& name, bool empty) {
  if (empty) return;
  chk(H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "write " + name);
}

template <class T>
void write_1d(hid_t loc, const std::string& name, hid_t file_type, hid_t mem_type, const std::vector<T>& v,
              const WriteOptions& o, bool resizable, const char* tag_type = "array") {
  const hsize_t n = v.size();
  H5Handle ds = create_dataset(loc, name, file_type, 1, &n, o, resizable);
  write_all(ds, mem_type, v.data(), name, v.empty());
  if (tag_type) tag(ds.get(), tag_type, "0.2.0");
}

void write_nullable(hid_t loc, const Column& c, const WriteOptions& o) {
  H5Handle g(chk_id(H5Gcreate2(loc, c.name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "group " + c.name));
  std::vector<uint8_t> mask(c.numeric.size());
  for (size_t i = 0; i < mask.size(); ++i) mask[i] = std::isnan(c.numeric[i]) ? 1 : 0;
  if (c.kind == ColumnKind::Boolean) {
    std::vector<uint8_t> vals(c.numeric.size());
    for (size_t i = 0; i < vals.size(); ++i) vals[i] = !mask[i] && c.numeric[i] != 0;
    write_bools(g.get(), "values", vals, o);
    tag(g.get(), "nullable-boolean", "0.1.0");
  } else {
    std::vector<int64_t> vals(c.numeric.size());
    for (size_t i = 0; i < vals.size(); ++i) vals[i] = mask[i] ? 0 : int64_t(c.numeric[i]);
    write_int64s(g.get(), "values", vals, o);
    tag(g.get(), "nullable-integer", "0.1.0");
  }
  write_bools(g.get(), "mask", mask, o);
}

}  // namespace

// ---- attributes -----------------------------------------------------------------------------

void set_string_attr(hid_t obj, const std::string& name, const std::string& value) {
  if (H5Aexists(obj, name.c_str()) > 0) chk(H5Adelete(obj, name.c_str()), "replace attribute " + name);
  H5Handle t = vlen_utf8();
  H5Handle sp(H5Screate(H5S_SCALAR));
  H5Handle a(chk_id(H5Acreate2(obj, name.c_str(), t.get(), sp.get(), H5P_DEFAULT, H5P_DEFAULT), "attribute " + name));
  const char* p = value.c_str();
  chk(H5Awrite(a.get(), t.get(), &p), "attribute " + name);
}

void set_string_list_attr(hid_t obj, const std::string& name, const std::vector<std::string>& values) {
  if (H5Aexists(obj, name.c_str()) > 0) chk(H5Adelete(obj, name.c_str()), "replace attribute " + name);
  const hsize_t n = values.size();
  H5Handle sp(H5Screate_simple(1, &n, nullptr));
  if (values.empty()) {  // what anndata writes for an empty list: an empty float64 array
    H5Handle a(chk_id(H5Acreate2(obj, name.c_str(), H5T_IEEE_F64LE, sp.get(), H5P_DEFAULT, H5P_DEFAULT), "attribute " + name));
    return;
  }
  H5Handle t = vlen_utf8();
  std::vector<const char*> p;
  for (const auto& s : values) p.push_back(s.c_str());
  H5Handle a(chk_id(H5Acreate2(obj, name.c_str(), t.get(), sp.get(), H5P_DEFAULT, H5P_DEFAULT), "attribute " + name));
  chk(H5Awrite(a.get(), t.get(), p.data()), "attribute " + name);
}

void set_int_array_attr(hid_t obj, const std::string& name, const std::vector<int64_t>& values) {
  if (H5Aexists(obj, name.c_str()) > 0) chk(H5Adelete(obj, name.c_str()), "replace attribute " + name);
  const hsize_t n = values.size();
  H5Handle sp(H5Screate_simple(1, &n, nullptr));
  H5Handle a(chk_id(H5Acreate2(obj, name.c_str(), H5T_STD_I64LE, sp.get(), H5P_DEFAULT, H5P_DEFAULT), "attribute " + name));
  chk(H5Awrite(a.get(), H5T_NATIVE_INT64, values.data()), "attribute " + name);
}

void set_bool_attr(hid_t obj, const std::string& name, bool value) {
  if (H5Aexists(obj, name.c_str()) > 0) chk(H5Adelete(obj, name.c_str()), "replace attribute " + name);
  H5Handle t = bool_type();
  H5Handle sp(H5Screate(H5S_SCALAR));
  H5Handle a(chk_id(H5Acreate2(obj, name.c_str(), t.get(), sp.get(), H5P_DEFAULT, H5P_DEFAULT), "attribute " + name));
  const int8_t v = value ? 1 : 0;
  chk(H5Awrite(a.get(), t.get(), &v), "attribute " + name);
}

void tag(hid_t obj, const std::string& type, const std::string& version) {
  set_string_attr(obj, "encoding-type", type);
  set_string_attr(obj, "encoding-version", version);
}

// ---- groups ---------------------------------------------------------------------------------

bool exists(hid_t loc, const std::string& name) {
  const htri_t r = H5Lexists(loc, name.c_str(), H5P_DEFAULT);
  if (r < 0) H5Eclear2(H5E_DEFAULT);
  return r > 0;
}

void remove(hid_t loc, const std::string& name) {
  if (exists(loc, name)) chk(H5Ldelete(loc, name.c_str(), H5P_DEFAULT), "remove " + name);
}

hid_t dict_group(hid_t loc, const std::string& name) {
  if (exists(loc, name)) {
    if (!is_group_at(loc, name)) fail("cannot write into '" + name + "': it exists and is not a group");
    return chk_id(H5Gopen2(loc, name.c_str(), H5P_DEFAULT), "open group " + name);
  }
  const hid_t g = chk_id(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "group " + name);
  tag(g, "dict", "0.1.0");
  return g;
}

// ---- datasets -------------------------------------------------------------------------------

void write_string_array(hid_t loc, const std::string& name, const std::vector<std::string>& v, const WriteOptions& o) {
  H5Handle t = vlen_utf8();
  std::vector<const char*> p;
  p.reserve(v.size());
  for (const auto& s : v) p.push_back(s.c_str());
  const hsize_t n = v.size();
  H5Handle ds = create_dataset(loc, name, t.get(), 1, &n, o);
  write_all(ds, t.get(), p.data(), name, v.empty());
  tag(ds.get(), "string-array", "0.2.0");
}

void write_doubles(hid_t loc, const std::string& name, const std::vector<double>& v, const WriteOptions& o) {
  write_1d(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, v, o, false);
}

void write_int64s(hid_t loc, const std::string& name, const std::vector<int64_t>& v, const WriteOptions& o) {
  write_1d(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, v, o, false);
}

void write_bools(hid_t loc, const std::string& name, const std::vector<uint8_t>& v, const WriteOptions& o) {
  H5Handle t = bool_type();
  std::vector<int8_t> b(v.begin(), v.end());
  write_1d(loc, name, t.get(), t.get(), b, o, false);
}

void write_dense_f32(hid_t loc, const std::string& name, const float* data, int64_t n_rows, int64_t n_cols,
                     const WriteOptions& o) {
  const hsize_t dims[2] = {hsize_t(n_rows), hsize_t(n_cols)};
  H5Handle ds = create_dataset(loc, name, H5T_IEEE_F32LE, 2, dims, o);
  write_all(ds, H5T_NATIVE_FLOAT, data, name, n_rows == 0 || n_cols == 0);
  tag(ds.get(), "array", "0.2.0");
}

void write_csr(hid_t loc, const std::string& name, const CsrMatrix& m, const WriteOptions& o) {
  H5Handle g(chk_id(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "group " + name));
  tag(g.get(), "csr_matrix", "0.1.0");
  set_int_array_attr(g.get(), "shape", {m.n_rows, m.n_cols});
  write_1d(g.get(), "data", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, m.data, o, true, nullptr);
  write_1d(g.get(), "indices", H5T_STD_I32LE, H5T_NATIVE_INT32, m.indices, o, true, nullptr);
  if (m.nnz() <= std::numeric_limits<int32_t>::max()) {  // scipy's choice: int32 while nnz fits
    std::vector<int32_t> p(m.indptr.begin(), m.indptr.end());
    write_1d(g.get(), "indptr", H5T_STD_I32LE, H5T_NATIVE_INT32, p, o, true, nullptr);
  } else {
    write_1d(g.get(), "indptr", H5T_STD_I64LE, H5T_NATIVE_INT64, m.indptr, o, true, nullptr);
  }
}

void write_categorical(hid_t loc, const std::string& name, const Categorical& c, const WriteOptions& o) {
  const int64_t ncat = int64_t(c.categories.size());
  for (size_t i = 0; i < c.codes.size(); ++i)
    if (c.codes[i] < -1 || c.codes[i] >= ncat)
      fail("categorical '" + name + "': code " + std::to_string(c.codes[i]) + " at row " + std::to_string(i) +
           " is out of range (" + std::to_string(ncat) + " categories)");
  H5Handle g(chk_id(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "group " + name));
  tag(g.get(), "categorical", "0.2.0");
  set_bool_attr(g.get(), "ordered", c.ordered);
  write_string_array(g.get(), "categories", c.categories, o);
  // Codes take the narrowest signed type that holds every category (as pandas does).
  if (ncat < 128) {
    std::vector<int8_t> v(c.codes.begin(), c.codes.end());
    write_1d(g.get(), "codes", H5T_STD_I8LE, H5T_NATIVE_INT8, v, o, false);
  } else if (ncat < 32768) {
    std::vector<int16_t> v(c.codes.begin(), c.codes.end());
    write_1d(g.get(), "codes", H5T_STD_I16LE, H5T_NATIVE_INT16, v, o, false);
  } else {
    write_1d(g.get(), "codes", H5T_STD_I32LE, H5T_NATIVE_INT32, c.codes, o, false);
  }
}

void write_column(hid_t loc, const Column& c, bool strings_as_categorical, const WriteOptions& o) {
  switch (c.kind) {
    case ColumnKind::Categorical:
      write_categorical(loc, c.name, c.cat, o);
      return;
    case ColumnKind::String:
      if (strings_as_categorical) write_categorical(loc, c.name, Column::categorical_from_strings(c.name, c.strings).cat, o);
      else write_string_array(loc, c.name, c.strings, o);
      return;
    case ColumnKind::Boolean: {
      const bool missing = std::any_of(c.numeric.begin(), c.numeric.end(), [](double v) { return std::isnan(v); });
      if (missing) return write_nullable(loc, c, o);
      std::vector<uint8_t> b(c.numeric.size());
      for (size_t i = 0; i < b.size(); ++i) b[i] = c.numeric[i] != 0;
      write_bools(loc, c.name, b, o);
      return;
    }
    case ColumnKind::Numeric: {
      if (c.is_integer) {
        const bool missing = std::any_of(c.numeric.begin(), c.numeric.end(), [](double v) { return std::isnan(v); });
        if (missing) return write_nullable(loc, c, o);
        std::vector<int64_t> v(c.numeric.size());
        for (size_t i = 0; i < v.size(); ++i) {
          if (!std::isfinite(c.numeric[i]) || c.numeric[i] != std::floor(c.numeric[i]))
            fail("integer column '" + c.name + "' holds " + format_number(c.numeric[i]) + " at row " + std::to_string(i));
          v[i] = int64_t(c.numeric[i]);
        }
        write_int64s(loc, c.name, v, o);
      } else {
        write_doubles(loc, c.name, c.numeric, o);
      }
      return;
    }
  }
}

void write_dataframe(hid_t loc, const std::string& name, const DataFrame& df, bool strings_as_categorical,
                     const WriteOptions& o) {
  const int64_t n = df.n_rows();
  std::vector<std::string> order;
  for (const Column& c : df.columns) {
    if (c.name.empty() || c.name == "_index" || c.name.find('/') != std::string::npos)
      fail("dataframe '" + name + "': invalid column name '" + c.name + "'");
    if (std::find(order.begin(), order.end(), c.name) != order.end())
      fail("dataframe '" + name + "': duplicate column '" + c.name + "'");
    if (c.size() != n)
      fail("dataframe '" + name + "': column '" + c.name + "' has " + std::to_string(c.size()) + " values but the index has " +
           std::to_string(n));
    order.push_back(c.name);
  }
  H5Handle g(chk_id(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "group " + name));
  set_string_attr(g.get(), "_index", "_index");
  set_string_list_attr(g.get(), "column-order", order);
  tag(g.get(), "dataframe", "0.2.0");
  write_string_array(g.get(), "_index", df.index, o);
  for (const Column& c : df.columns) write_column(g.get(), c, strings_as_categorical, o);
}

void write_string_scalar(hid_t loc, const std::string& name, const std::string& value) {
  H5Handle t = vlen_utf8();
  H5Handle sp(H5Screate(H5S_SCALAR));
  H5Handle ds(chk_id(H5Dcreate2(loc, name.c_str(), t.get(), sp.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "create " + name));
  const char* p = value.c_str();
  chk(H5Dwrite(ds.get(), t.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &p), "write " + name);
  tag(ds.get(), "string", "0.2.0");
}

void write_number_scalar(hid_t loc, const std::string& name, double value) {
  H5Handle sp(H5Screate(H5S_SCALAR));
  H5Handle ds(chk_id(H5Dcreate2(loc, name.c_str(), H5T_IEEE_F64LE, sp.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                     "create " + name));
  chk(H5Dwrite(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value), "write " + name);
  tag(ds.get(), "numeric-scalar", "0.2.0");
}

void write_integer_scalar(hid_t loc, const std::string& name, int64_t value) {
  H5Handle sp(H5Screate(H5S_SCALAR));
  H5Handle ds(chk_id(H5Dcreate2(loc, name.c_str(), H5T_STD_I64LE, sp.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                     "create " + name));
  chk(H5Dwrite(ds.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value), "write " + name);
  tag(ds.get(), "numeric-scalar", "0.2.0");
}

}  // namespace cuvi::io::h5w
