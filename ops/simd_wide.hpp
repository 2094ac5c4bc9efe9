// The body of a wide path of ops/simd.hpp, included once by each of
// ops/simd_avx2.cpp and ops/simd_avx512.cpp, which are built with that
// arch's -m flags (meson.build) and called only where the CPU has it.
//
// Everything here has internal linkage or is an xsimd template of the arch
// tag, so no inline function compiled with the wide instructions can be
// merged into (and picked by the linker for) the baseline code.
#pragma once

#include "ops/simd.hpp"

#include <type_traits>
#include <xsimd/xsimd.hpp>

namespace sg::simd {
namespace {

// y = f(x) in batches of the arch's width; the last, partial batch (a
// multiple of the baseline's 4 floats or 2 doubles) through a zero-padded
// copy, whose extra lanes are dropped. Each lane is computed as the
// baseline's batch computes it.
template <class A, class T, class F> void wide(const T* x, T* y, int64_t n, F f) {
  using B = xsimd::batch<T, A>;
  constexpr int64_t W = int64_t(B::size);
  int64_t i = 0;
  for (; i + W <= n; i += W) f(B::load_unaligned(x + i)).store_unaligned(y + i);
  if (i < n) {
    alignas(64) T in[W] = {}, out[W];
    for (int64_t j = 0; i + j < n; ++j) in[j] = x[i + j];
    f(B::load_aligned(in)).store_aligned(out);
    for (int64_t j = 0; i + j < n; ++j) y[i + j] = out[j];
  }
}

// The formulas of ops/elementwise.cpp's Exp, Log, Tanh, Sigmoid and Sqrt.
template <class A, class T> void run(Fn f, const T* x, T* y, int64_t n) {
  using B = xsimd::batch<T, A>;
  switch (f) {
  case Fn::Exp: return wide<A>(x, y, n, [](const B& b) { return xsimd::exp(b); });
  case Fn::Log: return wide<A>(x, y, n, [](const B& b) { return xsimd::log(b); });
  case Fn::Tanh: return wide<A>(x, y, n, [](const B& b) { return xsimd::tanh(b); });
  case Fn::Sigmoid:
    return wide<A>(x, y, n, [](const B& b) { return B(T(1)) / (B(T(1)) + xsimd::exp(-b)); });
  case Fn::Sqrt: return wide<A>(x, y, n, [](const B& b) { return xsimd::sqrt(b); });
  }
}

// The dropout mask of ops/simd.hpp: integer arithmetic (SplitMix64's
// finaliser, graph/random.hpp's rng::mix, written out here so that no inline
// function of the wide instructions is shared with the baseline code), which
// the compiler vectorises with this arch's 64-bit lanes.
template <class T> void keep_mask_loop(uint64_t base, uint64_t cut, T keep, T* out, int64_t n, int64_t first) {
  for (int64_t i = 0; i < n; ++i) {
    uint64_t z = (base ^ uint64_t(first + i)) + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    out[i] = (z >> 11) >= cut ? keep : T(0);
  }
}

} // namespace
} // namespace sg::simd
