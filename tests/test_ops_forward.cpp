// Forward values of the ops against numbers computed here by hand loops (not
// by our kernels), and the errors they give: shape errors at build time,
// index errors at run time.
#include "autodiff/autodiff.hpp"
#include "graph/plan.hpp"
#include "ops/ops.hpp"
#include "tests/helpers.hpp"

#include <cmath>
#include <doctest/doctest.h>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>

using namespace sg;
using namespace sg::test;

namespace {

// Deterministic, distinct, non-integer values: v[i] = 0.1 * (i + 1) * (-1)^i + offset.
Tensor seq(Shape s, double offset = 0) {
  Tensor t(std::move(s), DType::f64);
  for (int64_t i = 0; i < t.size(); ++i) t.set(i, offset + 0.1 * double(i + 1) * (i % 2 ? -1 : 1));
  return t;
}

// The message of the ShapeError thrown by `f` (fails the test if none).
template <class F> std::string shape_error(F f) { return error_of<ShapeError>(f); }

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Element (i, j) of a 2-D tensor, or of its transpose.
double el(const Tensor& t, bool tr, int64_t i, int64_t j, int64_t batch = -1) {
  if (tr) std::swap(i, j);
  return batch < 0 ? t({i, j}) : t({batch, i, j});
}

} // namespace

// ---- elementwise

// The activations' gradient ops give, bit for bit in float32, what the
// composites they replace (tanh's and sigmoid's VJPs before) give: the
// training figures in the README did not move when they came in.
TEST_CASE("Elementwise.ActivationGradsAreTheirComposites") {
  Graph g;
  Value y = input(g, "y", {7, 9}), dy = input(g, "dy", {7, 9});
  Value t = tanh_grad(y, dy), t_ref = dy * (1.0 - square(y));
  Value s = sigmoid_grad(y, dy), s_ref = dy * y * (1.0 - y);
  Tensor yv({7, 9}, DType::f64), dyv({7, 9}, DType::f64);
  for (int64_t i = 0; i < yv.size(); ++i) {
    yv.set(i, std::sin(0.37 * double(i)) * 0.999);
    dyv.set(i, std::cos(1.3 * double(i)) * 3.1);
  }
  const std::map<std::string, Tensor> feeds{{"y", yv}, {"dy", dyv}};
  for (bool is_tanh : {true, false}) {
    const Value fused = is_tanh ? t : s, ref = is_tanh ? t_ref : s_ref;
    const Tensor a = eval(g, fused, feeds, DType::f32), b = eval(g, ref, feeds, DType::f32);
    const Tensor a64 = eval(g, fused, feeds);
    for (int64_t i = 0; i < a.size(); ++i) {
      CHECK(a.at(i) == b.at(i));
      const double yi = yv.at(i), gi = dyv.at(i);
      CHECK(a64.at(i) == doctest::Approx(is_tanh ? gi * (1 - yi * yi) : gi * yi * (1 - yi)).epsilon(1e-14));
    }
  }
  CHECK(contains(shape_error([&] { tanh_grad(y, input(g, "b", {7, 1})); }), "one shape, got (7, 9) and (7, 1)"));
}

// ---- linalg

TEST_CASE("Linalg.MatMul") {
  const int64_t m = 3, k = 4, n = 5;
  for (int flags = 0; flags < 4; ++flags) {
    const bool ta = flags & 1, tb = flags & 2;
    CAPTURE(ta);
    CAPTURE(tb);
    Graph g;
    Shape sa = ta ? Shape{k, m} : Shape{m, k};
    Shape sb = tb ? Shape{n, k} : Shape{k, n};
    Value y = matmul(input(g, "a", sa), input(g, "b", sb), ta, tb);
    CHECK(y.shape() == Shape{m, n});
    Tensor a = seq(sa), b = seq(sb, 0.3);
    Tensor want({m, n}, DType::f64);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < k; ++p) acc += el(a, ta, i, p) * el(b, tb, p, j);
        want.set(i * n + j, acc);
      }
    check_close(eval(g, y, {{"a", a}, {"b", b}}), want);
    check_close(eval(g, y, {{"a", a}, {"b", b}}, DType::f32), want, 1e-5);
  }
}

