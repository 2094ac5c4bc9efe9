// The one door to BLAS: row-major C = op(A) * op(B) + beta * C, op = transpose
// where asked. <cblas.h> is included only in ops/blas.cpp (it clashes with
// xtensor-blas's declarations, see ../shared/DEPS.md).
#pragma once

#include <cstdint>

namespace sg::blas {

// C (m, n) = op(A) (m, k) * op(B) (k, n) + beta * C, all row-major; lda, ldb,
// ldc are the row strides of A, B, C as stored (before any transpose).
// A product of at least 2 * kMinBlockMacs multiply-adds is cut into blocks of
// C's columns (or rows, whichever dimension is longer) that run as TBB tasks.
// The cut depends on the shapes only, never on the thread count, so the
// result is the same bits at any thread count (OpenBLAS may round a block
// differently from the whole product: its small-matrix kernels are picked by
// size).
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
          const float* b, int64_t ldb, float* c, int64_t ldc, float beta = 0);
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const double* a, int64_t lda,
          const double* b, int64_t ldb, double* c, int64_t ldc, double beta = 0);

inline constexpr double kMinBlockMacs = 4e6;  // ~40 us of a core's sgemm
inline constexpr int64_t kMinBlockWidth = 128; // narrower blocks lose BLAS efficiency
inline constexpr int64_t kMaxBlocks = 8;

// How gemm cuts an (m, n, k) product: `count` blocks of `width` columns
// (along_n) or rows of C, the last one possibly narrower.
struct Blocks {
  int64_t count = 1;
  int64_t width = 0;
  bool along_n = true;
};
Blocks blocks_of(int64_t m, int64_t n, int64_t k);

// One product on one library, as it is (no blocks, no choice by size): for
// tools/bench's comparison of the libraries on the models' products. False
// if the library is not built in or has no kernel for the case (libxsmm: a
// transposed B, fewer than 8 columns).
enum class Library { openblas, dnnl, xsmm };
bool gemm_with(Library lib, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
               const float* b, int64_t ldb, float* c, int64_t ldc, float beta = 0);
// What computes which product in this process (SEQGRAPH_GEMM), in words.
const char* gemm_path();

// True if the BLAS linked in runs threads of its own (it must not: TBB owns
// the cores; seqgraph holds OpenBLAS at one thread).
bool threaded();

// True if the BLAS linked in is not safe to call from two threads at once
// (a serial OpenBLAS): then gemm calls take turns and are not cut in blocks.
bool takes_turns();

} // namespace sg::blas
