// The progress relay of training runs (train_relay.h): the engine's progress as a dict for the Python
// callback, Ctrl-C and callback errors turned into a stop request.
#include "tools/python/src/train_relay.h"

#include <Python.h>
#include <nanobind/stl/string.h>

#include <chrono>

namespace cuvi::python {
namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

nb::dict progress_dict(const TrainProgress& p) {
  nb::dict d;
  d["epoch"] = p.epoch;
  d["max_epochs"] = p.max_epochs;
  d["batch"] = p.batch;
  d["n_batches"] = p.n_batches;
  d["cells"] = p.cells;
  d["n_cells"] = p.n_cells;
  d["epoch_seconds"] = p.epoch_seconds;
  d["epoch_done"] = p.epoch_done;
  if (p.epoch_done && p.history) {
    nb::dict last;
    for (const auto& [k, v] : *p.history)
      if (!v.empty()) last[k.c_str()] = v.back();
    d["metrics"] = last;
  }
  return d;
}

}  // namespace

bool ProgressRelay::operator()(const TrainProgress& p) {
  nb::gil_scoped_acquire gil;
  try {
    if (PyErr_CheckSignals() != 0) throw nb::python_error();
    const double t = now_seconds();
    if (!callback.is_none() && (p.epoch_done || t - last_call >= interval)) {
      last_call = t;
      callback(progress_dict(p));
    }
    return true;
  } catch (nb::python_error& e) {
    if (e.matches(PyExc_KeyboardInterrupt)) {
      keyboard_interrupt = true;
    } else {
      error.emplace(std::move(e));
    }
    return false;
  }
}

}  // namespace cuvi::python