TEST_CASE("Linalg.MatMulVector") {
  // (n_a, n_a) x (n_a, 1): the course's column vectors
  Graph g;
  Value y = matmul(input(g, "W", {2, 2}), input(g, "x", {2, 1}));
  Tensor out = eval(g, y, {{"W", vals({2, 2}, {1, 2, 3, 4})}, {"x", vals({2, 1}, {5, 6})}});
  check_close(out, vals({2, 1}, {17, 39}));
}

TEST_CASE("Linalg.BatchMatMul") {
  const int64_t B = 2, m = 3, k = 4, n = 2;
  for (int flags = 0; flags < 4; ++flags) {
    const bool ta = flags & 1, tb = flags & 2;
    CAPTURE(ta);
    CAPTURE(tb);
    Graph g;
    Shape sa = ta ? Shape{B, k, m} : Shape{B, m, k};
    Shape sb = tb ? Shape{B, n, k} : Shape{B, k, n};
    Value y = batch_matmul(input(g, "a", sa), input(g, "b", sb), ta, tb);
    CHECK(y.shape() == Shape{B, m, n});
    Tensor a = seq(sa), b = seq(sb, -0.2);
    Tensor want({B, m, n}, DType::f64);
    for (int64_t q = 0; q < B; ++q)
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double acc = 0;
          for (int64_t p = 0; p < k; ++p) acc += el(a, ta, i, p, q) * el(b, tb, p, j, q);
          want.set((q * m + i) * n + j, acc);
        }
    check_close(eval(g, y, {{"a", a}, {"b", b}}), want);
  }
}

TEST_CASE("Linalg.ShapeErrors") {
  Graph g;
  Value a = input(g, "a", {2, 3});
  Value b = input(g, "b", {4, 5});
  std::string e = shape_error([&] { matmul(a, b).named("logits"); });
  // The node name is auto-generated (the error comes before .named).
  CHECK(contains(e, "'matmul'"));
  CHECK(contains(e, "(2, 3)"));
  CHECK(contains(e, "(4, 5)"));
  CHECK(contains(e, "inner dims"));
  CHECK(contains(e, "tests/test_ops_forward.cpp"));
  {
    auto sc = g.scope("dense");
    e = shape_error([&] { matmul(a, b, true, false); });
    CHECK(contains(e, "dense/matmul"));
    CHECK(contains(e, "(transposed)"));
  }
  CHECK_NOTHROW(matmul(a, input(g, "c", {5, 3}), false, true));
  e = shape_error([&] { matmul(a, input(g, "v", {3})); });
  CHECK(contains(e, "rank-2"));
  e = shape_error([&] { batch_matmul(input(g, "p", {2, 3, 4}), input(g, "q", {3, 4, 5})); });
  CHECK(contains(e, "batch sizes differ"));
}

TEST_CASE("Linalg.CostMarksBigProductsHeavy") {
  Graph g;
  Value small = matmul(input(g, "a", {2, 2}), input(g, "b", {2, 2}));
  Value big = matmul(input(g, "c", {256, 256}), input(g, "d", {256, 256}));
  ParamStore ps;
  Plan p(g, ps, std::vector<Value>{small, big});
  CHECK(p.stats().heavy >= 1);
  CHECK(p.stats().heavy < 2);
}

// ---- shape

TEST_CASE("Shape.Transpose") {
  Graph g;
  Value y = transpose(input(g, "x", {2, 3}));
  CHECK(y.shape() == Shape{3, 2});
  check_close(eval(g, y, {{"x", vals({2, 3}, {1, 2, 3, 4, 5, 6})}}), vals({3, 2}, {1, 4, 2, 5, 3, 6}));
}

TEST_CASE("Shape.Permute") {
  Graph g;
  Tensor x = seq({2, 3, 4});
  Value y = permute(input(g, "x", {2, 3, 4}), {2, 0, 1});
  CHECK(y.shape() == Shape{4, 2, 3});
  Tensor want({4, 2, 3}, DType::f64);
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 3; ++j)
      for (int64_t l = 0; l < 4; ++l) want.set(want.offset({l, i, j}), x({i, j, l}));
  check_close(eval(g, y, {{"x", x}}), want);
  check_close(eval(g, y, {{"x", x}}, DType::f32), want, 1e-6);
  // negative entries count from the end
  Value z = permute(input(g, "x2", {2, 3, 4}), {-1, 0, 1});
  CHECK(z.node().attrs.get<PermuteAttrs>().perm == std::vector<int64_t>{2, 0, 1});
}

