// What an op is: a row of the op table (ops/op_list.def: its name, family and
// attribute struct) with a shape rule, a forward kernel (float32 and float64,
// from one generic lambda), a VJP rule that emits graph nodes, and flags
// (mutating update, random source). Its parameters are a named struct of
// ops/attrs.hpp held in the node's Attrs, read by type: `a.get<SliceAttrs>()`
// in shape, scratch and cost rules, `attr<SliceAttrs>(k)` in kernels,
// `c.attr<SliceAttrs>()` in VJPs.
#pragma once

#include "graph/tensor.hpp"
#include "ops/attrs.hpp"

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace sg {

enum class Op : uint16_t {
#define SG_OP(name, family, attrs) name,
#include "ops/op_list.def"
#undef SG_OP
  Count_
};
constexpr size_t kOpCount = static_cast<size_t>(Op::Count_);

// Thrown by shape rules; Graph::add wraps it with the node, op and shapes.
struct RuleError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// Everything a kernel sees. Pointers are fixed when a plan is compiled.
template <class T> struct KernelArgs {
  const Attrs* attrs = nullptr;
  int n_in = 0;
  T* const* in = nullptr;             // input buffers (written only by mutating ops)
  const Shape* const* in_shape = nullptr;
  T* out = nullptr;
  const Shape* out_shape = nullptr;
  T* scratch = nullptr;               // OpDef::scratch elements, owned by the plan
  uint64_t stream = 0;                // random ops: per-node stream id
  const uint64_t* run = nullptr;      // random ops: the plan's run counter

  const T* x(int i) const { return in[i]; }
  const Shape& s(int i) const { return *in_shape[i]; }
  int64_t size(int i) const { return numel(*in_shape[i]); }
  int64_t n() const { return numel(*out_shape); }
};

// The node's attribute struct (ops/attrs.hpp), in a kernel: attr<SliceAttrs>(k),
// a variant index check and a reference, no copy. (A free function: kernels
// are generic lambdas, where a member template would need `k.template`.)
template <class A, class T> const A& attr(const KernelArgs<T>& k) { return k.attrs->template get<A>(); }

template <class T> using KernelFn = void (*)(const KernelArgs<T>&);

// The index of the first element of p[0, n) that is NaN or ±inf, -1 if all
// are finite (a vectorised pass; works without -ffinite-math-only's lies).
int64_t first_non_finite(const float* p, int64_t n);
int64_t first_non_finite(const double* p, int64_t n);

// Thrown by a kernel that finds a non-finite value at element `index` of
// its input `input` (CheckFinite, the guard before a training step's
// updates); the plan turns it into a NumericError naming that input's node.
struct NonFiniteInput {
  int input = 0;
  int64_t index = 0;
};

struct Kernels {
  KernelFn<float> f32 = nullptr;
  KernelFn<double> f64 = nullptr;
};

// One generic lambda `[](const auto& k) { ... }` gives both instantiations.
template <class F> constexpr Kernels kernels(F f) {
  return {static_cast<KernelFn<float>>(f), static_cast<KernelFn<double>>(f)};
}

class Graph;
class Value;
struct VjpCtx;

using ShapeRule = Shape (*)(std::span<const Shape* const> in, const Attrs& attrs);
// Gradient of the op's output w.r.t. input `i`, as new graph nodes; an
// invalid Value means "no gradient flows to this input".
using VjpRule = Value (*)(const VjpCtx& c, int i);
// Scratch elements a kernel needs (0 if none).
using ScratchRule = int64_t (*)(std::span<const Shape* const> in, const Shape& out, const Attrs&);
// Rough cost in nanoseconds, for the scheduler's task-or-inline choice.
using CostRule = double (*)(std::span<const Shape* const> in, const Shape& out, const Attrs&);

struct OpDef {
  const char* name = nullptr;
  int arity = 0; // number of inputs; -1 = one or more
  ShapeRule shape = nullptr;
  Kernels kernel{};
  VjpRule vjp = nullptr;
  const char* no_grad = nullptr; // why there is no VJP, said out loud
  bool zero_grad = false;        // no VJP because the derivative is 0 (piecewise constant,
                                 // integer-valued): autodiff passes nothing back, no error
  int mutates = 0;               // leading inputs this op updates in place (update ops)
  bool random = false;           // draws from the run counter: (seed, node, run)
  ScratchRule scratch = nullptr;
  CostRule cost = nullptr;       // default: one ns per output element
};

// The registry: every op's definition, filled by the family files.
const OpDef& op_def(Op op);
const char* op_name(Op op);
const char* op_family(Op op);
// The attribute struct the op's nodes hold (its row in ops/op_list.def):
// its name ("SliceAttrs") and its index in AttrsVariant.
const char* op_attrs_name(Op op);
size_t op_attrs_index(Op op);
bool op_defined(Op op); // false while a listed op has no definition yet

} // namespace sg
