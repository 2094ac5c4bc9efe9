// Reductions (ops/reduce.cpp) and neural-network ops (ops/nn.cpp): forward
// values against numbers computed here by plain index loops, the random ops'
// statistics and determinism, second derivatives, and build-time errors.
#include "autodiff/autodiff.hpp"
#include "autodiff/gradcheck.hpp"
#include "graph/plan.hpp"
#include "graph/random.hpp"
#include "ops/ops.hpp"
#include "tests/helpers.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <doctest/doctest.h>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

using namespace sg;
using namespace sg::test;

namespace {

// Distinct, non-integer values with both signs.
Tensor seq(Shape s, double offset = 0) {
  Tensor t(std::move(s), DType::f64);
  for (int64_t i = 0; i < t.size(); ++i)
    t.set(i, offset + 0.1 * double(i + 1) * (i % 3 == 1 ? -1 : 1) + 0.01 * double(i % 7));
  return t;
}

// Multi-index of a flat index.
std::vector<int64_t> unravel(int64_t flat, const Shape& s) {
  std::vector<int64_t> idx(s.size());
  for (size_t i = s.size(); i-- > 0;) {
    idx[i] = flat % s[i];
    flat /= s[i];
  }
  return idx;
}
int64_t ravel(const std::vector<int64_t>& idx, const Shape& s) {
  int64_t f = 0;
  for (size_t i = 0; i < s.size(); ++i) f = f * s[i] + idx[i];
  return f;
}

enum class Red { sum, mean, max };

// Reduction by brute force: every element goes to its output slot.
Tensor hand_reduce(const Tensor& x, std::vector<int64_t> axes, bool keep, Red op) {
  const Shape& xs = x.shape();
  Shape ks = xs, out;
  for (auto a : axes) ks[size_t(a)] = 1;
  for (size_t i = 0; i < xs.size(); ++i)
    if (keep || std::find(axes.begin(), axes.end(), int64_t(i)) == axes.end()) out.push_back(ks[i]);
  std::vector<double> acc(size_t(numel(ks)), op == Red::max ? -1e300 : 0.0);
  std::vector<int> cnt(acc.size(), 0);
  for (int64_t f = 0; f < x.size(); ++f) {
    auto idx = unravel(f, xs);
    for (auto a : axes) idx[size_t(a)] = 0;
    auto o = size_t(ravel(idx, ks));
    acc[o] = op == Red::max ? std::max(acc[o], x.at(f)) : acc[o] + x.at(f);
    ++cnt[o];
  }
  if (op == Red::mean)
    for (size_t i = 0; i < acc.size(); ++i) acc[i] /= cnt[i];
  return Tensor::from(out, acc, DType::f64);
}

std::string shape_error(const std::function<void()>& f) { return error_of<ShapeError>(f); }

// Keras Conv1D by its definition (zero padding on both sides for 'same').
Tensor hand_conv(const Tensor& x, const Tensor& w, int64_t stride, bool same) {
  const int64_t B = x.dim(0), S = x.dim(1), Ci = x.dim(2), K = w.dim(0), Co = w.dim(2);
  int64_t So, pad = 0;
  if (same) {
    So = (S + stride - 1) / stride;
    pad = std::max<int64_t>((So - 1) * stride + K - S, 0) / 2;
  } else {
    So = (S - K) / stride + 1;
  }
  Tensor y({B, So, Co}, DType::f64);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < So; ++t)
      for (int64_t o = 0; o < Co; ++o) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k)
          for (int64_t c = 0; c < Ci; ++c) {
            int64_t p = t * stride + k - pad;
            if (p >= 0 && p < S) s += x({b, p, c}) * w({k, c, o});
          }
        y.set(y.offset({b, t, o}), s);
      }
  return y;
}

// Gradcheck of a first derivative: checks the ops' VJPs are themselves differentiable.
void check_second_order(Graph& g, Value y, Value x, const std::map<std::string, Tensor>& values = {}) {
  Value r = input(g, "r2_" + std::to_string(g.size()), y.shape());
  Value dx = gradients(sum(y * r), {x})[0];
  for (const auto& res : gradcheck(g, dx, {x}, values)) {
    INFO("d/d", res.name, ": analytic ", res.analytic, " numeric ", res.numeric);
    CHECK(res.max_rel < 1e-6);
  }
}

} // namespace

// ---- reductions

TEST_CASE("Reduce.SumMeanMaxEveryAxis") {
  const Tensor xv = seq({2, 3, 4});
  const std::vector<std::vector<int64_t>> axes_sets = {{0}, {1}, {2}, {0, 2}, {0, 1}, {1, 2}, {0, 1, 2}};
  for (DType dt : {DType::f64, DType::f32}) {
    const double tol = dt == DType::f64 ? 1e-12 : 1e-6;
    for (const auto& axes : axes_sets)
      for (bool keep : {false, true})
        for (Red op : {Red::sum, Red::mean, Red::max}) {
          Graph g;
          Value x = input(g, "x", {2, 3, 4});
          Value y = op == Red::sum ? sum(x, axes, keep) : op == Red::mean ? mean(x, axes, keep) : max(x, axes, keep);
          INFO("axes ", to_string(axes), " keepdims ", keep, " op ", int(op), " dtype ", to_string(dt));
          check_close(eval(g, y, {{"x", xv}}, dt), hand_reduce(xv, axes, keep, op), tol);
        }
  }
}

