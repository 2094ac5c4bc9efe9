// The attributes of a node: one small struct per op, or per group of ops with
// the same parameters. Each op's row in ops/op_list.def names its struct;
// Graph::add checks that a node holds that one. Shape rules, kernels, VJPs
// and cost rules read it by type (`a.get<SliceAttrs>().begin`,
// `attr<Conv1DAttrs>(k).stride`): a variant index compared and a reference
// returned, no map, no allocation per run.
//
// A struct has its parameters as named members with defaults, `name`,
// `fields(f)` (f(name, value) per member, for describe() and error messages)
// and a defaulted ==. Adding one: define it here, add it to AttrsVariant.
#pragma once

#include "graph/tensor.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace sg {

// The ops that have no parameters (neg, add, gather, assign_add, ...).
struct NoAttrs {
  static constexpr const char* name = "NoAttrs";
  template <class F> void fields(F&&) const {}
  bool operator==(const NoAttrs&) const = default;
};

// ---- sources (ops/source.cpp) and shape targets (ops/shape.cpp, ops/reduce.cpp)

// Input, Variable, Constant: the declared shape. Reshape, BroadcastTo: the
// target shape (reshape's -1 resolved). SumTo: the target (dims equal to the
// input's or 1; () for a full sum).
struct ShapeAttrs {
  static constexpr const char* name = "ShapeAttrs";
  Shape shape;
  template <class F> void fields(F&& f) const { f("shape", shape); }
  bool operator==(const ShapeAttrs&) const = default;
};

// ---- elementwise (ops/elementwise.cpp)

// PowScalar: y = x^exponent.
struct PowScalarAttrs {
  static constexpr const char* name = "PowScalarAttrs";
  double exponent = 1;
  template <class F> void fields(F&& f) const { f("exponent", exponent); }
  bool operator==(const PowScalarAttrs&) const = default;
};

// Clip (to [lo, hi]), InRange (lo <= x <= hi).
struct RangeAttrs {
  static constexpr const char* name = "RangeAttrs";
  double lo = 0, hi = 0;
  template <class F> void fields(F&& f) const {
    f("lo", lo);
    f("hi", hi);
  }
  bool operator==(const RangeAttrs&) const = default;
};

// ---- linear algebra (ops/linalg.cpp)

// MatMul, BatchMatMul: op(a) op(b), op = transpose where set (BLAS flags).
struct MatMulAttrs {
  static constexpr const char* name = "MatMulAttrs";
  bool transpose_a = false, transpose_b = false;
  template <class F> void fields(F&& f) const {
    f("transpose_a", transpose_a);
    f("transpose_b", transpose_b);
  }
  bool operator==(const MatMulAttrs&) const = default;
};

// ---- shape (ops/shape.cpp)

// Transpose: y's axis i is x's axis perm[i].
struct PermuteAttrs {
  static constexpr const char* name = "PermuteAttrs";
  std::vector<int64_t> perm;
  template <class F> void fields(F&& f) const { f("perm", perm); }
  bool operator==(const PermuteAttrs&) const = default;
};

// One axis (normalised by the builder where the rank is known): Concat,
// Stack, ArgMax, Softmax, LogSoftmax, SoftmaxCrossEntropy.
struct AxisAttrs {
  static constexpr const char* name = "AxisAttrs";
  int64_t axis = 0;
  template <class F> void fields(F&& f) const { f("axis", axis); }
  bool operator==(const AxisAttrs&) const = default;
};

// Slice: x[..., begin:end, ...] along axis.
struct SliceAttrs {
  static constexpr const char* name = "SliceAttrs";
  int64_t axis = 0, begin = 0, end = 0;
  template <class F> void fields(F&& f) const {
    f("axis", axis);
    f("begin", begin);
    f("end", end);
  }
  bool operator==(const SliceAttrs&) const = default;
};

// SliceGrad: the cotangent of the slice [begin:end) along axis of a tensor
// of shape `full`, embedded into zeros of that shape.
struct SliceGradAttrs {
  static constexpr const char* name = "SliceGradAttrs";
  Shape full;
  int64_t axis = 0, begin = 0, end = 0;
  template <class F> void fields(F&& f) const {
    f("full", full);
    f("axis", axis);
    f("begin", begin);
    f("end", end);
  }
  bool operator==(const SliceGradAttrs&) const = default;
};

// Repeat (numpy.repeat): each entry along axis repeated `repeats` times.
struct RepeatAttrs {
  static constexpr const char* name = "RepeatAttrs";
  int64_t repeats = 1, axis = 0;
  template <class F> void fields(F&& f) const {
    f("repeats", repeats);
    f("axis", axis);
  }
  bool operator==(const RepeatAttrs&) const = default;
};

// GatherGrad: the table's row count (the output is (rows, d...)).
struct GatherGradAttrs {
  static constexpr const char* name = "GatherGradAttrs";
  int64_t rows = 0;
  template <class F> void fields(F&& f) const { f("rows", rows); }
  bool operator==(const GatherGradAttrs&) const = default;
};

