// Elementwise kernel benchmark: each run-time dispatched kernel of
// ops/simd.hpp on every path this CPU has, next to the plain std:: loop
// element by element (the peer, in the same process), on float32 arrays.
// (The arithmetic ops are not dispatched: the same loops built for AVX2 and
// AVX-512 measured 0.7-1.1x the SSE2 build's, in cache and out, 2026-12-03.)
//
//   bench-kernels [--n N] [--reps R]     (N elements, default 1,000,000)
#include "ops/simd.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <random>
#include <string>
#include <vector>

using namespace sg;
using Clock = std::chrono::steady_clock;

namespace {

template <class F> double median_ns(int reps, F&& f) {
  f(); // warm-up
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    auto a = Clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::nano>(Clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// The peer: what a kernel written element by element with libm costs.
float scalar(simd::Fn f, float v) {
  switch (f) {
  case simd::Fn::Exp: return std::exp(v);
  case simd::Fn::Log: return std::log(v);
  case simd::Fn::Tanh: return std::tanh(v);
  case simd::Fn::Sigmoid: return 1.0f / (1.0f + std::exp(-v));
  case simd::Fn::Sqrt: return std::sqrt(v);
  }
  return v;
}

} // namespace

int main(int argc, char** argv) {
  int64_t n = 1'000'000;
  int reps = 21;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if ((a == "--n" || a == "--reps") && i + 1 < argc) {
      const long v = std::strtol(argv[++i], nullptr, 10);
      if (v < 1) {
        fmt::print(stderr, "bench-kernels: {} must be a positive integer\n", a);
        return 2;
      }
      if (a == "--n") n = v;
      else reps = int(v);
    } else {
      fmt::print(stderr, "usage: bench-kernels [--n N] [--reps R]\n");
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> d(0.01f, 4.0f);
  std::vector<float> x(static_cast<size_t>(n)), b(x.size()), y(x.size());
  for (auto& v : x) v = d(rng);
  for (auto& v : b) v = d(rng);

  std::vector<simd::Arch> paths;
  for (simd::Arch a : {simd::Arch::Baseline, simd::Arch::Avx2, simd::Arch::Avx512})
    if (simd::available(a)) paths.push_back(a);

  fmt::print("elementwise kernels, {} float32, median of {} runs, ns per element (active path: {})\n", n, reps,
             simd::arch_name(simd::active()));
  fmt::print("{:<9} {:>9}", "kernel", "std::");
  for (simd::Arch a : paths) fmt::print(" {:>9}", simd::arch_name(a));
  fmt::print("   widest vs std::, vs sse2\n");
  auto row = [&](const char* name, double peer, auto&& run) {
    std::vector<double> t;
    for (simd::Arch a : paths) t.push_back(median_ns(reps, [&] { run(a); }) / double(n));
    fmt::print("{:<9} {:>9.3f}", name, peer / double(n));
    for (double v : t) fmt::print(" {:>9.3f}", v);
    fmt::print("   {:>5.1f}x {:>5.2f}x\n", peer / double(n) / t.back(), t.front() / t.back());
  };
  constexpr const char* fn_names[] = {"exp", "log", "tanh", "sigmoid", "sqrt"};
  for (simd::Fn f : {simd::Fn::Exp, simd::Fn::Log, simd::Fn::Tanh, simd::Fn::Sigmoid, simd::Fn::Sqrt}) {
    const double peer = median_ns(reps, [&] {
      for (int64_t i = 0; i < n; ++i) y[size_t(i)] = scalar(f, x[size_t(i)]);
    });
    row(fn_names[int(f)], peer, [&](simd::Arch a) { simd::unary(a, f, x.data(), y.data(), n); });
  }
  return 0;
}
