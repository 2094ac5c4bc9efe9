// Raw cblas calls (OpenBLAS at one thread), oneDNN's sgemm for mid-size and
// large float products, and libxsmm's JIT kernels for small products (opt-in),
// behind ops/blas.hpp.
#include "ops/blas.hpp"

#include "graph/tsan.hpp"

#include <cblas.h>
#include <climits>
#include <cstdlib>
#include <string_view>
#include <algorithm>
#include <libxsmm.h>
#include <mutex>
#include <oneapi/tbb/task_group.h>
#include <type_traits>
#include <utility>
#include <fmt/format.h>
#include <stdexcept>
#ifndef SEQGRAPH_HAVE_DNNL
#define SEQGRAPH_HAVE_DNNL 0
#endif
#if SEQGRAPH_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
extern "C" void omp_set_num_threads(int); // libgomp's, which Debian's oneDNN runs on
#endif

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

void blas_call(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
               const float* b, int64_t ldb, float* c, int64_t ldc, float beta) {
  cblas_sgemm(CblasRowMajor, trans(ta), trans(tb), blasint(m), blasint(n), blasint(k), 1.0f, a,
              blasint(lda), b, blasint(ldb), beta, c, blasint(ldc));
}
void blas_call(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const double* a, int64_t lda,
               const double* b, int64_t ldb, double* c, int64_t ldc, double beta) {
  cblas_dgemm(CblasRowMajor, trans(ta), trans(tb), blasint(m), blasint(n), blasint(k), 1.0, a,
              blasint(lda), b, blasint(ldb), beta, c, blasint(ldc));
}

// ---- small products: libxsmm's JIT kernels
//
// A general BLAS call pays for packing A and B, and OpenBLAS zeroes C first
// when beta = 0 (its "beta" kernel): microseconds that dominate the
// products of recurrent and attention layers ((100, 64) x (64, 256), and
// narrow ones like (3000, 64) x (64, 10), where OpenBLAS's blocking fits
// badly). libxsmm generates a kernel for each (m, n, k, strides, flags) the
// first time it is asked and keeps it in a registry (thread-safe); a kernel
// is fixed code for its shape, so its bits do not depend on the thread that
// runs it.
//
// Which products: measured one against the other at 1 thread on the
// products of the models (README, "Performance": the small products),
// libxsmm is 1.1-1.3x faster on small ones up to 128^3, 1.4-2.5x on narrow
// ones (n of 10 or 11, m or k up to 3000), and slower where C has one column
// (0.3x: its kernels vectorise along n) or, above ~2 M multiply-adds, where
// n is wide (OpenBLAS's packing pays for itself). So: n >= 8, and n <= 64 or at most
// kSmallMacs multiply-adds.
//
// libxsmm is column-major. A row-major C (m x n) is a column-major C^T
// (n x m) = op(B)^T op(A)^T: the same buffers, with A and B swapped and
// their transpose flags swapped. libxsmm 1.17 has no kernel for a
// transposed first operand (row-major op(B) = B^T): those products go to
// BLAS (a transposed copy of B first measured slower than BLAS's own "nt").
constexpr double kSmallMacs = 2.2e6; // 128^3 = 2.1 M
constexpr int64_t kMinColumns = 8, kNarrowColumns = 64;

// Which library computes which product, read once from SEQGRAPH_GEMM at
// start-up: "dnnl" (the default, "auto", where oneDNN is built in) sends the float
// products of at least kDnnlMacs multiply-adds to oneDNN and the rest to
// OpenBLAS; "xsmm" does the same and also sends the small products above to
// libxsmm (opt-in: measured a few percent on NMT, within the noise elsewhere);
// "openblas" sends every product to OpenBLAS. Another library rounds
// differently, so each choice has its own bits (CI runs the suite with each).
enum class Path { openblas, dnnl, xsmm };
constexpr bool kHaveDnnl = SEQGRAPH_HAVE_DNNL;
Path path_from_env() {
  const char* e = std::getenv("SEQGRAPH_GEMM");
  const std::string_view v = e ? e : "";
  if (v == "openblas") return Path::openblas;
  if (v == "xsmm") return Path::xsmm;
  if (!v.empty() && v != "auto" && v != "dnnl") // said, as SEQGRAPH_SIMD's are (ops/simd.cpp)
    fmt::print(stderr, "seqgraph: SEQGRAPH_GEMM={}: unknown (openblas, dnnl, xsmm or auto); using {}\n", v,
               kHaveDnnl ? "dnnl" : "openblas");
  return kHaveDnnl ? Path::dnnl : Path::openblas;
}
const Path kPath = path_from_env();
const bool kUseXsmm = [] {
  if (kPath != Path::xsmm) return false;
  libxsmm_init(); // once, here: its CPU detection before the first dispatch
  return true;
}();

// libxsmm's AVX kernels return with the upper halves of the YMM registers
// in use; the SSE code that follows (the elementwise kernels of the default
// build) then pays a state transition on every instruction. vzeroupper clears
// them, as compiled AVX code does before it returns.
const bool kHasAvx = __builtin_cpu_supports("avx");
__attribute__((target("avx"))) void zero_upper() { __builtin_ia32_vzeroupper(); }

template <class T> using Kernel = void (*)(const T*, const T*, T*, ...);

