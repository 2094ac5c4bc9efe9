// Raw cblas calls (OpenBLAS at one thread), behind ops/blas.hpp.
#include "ops/blas.hpp"

#include "graph/tsan.hpp"

#include <cblas.h>
#include <climits>
#include <algorithm>
#include <mutex>
#include <oneapi/tbb/task_group.h>
#include <utility>
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

// OpenBLAS held at one thread, set once at start-up: TBB owns the cores.
const bool kOneThread = [] {
  openblas_set_num_threads(1);
  return true;
}();

// Debian's serial OpenBLAS (0.3.21) is not built with USE_LOCKING: two
// threads calling gemm at once can share its work buffers and get wrong
// results (Executor.ConcurrentMatmulsAreDeterministic catches it within a few
// hundred runs). The pthread build, which meson.build links, locks its
// buffers; if another build is linked, calls take turns.
bool must_take_turns() {
  static const bool serial = openblas_get_parallel() != 1;
  return serial;
}
std::mutex& gemm_lock() {
  static std::mutex m;
  return m;
}

void call(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
          const float* b, int64_t ldb, float* c, int64_t ldc, float beta) {
  cblas_sgemm(CblasRowMajor, trans(ta), trans(tb), blasint(m), blasint(n), blasint(k), 1.0f, a,
              blasint(lda), b, blasint(ldb), beta, c, blasint(ldc));
}
void call(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const double* a, int64_t lda,
          const double* b, int64_t ldb, double* c, int64_t ldc, double beta) {
  cblas_dgemm(CblasRowMajor, trans(ta), trans(tb), blasint(m), blasint(n), blasint(k), 1.0, a,
              blasint(lda), b, blasint(ldb), beta, c, blasint(ldc));
}

template <class T>
void gemm_impl(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda,
               const T* b, int64_t ldb, T* c, int64_t ldc, T beta) {
  if (degenerate(m, n, k, c, ldc, beta)) return;
  for (auto [v, what] : {std::pair{m, "m"}, {n, "n"}, {k, "k"}, {lda, "lda"}, {ldb, "ldb"},
                         {ldc, "ldc"}})
    to_int(v, what);
  if (must_take_turns()) {
    std::lock_guard<std::mutex> turn(gemm_lock());
    call(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, beta);
    return;
  }
  const Blocks s = blocks_of(m, n, k);
  if (s.count == 1) {
    call(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, beta);
    return;
  }
  // Blocks 1..count-1 as tasks of a task_group, block 0 on this thread, then
  // the join. Explicit tasks rather than tbb::parallel_for: parallel_for splits
  // the range and copies its body inside libtbb, where ThreadSanitizer cannot
  // see the hand-off; here every hand-off is one of ours and is marked
  // (graph/tsan.hpp), as the executor's spawns are. The cut is blocks_of's
  // alone, so which thread runs a block changes no bits.
  const auto block = [&](int64_t i) {
    const int64_t lo = i * s.width, len = std::min(s.width, (s.along_n ? n : m) - lo);
    if (s.along_n) // C[:, lo:lo+len] = op(A) op(B)[:, lo:lo+len]
      call(ta, tb, m, len, k, a, lda, tb ? b + lo * ldb : b + lo, ldb, c + lo, ldc, beta);
    else // C[lo:lo+len, :] = op(A)[lo:lo+len, :] op(B)
      call(ta, tb, len, n, k, ta ? a + lo : a + lo * lda, lda, b, ldb, c + lo * ldc, ldc, beta);
  };
  tbb::task_group tg;
  tsan_release(&s); // what this thread wrote (A, B, C's other blocks) before a block task reads it
  for (int64_t i = s.count - 1; i >= 1; --i) { // popped LIFO: 1, 2, ... where no other thread steals
    [[maybe_unused]] const TsanIgnoreWrites closure_copy; // into TBB's task object, out of sight
    tg.run([&block, &s, &tg, i] {
      tsan_acquire(&s);
      block(i);
      tsan_release(&tg); // this block's C before wait() returns
    });
  }
  block(0);
  tg.wait();
  tsan_acquire(&tg);
}

} // namespace

Blocks blocks_of(int64_t m, int64_t n, int64_t k) {
  const double macs = double(m) * double(n) * double(k);
  const bool along_n = n >= m;
  const int64_t dim = along_n ? n : m;
  int64_t count = 1;
  while (count < kMaxBlocks && macs / double(2 * count) >= kMinBlockMacs &&
         dim / (2 * count) >= kMinBlockWidth)
    count *= 2;
  if (count == 1) return {1, dim, along_n};
  const int64_t width = (dim + count - 1) / count;
  return {count, width, along_n};
}

void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
          const float* b, int64_t ldb, float* c, int64_t ldc, float beta) {
  gemm_impl(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, beta);
}

void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const double* a, int64_t lda,
          const double* b, int64_t ldb, double* c, int64_t ldc, double beta) {
  gemm_impl(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, beta);
}

bool threaded() { return openblas_get_num_threads() > 1; }

bool takes_turns() { return must_take_turns(); }

} // namespace sg::blas
