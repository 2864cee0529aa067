// ResultTable operations, Python-style float text and the pandas-compatible CSV writer.
#include "tools/workflow/result_table.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "engine/error.h"

namespace cuvi::workflow {

const ResultColumn* ResultTable::find(const std::string& name) const {
  for (const auto& c : columns)
    if (c.name == name) return &c;
  return nullptr;
}

const ResultColumn& ResultTable::at(const std::string& name) const {
  const ResultColumn* c = find(name);
  CUVI_CHECK(c != nullptr, "result table has no column '" + name + "'");
  return *c;
}

ResultColumn& ResultTable::add(const std::string& name, ResultColumn::Kind kind) {
  columns.push_back(ResultColumn{name, kind, {}, {}});
  return columns.back();
}

ResultTable ResultTable::take(const std::vector<int64_t>& order) const {
  ResultTable t;
  t.index_name = index_name;
  for (int64_t i : order) t.index.push_back(index.at(size_t(i)));
  for (const auto& c : columns) {
    ResultColumn d{c.name, c.kind, {}, {}};
    for (int64_t i : order) {
      if (c.kind == ResultColumn::Text)
        d.text.push_back(c.text.at(size_t(i)));
      else
        d.num.push_back(c.num.at(size_t(i)));
    }
    t.columns.push_back(std::move(d));
  }
  return t;
}

void ResultTable::append(const ResultTable& t) {
  if (columns.empty() && index.empty()) {
    *this = t;
    return;
  }
  CUVI_CHECK(t.columns.size() == columns.size(), "appended result table has different columns");
  index.insert(index.end(), t.index.begin(), t.index.end());
  for (size_t k = 0; k < columns.size(); ++k) {
    CUVI_CHECK(columns[k].name == t.columns[k].name && columns[k].kind == t.columns[k].kind,
               "appended result table has different columns");
    columns[k].num.insert(columns[k].num.end(), t.columns[k].num.begin(), t.columns[k].num.end());
    columns[k].text.insert(columns[k].text.end(), t.columns[k].text.begin(), t.columns[k].text.end());
  }
}

std::string python_float_repr(double v, bool as_float32) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  const auto r = as_float32 ? std::to_chars(buf, buf + sizeof buf, float(v), std::chars_format::scientific)
                            : std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  const std::string sci(buf, r.ptr);  // "-d.ddde+XX"
  const size_t epos = sci.find('e');
  const bool neg = sci[0] == '-';
  std::string digits;
  for (size_t i = neg ? 1 : 0; i < epos; ++i)
    if (sci[i] != '.') digits += sci[i];
  const int exp10 = std::atoi(sci.c_str() + epos + 1);
  std::string out = neg ? "-" : "";
  if (exp10 < -4 || exp10 >= 16) {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char e[16];
    std::snprintf(e, sizeof e, "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
    return out + e;
  }
  if (exp10 < 0) return out + "0." + std::string(size_t(-exp10 - 1), '0') + digits;
  const size_t int_len = size_t(exp10) + 1;
  if (digits.size() <= int_len) return out + digits + std::string(int_len - digits.size(), '0') + ".0";
  return out + digits.substr(0, int_len) + "." + digits.substr(int_len);
}

namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string cell(const ResultColumn& c, int64_t i) {
  switch (c.kind) {
    case ResultColumn::Text: return csv_field(c.text[size_t(i)]);
    case ResultColumn::Bool: return c.num[size_t(i)] != 0 ? "True" : "False";
    default: {
      const double v = c.num[size_t(i)];
      return std::isnan(v) ? "" : python_float_repr(v, c.kind == ResultColumn::F32);
    }
  }
}

}  // namespace

std::string to_csv(const ResultTable& t) {
  for (const auto& c : t.columns)
    CUVI_CHECK(c.size() == t.n_rows(), "result column '" + c.name + "' does not match the table's rows");
  std::ostringstream s;
  s << csv_field(t.index_name);
  for (const auto& c : t.columns) s << ',' << csv_field(c.name);
  s << '\n';
  for (int64_t i = 0; i < t.n_rows(); ++i) {
    s << csv_field(t.index[size_t(i)]);
    for (const auto& c : t.columns) s << ',' << cell(c, i);
    s << '\n';
  }
  return s.str();
}

void write_csv(const ResultTable& t, const std::string& path) {
  const std::string text = to_csv(t);
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary);
    CUVI_CHECK(f.good(), "cannot create " + path);
    f << text;
    f.flush();
    if (!f.good()) {
      f.close();
      std::remove(tmp.c_str());
      fail("cannot write " + path + " (disk full?)");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    fail("cannot write " + path);
  }
}

io::DataFrame to_dataframe(const ResultTable& t) {
  io::DataFrame df;
  df.index = t.index;
  for (const auto& c : t.columns) {
    switch (c.kind) {
      case ResultColumn::Text: df.columns.push_back(io::Column::texts(c.name, c.text)); break;
      case ResultColumn::Bool: {
        std::vector<bool> b(c.num.size());
        for (size_t i = 0; i < b.size(); ++i) b[i] = c.num[i] != 0;
        df.columns.push_back(io::Column::booleans(c.name, b));
        break;
      }
      default: df.columns.push_back(io::Column::numbers(c.name, c.num)); break;
    }
  }
  return df;
}

}  // namespace cuvi::workflow