TEST_CASE("Reduce.NegativeAxesAndAll") {
  const Tensor xv = seq({3, 5});
  Graph g;
  Value x = input(g, "x", {3, 5});
  Value a = sum(x, {-1});
  Value b = sum(x);
  Value c = mean(x);
  Value d = max(x, {-2, -1}, true);
  CHECK(a.shape() == Shape{3});
  CHECK(b.shape() == Shape{});
  CHECK(d.shape() == Shape{1, 1});
  CHECK(a.node().attrs.get<ReduceAttrs>().axes == std::vector<int64_t>{1});
  check_close(eval(g, a, {{"x", xv}}), hand_reduce(xv, {1}, false, Red::sum));
  check_close(eval(g, b, {{"x", xv}}), hand_reduce(xv, {0, 1}, false, Red::sum));
  check_close(eval(g, c, {{"x", xv}}), hand_reduce(xv, {0, 1}, false, Red::mean));
  check_close(eval(g, d, {{"x", xv}}), hand_reduce(xv, {0, 1}, true, Red::max));
}

TEST_CASE("Reduce.WideRowsAndLanes") {
  // more than 16 contiguous outputs (several lane blocks) and long reduced runs
  const Tensor xv = seq({5, 37, 3});
  for (const std::vector<int64_t>& axes : {std::vector<int64_t>{0}, {1}, {2}, {0, 2}}) {
    Graph g;
    Value x = input(g, "x", {5, 37, 3});
    INFO("axes ", to_string(axes));
    check_close(eval(g, sum(x, axes), {{"x", xv}}), hand_reduce(xv, axes, false, Red::sum));
    check_close(eval(g, max(x, axes), {{"x", xv}}), hand_reduce(xv, axes, false, Red::max));
  }
}

TEST_CASE("Reduce.SumFloatAccumulatesInDouble") {
  // 2^20 * 0.1 summed in float would drift by ~1%; a double accumulator does not.
  Graph g;
  Value x = input(g, "x", {1024, 1024});
  Tensor xv({1024, 1024}, DType::f32);
  for (int64_t i = 0; i < xv.size(); ++i) xv.set(i, 0.1);
  Tensor s = eval(g, sum(x), {{"x", xv}}, DType::f32);
  CHECK(s.at(0) == doctest::Approx(double(0.1f) * 1024 * 1024).epsilon(1e-6));
}

TEST_CASE("Reduce.SumTo") {
  const Tensor xv = seq({2, 3, 4});
  Graph g;
  Value x = input(g, "x", {2, 3, 4});
  Value a = sum_to(x, {1, 3, 1});
  Value b = sum_to(x, {2, 1, 4});
  Value c = sum_to(x, {});
  Value d = sum_to(x, {2, 3, 4});
  Value e = sum_to(x, {1, 1, 1});
  check_close(eval(g, a, {{"x", xv}}), hand_reduce(xv, {0, 2}, true, Red::sum));
  check_close(eval(g, b, {{"x", xv}}), hand_reduce(xv, {1}, true, Red::sum));
  check_close(eval(g, c, {{"x", xv}}), hand_reduce(xv, {0, 1, 2}, false, Red::sum));
  check_close(eval(g, d, {{"x", xv}}), xv);
  check_close(eval(g, e, {{"x", xv}}), hand_reduce(xv, {0, 1, 2}, true, Red::sum));
}

TEST_CASE("Reduce.ArgMax") {
  // ties pick the first index
  const Tensor xv = vals({2, 3, 4}, {1, 5, 2, 5,  0, 9, 9, 1,  3, 3, 3, 3,
                                     -1, -2, -3, -4,  7, 0, 8, 0,  2, 6, 6, 1});
  Graph g;
  Value x = input(g, "x", {2, 3, 4});
  Value a0 = argmax(x, 0), a1 = argmax(x, 1), a2 = argmax(x, -1);
  CHECK(a0.shape() == Shape{3, 4});
  CHECK(a1.shape() == Shape{2, 4});
  CHECK(a2.shape() == Shape{2, 3});
  for (auto [v, axis] : {std::pair{a0, 0}, {a1, 1}, {a2, 2}}) {
    Shape os = v.shape();
    Tensor want(os, DType::f64);
    for (int64_t f = 0; f < want.size(); ++f) {
      auto idx = unravel(f, os);
      idx.insert(idx.begin() + axis, 0);
      int64_t best = 0;
      double bv = -1e300;
      for (int64_t i = 0; i < xv.dim(axis); ++i) {
        idx[size_t(axis)] = i;
        if (xv.at(ravel(idx, xv.shape())) > bv) bv = xv.at(ravel(idx, xv.shape())), best = i;
      }
      want.set(f, double(best));
    }
    INFO("axis ", axis);
    check_close(eval(g, v, {{"x", xv}}), want);
    check_close(eval(g, v, {{"x", xv}}, DType::f32), want);
  }
  CHECK(eval(g, a2, {{"x", xv}}).at(0) == 1); // (1, 5, 2, 5): the first 5
}

