// Error type shared by the engine, models, io and tools: one readable line, thrown, never exit().
// The CLI catches cuvi::Error at the top and prints it with a non-zero exit (DESIGN.md decision 9).
#pragma once
#include <stdexcept>
#include <string>

namespace cuvi {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

[[noreturn]] inline void fail(const std::string& message) { throw Error(message); }

}  // namespace cuvi

#define CUVI_CHECK(cond, message)                  \
  do {                                             \
    if (!(cond)) ::cuvi::fail(std::string(message)); \
  } while (0)
