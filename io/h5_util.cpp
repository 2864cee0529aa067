// HDF5 C API plumbing: handles, quiet errors, typed and bounds-checked reads (see h5_util.h).
// Implements the string, boolean-enum, object-reference and filter rules of file-formats.md §1.4 and §4.
#include "io/h5_util.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <unordered_set>

#include "engine/error.h"
#include "io/lzf.h"

namespace cuvi::io {

namespace {

constexpr int64_t kMaxAttrElements = 1 << 20;
constexpr int64_t kStringBlock = 1 << 16;

void reclaim_vlen(hid_t memtype, hid_t space, void* buf) {
#if H5_VERSION_GE(1, 12, 0)
  H5Treclaim(memtype, space, H5P_DEFAULT, buf);
#else
  H5Dvlen_reclaim(memtype, space, H5P_DEFAULT, buf);
#endif
}

std::string human_bytes(long double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (b >= 1024 && u < 6) {
    b /= 1024;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1Lf %s", b, units[u]);
  return buf;
}

const char* filter_name(H5Z_filter_t id) {
  switch (id) {
    case 1: return "deflate/gzip";
    case 2: return "shuffle";
    case 3: return "fletcher32";
    case 4: return "szip";
    case 5: return "nbit";
    case 6: return "scaleoffset";
    case 307: return "bzip2";
    case 32000: return "lzf";
    case 32001: return "blosc";
    case 32004: return "lz4";
    case 32008: return "bitshuffle";
    case 32013: return "zfp";
    case 32015: return "zstd";
    case 32026: return "blosc2";
    default: return "unknown";
  }
}

// Decodes n enum values read with the native enum memory type into int64.
void decode_enum(hid_t memtype, const std::vector<unsigned char>& raw, int64_t n, int64_t* out) {
  H5Handle base(H5Tget_super(memtype));
  const size_t size = H5Tget_size(base.get());
  const bool is_signed = H5Tget_sign(base.get()) == H5T_SGN_2;
  for (int64_t i = 0; i < n; ++i) {
    const unsigned char* p = raw.data() + i * size;
    int64_t v = 0;
    switch (size) {
      case 1: v = is_signed ? int64_t(int8_t(p[0])) : int64_t(p[0]); break;
      case 2: { int16_t s; uint16_t u; std::memcpy(&s, p, 2); std::memcpy(&u, p, 2); v = is_signed ? s : u; break; }
      case 4: { int32_t s; uint32_t u; std::memcpy(&s, p, 4); std::memcpy(&u, p, 4); v = is_signed ? s : int64_t(u); break; }
      default: { std::memcpy(&v, p, 8); break; }
    }
    out[i] = v;
  }
}

std::string type_name(hid_t t) {
  switch (H5Tget_class(t)) {
    case H5T_INTEGER: {
      const bool s = H5Tget_sign(t) == H5T_SGN_2;
      return std::string(s ? "int" : "uint") + std::to_string(8 * H5Tget_size(t));
    }
    case H5T_FLOAT: return "float" + std::to_string(8 * H5Tget_size(t));
    case H5T_ENUM: {
      const int n = H5Tget_nmembers(t);
      if (n == 2) {
        char* a = H5Tget_member_name(t, 0);
        char* b = H5Tget_member_name(t, 1);
        const bool is_bool = a && b && std::string(a) == "FALSE" && std::string(b) == "TRUE";
        if (a) H5free_memory(a);
        if (b) H5free_memory(b);
        if (is_bool) return "bool";
      }
      return "enum";
    }
    case H5T_STRING: return H5Tis_variable_str(t) > 0 ? "string" : "fixed-string";
    case H5T_COMPOUND: return "compound";
    case H5T_REFERENCE: return "reference";
    case H5T_ARRAY: return "array";
    case H5T_OPAQUE: return "opaque";
    case H5T_BITFIELD: return "bitfield";
    case H5T_VLEN: return "vlen";
    default: return "unknown";
  }
}

std::string trim_fixed(const char* p, size_t size, H5T_str_t pad) {
  size_t n = strnlen(p, size);
  if (pad == H5T_STR_SPACEPAD)
    while (n > 0 && p[n - 1] == ' ') --n;
  return std::string(p, n);
}

// Owns every variable-length buffer HDF5 allocates during one dataset read (through the transfer
// property list), so they are freed whether the read succeeds or fails part-way; libhdf5 does not
// free the elements it already converted when a later one fails.
class VlenArena {
 public:
  VlenArena() : m_dxpl(H5Pcreate(H5P_DATASET_XFER)) {
    H5Pset_vlen_mem_manager(m_dxpl.get(), alloc, this, release, this);
  }
  VlenArena(const VlenArena&) = delete;
  VlenArena& operator=(const VlenArena&) = delete;
  ~VlenArena() {
    for (void* p : m_live) std::free(p);
  }
  hid_t dxpl() const { return m_dxpl.get(); }

 private:
  static void* alloc(size_t n, void* self) {
    void* p = std::malloc(n ? n : 1);
    if (p) static_cast<VlenArena*>(self)->m_live.insert(p);
    return p;
  }
  static void release(void* p, void* self) {
    if (!p) return;
    static_cast<VlenArena*>(self)->m_live.erase(p);
    std::free(p);
  }
  H5Handle m_dxpl;
  std::unordered_set<void*> m_live;
};

// Variable-length C string memory types, one per character set, created once and kept for the process:
// a failed conversion in libhdf5 1.10 can strand part of a per-read type (found by fuzzing).
hid_t g_vlen_types[2] = {-1, -1};

void close_vlen_types() {
  for (hid_t& t : g_vlen_types)
    if (t >= 0) {
      H5Tclose(t);
      t = -1;
    }
}

hid_t vlen_string_type(H5T_cset_t cset) {
  const int k = cset == H5T_CSET_UTF8 ? 1 : 0;
  if (g_vlen_types[k] < 0) {
    const hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, k ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
    g_vlen_types[k] = t;
  }
  return g_vlen_types[k];
}

// Reads strings from a string-typed selection of n elements into out (appends).
void read_string_selection(const Node& ds, hid_t obj, bool is_attr, hid_t ftype, hid_t memspace,
                           hid_t filespace, int64_t n, std::vector<std::string>& out) {
  if (n == 0) return;
  if (H5Tis_variable_str(ftype) > 0) {
    const hid_t mem = vlen_string_type(H5Tget_cset(ftype));
    std::vector<char*> buf(size_t(n), nullptr);
    if (!is_attr) {
      VlenArena arena;  // frees the strings on both paths
      if (H5Dread(obj, mem, memspace, filespace, arena.dxpl(), buf.data()) < 0)
        ds.fail("cannot read strings: " + h5_error_detail());
      for (char* s : buf) out.emplace_back(s ? s : "");
      return;
    }
    if (H5Aread(obj, mem, buf.data()) < 0) {
      for (char* s : buf)
        if (s) H5free_memory(s);
      ds.fail("cannot read strings: " + h5_error_detail());
    }
    for (char* s : buf) out.emplace_back(s ? s : "");
    H5Handle space(H5Screate_simple(1, std::vector<hsize_t>{hsize_t(n)}.data(), nullptr));
    reclaim_vlen(mem, space.get(), buf.data());
    return;
  }
  const size_t size = H5Tget_size(ftype);
  if (size == 0 || size > (1u << 20)) ds.fail("fixed-length strings of " + std::to_string(size) + " bytes are not supported");
  H5Handle mem(H5Tcopy(ftype));
  std::vector<char> buf(size_t(n) * size);
  const herr_t r = is_attr ? H5Aread(obj, mem.get(), buf.data())
                           : H5Dread(obj, mem.get(), memspace, filespace, H5P_DEFAULT, buf.data());
  if (r < 0) ds.fail("cannot read strings: " + h5_error_detail());
  const H5T_str_t pad = H5Tget_strpad(ftype);
  for (int64_t i = 0; i < n; ++i) out.push_back(trim_fixed(buf.data() + i * size, size, pad));
}

herr_t collect_link(hid_t, const char* name, const H5L_info_t* info, void* data) {
  if (info->type == H5L_TYPE_HARD) static_cast<std::vector<std::string>*>(data)->emplace_back(name);
  return 0;
}

herr_t first_error(unsigned n, const H5E_error2_t* e, void* data) {
  auto* s = static_cast<std::string*>(data);
  if (n == 0 && e->desc) *s = e->desc;
  return 0;
}

// Reads a numeric selection into int64 (integer/enum) or double (integer/float/enum).
template <class T>
void read_numeric_selection(const Node& ds, hid_t filespace, hid_t memspace, int64_t n, T* out) {
  if (n == 0) return;
  ds.check_readable();
  H5Handle ftype(H5Dget_type(ds.id()));
  const H5T_class_t cls = H5Tget_class(ftype.get());
  constexpr bool want_int = std::is_same<T, int64_t>::value;
  if (cls == H5T_ENUM) {
    H5Handle mem(H5Tget_native_type(ftype.get(), H5T_DIR_DEFAULT));
    std::vector<unsigned char> raw(size_t(n) * H5Tget_size(mem.get()));
    if (H5Dread(ds.id(), mem.get(), memspace, filespace, H5P_DEFAULT, raw.data()) < 0)
      ds.fail("cannot read: " + h5_error_detail());
    std::vector<int64_t> v(static_cast<size_t>(n));
    decode_enum(mem.get(), raw, n, v.data());
    for (int64_t i = 0; i < n; ++i) out[i] = T(v[i]);
    return;
  }
  if (cls != H5T_INTEGER && !(cls == H5T_FLOAT && !want_int))
    ds.fail(std::string("expected ") + (want_int ? "integers" : "numbers") + ", found " + type_name(ftype.get()));
  const hid_t mem = want_int ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE;
  if (H5Dread(ds.id(), mem, memspace, filespace, H5P_DEFAULT, out) < 0)
    ds.fail("cannot read (corrupt or truncated file?): " + h5_error_detail());
}

template <class T>
void read_range_impl(const Node& ds, int64_t start, int64_t count, T* out) {
  if (count <= 0) return;
  const int64_t n = ds.length();
  if (start < 0 || start > n || count > n - start)
    ds.fail("read of [" + std::to_string(start) + ", " + std::to_string(start + count) + ") is outside its " +
            std::to_string(n) + " entries");
  H5Handle fs(H5Dget_space(ds.id()));
  const hsize_t s = hsize_t(start), c = hsize_t(count);
  if (H5Sselect_hyperslab(fs.get(), H5S_SELECT_SET, &s, nullptr, &c, nullptr) < 0) ds.fail("bad selection");
  H5Handle ms(H5Screate_simple(1, &c, nullptr));
  read_numeric_selection(ds, fs.get(), ms.get(), count, out);
}

// File-access properties shared by open_read, open_write and create: file locking off (HDF5 >= 1.10.7).
H5Handle unlocked_file_access() {
  H5Handle fapl(H5Pcreate(H5P_FILE_ACCESS));
#if H5_VERSION_GE(1, 10, 7)
  H5Pset_file_locking(fapl.get(), false, true);
#endif
  return fapl;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

void h5_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    H5open();
    register_lzf_filter();
    // Registered after H5open, so it runs before libhdf5's own exit handler and the library shuts
    // down with no identifier of ours outstanding.
    std::atexit(close_vlen_types);
  });
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

H5Handle& H5Handle::operator=(H5Handle&& o) noexcept {
  if (this != &o) {
    reset();
    m_id = o.m_id;
    o.m_id = -1;
  }
  return *this;
}

void H5Handle::reset() {
  if (m_id < 0) return;
  switch (H5Iget_type(m_id)) {
    case H5I_FILE: H5Fclose(m_id); break;
    case H5I_GROUP: H5Gclose(m_id); break;
    case H5I_DATASET: H5Dclose(m_id); break;
    case H5I_ATTR: H5Aclose(m_id); break;
    case H5I_DATATYPE: H5Tclose(m_id); break;
    case H5I_DATASPACE: H5Sclose(m_id); break;
    case H5I_GENPROP_LST: H5Pclose(m_id); break;
    default: break;
  }
  m_id = -1;
}

bool is_group_at(hid_t loc, const std::string& name) {
#if H5_VERSION_GE(1, 12, 0)
  H5O_info2_t info;
  const herr_t r = H5Oget_info_by_name3(loc, name.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT);
#else
  H5O_info_t info;
  const herr_t r = H5Oget_info_by_name2(loc, name.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT);
#endif
  if (r < 0) {
    H5Eclear2(H5E_DEFAULT);
    return false;
  }
  return info.type == H5O_TYPE_GROUP;
}

std::string h5_error_detail() {
  std::string s;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, first_error, &s);
  H5Eclear2(H5E_DEFAULT);
  return s.empty() ? "unknown HDF5 error" : s;
}

void fail_at(const std::string& file, const std::string& path, const std::string& problem) {
  if (path.empty()) fail(file + ": " + problem);
  fail(file + ": " + path + ": " + problem);
}

int64_t default_memory_budget() {
  if (const char* env = std::getenv("CUVI_IO_MEMORY_BUDGET")) {
    char* end = nullptr;
    const long long v = std::strtoll(env, &end, 10);
    if (end != env && *end == '\0' && v > 0) return int64_t(v);
  }
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return int64_t(8) << 30;
  return int64_t(pages) * int64_t(page) / 4 * 3;
}

void check_alloc(const std::string& file, const std::string& path, int64_t n, int64_t elem_size,
                 int64_t budget, const std::string& what) {
  if (n < 0) fail_at(file, path, what + " has a negative size (" + std::to_string(n) + ")");
  if (elem_size <= 0 || n <= budget / elem_size) return;
  fail_at(file, path,
          what + " claims " + std::to_string(n) + " elements (" + human_bytes((long double)n * elem_size) +
              "), more than the memory budget of " + human_bytes(budget));
}

// ---------------------------------------------------------------------------------------------

std::shared_ptr<H5File> H5File::open_read(const std::string& path) {
  h5_init();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail(path + ": no such file");
  if (std::filesystem::is_directory(path, ec)) fail(path + ": is a directory, not a file");
  const htri_t is = H5Fis_hdf5(path.c_str());
  if (is == 0) fail(path + ": not an HDF5 file (no HDF5 signature); expected an .h5ad, 10x .h5 or .h5mu file");
  if (is < 0) fail(path + ": cannot read the file: " + h5_error_detail());
  H5Handle fapl = unlocked_file_access();
  // A 64 MiB chunk cache per open dataset: sparse data chunks are small and read sequentially.
  H5Pset_cache(fapl.get(), 0, 12421, size_t(64) << 20, 1.0);
  auto f = std::make_shared<H5File>();
  f->m_path = path;
  f->m_h = H5Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()));
  if (!f->m_h.valid()) fail(path + ": cannot open as HDF5 (truncated or corrupt file?): " + h5_error_detail());
  return f;
}

