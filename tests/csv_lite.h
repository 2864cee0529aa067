// CSV files as pandas writes them, for tests: a header row, then rows; fields may be double-quoted
// (a doubled quote inside is one quote). One definition for every test that reads a CSV.
#pragma once
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace cuvi::test {

struct Csv {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  // Index of a column, or -1.
  int column(const std::string& name) const {
    for (size_t i = 0; i < header.size(); ++i)
      if (header[i] == name) return int(i);
    return -1;
  }
  // Index of a column that must exist (a test failure names it otherwise).
  int col(const std::string& name) const {
    const int c = column(name);
    if (c < 0) ADD_FAILURE() << "CSV has no column " << name;
    return c < 0 ? 0 : c;
  }
};

inline std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out;
  std::string f;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        f += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        f += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(f);
      f.clear();
    } else if (c != '\r') {
      f += c;
    }
  }
  out.push_back(f);
  return out;
}

inline Csv parse_csv(const std::string& text) {
  Csv c;
  std::istringstream s(text);
  std::string line;
  bool first = true;
  while (std::getline(s, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (first) {
      c.header = split_csv_line(line);
      first = false;
    } else {
      c.rows.push_back(split_csv_line(line));
    }
  }
  return c;
}

// The file's table; empty (no header) when it cannot be read.
inline Csv read_csv(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_csv(ss.str());
}

}  // namespace cuvi::test
