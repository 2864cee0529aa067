// The _cuvi extension module: the workflow layer's registration, training, inference and analyses for the
// Python package (tools/python/cuvi); cuvi::Error is raised as cuvi.CuviError, a ValueError.
#include "engine/error.h"
#include "tools/python/src/bindings.h"

NB_MODULE(_cuvi, m) {
  namespace nb = nanobind;
  m.doc() =
      "cuvi's C++ engine: data registration, SCVI/LinearSCVI/MRVI/AmbientRegularizedSCVI training, inference and "
      "analyses";
  nb::exception<cuvi::Error>(m, "CuviError", PyExc_ValueError);
  cuvi::python::bind_build(m);
  cuvi::python::bind_data(m);
  cuvi::python::bind_model(m);
  cuvi::python::bind_analysis(m);
  cuvi::python::bind_mrvi(m);
  cuvi::python::bind_regvi(m);
}