TEST_CASE("Shape.TransposeOfTheLastTwoAxesInTiles") {
  // the tiled path (ops/shape.cpp transpose_tiles): sizes that leave partial
  // 16 x 16 tiles on both sides, one matrix and a batch of them, float and double
  for (const Shape& s : {Shape{37, 21}, Shape{3, 19, 35}}) {
    CAPTURE(to_string(s));
    Graph g;
    const Tensor x = seq(s);
    std::vector<int64_t> perm(s.size());
    for (size_t i = 0; i < perm.size(); ++i) perm[i] = int64_t(i);
    std::swap(perm[perm.size() - 2], perm[perm.size() - 1]);
    Value y = permute(input(g, "x", s), perm);
    const int64_t B = s.size() == 3 ? s[0] : 1, R = s[s.size() - 2], C = s[s.size() - 1];
    Shape ws = s;
    std::swap(ws[ws.size() - 2], ws[ws.size() - 1]);
    Tensor want(ws, DType::f64);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < R; ++i)
        for (int64_t j = 0; j < C; ++j) want.set(b * R * C + j * R + i, x.at(b * R * C + i * C + j));
    check_close(eval(g, y, {{"x", x}}), want, 0);
    check_close(eval(g, y, {{"x", x}}, DType::f32), want.to(DType::f32), 0); // a copy: exact
  }
}

TEST_CASE("Shape.Reshape") {
  Graph g;
  Value x = input(g, "x", {2, 3, 2});
  Value y = reshape(x, {3, -1});
  CHECK(y.shape() == Shape{3, 4});
  CHECK(y.node().attrs.get<ShapeAttrs>().shape == Shape{3, 4}); // the -1 resolved in the node
  check_close(eval(g, y, {{"x", seq({2, 3, 2})}}), seq({3, 4}));
  CHECK(reshape(x, {12}).shape() == Shape{12});
  CHECK(reshape(x, {-1}).shape() == Shape{12});
}

TEST_CASE("Shape.BroadcastTo") {
  Graph g;
  Value y = broadcast_to(input(g, "x", {2, 1}), {2, 3});
  check_close(eval(g, y, {{"x", vals({2, 1}, {1, 2})}}), vals({2, 3}, {1, 1, 1, 2, 2, 2}));
  Value z = broadcast_to(input(g, "r", {1, 3}), {2, 3});
  check_close(eval(g, z, {{"r", vals({1, 3}, {1, 2, 3})}}), vals({2, 3}, {1, 2, 3, 1, 2, 3}));
  Value s = broadcast_to(input(g, "s", {}), {2, 2});
  check_close(eval(g, s, {{"s", vals({}, {7})}}), vals({2, 2}, {7, 7, 7, 7}));
  // middle axis of a rank-3 value
  Tensor m = seq({2, 1, 3});
  Value w = broadcast_to(input(g, "m", {2, 1, 3}), {2, 4, 3});
  Tensor want({2, 4, 3}, DType::f64);
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 4; ++j)
      for (int64_t l = 0; l < 3; ++l) want.set(want.offset({i, j, l}), m({i, 0, l}));
  check_close(eval(g, w, {{"m", m}}), want);
}

