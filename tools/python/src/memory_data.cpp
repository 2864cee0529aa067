// Registration of an AnnData held in memory (setup_anndata, and every call that reads an AnnData): its
// counts through memory_counts, its obs columns (sent by the Python layer as (kind, values) tuples) as the
// file readers' io::Column, var_names as the genes; then the workflow's register_dataset, so keys,
// categories and genes are checked against a model's registry exactly as for a file.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "engine/error.h"
#include "io/anndata.h"
#include "io/h5_util.h"
#include "tools/python/src/bindings.h"
#include "tools/python/src/memory_counts.h"

namespace cuvi::python {
namespace {

std::vector<std::string> texts(const nb::handle& seq) {
  std::vector<std::string> out;
  for (nb::handle h : seq) {
    if (h.is_none())
      out.emplace_back();
    else if (nb::isinstance<nb::bool_>(h))
      out.push_back(nb::cast<bool>(h) ? "True" : "False");
    else if (nb::isinstance<nb::int_>(h) || nb::isinstance<nb::float_>(h))
      out.push_back(io::format_number(nb::cast<double>(h)));  // numeric categories as the readers print them
    else
      out.push_back(nb::cast<std::string>(nb::str(h)));
  }
  return out;
}

std::vector<double> doubles(const InArray& a) {
  CUVI_CHECK(a.ndim() == 1 && a.dtype() == nb::dtype<double>() && (a.shape(0) < 2 || a.stride(0) == 1),
             "numeric obs columns are passed as contiguous float64 arrays");
  const double* p = static_cast<const double*>(a.data());
  return std::vector<double>(p, p + a.shape(0));
}

// One obs column from the Python layer: ("categorical", codes, categories, ordered), ("numeric", float64
// values with NaN for missing, is_integer), ("boolean", float64 0/1), ("string", values with None missing).
io::Column column(const std::string& name, const nb::tuple& t) {
  const std::string kind = nb::cast<std::string>(t[0]);
  if (kind == "categorical") {
    io::Categorical c;
    const auto codes = nb::cast<InArray>(t[1]);
    CUVI_CHECK(codes.ndim() == 1, "categorical codes must be 1-d");
    c.codes.resize(codes.shape(0));
    const int64_t st = codes.shape(0) > 1 ? codes.stride(0) : 1;
    auto copy = [&](const auto* p) {
      for (size_t i = 0; i < c.codes.size(); ++i) c.codes[i] = int32_t(p[int64_t(i) * st]);
    };
    if (codes.dtype() == nb::dtype<int8_t>()) copy(static_cast<const int8_t*>(codes.data()));
    else if (codes.dtype() == nb::dtype<int16_t>()) copy(static_cast<const int16_t*>(codes.data()));
    else if (codes.dtype() == nb::dtype<int32_t>()) copy(static_cast<const int32_t*>(codes.data()));
    else if (codes.dtype() == nb::dtype<int64_t>()) copy(static_cast<const int64_t*>(codes.data()));
    else fail("obs column '" + name + "': categorical codes must be signed integers");
    c.categories = texts(t[2]);
    c.ordered = nb::cast<bool>(t[3]);
    for (int32_t code : c.codes)
      CUVI_CHECK(code >= -1 && code < int32_t(c.categories.size()), "obs column '" + name + "': code out of range");
    return io::Column::categorical(name, std::move(c));
  }
  if (kind == "numeric") return io::Column::numbers(name, doubles(nb::cast<InArray>(t[1])), nb::cast<bool>(t[2]));
  if (kind == "boolean") {
    const std::vector<double> v = doubles(nb::cast<InArray>(t[1]));
    std::vector<bool> b(v.size());
    for (size_t i = 0; i < v.size(); ++i) b[i] = v[i] != 0;
    return io::Column::booleans(name, b);
  }
  CUVI_CHECK(kind == "string", "obs column '" + name + "': unknown column kind '" + kind + "'");
  return io::Column::texts(name, texts(t[1]));
}

MemoryData prepare_anndata(const std::string& where, const std::string& element, const std::string& storage,
                           InArray values, std::optional<InArray> indices,
                           std::optional<InArray> indptr, int64_t n_rows, int64_t n_cols,
                           std::vector<std::string> var_names, const nb::dict& obs_columns,
                           const std::vector<std::string>& all_obs_columns, const workflow::SetupKeys& keys,
                           const std::vector<std::string>& extra_keys, const workflow::DataRegistry* registry,
                           bool strict_counts, std::vector<std::string> obs_names) {
  std::vector<std::string> needed = extra_keys;
  for (const std::string* k : {&keys.batch_key, &keys.labels_key, &keys.sample_key})
    if (!k->empty()) needed.push_back(*k);
  for (const auto* list : {&keys.categorical_covariate_keys, &keys.continuous_covariate_keys})
    needed.insert(needed.end(), list->begin(), list->end());
  for (const std::string& k : needed)
    if (!obs_columns.contains(k.c_str())) io::fail_missing_column(k, where, "obs", all_obs_columns);
  if (int64_t(var_names.size()) != n_cols)
    fail(where + ": " + std::to_string(var_names.size()) + " var_names for a matrix of " + std::to_string(n_cols) +
         " columns");

  MemoryData out;
  io::Dataset d;
  d.path = where;
  d.format = io::FileFormat::AnnData;
  d.source = element;
  d.storage = storage;
  d.var.index = std::move(var_names);
  CUVI_CHECK(obs_names.empty() || int64_t(obs_names.size()) == n_rows,
             where + ": " + std::to_string(obs_names.size()) + " obs_names for " + std::to_string(n_rows) + " cells");
  d.obs.index = std::move(obs_names);  // cell names of analyses' outputs (empty when not needed)
  for (auto [name, value] : obs_columns) {
    io::Column c = column(nb::cast<std::string>(name), nb::cast<nb::tuple>(value));
    CUVI_CHECK(c.size() == n_rows, where + ": obs column '" + c.name + "' has " + std::to_string(c.size()) +
                                       " values for " + std::to_string(n_rows) + " cells");
    d.obs.columns.push_back(std::move(c));
  }

  MemoryCounts src{where, element, !strict_counts};
  CountsResult counts;
  {
    nb::gil_scoped_release release;  // a pass over every stored value
    counts = read_counts(src, storage, values, indices ? &*indices : nullptr, indptr ? &*indptr : nullptr, n_rows,
                         n_cols);
  }
  CsrView view;
  if (counts.borrowed) {  // the caller's data and indices, with indptr as int64 kept here
    out.arrays = {values, *indices};
    out.indptr = std::move(counts.indptr);
    view = CsrView{out.indptr.data(), static_cast<const int32_t*>(indices->data()),
                   static_cast<const float*>(values.data()), n_rows, n_cols};
  } else {
    d.counts = std::move(counts.owned);
  }
  out.prepared = workflow::register_dataset(std::move(d), keys, registry, counts.borrowed ? &view : nullptr);
  io::describe_counts(out.prepared.data, out.prepared.counts(), !strict_counts, "strict_counts=True refuses them");
  return out;
}

}  // namespace

void bind_data(nb::module_& m) {
  using workflow::DataRegistry;
  using workflow::SetupKeys;
  nb::class_<SetupKeys>(m, "SetupKeys", "What setup_anndata registered: the counts' layer and the obs keys.")
      .def(nb::init<>())
      .def_rw("layer", &SetupKeys::layer)
      .def_rw("batch_key", &SetupKeys::batch_key)
      .def_rw("labels_key", &SetupKeys::labels_key)
      .def_rw("sample_key", &SetupKeys::sample_key)
      .def_rw("categorical_covariate_keys", &SetupKeys::categorical_covariate_keys)
      .def_rw("continuous_covariate_keys", &SetupKeys::continuous_covariate_keys);
  nb::class_<DataRegistry>(m, "DataRegistry", "A model's data registry: keys, genes and category orders.")
      .def_ro("keys", &DataRegistry::keys)
      .def_ro("genes", &DataRegistry::genes)
      .def_ro("batch_categories", &DataRegistry::batch_categories)
      .def_ro("label_categories", &DataRegistry::label_categories)
      .def_ro("sample_categories", &DataRegistry::sample_categories)
      .def_ro("covariate_categories", &DataRegistry::covariate_categories);
  nb::class_<MemoryData>(m, "Data", "An AnnData registered in memory (counts validated, columns encoded).")
      .def_prop_ro("n_cells", [](const MemoryData& d) { return d.prepared.counts().n_rows; })
      .def_prop_ro("n_genes", [](const MemoryData& d) { return d.prepared.counts().n_cols; })
      .def_prop_ro("nnz", [](const MemoryData& d) { return d.prepared.counts().nnz(); })
      .def_prop_ro("borrowed", [](const MemoryData& d) { return d.prepared.borrowed.indptr != nullptr; },
                   "True when the counts are the AnnData's own CSR arrays (float32 data, int32 indices), not a copy")
      .def_prop_ro("registry", [](const MemoryData& d) { return d.prepared.registry; })
      .def_prop_ro("warnings", [](const MemoryData& d) { return d.prepared.data.warnings; })
      .def_prop_ro("notes", [](const MemoryData& d) { return d.prepared.data.notes; })
      .def_prop_ro("all_zero_cells", [](const MemoryData& d) { return d.prepared.data.summary.all_zero_cells; });
  m.def("prepare_anndata", &prepare_anndata, nb::arg("where"), nb::arg("element"), nb::arg("storage"),
        nb::arg("values"), nb::arg("indices").none(), nb::arg("indptr").none(), nb::arg("n_rows"), nb::arg("n_cols"),
        nb::arg("var_names"), nb::arg("obs_columns"), nb::arg("all_obs_columns"), nb::arg("keys"),
        nb::arg("extra_keys"), nb::arg("registry").none(), nb::arg("strict_counts"),
        nb::arg("obs_names") = std::vector<std::string>(),
        "Validates and registers an AnnData's counts and obs columns (the file readers' checks and messages).");
  m.def("resolve_matrix", &io::resolve_matrix, nb::arg("which"), nb::arg("has_x"), nb::arg("has_raw"),
        nb::arg("layers"), nb::arg("where"), nb::arg("holder"),
        "'X', 'raw/X' or 'layers/<name>' for a layer option, or the readers' error listing what exists.");
}

}  // namespace cuvi::python
