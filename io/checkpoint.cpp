// Model-file reader and writer on the HDF5 C API. Layout: root attrs "cuvi_kind", "cuvi_version";
// /config (string attrs), /weights/<name> (float32 datasets), /registry/<name> (vlen strings),
// /history/<name> (float64). Tensor names may contain spaces and dots; '/' is escaped as "%2F".
#include "io/checkpoint.h"

#include <hdf5.h>

#include <cstdio>
#include <cstring>
#include <cerrno>
#include <unistd.h>

#include "engine/error.h"
#include "io/h5_util.h"

namespace cuvi::io {
namespace {

std::string escape(const std::string& name) {
  std::string s;
  for (char c : name) s += c == '/' ? std::string("%2F") : std::string(1, c);
  return s;
}
std::string unescape(const std::string& name) {
  std::string s;
  for (size_t i = 0; i < name.size(); ++i) {
    if (name.compare(i, 3, "%2F") == 0) {
      s += '/';
      i += 2;
    } else {
      s += name[i];
    }
  }
  return s;
}

void ok(herr_t e, const std::string& what) {
  if (e < 0) fail(what + ": " + h5_error_detail());
}
hid_t ok_id(hid_t id, const std::string& what) {
  if (id < 0) fail(what + ": " + h5_error_detail());
  return id;
}

H5Handle vlen_string_type() {
  H5Handle t(H5Tcopy(H5T_C_S1));
  H5Tset_size(t.get(), H5T_VARIABLE);
  H5Tset_cset(t.get(), H5T_CSET_UTF8);
  return t;
}

void write_string_attr(hid_t obj, const std::string& name, const std::string& value) {
  H5Handle type = vlen_string_type();
  H5Handle space(H5Screate(H5S_SCALAR));
  H5Handle a(ok_id(H5Acreate2(obj, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), name));
  const char* p = value.c_str();
  ok(H5Awrite(a.get(), type.get(), &p), name);
}

std::string read_string_attr(hid_t obj, const std::string& name) {
  H5Handle a(ok_id(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "attribute " + name));
  H5Handle ftype(H5Aget_type(a.get()));
  if (H5Tget_class(ftype.get()) != H5T_STRING) fail("attribute " + name + " is not a string");
  if (H5Tis_variable_str(ftype.get()) > 0) {
    H5Handle type = vlen_string_type();
    char* p = nullptr;
    ok(H5Aread(a.get(), type.get(), &p), name);
    std::string s = p ? p : "";
    H5free_memory(p);
    return s;
  }
  const size_t n = H5Tget_size(ftype.get());
  std::string s(n, '\0');
  ok(H5Aread(a.get(), ftype.get(), s.data()), name);
  return std::string(s.c_str());
}

std::vector<std::string> member_names(hid_t group) {
  std::vector<std::string> names;
  H5G_info_t info;
  ok(H5Gget_info(group, &info), "group info");
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t n = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    std::string s(size_t(n), '\0');
    H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, s.data(), size_t(n) + 1, H5P_DEFAULT);
    names.push_back(s);
  }
  return names;
}