TEST_CASE("Shape.Concat") {
  Graph g;
  Value a = input(g, "a", {2, 2});
  Value b = input(g, "b", {2, 1});
  Value c = input(g, "c", {1, 2});
  Value y = concat({a, b}, 1);
  CHECK(y.shape() == Shape{2, 3});
  std::map<std::string, Tensor> f{{"a", vals({2, 2}, {1, 2, 3, 4})}, {"b", vals({2, 1}, {5, 6})},
                                  {"c", vals({1, 2}, {7, 8})}};
  check_close(eval(g, y, f), vals({2, 3}, {1, 2, 5, 3, 4, 6}));
  Value z = concat({a, c}, 0);
  check_close(eval(g, z, f), vals({3, 2}, {1, 2, 3, 4, 7, 8}));
  Value w = concat({a, b}, -1); // last axis
  CHECK(w.shape() == Shape{2, 3});
  // one-column inputs side by side (a sequence's per-step states): the strided path
  Value cols = concat({b, input(g, "d", {2, 1}), b}, 1);
  f.emplace("d", vals({2, 1}, {-1, -2}));
  check_close(eval(g, cols, f), vals({2, 3}, {5, -1, 5, 6, -2, 6}));
  Value mixed = concat({b, a}, 1); // a one-column input among wider ones: the general path
  check_close(eval(g, mixed, f), vals({2, 3}, {5, 1, 2, 6, 3, 4}));
}

TEST_CASE("Shape.Slice") {
  Graph g;
  Value x = input(g, "x", {3, 4});
  Tensor xv = seq({3, 4});
  Value y = slice(x, 1, 1, 3);
  CHECK(y.shape() == Shape{3, 2});
  Tensor want({3, 2}, DType::f64);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 2; ++j) want.set(i * 2 + j, xv({i, j + 1}));
  check_close(eval(g, y, {{"x", xv}}), want);
  Value r = slice(x, 0, 2, 3);
  check_close(eval(g, r, {{"x", xv}}), vals({1, 4}, {xv({2, 0}), xv({2, 1}), xv({2, 2}), xv({2, 3})}));
  Value last = slice(x, -1, -1, 4); // negative axis and begin
  CHECK(last.shape() == Shape{3, 1});
  check_close(eval(g, last, {{"x", xv}}), vals({3, 1}, {xv({0, 3}), xv({1, 3}), xv({2, 3})}));
}

TEST_CASE("Shape.Take") {
  Graph g;
  Value x = input(g, "x", {2, 3, 2});
  Tensor xv = seq({2, 3, 2});
  Value y = take(x, 1, 2);
  CHECK(y.shape() == Shape{2, 2});
  check_close(eval(g, y, {{"x", xv}}),
              vals({2, 2}, {xv({0, 2, 0}), xv({0, 2, 1}), xv({1, 2, 0}), xv({1, 2, 1})}));
  Value t = take(x, -1, -1); // last of the last axis
  CHECK(t.shape() == Shape{2, 3});
  Tensor want({2, 3}, DType::f64);
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 3; ++j) want.set(i * 3 + j, xv({i, j, 1}));
  check_close(eval(g, t, {{"x", xv}}), want);
}

TEST_CASE("Shape.Split") {
  Graph g;
  Value x = input(g, "x", {2, 5});
  Tensor xv = seq({2, 5});
  auto parts = split(x, 1, {2, 3});
  REQUIRE(parts.size() == 2);
  CHECK(parts[0].shape() == Shape{2, 2});
  CHECK(parts[1].shape() == Shape{2, 3});
  check_close(eval(g, parts[1], {{"x", xv}}),
              vals({2, 3}, {xv({0, 2}), xv({0, 3}), xv({0, 4}), xv({1, 2}), xv({1, 3}), xv({1, 4})}));
  std::string e = shape_error([&] { split(x, 1, {2, 2}); });
  CHECK(contains(e, "sum to 4"));
  CHECK(contains(e, "'x'"));
}

TEST_CASE("Shape.Stack") {
  Graph g;
  Value a = input(g, "a", {2});
  Value b = input(g, "b", {2});
  Value c = input(g, "c", {2});
  std::map<std::string, Tensor> f{{"a", vals({2}, {1, 2})}, {"b", vals({2}, {3, 4})}, {"c", vals({2}, {5, 6})}};
  Value y0 = stack({a, b, c}, 0);
  CHECK(y0.shape() == Shape{3, 2});
  check_close(eval(g, y0, f), vals({3, 2}, {1, 2, 3, 4, 5, 6}));
  Value y1 = stack({a, b, c}, 1);
  CHECK(y1.shape() == Shape{2, 3});
  check_close(eval(g, y1, f), vals({2, 3}, {1, 3, 5, 2, 4, 6}));
  Value y2 = stack({a, b, c}, -1); // new last axis
  CHECK(y2.shape() == Shape{2, 3});
  // rank 2 inputs, middle axis: (2, 2) x 2 -> (2, 2, 2)
  Value p = input(g, "p", {2, 2});
  Value q = input(g, "q", {2, 2});
  Value m = stack({p, q}, 1);
  check_close(eval(g, m, {{"p", vals({2, 2}, {1, 2, 3, 4})}, {"q", vals({2, 2}, {5, 6, 7, 8})}}),
              vals({2, 2, 2}, {1, 2, 5, 6, 3, 4, 7, 8}));
}