// OneHot: the new axis, of size depth, at `axis` of the output.
struct OneHotAttrs {
  static constexpr const char* name = "OneHotAttrs";
  int64_t depth = 0, axis = 0;
  template <class F> void fields(F&& f) const {
    f("depth", depth);
    f("axis", axis);
  }
  bool operator==(const OneHotAttrs&) const = default;
};

// ---- reductions (ops/reduce.cpp)

// Sum, Mean, Max: over axes (sorted, normalised), kept as 1 with keepdims.
struct ReduceAttrs {
  static constexpr const char* name = "ReduceAttrs";
  std::vector<int64_t> axes;
  bool keepdims = false;
  template <class F> void fields(F&& f) const {
    f("axes", axes);
    f("keepdims", keepdims);
  }
  bool operator==(const ReduceAttrs&) const = default;
};

// ---- neural-network ops (ops/nn.cpp)

// DropoutMask (a random source): a mask of `shape`, zeros with probability rate.
struct DropoutMaskAttrs {
  static constexpr const char* name = "DropoutMaskAttrs";
  Shape shape;
  double rate = 0;
  uint64_t seed = 0; // the stream seed, combined with the node and the run counter
  int64_t first = 0; // the index of element 0 in the mask drawn (a shard's rows of a larger mask)
  template <class F> void fields(F&& f) const {
    f("shape", shape);
    f("rate", rate);
    f("seed", seed);
    f("first", first);
  }
  bool operator==(const DropoutMaskAttrs&) const = default;
};

// SampleCategorical: one draw per distribution along axis.
struct SampleAttrs {
  static constexpr const char* name = "SampleAttrs";
  int64_t axis = 0;
  uint64_t seed = 0; // the stream seed, combined with the node and the run counter
  template <class F> void fields(F&& f) const {
    f("axis", axis);
    f("seed", seed);
  }
  bool operator==(const SampleAttrs&) const = default;
};

// Keras padding: valid = none; same = ceil(steps / stride) outputs, the total
// padding split with the smaller half on the left.
enum class Padding : uint8_t { valid, same };
const char* to_string(Padding p);

// Conv1D.
struct Conv1DAttrs {
  static constexpr const char* name = "Conv1DAttrs";
  int64_t stride = 1;
  Padding padding = Padding::valid;
  template <class F> void fields(F&& f) const {
    f("stride", stride);
    f("padding", padding);
  }
  bool operator==(const Conv1DAttrs&) const = default;
};

// Conv1DGradInput, Conv1DGradFilter: the convolution's parameters, and the
// output's shape (x's for grad_input, w's for grad_filter).
struct Conv1DGradAttrs {
  static constexpr const char* name = "Conv1DGradAttrs";
  Conv1DAttrs conv;
  Shape shape;
  template <class F> void fields(F&& f) const {
    conv.fields(f);
    f("shape", shape);
  }
  bool operator==(const Conv1DGradAttrs&) const = default;
};

// ---- parameter updates (ops/update.cpp, ops/sparse.cpp)

// A learning rate as a function of the optimizer's step count t (0 at the
// first step), as Keras' schedules:
//   constant      lr
//   inverse_time  lr / (1 + rate * t / steps)   (InverseTimeDecay; Keras 2 Adam's
//                                                legacy `decay` is rate = decay, steps 1)
//   exponential   lr * rate^(t / steps)         (ExponentialDecay)
// staircase: t / steps rounded down (step decay: lr * rate^floor(t / steps)).
enum class ScheduleKind : uint8_t { constant, inverse_time, exponential };
const char* to_string(ScheduleKind k);

struct LRSchedule {
  ScheduleKind kind = ScheduleKind::constant;
  double rate = 0, steps = 1;
  bool staircase = false;
  // The learning rate at step t of a schedule starting at lr.
  double at(double lr, double t) const;
  bool operator==(const LRSchedule&) const = default;
};

// ApplySGD: p -= lr_t * g, lr_t = schedule.at(lr, t); inputs (p, g) or, with a
// schedule, (p, g, iterations).
struct SGDAttrs {
  static constexpr const char* name = "SGDAttrs";
  double lr = 0;
  LRSchedule schedule = {};
  template <class F> void fields(F&& f) const {
    f("lr", lr);
    f("schedule", schedule);
  }
  bool operator==(const SGDAttrs&) const = default;
};

// ApplyAdam: Keras 2 Adam, its learning rate on a schedule (legacy decay:
// inverse_time with steps 1).
struct AdamAttrs {
  static constexpr const char* name = "AdamAttrs";
  double lr = 0, beta1 = 0, beta2 = 0, epsilon = 0;
  LRSchedule schedule = {};
  template <class F> void fields(F&& f) const {
    f("lr", lr);
    f("beta1", beta1);
    f("beta2", beta2);
    f("epsilon", epsilon);
    f("schedule", schedule);
  }
  bool operator==(const AdamAttrs&) const = default;
};

