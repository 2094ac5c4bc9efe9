// The compiled plan and the TBB executor: bitwise-identical results for 1, 2
// and 8 threads, buffer reuse by liveness that keeps results right, no heap
// allocation in a steady-state run, and clear errors on misuse.
#include "autodiff/autodiff.hpp"
#include "graph/plan.hpp"
#include "graph/random.hpp"
#include "ops/blas.hpp"
#include "ops/ops.hpp"

#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <new>

using namespace sg;

// Counts global operator new calls while `g_counting` is set. Every variant is
// replaced (plain and array, nothrow, aligned), each over malloc / aligned_alloc
// with its matching delete over free, so that no memory from a library's own
// new reaches a replaced delete (a sanitizer build checks the pairs).
namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_news{0};

void* counted_alloc(std::size_t n, std::size_t align = 0) noexcept {
  if (g_counting.load(std::memory_order_relaxed)) g_news.fetch_add(1, std::memory_order_relaxed);
  if (n == 0) n = 1;
  if (align <= alignof(std::max_align_t)) return std::malloc(n);
  return std::aligned_alloc(align, (n + align - 1) / align * align);
}
void* counted_or_throw(std::size_t n, std::size_t align = 0) {
  if (void* p = counted_alloc(n, align)) return p;
  throw std::bad_alloc();
}
} // namespace
void* operator new(std::size_t n) { return counted_or_throw(n); }
void* operator new[](std::size_t n) { return counted_or_throw(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n); }
void* operator new(std::size_t n, std::align_val_t a) { return counted_or_throw(n, std::size_t(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_or_throw(n, std::size_t(a)); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_alloc(n, std::size_t(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_alloc(n, std::size_t(a));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

Tensor random_tensor(Shape s, uint64_t stream, DType d = DType::f32) {
  Tensor t(std::move(s), d);
  rng::Stream r{42, stream};
  for (int64_t i = 0; i < t.size(); ++i) t.set(i, r.normal());
  return t;
}

// Eight independent branches of matmul/tanh chains over a shared input,
// joined by sums, plus the gradients w.r.t. every branch's weights.
struct Wide {
  Graph g;
  std::vector<Value> outs;
  Wide() {
    Value x = input(g, "x", {64, 32});
    std::vector<Value> ws, heads;
    for (int b = 0; b < 8; ++b) {
      auto s = g.scope("branch" + std::to_string(b));
      Value w = input(g, "W", {64, 64});
      ws.push_back(w);
      Value h = x;
      for (int k = 0; k < 3; ++k) h = tanh(matmul(w, h));
      heads.push_back(softmax(h, 0));
    }
    Value loss = sum(add_n(heads) * add_n(heads));
    outs = gradients(loss, ws);
    outs.push_back(loss);
  }
  std::vector<Tensor> run(int threads, DType d) {
    set_threads(threads);
    ParamStore ps;
    Plan p(g, ps, outs, {}, {d});
    CHECK(p.stats().heavy >= 1); // more threads: the parallel path
    p.feed("x", random_tensor({64, 32}, 1, d));
    for (int b = 0; b < 8; ++b)
      p.feed("branch" + std::to_string(b) + "/W", random_tensor({64, 64}, 10 + uint64_t(b), d));
    std::vector<Tensor> r;
    for (int rep = 0; rep < 3; ++rep) p.run(); // runs repeat identically
    for (auto& o : outs) r.push_back(p.fetch(o));
    set_threads(1);
    return r;
  }
};

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

} // namespace

TEST_CASE("Executor.BitwiseIdenticalAcrossThreadCounts") {
  Wide w;
  for (DType d : {DType::f32, DType::f64}) {
    auto r1 = w.run(1, d), r2 = w.run(2, d), r8 = w.run(8, d);
    REQUIRE(r1.size() == r2.size());
    for (size_t i = 0; i < r1.size(); ++i) {
      INFO("output ", i, " ", to_string(d));
      CHECK(bitwise_equal(r1[i], r2[i]));
      CHECK(bitwise_equal(r1[i], r8[i]));
    }
    CHECK(std::abs(r1.back().at(0)) > 0); // not trivially zero
  }
}

TEST_CASE("Executor.BufferReuseKeepsResultsRight") {
  // A long chain: intermediates die one after another and share buffers.
  Graph g;
  Value x = input(g, "x", {256});
  Value h = x;
  std::vector<Value> taps;
  for (int i = 0; i < 50; ++i) {
    h = tanh(h * 1.01 + 0.01);
    if (i % 10 == 9) taps.push_back(h);
  }
  Value y = add_n(taps);
  ParamStore ps;
  Plan p(g, ps, std::vector<Value>{y}, {}, {DType::f64});
  CHECK(p.stats().arena_bytes < p.stats().naive_bytes / 4);
  Tensor xv = random_tensor({256}, 7, DType::f64);
  p.feed("x", xv);
  p.run();
  Tensor got = p.fetch(y);
  for (int64_t i = 0; i < 256; ++i) {
    double v = xv.at(i), acc = 0;
    for (int k = 0; k < 50; ++k) {
      v = std::tanh(v * 1.01 + 0.01);
      if (k % 10 == 9) acc += v;
    }
    CHECK(got.at(i) == doctest::Approx(acc).epsilon(1e-13));
  }
}

TEST_CASE("Executor.ReshapeSharesItsInputsBuffer") {
  // A reshape moves no data: it reads its input's buffer, which must then live
  // until the reshape's own readers have run, however late (here after a long
  // chain whose intermediates die and are reused), at any thread count.
  Graph g;
  Value x = input(g, "x", {64});
  Value w = param(g, "w", {64}, Initializer::constant(0.5));
  Value a = tanh(x);
  Value r = reshape(reshape(a, {8, 8}), {4, 16}); // a reshape of a reshape: the same buffer
  Value rx = reshape(x, {8, 8});                  // of an input
  Value rw = reshape(w, {8, 8});                  // of a parameter: copied
  Value h = x;
  for (int i = 0; i < 30; ++i) h = tanh(h * 1.01 + 0.01); // intermediates die and are reused
  Value late = sum(r * 2.0) + sum(rx * rw) + sum(h);      // the reshapes' readers run last
  Value kept = reshape(a, {64, 1});                       // fetched: a buffer of its own
  ParamStore ps;
  Tensor xv = random_tensor({64}, 3, DType::f64);
  std::vector<Tensor> got;
  for (int threads : {1, 2}) {
    set_threads(threads);
    Plan p(g, ps, std::vector<Value>{late, kept}, {}, {DType::f64});
    CHECK(p.stats().shared_reshapes == 3); // r's two reshapes and rx; not rw, not kept
    p.feed("x", xv);
    p.run();
    got.push_back(p.fetch(late));
    const Tensor k = p.fetch(kept);
    for (int64_t i = 0; i < 64; ++i) CHECK(k.at(i) == doctest::Approx(std::tanh(xv.at(i))).epsilon(1e-14));
  }
  set_threads(1);
  double want = 0, hv = 0;
  for (int64_t i = 0; i < 64; ++i) {
    const double v = xv.at(i);
    double c = v;
    for (int k = 0; k < 30; ++k) c = std::tanh(c * 1.01 + 0.01);
    want += 2 * std::tanh(v) + v * 0.5;
    hv += c;
  }
  CHECK(got[0].at(0) == doctest::Approx(want + hv).epsilon(1e-12));
  CHECK(bitwise_equal(got[0], got[1]));
}

TEST_CASE("Executor.AValueWithManyReadersIsReusedAfterAllOfThem") {
  // A (16, 640) value `a` read by 16 nodes that wait for a long scalar chain,
  // while a long chain of values of a's size runs beside them and takes a's
  // buffer once its readers are done: one join step guards the buffer (not
  // 16 edges for every later tenant), and every reader still reads `a`
  // before it is overwritten, at any thread count. The chain is built first,
  // so that a one-thread run reaches it before the readers; the values are
  // big enough (10,240 elements) for steps worth a task, so that more threads
  // run the scheduler's parallel path (a small plan runs straight through).
  Graph g;
  Value x = input(g, "x", {16, 640});
  Value h = x;
  for (int i = 0; i < 60; ++i) h = tanh(h * 1.01 + 0.01);
  Value a = tanh(x * 0.5);
  Value c = sum(x);
  for (int i = 0; i < 30; ++i) c = tanh(c * 0.9);
  std::vector<Value> rows;
  for (int t = 0; t < 16; ++t) rows.push_back(take(a * (c + double(t)), 0, t));
  Value y = add_n(rows) + sum(h, {0});
  ParamStore ps;
  Tensor xv = random_tensor({16, 640}, 11, DType::f64);
  double cv = 0;
  for (int64_t i = 0; i < xv.size(); ++i) cv += xv.at(i);
  for (int i = 0; i < 30; ++i) cv = std::tanh(cv * 0.9);
  std::vector<double> want(640, 0.0);
  for (int64_t col = 0; col < 640; ++col)
    for (int64_t t = 0; t < 16; ++t) {
      double v = xv.at(t * 640 + col);
      want[size_t(col)] += std::tanh(v * 0.5) * (cv + double(t));
      for (int i = 0; i < 60; ++i) v = std::tanh(v * 1.01 + 0.01);
      want[size_t(col)] += v;
    }
  for (int threads : {1, 2, 4}) {
    set_threads(threads);
    Plan p(g, ps, std::vector<Value>{y}, {}, {DType::f64});
    CHECK(p.stats().joins >= 1);
    CHECK(p.stats().heavy >= 1);
    for (int run = 0; run < 20; ++run) {
      p.feed("x", xv);
      p.run();
      const Tensor got = p.fetch(y);
      for (int64_t col = 0; col < 640; ++col)
        CHECK(got.at(col) == doctest::Approx(want[size_t(col)]).epsilon(1e-12));
    }
  }
  set_threads(1);
}

TEST_CASE("Executor.NoAllocationInSteadyState") {
  Wide w;
  for (int threads : {1, 2}) {
    set_threads(threads);
    ParamStore ps;
    Plan p(w.g, ps, w.outs, {}, {DType::f32});
    p.feed("x", random_tensor({64, 32}, 1));
    for (int b = 0; b < 8; ++b) p.feed("branch" + std::to_string(b) + "/W", random_tensor({64, 64}, 9));
    p.run(); // warm-up: TBB starts its workers
    float* xin = p.input_data<float>(w.g.at("x"));
    g_news = 0;
    g_counting = true;
    for (int rep = 0; rep < 5; ++rep) {
      xin[0] = float(rep); // feed in place
      p.run();
    }
    g_counting = false;
    INFO("threads ", threads);
    CHECK(g_news.load() == 0);
  }
  set_threads(1);
}

TEST_CASE("Executor.Errors") {
  Graph g;
  Value x = input(g, "x", {2, 3});
  Value y = tanh(x);
  Value z = exp(x);
  ParamStore ps;
  Plan p(g, ps, std::vector<Value>{y});
  CHECK_THROWS_WITH_AS(p.run(), doctest::Contains("input 'x' (2, 3) was not fed"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(p.feed("x", Tensor({3, 2})), doctest::Contains("expects shape (2, 3)"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(p.feed("nope", Tensor({3, 2})), doctest::Contains("no node named 'nope'"),
                       std::out_of_range);
  p.feed("x", Tensor({2, 3}));
  p.run();
  CHECK_THROWS_WITH_AS(p.fetch(z), doctest::Contains("not requested"), std::invalid_argument);
  CHECK(p.fetch(y).values() == std::vector<double>(6, 0.0));
  CHECK_THROWS_AS(set_threads(0), std::invalid_argument);
}

TEST_CASE("Executor.ParametersLiveInTheStore") {
  Graph g;
  Value w = param(g, "w", {3}, Initializer::constant(2.0));
  Value x = input(g, "x", {3});
  Value y = w * x;
  ParamStore ps;
  Plan p(g, ps, std::vector<Value>{y}, {}, {DType::f64});
  REQUIRE(ps.contains("w"));
  CHECK(ps.at("w").values() == std::vector<double>{2, 2, 2});
  p.feed("x", Tensor::from({3}, {1, 2, 3}, DType::f64));
  p.run();
  CHECK(p.fetch(y).values() == std::vector<double>{2, 4, 6});
  ps.at("w").set(1, 10); // in-place edits are seen
  p.run();
  CHECK(p.fetch(y).values() == std::vector<double>{2, 20, 6});
  ps.set("w", Tensor::from({3}, {-1, -1, -1}, DType::f64)); // replaced tensors are re-bound
  p.run();
  CHECK(p.fetch(y).values() == std::vector<double>{-1, -2, -3});
  ps.set("w", Tensor::from({4}, {1, 1, 1, 1}, DType::f64));
  CHECK_THROWS_WITH_AS(p.run(), doctest::Contains("parameter 'w' was replaced"), std::runtime_error);
  ParamStore other;
  other.set("w", Tensor({3}, DType::f32));
  CHECK_THROWS_WITH_AS(Plan(g, other, std::vector<Value>{y}, {}, {DType::f64}),
                       doctest::Contains("parameter 'w' is held as float32"), std::invalid_argument);
}

TEST_CASE("Executor.BlasRunsNoThreadsOfItsOwn") {
  // TBB owns the cores: OpenBLAS is held at one thread. The pthread build is
  // linked (meson.build), so gemm calls need not take turns.
  CHECK_FALSE(blas::threaded());
  CHECK_FALSE(blas::takes_turns());
}

TEST_CASE("Blas.LargeProductsAreCutIntoBlocks") {
  // The cut depends on the shapes only.
  CHECK(blas::blocks_of(32, 32, 32).count == 1);
  const blas::Blocks lstm = blas::blocks_of(64, 1024, 256); // an LSTM step's h U
  CHECK(lstm.count == 4);
  CHECK(lstm.width == 256);
  CHECK(lstm.along_n);
  const blas::Blocks tall = blas::blocks_of(3200, 128, 1024); // dZ W^T over 50 steps
  CHECK(tall.count == 8);
  CHECK(tall.width == 400);
  CHECK_FALSE(tall.along_n);
  // Every transpose combination, a last block narrower than the others, and
  // beta: the blocks together give op(A) op(B) + beta C (reference in double).
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const int64_t m = 300, n = 517, k = 130;
      REQUIRE(blas::blocks_of(m, n, k).count > 1);
      std::vector<float> a(size_t(m * k)), b(size_t(k * n)), c(size_t(m * n));
      for (size_t i = 0; i < a.size(); ++i) a[i] = float(std::sin(0.37 * double(i)));
      for (size_t i = 0; i < b.size(); ++i) b[i] = float(std::cos(0.11 * double(i)));
      for (size_t i = 0; i < c.size(); ++i) c[i] = float(i % 7) - 3.0f;
      const std::vector<float> c0 = c;
      const int64_t lda = ta ? m : k, ldb = tb ? k : n;
      blas::gemm(ta, tb, m, n, k, a.data(), lda, b.data(), ldb, c.data(), n, 0.5f);
      double worst = 0;
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double want = 0.5 * c0[size_t(i * n + j)];
          for (int64_t p = 0; p < k; ++p)
            want += double(ta ? a[size_t(p * lda + i)] : a[size_t(i * lda + p)]) *
                    double(tb ? b[size_t(j * ldb + p)] : b[size_t(p * ldb + j)]);
          worst = std::max(worst, std::abs(want - double(c[size_t(i * n + j)])));
        }
      INFO("ta ", ta, " tb ", tb);
      CHECK(worst < 1e-4);
    }
}

TEST_CASE("Blas.SmallProductsEveryCaseAgainstAReference") {
  // With SEQGRAPH_GEMM=xsmm (CI runs the suite so once) small products go to
  // libxsmm's kernels (a transposed B, one column or another beta to BLAS),
  // else all to BLAS; either way: every transpose
  // combination, beta 0, 1 and 0.5, row strides wider than the rows (a block
  // of a larger matrix), degenerate sizes, float and double, against a
  // reference in double.
  auto check = [](auto zero, int64_t m, int64_t n, int64_t k, bool ta, bool tb, double beta) {
    using T = decltype(zero);
    const int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
    std::vector<T> a(size_t((ta ? k : m) * lda)), b(size_t((tb ? n : k) * ldb)), c(size_t(m * ldc));
    for (size_t i = 0; i < a.size(); ++i) a[i] = T(std::sin(0.37 * double(i) + 0.1));
    for (size_t i = 0; i < b.size(); ++i) b[i] = T(std::cos(0.11 * double(i)));
    for (size_t i = 0; i < c.size(); ++i) c[i] = T(double(i % 7) - 3.0);
    const std::vector<T> c0 = c;
    blas::gemm(ta, tb, m, n, k, a.data(), lda, b.data(), ldb, c.data(), ldc, T(beta));
    double worst = 0;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < ldc; ++j) {
        const size_t at = size_t(i * ldc + j);
        if (j >= n) { // outside C: untouched
          worst = std::max(worst, std::abs(double(c[at]) - double(c0[at])));
          continue;
        }
        double want = beta * double(c0[at]);
        for (int64_t p = 0; p < k; ++p)
          want += double(ta ? a[size_t(p * lda + i)] : a[size_t(i * lda + p)]) *
                  double(tb ? b[size_t(j * ldb + p)] : b[size_t(p * ldb + j)]);
        worst = std::max(worst, std::abs(want - double(c[at])));
      }
    return worst;
  };
  const int64_t shapes[][3] = {{100, 256, 64}, {64, 11, 100}, {30, 1, 64}, {1, 64, 30}, {3, 5, 7},
                               {17, 10, 1},    {9, 33, 65}};
  for (const auto& s : shapes)
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (double beta : {0.0, 1.0, 0.5}) {
          INFO("m ", s[0], " n ", s[1], " k ", s[2], " ta ", ta, " tb ", tb, " beta ", beta);
          CHECK(check(0.0f, s[0], s[1], s[2], ta, tb, beta) < 1e-4);
          CHECK(check(0.0, s[0], s[1], s[2], ta, tb, beta) < 1e-12);
        }
}

TEST_CASE("Blas.EveryLibraryAgainstAReference") {
  // Each library on its own (blas::gemm_with, what bench-models gemm times):
  // every transpose combination, beta 0, 1 and 0.5, row strides wider than
  // the rows (the convolution's taps read rows stride * Ci apart), against
  // a reference in double. oneDNN is built in wherever libdnnl-dev is
  // (meson's dnnl feature): then it must compute every case it is given.
  auto check = [](blas::Library lib, int64_t m, int64_t n, int64_t k, bool ta, bool tb, float beta) {
    const int64_t lda = (ta ? m : k) + 5, ldb = (tb ? k : n) + 3, ldc = n + 1;
    std::vector<float> a(size_t((ta ? k : m) * lda)), b(size_t((tb ? n : k) * ldb)), c(size_t(m * ldc));
    for (size_t i = 0; i < a.size(); ++i) a[i] = float(std::sin(0.29 * double(i)));
    for (size_t i = 0; i < b.size(); ++i) b[i] = float(std::cos(0.13 * double(i) + 0.2));
    for (size_t i = 0; i < c.size(); ++i) c[i] = float(double(i % 5) - 2.0);
    const std::vector<float> c0 = c;
    if (!blas::gemm_with(lib, ta, tb, m, n, k, a.data(), lda, b.data(), ldb, c.data(), ldc, beta)) return -1.0;
    double worst = 0;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < ldc; ++j) {
        const size_t at = size_t(i * ldc + j);
        double want = double(c0[at]);
        if (j < n) {
          want *= beta;
          for (int64_t p = 0; p < k; ++p)
            want += double(ta ? a[size_t(p * lda + i)] : a[size_t(i * lda + p)]) *
                    double(tb ? b[size_t(j * ldb + p)] : b[size_t(p * ldb + j)]);
        }
        worst = std::max(worst, std::abs(want - double(c[at])) / (1.0 + std::abs(want)));
      }
    return worst;
  };
  const int64_t shapes[][3] = {{16, 384, 128}, {130, 200, 404}, {9, 33, 65}, {1, 64, 30}};
  int dnnl_cases = 0;
  for (const auto& s : shapes)
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (float beta : {0.0f, 1.0f, 0.5f}) {
          INFO("m ", s[0], " n ", s[1], " k ", s[2], " ta ", ta, " tb ", tb, " beta ", beta);
          CHECK(check(blas::Library::openblas, s[0], s[1], s[2], ta, tb, beta) < 1e-5);
          const double d = check(blas::Library::dnnl, s[0], s[1], s[2], ta, tb, beta);
#if SEQGRAPH_HAVE_DNNL
          CHECK(d >= 0);
          ++dnnl_cases;
#endif
          CHECK(d < 1e-5);
          CHECK(check(blas::Library::xsmm, s[0], s[1], s[2], ta, tb, beta) < 1e-5); // -1: no kernel
        }
  MESSAGE(fmt::format("oneDNN checked on {} cases; this process: {}", dnnl_cases, blas::gemm_path()));
}

TEST_CASE("Executor.BlockedMatmulIsTheSameAtAnyThreadCount") {
  // A product cut into blocks that run as tasks: the same bits at 1, 2, 8 threads.
  Graph g;
  Value a = input(g, "a", {64, 256}), b = input(g, "b", {256, 1024});
  Value y = matmul(a, b);
  ParamStore ps;
  Plan p(g, ps, std::vector<Value>{y});
  p.feed("a", random_tensor({64, 256}, 8));
  p.feed("b", random_tensor({256, 1024}, 9));
  set_threads(1);
  p.run();
  const Tensor one = p.fetch(y);
  for (int threads : {2, 8}) {
    set_threads(threads);
    for (int rep = 0; rep < 20; ++rep) {
      p.run();
      CHECK(bitwise_equal(one, p.fetch(y)));
    }
  }
  set_threads(1);
}

TEST_CASE("Executor.KernelErrorLeavesThePlanUsable") {
  // A run-time error (an index out of range) surfaces as an exception, at
  // any thread count, and the next run with good data works.
  Graph g;
  Value table = input(g, "table", {4, 3});
  Value idx = input(g, "idx", {2});
  Value y = sum(gather(table, idx) * 2.0) + sum(tanh(table));
  for (int threads : {1, 2}) {
    set_threads(threads);
    ParamStore ps;
    Plan p(g, ps, std::vector<Value>{y}, {}, {DType::f64});
    p.feed("table", random_tensor({4, 3}, 3, DType::f64));
    p.feed("idx", Tensor::from({2}, {1, 7}, DType::f64));
    CHECK_THROWS_WITH_AS(p.run(), doctest::Contains("out of range"), std::out_of_range);
    p.feed("idx", Tensor::from({2}, {1, 3}, DType::f64));
    p.run();
    CHECK(std::isfinite(p.fetch(y).at(0)));
    CHECK(p.runs() == 1); // the failed run does not count
  }
  set_threads(1);
}

TEST_CASE("Executor.ConcurrentMatmulsAreDeterministic") {
  // Independent matmuls big enough to need BLAS's work buffers run on both
  // threads at once; every run must give the 1-thread bits. (Debian's
  // serial OpenBLAS is not safe to call concurrently: linked instead of the
  // pthread build, without ops/blas.cpp's lock, this fails within a few
  // hundred runs.)
  Graph g;
  Value x = input(g, "x", {96, 160});
  std::vector<Value> outs;
  for (int b = 0; b < 6; ++b) {
    auto s = g.scope("b" + std::to_string(b));
    Value w = input(g, "W", {160, 96});
    Value h = matmul(x, w);
    for (int k = 0; k < 3; ++k) h = tanh(matmul(matmul(h, x), w) * 0.01);
    outs.push_back(h);
  }
  ParamStore ps;
  Plan p(g, ps, outs);
  p.feed("x", random_tensor({96, 160}, 1));
  for (int b = 0; b < 6; ++b)
    p.feed("b" + std::to_string(b) + "/W", random_tensor({160, 96}, 20 + uint64_t(b)));
  set_threads(1);
  p.run();
  std::vector<Tensor> one;
  for (auto& o : outs) one.push_back(p.fetch(o));
  set_threads(2);
  bool all_equal = true;
  for (int rep = 0; rep < 300 && all_equal; ++rep) {
    p.run();
    for (size_t i = 0; i < outs.size(); ++i) all_equal = all_equal && bitwise_equal(one[i], p.fetch(outs[i]));
  }
  set_threads(1);
  CHECK(all_equal);
}