std::shared_ptr<H5File> H5File::open_write(const std::string& path) {
  h5_init();
  H5Handle fapl = unlocked_file_access();
  auto f = std::make_shared<H5File>();
  f->m_path = path;
  f->m_h = H5Handle(H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get()));
  if (!f->m_h.valid()) fail(path + ": cannot open for writing: " + h5_error_detail());
  return f;
}

std::shared_ptr<H5File> H5File::create(const std::string& path) {
  h5_init();
  H5Handle fapl = unlocked_file_access();
  auto f = std::make_shared<H5File>();
  f->m_path = path;
  f->m_h = H5Handle(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()));
  if (!f->m_h.valid()) fail(path + ": cannot create: " + h5_error_detail());
  return f;
}

// ---------------------------------------------------------------------------------------------

Node Node::root(std::shared_ptr<H5File> file) {
  auto h = std::make_shared<H5Handle>(H5Gopen2(file->id(), "/", H5P_DEFAULT));
  if (!h->valid()) cuvi::fail(file->path() + ": cannot open the root group: " + h5_error_detail());
  return Node(std::move(file), std::move(h), "/", true);
}

std::string Node::child_path(const std::string& name) const {
  return m_path == "/" ? "/" + name : m_path + "/" + name;
}

bool Node::has(const std::string& rel) const {
  if (!m_group || rel.empty()) return false;
  size_t pos = 0;
  while (true) {
    const size_t slash = rel.find('/', pos);
    const std::string part = rel.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    if (part.empty() || part == "." || part == "..") return false;
    const std::string prefix = rel.substr(0, slash);
    if (H5Lexists(id(), prefix.c_str(), H5P_DEFAULT) <= 0) {
      H5Eclear2(H5E_DEFAULT);
      return false;
    }
    H5L_info_t info;
    if (H5Lget_info(id(), prefix.c_str(), &info, H5P_DEFAULT) < 0 || info.type != H5L_TYPE_HARD) {
      H5Eclear2(H5E_DEFAULT);
      return false;
    }
    if (slash == std::string::npos) return true;
    if (!is_group_at(id(), prefix)) return false;
    pos = slash + 1;
  }
}

