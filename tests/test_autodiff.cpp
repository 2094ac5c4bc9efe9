// Reverse mode as a graph transform: fan-in sums, shared weights, pruning
// to the requested values, seeds, errors, and gradients of gradients.
#include "autodiff/autodiff.hpp"
#include "autodiff/gradcheck.hpp"
#include "graph/dot.hpp"
#include "graph/plan.hpp"
#include "ops/ops.hpp"

#include <cmath>
#include <fmt/format.h>
#include <doctest/doctest.h>

using namespace sg;

namespace {
Tensor vec(std::vector<double> v) {
  int64_t n = int64_t(v.size());
  return Tensor::from({n}, v, DType::f64);
}
Tensor run1(Graph& g, Value out, const std::map<std::string, Tensor>& feeds) {
  ParamStore ps;
  Plan p(g, ps, std::vector<Value>{out}, {}, {DType::f64});
  for (auto& [k, v] : feeds) p.feed(k, v);
  p.run();
  return p.fetch(out);
}
int count_kind(const Graph& g, NodeKind k, Op op) {
  int n = 0;
  for (NodeId i = 0; i < g.size(); ++i) n += g.node(i).kind == k && g.node(i).op == op;
  return n;
}
} // namespace

TEST_CASE("Autodiff.FanInIsAnExplicitAdd") {
  Graph g;
  Value x = input(g, "x", {3});
  Value y = x * x + tanh(x); // x used three times
  Value dx = gradients({y}, {}, {x})[0];
  CHECK(dx.node().kind == NodeKind::gradient);
  CHECK(dx.node().op == Op::AddN);
  CHECK(dx.node().inputs.size() == 3);
  Tensor xv = vec({0.3, -1.2, 2.0});
  Tensor d = run1(g, dx, {{"x", xv}});
  for (int i = 0; i < 3; ++i) {
    double v = xv.at(i), t = std::tanh(v);
    CHECK(d.at(i) == doctest::Approx(2 * v + 1 - t * t).epsilon(1e-14));
  }
}

TEST_CASE("Autodiff.SharedWeightsSumOverUses") {
  // h_{t+1} = tanh(W h_t), three steps: dW = sum_t dz_t h_t^T is one product
  // of the concatenated operands, [dz_0 dz_1 dz_2] [h_0 h_1 h_2]^T.
  Graph g;
  Value W = input(g, "W", {2, 2});
  Value h = input(g, "h0", {2, 1});
  for (int t = 0; t < 3; ++t) h = tanh(matmul(W, h));
  Value loss = sum(h);
  Value dW = gradients(loss, {W})[0];
  REQUIRE(dW.node().op == Op::MatMul);
  for (NodeId in : dW.node().inputs) {
    CHECK(g.node(in).op == Op::Concat);
    CHECK(g.node(in).inputs.size() == 3);
    CHECK(g.node(in).shape == Shape{2, 3});
  }
  // the three per-step products it replaces are marked, and not drawn
  std::vector<NodeId> gone;
  for (NodeId n = 0; n < g.size(); ++n)
    if (g.node(n).superseded) gone.push_back(n);
  REQUIRE(gone.size() == 3);
  const std::string dot = to_dot(g);
  for (NodeId n : gone) {
    CHECK(g.node(n).op == Op::MatMul);
    CHECK(dot.find(fmt::format("n{} ", n)) == std::string::npos);
  }
  for (auto& r : gradcheck(g, loss, {W, Value(g, g.at("h0"))})) {
    INFO(r.name);
    CHECK(r.max_rel < 1e-7);
  }
}

TEST_CASE("Autodiff.ProductsAreSummedByAddWhenConcatenatingCostsMore") {
  // x_t (64, 3) W (3, 2): dW = sum_t x_t^T dy_t. Concatenating the x_t and
  // dy_t would copy 2 * 64 * 5 numbers to save adding two 3x2 products: add_n.
  Graph g;
  Value W = input(g, "W", {3, 2});
  Value loss;
  for (int t = 0; t < 2; ++t) {
    Value e = sum(tanh(matmul(input(g, "x" + std::to_string(t), {64, 3}), W)));
    loss = loss ? loss + e : e;
  }
  Value dW = gradients(loss, {W})[0];
  CHECK(dW.node().op == Op::AddN);
  CHECK(dW.node().inputs.size() == 2);
  for (auto& r : gradcheck(g, loss, {W})) CHECK(r.max_rel < 1e-7);
}

TEST_CASE("Autodiff.SplitCotangentsAreConcatenated") {
  // z split four ways, three of the parts used: the gradient is one concat
  // of the parts' cotangents with zeros for the unused part, no add.
  Graph g;
  Value z = input(g, "z", {2, 8});
  auto parts = split(z, 1, {2, 2, 2, 2});
  Value loss = sum(tanh(parts[0])) + sum(sigmoid(parts[1])) + sum(square(parts[3]));
  Value dz = gradients(loss, {z})[0];
  REQUIRE(dz.node().op == Op::Concat);
  CHECK(dz.node().inputs.size() == 4);
  CHECK(g.node(dz.node().inputs[2]).op == Op::Constant);
  Tensor zv({2, 8}, DType::f64);
  for (int64_t i = 0; i < zv.size(); ++i) zv.set(i, std::sin(1.7 * double(i)) * 2);
  Tensor d = run1(g, dz, {{"z", zv}});
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 8; ++c) {
      const double v = zv.at(r * 8 + c), sg = 1 / (1 + std::exp(-v));
      const double want = c < 2 ? 1 - std::tanh(v) * std::tanh(v) : c < 4 ? sg * (1 - sg) : c < 6 ? 0 : 2 * v;
      CHECK(d.at(r * 8 + c) == doctest::Approx(want).epsilon(1e-14));
    }
  // overlapping slices are summed as before
  Graph h;
  Value y = input(h, "y", {6});
  Value l2 = sum(square(slice(y, 0, 0, 4))) + sum(slice(y, 0, 2, 6));
  CHECK(gradients(l2, {y})[0].node().op == Op::AddN);
  for (auto& r : gradcheck(h, l2, {y})) CHECK(r.max_rel < 1e-7);
}

