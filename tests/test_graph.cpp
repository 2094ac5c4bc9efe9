// The graph IR and builder: names and scopes, shape inference, shape errors
// that name the node, the op, the shapes and the call site; the op registry.
#include "graph/graph.hpp"
#include "graph/plan.hpp"
#include "ops/ops.hpp"

#include <doctest/doctest.h>

using namespace sg;

TEST_CASE("Graph.NamesAndScopes") {
  Graph g;
  Value x = input(g, "x", {4, 3});
  Value w;
  {
    auto s = g.scope("lstm");
    w = param(g, "Wf", {5, 4}, Initializer::glorot_uniform());
    auto inner = g.scope("gate");
    Value t = tanh(x);
    CHECK(t.name() == "lstm/gate/tanh");
    Value t2 = tanh(x);
    CHECK(t2.name() == "lstm/gate/tanh_1");
    CHECK(t2.named("h").name() == "lstm/gate/h");
  }
  CHECK(w.name() == "lstm/Wf");
  CHECK(w.node().scope() == "lstm");
  CHECK(g.at("lstm/Wf") == w.id());
  CHECK_THROWS_WITH_AS(g.at("lstm/Wq"), doctest::Contains("lstm/Wf"), std::out_of_range);
  CHECK_THROWS_AS(input(g, "x", {1}), ShapeError); // duplicate name
  CHECK(x.node().kind == NodeKind::forward);
  // Node ids are a topological order and edges mirror inputs.
  Value y = x * x;
  CHECK(y.node().inputs == std::vector<NodeId>{x.id(), x.id()});
  CHECK(boost::in_degree(y.id(), g.boost()) == 2);
  CHECK(g.consumers(x.id()).size() == 3);
}

TEST_CASE("Graph.LayerNamesMasksAndScopeAt") {
  Graph g;
  CHECK(g.layer_name("lstm") == "lstm");
  CHECK(g.layer_name("lstm") == "lstm_1");
  CHECK(g.layer_name("dense") == "dense");
  input(g, "gru/x", {1});          // a scope in use
  input(g, "embedding", {1});      // a node's name
  CHECK(g.layer_name("gru") == "gru_1");
  CHECK(g.layer_name("embedding") == "embedding_1");
  Value x = input(g, "x", {2, 3}), m = input(g, "m", {2, 3});
  CHECK(!g.mask_of(x.id()));
  g.set_mask(x.id(), m.id());
  CHECK(g.mask_of(x.id()) == m.id());
  CHECK_THROWS_AS(g.set_mask(x.id(), 999), std::out_of_range);
  {
    auto outer = g.scope("t1");
    auto at = g.scope_at("dense");
    CHECK(param(g, "kernel", {3}).name() == "dense/kernel");
    auto top = g.scope_at("");
    CHECK(tanh(x).name() == "tanh");
  }
  CHECK(g.prefix().empty());
  CHECK(!g.training);
  CHECK(g.state_updates.empty());
}

TEST_CASE("Graph.InitializerFromTensor") {
  const Tensor t = Tensor::from({2, 2}, {1, -2, 0.5, 4}, DType::f64);
  const Initializer init = Initializer::from(t);
  const Tensor made = init.make({2, 2}, DType::f32, 0, "w");
  CHECK(made.dtype() == DType::f32);
  CHECK(made.values() == t.values());
  CHECK(init.describe() == "tensor (2, 2)");
  CHECK_THROWS_AS(init.make({4}, DType::f32, 0, "w"), std::invalid_argument);
}

TEST_CASE("Graph.ShapeInference") {
  Graph g;
  Value a = input(g, "a", {5, 10});
  Value b = input(g, "b", {5, 1});
  Value s = input(g, "s", {});
  CHECK((a + b).shape() == Shape{5, 10});
  CHECK((b * a).shape() == Shape{5, 10});
  CHECK((a * s).shape() == Shape{5, 10});
  CHECK((a * 2.0).shape() == Shape{5, 10});
  CHECK(tanh(b).shape() == Shape{5, 1});
  CHECK(add_n({a, a, a}).shape() == Shape{5, 10});
}

TEST_CASE("Graph.ShapeErrorsNameNodeOpShapesAndRule") {
  Graph g;
  Value a = input(g, "a", {5, 10});
  Value c = input(g, "c", {3, 10});
  Value v = input(g, "v", {10});
  try {
    (void)add(a, c); // the line of this call is reported
    FAIL("no error for (5, 10) + (3, 10)");
  } catch (const ShapeError& e) {
    std::string m = e.what();
    CHECK(m.find("'add'") != std::string::npos);        // the node
    CHECK(m.find("op add") != std::string::npos);       // the op
    CHECK(m.find("(5, 10)") != std::string::npos);      // the shapes
    CHECK(m.find("(3, 10)") != std::string::npos);
    CHECK(m.find("'a'") != std::string::npos);          // the inputs by name
    CHECK(m.find("axis 0 is 5 vs 3") != std::string::npos); // the rule
    CHECK(m.find("tests/test_graph.cpp:") != std::string::npos); // the call site
  }
  // Rank promotion is not silent: the user must reshape.
  CHECK_THROWS_WITH_AS(mul(a, v), doctest::Contains("different ranks"), ShapeError);
  CHECK_THROWS_WITH_AS(add_n({a, c}), doctest::Contains("add_n needs equal shapes"), ShapeError);
  CHECK_THROWS_AS(clip(a, 1.0, -1.0), std::invalid_argument);
  Graph other;
  Value o = input(other, "o", {5, 10});
  CHECK_THROWS_WITH_AS(add(a, o), doctest::Contains("different graphs"), std::invalid_argument);
}

