// cuvi inspect FILE: what an AnnData/10x/MuData file holds, or the validation error.
// The report itself lives in io/inspect.cpp (file-formats.md §1-§3); this file parses the command line.
#include <cstdio>
#include <iostream>

#include "engine/error.h"
#include "io/inspect.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"

namespace cuvi::cli {

namespace {
const char* kUsage =
    "usage: cuvi inspect FILE [--quick]\n"
    "\n"
    "Describe an AnnData .h5ad, 10x CellRanger .h5 or MuData .h5mu file: format and layout\n"
    "generation, shape, X/layers/raw (storage, dtype, sparsity, whether values look like counts),\n"
    "obs/var columns, obsm, modalities (.h5mu), genomes and feature types (10x).\n"
    "Every matrix is scanned and validated; a problem is reported as an error with exit status 1.\n"
    "\n"
    "options:\n"
    "  --quick   check headers only and judge count-likeness from the first 1000 rows\n"
    "  --help    show this help\n";
}  // namespace

int cmd_inspect(const Argv& args) {
  for (const auto& a : args)
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
  const Args parsed(args, {}, {"quick"});
  if (parsed.positionals().size() != 1) fail("expected one FILE argument (see cuvi inspect --help)");
  io::InspectOptions opts;
  opts.full_scan = !parsed.flag("quick");
  io::inspect_file(parsed.positionals()[0], std::cout, opts);
  std::cout.flush();
  return 0;
}

}  // namespace cuvi::cli
