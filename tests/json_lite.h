// Reading the reference JSON files under tests/fixtures without a JSON library: a file's text, the
// value text of a key inside one object (json_object), and the numbers of a key (one or a nested list).
#pragma once
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace cuvi::test {

inline std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The text of the object value of the first "key": {...} in `text` (braces matched, strings skipped);
// "" when absent. Chain calls to walk down: json_object(json_object(t, "runs"), "cellbench").
inline std::string json_object(const std::string& text, const std::string& key) {
  size_t p = text.find("\"" + key + "\"");
  if (p == std::string::npos) return "";
  p = text.find_first_not_of(" \n\t", text.find(':', p) + 1);
  if (p == std::string::npos || text[p] != '{') return "";
  int depth = 0;
  bool in_string = false;
  for (size_t q = p; q < text.size(); ++q) {
    const char c = text[q];
    if (in_string) {
      if (c == '\\') ++q;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}' && --depth == 0) {
      return text.substr(p, q - p + 1);
    }
  }
  return "";
}

// The numbers following "key": in a JSON text (one number, or every number of a nested list).
inline std::vector<double> json_numbers(const std::string& text, const std::string& key) {
  std::vector<double> v;
  size_t p = text.find("\"" + key + "\"");
  if (p == std::string::npos) return v;
  p = text.find(':', p) + 1;
  int depth = 0;
  while (p < text.size()) {
    const char c = text[p];
    if (c == '[') {
      ++depth;
      ++p;
    } else if (c == ']') {
      if (--depth <= 0) break;
      ++p;
    } else if (c == ',' || c == ' ' || c == '\n') {
      if (depth == 0 && c == ',') break;
      ++p;
    } else {
      char* end = nullptr;
      const double x = std::strtod(text.c_str() + p, &end);
      if (end == text.c_str() + p) break;
      v.push_back(x);
      p = size_t(end - text.c_str());
      if (depth == 0) break;
    }
  }
  return v;
}

// The single number of "key" (NaN when absent).
inline double json_number(const std::string& text, const std::string& key) {
  const std::vector<double> v = json_numbers(text, key);
  return v.size() == 1 ? v[0] : std::strtod("nan", nullptr);
}

}  // namespace cuvi::test
