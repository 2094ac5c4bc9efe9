// The run-time dispatched transcendental kernels (ops/simd.hpp): every wide
// path this CPU has gives the baseline's bits for every element, whatever the
// length and the alignment of input and output; the baseline agrees with
// libm; a whole training gives the same checkpoint on every path.
#include "ops/simd.hpp"
#include "tests/cli_helpers.hpp"

#include <bit>
#include <cmath>
#include <cstring>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace sg;
using simd::Arch;
using simd::Fn;

namespace {

constexpr Fn kFns[] = {Fn::Exp, Fn::Log, Fn::Tanh, Fn::Sigmoid, Fn::Sqrt};
const char* fn_name(Fn f) {
  constexpr const char* names[] = {"exp", "log", "tanh", "sigmoid", "sqrt"};
  return names[int(f)];
}

// Inputs the kernels meet and the ones they must survive: ordinary values
// over the range where each function changes, tiny and huge ones, signed
// zeros, infinities, NaN, subnormals.
template <class T> std::vector<T> inputs(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> wide(-30, 30), narrow(-1, 1), expo(-40, 40);
  const T special[] = {T(0), -T(0), std::numeric_limits<T>::infinity(), -std::numeric_limits<T>::infinity(),
                       std::numeric_limits<T>::quiet_NaN(), std::numeric_limits<T>::denorm_min(),
                       std::numeric_limits<T>::min(), std::numeric_limits<T>::max(), T(88.7), T(-88.7),
                       T(709.8), T(-745.2), T(0.625), T(-0.625), T(1e-7)};
  std::vector<T> v(n);
  for (size_t i = 0; i < n; ++i) {
    switch (rng() % 4) {
    case 0: v[i] = T(wide(rng)); break;
    case 1: v[i] = T(narrow(rng)); break;
    case 2: v[i] = T(std::copysign(std::pow(10.0, expo(rng)), narrow(rng))); break;
    default: v[i] = special[rng() % std::size(special)];
    }
  }
  return v;
}

template <class T> bool same_bits(T a, T b) {
  if (std::isnan(a) && std::isnan(b)) return true; // any NaN is NaN to every consumer
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

template <class T> T reference(Fn f, T v) {
  switch (f) {
  case Fn::Exp: return std::exp(v);
  case Fn::Log: return std::log(v);
  case Fn::Tanh: return std::tanh(v);
  case Fn::Sigmoid: return T(1) / (T(1) + std::exp(-v));
  case Fn::Sqrt: return std::sqrt(v);
  }
  return v;
}

// |a - b| in units of the last place of b (0 when both are the same
// non-finite value)
template <class T> double ulps(T a, T b) {
  if (!std::isfinite(b) || !std::isfinite(a)) return same_bits(a, b) ? 0 : 1e30;
  const T u = std::max(std::abs(b) * std::numeric_limits<T>::epsilon(), std::numeric_limits<T>::denorm_min());
  return double(std::abs(a - b) / u);
}

// Every length 0..70 at every misalignment of input and output (in
// elements, up to a 64-byte line), on each available wide path, against the
// baseline.
template <class T> void check_every_path_matches_the_baseline() {
  const std::vector<T> pool = inputs<T>(4096, 7);
  std::vector<T> want(96), got(96);
  int paths = 0;
  for (Arch a : {Arch::Avx2, Arch::Avx512}) {
    if (!simd::available(a)) {
      MESSAGE(fmt::format("this CPU has no {}: its path is not checked here", simd::arch_name(a)));
      continue;
    }
    ++paths;
    for (Fn f : kFns) {
      size_t mismatches = 0, checked = 0;
      for (int64_t n = 0; n <= 70; ++n)
        for (size_t xo = 0; xo < 64 / sizeof(T); xo += 1)
          for (size_t yo : {size_t(0), size_t(1), size_t(2), size_t(3), 64 / sizeof(T) - 1}) {
            const T* x = pool.data() + (size_t(n) * 31 + xo * 7) % 3000 + xo;
            simd::unary(Arch::Baseline, f, x, want.data() + yo, n);
            simd::unary(a, f, x, got.data() + yo, n);
            for (int64_t i = 0; i < n; ++i, ++checked)
              if (!same_bits(got[yo + size_t(i)], want[yo + size_t(i)])) {
                if (mismatches++ < 3)
                  MESSAGE(fmt::format("{} {} n={} x+{} y+{} [{}]: {} gives {}, sse2 {}", simd::arch_name(a),
                                      fn_name(f), n, xo, yo, i, x[i], got[yo + size_t(i)], want[yo + size_t(i)]));
              }
          }
      CAPTURE(std::string(simd::arch_name(a)));
      CAPTURE(std::string(fn_name(f)));
      CHECK(checked > 90000);
      CHECK(mismatches == 0);
    }
  }
  MESSAGE(fmt::format("{} wide path(s) checked against the baseline; the active one is {}", paths,
                      simd::arch_name(simd::active())));
}

} // namespace

TEST_CASE("Simd.EveryPathGivesTheBaselinesBitsFloat") { check_every_path_matches_the_baseline<float>(); }
TEST_CASE("Simd.EveryPathGivesTheBaselinesBitsDouble") { check_every_path_matches_the_baseline<double>(); }

// The baseline (xsimd 8.1's polynomials) against libm: a few ulp for finite
// results, the same value for the non-finite ones and at the specials, with
// two departures of xsimd's, measured and left as they are (no model meets
// them): float exp overflows to inf from x = 88.38 on, where libm's result
// is finite up to 88.72 (exp(88.5) = 2.7e38); double log of a subnormal is
// wrong (log(1e-310) = -746.5, not -713.8).
TEST_CASE("Simd.BaselineAgreesWithLibm") {
  auto check = [](auto zero) {
    using T = decltype(zero);
    const std::vector<T> x = inputs<T>(20000, 11);
    std::vector<T> y(x.size());
    for (Fn f : kFns) {
      simd::unary(Arch::Baseline, f, x.data(), y.data(), int64_t(x.size()));
      double worst = 0;
      T at = 0;
      for (size_t i = 0; i < x.size(); ++i) {
        const T r = reference(f, x[i]);
        // a subnormal result: the polynomial may flush or round it differently
        if (std::isfinite(r) && std::abs(r) < std::numeric_limits<T>::min()) continue;
        if (f == Fn::Exp && r > std::numeric_limits<T>::max() / 16 && std::isinf(y[i])) continue;
        if (f == Fn::Log && x[i] > 0 && x[i] < std::numeric_limits<T>::min() && sizeof(T) == 8) continue;
        const double e = ulps(y[i], r);
        if (e > worst) worst = e, at = x[i];
      }
      CAPTURE(std::string(fn_name(f)));
      CAPTURE(at);
      CHECK(worst <= 4);
    }
  };
  check(0.0f);
  check(0.0);
}

TEST_CASE("Simd.UnavailablePathIsAnError") {
  std::vector<float> x(8, 1.0f), y(8);
  for (Arch a : {Arch::Avx2, Arch::Avx512})
    if (!simd::available(a)) CHECK_THROWS_WITH_AS(simd::unary(a, Fn::Exp, x.data(), y.data(), 8),
                                                  doctest::Contains("this CPU has no"), std::invalid_argument);
  CHECK(simd::available(Arch::Baseline));
}

// A model's training through every path, as a user runs it: the same
// checkpoint, byte for byte (SEQGRAPH_SIMD picks the path); a value this CPU
// cannot run or an unknown one is said and the widest path used.
TEST_CASE("Simd.TrainingGivesTheSameCheckpointOnEveryPath") {
  test::TempDir d;
  const std::string args = "dinosaurus train --iterations 300 --quiet --checkpoint ";
  REQUIRE(test::graph_run(args + (d / "sse2.ckpt"), false, "SEQGRAPH_SIMD=sse2").rc == 0);
  const std::string want = test::read_file(d / "sse2.ckpt");
  REQUIRE(want.size() > 1000);
  int paths = 0;
  for (Arch a : {Arch::Avx2, Arch::Avx512}) {
    if (!simd::available(a)) continue;
    ++paths;
    const auto ck = d / fmt::format("{}.ckpt", simd::arch_name(a));
    const test::Result r = test::graph_run(args + ck, false, fmt::format("SEQGRAPH_SIMD={}", simd::arch_name(a)));
    REQUIRE(r.rc == 0);
    CHECK_FALSE(test::has(r.out, "SEQGRAPH_SIMD"));
    CAPTURE(simd::arch_name(a));
    CHECK(test::read_file(ck) == want);
  }
  MESSAGE(fmt::format("{} wide path(s) trained", paths));
  const test::Result bad = test::graph_run(args + (d / "bad.ckpt"), false, "SEQGRAPH_SIMD=neon");
  CHECK(bad.rc == 0);
  CHECK(test::has(bad.out, "SEQGRAPH_SIMD=neon: unknown (sse2, avx2, avx512 or auto)"));
  CHECK(test::read_file(d / "bad.ckpt") == want);
}

// SEQGRAPH_GEMM (ops/blas.cpp) as SEQGRAPH_SIMD: an unknown value is said and
// the default path taken ("auto": the same checkpoint; the suite itself may
// run under another SEQGRAPH_GEMM, CI's runs do).
TEST_CASE("Blas.AnUnknownGemmPathIsSaidAndTheDefaultUsed") {
  test::TempDir d;
  const std::string args = "jazz train --epochs 1 --quiet --checkpoint ";
  REQUIRE(test::graph_run(args + (d / "default.ckpt"), false, "SEQGRAPH_GEMM=auto").rc == 0);
  const test::Result r = test::graph_run(args + (d / "mkl.ckpt"), false, "SEQGRAPH_GEMM=mkl");
  CHECK(r.rc == 0);
  CHECK(test::has(r.out, "SEQGRAPH_GEMM=mkl: unknown (openblas, dnnl, xsmm or auto)"));
  CHECK(test::read_file(d / "mkl.ckpt") == test::read_file(d / "default.ckpt"));
}