TEST_CASE("Shape.Repeat") {
  Graph g;
  Value x = input(g, "x", {2, 2});
  Tensor xv = vals({2, 2}, {1, 2, 3, 4});
  check_close(eval(g, repeat(x, 2, 0), {{"x", xv}}), vals({4, 2}, {1, 2, 1, 2, 3, 4, 3, 4}));
  check_close(eval(g, repeat(x, 3, 1), {{"x", xv}}), vals({2, 6}, {1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4}));
  // Keras RepeatVector: (m, 1, n) repeated along the time axis
  Value v = repeat(input(g, "v", {2, 1, 2}), 3, 1);
  CHECK(v.shape() == Shape{2, 3, 2});
  check_close(eval(g, v, {{"v", vals({2, 1, 2}, {1, 2, 3, 4})}}),
              vals({2, 3, 2}, {1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4}));
}

TEST_CASE("Shape.Gather") {
  Graph g;
  Value table = input(g, "table", {4, 3});
  Value idx = input(g, "idx", {2, 2});
  Value y = gather(table, idx);
  CHECK(y.shape() == Shape{2, 2, 3});
  Tensor tv = seq({4, 3});
  std::vector<double> ix{3, 0, 0, 2};
  Tensor want({2, 2, 3}, DType::f64);
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 3; ++j) want.set(i * 3 + j, tv({int64_t(ix[size_t(i)]), j}));
  check_close(eval(g, y, {{"table", tv}, {"idx", vals({2, 2}, ix)}}), want);
  check_close(eval(g, y, {{"table", tv}, {"idx", vals({2, 2}, ix)}}, DType::f32), want, 1e-6);
  // scalar index: one row
  Value r = gather(table, input(g, "i", {}));
  CHECK(r.shape() == Shape{3});
  check_close(eval(g, r, {{"table", tv}, {"i", vals({}, {1})}}), vals({3}, {tv({1, 0}), tv({1, 1}), tv({1, 2})}));
}

TEST_CASE("Shape.GatherOutOfRange") {
  Graph g;
  Value y = gather(input(g, "table", {4, 3}), input(g, "idx", {3}));
  const std::pair<double, const char*> bad_values[] = {{4.0, "index 4 "}, {-1.0, "index -1 "},
                                                      {1.5, "index 1.5 "}};
  for (auto [bad, text] : bad_values) {
    CAPTURE(bad);
    ParamStore ps;
    Plan p(g, ps, std::vector<Value>{y}, {}, {DType::f64});
    p.feed("table", seq({4, 3}));
    p.feed("idx", vals({3}, {0, bad, 1}));
    std::string msg;
    try {
      p.run();
    } catch (const std::out_of_range& e) {
      msg = e.what();
    }
    CHECK(contains(msg, "gather"));
    CHECK(contains(msg, text));
    CHECK(contains(msg, "[0, 4)"));
  }
}

TEST_CASE("Shape.GatherGrad") {
  // gather's gradient w.r.t. the table: rows of dy scatter-added, repeated
  // indices accumulating (the GatherGrad node autodiff emits)
  Graph g;
  Value table = input(g, "table", {3, 2});
  Value idx = input(g, "idx", {4});
  Value y = gather(table, idx);
  Value dy = input(g, "dy", {4, 2});
  Value dtable = gradients({y}, {dy}, {table})[0];
  CHECK(dtable.node().op == Op::GatherGrad);
  CHECK(dtable.shape() == Shape{3, 2});
  Tensor dv = seq({4, 2});
  std::vector<double> ix{2, 0, 2, 2};
  Tensor want({3, 2}, DType::f64);
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 2; ++j) {
      const int64_t r = int64_t(ix[size_t(i)]);
      want.set(r * 2 + j, want.at(r * 2 + j) + dv({i, j}));
    }
  check_close(eval(g, dtable, {{"table", seq({3, 2})}, {"idx", vals({4}, ix)}, {"dy", dv}}), want);
}