template <class T>
void write_dataset(hid_t group, const std::string& name, hid_t mem_type, const std::vector<hsize_t>& dims,
                   const T* data) {
  H5Handle space(H5Screate_simple(int(dims.size()), dims.data(), nullptr));
  H5Handle d(ok_id(H5Dcreate2(group, name.c_str(), mem_type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                   "dataset " + name));
  ok(H5Dwrite(d.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "dataset " + name);
}

}  // namespace

void write_checkpoint(const std::string& path, const Checkpoint& c) {
  h5_init();
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  {
    H5Handle f(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    if (!f.valid()) fail("cannot create model file " + path + ": " + h5_error_detail());
    try {
      write_string_attr(f.get(), "cuvi_kind", c.kind);
      write_string_attr(f.get(), "cuvi_version", std::to_string(c.version));
      H5Handle cfg(ok_id(H5Gcreate2(f.get(), "config", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "config"));
      for (const auto& [k, v] : c.config) write_string_attr(cfg.get(), k, v);
      H5Handle w(ok_id(H5Gcreate2(f.get(), "weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "weights"));
      for (const auto& [k, t] : c.tensors) {
        std::vector<hsize_t> dims(t.shape.begin(), t.shape.end());
        if (dims.empty()) dims.push_back(t.values.size());
        write_dataset(w.get(), escape(k), H5T_NATIVE_FLOAT, dims, t.values.data());
      }
      H5Handle r(ok_id(H5Gcreate2(f.get(), "registry", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "registry"));
      H5Handle st = vlen_string_type();
      for (const auto& [k, v] : c.strings) {
        std::vector<const char*> ptrs;
        for (const auto& s : v) ptrs.push_back(s.c_str());
        write_dataset(r.get(), escape(k), st.get(), {hsize_t(v.size())}, ptrs.data());
      }
      H5Handle h(ok_id(H5Gcreate2(f.get(), "history", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "history"));
      for (const auto& [k, v] : c.history) write_dataset(h.get(), escape(k), H5T_NATIVE_DOUBLE, {hsize_t(v.size())}, v.data());
      ok(H5Fflush(f.get(), H5F_SCOPE_GLOBAL), "flush");
    } catch (...) {
      f.reset();
      std::remove(tmp.c_str());
      throw;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    fail("cannot write model file " + path + ": " + std::strerror(errno));
  }
}

namespace {

// The model file open for reading, checked to be one (fails naming the path otherwise).
H5Handle open_model_file(const std::string& path) {
  h5_init();
  if (H5Fis_hdf5(path.c_str()) <= 0) fail(path + ": not a cuvi model file (not HDF5, or missing)");
  H5Handle f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!f.valid()) fail(path + ": cannot open: " + h5_error_detail());
  if (H5Aexists(f.get(), "cuvi_kind") <= 0) fail(path + ": not a cuvi model file (no cuvi_kind attribute)");
  return f;
}

}  // namespace

std::string read_checkpoint_kind(const std::string& path) {
  H5Handle f = open_model_file(path);
  return read_string_attr(f.get(), "cuvi_kind");
}

Checkpoint read_checkpoint(const std::string& path) {
  H5Handle f = open_model_file(path);
  Checkpoint c;
  c.kind = read_string_attr(f.get(), "cuvi_kind");
  c.version = std::stoll(read_string_attr(f.get(), "cuvi_version"));
  for (const char* g : {"config", "weights", "registry", "history"})
    if (H5Lexists(f.get(), g, H5P_DEFAULT) <= 0) fail(path + ": damaged model file: /" + g + " is missing");
  H5Handle cfg(H5Gopen2(f.get(), "config", H5P_DEFAULT));
  const int n_attr = H5Aget_num_attrs(cfg.get());
  for (int i = 0; i < n_attr; ++i) {
    char name[512];
    H5Handle a(H5Aopen_by_idx(cfg.get(), ".", H5_INDEX_NAME, H5_ITER_INC, hsize_t(i), H5P_DEFAULT, H5P_DEFAULT));
    H5Aget_name(a.get(), sizeof name, name);
    c.config[name] = read_string_attr(cfg.get(), name);
  }
  H5Handle w(H5Gopen2(f.get(), "weights", H5P_DEFAULT));
  for (const std::string& name : member_names(w.get())) {
    H5Handle d(ok_id(H5Dopen2(w.get(), name.c_str(), H5P_DEFAULT), path + ": weights/" + name));
    H5Handle space(H5Dget_space(d.get()));
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0 || rank > 4) fail(path + ": weights/" + name + " has an unsupported rank");
    hsize_t dims[4] = {0, 0, 0, 0};
    H5Sget_simple_extent_dims(space.get(), dims, nullptr);
    CheckpointTensor t;
    size_t n = 1;
    for (int i = 0; i < rank; ++i) {
      t.shape.push_back(int64_t(dims[i]));
      n *= dims[i];
    }
    if (n > (size_t(1) << 34)) fail(path + ": weights/" + name + " claims an absurd size");
    t.values.resize(n);
    ok(H5Dread(d.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.values.data()), path + ": " + name);
    c.tensors[unescape(name)] = std::move(t);
  }
  H5Handle r(H5Gopen2(f.get(), "registry", H5P_DEFAULT));
  H5Handle st = vlen_string_type();
  for (const std::string& name : member_names(r.get())) {
    H5Handle d(ok_id(H5Dopen2(r.get(), name.c_str(), H5P_DEFAULT), path + ": registry/" + name));
    H5Handle space(H5Dget_space(d.get()));
    const hssize_t n = H5Sget_simple_extent_npoints(space.get());
    if (n < 0 || n > (hssize_t(1) << 31)) fail(path + ": registry/" + name + " claims an absurd size");
    std::vector<char*> ptrs(size_t(n), nullptr);
    ok(H5Dread(d.get(), st.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), path + ": registry/" + name);
    std::vector<std::string> v;
    for (char* p : ptrs) v.emplace_back(p ? p : "");
    H5Dvlen_reclaim(st.get(), space.get(), H5P_DEFAULT, ptrs.data());
    c.strings[unescape(name)] = std::move(v);
  }
  H5Handle h(H5Gopen2(f.get(), "history", H5P_DEFAULT));
  for (const std::string& name : member_names(h.get())) {
    H5Handle d(ok_id(H5Dopen2(h.get(), name.c_str(), H5P_DEFAULT), path + ": history/" + name));
    H5Handle space(H5Dget_space(d.get()));
    const hssize_t n = H5Sget_simple_extent_npoints(space.get());
    if (n < 0 || n > (hssize_t(1) << 31)) fail(path + ": history/" + name + " claims an absurd size");
    std::vector<double> v(static_cast<size_t>(n));
    ok(H5Dread(d.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), path + ": history/" + name);
    c.history[unescape(name)] = std::move(v);
  }
  return c;
}

}  // namespace cuvi::io