TEST_CASE("Reduce.MaxGradientTies") {
  // documented: every element equal to the max gets the full dy
  Graph h;
  Value hx = input(h, "x", {2, 3});
  Value hy = max(hx, {1});
  Value w = constant(h, vals({2}, {1.0, 10.0}));
  Value hdx = gradients(sum(hy * w), {hx})[0];
  check_close(eval(h, hdx, {{"x", vals({2, 3}, {3, 1, 3, 0, 2, -1})}}), vals({2, 3}, {1, 0, 1, 0, 10, 0}));
}

TEST_CASE("Reduce.Errors") {
  Graph g;
  Value x = input(g, "x", {2, 3});
  CHECK(shape_error([&] { sum(x, {2}); }).find("out of range") != std::string::npos);
  CHECK(shape_error([&] { mean(x, {-3}); }).find("out of range") != std::string::npos);
  CHECK(shape_error([&] { max(x, {1, -1}); }).find("twice") != std::string::npos);
  CHECK(shape_error([&] { sum_to(x, {3, 1}); }).find("cannot sum") != std::string::npos);
  CHECK(shape_error([&] { sum_to(x, {2}); }).find("cannot sum") != std::string::npos);
  CHECK(shape_error([&] { argmax(x, 2); }).find("out of range") != std::string::npos);
  // the message names the op and the call site
  std::string m = shape_error([&] { sum(x, {5}); });
  CHECK(m.find("sum") != std::string::npos);
  CHECK(m.find("test_reduce_nn.cpp") != std::string::npos);
}

// ---- neural-network ops

TEST_CASE("Nn.Softmax") {
  const Tensor xv = seq({3, 4, 5}, 0.3);
  for (int64_t axis : {0, 1, -1}) {
    Graph g;
    Value x = input(g, "x", {3, 4, 5});
    Value y = softmax(x, axis);
    Value ly = log_softmax(x, axis);
    const int64_t ax = axis < 0 ? axis + 3 : axis;
    // exp(x) / sum(exp(x)) along the axis, by hand
    Tensor want({3, 4, 5}, DType::f64), lwant({3, 4, 5}, DType::f64);
    for (int64_t f = 0; f < xv.size(); ++f) {
      auto idx = unravel(f, xv.shape());
      double s = 0;
      for (int64_t i = 0; i < xv.dim(int(ax)); ++i) {
        auto j = idx;
        j[size_t(ax)] = i;
        s += std::exp(xv.at(ravel(j, xv.shape())));
      }
      want.set(f, std::exp(xv.at(f)) / s);
      lwant.set(f, xv.at(f) - std::log(s));
    }
    INFO("axis ", axis);
    Tensor got = eval(g, y, {{"x", xv}});
    check_close(got, want);
    check_close(eval(g, ly, {{"x", xv}}), lwant);
    check_close(eval(g, y, {{"x", xv}}, DType::f32), want, 1e-6);
    // sums to 1 along the axis
    Graph h;
    Value hx = input(h, "x", {3, 4, 5});
    Tensor s = eval(h, sum(softmax(hx, axis), {axis}), {{"x", xv}});
    for (int64_t i = 0; i < s.size(); ++i) CHECK(s.at(i) == doctest::Approx(1.0).epsilon(1e-12));
  }
}

TEST_CASE("Nn.SoftmaxStableAtLargeLogits") {
  Graph g;
  Value x = input(g, "x", {2, 3});
  Value y = softmax(x), ly = log_softmax(x);
  const Tensor xv = vals({2, 3}, {1000, 1001, 1002, -1000, -1001, -1002});
  // shifting by a constant changes nothing: compare with (0, 1, 2) and (0, -1, -2)
  const double s1 = 1 + std::exp(1.0) + std::exp(2.0);
  const double s2 = 1 + std::exp(-1.0) + std::exp(-2.0);
  const Tensor lwant = vals({2, 3}, {-std::log(s1), 1 - std::log(s1), 2 - std::log(s1),
                                     -std::log(s2), -1 - std::log(s2), -2 - std::log(s2)});
  for (DType dt : {DType::f64, DType::f32}) {
    Tensor l = eval(g, ly, {{"x", xv}}, dt);
    Tensor p = eval(g, y, {{"x", xv}}, dt);
    for (int64_t i = 0; i < l.size(); ++i) {
      CHECK(std::isfinite(l.at(i)));
      CHECK(std::isfinite(p.at(i)));
    }
    check_close(l, lwant, dt == DType::f64 ? 1e-12 : 1e-5);
    CHECK(p.at(2) == doctest::Approx(std::exp(2.0) / s1).epsilon(1e-6));
  }
}

