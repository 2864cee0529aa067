// Replays every input kept under tests/fuzz/regressions/ through all readers (as the fuzz target does):
// each must end in success or a clean cuvi::Error, with no HDF5 identifier left open. Inputs that trip
// known libhdf5 defects (tests/fuzz/known-libhdf5-defects/) must be recognised by the fuzz target's filter.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "tests/fuzz/fuzz_harness.h"
#include "tests/fuzz/known_hdf5_defects.h"
#include "tests/io/io_test_util.h"

namespace cuvi::test {
namespace {

std::vector<std::filesystem::path> files_in(const std::string& sub) {
  std::vector<std::filesystem::path> out;
  const std::filesystem::path dir = std::filesystem::path(source_dir()) / sub;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return out;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename().string()[0] != '.') out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<uint8_t> bytes_of(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(IoFuzzRegression, KeptInputsFailCleanly) {
  const auto files = files_in("tests/fuzz/regressions");
  if (files.empty()) GTEST_SKIP() << "no inputs under tests/fuzz/regressions (CUVI_SOURCE_DIR=" << source_dir() << ")";
  TempDir dir;
  for (const auto& f : files) {
    SCOPED_TRACE(f.filename().string());
    const auto data = bytes_of(f);
    ASSERT_FALSE(fuzz::has_known_libhdf5_defect(data.data(), data.size()));
    // A copy, as the fuzz target reads a fresh temporary file too.
    const std::string copy = dir.file(f.filename().string());
    std::filesystem::copy_file(f, copy);
    EXPECT_NO_THROW(fuzz::exercise_readers(copy));
    EXPECT_EQ(fuzz::open_hdf5_objects(), 0);
  }
}

TEST(IoFuzzRegression, KnownLibhdf5DefectsAreRecognised) {
  const auto files = files_in("tests/fuzz/known-libhdf5-defects");
  if (files.empty()) GTEST_SKIP() << "no inputs under tests/fuzz/known-libhdf5-defects";
  for (const auto& f : files) {
    const auto data = bytes_of(f);
    EXPECT_TRUE(fuzz::has_known_libhdf5_defect(data.data(), data.size())) << f;
  }
}

}  // namespace
}  // namespace cuvi::test