std::optional<Node> Node::open_if(const std::string& rel) const {
  if (!has(rel)) return std::nullopt;
  auto h = std::make_shared<H5Handle>(H5Oopen(id(), rel.c_str(), H5P_DEFAULT));
  if (!h->valid()) fail_at(file(), child_path(rel), "cannot open: " + h5_error_detail());
  const H5I_type_t t = H5Iget_type(h->get());
  if (t != H5I_GROUP && t != H5I_DATASET)
    fail_at(file(), child_path(rel), "is neither a group nor a dataset");
  return Node(m_file, std::move(h), child_path(rel), t == H5I_GROUP);
}

Node Node::open(const std::string& rel) const {
  if (auto n = open_if(rel)) return *n;
  std::string listing;
  if (m_group) {
    const auto m = members();
    for (size_t i = 0; i < m.size() && i < 20; ++i) listing += (i ? ", " : "") + m[i];
    if (m.size() > 20) listing += ", ...";
  }
  fail_at(file(), m_path, "'" + rel + "' not found" + (m_group ? "; members: " + (listing.empty() ? std::string("(none)") : listing) : ""));
}

std::vector<std::string> Node::members() const {
  std::vector<std::string> names;
  if (!m_group) return names;
  hsize_t idx = 0;
  if (H5Literate(id(), H5_INDEX_NAME, H5_ITER_INC, &idx, collect_link, &names) < 0)
    fail_at(file(), m_path, "cannot list group members: " + h5_error_detail());
  return names;
}