TEST_CASE("Nn.SoftmaxCrossEntropy") {
  const Tensor logits = seq({3, 4}, 0.2);
  Tensor labels({3, 4}, DType::f64);
  for (int64_t i = 0; i < 12; ++i) labels.set(i, 0.05 * double(i % 5) + 0.02);
  for (int64_t axis : {-1, 0}) {
    Graph g;
    Value x = input(g, "x", {3, 4});
    Value t = input(g, "t", {3, 4});
    Value y = softmax_cross_entropy(x, t, axis);
    const int64_t ax = axis < 0 ? 1 : 0;
    Shape os = ax == 1 ? Shape{3} : Shape{4};
    CHECK(y.shape() == os);
    Tensor want(os, DType::f64);
    for (int64_t o = 0; o < want.size(); ++o) {
      auto at = [&](const Tensor& v, int64_t i) { return ax == 1 ? v({o, i}) : v({i, o}); };
      const int64_t n = logits.dim(int(ax));
      double s = 0;
      for (int64_t i = 0; i < n; ++i) s += std::exp(at(logits, i));
      double loss = 0;
      for (int64_t i = 0; i < n; ++i) loss -= at(labels, i) * (at(logits, i) - std::log(s));
      want.set(o, loss);
    }
    INFO("axis ", axis);
    check_close(eval(g, y, {{"x", logits}, {"t", labels}}), want);
    check_close(eval(g, y, {{"x", logits}, {"t", labels}}, DType::f32), want, 1e-5);
  }
  // one-hot labels at huge logits: finite, equals the log-sum-exp gap
  Graph g;
  Value x = input(g, "x", {1, 3});
  Value t = input(g, "t", {1, 3});
  Value y = softmax_cross_entropy(x, t);
  const Tensor big = vals({1, 3}, {1000, 1002, 999});
  const Tensor oh = vals({1, 3}, {1, 0, 0});
  const double want = std::log(1 + std::exp(2.0) + std::exp(-1.0)); // -log_softmax[0]
  for (DType dt : {DType::f64, DType::f32}) {
    Tensor l = eval(g, y, {{"x", big}, {"t", oh}}, dt);
    CHECK(std::isfinite(l.at(0)));
    CHECK(l.at(0) == doctest::Approx(want).epsilon(1e-5));
  }
}

// Against -z log(p) - (1 - z) log(1 - p), p = 1 / (1 + e^-x), in double
// where that is accurate, and finite where it is not (|x| = 100, 1000).
TEST_CASE("Nn.SigmoidCrossEntropy") {
  Graph g;
  Value x = input(g, "x", {2, 6});
  Value t = input(g, "t", {2, 6});
  Value y = sigmoid_cross_entropy(x, t);
  CHECK(y.shape() == Shape{2, 6});
  const Tensor xs = vals({2, 6}, {-3, -1, -0.25, 0, 0.5, 2, 4, -2, 1, 3, -0.5, 0.1});
  const Tensor zs = vals({2, 6}, {0, 1, 0.3, 1, 0, 1, 0, 0, 1, 0.5, 0.9, 0});
  Tensor want({2, 6}, DType::f64);
  for (int64_t i = 0; i < 12; ++i) {
    const double p = 1 / (1 + std::exp(-xs.at(i))), z = zs.at(i);
    want.set(i, -z * std::log(p) - (1 - z) * std::log(1 - p));
  }
  check_close(eval(g, y, {{"x", xs}, {"t", zs}}), want, 1e-12);
  check_close(eval(g, y, {{"x", xs}, {"t", zs}}, DType::f32), want, 1e-6);
  const Tensor big = vals({2, 6}, {100, -100, 1000, -1000, 100, -100, 0, 0, 0, 0, 0, 0});
  const Tensor lab = vals({2, 6}, {1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0});
  for (DType dt : {DType::f64, DType::f32}) {
    const Tensor l = eval(g, y, {{"x", big}, {"t", lab}}, dt);
    CHECK(l.at(0) == doctest::Approx(0).epsilon(1e-30)); // right and sure: ~e^-100
    CHECK(l.at(2) == 0);
    CHECK(l.at(4) == doctest::Approx(100)); // wrong and sure: the logit's size
    CHECK(l.at(5) == doctest::Approx(100));
    CHECK(l.at(6) == doctest::Approx(std::log(2.0)));
  }
  Value bad = input(g, "b", {2, 1});
  CHECK(shape_error([&] { sigmoid_cross_entropy(x, bad); }).find("same shape") != std::string::npos);
}

