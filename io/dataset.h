// One entry point from any supported file to (counts CSR, obs, var): .h5ad, 10x .h5 and a modality of .h5mu,
// told apart by content, not by extension (file-formats.md §1-§3).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/csr.h"
#include "io/dataframe.h"
#include "io/validate.h"

namespace cuvi::io {

enum class FileFormat { AnnData, Tenx, MuData };
FileFormat detect_format(const std::string& path);  // fails on anything else, naming the top-level members
const char* format_name(FileFormat f);              // "AnnData .h5ad", "10x CellRanger .h5", "MuData .h5mu"

struct LoadOptions {
  std::string layer;         // .h5ad / .h5mu modality: "" = X, "raw" = raw/X, else a layer name
  std::string modality;      // .h5mu: modality name; 10x: "rna" (Gene Expression), "atac" (Peaks), "protein"
  std::string genome;        // 10x
  std::string feature_type;  // 10x, overrides the modality mapping
  bool require_counts = true;
  // With require_counts: fractional counts (Salmon/alevin, SoupX) load with a warning instead of failing.
  bool allow_fractional_counts = false;
  int64_t memory_budget_bytes = 0;
};

struct Dataset {
  std::string path;
  FileFormat format = FileFormat::AnnData;
  std::string source;  // the HDF5 element read, e.g. "/X", "/mod/rna/layers/counts", "/matrix"
  std::string storage; // how the counts were stored: dense, csr or csc
  CsrMatrix counts;
  DataFrame obs, var;
  CountsSummary summary;
  std::vector<std::string> notes;     // choices made on the caller's behalf (tell the user)
  std::vector<std::string> warnings;  // data the model will accept but the user should know about
};

Dataset load_dataset(const std::string& path, const LoadOptions& opts = {});

// Fills d.summary and adds the notes and warnings every loader gives about its counts (`counts`: d.counts,
// or a matrix the caller lends): cells without counts, and with warn_fractional the non-integer values,
// where `refuse_hint` says how to refuse them instead ("--strict-counts refuses them").
void describe_counts(Dataset& d, const CsrView& counts, bool warn_fractional, const std::string& refuse_hint);

}  // namespace cuvi::io
