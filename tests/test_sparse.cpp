// Row-sparse AdaGrad (ops/sparse.cpp, chosen by minimize in
// autodiff/optimizers.cpp): for a table whose gradient is a gather's, the
// update touches only the rows the batch names, with repeated indices summed
// first, and equals the dense update (apply_adagrad of the dense gather_grad)
// bit for bit, in float64 and float32.
#include "autodiff/optimizers.hpp"
#include "graph/plan.hpp"
#include "ops/ops.hpp"

#include <cmath>
#include <cstring>
#include <doctest/doctest.h>
#include <functional>
#include <memory>
#include <string>
#include <vector>

using namespace sg;

namespace {

using Vec = std::vector<double>;

Vec pseudo(size_t n, double salt) {
  Vec v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::sin(double(i) * 12.9898 + salt * 78.233) * 0.999;
  return v;
}

constexpr int64_t V = 7, d = 3;

// One graph, its loss built by `body` over a (V, d) table W and a (V) table b
// (W's graph nodes are all the body sees), minimised by AdaGrad.
struct Net {
  std::unique_ptr<Graph> g = std::make_unique<Graph>();
  Value W, b, loss;
  TrainOps tr;
};

using Body = std::function<Value(Graph&, Value W, Value b)>;

Net build(const Body& body, bool sparse, Clip clip = {}, LRSchedule schedule = {}) {
  Net n;
  n.W = param(*n.g, "W", {V, d});
  n.b = param(*n.g, "b", {V});
  n.loss = body(*n.g, n.W, n.b);
  n.tr = minimize(n.loss, {n.W, n.b},
                  AdaGrad{.lr = 0.3, .epsilon = 1e-8, .initial_accumulator = 0.1, .clip = clip,
                          .sparse_rows = sparse, .schedule = schedule});
  return n;
}

using Feeds = std::vector<std::pair<std::string, Tensor>>;

// `steps` runs of the net from fixed parameters; the store afterwards.
ParamStore train(Net& n, DType dt, const std::vector<Feeds>& steps) {
  ParamStore store;
  store.set("W", Tensor::from({V, d}, pseudo(size_t(V * d), 0.5), dt));
  store.set("b", Tensor::from({V}, pseudo(size_t(V), 1.5), dt));
  Plan plan(*n.g, store, {n.loss}, n.tr.updates, {dt, 0});
  for (const Feeds& f : steps) {
    for (auto& [name, t] : f) plan.feed(name, t);
    plan.run();
  }
  return store;
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && a.nbytes() == b.nbytes() &&
         std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

size_t count(const Graph& g, Op op) { return g.nodes_of(op).size(); }

bool plans_gather_grad(Net& n, DType dt) {
  ParamStore store;
  Plan plan(*n.g, store, {n.loss}, n.tr.updates, {dt, 0});
  for (NodeId id : plan.order())
    if (n.g->node(id).op == Op::GatherGrad) return true;
  return false;
}

Tensor tensor(Shape s, Vec v) { return Tensor::from(std::move(s), std::move(v), DType::f64); }

// Three steps' indices, each with repeats (row 2 three times in the first),
// rows 1 and 6 never named.
const std::vector<Vec> kIdx = {{2, 5, 2, 0, 5, 2}, {4, 4, 0, 3, 2, 4}, {0, 0, 0, 5, 3, 3}};

// The sparse and the dense update from the same start and feeds: the same
// parameters and accumulators, bit for bit.
void check_equal(const Body& body, const std::vector<Feeds>& steps, size_t sparse_updates) {
  for (DType dt : {DType::f64, DType::f32}) {
    CAPTURE(to_string(dt));
    Net sparse = build(body, true), dense = build(body, false);
    CHECK(count(*sparse.g, Op::SparseApplyAdaGrad) == sparse_updates);
    CHECK(count(*sparse.g, Op::ApplyAdaGrad) == 2 - sparse_updates);
    CHECK(count(*dense.g, Op::SparseApplyAdaGrad) == 0);
    CHECK(count(*dense.g, Op::ApplyAdaGrad) == 2);
    CHECK(plans_gather_grad(dense, dt));
    if (sparse_updates == 2) CHECK_FALSE(plans_gather_grad(sparse, dt)); // the dense gradient is never built
    ParamStore a = train(sparse, dt, steps), b = train(dense, dt, steps);
    for (const char* name : {"W", "b", "W/adagrad_accum", "b/adagrad_accum"}) {
      CAPTURE(name);
      CHECK(bitwise_equal(a.at(name), b.at(name)));
    }
    // and the training moved the named rows, left the others alone
    const Vec w0 = pseudo(size_t(V * d), 0.5);
    const Tensor& W = a.at("W");
    CHECK(W.at(2 * d) != w0[size_t(2 * d)]);
    for (int64_t r : {1, 6})
      for (int64_t c = 0; c < d; ++c) CHECK(W.at(r * d + c) == doctest::Approx(w0[size_t(r * d + c)]));
  }
}

} // namespace

TEST_CASE("SparseAdaGrad.OneGatherWithRepeatedIndicesEqualsDense") {
  // loss = ½ Σ (W[i] - t)² + ½ Σ (b[i] - u)²
  Body body = [](Graph& g, Value W, Value b) {
    Value i = input(g, "i", {6}), t = input(g, "t", {6, d}), u = input(g, "u", {6});
    return 0.5 * sum(square(gather(W, i) - t)) + 0.5 * sum(square(gather(b, i) - u));
  };
  std::vector<Feeds> steps;
  for (size_t s = 0; s < kIdx.size(); ++s)
    steps.push_back({{"i", tensor({6}, kIdx[s])},
                     {"t", tensor({6, d}, pseudo(18, 3.0 + double(s)))},
                     {"u", tensor({6}, pseudo(6, 9.0 + double(s)))}});
  check_equal(body, steps, 2);
}

TEST_CASE("SparseAdaGrad.HandComputedStep") {
  // One step in float64 against plain loops: g_v = Σ over the positions naming v.
  Body body = [](Graph& g, Value W, Value b) {
    Value i = input(g, "i", {6}), t = input(g, "t", {6, d});
    return 0.5 * sum(square(gather(W, i) - t)) + 0.5 * sum(square(gather(b, i)));
  };
  Net n = build(body, true);
  const Vec t = pseudo(18, 4.0);
  ParamStore store = train(n, DType::f64, {{{"i", tensor({6}, kIdx[0])}, {"t", tensor({6, d}, t)}}});
  Vec w = pseudo(size_t(V * d), 0.5), g(size_t(V * d), 0.0), acc(size_t(V * d), 0.1);
  for (size_t k = 0; k < 6; ++k) {
    const auto v = size_t(kIdx[0][k]);
    for (size_t c = 0; c < size_t(d); ++c) g[v * d + c] += w[v * d + c] - t[k * d + c];
  }
  for (size_t e = 0; e < w.size(); ++e) {
    acc[e] += g[e] * g[e];
    w[e] -= 0.3 * g[e] / (std::sqrt(acc[e]) + 1e-8);
  }
  for (size_t e = 0; e < w.size(); ++e) {
    CAPTURE(e);
    CHECK(store.at("W").at(int64_t(e)) == doctest::Approx(w[e]).epsilon(1e-12));
    CHECK(store.at("W/adagrad_accum").at(int64_t(e)) == doctest::Approx(acc[e]).epsilon(1e-12));
  }
  // row 2 is named at positions 0, 2 and 5: summed first, so its
  // accumulator holds (Σ g)², not Σ g²
  const double w20 = pseudo(size_t(V * d), 0.5)[size_t(2 * d)];
  const double g2 = (w20 - t[0 * d]) + (w20 - t[2 * d]) + (w20 - t[5 * d]);
  CHECK(store.at("W/adagrad_accum").at(2 * d) == doctest::Approx(0.1 + g2 * g2).epsilon(1e-12));
}

TEST_CASE("SparseAdaGrad.ScheduledStepsByHand") {
  // Three steps with the learning rate on a schedule (exponential, halved
  // each step: 0.3, 0.15, 0.075), in float64 against plain loops; the
  // sparse update equals the dense one bit for bit, in float64 and float32.
  Body body = [](Graph& g, Value W, Value b) {
    Value i = input(g, "i", {6}), t = input(g, "t", {6, d});
    return 0.5 * sum(square(gather(W, i) - t)) + 0.5 * sum(square(gather(b, i)));
  };
  const LRSchedule halved = exponential_decay(0.5, 1);
  std::vector<Feeds> steps;
  for (size_t s = 0; s < kIdx.size(); ++s)
    steps.push_back({{"i", tensor({6}, kIdx[s])}, {"t", tensor({6, d}, pseudo(18, 4.0 + double(s)))}});
  for (DType dt : {DType::f64, DType::f32}) {
    CAPTURE(to_string(dt));
    Net sparse = build(body, true, {}, halved), dense = build(body, false, {}, halved);
    CHECK(count(*sparse.g, Op::SparseApplyAdaGrad) == 2);
    CHECK(count(*dense.g, Op::ApplyAdaGrad) == 2);
    ParamStore a = train(sparse, dt, steps), b = train(dense, dt, steps);
    for (const char* name : {"W", "b", "W/adagrad_accum", "b/adagrad_accum", "adagrad/iterations"}) {
      CAPTURE(name);
      CHECK(bitwise_equal(a.at(name), b.at(name)));
    }
    CHECK(a.at("adagrad/iterations").at(0) == 3);
    if (dt == DType::f32) continue;
    Vec w = pseudo(size_t(V * d), 0.5), acc(size_t(V * d), 0.1);
    for (size_t s = 0; s < kIdx.size(); ++s) {
      const double lr = 0.3 * std::pow(0.5, double(s));
      const Vec t = pseudo(18, 4.0 + double(s));
      Vec g(size_t(V * d), 0.0);
      for (size_t k = 0; k < 6; ++k) {
        const auto v = size_t(kIdx[s][k]);
        for (size_t c = 0; c < size_t(d); ++c) g[v * d + c] += w[v * d + c] - t[k * d + c];
      }
      for (size_t e = 0; e < w.size(); ++e) {
        acc[e] += g[e] * g[e];
        w[e] -= lr * g[e] / (std::sqrt(acc[e]) + 1e-8);
      }
    }
    for (size_t e = 0; e < w.size(); ++e) {
      CAPTURE(e);
      CHECK(a.at("W").at(int64_t(e)) == doctest::Approx(w[e]).epsilon(1e-12));
      CHECK(a.at("W/adagrad_accum").at(int64_t(e)) == doctest::Approx(acc[e]).epsilon(1e-12));
    }
  }
  // a schedule needs the step count: sparse_apply_adagrad without its iterations input
  Graph g;
  Value W = param(g, "W", {V, d}), acc = param(g, "acc", {V, d});
  Value dy = input(g, "dy", {4, d}), i = input(g, "i", {4});
  CHECK_THROWS_AS(g.add(Op::SparseApplyAdaGrad, {W.id(), acc.id(), dy.id(), i.id()},
                        SparseAdaGradAttrs{.lr = 0.1, .epsilon = 1e-8, .parts = {}, .schedule = halved}),
                  ShapeError);
}

TEST_CASE("SparseAdaGrad.TableGatheredTwiceEqualsDense") {
  // GloVe's shape with one table: the gradient is add_n of two gather_grads
  Body body = [](Graph& g, Value W, Value b) {
    Value i = input(g, "i", {6}), j = input(g, "j", {6}), x = input(g, "x", {6});
    Value diff = sum(gather(W, i) * gather(W, j), {1}) + gather(b, i) + gather(b, j) - x;
    return 0.5 * sum(square(diff));
  };
  CHECK(count(*build(body, true).g, Op::AddN) >= 2);
  std::vector<Feeds> steps;
  for (size_t s = 0; s < kIdx.size(); ++s)
    steps.push_back({{"i", tensor({6}, kIdx[s])},
                     {"j", tensor({6}, Vec(kIdx[s].rbegin(), kIdx[s].rend()))}, // rows repeated in both
                     {"x", tensor({6}, pseudo(6, 5.0 + double(s)))}});
  check_equal(body, steps, 2);
}

TEST_CASE("SparseAdaGrad.MatrixOfIndicesEqualsDense") {
  // (batch, time) indices, as an embedding layer: flattened in order
  Body body = [](Graph& g, Value W, Value b) {
    Value i = input(g, "i", {2, 3}), t = input(g, "t", {2, 3, d});
    return 0.5 * sum(square(gather(W, i) - t)) + sum(gather(b, i) * gather(b, i));
  };
  std::vector<Feeds> steps;
  for (size_t s = 0; s < kIdx.size(); ++s)
    steps.push_back({{"i", tensor({2, 3}, kIdx[s])}, {"t", tensor({2, 3, d}, pseudo(18, 7.0 + double(s)))}});
  check_equal(body, steps, 2);
}

TEST_CASE("SparseAdaGrad.DenseWhereTheGradientIsNotOnlyRows") {
  // W also used whole (an L2 term): its gradient is add_n(gather_grad, dense),
  // so W's update stays dense; b's is sparse
  Body body = [](Graph& g, Value W, Value b) {
    Value i = input(g, "i", {6}), t = input(g, "t", {6, d});
    return 0.5 * sum(square(gather(W, i) - t)) + 0.01 * sum(square(W)) + sum(square(gather(b, i)));
  };
  std::vector<Feeds> steps;
  for (size_t s = 0; s < kIdx.size(); ++s)
    steps.push_back({{"i", tensor({6}, kIdx[s])}, {"t", tensor({6, d}, pseudo(18, 11.0 + double(s)))}});
  for (DType dt : {DType::f64, DType::f32}) {
    Net sparse = build(body, true), dense = build(body, false);
    CHECK(count(*sparse.g, Op::SparseApplyAdaGrad) == 1);
    ParamStore a = train(sparse, dt, steps), b = train(dense, dt, steps);
    for (const char* name : {"W", "b", "W/adagrad_accum", "b/adagrad_accum"}) CHECK(bitwise_equal(a.at(name), b.at(name)));
  }
  // clipping: a clipped gradient is no gather_grad, the updates are dense
  Net clipped = build(body, true, Clip{.value = 0.5});
  CHECK(count(*clipped.g, Op::SparseApplyAdaGrad) == 0);
}

TEST_CASE("SparseAdaGrad.Errors") {
  Graph g;
  Value W = param(g, "W", {V, d}), a = param(g, "a", {V, d});
  Value i = input(g, "i", {4}), dy = input(g, "dy", {4, d});
  CHECK_THROWS(sparse_apply_adagrad(W, param(g, "a2", {V, d + 1}), dy, i, 0.1, 1e-8));
  CHECK_THROWS(sparse_apply_adagrad(W, a, input(g, "dy2", {4, d + 1}), i, 0.1, 1e-8));
  CHECK_THROWS(sparse_apply_adagrad(W, a, input(g, "dy3", {5, d}), i, 0.1, 1e-8));
  Value up = sparse_apply_adagrad(W, a, dy, i, 0.1, 1e-8);
  ParamStore store;
  Plan plan(g, store, std::vector<Value>{}, {up}, {DType::f64, 0});
  plan.feed("dy", tensor({4, d}, pseudo(12, 1.0)));
  plan.feed("i", tensor({4}, {0, 1, 7, 2}));
  CHECK_THROWS_WITH_AS(plan.run(), doctest::Contains("index 7 is out of range [0, 7)"), std::out_of_range);
  plan.feed("i", tensor({4}, {0, 1.5, 3, 2}));
  CHECK_THROWS_AS(plan.run(), std::out_of_range);
}