// ---------------------------------------------------------------------------------------------

H5Handle Node::open_attr(const std::string& name) const {
  if (H5Aexists(id(), name.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    return H5Handle();
  }
  H5Handle a(H5Aopen(id(), name.c_str(), H5P_DEFAULT));
  if (!a.valid()) fail_at(file(), m_path, "cannot open attribute '" + name + "': " + h5_error_detail());
  return a;
}

bool Node::has_attr(const std::string& name) const {
  const htri_t r = H5Aexists(id(), name.c_str());
  if (r < 0) H5Eclear2(H5E_DEFAULT);
  return r > 0;
}

namespace {
int64_t attr_npoints(const Node& n, hid_t attr, const std::string& name) {
  H5Handle sp(H5Aget_space(attr));
  if (H5Sget_simple_extent_type(sp.get()) == H5S_NULL) return 0;
  const hssize_t np = H5Sget_simple_extent_npoints(sp.get());
  if (np < 0 || np > kMaxAttrElements)
    n.fail("attribute '" + name + "' has an implausible size (" + std::to_string(np) + " elements)");
  return int64_t(np);
}
}  // namespace

std::vector<std::string> Node::attr_strings(const std::string& name) const {
  H5Handle a = open_attr(name);
  std::vector<std::string> out;
  if (!a.valid()) return out;
  H5Handle t(H5Aget_type(a.get()));
  const int64_t n = attr_npoints(*this, a.get(), name);
  const H5T_class_t cls = H5Tget_class(t.get());
  if (n == 0) return out;  // an empty float64 array stands for an empty list
  if (cls != H5T_STRING) fail("attribute '" + name + "' should hold strings, found " + type_name(t.get()));
  read_string_selection(*this, a.get(), true, t.get(), H5S_ALL, H5S_ALL, n, out);
  return out;
}

std::optional<std::string> Node::attr_string(const std::string& name) const {
  if (!has_attr(name)) return std::nullopt;
  const auto v = attr_strings(name);
  if (v.size() != 1) fail("attribute '" + name + "' should be one string, found " + std::to_string(v.size()));
  return v[0];
}

std::vector<int64_t> Node::attr_ints(const std::string& name) const {
  H5Handle a = open_attr(name);
  std::vector<int64_t> out;
  if (!a.valid()) return out;
  H5Handle t(H5Aget_type(a.get()));
  const int64_t n = attr_npoints(*this, a.get(), name);
  if (n == 0) return out;
  const H5T_class_t cls = H5Tget_class(t.get());
  out.resize(static_cast<size_t>(n));
  if (cls == H5T_INTEGER) {
    if (H5Aread(a.get(), H5T_NATIVE_INT64, out.data()) < 0) fail("cannot read attribute '" + name + "'");
  } else if (cls == H5T_FLOAT) {
    std::vector<double> d(static_cast<size_t>(n));
    if (H5Aread(a.get(), H5T_NATIVE_DOUBLE, d.data()) < 0) fail("cannot read attribute '" + name + "'");
    for (int64_t i = 0; i < n; ++i) {
      if (!std::isfinite(d[i]) || d[i] != std::floor(d[i]) || std::fabs(d[i]) > 9e18)
        fail("attribute '" + name + "' should hold integers, found " + format_number(d[i]));
      out[i] = int64_t(d[i]);
    }
  } else if (cls == H5T_ENUM) {
    H5Handle mem(H5Tget_native_type(t.get(), H5T_DIR_DEFAULT));
    std::vector<unsigned char> raw(size_t(n) * H5Tget_size(mem.get()));
    if (H5Aread(a.get(), mem.get(), raw.data()) < 0) fail("cannot read attribute '" + name + "'");
    decode_enum(mem.get(), raw, n, out.data());
  } else {
    fail("attribute '" + name + "' should hold integers, found " + type_name(t.get()));
  }
  return out;
}

std::optional<bool> Node::attr_bool(const std::string& name) const {
  if (!has_attr(name)) return std::nullopt;
  const auto v = attr_ints(name);
  if (v.size() != 1) fail("attribute '" + name + "' should be one boolean");
  return v[0] != 0;
}

std::optional<Node> Node::attr_reference(const std::string& name) const {
  H5Handle a = open_attr(name);
  if (!a.valid()) return std::nullopt;
  H5Handle t(H5Aget_type(a.get()));
  if (H5Tget_class(t.get()) != H5T_REFERENCE || H5Tequal(t.get(), H5T_STD_REF_OBJ) <= 0)
    fail("attribute '" + name + "' should be an object reference, found " + type_name(t.get()));
  if (attr_npoints(*this, a.get(), name) != 1) fail("attribute '" + name + "' should hold one reference");
  hobj_ref_t ref;
  if (H5Aread(a.get(), H5T_STD_REF_OBJ, &ref) < 0) fail("cannot read attribute '" + name + "'");
  auto h = std::make_shared<H5Handle>(H5Rdereference2(id(), H5P_DEFAULT, H5R_OBJECT, &ref));
  if (!h->valid()) fail("attribute '" + name + "' holds a dangling object reference: " + h5_error_detail());
  const H5I_type_t it = H5Iget_type(h->get());
  if (it != H5I_DATASET && it != H5I_GROUP) fail("attribute '" + name + "' references neither a dataset nor a group");
  char buf[1024] = {0};
  const ssize_t len = H5Iget_name(h->get(), buf, sizeof buf);
  const std::string path = len > 0 ? std::string(buf, size_t(std::min<ssize_t>(len, sizeof buf - 1))) : "(anonymous)";
  return Node(m_file, std::move(h), path, it == H5I_GROUP);
}

// ---------------------------------------------------------------------------------------------

std::vector<int64_t> Node::dims() const {
  if (m_group) fail("expected a dataset, found a group");
  H5Handle sp(H5Dget_space(id()));
  if (!sp.valid()) fail("cannot read the dataspace: " + h5_error_detail());
  if (H5Sget_simple_extent_type(sp.get()) == H5S_NULL) return {0};
  const int nd = H5Sget_simple_extent_ndims(sp.get());
  if (nd < 0 || nd > 32) fail("invalid dataspace rank");
  std::vector<hsize_t> d(static_cast<size_t>(nd));
  H5Sget_simple_extent_dims(sp.get(), d.data(), nullptr);
  std::vector<int64_t> out;
  for (hsize_t x : d) {
    if (x > hsize_t(INT64_MAX)) fail("extent exceeds 2^63");
    out.push_back(int64_t(x));
  }
  return out;
}

int64_t Node::length() const {
  const auto d = dims();
  if (d.size() != 1) {
    std::string s;
    for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
    fail("expected a 1-d dataset, found shape (" + s + ")");
  }
  return d[0];
}

H5T_class_t Node::type_class() const {
  if (m_group) fail("expected a dataset, found a group");
  H5Handle t(H5Dget_type(id()));
  return H5Tget_class(t.get());
}

std::string Node::dtype_name() const {
  if (m_group) return "group";
  H5Handle t(H5Dget_type(id()));
  return type_name(t.get());
}

bool Node::is_numeric() const {
  const H5T_class_t c = type_class();
  return c == H5T_INTEGER || c == H5T_FLOAT || c == H5T_ENUM;
}

void Node::check_readable() const {
  if (m_read_checked || m_group) return;
  H5Handle dcpl(H5Dget_create_plist(id()));
  if (!dcpl.valid()) fail("cannot read the dataset creation properties: " + h5_error_detail());
  if (H5Pget_layout(dcpl.get()) == H5D_COMPACT) {
    // Compact data lives in the object header; libhdf5 copies extent x type-size bytes out of it
    // without checking the stored size (found by fuzzing), so check it here.
    H5Handle sp(H5Dget_space(id())), t(H5Dget_type(id()));
    const hssize_t np = H5Sget_simple_extent_npoints(sp.get());
    const size_t tsize = H5Tget_size(t.get());
    const hsize_t stored = H5Dget_storage_size(id());
    if (np < 0 || tsize == 0 || (np > 0 && stored / tsize < hsize_t(np)))
      fail("corrupt compact dataset: " + std::to_string(stored) + " bytes stored for " + std::to_string(np) +
           " elements of " + std::to_string(tsize) + " bytes");
  }
  const int nf = H5Pget_nfilters(dcpl.get());
  for (int i = 0; i < nf; ++i) {
    unsigned flags = 0, config = 0;
    size_t nelmts = 8;
    unsigned cd[8];
    char name[64] = {0};
    const H5Z_filter_t f = H5Pget_filter2(dcpl.get(), unsigned(i), &flags, &nelmts, cd, sizeof name, name, &config);
    if (f < 0) fail("cannot read the filter pipeline: " + h5_error_detail());
    if (H5Zfilter_avail(f) <= 0) {
      H5Eclear2(H5E_DEFAULT);
      fail("compressed with HDF5 filter " + std::to_string(f) + " (" + filter_name(f) +
           "), which this build cannot decode; re-save the file with gzip or no compression");
    }
  }
  m_read_checked = true;
}

void Node::fail(const std::string& problem) const { fail_at(file(), m_path, problem); }

// ---------------------------------------------------------------------------------------------

void read_range(const Node& ds, int64_t start, int64_t count, double* out) { read_range_impl(ds, start, count, out); }
void read_range(const Node& ds, int64_t start, int64_t count, int64_t* out) { read_range_impl(ds, start, count, out); }

void read_rows(const Node& ds, int64_t row0, int64_t nrows, double* out) {
  const auto d = ds.dims();
  if (d.size() != 2) ds.fail("expected a 2-d dataset");
  if (nrows <= 0 || d[1] == 0) return;
  if (row0 < 0 || row0 > d[0] || nrows > d[0] - row0) ds.fail("row range outside the dataset");
  H5Handle fs(H5Dget_space(ds.id()));
  const hsize_t s[2] = {hsize_t(row0), 0}, c[2] = {hsize_t(nrows), hsize_t(d[1])};
  if (H5Sselect_hyperslab(fs.get(), H5S_SELECT_SET, s, nullptr, c, nullptr) < 0) ds.fail("bad selection");
  H5Handle ms(H5Screate_simple(2, c, nullptr));
  read_numeric_selection(ds, fs.get(), ms.get(), nrows * d[1], out);
}

// Whole 1-d datasets are read in blocks: libhdf5 keeps per-chunk bookkeeping for every chunk a
// single read touches, which a file with tiny chunks turns into gigabytes (found by fuzzing).
constexpr int64_t kReadBlock = int64_t(1) << 20;

std::vector<double> read_doubles(const Node& ds, int64_t budget) {
  const int64_t n = ds.length();
  check_alloc(ds.file(), ds.path(), n, 8, budget, "the dataset");
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t s = 0; s < n; s += kReadBlock) read_range(ds, s, std::min(kReadBlock, n - s), v.data() + s);
  return v;
}