Kernel<float> dispatch(libxsmm_blasint m, libxsmm_blasint n, libxsmm_blasint k, libxsmm_blasint lda,
                       libxsmm_blasint ldb, libxsmm_blasint ldc, const float* alpha, const float* beta,
                       int flags) {
  return libxsmm_smmdispatch(m, n, k, &lda, &ldb, &ldc, alpha, beta, &flags, nullptr);
}
Kernel<double> dispatch(libxsmm_blasint m, libxsmm_blasint n, libxsmm_blasint k, libxsmm_blasint lda,
                        libxsmm_blasint ldb, libxsmm_blasint ldc, const double* alpha, const double* beta,
                        int flags) {
  return libxsmm_dmmdispatch(m, n, k, &lda, &ldb, &ldc, alpha, beta, &flags, nullptr);
}

// C = op(A) op(B) + beta C through libxsmm; false if it has no kernel for
// the case (then BLAS computes it).
template <class T>
bool xsmm_call(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b,
               int64_t ldb, T* c, int64_t ldc, T beta) {
  if (tb || n < kMinColumns || (beta != T(0) && beta != T(1))) return false;
  const T one = 1;
  // column-major: C^T (n x m) = B' (n x k) A' (k x m), B' = the row-major B
  // as stored, A' = the row-major A (transposed if ta)
  const int flags = (beta == T(0) ? LIBXSMM_GEMM_FLAG_BETA_0 : 0) | (ta ? LIBXSMM_GEMM_FLAG_TRANS_B : 0);
  const Kernel<T> f = dispatch(libxsmm_blasint(n), libxsmm_blasint(m), libxsmm_blasint(k),
                               libxsmm_blasint(ldb), libxsmm_blasint(lda), libxsmm_blasint(ldc), &one, &beta,
                               flags);
  if (!f) return false;
  f(b, a, c);
  if (kHasAvx) zero_upper();
  return true;
}

// ---- mid-size and large float products: oneDNN's sgemm
//
// Measured one against the other at 1 thread on this project's products
// (`build/bench-models gemm` prints the table; 2-vCPU AMD EPYC, AVX-512):
// oneDNN's JIT sgemm is 1.05-1.26x OpenBLAS's from ~1 M multiply-adds up
// (the trigger-word GRU projections and their gradients, the LSTM layer's
// gates, square products) and about even from 0.5 M (0.96-1.02x on a GRU
// step's 16 x 384 x 128); OpenBLAS stays ahead on gemv-like products (a few
// rows or columns), below that size and on narrow products with a
// transposed B (below). Debian's oneDNN runs its threads on OpenMP: each
// calling thread's OpenMP team is held at one thread (TBB owns the cores;
// omp_set_num_threads is per thread), so a call is sequential code chosen
// by the shapes and the CPU alone, the same bits whichever thread runs it.
// No double kernel: doubles go to OpenBLAS.
constexpr double kDnnlMacs = 5e5;
constexpr int64_t kDnnlMinRows = 8, kDnnlMinColumns = 32;
// d h = d z U^T-like products (a transposed B of fewer than 256 columns):
// oneDNN 0.85-0.9x at 32 and 100 rows, so OpenBLAS's (a recurrent layer's
// U^T is mostly a plain product on a transposed copy: ops/linalg.cpp).
constexpr int64_t kDnnlMinColumnsTransposed = 256;

template <class T>
bool dnnl_call(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b,
               int64_t ldb, T* c, int64_t ldc, T beta) {
#if SEQGRAPH_HAVE_DNNL
  if constexpr (std::is_same_v<T, float>) {
    thread_local const bool one_thread = [] {
      omp_set_num_threads(1);
      return true;
    }();
    (void)one_thread;
    return dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc) ==
           dnnl_success;
  }
#endif
  (void)ta, (void)tb, (void)m, (void)n, (void)k, (void)a, (void)lda, (void)b, (void)ldb, (void)c, (void)ldc,
      (void)beta;
  return false;
}

// Which library a product goes to: by size, on the path SEQGRAPH_GEMM chose.
template <class T>
void call(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b,
          int64_t ldb, T* c, int64_t ldc, T beta) {
  const double macs = double(m) * double(n) * double(k);
  if (kUseXsmm && (n <= kNarrowColumns || macs <= kSmallMacs) &&
      xsmm_call(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, beta))
    return;
  if (kPath != Path::openblas && m >= kDnnlMinRows && n >= kDnnlMinColumns && macs >= kDnnlMacs &&
      (!tb || n >= kDnnlMinColumnsTransposed) && dnnl_call(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, beta))
    return;
  blas_call(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, beta);
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

bool gemm_with(Library lib, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
               const float* b, int64_t ldb, float* c, int64_t ldc, float beta) {
  if (degenerate(m, n, k, c, ldc, beta)) return true;
  switch (lib) {
  case Library::openblas: blas_call(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, beta); return true;
  case Library::dnnl: return dnnl_call(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, beta);
  case Library::xsmm:
    libxsmm_init(); // idempotent
    return xsmm_call(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, beta);
  }
  return false;
}

const char* gemm_path() {
  switch (kPath) {
  case Path::openblas: return "OpenBLAS for every product (SEQGRAPH_GEMM=openblas)";
  case Path::dnnl: return "oneDNN for float products of >= 0.5 M multiply-adds, OpenBLAS for the rest";
  case Path::xsmm:
    return kHaveDnnl ? "libxsmm for small products, oneDNN for the other float products of >= 0.5 M "
                       "multiply-adds, OpenBLAS for the rest (SEQGRAPH_GEMM=xsmm)"
                     : "libxsmm for small products, OpenBLAS for the rest (SEQGRAPH_GEMM=xsmm)";
  }
  return "";
}

bool threaded() { return openblas_get_num_threads() > 1; }

bool takes_turns() { return must_take_turns(); }

} // namespace sg::blas