TEST_CASE("Nn.Dropout") {
  const double rate = 0.3;
  Graph g;
  Value x = input(g, "x", {200, 500});
  Value y = dropout(x, rate, 7);
  Tensor ones({200, 500}, DType::f64);
  for (int64_t i = 0; i < ones.size(); ++i) ones.set(i, 1.0);

  ParamStore ps;
  Plan p1(g, ps, std::vector<Value>{y}, {}, {DType::f64});
  Plan p2(g, ps, std::vector<Value>{y}, {}, {DType::f64});
  p1.feed("x", ones);
  p2.feed("x", ones);
  p1.run();
  Tensor r1 = p1.fetch(y);
  p1.run();
  Tensor r2 = p1.fetch(y);
  p2.run();
  Tensor q1 = p2.fetch(y);

  int64_t kept = 0, differ = 0;
  for (int64_t i = 0; i < r1.size(); ++i) {
    const double v = r1.at(i);
    CHECK((v == 0 || v == doctest::Approx(1 / (1 - rate)).epsilon(1e-15)));
    kept += v != 0;
    differ += (v != 0) != (r2.at(i) != 0);
  }
  const double frac = double(kept) / double(r1.size());
  CHECK(frac == doctest::Approx(1 - rate).epsilon(0.02));
  CHECK(differ > r1.size() / 10); // a new mask every run
  CHECK(max_abs_diff(r1, q1) == 0); // same graph, fresh plan: the same first mask

  // float32 mask: the same draws
  Plan pf(g, ps, std::vector<Value>{y}, {}, {DType::f32});
  pf.feed("x", ones);
  pf.run();
  Tensor f1 = pf.fetch(y).to(DType::f64);
  for (int64_t i = 0; i < r1.size(); i += 997) CHECK((f1.at(i) != 0) == (r1.at(i) != 0));

  // rate 0 is the identity; rates outside [0, 1) are errors
  CHECK(dropout(x, 0.0).id() == x.id());
  CHECK_THROWS_AS(dropout(x, 1.0), std::invalid_argument);
  CHECK_THROWS_AS(dropout(x, -0.1), std::invalid_argument);
  CHECK_THROWS_AS(dropout_mask(g, {3}, 1.5), std::invalid_argument);

  // a differently seeded mask differs
  Graph h;
  Value hx = input(h, "x", {200, 500});
  Value hy = dropout(hx, rate, 8);
  int64_t d2 = 0;
  Tensor o = eval(h, hy, {{"x", ones}});
  for (int64_t i = 0; i < o.size(); ++i) d2 += (o.at(i) != 0) != (r1.at(i) != 0);
  CHECK(d2 > r1.size() / 10);
}

TEST_CASE("Nn.DropoutMaskOfAShardIsItsRowsOfTheWholeMask") {
  // a data-parallel rank's graph (Graph::shard_rows): rows [2, 5) of a
  // batch of 7 draw rows 2..4 of the batch's mask, bit for bit, on every
  // run; a mask whose leading axis is not the shard's rows draws its own
  auto mask = [](int64_t offset, int64_t rows, Shape shape, int runs) {
    Graph g;
    g.shard_offset = offset;
    g.shard_rows = rows;
    g.shard_global = rows > 0 ? 7 : 0;
    Value m = dropout_mask(g, shape, 0.4, 9).named("m");
    ParamStore ps;
    Plan p(g, ps, std::vector<Value>{m}, {}, {DType::f32});
    for (int r = 0; r < runs; ++r) p.run();
    return p.fetch(m);
  };
  for (int runs : {1, 3}) {
    const Tensor whole = mask(0, 0, {7, 3, 5}, runs), part = mask(2, 3, {3, 3, 5}, runs);
    int64_t kept = 0;
    for (int64_t i = 0; i < part.size(); ++i) {
      CHECK(part.at(i) == whole.at(2 * 15 + i));
      kept += part.at(i) != 0;
    }
    CHECK(kept > 5);
    CHECK(kept < part.size());
    CHECK(max_abs_diff(mask(2, 3, {4, 15}, runs), mask(0, 0, {4, 15}, runs)) == 0); // 4 rows: not the shard's
  }
}

TEST_CASE("Nn.DropoutGradient") {
  // d(x * mask)/dx = mask: the mask itself needs no gradient
  Graph g;
  Value x = input(g, "x", {4, 5});
  Value m = dropout_mask(g, {4, 5}, 0.5, 3);
  Value y = x * m;
  Value dx = gradients(sum(y), {x})[0];
  ParamStore ps;
  Plan p(g, ps, std::vector<Value>{m, dx}, {}, {DType::f64});
  p.feed("x", seq({4, 5}));
  p.run();
  CHECK(max_abs_diff(p.fetch(m), p.fetch(dx)) == 0);
}

