// netCDF-4 writer: HDF5 file with tracked creation order, dimension scales (H5DS) carrying
// _Netcdf4Dimid, coordinate variables, chunked data variables streamed by hyperslabs along axis 0.
#include "io/netcdf_writer.h"

#include <hdf5.h>
#include <hdf5_hl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "engine/error.h"
#include "io/h5_util.h"

namespace cuvi::io {
namespace {

constexpr size_t kChunkBytes = size_t(4) << 20;  // target chunk size of streamed variables

void ok(herr_t e, const std::string& what) {
  if (e < 0) fail(what + ": " + h5_error_detail());
}
hid_t ok_id(hid_t id, const std::string& what) {
  if (id < 0) fail(what + ": " + h5_error_detail());
  return id;
}

hid_t file_type(NcType t) {
  switch (t) {
    case NcType::F32: return H5T_IEEE_F32LE;
    case NcType::F64: return H5T_IEEE_F64LE;
    case NcType::I64: return H5T_STD_I64LE;
    case NcType::Bool: return H5T_STD_I8LE;
    case NcType::String: break;  // a variable-length type, made per variable (vlen_utf8)
  }
  return H5T_IEEE_F32LE;
}

H5Handle vlen_utf8() {
  H5Handle t(H5Tcopy(H5T_C_S1));
  H5Tset_size(t.get(), H5T_VARIABLE);
  H5Tset_cset(t.get(), H5T_CSET_UTF8);
  return t;
}

// Bytes per element in memory, for chunk sizing (a string: its pointer).
size_t element_bytes(NcType t) {
  switch (t) {
    case NcType::F32: return 4;
    case NcType::Bool: return 1;
    case NcType::String: return sizeof(char*);
    default: return 8;
  }
}

// Scalar fixed-length string attribute (netCDF NC_CHAR), replacing one of the same name.
void string_attr(hid_t obj, const std::string& name, const std::string& value) {
  if (H5Aexists(obj, name.c_str()) > 0) H5Adelete(obj, name.c_str());
  H5Handle t(H5Tcopy(H5T_C_S1));
  H5Tset_size(t.get(), std::max<size_t>(1, value.size()));
  H5Tset_strpad(t.get(), H5T_STR_NULLTERM);
  H5Tset_cset(t.get(), H5T_CSET_UTF8);
  H5Handle space(H5Screate(H5S_SCALAR));
  H5Handle a(ok_id(H5Acreate2(obj, name.c_str(), t.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), "attribute " + name));
  std::string buf = value.empty() ? std::string(1, '\0') : value;
  ok(H5Awrite(a.get(), t.get(), buf.data()), "attribute " + name);
}

void int_attr(hid_t obj, const std::string& name, int32_t value) {
  H5Handle space(H5Screate(H5S_SCALAR));
  H5Handle a(ok_id(H5Acreate2(obj, name.c_str(), H5T_STD_I32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                   "attribute " + name));
  ok(H5Awrite(a.get(), H5T_NATIVE_INT32, &value), "attribute " + name);
}

// Dataset creation properties netCDF-4 uses: attribute creation order tracked and indexed.
H5Handle dcpl() {
  H5Handle p(H5Pcreate(H5P_DATASET_CREATE));
  H5Pset_attr_creation_order(p.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  return p;
}

}  // namespace

struct NetcdfWriter::Dim {
  int64_t size = 0;
  int id = 0;
  H5Handle scale;  // the dimension-scale dataset
};

struct NetcdfWriter::Var {
  std::vector<std::string> dims;
  std::vector<hsize_t> shape;
  NcType type = NcType::F32;
  H5Handle dset;
  int64_t row_elems = 1;  // product of every dimension but the first
};

NetcdfWriter::NetcdfWriter(const std::string& path) : m_path(path) {
  h5_init();
  m_tmp = path + ".tmp-" + std::to_string(::getpid());
  H5Handle fcpl(H5Pcreate(H5P_FILE_CREATE));
  H5Pset_link_creation_order(fcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  H5Pset_attr_creation_order(fcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  m_file = H5Fcreate(m_tmp.c_str(), H5F_ACC_TRUNC, fcpl.get(), H5P_DEFAULT);
  if (m_file < 0) fail("cannot create " + path + ": " + h5_error_detail());
  unsigned maj = 0, min = 0, rel = 0;
  H5get_libversion(&maj, &min, &rel);
  string_attr(hid_t(m_file), "_NCProperties",
              "version=2,cuvi=1,hdf5=" + std::to_string(maj) + "." + std::to_string(min) + "." + std::to_string(rel));
}

NetcdfWriter::~NetcdfWriter() {
  m_vars.clear();
  m_dims.clear();
  if (m_file >= 0) H5Fclose(hid_t(m_file));
  if (!m_committed) std::remove(m_tmp.c_str());
}

int64_t NetcdfWriter::dimension_size(const std::string& name) const {
  auto it = m_dims.find(name);
  CUVI_CHECK(it != m_dims.end(), m_path + ": no dimension '" + name + "'");
  return it->second->size;
}

void NetcdfWriter::dimension(const std::string& name, int64_t size) {
  CUVI_CHECK(!m_dims.count(name) && !m_vars.count(name), m_path + ": '" + name + "' is defined twice");
  auto d = std::make_unique<Dim>();
  d->size = size;
  d->id = m_next_dimid++;
  const hsize_t n = hsize_t(size);
  H5Handle space(H5Screate_simple(1, &n, nullptr));
  H5Handle p = dcpl();
  d->scale = H5Handle(ok_id(H5Dcreate2(hid_t(m_file), name.c_str(), H5T_IEEE_F32BE, space.get(), H5P_DEFAULT, p.get(),
                                       H5P_DEFAULT),
                            m_path + ": dimension " + name));
  char label[96];
  std::snprintf(label, sizeof label, "This is a netCDF dimension but not a netCDF variable.%10lld", (long long)size);
  ok(H5DSset_scale(d->scale.get(), label), m_path + ": dimension " + name);
  int_attr(d->scale.get(), "_Netcdf4Dimid", d->id);
  m_dims[name] = std::move(d);
}

void NetcdfWriter::coordinate(const std::string& dim, const std::vector<std::string>& labels) {
  CUVI_CHECK(!m_dims.count(dim) && !m_vars.count(dim), m_path + ": '" + dim + "' is defined twice");
  auto d = std::make_unique<Dim>();
  d->size = int64_t(labels.size());
  d->id = m_next_dimid++;
  const hsize_t n = labels.size();
  H5Handle space(H5Screate_simple(1, &n, nullptr));
  H5Handle type = vlen_utf8();
  H5Handle p = dcpl();
  d->scale = H5Handle(
      ok_id(H5Dcreate2(hid_t(m_file), dim.c_str(), type.get(), space.get(), H5P_DEFAULT, p.get(), H5P_DEFAULT),
            m_path + ": coordinate " + dim));
  std::vector<const char*> ptrs;
  for (const auto& s : labels) ptrs.push_back(s.c_str());
  if (n) ok(H5Dwrite(d->scale.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), m_path + ": " + dim);
  ok(H5DSset_scale(d->scale.get(), dim.c_str()), m_path + ": coordinate " + dim);
  int_attr(d->scale.get(), "_Netcdf4Dimid", d->id);
  m_dims[dim] = std::move(d);
}

void NetcdfWriter::coordinate(const std::string& dim, const std::vector<int64_t>& values) {
  CUVI_CHECK(!m_dims.count(dim) && !m_vars.count(dim), m_path + ": '" + dim + "' is defined twice");
  auto d = std::make_unique<Dim>();
  d->size = int64_t(values.size());
  d->id = m_next_dimid++;
  const hsize_t n = values.size();
  H5Handle space(H5Screate_simple(1, &n, nullptr));
  H5Handle p = dcpl();
  d->scale = H5Handle(ok_id(
      H5Dcreate2(hid_t(m_file), dim.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, p.get(), H5P_DEFAULT),
      m_path + ": coordinate " + dim));
  if (n) ok(H5Dwrite(d->scale.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), m_path + ": " + dim);
  ok(H5DSset_scale(d->scale.get(), dim.c_str()), m_path + ": coordinate " + dim);
  int_attr(d->scale.get(), "_Netcdf4Dimid", d->id);
  m_dims[dim] = std::move(d);
}

void NetcdfWriter::variable(const std::string& name, const std::vector<std::string>& dims, NcType type) {
  CUVI_CHECK(!m_dims.count(name) && !m_vars.count(name), m_path + ": '" + name + "' is defined twice");
  CUVI_CHECK(!dims.empty(), m_path + ": variable '" + name + "' needs at least one dimension");
  auto v = std::make_unique<Var>();
  v->dims = dims;
  v->type = type;
  for (const auto& d : dims) {
    auto it = m_dims.find(d);
    CUVI_CHECK(it != m_dims.end(), m_path + ": variable '" + name + "' uses the undefined dimension '" + d + "'");
    v->shape.push_back(hsize_t(it->second->size));
  }
  for (size_t i = 1; i < v->shape.size(); ++i) v->row_elems *= int64_t(v->shape[i]);
  H5Handle space(H5Screate_simple(int(v->shape.size()), v->shape.data(), nullptr));
  H5Handle p = dcpl();
  // Chunks of whole rows along the first dimension, about kChunkBytes each (at least one row); a row
  // larger than that is split along the second dimension.
  const size_t elem = element_bytes(type);
  std::vector<hsize_t> chunk(v->shape.size());
  for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = std::max<hsize_t>(1, v->shape[i]);
  const size_t row_bytes = size_t(std::max<int64_t>(1, v->row_elems)) * elem;
  chunk[0] = std::max<hsize_t>(1, std::min<hsize_t>(chunk[0], hsize_t(kChunkBytes / row_bytes)));
  if (row_bytes > kChunkBytes && chunk.size() > 1)
    chunk[1] = std::max<hsize_t>(1, hsize_t(double(chunk[1]) * double(kChunkBytes) / double(row_bytes)));
  ok(H5Pset_chunk(p.get(), int(chunk.size()), chunk.data()), m_path + ": variable " + name);
  H5Handle string_type;
  if (type == NcType::String) string_type = vlen_utf8();
  const hid_t ftype = type == NcType::String ? string_type.get() : file_type(type);
  v->dset = H5Handle(
      ok_id(H5Dcreate2(hid_t(m_file), name.c_str(), ftype, space.get(), H5P_DEFAULT, p.get(), H5P_DEFAULT),
            m_path + ": variable " + name));
  for (size_t i = 0; i < dims.size(); ++i)
    ok(H5DSattach_scale(v->dset.get(), m_dims.at(dims[i])->scale.get(), unsigned(i)),
       m_path + ": attaching dimension " + dims[i] + " to " + name);
  if (type == NcType::Bool) string_attr(v->dset.get(), "dtype", "bool");  // xarray decodes int8 back to bool
  m_vars[name] = std::move(v);
}

NetcdfWriter::Var& NetcdfWriter::var(const std::string& name) {
  auto it = m_vars.find(name);
  CUVI_CHECK(it != m_vars.end(), m_path + ": no variable '" + name + "'");
  return *it->second;
}

void NetcdfWriter::write_block(Var& v, int64_t row0, int64_t n_rows, const void* data, int64_t mem_type) {
  CUVI_CHECK(row0 >= 0 && n_rows >= 0 && hsize_t(row0 + n_rows) <= v.shape[0],
             m_path + ": rows " + std::to_string(row0) + ".." + std::to_string(row0 + n_rows) + " outside the variable");
  if (n_rows == 0 || v.row_elems == 0) return;
  std::vector<hsize_t> start(v.shape.size(), 0), count = v.shape;
  start[0] = hsize_t(row0);
  count[0] = hsize_t(n_rows);
  H5Handle fspace(H5Dget_space(v.dset.get()));
  ok(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr), m_path);
  H5Handle mspace(H5Screate_simple(int(count.size()), count.data(), nullptr));
  ok(H5Dwrite(v.dset.get(), hid_t(mem_type), mspace.get(), fspace.get(), H5P_DEFAULT, data), m_path + ": writing");
}

void NetcdfWriter::write_rows(const std::string& name, int64_t row0, int64_t n, const float* d) {
  Var& v = var(name);
  CUVI_CHECK(v.type == NcType::F32 || v.type == NcType::F64, m_path + ": '" + name + "' is not a float variable");
  write_block(v, row0, n, d, H5T_NATIVE_FLOAT);
}
void NetcdfWriter::write_rows(const std::string& name, int64_t row0, int64_t n, const double* d) {
  Var& v = var(name);
  CUVI_CHECK(v.type == NcType::F32 || v.type == NcType::F64, m_path + ": '" + name + "' is not a float variable");
  write_block(v, row0, n, d, H5T_NATIVE_DOUBLE);
}
void NetcdfWriter::write_rows(const std::string& name, int64_t row0, int64_t n, const uint8_t* d) {
  Var& v = var(name);
  CUVI_CHECK(v.type == NcType::Bool, m_path + ": '" + name + "' is not a boolean variable");
  write_block(v, row0, n, d, H5T_NATIVE_UINT8);
}
void NetcdfWriter::write(const std::string& name, const int64_t* d) {
  Var& v = var(name);
  CUVI_CHECK(v.type == NcType::I64, m_path + ": '" + name + "' is not an integer variable");
  write_block(v, 0, int64_t(v.shape[0]), d, H5T_NATIVE_INT64);
}
void NetcdfWriter::write(const std::string& name, const std::vector<std::string>& d) {
  Var& v = var(name);
  CUVI_CHECK(v.type == NcType::String, m_path + ": '" + name + "' is not a string variable");
  const int64_t numel = int64_t(v.shape[0]) * v.row_elems;
  CUVI_CHECK(int64_t(d.size()) == numel, m_path + ": '" + name + "' holds " + std::to_string(numel) + " strings, got " +
                                             std::to_string(d.size()));
  std::vector<const char*> ptrs;
  for (const auto& s : d) ptrs.push_back(s.c_str());
  H5Handle type = vlen_utf8();
  write_block(v, 0, int64_t(v.shape[0]), ptrs.data(), int64_t(type.get()));
}
void NetcdfWriter::write(const std::string& name, const float* d) { write_rows(name, 0, int64_t(var(name).shape[0]), d); }
void NetcdfWriter::write(const std::string& name, const double* d) { write_rows(name, 0, int64_t(var(name).shape[0]), d); }
void NetcdfWriter::write(const std::string& name, const uint8_t* d) { write_rows(name, 0, int64_t(var(name).shape[0]), d); }

void NetcdfWriter::attribute(const std::string& name, const std::string& key, const std::string& value) {
  if (name.empty()) {
    string_attr(hid_t(m_file), key, value);
    return;
  }
  string_attr(var(name).dset.get(), key, value);
}

void NetcdfWriter::commit() {
  CUVI_CHECK(!m_committed, m_path + ": committed twice");
  m_vars.clear();
  m_dims.clear();
  const herr_t e = H5Fclose(hid_t(m_file));
  m_file = -1;
  if (e < 0) fail("cannot write " + m_path + ": " + h5_error_detail());
  if (std::rename(m_tmp.c_str(), m_path.c_str()) != 0)
    fail("cannot write " + m_path + ": " + std::strerror(errno));
  m_committed = true;
}

}  // namespace cuvi::io
