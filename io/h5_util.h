// HDF5 C API plumbing shared by the io readers and writers: RAII handles, a quiet error stack,
// and Node, an opened group or dataset that knows its file and path for one-line errors (file-formats.md §4).
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cuvi::io {

// Once per process: silence HDF5's automatic error printing and register the LZF filter (id 32000).
void h5_init();

// Owns one HDF5 identifier of any kind and closes it with the matching H5*close.
class H5Handle {
 public:
  H5Handle() = default;
  explicit H5Handle(hid_t id) : m_id(id) {}
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;
  H5Handle(H5Handle&& o) noexcept : m_id(o.m_id) { o.m_id = -1; }
  H5Handle& operator=(H5Handle&& o) noexcept;
  ~H5Handle() { reset(); }
  void reset();
  hid_t get() const { return m_id; }
  bool valid() const { return m_id >= 0; }

 private:
  hid_t m_id = -1;
};

// True when `name` (relative to loc) is a group; false for anything else or on error.
bool is_group_at(hid_t loc, const std::string& name);

// The innermost message on HDF5's error stack ("" when empty); used to explain a failed call.
std::string h5_error_detail();

// "file: path: problem" -- the shape of every io error message.
[[noreturn]] void fail_at(const std::string& file, const std::string& path, const std::string& problem);

// The default ceiling for any allocation sized from a file header: $CUVI_IO_MEMORY_BUDGET (bytes) when
// set, else 3/4 of physical memory.
int64_t default_memory_budget();
// Fails unless n elements of elem_size bytes fit in budget (overflow-safe).
void check_alloc(const std::string& file, const std::string& path, int64_t n, int64_t elem_size,
                 int64_t budget, const std::string& what);

// An open HDF5 file (read-only or read-write) with the display name used in messages.
class H5File {
 public:
  static std::shared_ptr<H5File> open_read(const std::string& path);
  static std::shared_ptr<H5File> open_write(const std::string& path);  // existing file, read-write
  static std::shared_ptr<H5File> create(const std::string& path);      // truncates
  hid_t id() const { return m_h.get(); }
  const std::string& path() const { return m_path; }
  void close() { m_h.reset(); }

 private:
  H5Handle m_h;
  std::string m_path;
};

// An opened group or dataset plus its file and absolute HDF5 path. Copies share the handle.
class Node {
 public:
  Node() = default;
  static Node root(std::shared_ptr<H5File> file);

  bool valid() const { return m_h != nullptr; }
  hid_t id() const { return m_h->get(); }
  const std::string& path() const { return m_path; }
  const std::string& file() const { return m_file->path(); }
  const std::shared_ptr<H5File>& h5file() const { return m_file; }
  bool is_group() const { return m_group; }
  bool is_dataset() const { return !m_group; }
  std::string child_path(const std::string& name) const;

  // Members: only hard links count (soft and external links are never followed).
  bool has(const std::string& rel) const;  // rel may contain '/'
  Node open(const std::string& rel) const;  // fails naming the missing member
  std::optional<Node> open_if(const std::string& rel) const;
  std::vector<std::string> members() const;  // groups only, name order

  // Attributes.
  bool has_attr(const std::string& name) const;
  std::optional<std::string> attr_string(const std::string& name) const;  // scalar or 1-element string
  std::vector<std::string> attr_strings(const std::string& name) const;  // string list; empty float array -> {}
  std::vector<int64_t> attr_ints(const std::string& name) const;
  std::optional<bool> attr_bool(const std::string& name) const;  // enum over int8, integer
  std::string encoding_type() const { return attr_string("encoding-type").value_or(""); }
  std::optional<Node> attr_reference(const std::string& name) const;  // H5R_OBJECT attribute

  // Dataset shape and type.
  std::vector<int64_t> dims() const;
  int64_t length() const;  // 1-d extent; fails otherwise
  H5T_class_t type_class() const;
  std::string dtype_name() const;  // "float32", "int64", "bool", "string", ...
  bool is_string() const { return type_class() == H5T_STRING; }
  bool is_numeric() const;  // integer, float or enum
  // Fails before a read that libhdf5 cannot do safely: a compression filter this build cannot decode
  // (named in the message), or compact storage smaller than the extent claims.
  void check_readable() const;

  [[noreturn]] void fail(const std::string& problem) const;

 private:
  Node(std::shared_ptr<H5File> f, std::shared_ptr<H5Handle> h, std::string path, bool group)
      : m_file(std::move(f)), m_h(std::move(h)), m_path(std::move(path)), m_group(group) {}
  H5Handle open_attr(const std::string& name) const;

  std::shared_ptr<H5File> m_file;
  std::shared_ptr<H5Handle> m_h;
  std::string m_path;
  bool m_group = false;
  mutable bool m_read_checked = false;
};

// ---- Dataset reads (1-d unless stated), every one checked against extents and the budget ----

// Numbers of any integer/float/bool(enum) type converted to double / int64 by HDF5.
void read_range(const Node& ds, int64_t start, int64_t count, double* out);
void read_range(const Node& ds, int64_t start, int64_t count, int64_t* out);  // integer or enum only
// Rows [row0, row0 + nrows) of a 2-d numeric dataset, all columns, row-major.
void read_rows(const Node& ds, int64_t row0, int64_t nrows, double* out);
std::vector<double> read_doubles(const Node& ds, int64_t budget);
std::vector<int64_t> read_ints(const Node& ds, int64_t budget);
// Strings: vlen UTF-8, fixed-length NULLPAD/NULLTERM/SPACEPAD; numbers are formatted as text.
std::vector<std::string> read_strings(const Node& ds, int64_t budget);
std::string read_scalar_string(const Node& ds);

// Compound datasets (anndata <= 0.6 obs/var/obsm): member names and one member at a time.
std::vector<std::string> compound_members(const Node& ds);
H5T_class_t compound_member_class(const Node& ds, const std::string& member);
std::vector<std::string> read_compound_strings(const Node& ds, const std::string& member, int64_t budget);
std::vector<double> read_compound_doubles(const Node& ds, const std::string& member, int64_t budget);
// Width of a numeric member: the element count of an array member, 1 for a scalar number, 0 otherwise.
int64_t compound_member_width(const Node& ds, const std::string& member);
// An array member ("X_pca": float[50]) as an (n, k) row-major matrix.
std::vector<float> read_compound_array(const Node& ds, const std::string& member, int64_t* k, int64_t budget);

// Number formatting used when categories or labels are stored as numbers.
std::string format_number(double v);

}  // namespace cuvi::io
