// models/train/shapes: symbolic input shapes (sums of sizes among them), the
// sizes read off given tensors with defaults for the rest, the errors naming
// which input said what; fit::sizes_of on sum axes; SignatureGraph.
#include "models/train/fit.hpp"
#include "models/train/shapes.hpp"
#include "graph/plan.hpp"
#include "ops/ops.hpp"
#include "tests/helpers.hpp"

#include <doctest/doctest.h>

using namespace sg;
using namespace sg::test;

namespace {

const fit::Dim n = fit::dim("n"), k = fit::dim("k"), b = fit::dim("b");

// x (n, b); W acts on [h; x]: (k, k + n); z stacks x over h: (n + k, b).
const fit::Signature kToy{.model = "toy",
                          .inputs = {{"x", {n, b}},
                                     {"W", {k, k + n}},
                                     {"bias", {k, fit::dim(1)}},
                                     {"z", {n + k, b}},
                                     {"dy", {k, b}}},
                          .defaults = {{"n", 3}, {"k", 2}, {"b", 4}}};

std::string error(const std::vector<std::string>& names, const fit::Feeds& given) {
  return error_of<ShapeError>([&] { kToy.bind(names, given); });
}

} // namespace

TEST_CASE("Shapes.SymbolicText") {
  CHECK((k + n).text() == "k + n");
  CHECK(fit::dim(1).text() == "1");
  CHECK(fit::symbolic(kToy.decl("W")) == "(k, k + n)");
  CHECK(fit::symbolic(kToy.decl("bias")) == "(k, 1)");
  CHECK(fit::shape_of(kToy.decl("z"), {{"n", 3}, {"k", 2}, {"b", 4}}) == Shape{5, 4});
  CHECK_THROWS_AS(n + fit::dim(1), std::logic_error);
  CHECK_THROWS_AS(kToy.decl("nope"), std::logic_error);
  CHECK(error_of<std::invalid_argument>([] { fit::shape_of(kToy.decl("W"), {{"k", 2}}); }) ==
            "no size 'n' for input 'W'");
}

TEST_CASE("Shapes.Defaults") {
  // Nothing given: every size its default.
  fit::Bound s = kToy.bind({"x", "W", "bias"}, {});
  CHECK(s.sizes == fit::Sizes{{"b", 4}, {"k", 2}, {"n", 3}});
  CHECK(s.source.empty());
  CHECK(s.says("n") == "n = 3 by default");
  // A graph's sizes are those of its own inputs; other given tensors do not count.
  CHECK(kToy.sizes({"bias"}, {{"x", Tensor({7, 9})}}) == fit::Sizes{{"k", 2}});
  // A symbol neither given nor defaulted.
  const fit::Signature bare{.model = "bare", .inputs = {{"x", {n, b}}}};
  CHECK(error_of<ShapeError>([&] { bare.bind({"x"}, {}); }) ==
        "bare: no given input shows n (the size of an axis of x (n, b))");
  CHECK(bare.sizes({"x"}, {{"x", Tensor({6, 1})}}) == fit::Sizes{{"b", 1}, {"n", 6}});
}

TEST_CASE("Shapes.SumAxes") {
  // W alone: k from its axis 0, then n from its k + n axis; b by default.
  fit::Bound s = kToy.bind({"x", "W"}, {{"W", Tensor({6, 10})}});
  CHECK(s.sizes == fit::Sizes{{"b", 4}, {"k", 6}, {"n", 4}});
  CHECK(s.source.at("n").input == "W");
  CHECK(s.source.at("n").axis == 1);
  CHECK(s.says("n") == "W says n = 4");
  CHECK(s.says("n", "W") == "its axis 1 says n = 4");
  CHECK(s.says("b") == "b = 4 by default");
  // z's n + k binds n once W's axis 0 has bound k; W then agrees.
  s = kToy.bind({"z", "W"}, {{"z", Tensor({9, 3})}, {"W", Tensor({2, 9})}});
  CHECK(s.sizes == fit::Sizes{{"b", 3}, {"k", 2}, {"n", 7}});
  CHECK(s.says("n") == "z says n = 7");
  // A sum with its one unknown below 1 binds nothing: the default, then the mismatch.
  CHECK(error({"W"}, {{"W", Tensor({6, 5})}}) ==
        "toy: W is (6, 5) but its axis 0 says k = 6 and n = 3 by default (expected W (k, k + n) = (6, 9))");
}

TEST_CASE("Shapes.ConflictingInputs") {
  // x binds b = 4, z says 6.
  CHECK(error({"x", "z"}, {{"x", Tensor({3, 4})}, {"z", Tensor({5, 6})}}) ==
        "toy: z is (5, 6) but x says b = 4 (expected z (n + k, b) = (5, 4))");
  // Two sums show n (k from W's axis 0): the first in the graph's order binds it.
  CHECK(error({"z", "W"}, {{"z", Tensor({7, 3})}, {"W", Tensor({2, 5})}}) ==
        "toy: W is (2, 5) but its axis 0 says k = 2 and z says n = 5 (expected W (k, k + n) = (2, 7))");
  CHECK(error({"W", "z"}, {{"z", Tensor({7, 3})}, {"W", Tensor({2, 5})}}) ==
        "toy: z is (7, 3) but W says n = 3 and W says k = 2 (expected z (n + k, b) = (5, 3))");
  // An axis of one symbol binds before any sum, whatever the order: x's n = 3, and z is the odd one out.
  CHECK(error({"z", "W", "x"}, {{"z", Tensor({7, 3})}, {"W", Tensor({2, 5})}, {"x", Tensor({3, 3})}}) ==
        "toy: z is (7, 3) but x says n = 3 and W says k = 2 (expected z (n + k, b) = (5, 3))");
  // A size below 1.
  CHECK(error({"x"}, {{"x", Tensor({0, 4})}}) == "toy: x says n = 0: every dimension must be at least 1");
}