// ApplyAdaGrad: a += g^2; p -= lr_t * g / (sqrt(a) + epsilon), lr_t =
// schedule.at(lr, t); inputs (p, a, g) or, with a schedule, (p, a, g, iterations).
struct AdaGradAttrs {
  static constexpr const char* name = "AdaGradAttrs";
  double lr = 0, epsilon = 0;
  LRSchedule schedule = {};
  template <class F> void fields(F&& f) const {
    f("lr", lr);
    f("epsilon", epsilon);
    f("schedule", schedule);
  }
  bool operator==(const AdaGradAttrs&) const = default;
};

// SparseApplyAdaGrad: AdaGrad's parameters, and the sizes of the parts the
// indices come in (empty: one part); inputs (p, a, dy, indices) or, with a
// schedule, (p, a, dy, indices, iterations).
struct SparseAdaGradAttrs {
  static constexpr const char* name = "SparseAdaGradAttrs";
  double lr = 0, epsilon = 0;
  std::vector<int64_t> parts;
  LRSchedule schedule = {};
  template <class F> void fields(F&& f) const {
    f("lr", lr);
    f("epsilon", epsilon);
    f("parts", parts);
    f("schedule", schedule);
  }
  bool operator==(const SparseAdaGradAttrs&) const = default;
};

// AssignMovingAverage: var = momentum * var + (1 - momentum) * value.
struct MovingAverageAttrs {
  static constexpr const char* name = "MovingAverageAttrs";
  double momentum = 0;
  template <class F> void fields(F&& f) const { f("momentum", momentum); }
  bool operator==(const MovingAverageAttrs&) const = default;
};

// GruGatesGrad, GruBlendGrad, LstmCellStateGrad, LstmCellOutputGrad: the
// cotangent of which input of the forward op (GRU gates: 0 zx, 1 hu; GRU
// blend: 0 the gates, 1 h; LSTM cell state and output: 0 the gates, 1 c).
struct GruGradAttrs {
  static constexpr const char* name = "GruGradAttrs";
  int64_t input = 0;
  template <class F> void fields(F&& f) const { f("input", input); }
  bool operator==(const GruGradAttrs&) const = default;
};

// ReduceStart, ReduceWait (data-parallel sums over the ranks): buffer
// `seq` of a run (the graph's collectives in order); a wait's piece of it,
// `shape` at `offset`.
struct CollectiveAttrs {
  static constexpr const char* name = "CollectiveAttrs";
  int64_t seq = 0, offset = 0;
  Shape shape;
  template <class F> void fields(F&& f) const {
    f("seq", seq);
    f("offset", offset);
    f("shape", shape);
  }
  bool operator==(const CollectiveAttrs&) const = default;
};

// Every attribute struct; NoAttrs first (a default Attrs holds it).
using AttrsVariant =
    std::variant<NoAttrs, ShapeAttrs, PowScalarAttrs, RangeAttrs, MatMulAttrs, PermuteAttrs, AxisAttrs,
                 SliceAttrs, SliceGradAttrs, RepeatAttrs, GatherGradAttrs, OneHotAttrs, ReduceAttrs,
                 DropoutMaskAttrs, SampleAttrs, Conv1DAttrs, Conv1DGradAttrs, SGDAttrs, AdamAttrs,
                 AdaGradAttrs, SparseAdaGradAttrs, MovingAverageAttrs, GruGradAttrs, CollectiveAttrs>;

namespace detail {
template <class A, class V> struct AttrsIndex;
template <class A, class... Ts> struct AttrsIndex<A, std::variant<Ts...>> {
  static constexpr size_t value = [] {
    size_t i = 0;
    ((std::is_same_v<A, Ts> ? false : (++i, true)) && ...);
    return i;
  }();
  static constexpr bool listed = (std::is_same_v<A, Ts> || ...);
};
} // namespace detail

// An attribute struct's position in AttrsVariant (op_list.def rows use it).
template <class A>
  requires detail::AttrsIndex<A, AttrsVariant>::listed
constexpr size_t attrs_index = detail::AttrsIndex<A, AttrsVariant>::value;

// A node's attributes: exactly one of the structs above (NoAttrs by default).
class Attrs {
public:
  Attrs() = default;
  template <class A>
    requires detail::AttrsIndex<std::remove_cvref_t<A>, AttrsVariant>::listed
  Attrs(A&& a) : v_(std::forward<A>(a)) {} // implicit: make(op, {x}, SliceAttrs{...})

  // The struct this node holds, as A; std::logic_error naming both structs
  // if it holds another (an op reading attributes that are not its own).
  template <class A> const A& get() const {
    if (const A* p = std::get_if<A>(&v_)) [[likely]]
      return *p;
    wrong_type(A::name);
  }
  template <class A> bool holds() const { return std::holds_alternative<A>(v_); }
  size_t index() const { return v_.index(); }
  const char* name() const; // the held struct's name: "SliceAttrs"
  const AttrsVariant& variant() const { return v_; }

  bool operator==(const Attrs&) const = default;

private:
  [[noreturn]] void wrong_type(const char* wanted) const;
  AttrsVariant v_;
};

// The held struct's fields, "name=value" joined by ", ": "axis=1, begin=0,
// end=3", "stride=2, padding=same"; "" for NoAttrs.
std::string describe(const Attrs& a);

} // namespace sg
