// Sources: the nodes with no inputs. Their buffers are bound by the plan
// (fed inputs, ParamStore tensors, baked constants), so their kernels never run.
#include "ops/family.hpp"

namespace sg::detail {

namespace {
// Shape rule of a source: the declared shape, kept in attrs.axes.
Shape declared(Shapes, const Attrs& a) {
  for (auto d : a.axes)
    if (d < 0) throw RuleError("a declared shape cannot have negative dims: " + to_string(a.axes));
  return a.axes;
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