std::vector<int64_t> read_ints(const Node& ds, int64_t budget) {
  const int64_t n = ds.length();
  check_alloc(ds.file(), ds.path(), n, 8, budget, "the dataset");
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t s = 0; s < n; s += kReadBlock) read_range(ds, s, std::min(kReadBlock, n - s), v.data() + s);
  return v;
}

std::vector<std::string> read_strings(const Node& ds, int64_t budget) {
  const int64_t n = ds.length();
  check_alloc(ds.file(), ds.path(), n, 64, budget, "the string dataset");
  std::vector<std::string> out;
  H5Handle ftype(H5Dget_type(ds.id()));
  const H5T_class_t cls = H5Tget_class(ftype.get());
  if (cls == H5T_INTEGER || cls == H5T_FLOAT) {
    for (double v : read_doubles(ds, budget)) out.push_back(format_number(v));
    return out;
  }
  if (cls != H5T_STRING) ds.fail("expected strings, found " + type_name(ftype.get()));
  if (n == 0) return out;
  ds.check_readable();
  out.reserve(static_cast<size_t>(n));
  H5Handle fs(H5Dget_space(ds.id()));
  for (int64_t s0 = 0; s0 < n; s0 += kStringBlock) {
    const hsize_t s = hsize_t(s0), c = hsize_t(std::min(kStringBlock, n - s0));
    H5Sselect_hyperslab(fs.get(), H5S_SELECT_SET, &s, nullptr, &c, nullptr);
    H5Handle ms(H5Screate_simple(1, &c, nullptr));
    read_string_selection(ds, ds.id(), false, ftype.get(), ms.get(), fs.get(), int64_t(c), out);
  }
  return out;
}

