// Counterfactual latents of a minibatch (spec/mrvi.md §5 compute_local_statistics, differential
// expression step 4): q(u|x, s_n) encoded once per cell, then z = z_base(u) + eps(u, s') or eps alone for
// every counterfactual sample s', in qz passes of bounded size (cells x samples x draws rows).
#pragma once
#include <cstdint>
#include <vector>

#include "tools/workflow/mrvi_session.h"

namespace cuvi::workflow {

struct CounterfactualOptions {
  bool use_mean = true;          // u = qu mean and eps = its MAP / loc; else draws
  int64_t mc_samples = 1;        // draws per (cell, sample) when !use_mean: every sample its own u draw
  bool want_eps = false;         // return eps (the sample effect) instead of z
  bool own_sample = false;       // one "sample" per cell: its own (the normalisation baseline)
  std::vector<int32_t> samples;  // counterfactual sample codes (S'); empty and !own_sample: every sample
  int64_t max_rows = 4096;       // rows of one qz pass (bounds the arena)
};

// Bytes of session arena one qz pass of `rows` rows needs at most (eval mode, every option).
size_t counterfactual_pass_bytes(const models::MrviConfig& c, int64_t rows);

// For the B cells of `mb`: out (mc, B, S', L) floats, row-major; S' = 1 with own_sample. Noise is drawn
// at Philox steps step_base, step_base + 1, ... (one per pass); returns the next unused step.
int64_t counterfactual_latents(MrviSession& session, Tape& tape, const MiniBatch& mb, const CounterfactualOptions& opt,
                               int64_t step_base, std::vector<float>* out);

}  // namespace cuvi::workflow
