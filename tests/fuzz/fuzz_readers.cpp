// libFuzzer entry point over the io readers: the input bytes become an HDF5 file that every reader opens;
// only cuvi::Error may come back, and no HDF5 identifier may stay open (tests/fuzz/REPORT.md).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/fuzz/fuzz_harness.h"
#include "tests/fuzz/known_hdf5_defects.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Header-sized allocations (and the time spent filling them) stay small: 16 MiB per allocation.
  setenv("CUVI_IO_MEMORY_BUDGET", "16777216", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (cuvi::fuzz::has_known_libhdf5_defect(data, size)) return -1;  // not cuvi's to fix; keep out of the corpus
  static unsigned long counter = 0;
  const char* tmp = std::getenv("TMPDIR");
  const std::string path = std::string(tmp ? tmp : "/tmp") + "/cuvi-fuzz-" + std::to_string(getpid()) + "-" +
                           std::to_string(counter++ % 4) + ".h5";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  cuvi::fuzz::exercise_readers(path);
  std::remove(path.c_str());
  if (cuvi::fuzz::open_hdf5_objects() != 0) {
    std::fprintf(stderr, "HDF5 identifiers left open after the readers: %zd\n", cuvi::fuzz::open_hdf5_objects());
    std::abort();
  }
  return 0;
}