TEST_CASE("Shapes.RankAndFixedAxes") {
  // A wrong rank shows no size (k is the default) and is reported.
  CHECK(error({"bias"}, {{"bias", Tensor({5})}}) ==
        "toy: bias is (5,) but it must have rank 2 (expected bias (k, 1) = (2, 1))");
  CHECK(error({"x", "W"}, {{"x", Tensor({3, 4, 1})}}) ==
        "toy: x is (3, 4, 1) but it must have rank 2 (expected x (n, b) = (3, 4))");
  CHECK(error({"bias"}, {{"bias", Tensor({5, 2})}}) ==
        "toy: bias is (5, 2) but its axis 1 must be 1 (expected bias (k, 1) = (5, 1))");
}

TEST_CASE("Shapes.SignatureGraph") {
  fit::SignatureGraph g(kToy, {{"W", Tensor({4, 7}, DType::f64)}}, {"W", "x"}, {"dy"});
  CHECK(g.sizes() == fit::Sizes{{"b", 4}, {"k", 4}, {"n", 3}});
  CHECK(g["W"].shape() == Shape{4, 7});
  CHECK(g["x"].shape() == Shape{3, 4});
  CHECK(g["dy"].shape() == Shape{4, 4});
  CHECK_THROWS_AS(g["z"], std::logic_error);

  // y = W [h; x] with h = 0, k = 1, n = 2, b = 1: dW = dy [h; x]^T, dx = W[:, 1:]^T dy.
  Tensor W({1, 3}, DType::f64), x({2, 1}, DType::f64), dy({1, 1}, DType::f64);
  for (int64_t i = 0; i < 3; ++i) W.set(i, double(i + 1)); // 1 2 3
  x.set(0, 4), x.set(1, 5), dy.set(0, 2);
  const fit::Feeds given = {{"W", W}, {"x", x}, {"dy", dy}};
  fit::SignatureGraph v(kToy, given, {"W", "x"}, {"dy"});
  Value h = constant(v.graph(), Tensor({1, 1}, DType::f64), "h");
  BuiltGraph built = v.gradients({matmul(v["W"], concat({h, v["x"]}, 0))});
  REQUIRE(built.outputs.size() == 2);
  CHECK(built.outputs[0].first == "dW");
  CHECK(built.outputs[1].first == "dx");
  CHECK(built.differentiable.size() == 2); // the cotangent is not
  ParamStore ps;
  Plan p(*built.graph, ps, {built.outputs[0].second, built.outputs[1].second}, {}, {DType::f64});
  for (auto& [name, t] : given) p.feed(name, t);
  p.run();
  const Tensor dW = p.fetch(built.outputs[0].second), dx = p.fetch(built.outputs[1].second);
  CHECK(dW.shape() == Shape{1, 3});
  CHECK(dW.at(0) == 0);
  CHECK(dW.at(1) == 8);
  CHECK(dW.at(2) == 10);
  CHECK(dx.shape() == Shape{2, 1});
  CHECK(dx.at(0) == 4);
  CHECK(dx.at(1) == 6);
}

TEST_CASE("Shapes.SizesOfSumAxes") {
  const fit::Dim n_a = fit::dim("n_a"), n_x = fit::dim("n_x");
  const std::vector<fit::InputDecl> d = {{"X", {fit::batch, n_a + n_x}}, {"h", {fit::batch, n_a}}};
  CHECK(fit::sizes_of(d, {{"X", Tensor({4, 7})}, {"h", Tensor({4, 5})}}) ==
        fit::Sizes{{"batch", 4}, {"n_a", 5}, {"n_x", 2}});
  CHECK(error_of<std::invalid_argument>([&] { fit::sizes_of(d, {{"X", Tensor({4, 4})}, {"h", Tensor({4, 5})}}); }) ==
        "input 'X' is (4, 4): its n_a + n_x (axis 1) is 4, leaving n_x = -1");
  CHECK(error_of<std::invalid_argument>([&] { fit::sizes_of({d[0]}, {{"X", Tensor({4, 7})}}); }) ==
        "input 'X' is (4, 7): its n_a + n_x (axis 1) is 7: no other input shows n_a, n_x");
  std::vector<fit::InputDecl> u = d;
  u.push_back({"u", {n_x}});
  CHECK(error_of<std::invalid_argument>(
            [&] { fit::sizes_of(u, {{"X", Tensor({4, 7})}, {"h", Tensor({4, 5})}, {"u", Tensor({3})}}); }) ==
        "input 'X' is (4, 7): its n_a + n_x (axis 1) is 7, the other inputs make it 8");
}
