// Raw cblas calls (the serial OpenBLAS), behind ops/blas.hpp.
#include "ops/blas.hpp"

#include <cblas.h>
#include <climits>
#include <mutex>
#include <fmt/format.h>
#include <stdexcept>

namespace sg::blas {

namespace {

blasint to_int(int64_t v, const char* what) {
  if (v < 0 || v > INT_MAX)
    throw std::length_error(fmt::format("gemm: {} = {} does not fit BLAS's int", what, v));
  return static_cast<blasint>(v);
}

// The cases BLAS does not like (an empty inner dimension, where lda may be
// 0): C = beta * C, by hand.
template <class T> bool degenerate(int64_t m, int64_t n, int64_t k, T* c, int64_t ldc, T beta) {
  if (m > 0 && n > 0 && k > 0) return false;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == T(0) ? T(0) : beta * c[i * ldc + j];
  return true;
}

CBLAS_TRANSPOSE trans(bool t) { return t ? CblasTrans : CblasNoTrans; }

// Debian's serial OpenBLAS (0.3.21) is not built with USE_LOCKING: two
// threads calling gemm at once can share its work buffers and get wrong
// results (Executor.ConcurrentMatmulsAreDeterministic catches it within a few
// hundred runs). So calls take turns. This costs the parallelism of
// concurrent matmuls; the thread-safe alternatives (BLIS serial, an
// OpenBLAS built with locking) are the performance work's to weigh.
std::mutex& gemm_lock() {
  static std::mutex m;
  return m;
}

} // namespace

void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
          const float* b, int64_t ldb, float* c, int64_t ldc, float beta) {
  if (degenerate(m, n, k, c, ldc, beta)) return;
  std::lock_guard<std::mutex> turn(gemm_lock());
  cblas_sgemm(CblasRowMajor, trans(ta), trans(tb), to_int(m, "m"), to_int(n, "n"), to_int(k, "k"),
              1.0f, a, to_int(lda, "lda"), b, to_int(ldb, "ldb"), beta, c, to_int(ldc, "ldc"));
}

void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const double* a, int64_t lda,
          const double* b, int64_t ldb, double* c, int64_t ldc, double beta) {
  if (degenerate(m, n, k, c, ldc, beta)) return;
  std::lock_guard<std::mutex> turn(gemm_lock());
  cblas_dgemm(CblasRowMajor, trans(ta), trans(tb), to_int(m, "m"), to_int(n, "n"), to_int(k, "k"),
              1.0, a, to_int(lda, "lda"), b, to_int(ldb, "ldb"), beta, c, to_int(ldc, "ldc"));
}

bool threaded() { return openblas_get_parallel() != 0; }

} // namespace sg::blas
