// What the test environment offers: ../shared/data next to the source tree and a Python with given
// modules. Absent, a test skips; but where tools/scripts/run_tests.sh has set CUVI_REQUIRE_DATA=1 (the
// data folder exists) or CUVI_REQUIRE_PYTHON=1 (it installed the test venv), absence is a failure.
#pragma once
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace cuvi::test {

inline bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v && std::string(v) == "1";
}

inline std::string source_dir() {
  if (const char* e = std::getenv("CUVI_SOURCE_DIR")) return e;
#ifdef CUVI_SOURCE_DIR
  return CUVI_SOURCE_DIR;
#else
  return "";
#endif
}

// <source>/../shared/data, or "" when the folder is absent.
inline std::string shared_data_dir() {
  const std::string src = source_dir();
  if (src.empty()) return "";
  const std::filesystem::path p = std::filesystem::path(src) / ".." / "shared" / "data";
  std::error_code ec;
  return std::filesystem::is_directory(p, ec) ? std::filesystem::weakly_canonical(p).string() : "";
}

// A file under ../shared/data ("" when it is absent).
inline std::string shared_data_file(const std::string& rel) {
  const std::string dir = shared_data_dir();
  if (dir.empty()) return "";
  const std::string p = dir + "/" + rel;
  return std::filesystem::exists(p) ? p : "";
}

// $CUVI_PYTHON, then python3, if it imports every module of `modules` ("anndata, scanpy"); else "".
inline std::string find_python(const std::string& modules) {
  for (const char* cand : {static_cast<const char*>(std::getenv("CUVI_PYTHON")), "python3"}) {
    if (!cand || !*cand) continue;
    const std::string cmd = std::string(cand) + " -c 'import " + modules + "' >/dev/null 2>&1";
    const int st = std::system(cmd.c_str());
    if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0) return cand;
  }
  return "";
}

// Runs a shell command; returns its exit status and puts stdout and stderr together in *out.
inline int run_command(const std::string& cmd, std::string* out) {
  out->clear();
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, n);
  const int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

}  // namespace cuvi::test

// Skips the test with `why`, or fails it when the environment variable `required_by` is 1.
#define CUVI_SKIP_UNLESS_REQUIRED(required_by, why)                                                     \
  if (::cuvi::test::env_flag(required_by))                                                            \
    GTEST_FAIL() << why << " (" << required_by << "=1: the test environment promised it)";             \
  else                                                                                                \
    GTEST_SKIP() << why

// const std::string var = ../shared/data, or skip (fail under CUVI_REQUIRE_DATA=1).
#define CUVI_DATA_OR_SKIP(var)                              \
  const std::string var = ::cuvi::test::shared_data_dir(); \
  if (var.empty()) {                                        \
    CUVI_SKIP_UNLESS_REQUIRED("CUVI_REQUIRE_DATA", "../shared/data not found next to the source tree"); \
  }

// const std::string var = ../shared/data/<rel>, or skip (fail under CUVI_REQUIRE_DATA=1).
#define CUVI_DATA_FILE_OR_SKIP(var, rel)                           \
  const std::string var = ::cuvi::test::shared_data_file(rel);    \
  if (var.empty()) {                                               \
    CUVI_SKIP_UNLESS_REQUIRED("CUVI_REQUIRE_DATA", "../shared/data/" << rel << " is absent"); \
  }

// const std::string var = a Python importing `modules`, or skip (fail under CUVI_REQUIRE_PYTHON=1).
#define CUVI_PYTHON_OR_SKIP(var, modules)                       \
  const std::string var = ::cuvi::test::find_python(modules);  \
  if (var.empty()) {                                            \
    CUVI_SKIP_UNLESS_REQUIRED("CUVI_REQUIRE_PYTHON", "no python with " << modules << " ($CUVI_PYTHON, python3)"); \
  }
