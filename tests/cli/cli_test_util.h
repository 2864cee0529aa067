// Running the cuvi binary from tests: one command line, its exit status and its output (stdout and
// stderr together), and small readers for what the commands print and write (CSV tables).
#pragma once
#include <sys/wait.h>

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "tests/csv_lite.h"

namespace cuvi::test {

struct CliResult {
  int status;
  std::string output;  // stdout and stderr
};

inline CliResult run_cuvi(const std::string& args) {
  const std::string cmd = std::string(CUVI_BINARY_DIR) + "/cuvi " + args + " 2>&1";
  CliResult r{0, ""};
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  while (p && fgets(buf, sizeof buf, p)) r.output += buf;
  const int st = p ? pclose(p) : -1;
  r.status = st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// Lines of `text` that start with `prefix`.
inline std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
  return out;
}

}  // namespace cuvi::test
