// Test-side HDF5 file builder (C API) and toy AnnData/10x/MuData generators, valid or deliberately broken,
// used by the io tests and the fuzz seed generator; layouts follow shared/spec/file-formats.md §1-§3.
#pragma once
#include <hdf5.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace cuvi::test {

template <class T>
hid_t h5_native() {
  if (std::is_same<T, float>::value) return H5T_NATIVE_FLOAT;
  if (std::is_same<T, double>::value) return H5T_NATIVE_DOUBLE;
  if (std::is_same<T, int8_t>::value) return H5T_NATIVE_INT8;
  if (std::is_same<T, uint8_t>::value) return H5T_NATIVE_UINT8;
  if (std::is_same<T, int16_t>::value) return H5T_NATIVE_INT16;
  if (std::is_same<T, int32_t>::value) return H5T_NATIVE_INT32;
  if (std::is_same<T, uint32_t>::value) return H5T_NATIVE_UINT32;
  if (std::is_same<T, int64_t>::value) return H5T_NATIVE_INT64;
  if (std::is_same<T, uint64_t>::value) return H5T_NATIVE_UINT64;
  throw std::logic_error("h5_native: unsupported type");
}

// Writes groups, datasets and attributes by path. Every call checks its HDF5 result.
class H5Builder {
 public:
  explicit H5Builder(const std::string& path) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    m_file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ok(m_file, "create " + path);
  }
  ~H5Builder() { close(); }
  H5Builder(const H5Builder&) = delete;
  H5Builder& operator=(const H5Builder&) = delete;
  void close() {
    if (m_file >= 0) H5Fclose(m_file);
    m_file = -1;
  }
  hid_t id() const { return m_file; }

  void group(const std::string& path) {
    if (H5Lexists(m_file, path.c_str(), H5P_DEFAULT) > 0) return;
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t g = H5Gcreate2(m_file, path.c_str(), lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Pclose(lcpl);
    ok(g, "group " + path);
    H5Gclose(g);
  }

  // A numeric dataset (file type = the native type of T). dims default to {v.size()}.
  // chunk > 0: chunked along dim 0 with maxshape unlimited; filter > 0: that filter id is added
  // (cd holds its client values; the filter must be registered while writing).
  template <class T>
  void array(const std::string& path, const std::vector<T>& v, std::vector<hsize_t> dims = {}, hsize_t chunk = 0,
             int filter = 0, std::vector<unsigned> cd = {}) {
    if (dims.empty()) dims = {hsize_t(v.size())};
    write(path, h5_native<T>(), h5_native<T>(), dims, v.empty() ? nullptr : v.data(), chunk, filter, cd);
  }

  // A dataset whose extent is claimed without data being written (chunked, nothing allocated).
  void sparse_extent(const std::string& path, hid_t type, std::vector<hsize_t> dims) {
    parent(path);
    std::vector<hsize_t> maxd(dims.size(), H5S_UNLIMITED);
    hid_t sp = H5Screate_simple(int(dims.size()), dims.data(), maxd.data());
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    std::vector<hsize_t> ch(dims.size(), 1024);
    H5Pset_chunk(dcpl, int(dims.size()), ch.data());
    hid_t ds = H5Dcreate2(m_file, path.c_str(), type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ok(ds, "dataset " + path);
    H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(sp);
  }

  void bools(const std::string& path, const std::vector<uint8_t>& v) {
    hid_t t = bool_type();
    std::vector<int8_t> b(v.begin(), v.end());
    write(path, t, t, {hsize_t(v.size())}, b.empty() ? nullptr : b.data(), 0, 0, {});
    H5Tclose(t);
  }

  // Strings: vlen UTF-8 (fixed == 0) or fixed-length NULLPAD ASCII of `fixed` bytes (10x style).
  void strings(const std::string& path, const std::vector<std::string>& v, size_t fixed = 0) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (fixed == 0) {
      H5Tset_size(t, H5T_VARIABLE);
      H5Tset_cset(t, H5T_CSET_UTF8);
      std::vector<const char*> p;
      for (const auto& s : v) p.push_back(s.c_str());
      write(path, t, t, {hsize_t(v.size())}, p.empty() ? nullptr : p.data(), 0, 0, {});
    } else {
      H5Tset_size(t, fixed);
      H5Tset_strpad(t, H5T_STR_NULLPAD);
      std::vector<char> buf(v.size() * fixed, 0);
      for (size_t i = 0; i < v.size(); ++i) v[i].copy(buf.data() + i * fixed, std::min(fixed, v[i].size()));
      write(path, t, t, {hsize_t(v.size())}, buf.empty() ? nullptr : buf.data(), 0, 0, {});
    }
    H5Tclose(t);
  }

  void scalar_string(const std::string& path, const std::string& s) {
    parent(path);
    hid_t t = vlen();
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t ds = H5Dcreate2(m_file, path.c_str(), t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ok(ds, "dataset " + path);
    const char* p = s.c_str();
    ok(H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &p), "write " + path);
    H5Dclose(ds);
    H5Sclose(sp);
    H5Tclose(t);
  }

  void attr_string(const std::string& obj, const std::string& name, const std::string& value) {
    hid_t t = vlen();
    hid_t sp = H5Screate(H5S_SCALAR);
    const char* p = value.c_str();
    put_attr(obj, name, t, sp, &p);
    H5Sclose(sp);
    H5Tclose(t);
  }
  void attr_strings(const std::string& obj, const std::string& name, const std::vector<std::string>& values) {
    hid_t t = vlen();
    hsize_t n = values.size();
    hid_t sp = H5Screate_simple(1, &n, nullptr);
    std::vector<const char*> p;
    for (const auto& s : values) p.push_back(s.c_str());
    put_attr(obj, name, t, sp, p.data());
    H5Sclose(sp);
    H5Tclose(t);
  }
  void attr_empty_floats(const std::string& obj, const std::string& name) {
    hsize_t n = 0;
    hid_t sp = H5Screate_simple(1, &n, nullptr);
    put_attr(obj, name, H5T_NATIVE_DOUBLE, sp, nullptr);
    H5Sclose(sp);
  }
  void attr_ints(const std::string& obj, const std::string& name, const std::vector<int64_t>& values) {
    hsize_t n = values.size();
    hid_t sp = H5Screate_simple(1, &n, nullptr);
    put_attr(obj, name, H5T_NATIVE_INT64, sp, values.data());
    H5Sclose(sp);
  }
  void attr_bool(const std::string& obj, const std::string& name, bool v) {
    hid_t t = bool_type();
    hid_t sp = H5Screate(H5S_SCALAR);
    int8_t b = v ? 1 : 0;
    put_attr(obj, name, t, sp, &b);
    H5Sclose(sp);
    H5Tclose(t);
  }
  // An H5R_OBJECT reference to `target` (anndata 0.7 categorical codes -> __categories/<col>).
  void attr_ref(const std::string& obj, const std::string& name, const std::string& target) {
    hobj_ref_t ref;
    ok(H5Rcreate(&ref, m_file, target.c_str(), H5R_OBJECT, -1), "reference " + target);
    hid_t sp = H5Screate(H5S_SCALAR);
    put_attr(obj, name, H5T_STD_REF_OBJ, sp, &ref);
    H5Sclose(sp);
  }
  void tag(const std::string& obj, const std::string& type, const std::string& version) {
    attr_string(obj, "encoding-type", type);
    attr_string(obj, "encoding-version", version);
  }

 private:
  static void ok(long long r, const std::string& what) {
    if (r < 0) throw std::runtime_error("H5Builder: " + what + " failed");
  }
  static hid_t vlen() {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
  }
  static hid_t bool_type() {
    hid_t t = H5Tenum_create(H5T_NATIVE_INT8);
    int8_t f = 0, tr = 1;
    H5Tenum_insert(t, "FALSE", &f);
    H5Tenum_insert(t, "TRUE", &tr);
    return t;
  }
  void parent(const std::string& path) {
    const size_t slash = path.rfind('/');
    if (slash != std::string::npos && slash > 0) group(path.substr(0, slash));
  }
  void write(const std::string& path, hid_t ftype, hid_t mtype, const std::vector<hsize_t>& dims, const void* data,
             hsize_t chunk, int filter, const std::vector<unsigned>& cd) {
    parent(path);
    std::vector<hsize_t> maxd = dims;
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (chunk > 0 || filter > 0) {
      std::vector<hsize_t> ch = dims;
      ch[0] = chunk > 0 ? chunk : std::max<hsize_t>(1, dims[0]);
      for (auto& c : ch) c = std::max<hsize_t>(c, 1);
      maxd[0] = H5S_UNLIMITED;
      H5Pset_chunk(dcpl, int(dims.size()), ch.data());
      if (filter > 0) ok(H5Pset_filter(dcpl, H5Z_filter_t(filter), H5Z_FLAG_MANDATORY, cd.size(), cd.data()), "filter");
    }
    hid_t sp = H5Screate_simple(int(dims.size()), dims.data(), maxd.data());
    hid_t ds = H5Dcreate2(m_file, path.c_str(), ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ok(ds, "dataset " + path);
    hsize_t total = 1;
    for (hsize_t d : dims) total *= d;
    if (data && total > 0) ok(H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "write " + path);
    H5Dclose(ds);
    H5Sclose(sp);
    H5Pclose(dcpl);
  }
  void put_attr(const std::string& obj, const std::string& name, hid_t type, hid_t space, const void* data) {
    hid_t o = H5Oopen(m_file, obj.c_str(), H5P_DEFAULT);
    ok(o, "open " + obj);
    hid_t a = H5Acreate2(o, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT);
    ok(a, "attribute " + name);
    if (data) ok(H5Awrite(a, type, data), "write attribute " + name);
    H5Aclose(a);
    H5Oclose(o);
  }

  hid_t m_file = -1;
};

// ---- toy files --------------------------------------------------------------------------------

// A sparse matrix element as stored (values as doubles, written with data_type).
struct ToySparse {
  std::vector<int64_t> shape;  // attribute value (may lie)
  std::vector<int64_t> indptr, indices;
  std::vector<double> data;
  std::string data_type = "float32";  // float32 | float64 | int32 | int64
  std::string index_type = "int32";   // int32 | int64 | uint32
  std::string encoding = "csr_matrix";  // csr_matrix | csc_matrix | h5sparse-csr
  int data_filter = 0;                  // filter id applied to data (0 = none)
  std::vector<unsigned> filter_cd;
};

struct ToyAnnData {
  std::vector<std::string> obs, var;
  std::optional<ToySparse> x;
  std::optional<std::vector<double>> x_dense;  // (n_obs, n_vars) row-major
  std::map<std::string, ToySparse> layers;
  std::vector<std::pair<std::string, std::vector<std::string>>> obs_categoricals;
  std::vector<std::pair<std::string, std::vector<double>>> obs_numbers;
  std::optional<std::vector<float>> obsm_latent;  // obsm/X_latent, (n_obs, 2)
  bool legacy07 = false;  // anndata 0.7 layout: untagged, __categories references
};

// 4 cells x 3 genes of counts:  [[1 0 2] [0 0 0] [3 1 0] [0 5 1]]
inline ToySparse toy_csr() {
  ToySparse s;
  s.shape = {4, 3};
  s.indptr = {0, 2, 2, 4, 6};
  s.indices = {0, 2, 0, 1, 1, 2};
  s.data = {1, 2, 3, 1, 5, 1};
  return s;
}

inline ToyAnnData toy_anndata() {
  ToyAnnData t;
  t.obs = {"c0", "c1", "c2", "c3"};
  t.var = {"g0", "g1", "g2"};
  t.x = toy_csr();
  t.obs_categoricals.push_back({"cell_type", {"T", "B", "T", "NK"}});
  t.obs_numbers.push_back({"n_counts", {3, 0, 4, 6}});
  return t;
}

namespace toy_detail {
template <class T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}
template <class T>
std::vector<T> casti(const std::vector<int64_t>& v) {
  return std::vector<T>(v.begin(), v.end());
}
inline void write_values(H5Builder& b, const std::string& path, const std::vector<double>& v, const std::string& type,
                         hsize_t chunk, int filter = 0, const std::vector<unsigned>& cd = {}) {
  if (type == "float64") b.array(path, v, {}, chunk, filter, cd);
  else if (type == "int32") b.array(path, cast<int32_t>(v), {}, chunk, filter, cd);
  else if (type == "int64") b.array(path, cast<int64_t>(v), {}, chunk, filter, cd);
  else b.array(path, cast<float>(v), {}, chunk, filter, cd);
}
inline void write_index(H5Builder& b, const std::string& path, const std::vector<int64_t>& v, const std::string& type) {
  if (type == "int64") b.array(path, v, {}, 1024);
  else if (type == "uint32") b.array(path, casti<uint32_t>(v), {}, 1024);
  else b.array(path, casti<int32_t>(v), {}, 1024);
}
}  // namespace toy_detail

