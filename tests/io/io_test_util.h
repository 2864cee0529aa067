// Shared helpers for the io tests: locating ../shared/data, temporary directories, and asserting that a
// call fails with a cuvi::Error whose one-line message contains a given substring.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>

#include "engine/error.h"
#include "tests/test_env.h"

namespace cuvi::test {

// A fresh directory under the system temp dir, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    m_path = (std::filesystem::temp_directory_path() /
              ("cuvi-io-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++)))
                 .string();
    std::filesystem::remove_all(m_path);
    std::filesystem::create_directories(m_path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  std::string file(const std::string& name) const { return m_path + "/" + name; }
  const std::string& path() const { return m_path; }

 private:
  std::string m_path;
};

// The message of the cuvi::Error thrown by f; records a test failure when nothing (or something else) is thrown.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const cuvi::Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected cuvi::Error, got another exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected cuvi::Error, nothing was thrown";
  return "";
}

#define EXPECT_IO_ERROR(stmt, substring)                                                     \
  do {                                                                                       \
    const std::string cuvi_msg_ = ::cuvi::test::error_of([&] { stmt; });                     \
    EXPECT_NE(cuvi_msg_.find(substring), std::string::npos)                                  \
        << "error message: \"" << cuvi_msg_ << "\" lacks \"" << (substring) << "\"";         \
    EXPECT_EQ(cuvi_msg_.find('\n'), std::string::npos) << "not one line: " << cuvi_msg_;     \
  } while (0)

}  // namespace cuvi::test
