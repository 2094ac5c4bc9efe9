// The AVX2 path of ops/simd.hpp (built with -mavx2, without FMA: meson.build).
#include "ops/simd_wide.hpp"

namespace sg::simd {
void unary_avx2(Fn f, const float* x, float* y, int64_t n) { run<xsimd::avx2>(f, x, y, n); }
void unary_avx2(Fn f, const double* x, double* y, int64_t n) { run<xsimd::avx2>(f, x, y, n); }
} // namespace sg::simd
