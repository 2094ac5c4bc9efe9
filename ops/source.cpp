// Sources: the nodes with no inputs. Their buffers are bound by the plan
// (fed inputs, ParamStore tensors, baked constants), so their kernels never run.
// The definitions, then the builders (input, param, constant, scalar: declared
// in graph/graph.hpp, beside Value, since every model file needs them).
#include "ops/family.hpp"

namespace sg::detail {

namespace {
// Shape rule of a source: the declared shape (ShapeAttrs).
Shape declared(Shapes, const Attrs& a) {
  const Shape& s = a.get<ShapeAttrs>().shape;
  for (auto d : s)
    if (d < 0) throw RuleError("a declared shape cannot have negative dims: " + to_string(s));
  return s;
}
constexpr auto bound_by_plan = [](const auto&) {};
} // namespace

void define_source(OpTable& t) {
  // x: fed by the caller before each run
  t[size_t(Op::Input)] = {.name = "input", .arity = 0, .shape = declared,
                          .kernel = kernels(bound_by_plan), .no_grad = "a leaf: differentiate w.r.t. it"};
  // W: read from / written to the ParamStore under the node's name
  t[size_t(Op::Variable)] = {.name = "variable", .arity = 0, .shape = declared,
                             .kernel = kernels(bound_by_plan), .no_grad = "a leaf: differentiate w.r.t. it"};
  // c: a literal
  t[size_t(Op::Constant)] = {.name = "constant", .arity = 0, .shape = declared,
                             .kernel = kernels(bound_by_plan), .no_grad = "a constant"};
}

} // namespace sg::detail

namespace sg {

Value input(Graph& g, const std::string& name, Shape shape, std::source_location loc) {
  return Value(g, g.add(Op::Input, {}, ShapeAttrs{std::move(shape)}, name, loc));
}

Value param(Graph& g, const std::string& name, Shape shape, Initializer init,
            std::source_location loc) {
  NodeId id = g.add(Op::Variable, {}, ShapeAttrs{std::move(shape)}, name, loc);
  g.edit(id).init = init;
  return Value(g, id);
}

Value constant(Graph& g, Tensor value, const std::string& name, std::source_location loc) {
  NodeId id = g.add(Op::Constant, {}, ShapeAttrs{value.shape()}, name, loc);
  g.edit(id).value = std::make_shared<const Tensor>(value.to(DType::f64));
  return Value(g, id);
}

Value scalar(Graph& g, double v) {
  return constant(g, Tensor::scalar(v, DType::f64));
}

} // namespace sg