TEST_CASE("Shape.OneHot") {
  Graph g;
  Value idx = input(g, "idx", {3});
  Tensor iv = vals({3}, {2, 0, 1});
  Value last = one_hot(idx, 4);
  CHECK(last.shape() == Shape{3, 4});
  check_close(eval(g, last, {{"idx", iv}}), vals({3, 4}, {0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0}));
  Value first = one_hot(idx, 4, 0); // the course's column vectors: (depth, m)
  CHECK(first.shape() == Shape{4, 3});
  check_close(eval(g, first, {{"idx", iv}}), vals({4, 3}, {0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0}));
  // rank-2 indices, new middle axis
  Value mid = one_hot(input(g, "m", {2, 2}), 3, 1);
  CHECK(mid.shape() == Shape{2, 3, 2});
  Tensor got = eval(g, mid, {{"m", vals({2, 2}, {0, 2, 1, 1})}});
  check_close(got, vals({2, 3, 2}, {1, 0, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0}));
}

TEST_CASE("Shape.OneHotOutOfRange") {
  Graph g;
  Value y = one_hot(input(g, "idx", {2}), 3);
  ParamStore ps;
  Plan p(g, ps, std::vector<Value>{y}, {}, {DType::f64});
  p.feed("idx", vals({2}, {1, 3}));
  CHECK_THROWS_AS(p.run(), std::out_of_range);
  p.feed("idx", vals({2}, {1, 2}));
  CHECK_NOTHROW(p.run());
}

TEST_CASE("Shape.Errors") {
  Graph g;
  Value x = input(g, "x", {2, 3});
  std::string e;
  e = shape_error([&] { permute(x, {0, 0}); });
  CHECK(contains(e, "not a permutation"));
  CHECK(contains(e, "'transpose'"));
  e = shape_error([&] { permute(x, {0, 1, 2}); });
  CHECK(contains(e, "rank 2"));
  e = shape_error([&] { transpose(input(g, "r3", {2, 3, 4})); });
  CHECK(contains(e, "rank 3"));
  e = shape_error([&] { reshape(x, {4, 2}); });
  CHECK(contains(e, "(2, 3)"));
  CHECK(contains(e, "(4, 2)"));
  e = shape_error([&] { reshape(x, {4, -1}); });
  CHECK(contains(e, "-1"));
  e = shape_error([&] { reshape(x, {-1, -1}); });
  CHECK(contains(e, "more than one -1"));
  e = shape_error([&] { broadcast_to(x, {2, 6}); });
  CHECK(contains(e, "(2, 6)"));
  e = shape_error([&] { broadcast_to(x, {4, 2, 3}); });
  CHECK(contains(e, "ranks differ"));
  e = shape_error([&] { concat({x, input(g, "y", {3, 3})}, 1); });
  CHECK(contains(e, "(3, 3)"));
  CHECK(contains(e, "(2, 3)"));
  CHECK(contains(e, "'y'"));
  e = shape_error([&] { concat({x, x}, 2); });
  CHECK(contains(e, "axis 2"));
  e = shape_error([&] { slice(x, 1, 2, 5); });
  CHECK(contains(e, "[2:5]"));
  e = shape_error([&] { slice(x, 0, 1, 1); });
  CHECK(contains(e, "empty"));
  e = shape_error([&] { take(x, 0, 2); });
  CHECK(contains(e, "out of bounds"));
  e = shape_error([&] { stack({x, input(g, "z", {3, 2})}, 0); });
  CHECK(contains(e, "equal shapes"));
  e = shape_error([&] { repeat(x, 0, 1); });
  CHECK(contains(e, "repeat count"));
  e = shape_error([&] { gather(input(g, "s", {}), x); });
  CHECK(contains(e, "rank >= 1"));
  e = shape_error([&] { one_hot(x, 0); });
  CHECK(contains(e, "depth"));
  e = shape_error([&] { one_hot(x, 3, 3); });
  CHECK(contains(e, "axis 3"));
}