inline void write_toy_sparse(H5Builder& b, const std::string& path, const ToySparse& s) {
  b.group(path);
  if (s.encoding == "h5sparse-csr" || s.encoding == "h5sparse-csc") {
    b.attr_string(path, "h5sparse_format", s.encoding.substr(9));
    b.attr_ints(path, "h5sparse_shape", s.shape);
  } else {
    b.tag(path, s.encoding, "0.1.0");  // sparse groups are tagged since anndata 0.7
    b.attr_ints(path, "shape", s.shape);
  }
  toy_detail::write_values(b, path + "/data", s.data, s.data_type, 1024, s.data_filter, s.filter_cd);
  toy_detail::write_index(b, path + "/indices", s.indices, s.index_type);
  toy_detail::write_index(b, path + "/indptr", s.indptr, s.index_type);
}

inline void write_toy_dataframe(H5Builder& b, const std::string& path, const std::vector<std::string>& index,
                                const std::vector<std::pair<std::string, std::vector<std::string>>>& cats,
                                const std::vector<std::pair<std::string, std::vector<double>>>& nums, bool legacy07) {
  b.group(path);
  b.attr_string(path, "_index", "_index");
  std::vector<std::string> order;
  for (const auto& c : cats) order.push_back(c.first);
  for (const auto& c : nums) order.push_back(c.first);
  if (order.empty()) b.attr_empty_floats(path, "column-order");
  else b.attr_strings(path, "column-order", order);
  b.tag(path, "dataframe", legacy07 ? "0.1.0" : "0.2.0");
  b.strings(path + "/_index", index);
  if (!legacy07) b.tag(path + "/_index", "string-array", "0.2.0");
  for (const auto& [name, values] : cats) {
    std::vector<std::string> categories;
    for (const auto& v : values)
      if (std::find(categories.begin(), categories.end(), v) == categories.end()) categories.push_back(v);
    std::sort(categories.begin(), categories.end());
    std::vector<int8_t> codes;
    for (const auto& v : values) codes.push_back(int8_t(std::find(categories.begin(), categories.end(), v) - categories.begin()));
    if (legacy07) {
      b.strings(path + "/__categories/" + name, categories);
      b.attr_bool(path + "/__categories/" + name, "ordered", false);
      b.array(path + "/" + name, codes);
      b.attr_ref(path + "/" + name, "categories", path + "/__categories/" + name);
    } else {
      b.group(path + "/" + name);
      b.tag(path + "/" + name, "categorical", "0.2.0");
      b.attr_bool(path + "/" + name, "ordered", false);
      b.strings(path + "/" + name + "/categories", categories);
      b.tag(path + "/" + name + "/categories", "string-array", "0.2.0");
      b.array(path + "/" + name + "/codes", codes);
      b.tag(path + "/" + name + "/codes", "array", "0.2.0");
    }
  }
  for (const auto& [name, values] : nums) {
    b.array(path + "/" + name, values);
    if (!legacy07) b.tag(path + "/" + name, "array", "0.2.0");
  }
}

inline void write_toy_h5ad(const std::string& file, const ToyAnnData& t) {
  H5Builder b(file);
  if (!t.legacy07) b.tag("/", "anndata", "0.1.0");
  write_toy_dataframe(b, "/obs", t.obs, t.obs_categoricals, t.obs_numbers, t.legacy07);
  write_toy_dataframe(b, "/var", t.var, {}, {}, t.legacy07);
  if (t.x) write_toy_sparse(b, "/X", *t.x);
  if (t.x_dense) {
    b.array("/X", *t.x_dense, {hsize_t(t.obs.size()), hsize_t(t.var.size())});
    if (!t.legacy07) b.tag("/X", "array", "0.2.0");
  }
  b.group("/layers");
  if (!t.legacy07) b.tag("/layers", "dict", "0.1.0");
  for (const auto& [name, s] : t.layers) write_toy_sparse(b, "/layers/" + name, s);
  if (t.obsm_latent) {
    b.array("/obsm/X_latent", *t.obsm_latent, {hsize_t(t.obs.size()), 2});
    if (!t.legacy07) b.tag("/obsm", "dict", "0.1.0");
  }
}

}  // namespace cuvi::test