std::string read_scalar_string(const Node& ds) {
  const auto d = ds.dims();
  int64_t n = 1;
  for (int64_t x : d) n *= x;
  if (n != 1) ds.fail("expected one string");
  H5Handle ftype(H5Dget_type(ds.id()));
  if (H5Tget_class(ftype.get()) != H5T_STRING) {
    double v = 0;
    if (ds.is_numeric()) {
      H5Handle fs(H5Dget_space(ds.id()));
      read_numeric_selection(ds, H5S_ALL, H5S_ALL, 1, &v);
      return format_number(v);
    }
    ds.fail("expected a string, found " + type_name(ftype.get()));
  }
  ds.check_readable();
  std::vector<std::string> out;
  read_string_selection(ds, ds.id(), false, ftype.get(), H5S_ALL, H5S_ALL, 1, out);
  return out.at(0);
}

// ---------------------------------------------------------------------------------------------

std::vector<std::string> compound_members(const Node& ds) {
  H5Handle t(H5Dget_type(ds.id()));
  if (H5Tget_class(t.get()) != H5T_COMPOUND) ds.fail("expected a compound dataset");
  std::vector<std::string> out;
  const int n = H5Tget_nmembers(t.get());
  for (int i = 0; i < n; ++i) {
    char* nm = H5Tget_member_name(t.get(), unsigned(i));
    if (!nm) ds.fail("cannot read compound member names");
    out.emplace_back(nm);
    H5free_memory(nm);
  }
  return out;
}

