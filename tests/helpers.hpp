// Small helpers shared by the tests: literal tensors, running a graph once,
// elementwise comparison, the message of an expected exception, a file's bytes,
// a temporary directory.
#pragma once

#include "graph/plan.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace sg::test {

inline Tensor vals(Shape s, std::vector<double> v) { return Tensor::from(std::move(s), v, DType::f64); }

// Runs `g` once in `dtype` with the given feeds and returns y (as float64).
inline Tensor eval(Graph& g, Value y, const std::map<std::string, Tensor>& feeds,
                   DType dtype = DType::f64) {
  ParamStore ps;
  Plan p(g, ps, std::vector<Value>{y}, {}, {dtype});
  for (auto& [name, t] : feeds) p.feed(name, t);
  p.run();
  return p.fetch(y).to(DType::f64);
}

// |got - want| <= tol * max(1, |want|) for every element, shapes equal.
inline void check_close(const Tensor& got, const Tensor& want, double tol = 1e-12) {
  REQUIRE(got.shape() == want.shape());
  for (int64_t i = 0; i < got.size(); ++i) {
    INFO("element ", i, " got ", got.at(i), " want ", want.at(i));
    CHECK(std::abs(got.at(i) - want.at(i)) <= tol * std::max(1.0, std::abs(want.at(i))));
  }
}

// The message of the exception of type E that `f` throws (fails the test if none).
template <class E, class F> std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  FAIL("no exception of the expected type thrown");
  return {};
}

// The lines of a text (a command's output, a CSV file), without their newlines.
inline std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> r;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) r.push_back(l);
  return r;
}

// A whole file's bytes ("" if it cannot be read).
inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fresh directory under the system's temporary directory, removed with its contents.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    static std::atomic<int> k{0};
    path = std::filesystem::temp_directory_path() /
           ("seqgraph-test-" + std::to_string(::getpid()) + "-" + std::to_string(k++));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& f) const { return (path / f).string(); }
};

} // namespace sg::test
