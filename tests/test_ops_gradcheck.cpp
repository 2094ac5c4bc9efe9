// Every differentiable op against finite differences, from one table of
// cases. Each case builds its inputs and one op; the runner draws the input
// values (per-input ranges where the op needs them), differentiates w.r.t.
// every input not listed as fixed, and compares with central differences in
// float64. A last test checks that the table covers every op with a VJP.
#include "autodiff/gradcheck.hpp"
#include "graph/random.hpp"
#include "ops/ops.hpp"

#include <doctest/doctest.h>
#include <functional>
#include <set>

using namespace sg;

namespace {

struct Range {
  double lo, hi;
};

struct OpCase {
  std::string name;                    // Family.Op
  std::function<Value(Graph&)> build;  // inputs + the op under test
  std::map<std::string, Range> ranges = {};   // uniform draws for these inputs (else N(0,1))
  std::map<std::string, Tensor> fixed = {};   // given values, not differentiated (indices, ...)
  double tol = 1e-6;                   // on max |analytic - numeric| / max(1, |numeric|)
};

Value in(Graph& g, const std::string& name, Shape s) { return input(g, name, std::move(s)); }

[[maybe_unused]] Tensor indices(Shape s, std::vector<double> v) {
  return Tensor::from(std::move(s), v, DType::f64);
}

// clang-format off
std::vector<OpCase> cases() {
  return {
    // ---- elementwise
    {"Elementwise.Neg", [](Graph& g) { return -in(g, "a", {3, 4}); }},
    {"Elementwise.Exp", [](Graph& g) { return exp(in(g, "a", {3, 4})); }},
    {"Elementwise.Log", [](Graph& g) { return log(in(g, "a", {3, 4})); }, {{"a", {0.5, 3}}}},
    {"Elementwise.Tanh", [](Graph& g) { return tanh(in(g, "a", {3, 4})); }},
    {"Elementwise.Sigmoid", [](Graph& g) { return sigmoid(in(g, "a", {3, 4})); }},
    // the activations' gradients as ops of their own (second derivatives)
    {"Elementwise.TanhGrad", [](Graph& g) { return tanh_grad(in(g, "y", {3, 4}), in(g, "dy", {3, 4})); }, {{"y", {-0.95, 0.95}}}},
    {"Elementwise.SigmoidGrad", [](Graph& g) { return sigmoid_grad(in(g, "y", {3, 4}), in(g, "dy", {3, 4})); }, {{"y", {0.05, 0.95}}}},
    // tanh through its gradient: the VJP of tanh_grad w.r.t. y composes with tanh's own
    {"Elementwise.TanhGradOfTanh", [](Graph& g) { Value x = in(g, "x", {3, 4}); return tanh_grad(tanh(x), x); }},
    {"Elementwise.Relu", [](Graph& g) { return relu(in(g, "a", {3, 4})); }, {{"a", {0.1, 2}}}},
    {"Elementwise.ReluNegative", [](Graph& g) { return relu(in(g, "a", {3, 4})); }, {{"a", {-2, -0.1}}}},
    {"Elementwise.Sqrt", [](Graph& g) { return sqrt(in(g, "a", {3, 4})); }, {{"a", {0.5, 3}}}},
    {"Elementwise.Square", [](Graph& g) { return square(in(g, "a", {3, 4})); }},
    {"Elementwise.PowScalar", [](Graph& g) { return pow(in(g, "a", {3, 4}), 2.5); }, {{"a", {0.5, 2}}}},
    {"Elementwise.Clip", [](Graph& g) { return clip(in(g, "a", {4, 5}), -0.5, 0.5); }, {{"a", {-1.5, 1.5}}}},
    {"Elementwise.Add", [](Graph& g) { return in(g, "a", {3, 4}) + in(g, "b", {3, 4}); }},
    {"Elementwise.AddBroadcast", [](Graph& g) { return in(g, "a", {3, 4}) + in(g, "b", {3, 1}); }},
    {"Elementwise.AddScalar", [](Graph& g) { return in(g, "a", {3, 4}) + in(g, "b", {}); }},
    {"Elementwise.Sub", [](Graph& g) { return in(g, "a", {1, 4}) - in(g, "b", {3, 4}); }},
    {"Elementwise.Mul", [](Graph& g) { return in(g, "a", {2, 3, 4}) * in(g, "b", {2, 1, 4}); }},
    {"Elementwise.Div", [](Graph& g) { return in(g, "a", {3, 4}) / in(g, "b", {3, 4}); }, {{"b", {0.5, 2}}}},
    {"Elementwise.DivBroadcast", [](Graph& g) { return in(g, "a", {3, 4}) / in(g, "b", {1, 4}); }, {{"b", {0.5, 2}}}},
    {"Elementwise.Maximum", [](Graph& g) { return maximum(in(g, "a", {3, 4}), in(g, "b", {3, 4})); }},
    {"Elementwise.Minimum", [](Graph& g) { return minimum(in(g, "a", {3, 4}), in(g, "b", {3, 1})); }},
    {"Elementwise.Pow", [](Graph& g) { return pow(in(g, "a", {3, 4}), in(g, "b", {3, 4})); }, {{"a", {0.5, 2}}, {"b", {-1, 2}}}},
    {"Elementwise.AddN", [](Graph& g) { return add_n({in(g, "a", {2, 3}), in(g, "b", {2, 3}), in(g, "c", {2, 3})}); }},
    // ---- linalg + shape (ops/linalg.cpp, ops/shape.cpp)
    {"Linalg.MatMul", [](Graph& g) { return matmul(in(g, "a", {3, 4}), in(g, "b", {4, 2})); }},
    {"Linalg.MatMulTA", [](Graph& g) { return matmul(in(g, "a", {4, 3}), in(g, "b", {4, 2}), true, false); }},
    {"Linalg.MatMulTB", [](Graph& g) { return matmul(in(g, "a", {3, 4}), in(g, "b", {2, 4}), false, true); }},
    {"Linalg.MatMulTATB", [](Graph& g) { return matmul(in(g, "a", {4, 3}), in(g, "b", {2, 4}), true, true); }},
    {"Linalg.BatchMatMul", [](Graph& g) { return batch_matmul(in(g, "a", {2, 3, 4}), in(g, "b", {2, 4, 2})); }},
    {"Linalg.BatchMatMulTA", [](Graph& g) { return batch_matmul(in(g, "a", {2, 4, 3}), in(g, "b", {2, 4, 2}), true, false); }},
    {"Linalg.BatchMatMulTB", [](Graph& g) { return batch_matmul(in(g, "a", {2, 3, 4}), in(g, "b", {2, 2, 4}), false, true); }},
    {"Linalg.BatchMatMulTATB", [](Graph& g) { return batch_matmul(in(g, "a", {2, 4, 3}), in(g, "b", {2, 2, 4}), true, true); }},
    {"Shape.Transpose", [](Graph& g) { return transpose(in(g, "a", {3, 4})); }},
    {"Shape.Permute", [](Graph& g) { return permute(in(g, "a", {2, 3, 4}), {1, 2, 0}); }},
    {"Shape.Reshape", [](Graph& g) { return reshape(in(g, "a", {2, 3, 2}), {3, -1}); }},
    {"Shape.BroadcastTo", [](Graph& g) { return broadcast_to(in(g, "a", {2, 1, 3}), {2, 4, 3}); }},
    {"Shape.BroadcastToScalar", [](Graph& g) { return broadcast_to(in(g, "a", {}), {2, 3}); }},
    {"Shape.Concat", [](Graph& g) { return concat({in(g, "a", {2, 2, 3}), in(g, "b", {2, 1, 3}), in(g, "c", {2, 3, 3})}, 1); }},
    {"Shape.ConcatColumns", [](Graph& g) { return concat({in(g, "a", {4, 1}), in(g, "b", {4, 1}), in(g, "c", {4, 1})}, 1); }},
    {"Shape.Slice", [](Graph& g) { return slice(in(g, "a", {3, 5, 2}), 1, 1, 4); }},
    {"Shape.SliceColumn", [](Graph& g) { return slice(in(g, "a", {4, 5}), 1, 3, 4); }},
    {"Shape.SliceGrad", [](Graph& g) {  // no builder: the node Slice's VJP emits
       SliceGradAttrs at{.full = {3, 5}, .axis = 1, .begin = 1, .end = 3};
       return Value(g, g.add(Op::SliceGrad, {in(g, "dy", {3, 2}).id()}, at)); }},
    {"Shape.SliceGradColumn", [](Graph& g) {
       SliceGradAttrs at{.full = {3, 5}, .axis = 1, .begin = 4, .end = 5};
       return Value(g, g.add(Op::SliceGrad, {in(g, "dy", {3, 1}).id()}, at)); }},
    {"Shape.Stack", [](Graph& g) { return stack({in(g, "a", {2, 3}), in(g, "b", {2, 3}), in(g, "c", {2, 3})}, 1); }},
    {"Shape.Take", [](Graph& g) { return take(in(g, "a", {2, 3, 2}), 1, 2); }},
    {"Shape.Repeat", [](Graph& g) { return repeat(in(g, "a", {2, 3, 2}), 3, 1); }},
    {"Shape.Gather", [](Graph& g) { return gather(in(g, "table", {4, 3}), in(g, "idx", {2, 3})); },
     {}, {{"idx", indices({2, 3}, {3, 0, 1, 1, 3, 3})}}},
    {"Shape.GatherGrad", [](Graph& g) {  // no builder: the node Gather's VJP emits
       GatherGradAttrs at{.rows = 4};
       return Value(g, g.add(Op::GatherGrad, {in(g, "dy", {2, 3, 3}).id(), in(g, "idx", {2, 3}).id()}, at)); },
     {}, {{"idx", indices({2, 3}, {3, 0, 1, 1, 3, 3})}}},
    // ---- reduce + nn (ops/reduce.cpp, ops/nn.cpp)
    {"Reduce.SumAll", [](Graph& g) { return sum(in(g, "a", {3, 4})); }},
    {"Reduce.SumAxes", [](Graph& g) { return sum(in(g, "a", {2, 3, 4}), {0, 2}); }},
    {"Reduce.SumKeepdims", [](Graph& g) { return sum(in(g, "a", {2, 3, 4}), {1}, true); }},
    {"Reduce.MeanAll", [](Graph& g) { return mean(in(g, "a", {3, 4})); }},
    {"Reduce.MeanAxis", [](Graph& g) { return mean(in(g, "a", {2, 3, 4}), {-1}); }},
    {"Reduce.MeanKeepdims", [](Graph& g) { return mean(in(g, "a", {2, 3, 4}), {0, 1}, true); }},
    {"Reduce.Max", [](Graph& g) { return max(in(g, "a", {3, 5}), {1}); }},
    {"Reduce.MaxKeepdims", [](Graph& g) { return max(in(g, "a", {2, 3, 4}), {0, 2}, true); }},
    {"Reduce.SumTo", [](Graph& g) { return sum_to(in(g, "a", {2, 3, 4}), {1, 3, 1}); }},
    {"Reduce.SumToScalar", [](Graph& g) { return sum_to(in(g, "a", {2, 3}), {}); }},
    {"Nn.SoftmaxAxis0", [](Graph& g) { return softmax(in(g, "a", {4, 3}), 0); }},
    {"Nn.SoftmaxLast", [](Graph& g) { return softmax(in(g, "a", {2, 3, 4}), -1); }},
    {"Nn.LogSoftmax", [](Graph& g) { return log_softmax(in(g, "a", {3, 4})); }},
    {"Nn.LogSoftmaxAxis1", [](Graph& g) { return log_softmax(in(g, "a", {2, 4, 3}), 1); }},
    {"Nn.SigmoidCrossEntropy", [](Graph& g) { return sigmoid_cross_entropy(in(g, "a", {3, 5}), in(g, "labels", {3, 5})); },
     {{"a", {-4, 4}}, {"labels", {0, 1}}}},
    {"Nn.SoftmaxCrossEntropyOneHot", [](Graph& g) { return softmax_cross_entropy(in(g, "a", {3, 4}), in(g, "labels", {3, 4})); },
     {}, {{"labels", indices({3, 4}, {0, 1, 0, 0,  1, 0, 0, 0,  0, 0, 0, 1})}}},
    {"Nn.SoftmaxCrossEntropyProbs", [](Graph& g) { return softmax_cross_entropy(in(g, "a", {4, 3}), in(g, "b", {4, 3}), 0); },
     {{"b", {0.0, 1.0}}}},
    {"Nn.Conv1DValid", [](Graph& g) { return conv1d(in(g, "x", {2, 6, 3}), in(g, "w", {3, 3, 4})); }},
    {"Nn.Conv1DSame", [](Graph& g) { return conv1d(in(g, "x", {2, 6, 3}), in(g, "w", {4, 3, 2}), 1, "same"); }},
    {"Nn.Conv1DStride2", [](Graph& g) { return conv1d(in(g, "x", {2, 7, 2}), in(g, "w", {3, 2, 3}), 2, "valid"); }},
    {"Nn.Conv1DSameStride2", [](Graph& g) { return conv1d(in(g, "x", {2, 7, 2}), in(g, "w", {3, 2, 3}), 2, "same"); }},
    {"Nn.Conv1DSameWideKernel", [](Graph& g) { return conv1d(in(g, "x", {2, 3, 2}), in(g, "w", {6, 2, 3}), 2, "same"); }},
    {"Nn.GruCell", [](Graph& g) {
       return gru_cell(in(g, "zx", {2, 9}), in(g, "hu", {2, 9}), in(g, "h", {2, 3}), in(g, "b", {1, 9})); }},
    // one process: the sum over the ranks is the value, its VJP the gradient (tests/test_data_parallel.cpp: N ranks)
    {"Collective.AllreduceSum", [](Graph& g) { return tanh(allreduce_sum(in(g, "a", {3, 4}))); }},
    {"Nn.LstmCellH", [](Graph& g) { return lstm_cell(in(g, "zx", {2, 12}), in(g, "hu", {2, 12}), in(g, "c", {2, 3})).h; }},
    {"Nn.LstmCellC", [](Graph& g) { return lstm_cell(in(g, "zx", {2, 12}), in(g, "hu", {2, 12}), in(g, "c", {2, 3})).c; }},
    {"Nn.LstmCellFirstStep", [](Graph& g) {
       const LstmCell s = lstm_cell(in(g, "z", {3, 8}), Value(), Value());
       return s.h * s.c; }},
    {"Nn.Conv1DGradInput", [](Graph& g) {
       // x (2, 7, 3), same, stride 2 -> dy (2, 4, 5)
       Conv1DGradAttrs a{.conv = {.stride = 2, .padding = Padding::same}, .shape = {2, 7, 3}};
       return Value(g, g.add(Op::Conv1DGradInput, {in(g, "dy", {2, 4, 5}).id(), in(g, "w", {3, 3, 5}).id()}, a)); }},
    {"Nn.Conv1DGradFilter", [](Graph& g) {
       // w (3, 2, 4), valid, stride 1
       Conv1DGradAttrs a{.conv = {.stride = 1, .padding = Padding::valid}, .shape = {3, 2, 4}};
       return Value(g, g.add(Op::Conv1DGradFilter, {in(g, "x", {2, 6, 2}).id(), in(g, "dy", {2, 4, 4}).id()}, a)); }},
  };
}
// clang-format on

void run_case(const OpCase& c) {
  Graph g;
  Value y = c.build(g);
  std::map<std::string, Tensor> values = c.fixed;
  std::vector<Value> wrt;
  uint64_t k = 0;
  for (NodeId id = 0; id < g.size(); ++id) {
    const Node& n = g.node(id);
    if (n.op != Op::Input && n.op != Op::Variable) continue;
    if (c.fixed.count(n.name)) continue;
    wrt.emplace_back(g, id);
    if (auto it = c.ranges.find(n.name); it != c.ranges.end()) {
      Tensor t(n.shape, DType::f64);
      rng::Stream s{1234, ++k};
      for (int64_t i = 0; i < t.size(); ++i) t.set(i, it->second.lo + (it->second.hi - it->second.lo) * s.uniform());
      values[n.name] = t;
    }
  }
  REQUIRE(!wrt.empty());
  for (const auto& r : gradcheck(g, y, wrt, values)) {
    INFO(c.name, " d/d", r.name, ": analytic ", r.analytic, " numeric ", r.numeric, " at ", r.worst);
    CHECK(r.max_rel < c.tol);
  }
}

} // namespace

TEST_CASE("Gradcheck.AllOps") {
  for (const auto& c : cases()) {
    SUBCASE(c.name.c_str()) { run_case(c); }
  }
}

TEST_CASE("Gradcheck.TableCoversEveryDifferentiableOp") {
  std::set<Op> covered;
  for (const auto& c : cases()) {
    Graph g;
    c.build(g);
    for (NodeId id = 0; id < g.size(); ++id) covered.insert(g.node(id).op);
  }
  for (size_t i = 0; i < kOpCount; ++i) {
    Op op = static_cast<Op>(i);
    if (!op_defined(op) || !op_def(op).vjp) continue;
    INFO("op without a gradcheck case: ", op_name(op));
    CHECK(covered.count(op) == 1);
  }
}
