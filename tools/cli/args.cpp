// Command-line parsing for cuvi subcommands (see args.h).
#include "tools/cli/args.h"

#include <cstdlib>

#include "engine/error.h"

namespace cuvi::cli {

Args::Args(const std::vector<std::string>& argv, const std::set<std::string>& options,
           const std::set<std::string>& flags, const std::set<std::string>& lists) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.size() > 2 && a.compare(0, 2, "--") == 0) {
      std::string key = a.substr(2), value;
      const size_t eq = key.find('=');
      const bool inline_value = eq != std::string::npos;
      if (inline_value) {
        value = key.substr(eq + 1);
        key = key.substr(0, eq);
      }
      if (flags.count(key)) {
        CUVI_CHECK(!inline_value, "option --" + key + " takes no value");
        m_values[key];
        continue;
      }
      if (lists.count(key)) {
        auto& v = m_values[key];
        if (inline_value) v.push_back(value);
        while (i + 1 < argv.size() && argv[i + 1].compare(0, 2, "--") != 0) v.push_back(argv[++i]);
        CUVI_CHECK(!v.empty(), "option --" + key + " needs at least one value");
        continue;
      }
      CUVI_CHECK(options.count(key), "unknown option --" + key);
      if (!inline_value) {
        CUVI_CHECK(i + 1 < argv.size(), "option --" + key + " needs a value");
        value = argv[++i];
      }
      m_values[key] = {value};
    } else {
      m_positionals.push_back(a);
    }
  }
}

std::string Args::str(const std::string& key, const std::string& fallback) const {
  auto it = m_values.find(key);
  return it == m_values.end() || it->second.empty() ? fallback : it->second[0];
}

std::string Args::required(const std::string& key) const {
  CUVI_CHECK(has(key) && !m_values.at(key).empty(), "missing required option --" + key);
  return m_values.at(key)[0];
}

long long Args::integer(const std::string& key, long long fallback) const {
  if (!has(key)) return fallback;
  const std::string s = str(key);
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  CUVI_CHECK(!s.empty() && end && *end == '\0', "option --" + key + " expects an integer, got '" + s + "'");
  return v;
}

double Args::number(const std::string& key, double fallback) const {
  if (!has(key)) return fallback;
  const std::string s = str(key);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  CUVI_CHECK(!s.empty() && end && *end == '\0', "option --" + key + " expects a number, got '" + s + "'");
  return v;
}

std::vector<std::string> Args::list(const std::string& key) const {
  auto it = m_values.find(key);
  return it == m_values.end() ? std::vector<std::string>{} : it->second;
}

}  // namespace cuvi::cli
