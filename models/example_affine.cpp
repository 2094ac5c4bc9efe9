// The smallest model file: y = tanh(W x + b), with W, b and x all inputs.
//
// A model file builds its graphs with the builder (graph/ + ops/) and
// registers itself with a static ModelRegistrar; graph-run then offers
//   graph-run eval example_affine --input W=W.npy --input b=b.npy --input x=x.npy
//   graph-run dot example_affine --backward -o affine.svg
//   graph-run gradcheck example_affine --graph backward
// Shapes come from the given inputs where there are some, else from defaults
// (n_y = 3, n_x = 4, m = 5); a mismatch is a ShapeError naming the node.
#include "autodiff/autodiff.hpp"
#include "models/model.hpp"
#include "ops/ops.hpp"

#include <fmt/format.h>
#include <stdexcept>

namespace sg {
namespace {

// The size of dim `axis` of input `name` if it was given, else `fallback`.
int64_t dim_of(const std::map<std::string, Tensor>& inputs, const std::string& name, int axis,
               int64_t fallback) {
  auto it = inputs.find(name);
  if (it == inputs.end() || it->second.rank() <= axis) return fallback;
  return it->second.dim(axis);
}

BuiltGraph build(const std::string& graph_name, const std::map<std::string, Tensor>& inputs,
                 bool backward) {
  if (graph_name != "forward" && graph_name != "backward")
    throw std::invalid_argument(fmt::format(
        "example_affine has no graph '{}'; it has: forward, backward", graph_name));
  const int64_t n_y = dim_of(inputs, "W", 0, dim_of(inputs, "b", 0, 3));
  const int64_t n_x = dim_of(inputs, "W", 1, dim_of(inputs, "x", 0, 4));
  const int64_t m = dim_of(inputs, "x", 1, 5);

  BuiltGraph b;
  b.graph = std::make_unique<Graph>();
  Graph& g = *b.graph;
  // Inputs are fed by name (graph-run's --input NAME=FILE.npy), so they sit
  // outside any name scope; the computation gets a scope of its own.
  Value W = input(g, "W", {n_y, n_x});
  Value bias = input(g, "b", {n_y, 1});
  Value x = input(g, "x", {n_x, m});
  Value y;
  {
    auto scope = g.scope("affine");
    y = tanh(matmul(W, x) + bias).named("y");
  }
  b.outputs.emplace_back("y", y);
  b.differentiable = {W, bias, x};

  if (graph_name == "backward") {
    // Gradients of <dy, y> w.r.t. W, b and x for a given cotangent dy.
    Value dy = input(g, "dy", y.shape());
    auto grads = gradients({y}, {dy}, {W, bias, x});
    b.outputs.emplace_back("dW", grads[0].named("dW"));
    b.outputs.emplace_back("db", grads[1].named("db"));
    b.outputs.emplace_back("dx", grads[2].named("dx"));
    b.differentiable.push_back(dy);
  } else if (backward) {
    // For `dot --backward`: the gradient nodes of sum(y).
    gradients({y}, {Value()}, {W, bias, x});
  }
  return b;
}

const ModelRegistrar registrar(Model{
    .name = "example_affine",
    .summary = "y = tanh(W x + b): the smallest example of a model file",
    .options = {},
    .graphs = {"forward", "backward"},
    .build = build,
    .train = {},
    .sample = {},
});

} // namespace
} // namespace sg
