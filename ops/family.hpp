// Shared by the op family files: the table they fill, and the small helpers
// every shape rule, kernel and VJP uses. Not part of the public API.
#pragma once

#include "graph/graph.hpp"
#include "graph/op.hpp"
#include "ops/ops.hpp"

#include <array>
#include <fmt/format.h>
#include <span>

namespace sg::detail {

using OpTable = std::array<OpDef, kOpCount>;
using Shapes = std::span<const Shape* const>;

void define_source(OpTable& t);
void define_elementwise(OpTable& t);
void define_linalg(OpTable& t);
void define_shape(OpTable& t);
void define_reduce(OpTable& t);
void define_nn(OpTable& t);
void define_update(OpTable& t);
void define_sparse(OpTable& t);
void define_collective(OpTable& t);

// Adds a node and returns its Value (all inputs must share one graph);
// `attrs` holds the op's struct (ops/attrs.hpp), e.g. SliceAttrs{...}.
Value make(Op op, std::vector<Value> inputs, Attrs attrs = {}, Loc l = Loc::current());
// Same, for source ops that have no inputs.
Value make_source(Graph& g, Op op, Attrs attrs, Loc l = Loc::current());

// Shape rule: output shape = first input's shape.
Shape same_as_first(Shapes in, const Attrs&);
// Resolves a possibly negative axis against `rank`; RuleError if out of range.
int64_t norm_axis(int64_t axis, int64_t rank);

// A tensor seen as (outer, n, inner) around one axis: element (o, i, j) is at
// (o * n + i) * inner + j. Softmax, argmax and friends work on this view.
struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
};
AxisSplit split_at(const Shape& s, int64_t axis);

// Row-major strides of a shape (rank <= 8), without heap allocation: kernels
// call it on every run.
struct Strides {
  std::array<int64_t, 8> v{};
  size_t n = 0;
  int64_t operator[](size_t i) const { return v[i]; }
  size_t size() const { return n; }
};
Strides strides_of(const Shape& s);

} // namespace sg::detail