namespace {
struct MemberType {
  H5Handle file_type;  // the compound
  H5Handle member;     // its member type
};
// A compound whose members overlap its end would make libhdf5 copy past each record (found by fuzzing).
void check_compound_layout(const Node& ds, hid_t t) {
  const size_t size = H5Tget_size(t);
  const int n = H5Tget_nmembers(t);
  if (size == 0 || n < 0) ds.fail("corrupt compound type");
  for (int i = 0; i < n; ++i) {
    H5Handle mt(H5Tget_member_type(t, unsigned(i)));
    const size_t off = H5Tget_member_offset(t, unsigned(i)), msize = mt.valid() ? H5Tget_size(mt.get()) : 0;
    if (!mt.valid() || msize == 0 || off > size || msize > size - off)
      ds.fail("corrupt compound type: member " + std::to_string(i) + " lies outside the " + std::to_string(size) +
              "-byte record");
  }
}

MemberType member_type(const Node& ds, const std::string& member) {
  MemberType m{H5Handle(H5Dget_type(ds.id())), H5Handle()};
  if (H5Tget_class(m.file_type.get()) != H5T_COMPOUND) ds.fail("expected a compound dataset");
  check_compound_layout(ds, m.file_type.get());
  const int idx = H5Tget_member_index(m.file_type.get(), member.c_str());
  if (idx < 0) ds.fail("compound member '" + member + "' not found");
  m.member = H5Handle(H5Tget_member_type(m.file_type.get(), unsigned(idx)));
  return m;
}
// Reads member `member` of every record into buf through a one-member memory compound of type mem.
void read_member(const Node& ds, const std::string& member, hid_t mem, size_t elem, void* buf, hid_t dxpl = H5P_DEFAULT) {
  ds.check_readable();
  H5Handle ct(H5Tcreate(H5T_COMPOUND, elem));
  if (H5Tinsert(ct.get(), member.c_str(), 0, mem) < 0) ds.fail("cannot build a memory type for '" + member + "'");
  if (H5Dread(ds.id(), ct.get(), H5S_ALL, H5S_ALL, dxpl, buf) < 0)
    ds.fail("cannot read compound member '" + member + "': " + h5_error_detail());
}
}  // namespace

H5T_class_t compound_member_class(const Node& ds, const std::string& member) {
  MemberType m = member_type(ds, member);
  return H5Tget_class(m.member.get());
}

std::vector<std::string> read_compound_strings(const Node& ds, const std::string& member, int64_t budget) {
  MemberType m = member_type(ds, member);
  const int64_t n = ds.length();
  std::vector<std::string> out;
  const H5T_class_t cls = H5Tget_class(m.member.get());
  if (cls == H5T_INTEGER || cls == H5T_FLOAT) {
    for (double v : read_compound_doubles(ds, member, budget)) out.push_back(format_number(v));
    return out;
  }
  if (cls != H5T_STRING) ds.fail("compound member '" + member + "' should hold strings");
  if (n == 0) return out;
  if (H5Tis_variable_str(m.member.get()) > 0) {
    check_alloc(ds.file(), ds.path(), n, 64, budget, "compound member '" + member + "'");
    const hid_t mem = vlen_string_type(H5Tget_cset(m.member.get()));
    std::vector<char*> buf(size_t(n), nullptr);
    VlenArena arena;
    read_member(ds, member, mem, sizeof(char*), buf.data(), arena.dxpl());
    for (char* s : buf) out.emplace_back(s ? s : "");
    return out;
  }
  const size_t size = H5Tget_size(m.member.get());
  if (size == 0 || size > (1u << 20)) ds.fail("implausible string size in compound member '" + member + "'");
  check_alloc(ds.file(), ds.path(), n, int64_t(size) + 64, budget, "compound member '" + member + "'");
  std::vector<char> buf(size_t(n) * size);
  H5Handle mem(H5Tcopy(m.member.get()));
  read_member(ds, member, mem.get(), size, buf.data());
  const H5T_str_t pad = H5Tget_strpad(m.member.get());
  for (int64_t i = 0; i < n; ++i) out.push_back(trim_fixed(buf.data() + i * size, size, pad));
  return out;
}