TEST_CASE("Nn.SampleCategorical") {
  const int64_t n = 20000;
  // axis -1: n rows of (0.1, 0, 0.9); axis 0: the same distributions as columns
  Tensor rows({n, 3}, DType::f64), cols({3, n}, DType::f64);
  const double p[3] = {0.1, 0.0, 0.9};
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < 3; ++j) {
      rows.set(i * 3 + j, p[j]);
      cols.set(j * n + i, p[j]);
    }
  for (int64_t axis : {-1, 0}) {
    Graph g;
    Value pr = input(g, "p", axis == 0 ? Shape{3, n} : Shape{n, 3});
    Value s = sample_categorical(pr, axis, 11);
    CHECK(s.shape() == Shape{n});
    ParamStore ps;
    Plan plan(g, ps, std::vector<Value>{s}, {}, {DType::f64});
    plan.feed("p", axis == 0 ? cols : rows);
    std::array<int64_t, 3> count{};
    Tensor first;
    for (int run = 0; run < 3; ++run) {
      plan.run();
      Tensor d = plan.fetch(s);
      if (run == 0) first = d;
      else CHECK(max_abs_diff(first, d) > 0); // new draws each run
      for (int64_t i = 0; i < n; ++i) {
        const double v = d.at(i);
        REQUIRE((v == 0 || v == 1 || v == 2));
        ++count[size_t(v)];
      }
    }
    INFO("axis ", axis);
    CHECK(count[1] == 0); // a zero-probability entry is never drawn
    CHECK(double(count[0]) / (3.0 * n) == doctest::Approx(0.1).epsilon(0.05));
    CHECK(double(count[2]) / (3.0 * n) == doctest::Approx(0.9).epsilon(0.01));
  }
  // one-hot distributions always give their index
  Graph g;
  Value pr = input(g, "p", {4, 5});
  Value s = sample_categorical(pr, 1, 5);
  Tensor oh({4, 5}, DType::f64);
  const int64_t hot[4] = {3, 0, 4, 1};
  for (int64_t i = 0; i < 4; ++i) oh.set(i * 5 + hot[i], 1.0);
  for (DType dt : {DType::f64, DType::f32}) {
    ParamStore ps;
    Plan plan(g, ps, std::vector<Value>{s}, {}, {dt});
    plan.feed("p", oh);
    for (int run = 0; run < 50; ++run) {
      plan.run();
      Tensor d = plan.fetch(s).to(DType::f64);
      for (int64_t i = 0; i < 4; ++i) CHECK(d.at(i) == double(hot[i]));
    }
  }
  // not differentiable: autodiff refuses to go through it
  Graph h;
  Value hp = input(h, "p", {2, 3});
  CHECK_THROWS_AS(gradients(sum(sample_categorical(hp, -1)), {hp}), std::invalid_argument);
}

TEST_CASE("Nn.Conv1D") {
  struct Case {
    int64_t steps, kernel, stride;
    bool same;
    int64_t want_steps;
  };
  const Case cs[] = {{7, 3, 1, false, 5}, {7, 3, 2, false, 3}, {7, 3, 1, true, 7}, {7, 3, 2, true, 4},
                     {8, 4, 1, true, 8},  {8, 4, 2, true, 4},  {8, 4, 3, false, 2}, {5, 1, 2, true, 3},
                     {3, 6, 2, true, 2},  {4, 9, 1, true, 4}}; // kernels wider than x: taps off both ends
  for (const Case& c : cs) {
    Graph g;
    Value x = input(g, "x", {2, c.steps, 3});
    Value w = input(g, "w", {c.kernel, 3, 4});
    Value y = conv1d(x, w, c.stride, c.same ? "same" : "valid");
    INFO("steps ", c.steps, " kernel ", c.kernel, " stride ", c.stride, " same ", c.same);
    CHECK(y.shape() == Shape{2, c.want_steps, 4});
    const Tensor xv = seq({2, c.steps, 3}), wv = seq({c.kernel, 3, 4}, -0.2);
    check_close(eval(g, y, {{"x", xv}, {"w", wv}}), hand_conv(xv, wv, c.stride, c.same));
    check_close(eval(g, y, {{"x", xv}, {"w", wv}}, DType::f32), hand_conv(xv, wv, c.stride, c.same), 1e-5);
  }
}

// At a size whose products the BLAS door cuts into blocks (a tap of more than
// 8e6 multiply-adds): the forward against the definition, and both gradients by
// bilinearity, <x, dL/dx> = <w, dL/dw> = L for L = sum(conv1d(x, w) * r).
TEST_CASE("Nn.Conv1DLargeProducts") {
  for (const bool same : {false, true}) {
    INFO("same ", same);
    Graph g;
    Value x = input(g, "x", {1, 1001, 64});
    Value w = input(g, "w", {3, 64, 256});
    Value y = conv1d(x, w, 2, same ? "same" : "valid");
    Value r = input(g, "r", y.shape());
    Value loss = sum(y * r);
    const auto grads = gradients(loss, {x, w});
    const Tensor xv = seq({1, 1001, 64}), wv = seq({3, 64, 256}, -0.2), rv = seq(y.shape(), 0.3);
    const std::map<std::string, Tensor> feeds{{"x", xv}, {"w", wv}, {"r", rv}};
    check_close(eval(g, y, feeds), hand_conv(xv, wv, 2, same), 1e-12);
    const double l = eval(g, loss, feeds).at(0);
    CHECK(eval(g, sum(grads[0] * x), feeds).at(0) == doctest::Approx(l).epsilon(1e-12));
    CHECK(eval(g, sum(grads[1] * w), feeds).at(0) == doctest::Approx(l).epsilon(1e-12));
  }
}

TEST_CASE("Nn.SecondOrder") {
  SUBCASE("softmax") {
    Graph g;
    Value x = input(g, "x", {3, 4});
    check_second_order(g, softmax(x, 0), x);
  }
  SUBCASE("log_softmax") {
    Graph g;
    Value x = input(g, "x", {3, 4});
    check_second_order(g, log_softmax(x), x);
  }
  SUBCASE("sigmoid_cross_entropy") {
    Graph g;
    Value x = input(g, "x", {3, 4});
    Value t = input(g, "t", {3, 4});
    check_second_order(g, sigmoid_cross_entropy(x, t), x);
  }
  SUBCASE("softmax_cross_entropy") {
    Graph g;
    Value x = input(g, "x", {3, 4});
    Value t = input(g, "t", {3, 4});
    check_second_order(g, softmax_cross_entropy(x, t), x);
  }
  SUBCASE("mean and sum_to") {
    Graph g;
    Value x = input(g, "x", {3, 4});
    check_second_order(g, square(mean(x, {1}, true)) + sum_to(x * x, {1, 4}), x);
  }
  SUBCASE("conv1d") {
    Graph g;
    Value x = input(g, "x", {2, 6, 3});
    Value w = input(g, "w", {3, 3, 2});
    Value y = conv1d(x, w, 2, "same");
    check_second_order(g, y * y, x);
    check_second_order(g, y * y, w);
  }
}

