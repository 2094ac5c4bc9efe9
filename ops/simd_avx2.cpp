// The AVX2 path of ops/simd.hpp (built with -mavx2, without FMA: meson.build).
#include "ops/simd_wide.hpp"

namespace sg::simd {
void unary_avx2(Fn f, const float* x, float* y, int64_t n) { run<xsimd::avx2>(f, x, y, n); }
void unary_avx2(Fn f, const double* x, double* y, int64_t n) { run<xsimd::avx2>(f, x, y, n); }
void keep_mask_avx2(uint64_t base, uint64_t cut, float keep, float* out, int64_t n, int64_t first) {
  keep_mask_loop(base, cut, keep, out, n, first);
}
void keep_mask_avx2(uint64_t base, uint64_t cut, double keep, double* out, int64_t n, int64_t first) {
  keep_mask_loop(base, cut, keep, out, n, first);
}
} // namespace sg::simd