std::vector<double> read_compound_doubles(const Node& ds, const std::string& member, int64_t budget) {
  MemberType m = member_type(ds, member);
  const int64_t n = ds.length();
  check_alloc(ds.file(), ds.path(), n, 16, budget, "compound member '" + member + "'");
  std::vector<double> out(static_cast<size_t>(n));
  if (n == 0) return out;
  const H5T_class_t cls = H5Tget_class(m.member.get());
  if (cls == H5T_ENUM) {
    H5Handle mem(H5Tget_native_type(m.member.get(), H5T_DIR_DEFAULT));
    const size_t sz = H5Tget_size(mem.get());
    std::vector<unsigned char> raw(size_t(n) * sz);
    read_member(ds, member, mem.get(), sz, raw.data());
    std::vector<int64_t> v(static_cast<size_t>(n));
    decode_enum(mem.get(), raw, n, v.data());
    for (int64_t i = 0; i < n; ++i) out[i] = double(v[i]);
    return out;
  }
  if (cls != H5T_INTEGER && cls != H5T_FLOAT) ds.fail("compound member '" + member + "' should hold numbers");
  read_member(ds, member, H5T_NATIVE_DOUBLE, sizeof(double), out.data());
  return out;
}

int64_t compound_member_width(const Node& ds, const std::string& member) {
  MemberType m = member_type(ds, member);
  const H5T_class_t cls = H5Tget_class(m.member.get());
  if (cls == H5T_INTEGER || cls == H5T_FLOAT) return 1;
  if (cls != H5T_ARRAY) return 0;
  const int nd = H5Tget_array_ndims(m.member.get());
  if (nd < 1 || nd > 4) return 0;
  hsize_t d[4];
  H5Tget_array_dims2(m.member.get(), d);
  int64_t k = 1;
  for (int i = 0; i < nd; ++i) k *= int64_t(std::min<hsize_t>(d[i], hsize_t(1) << 24));
  return k;
}

std::vector<float> read_compound_array(const Node& ds, const std::string& member, int64_t* k, int64_t budget) {
  MemberType m = member_type(ds, member);
  const int64_t n = ds.length();
  const H5T_class_t cls = H5Tget_class(m.member.get());
  if (cls == H5T_INTEGER || cls == H5T_FLOAT) {
    const auto d = read_compound_doubles(ds, member, budget);
    *k = 1;
    return std::vector<float>(d.begin(), d.end());
  }
  if (cls != H5T_ARRAY) ds.fail("compound member '" + member + "' is not a numeric array");
  const int nd = H5Tget_array_ndims(m.member.get());
  if (nd < 1 || nd > 4) ds.fail("compound member '" + member + "' has an unsupported array rank");
  hsize_t d[4];
  H5Tget_array_dims2(m.member.get(), d);
  int64_t kk = 1;
  for (int i = 0; i < nd; ++i) kk *= int64_t(d[i]);
  H5Handle base(H5Tget_super(m.member.get()));
  const H5T_class_t bc = H5Tget_class(base.get());
  if (bc != H5T_INTEGER && bc != H5T_FLOAT) ds.fail("compound member '" + member + "' is not numeric");
  if (kk <= 0 || kk > (1 << 24)) ds.fail("compound member '" + member + "' has an implausible width");
  check_alloc(ds.file(), ds.path(), n, kk * 4, budget, "compound member '" + member + "'");
  std::vector<float> out(size_t(n * kk));
  if (n == 0) {
    *k = kk;
    return out;
  }
  H5Handle mem(H5Tarray_create2(H5T_NATIVE_FLOAT, unsigned(nd), d));
  read_member(ds, member, mem.get(), size_t(kk) * 4, out.data());
  *k = kk;
  return out;
}

std::string format_number(double v) {
  char buf[64];
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%lld", (long long)v);
    return buf;
  }
  // Values that are exactly float32 (most count data) print in their shortest float32 form.
  if (std::isfinite(v) && double(float(v)) == v) {
    for (int prec = 6; prec <= 9; ++prec) {
      std::snprintf(buf, sizeof buf, "%.*g", prec, v);
      if (float(std::strtod(buf, nullptr)) == float(v)) return buf;
    }
  }
  for (int prec = 6; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v || !std::isfinite(v)) break;
  }
  return buf;
}

}  // namespace cuvi::io
