// Run-time choice of the transcendental kernels' arch (ops/simd.hpp). The
// baseline path is xtensor's assignment over xsimd's default (SSE2) batch;
// a wide path computes the same elements the same way, only more per
// instruction.
#include "ops/simd.hpp"

#include "graph/random.hpp"

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <xtensor/xadapt.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

namespace sg::simd {

namespace {

// y = f(x) as an xtensor expression over the flat buffers: no temporaries,
// no allocation; xtensor computes the elements before the output's first
// 16-byte boundary and after its last whole batch with the scalar formula.
template <class T, class F> void baseline(const T* x, T* y, int64_t n, F f) {
  const size_t m = static_cast<size_t>(n);
  const std::array<size_t, 1> shape{m};
  auto xs = xt::adapt(const_cast<T*>(x), m, xt::no_ownership(), shape);
  auto ys = xt::adapt(y, m, xt::no_ownership(), shape);
  xt::noalias(ys) = f(xs);
}

template <class T> void baseline(Fn f, const T* x, T* y, int64_t n) {
  switch (f) {
  case Fn::Exp: return baseline(x, y, n, [](const auto& e) { return xt::exp(e); });
  case Fn::Log: return baseline(x, y, n, [](const auto& e) { return xt::log(e); });
  case Fn::Tanh: return baseline(x, y, n, [](const auto& e) { return xt::tanh(e); });
  case Fn::Sigmoid: return baseline(x, y, n, [](const auto& e) { return T(1) / (T(1) + xt::exp(-e)); });
  case Fn::Sqrt: return baseline(x, y, n, [](const auto& e) { return xt::sqrt(e); });
  }
}

// The scalar formula xtensor uses for the elements outside whole batches.
template <class T> T scalar(Fn f, T v) {
  switch (f) {
  case Fn::Exp: return std::exp(v);
  case Fn::Log: return std::log(v);
  case Fn::Tanh: return std::tanh(v);
  case Fn::Sigmoid: return T(1) / (T(1) + std::exp(-v));
  case Fn::Sqrt: return std::sqrt(v);
  }
  return v;
}

// A wide path: the baseline's split of [0, n) into a scalar head, whole
// baseline batches and a scalar tail (xtensor's linear assigner, from the
// output's alignment), the batches handed to the arch's kernel.
template <class T, class Wide> void split(Fn f, const T* x, T* y, int64_t n, Wide wide) {
  constexpr size_t lanes = 16 / sizeof(T);
  const int64_t head = int64_t(xsimd::get_alignment_offset(y, size_t(n), lanes));
  const int64_t end = head + ((n - head) & ~int64_t(lanes - 1));
  for (int64_t i = 0; i < head; ++i) y[i] = scalar(f, x[i]);
  if (end > head) wide(f, x + head, y + head, end - head);
  for (int64_t i = end; i < n; ++i) y[i] = scalar(f, x[i]);
}

Arch best() {
  if (available(Arch::Avx512)) return Arch::Avx512;
  if (available(Arch::Avx2)) return Arch::Avx2;
  return Arch::Baseline;
}

// SEQGRAPH_SIMD, read once; a value this CPU cannot run, or an unknown one,
// is said on stderr and the widest available arch used.
Arch chosen() {
  const char* e = std::getenv("SEQGRAPH_SIMD");
  if (!e || !*e || std::string_view(e) == "auto") return best();
  for (Arch a : {Arch::Baseline, Arch::Avx2, Arch::Avx512}) {
    if (std::string_view(e) != arch_name(a)) continue;
    if (available(a)) return a;
    std::fprintf(stderr, "seqgraph: SEQGRAPH_SIMD=%s: this CPU has no %s; using %s\n", e, e,
                 arch_name(best()));
    return best();
  }
  std::fprintf(stderr, "seqgraph: SEQGRAPH_SIMD=%s: unknown (sse2, avx2, avx512 or auto); using %s\n", e,
               arch_name(best()));
  return best();
}

template <class T> void run(Arch a, Fn f, const T* x, T* y, int64_t n) {
  switch (a) {
  case Arch::Baseline: return baseline(f, x, y, n);
  case Arch::Avx2: return split(f, x, y, n, [](Fn g, const T* p, T* q, int64_t m) { unary_avx2(g, p, q, m); });
  case Arch::Avx512:
    return split(f, x, y, n, [](Fn g, const T* p, T* q, int64_t m) { unary_avx512(g, p, q, m); });
  }
}

} // namespace

const char* arch_name(Arch a) {
  switch (a) {
  case Arch::Baseline: return "sse2";
  case Arch::Avx2: return "avx2";
  case Arch::Avx512: return "avx512";
  }
  return "?";
}

// __builtin_cpu_supports checks that the OS saves the wide registers too.
bool available(Arch a) {
  switch (a) {
  case Arch::Baseline: return true;
  case Arch::Avx2: return __builtin_cpu_supports("avx2");
  case Arch::Avx512:
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512cd");
  }
  return false;
}

static Arch checked(Arch a) {
  if (!available(a)) throw std::invalid_argument(std::string("simd::unary: this CPU has no ") + arch_name(a));
  return a;
}

Arch active() {
  static const Arch a = chosen();
  return a;
}

void unary(Fn f, const float* x, float* y, int64_t n) { run(active(), f, x, y, n); }
void unary(Fn f, const double* x, double* y, int64_t n) { run(active(), f, x, y, n); }
void unary(Arch a, Fn f, const float* x, float* y, int64_t n) { run(checked(a), f, x, y, n); }
void unary(Arch a, Fn f, const double* x, double* y, int64_t n) { run(checked(a), f, x, y, n); }

namespace {
template <class T> void keep_mask_on(Arch a, uint64_t base, uint64_t cut, T keep, T* out, int64_t n, int64_t first) {
  switch (a) {
  case Arch::Baseline:
    for (int64_t i = 0; i < n; ++i) out[i] = (rng::mix(base ^ uint64_t(first + i)) >> 11) >= cut ? keep : T(0);
    return;
  case Arch::Avx2: return keep_mask_avx2(base, cut, keep, out, n, first);
  case Arch::Avx512: return keep_mask_avx512(base, cut, keep, out, n, first);
  }
}
} // namespace

void keep_mask(uint64_t base, uint64_t cut, float keep, float* out, int64_t n, int64_t first) {
  keep_mask_on(active(), base, cut, keep, out, n, first);
}
void keep_mask(uint64_t base, uint64_t cut, double keep, double* out, int64_t n, int64_t first) {
  keep_mask_on(active(), base, cut, keep, out, n, first);
}
void keep_mask(Arch a, uint64_t base, uint64_t cut, float keep, float* out, int64_t n, int64_t first) {
  keep_mask_on(checked(a), base, cut, keep, out, n, first);
}

} // namespace sg::simd
