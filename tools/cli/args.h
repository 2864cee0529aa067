// Minimal command-line parsing for cuvi subcommands: "--key value", "--flag", "--key v1 v2 ...",
// and positionals; unknown options are an error that names the option.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

namespace cuvi::cli {

class Args {
 public:
  // known: option names (without "--") accepted by the command; flags take no value;
  // lists take one or more values up to the next "--option".
  Args(const std::vector<std::string>& argv, const std::set<std::string>& options,
       const std::set<std::string>& flags = {}, const std::set<std::string>& lists = {});

  bool has(const std::string& key) const { return m_values.count(key) > 0; }
  std::string str(const std::string& key, const std::string& fallback = "") const;
  std::string required(const std::string& key) const;  // fail() naming the missing option
  long long integer(const std::string& key, long long fallback) const;
  double number(const std::string& key, double fallback) const;
  bool flag(const std::string& key) const { return has(key); }
  std::vector<std::string> list(const std::string& key) const;
  const std::vector<std::string>& positionals() const { return m_positionals; }

 private:
  std::map<std::string, std::vector<std::string>> m_values;
  std::vector<std::string> m_positionals;
};

}  // namespace cuvi::cli