TEST_CASE("Autodiff.OnlyPathsToRequestedValues") {
  Graph g;
  Value a = input(g, "a", {4});
  Value b = input(g, "b", {4});
  Value eb = exp(b);
  Value loss = sum(tanh(a)) + sum(eb);
  size_t before = g.size();
  Value da = gradients(loss, {a})[0];
  // No gradient node reads the b branch: its gradient was not requested.
  for (NodeId i = before; i < g.size(); ++i)
    for (NodeId in : g.node(i).inputs) {
      INFO(g.node(i).name);
      CHECK(in != eb.id());
      CHECK(in != b.id());
    }
  CHECK(count_kind(g, NodeKind::gradient, Op::Exp) == 0);
  // A value the output does not depend on gets zeros.
  Value c = input(g, "c", {2, 2});
  Value dc = gradients(loss, {c})[0];
  Tensor z = run1(g, dc, {});
  CHECK(z.shape() == Shape{2, 2});
  CHECK(z.values() == std::vector<double>(4, 0.0));
  (void)da;
}

TEST_CASE("Autodiff.SeedsAreCotangents") {
  Graph g;
  Value x = input(g, "x", {3});
  Value dy = input(g, "dy", {3});
  Value y = x * x;
  Value dx = gradients({y}, {dy}, {x})[0];
  Tensor d = run1(g, dx, {{"x", vec({1, 2, 3})}, {"dy", vec({10, 20, 30})}});
  CHECK(d.values() == std::vector<double>{20, 80, 180});
  Value bad = input(g, "bad", {2});
  CHECK_THROWS_WITH_AS(gradients({y}, {bad}, {x}), doctest::Contains("seed 'bad'"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(gradients(y, {x}), doctest::Contains("give a seed"), std::invalid_argument);
}

TEST_CASE("Autodiff.NonDifferentiablePathIsAnError") {
  Graph g;
  Value p = input(g, "p", {3, 1});
  Value s = sample_categorical(softmax(p, 0), 0);
  Value loss = sum(s * 2.0);
  CHECK_THROWS_WITH_AS(gradients(loss, {p}), doctest::Contains("sampling"), std::invalid_argument);
  // Piecewise-constant ops pass no gradient, without error: relu'(x) = step(x).
  Value x = input(g, "x", {3});
  Value y = sum(step(x) * x);
  Tensor d = run1(g, gradients(y, {x})[0], {{"x", vec({-1, 0.5, 2})}});
  CHECK(d.values() == std::vector<double>{0, 1, 1});
}

TEST_CASE("Autodiff.SecondOrderElementwise") {
  Graph g;
  Value x = input(g, "x", {5});
  Value y = input(g, "y", {5});
  Value f = sum(tanh(x) * y * y / (x * x + 1.0) + exp(x * 0.5) - sigmoid(y) + sqrt(x * x + 2.0));
  std::vector<Value> d = gradients(f, {x, y});
  // Check d(<r, df/dx>)/d{x, y} (second derivatives) against finite differences.
  for (int k = 0; k < 2; ++k)
    for (auto& r : gradcheck(g, d[size_t(k)], {x, y})) {
      INFO("d/d", r.name, " of grad ", k);
      CHECK(r.max_rel < 1e-6);
    }
}

TEST_CASE("Autodiff.SecondOrderMatmul") {
  Graph g;
  Value W = input(g, "W", {3, 4});
  Value x = input(g, "x", {4, 2});
  Value f = sum(tanh(matmul(W, x)) * matmul(W, x, false, false));
  std::vector<Value> d = gradients(f, {W, x});
  for (int k = 0; k < 2; ++k)
    for (auto& r : gradcheck(g, d[size_t(k)], {W, x})) {
      INFO("d/d", r.name, " of grad ", k);
      CHECK(r.max_rel < 1e-6);
    }
  // the transposed flags too
  Graph h;
  Value A = input(h, "A", {4, 3});
  Value B = input(h, "B", {2, 4});
  Value f2 = sum(square(matmul(A, B, true, true)));
  for (auto& r : gradcheck(h, gradients(f2, {A, B})[0], {A, B})) {
    INFO("d/d", r.name);
    CHECK(r.max_rel < 1e-6);
  }
}

TEST_CASE("Autodiff.GradcheckParameterTheOutputDoesNotRead") {
  // y reads W but not V (as an RNN's hidden state does not read the output
  // weights): V's gradient is zero, and gradcheck says so instead of failing.
  Graph g;
  Value x = input(g, "x", {3, 1});
  Value W = param(g, "W", {2, 3});
  Value V = param(g, "V", {4, 2});
  Value y = tanh(matmul(W, x));
  (void)matmul(V, y); // another output, not checked here
  auto res = gradcheck(g, y, {W, V});
  REQUIRE(res.size() == 2);
  CHECK(res[0].name == "W");
  CHECK(res[0].max_rel < 1e-7);
  CHECK(res[1].name == "V");
  CHECK(res[1].max_abs == 0);
}