TEST_CASE("Graph.RegistryDefinesEveryListedOp") {
  for (size_t i = 0; i < kOpCount; ++i) {
    Op op = static_cast<Op>(i);
    INFO("op #", i, " of ops/op_list.def");
    REQUIRE(op_defined(op));
    const OpDef& d = op_def(op);
    CHECK(bool(d.shape));
    CHECK(bool(d.kernel.f32));
    CHECK(bool(d.kernel.f64));
    CHECK((bool(d.vjp) || d.no_grad)); // a VJP, or a reason why not
  }
}

TEST_CASE("Graph.AttrsAreTheOpsNamedStruct") {
  Graph g;
  Value x = input(g, "x", {2, 5, 3});
  Value s = slice(x, 1, 1, -1);
  const Attrs a = s.node().attrs;
  CHECK(std::string(a.name()) == "SliceAttrs");
  CHECK(std::string(op_attrs_name(Op::Slice)) == "SliceAttrs");
  CHECK(a.index() == op_attrs_index(Op::Slice));
  CHECK(a.get<SliceAttrs>() == SliceAttrs{.axis = 1, .begin = 1, .end = 4});
  // describe: the held struct's fields by name
  CHECK(describe(a) == "axis=1, begin=1, end=4");
  CHECK(describe(Attrs{}) == "");
  CHECK(describe(x.node().attrs) == "shape=(2, 5, 3)");
  CHECK(describe(sum(x, {-1}, true).node().attrs) == "axes=(2,), keepdims=true");
  CHECK(describe(matmul(input(g, "a", {3, 2}), input(g, "b", {3, 4}), true).node().attrs) ==
        "transpose_a=true, transpose_b=false");
  Value w = input(g, "w", {2, 3, 4});
  CHECK(describe(conv1d(x, w, 2, "same").node().attrs) == "stride=2, padding=same");
  CHECK(describe(clip(x, -0.5, 2.0).node().attrs) == "lo=-0.5, hi=2");
  // reading another struct is an error that names both
  CHECK_THROWS_WITH_AS(a.get<ReduceAttrs>(),
                       doctest::Contains("read as ReduceAttrs, but the node holds SliceAttrs (axis=1, "
                                         "begin=1, end=4)"),
                       std::logic_error);
  CHECK_THROWS_WITH_AS(Attrs{}.get<AxisAttrs>(), doctest::Contains("the node holds NoAttrs"),
                       std::logic_error);
  // a node holds the struct its op's row names, no other
  CHECK_THROWS_WITH_AS(g.add(Op::Slice, {x.id()}, ReduceAttrs{.axes = {0}}),
                       doctest::Contains("the op's attributes are SliceAttrs (ops/op_list.def), got "
                                         "ReduceAttrs"),
                       std::invalid_argument);
  CHECK_THROWS_AS(g.add(Op::Slice, {x.id()}), std::invalid_argument);
  CHECK_THROWS_AS(g.add(Op::Neg, {x.id()}, AxisAttrs{0}), std::invalid_argument);
  // equality: the same struct with the same fields
  CHECK(Attrs(AxisAttrs{1}) == Attrs(AxisAttrs{1}));
  CHECK_FALSE(Attrs(AxisAttrs{1}) == Attrs(AxisAttrs{2}));
  CHECK_FALSE(Attrs(AxisAttrs{0}) == Attrs(GatherGradAttrs{0}));
}

// Shapes are bounded (kMaxElements = 2^40) where they enter a graph and where
// inference makes them, so no element count or byte size can overflow later;
// a plan that would not fit in memory is refused before it allocates.
TEST_CASE("Graph.ShapesAreBounded") {
  Graph g;
  CHECK_THROWS_WITH_AS((void)input(g, "huge", {0, int64_t(1) << 41}), doctest::Contains("more than 2^40 elements"),
                       ShapeError);
  Value x = input(g, "x", {int64_t(1) << 21, 0});
  Value w = input(g, "w", {0, int64_t(1) << 20});
  CHECK(checked_numel(x.shape()) == 0);
  try {
    (void)matmul(x, w); // (2^21, 2^20): 2^41 elements
    FAIL("no error for a (2^21, 2^20) product");
  } catch (const ShapeError& e) {
    const std::string m = e.what();
    CHECK(m.find("op matmul") != std::string::npos);
    CHECK(m.find("(2097152, 1048576) would have more than 2^40 elements") != std::string::npos);
  }
  CHECK(checked_numel({int64_t(1) << 20, int64_t(1) << 20}) == int64_t(1) << 40);
  CHECK(checked_numel({(int64_t(1) << 20) + 1, int64_t(1) << 20}) == -1);
  CHECK(checked_numel({3, -1}) == -1);
  CHECK(checked_numel({}) == 1);
  CHECK_THROWS_AS(Tensor({int64_t(1) << 30, int64_t(1) << 30}), std::length_error);

  // 2^39 float32 elements: within the bound, far beyond this machine's memory
  Graph h;
  Value big = relu(input(h, "big", {int64_t(1) << 20, int64_t(1) << 19}));
  ParamStore params;
  try {
    Plan plan(h, params, {big});
    FAIL("a 2 TiB plan compiled");
  } catch (const std::length_error& e) {
    const std::string m = e.what();
    CHECK(m.find("more than this machine's") != std::string::npos);
    CHECK(m.find("(1048576, 524288)") != std::string::npos);
  }
}