TEST_CASE("Nn.Errors") {
  Graph g;
  Value x = input(g, "x", {2, 5, 3});
  Value w = input(g, "w", {3, 3, 4});
  CHECK_THROWS_AS(conv1d(x, w, 1, "causal"), std::invalid_argument);
  CHECK_THROWS_AS(conv1d(x, w, 1, "SAME"), std::invalid_argument);
  CHECK(shape_error([&] { conv1d(x, w, 0); }).find("stride") != std::string::npos);
  Value w2 = input(g, "w2", {3, 2, 4});
  CHECK(shape_error([&] { conv1d(x, w2); }).find("channels") != std::string::npos);
  Value w3 = input(g, "w3", {6, 3, 4});
  CHECK(shape_error([&] { conv1d(x, w3, 1, "valid"); }).find("fewer") != std::string::npos);
  CHECK(conv1d(x, w3, 1, "same").shape() == Shape{2, 5, 4});
  CHECK(shape_error([&] { softmax(x, 3); }).find("out of range") != std::string::npos);
  CHECK(shape_error([&] { log_softmax(x, -4); }).find("out of range") != std::string::npos);
  Value t = input(g, "t", {2, 5, 4});
  CHECK(shape_error([&] { softmax_cross_entropy(x, t); }).find("same shape") != std::string::npos);
  CHECK(shape_error([&] { sample_categorical(x, 3); }).find("out of range") != std::string::npos);
  CHECK_THROWS_AS(dropout(x, 1.0), std::invalid_argument);
  CHECK_THROWS_AS(dropout(x, std::nan("")), std::invalid_argument);
}

TEST_CASE("Nn.LstmCellIsTheComposite") {
  // The fused step against the ops it replaces (ops/layers.cpp lstm_gates'
  // composite: z = zx + hu, split, sigmoid / tanh per gate, c' = f c + i c~,
  // h' = o tanh(c')): the same bits forward in float32, and the same
  // cotangents of zx, hu and c (float64, to rounding); with a state and
  // without (the first step: zx alone, c = 0).
  const int64_t B = 5, u = 7;
  auto build = [&](Graph& g, bool fused, bool first) {
    Value zx = input(g, "z", {B, 4 * u}), hu = first ? Value() : input(g, "hu", {B, 4 * u});
    Value c = first ? Value() : input(g, "c", {B, u});
    if (fused) {
      const LstmCell s = lstm_cell(zx, hu, c);
      return std::vector<Value>{s.h, s.c, zx, hu, c};
    }
    Value z = hu ? zx + hu : zx;
    auto part = [&](int64_t k) { return slice(z, 1, k * u, (k + 1) * u); };
    Value i = sigmoid(part(0)), f = sigmoid(part(1)), cc = tanh(part(2)), o = sigmoid(part(3));
    Value next = c ? f * c + i * cc : i * cc;
    return std::vector<Value>{o * tanh(next), next, zx, hu, c};
  };
  std::map<std::string, Tensor> feeds;
  for (auto [name, shape] :
       std::vector<std::pair<std::string, Shape>>{{"z", {B, 4 * u}}, {"hu", {B, 4 * u}}, {"c", {B, u}}}) {
    Tensor t(shape, DType::f64);
    for (int64_t i = 0; i < t.size(); ++i) t.set(i, 2.5 * rng::normal(5, rng::hash_name(name), uint64_t(i)));
    feeds[name] = t;
  }
  Tensor wh({B, u}, DType::f64), wc({B, u}, DType::f64); // a loss sum(wh h' + wc c')
  for (int64_t i = 0; i < wh.size(); ++i)
    wh.set(i, rng::uniform(6, 1, uint64_t(i)) - 0.5), wc.set(i, rng::uniform(6, 2, uint64_t(i)) - 0.5);
  for (bool first : {false, true}) {
    INFO("first step: ", first);
    std::vector<Tensor> forward, grads[2];
    for (int fused = 0; fused < 2; ++fused) {
      Graph g;
      std::vector<Value> v = build(g, fused == 1, first);
      Value loss = sum(v[0] * constant(g, wh)) + sum(v[1] * constant(g, wc));
      std::vector<Value> wrt{v[2]};
      if (!first) wrt.push_back(v[3]), wrt.push_back(v[4]);
      std::vector<Value> fetch{v[0], v[1]};
      for (Value d : gradients(loss, wrt)) fetch.push_back(d);
      ParamStore ps;
      Plan f32(g, ps, std::vector<Value>{v[0], v[1]}, {}, {DType::f32});
      Plan f64(g, ps, fetch, {}, {DType::f64});
      for (auto& [name, t] : feeds)
        if (name == "z" || !first) f32.feed(name, t.to(DType::f32)), f64.feed(name, t);
      f32.run();
      f64.run();
      forward.push_back(f32.fetch(v[0]));
      forward.push_back(f32.fetch(v[1]));
      for (size_t i = 2; i < fetch.size(); ++i) grads[fused].push_back(f64.fetch(fetch[i]));
    }
    CHECK(max_abs_diff(forward[0], forward[2]) == 0); // h'
    CHECK(max_abs_diff(forward[1], forward[3]) == 0); // c'
    REQUIRE(grads[0].size() == (first ? 1u : 3u));
    for (size_t i = 0; i < grads[0].size(); ++i) {
      INFO("input ", i);
      CHECK(max_abs_diff(grads[0][i], grads[1][i]) < 1e-13);
      CHECK(max_abs_diff(grads[0][i], Tensor(grads[0][i].shape(), DType::f64)) > 0.01); // not trivially zero
    }
  }
  // shapes are checked
  Graph g;
  CHECK_THROWS(lstm_cell(input(g, "a", {2, 10}), Value(), input(g, "b", {2, 2})));
  CHECK_THROWS(lstm_cell(input(g, "d", {2, 12}), Value(), input(g, "e", {2, 4})));
  CHECK_THROWS(lstm_cell(input(g, "f", {2, 12}), input(g, "h", {2, 8}), input(g, "k", {2, 3})));
}

