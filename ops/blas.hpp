// The one door to BLAS: row-major C = op(A) * op(B) + beta * C, op = transpose
// where asked. <cblas.h> is included only in ops/blas.cpp (it clashes with
// xtensor-blas's declarations, see ../shared/DEPS.md).
#pragma once

#include <cstdint>

namespace sg::blas {

// C (m, n) = op(A) (m, k) * op(B) (k, n) + beta * C, all row-major; lda, ldb,
// ldc are the row strides of A, B, C as stored (before any transpose).
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
          const float* b, int64_t ldb, float* c, int64_t ldc, float beta = 0);
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const double* a, int64_t lda,
          const double* b, int64_t ldb, double* c, int64_t ldc, double beta = 0);

// True if the BLAS linked in runs its own threads (a pthread or OpenMP
// OpenBLAS). seqgraph links the serial build so TBB owns the cores.
bool threaded();

} // namespace sg::blas
