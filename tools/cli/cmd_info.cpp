// cuvi info MODEL: configuration, data registry, training facts and per-epoch history of a model; for
// MRVI also the sample registry and the per-sample covariates (spec/mrvi.md §5 sample_info), from the
// training data or, with --data, from another file (a covariate must be constant within each sample).
#include <algorithm>
#include <cstdio>

#include "tools/cli/cli_util.h"
#include "tools/cli/commands.h"
#include "tools/workflow/regvi_file.h"
#include "tools/workflow/mrvi_file.h"
#include "tools/workflow/multivi_file.h"
#include "tools/workflow/scvi_file.h"

namespace cuvi::cli {
namespace {

std::string keys(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s.empty() ? std::string("-") : s;
}
std::string head(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size() && i < 8; ++i) s += (i ? ", " : "") + v[i];
  if (v.size() > 8) s += ", ... (" + std::to_string(v.size()) + ")";
  return s;
}

void print_samples(const workflow::SampleTable& t, const std::string& source) {
  std::printf("samples (%zu, registered order; covariates from %s):\n  %-16s %8s", t.samples.size(), source.c_str(),
              "sample", "cells");
  for (const auto& c : t.columns) std::printf(" %14s", c.name.substr(0, 14).c_str());
  std::printf("\n");
  for (size_t s = 0; s < t.samples.size(); ++s) {
    std::printf("  %-16s %8lld", t.samples[s].substr(0, 16).c_str(), (long long)t.n_cells[s]);
    for (const auto& c : t.columns) std::printf(" %14s", c.text[s].substr(0, 14).c_str());
    std::printf("\n");
  }
  if (t.columns.empty()) std::printf("  (no obs column is constant within every sample)\n");
}

}  // namespace

int cmd_info(const Argv& argv) {
  if (argv.empty() || wants_help(argv)) {
    std::fputs(
        "usage: cuvi info MODEL [--all-epochs] [--data FILE [--sample-cov-keys COL...]]\n"
        "  MRVI models: the sample registry and the sample covariates (obs columns constant within every\n"
        "  sample) of the training data; with --data, of FILE (the named --sample-cov-keys must be constant\n"
        "  within each sample)\n",
        argv.empty() ? stderr : stdout);
    return argv.empty() ? 2 : 0;
  }
  const Args a(argv, {"data"}, {"all-epochs", "strict-counts"}, {"sample-cov-keys"});
  CUVI_CHECK(a.positionals().size() == 1, "cuvi info takes one model file");
  const std::string path = a.positionals()[0];
  workflow::ModelFile f = workflow::read_model_file(path);
  const bool mrvi = f.kind == workflow::kMrviKind;
  const bool multivi = f.kind == workflow::kMultiviKind;
  CUVI_CHECK(mrvi || !a.has("data"), "--data applies to MRVI models (sample covariates), not to " + path);
  CUVI_CHECK(a.has("data") || !a.has("sample-cov-keys"), "--sample-cov-keys needs --data");
  // Everything that can fail runs before the first line is printed.
  workflow::SampleTable samples = f.samples;
  if (a.has("data")) {
    const workflow::PreparedData d = workflow::prepare_data(a.str("data"), f.registry.keys, &f.registry,
                                                            a.flag("strict-counts"));
    samples = workflow::sample_table(d, a.list("sample-cov-keys"));
  }
  const bool regvi = f.kind == workflow::kRegviKind;
  const std::string described = mrvi      ? workflow::mrvi_from(f).config.describe()
                                : multivi ? workflow::multivi_from(f).config.describe()
                                : regvi   ? workflow::regvi_from(f).config.describe()
                                          : workflow::scvi_from(f).config.describe();
  std::printf("%s\n%s\n", path.c_str(), described.c_str());
  const auto& r = f.registry;
  std::printf("data registry:\n  counts: %s%s\n", r.keys.layer.empty() ? "X" : ("layer " + r.keys.layer).c_str(),
              r.keys.modality.empty() ? "" : (" of modality " + r.keys.modality).c_str());
  if (mrvi)
    std::printf("  sample_key: %s [%s]\n", r.keys.sample_key.c_str(), head(r.sample_categories).c_str());
  std::printf("  batch_key: %s [%s]\n", r.keys.batch_key.empty() ? "-" : r.keys.batch_key.c_str(),
              head(r.batch_categories).c_str());
  std::printf("  labels_key: %s [%s]\n", r.keys.labels_key.empty() ? "-" : r.keys.labels_key.c_str(),
              head(r.label_categories).c_str());
  if (!mrvi)
    std::printf("  categorical covariates: %s\n  continuous covariates: %s\n",
                keys(r.keys.categorical_covariate_keys).c_str(), keys(r.keys.continuous_covariate_keys).c_str());
  std::printf("  genes: %s\n", head(r.genes).c_str());
  if (multivi)
    std::printf("  regions: %s\n  modalities: %s (%s), %s (%s); modality column '%s'\n", head(r.regions).c_str(),
                r.keys.multiome.rna_modality.c_str(), r.keys.layer.empty() ? "X" : r.keys.layer.c_str(),
                r.keys.multiome.atac_modality.c_str(),
                r.keys.multiome.atac_layer.empty() ? "X" : r.keys.multiome.atac_layer.c_str(),
                r.keys.multiome.modality_key.c_str());
  if (regvi)
    for (const auto& [k, v] : f.config)
      if (k.rfind("setup.", 0) == 0) std::printf("  %s: %s\n", k.substr(6).c_str(), v.empty() ? "-" : v.c_str());
  if (mrvi) print_samples(samples, a.has("data") ? a.str("data") : std::string("the training data"));
  std::printf("training:\n");
  for (const auto& [k, v] : f.info) std::printf("  %s: %s\n", k.c_str(), v.c_str());
  const char* cols[] = {"train_loss_epoch", "elbo_train", "reconstruction_loss_train", "kl_local_train", "kl_weight",
                        "elbo_validation", "reconstruction_loss_validation", "seconds"};
  std::vector<const std::vector<double>*> present;
  std::printf("history:\n  %6s", "epoch");
  for (const char* c : cols) {
    auto it = f.history.find(c);
    if (it == f.history.end()) continue;
    present.push_back(&it->second);
    std::printf(" %14s", std::string(c).substr(0, 14).c_str());
  }
  std::printf("\n");
  const size_t n = present.empty() ? 0 : present[0]->size();
  for (size_t e = 0; e < n; ++e) {
    if (!a.flag("all-epochs") && n > 12 && e >= 5 && e + 5 < n) {
      if (e == 5) std::printf("  %6s\n", "...");
      continue;
    }
    std::printf("  %6zu", e + 1);
    for (const auto* v : present) std::printf(" %14.4f", e < v->size() ? (*v)[e] : 0.0);
    std::printf("\n");
  }
  return 0;
}

}  // namespace cuvi::cli