TEST_CASE("Nn.GruCellIsTheComposite") {
  // The fused step against the ops it replaces (ops/keras_recurrent.cpp's
  // reset_after step): the same bits forward in float32, and the same
  // cotangents of every input (float64, to rounding).
  const int64_t B = 5, u = 7;
  auto build = [&](Graph& g, bool fused) {
    Value zx = input(g, "zx", {B, 3 * u}), hu = input(g, "hu", {B, 3 * u}), h = input(g, "h", {B, u});
    Value b = input(g, "b", {1, 3 * u});
    if (fused) return std::vector<Value>{gru_cell(zx, hu, h, b), zx, hu, h, b};
    Value rec = hu + b;
    auto part = [&](Value v, int64_t k) { return slice(v, 1, k * u, (k + 1) * u); };
    Value z = sigmoid(part(zx, 0) + part(rec, 0));
    Value hh = tanh(part(zx, 2) + sigmoid(part(zx, 1) + part(rec, 1)) * part(rec, 2));
    return std::vector<Value>{z * h + (1.0 - z) * hh, zx, hu, h, b};
  };
  std::map<std::string, Tensor> feeds;
  for (auto [name, shape] : std::vector<std::pair<std::string, Shape>>{
           {"zx", {B, 3 * u}}, {"hu", {B, 3 * u}}, {"h", {B, u}}, {"b", {1, 3 * u}}}) {
    Tensor t(shape, DType::f64);
    for (int64_t i = 0; i < t.size(); ++i) t.set(i, 2.5 * rng::normal(3, rng::hash_name(name), uint64_t(i)));
    feeds[name] = t;
  }
  Tensor w({B, u}, DType::f64); // a loss sum(w * h'), so that every output element has its own weight
  for (int64_t i = 0; i < w.size(); ++i) w.set(i, rng::uniform(4, 1, uint64_t(i)) - 0.5);
  std::vector<Tensor> forward, grads[2];
  for (int fused = 0; fused < 2; ++fused) {
    Graph g;
    std::vector<Value> v = build(g, fused == 1);
    Value loss = sum(v[0] * constant(g, w));
    std::vector<Value> fetch{v[0]};
    for (Value d : gradients(loss, {v[1], v[2], v[3], v[4]})) fetch.push_back(d);
    ParamStore ps;
    Plan f32(g, ps, std::vector<Value>{v[0]}, {}, {DType::f32});
    Plan f64(g, ps, fetch, {}, {DType::f64});
    for (auto& [name, t] : feeds) f32.feed(name, t.to(DType::f32)), f64.feed(name, t);
    f32.run();
    f64.run();
    forward.push_back(f32.fetch(v[0]));
    for (size_t i = 1; i < fetch.size(); ++i) grads[fused].push_back(f64.fetch(fetch[i]));
  }
  CHECK(max_abs_diff(forward[0], forward[1]) == 0);
  for (size_t i = 0; i < 4; ++i) {
    INFO("input ", i);
    CHECK(max_abs_diff(grads[0][i], grads[1][i]) < 1e-13);
    CHECK(max_abs_diff(grads[0][i], Tensor(grads[0][i].shape(), DType::f64)) > 0.01); // not trivially zero
  }
  // shapes are checked
  Graph g;
  CHECK_THROWS(gru_cell(input(g, "a", {2, 9}), input(g, "b", {2, 9}), input(g, "h", {2, 4}), input(g, "c", {1, 9})));
  CHECK_THROWS(gru_cell(input(g, "d", {2, 9}), input(g, "e", {2, 9}), input(g, "f", {2, 3}), input(g, "k", {9})));
}
