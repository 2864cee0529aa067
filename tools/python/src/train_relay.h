// Training from Python for every model kind: the engine's trainer runs without the GIL; between steps the
// progress callback is called and Ctrl-C is checked (an interrupted run keeps the weights of its last
// finished epoch); the run's facts go into the model handle.
#pragma once
#include <nanobind/nanobind.h>

#include <memory>
#include <optional>
#include <string>

#include "engine/backend.h"
#include "engine/trainer.h"
#include "tools/python/src/model.h"

namespace cuvi::python {

namespace nb = nanobind;

// Between steps (GIL held): Ctrl-C or an exception from the Python callback stops the run. A
// KeyboardInterrupt is recorded and cleared (the run ends like an interrupted scvi-tools fit); any
// other error is kept and raised once the trainer has returned.
struct ProgressRelay {
  nb::object callback;
  double interval = 0.5;
  double last_call = 0;
  bool keyboard_interrupt = false;
  std::optional<nb::python_error> error;

  bool operator()(const TrainProgress& p);
};

// Runs fit(backend, train_config) -> TrainResult on a new backend without the GIL, relaying progress
// (progress(dict) after every epoch and at most every `interval` seconds within one); fills `out`.
template <class Fit>
void run_training(const std::string& device, int threads, TrainConfig tc, nb::object progress, double interval,
                  RunFacts* out, Fit&& fit) {
  std::string message;
  std::unique_ptr<Backend> backend = make_backend(device, tc.seed, &message, threads);
  ProgressRelay relay;
  relay.callback = std::move(progress);
  relay.interval = interval;
  tc.progress = false;  // the Python layer draws its own bar
  tc.on_progress = [&relay](const TrainProgress& p) { return relay(p); };
  {
    nb::gil_scoped_release release;
    const TrainResult r = fit(*backend, tc);
    out->interrupted = r.interrupted;
    out->epochs_run = r.epochs_run;
    out->seconds = r.seconds;
    out->train_indices = r.split.train;
    out->validation_indices = r.split.validation;
  }
  if (relay.error) throw *relay.error;
  out->keyboard_interrupt = relay.keyboard_interrupt;
  out->device = message;
}

// The run facts and history of a model handle class, as read-only attributes.
template <class M>
void bind_run_facts(nb::class_<M> c) {
  c.def_ro("interrupted", &RunFacts::interrupted)
      .def_ro("keyboard_interrupt", &RunFacts::keyboard_interrupt)
      .def_ro("epochs_run", &RunFacts::epochs_run)
      .def_ro("seconds", &RunFacts::seconds)
      .def_ro("train_indices", &RunFacts::train_indices)
      .def_ro("validation_indices", &RunFacts::validation_indices)
      .def_ro("device", &RunFacts::device);
}

}  // namespace cuvi::python
