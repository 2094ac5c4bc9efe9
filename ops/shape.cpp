// Shape ops: moving data without arithmetic (permute, reshape, broadcast,
// concat / slice / stack / repeat) and indexing by integer-valued tensors
// (gather, one-hot). Axes are normalised by the builders (negative = from
// the end), checked again by the shape rules, so every error names its node.
#include "ops/family.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace sg {

namespace detail {
namespace {

constexpr size_t kMaxRank = 8; // permute / broadcast_to odometers

int64_t prod(const Shape& s, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to; ++i) p *= s[i];
  return p;
}

// An axis already checked by the shape rule, made non-negative.
size_t axis_of(int64_t axis, size_t rank) {
  return static_cast<size_t>(axis < 0 ? axis + static_cast<int64_t>(rank) : axis);
}

// The axis normalised if it is valid for `rank`, else as given (the shape
// rule then reports it, with the node's name).
int64_t norm_or_keep(int64_t axis, int64_t rank) {
  return axis >= -rank && axis < rank ? (axis < 0 ? axis + rank : axis) : axis;
}

// The integer an index element holds; out_of_range unless 0 <= v < bound.
template <class T> int64_t index_value(T v, int64_t bound, const char* op) {
  if (!(v >= 0 && v < T(bound)) || v != std::floor(v))
    throw std::out_of_range(fmt::format("{}: index {} is out of range [0, {}){}", op, double(v), bound,
                                        v == std::floor(v) ? "" : " (not an integer)"));
  return static_cast<int64_t>(v);
}

// y[i] = x[sum_ax idx[ax] * st[ax]] over y's shape: the odometer behind
// permute and broadcast_to (st = the source strides, 0 on broadcast axes).
template <class T>
void strided_copy(const T* x, T* y, const Shape& ys, const std::array<int64_t, kMaxRank>& st) {
  const size_t r = ys.size();
  const int64_t n = numel(ys);
  if (r == 0) {
    if (n) y[0] = x[0];
    return;
  }
  if (n == 0) return;
  std::array<int64_t, kMaxRank> idx{};
  const int64_t inner = ys[r - 1], is = st[r - 1];
  int64_t off = 0;
  for (int64_t o = 0; o < n; o += inner) {
    if (is == 1)
      std::copy(x + off, x + off + inner, y + o);
    else
      for (int64_t j = 0; j < inner; ++j) y[o + j] = x[off + j * is];
    for (size_t ax = r - 1; ax-- > 0;) {
      off += st[ax];
      if (++idx[ax] < ys[ax]) break;
      off -= st[ax] * ys[ax];
      idx[ax] = 0;
    }
  }
}

// ---- shape rules

Shape permute_rule(Shapes in, const Attrs& at) {
  const Shape& x = *in[0];
  const auto& p = at.get<PermuteAttrs>().perm;
  if (p.size() != x.size())
    throw RuleError(fmt::format("permutation {} has {} entries but the input has rank {}",
                                to_string(p), p.size(), x.size()));
  if (x.size() > kMaxRank)
    throw RuleError(fmt::format("permute supports rank <= {}, got rank {}", kMaxRank, x.size()));
  std::vector<bool> seen(x.size(), false);
  Shape y(x.size());
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] < 0 || p[i] >= int64_t(x.size()) || seen[size_t(p[i])])
      throw RuleError(fmt::format("{} is not a permutation of the axes 0..{}", to_string(p),
                                  int64_t(x.size()) - 1));
    seen[size_t(p[i])] = true;
    y[i] = x[size_t(p[i])];
  }
  return y;
}

Shape reshape_rule(Shapes in, const Attrs& at) {
  const Shape& x = *in[0];
  const Shape& s = at.get<ShapeAttrs>().shape;
  int64_t known = 1, unknown = 0;
  for (auto d : s) {
    if (d == -1)
      ++unknown;
    else if (d < 0)
      throw RuleError(fmt::format("target shape {} has a negative dim", to_string(s)));
    else
      known *= d;
  }
  if (unknown > 1)
    throw RuleError(fmt::format("target shape {} has more than one -1", to_string(s)));
  if (unknown == 1)
    throw RuleError(fmt::format("cannot reshape {} ({} elements) to {}: no whole dim fits the -1",
                                to_string(x), numel(x), to_string(s)));
  if (known != numel(x))
    throw RuleError(fmt::format("cannot reshape {} ({} elements) to {} ({} elements)", to_string(x),
                                numel(x), to_string(s), known));
  return s;
}

Shape broadcast_to_rule(Shapes in, const Attrs& at) {
  const Shape& x = *in[0];
  const Shape& s = at.get<ShapeAttrs>().shape;
  for (auto d : s)
    if (d < 0) throw RuleError(fmt::format("target shape {} has a negative dim", to_string(s)));
  if (s.size() > kMaxRank)
    throw RuleError(fmt::format("broadcast_to supports rank <= {}, got {}", kMaxRank, to_string(s)));
  if (x.empty()) return s;
  if (x.size() != s.size())
    throw RuleError(fmt::format("cannot broadcast {} to {}: the ranks differ (broadcasting is "
                                "explicit: reshape to rank {} first)",
                                to_string(x), to_string(s), s.size()));
  for (size_t i = 0; i < s.size(); ++i)
    if (x[i] != s[i] && x[i] != 1)
      throw RuleError(fmt::format("cannot broadcast {} to {}: axis {} is {} (dims must be equal or 1)",
                                  to_string(x), to_string(s), i, x[i]));
  return s;
}

Shape concat_rule(Shapes in, const Attrs& at) {
  const Shape& x0 = *in[0];
  if (x0.empty()) throw RuleError("concat needs inputs of rank >= 1, input 0 is a scalar");
  const size_t ax = size_t(norm_axis(at.get<AxisAttrs>().axis, int64_t(x0.size())));
  Shape y = x0;
  y[ax] = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const Shape& xi = *in[i];
    bool ok = xi.size() == x0.size();
    for (size_t d = 0; ok && d < xi.size(); ++d) ok = d == ax || xi[d] == x0[d];
    if (!ok)
      throw RuleError(fmt::format("concat along axis {}: input {} is {} but input 0 is {} (all "
                                  "dims except axis {} must match)",
                                  ax, i, to_string(xi), to_string(x0), ax));
    y[ax] += xi[ax];
  }
  return y;
}

// The shape of x[..., begin:end, ...] along axis; RuleError unless in bounds and not empty.
Shape sliced(const Shape& x, int64_t axis, int64_t begin, int64_t end) {
  if (x.empty()) throw RuleError("cannot slice a scalar");
  const size_t ax = size_t(norm_axis(axis, int64_t(x.size())));
  if (!(0 <= begin && begin < end && end <= x[ax]))
    throw RuleError(fmt::format("slice [{}:{}] of axis {} (size {}) of {} is out of bounds or empty",
                                begin, end, ax, x[ax], to_string(x)));
  Shape y = x;
  y[ax] = end - begin;
  return y;
}

Shape slice_rule(Shapes in, const Attrs& a) {
  const SliceAttrs& at = a.get<SliceAttrs>();
  return sliced(*in[0], at.axis, at.begin, at.end);
}

// dy has the slice's shape; the output is the full shape.
Shape slice_grad_rule(Shapes in, const Attrs& a) {
  const SliceGradAttrs& at = a.get<SliceGradAttrs>();
  const Shape& full = at.full;
  Shape expect;
  try {
    expect = sliced(full, at.axis, at.begin, at.end);
  } catch (const RuleError& e) {
    throw RuleError(fmt::format("slice_grad of full shape {}: {}", to_string(full), e.what()));
  }
  if (*in[0] != expect)
    throw RuleError(fmt::format("slice_grad: the cotangent is {} but slice [{}:{}] of axis {} of {} "
                                "is {}",
                                to_string(*in[0]), at.begin, at.end, at.axis, to_string(full),
                                to_string(expect)));
  return full;
}

Shape stack_rule(Shapes in, const Attrs& at) {
  const Shape& x0 = *in[0];
  const size_t ax = size_t(norm_axis(at.get<AxisAttrs>().axis, int64_t(x0.size()) + 1));
  for (size_t i = 1; i < in.size(); ++i)
    if (*in[i] != x0)
      throw RuleError(fmt::format("stack needs equal shapes: input {} is {}, input 0 is {}", i,
                                  to_string(*in[i]), to_string(x0)));
  Shape y = x0;
  y.insert(y.begin() + std::ptrdiff_t(ax), int64_t(in.size()));
  return y;
}

Shape repeat_rule(Shapes in, const Attrs& a) {
  const RepeatAttrs& at = a.get<RepeatAttrs>();
  const Shape& x = *in[0];
  if (x.empty()) throw RuleError("cannot repeat a scalar along an axis");
  const size_t ax = size_t(norm_axis(at.axis, int64_t(x.size())));
  if (at.repeats < 1) throw RuleError(fmt::format("repeat count must be >= 1, got {}", at.repeats));
  Shape y = x;
  y[ax] *= at.repeats;
  return y;
}

Shape gather_rule(Shapes in, const Attrs&) {
  const Shape& table = *in[0];
  const Shape& idx = *in[1];
  if (table.empty()) throw RuleError("gather needs a table of rank >= 1 (rows first), got a scalar");
  Shape y = idx;
  y.insert(y.end(), table.begin() + 1, table.end());
  return y;
}

// dy is indices.shape + (d...); the output is (rows, d...).
Shape gather_grad_rule(Shapes in, const Attrs& a) {
  const int64_t rows = a.get<GatherGradAttrs>().rows;
  const Shape& dy = *in[0];
  const Shape& idx = *in[1];
  if (rows < 1) throw RuleError(fmt::format("gather_grad needs a table of >= 1 rows, got {}", rows));
  if (dy.size() < idx.size() || !std::equal(idx.begin(), idx.end(), dy.begin()))
    throw RuleError(fmt::format("gather_grad: the cotangent {} does not start with the indices' "
                                "shape {}",
                                to_string(dy), to_string(idx)));
  Shape y{rows};
  y.insert(y.end(), dy.begin() + std::ptrdiff_t(idx.size()), dy.end());
  return y;
}

Shape one_hot_rule(Shapes in, const Attrs& a) {
  const OneHotAttrs& at = a.get<OneHotAttrs>();
  const Shape& idx = *in[0];
  if (at.depth < 1) throw RuleError(fmt::format("one_hot depth must be >= 1, got {}", at.depth));
  const size_t ax = size_t(norm_axis(at.axis, int64_t(idx.size()) + 1));
  Shape y = idx;
  y.insert(y.begin() + std::ptrdiff_t(ax), at.depth);
  return y;
}

// ---- kernels

// The last two axes swapped, the others in place: a batch of (R, C)
// matrices transposed in 16 x 16 tiles that stay in cache on both sides (a
// plan's (128, 512) transpose: ~120 us as the element-by-element strided
// copy, ~40 us in these tiles; 32 x 32 tiles were slower than 16 x 16: rows
// 2 KB apart fall in few L1 sets).
template <class T> void transpose_tiles(const T* x, T* y, int64_t batch, int64_t R, int64_t C) {
  constexpr int64_t kTile = 16;
  for (int64_t b = 0; b < batch; ++b, x += R * C, y += R * C)
    for (int64_t i0 = 0; i0 < R; i0 += kTile)
      for (int64_t j0 = 0; j0 < C; j0 += kTile) {
        const int64_t i1 = std::min(R, i0 + kTile), j1 = std::min(C, j0 + kTile);
        for (int64_t j = j0; j < j1; ++j)
          for (int64_t i = i0; i < i1; ++i) y[j * R + i] = x[i * C + j];
      }
}

template <class T> void permute_kernel(const KernelArgs<T>& k) {
  const Shape& x = k.s(0);
  const auto& p = attr<PermuteAttrs>(k).perm;
  const size_t r = p.size();
  bool last_two = r >= 2 && p[r - 2] == int64_t(r - 1) && p[r - 1] == int64_t(r - 2);
  for (size_t i = 0; last_two && i + 2 < r; ++i) last_two = p[i] == int64_t(i);
  if (last_two) {
    transpose_tiles(k.x(0), k.out, prod(x, 0, r - 2), x[r - 2], x[r - 1]);
    return;
  }
  const auto xs = strides_of(x);
  std::array<int64_t, kMaxRank> st{};
  for (size_t i = 0; i < p.size(); ++i) st[i] = xs[size_t(p[i])];
  strided_copy(k.x(0), k.out, *k.out_shape, st);
}

// A reshape: nothing to do when the plan gave it its input's buffer
// (graph/plan.cpp assign_buffers), else a copy.
template <class T> void copy_kernel(const KernelArgs<T>& k) {
  if (k.x(0) != k.out) std::copy(k.x(0), k.x(0) + k.n(), k.out);
}

template <class T> void broadcast_to_kernel(const KernelArgs<T>& k) {
  const Shape& x = k.s(0);
  const Shape& y = *k.out_shape;
  std::array<int64_t, kMaxRank> st{};
  if (!x.empty()) {
    const auto xs = strides_of(x);
    for (size_t i = 0; i < x.size(); ++i) st[i] = x[i] == 1 && y[i] != 1 ? 0 : xs[i];
  }
  strided_copy(k.x(0), k.out, y, st);
}

// Output = the inputs' blocks side by side along the axis.
template <class T> void concat_kernel(const KernelArgs<T>& k) {
  const Shape& y = *k.out_shape;
  const size_t ax = axis_of(attr<AxisAttrs>(k).axis, y.size());
  const int64_t outer = prod(y, 0, ax), inner = prod(y, ax + 1, y.size());
  if (inner == 1 && outer > 1) { // columns side by side (a sequence's per-step (n, 1) states): no copy call per element
    int64_t width = 0;
    bool columns = true;
    for (int i = 0; i < k.n_in; ++i) {
      width += k.s(i)[ax];
      columns = columns && k.s(i)[ax] == 1;
    }
    if (columns) {
      for (int i = 0; i < k.n_in; ++i) {
        const T* x = k.x(i);
        for (int64_t o = 0; o < outer; ++o) k.out[o * width + i] = x[o];
      }
      return;
    }
  }
  // output-major: the output written once, front to back (many inputs: the
  // gradient of a long sequence's per-step slices)
  T* out = k.out;
  for (int64_t o = 0; o < outer; ++o)
    for (int i = 0; i < k.n_in; ++i) {
      const int64_t len = k.s(i)[ax] * inner;
      const T* x = k.x(i) + o * len;
      out = std::copy(x, x + len, out);
    }
}

template <class T> void slice_kernel(const KernelArgs<T>& k) {
  const Shape& x = k.s(0);
  const SliceAttrs& at = attr<SliceAttrs>(k);
  const size_t ax = axis_of(at.axis, x.size());
  const int64_t outer = prod(x, 0, ax), inner = prod(x, ax + 1, x.size());
  const int64_t row = x[ax] * inner, len = (at.end - at.begin) * inner, begin = at.begin * inner;
  if (len == 1) { // one column (a step of a sequence laid out (features, steps)): a strided gather
    const T* in = k.x(0) + begin;
    for (int64_t o = 0; o < outer; ++o) k.out[o] = in[o * row];
    return;
  }
  for (int64_t o = 0; o < outer; ++o)
    std::copy(k.x(0) + o * row + begin, k.x(0) + o * row + begin + len, k.out + o * len);
}

template <class T> void slice_grad_kernel(const KernelArgs<T>& k) {
  const Shape& y = *k.out_shape;
  const SliceGradAttrs& at = attr<SliceGradAttrs>(k);
  const size_t ax = axis_of(at.axis, y.size());
  const int64_t outer = prod(y, 0, ax), inner = prod(y, ax + 1, y.size());
  const int64_t row = y[ax] * inner, len = (at.end - at.begin) * inner, begin = at.begin * inner;
  std::fill(k.out, k.out + k.n(), T(0));
  if (len == 1) { // one column: a strided scatter
    T* out = k.out + begin;
    for (int64_t o = 0; o < outer; ++o) out[o * row] = k.x(0)[o];
    return;
  }
  for (int64_t o = 0; o < outer; ++o)
    std::copy(k.x(0) + o * len, k.x(0) + (o + 1) * len, k.out + o * row + begin);
}

template <class T> void stack_kernel(const KernelArgs<T>& k) {
  const Shape& y = *k.out_shape;
  const size_t ax = axis_of(attr<AxisAttrs>(k).axis, y.size());
  const int64_t outer = prod(y, 0, ax), inner = prod(y, ax + 1, y.size());
  const int64_t row = int64_t(k.n_in) * inner;
  for (int i = 0; i < k.n_in; ++i) {
    const T* x = k.x(i);
    for (int64_t o = 0; o < outer; ++o)
      std::copy(x + o * inner, x + (o + 1) * inner, k.out + o * row + i * inner);
  }
}

template <class T> void repeat_kernel(const KernelArgs<T>& k) {
  const Shape& x = k.s(0);
  const RepeatAttrs& at = attr<RepeatAttrs>(k);
  const size_t ax = axis_of(at.axis, x.size());
  const int64_t outer = prod(x, 0, ax), len = x[ax], inner = prod(x, ax + 1, x.size());
  const T* src = k.x(0);
  T* dst = k.out;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < len; ++j, src += inner)
      for (int64_t r = 0; r < at.repeats; ++r, dst += inner) std::copy(src, src + inner, dst);
}

template <class T> void gather_kernel(const KernelArgs<T>& k) {
  const Shape& table = k.s(0);
  const int64_t rows = table[0], row = prod(table, 1, table.size());
  const int64_t n = k.size(1);
  const T* idx = k.x(1);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t v = index_value(idx[i], rows, "gather");
    std::copy(k.x(0) + v * row, k.x(0) + (v + 1) * row, k.out + i * row);
  }
}

// Rows added in index order: deterministic.
template <class T> void gather_grad_kernel(const KernelArgs<T>& k) {
  const Shape& y = *k.out_shape;
  const int64_t rows = y[0], row = prod(y, 1, y.size());
  const int64_t n = k.size(1);
  const T* idx = k.x(1);
  std::fill(k.out, k.out + k.n(), T(0));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t v = index_value(idx[i], rows, "gather_grad");
    const T* src = k.x(0) + i * row;
    T* dst = k.out + v * row;
    for (int64_t j = 0; j < row; ++j) dst[j] += src[j];
  }
}

template <class T> void one_hot_kernel(const KernelArgs<T>& k) {
  const Shape& idx = k.s(0);
  const OneHotAttrs& at = attr<OneHotAttrs>(k);
  const size_t ax = axis_of(at.axis, idx.size() + 1);
  const int64_t outer = prod(idx, 0, ax), inner = prod(idx, ax, idx.size()), depth = at.depth;
  std::fill(k.out, k.out + k.n(), T(0));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      const int64_t v = index_value(k.x(0)[o * inner + j], depth, "one_hot");
      k.out[(o * depth + v) * inner + j] = T(1);
    }
}

// The cotangent of x[..., begin:end, ...] embedded into zeros of `full`.
Value slice_grad(Value dy, const Shape& full, int64_t axis, int64_t begin, int64_t end) {
  return make(Op::SliceGrad, {dy}, SliceGradAttrs{.full = full, .axis = axis, .begin = begin, .end = end});
}

Value gather_grad(Value dy, Value indices, int64_t rows) {
  return make(Op::GatherGrad, {dy, indices}, GatherGradAttrs{.rows = rows});
}

} // namespace

void define_shape(OpTable& t) {
  auto def = [&](Op op) -> OpDef& { return t[size_t(op)]; };

  // y[i_0, ..., i_r] = x[j], j[p[a]] = i[a]  (p = PermuteAttrs::perm)
  def(Op::Transpose) = {.name = "transpose", .arity = 1, .shape = permute_rule,
    .kernel = kernels([](const auto& k) { permute_kernel(k); }),
    .vjp = [](const VjpCtx& c, int) {
      const std::vector<int64_t> p = c.attr<PermuteAttrs>().perm;
      std::vector<int64_t> inv(p.size());
      for (size_t i = 0; i < p.size(); ++i) inv[size_t(p[i])] = int64_t(i);
      return permute(c.dy, inv);
    }};

  // y = x with the shape ShapeAttrs::shape (same elements, row-major order)
  def(Op::Reshape) = {.name = "reshape", .arity = 1, .shape = reshape_rule,
    .kernel = kernels([](const auto& k) { copy_kernel(k); }),
    .vjp = [](const VjpCtx& c, int) { return reshape(c.dy, c.shape(0)); }};

  // y[i] = x[i with 0 on the axes where x has 1]; x a scalar: y = x everywhere
  def(Op::BroadcastTo) = {.name = "broadcast_to", .arity = 1, .shape = broadcast_to_rule,
    .kernel = kernels([](const auto& k) { broadcast_to_kernel(k); }),
    .vjp = [](const VjpCtx& c, int) { return sum_to(c.dy, c.shape(0)); }};

  // y = [x_0, x_1, ...] along AxisAttrs::axis
  def(Op::Concat) = {.name = "concat", .arity = -1, .shape = concat_rule,
    .kernel = kernels([](const auto& k) { concat_kernel(k); }),
    .vjp = [](const VjpCtx& c, int i) {
      const int64_t ax = int64_t(axis_of(c.attr<AxisAttrs>().axis, c.shape(0).size()));
      int64_t begin = 0;
      for (int j = 0; j < i; ++j) begin += c.shape(j)[size_t(ax)];
      return slice(c.dy, ax, begin, begin + c.shape(i)[size_t(ax)]);
    }};

  // y = x[..., begin:end, ...] along axis   (SliceAttrs)
  def(Op::Slice) = {.name = "slice", .arity = 1, .shape = slice_rule,
    .kernel = kernels([](const auto& k) { slice_kernel(k); }),
    .vjp = [](const VjpCtx& c, int) {
      const SliceAttrs at = c.attr<SliceAttrs>();
      return slice_grad(c.dy, c.shape(0), at.axis, at.begin, at.end);
    }};

  // y = zeros(full); y[..., begin:end, ...] = dy along axis   (SliceGradAttrs)
  def(Op::SliceGrad) = {.name = "slice_grad", .arity = 1, .shape = slice_grad_rule,
    .kernel = kernels([](const auto& k) { slice_grad_kernel(k); }),
    .vjp = [](const VjpCtx& c, int) {
      const SliceGradAttrs at = c.attr<SliceGradAttrs>();
      return slice(c.dy, at.axis, at.begin, at.end);
    }};

  // y[..., i, ...] = x_i, the new axis at AxisAttrs::axis
  def(Op::Stack) = {.name = "stack", .arity = -1, .shape = stack_rule,
    .kernel = kernels([](const auto& k) { stack_kernel(k); }),
    .vjp = [](const VjpCtx& c, int i) {
      return take(c.dy, int64_t(axis_of(c.attr<AxisAttrs>().axis, c.shape(0).size() + 1)), i);
    }};

  // y[..., j * n + r, ...] = x[..., j, ...], r < n = RepeatAttrs::repeats along its axis (numpy.repeat)
  def(Op::Repeat) = {.name = "repeat", .arity = 1, .shape = repeat_rule,
    .kernel = kernels([](const auto& k) { repeat_kernel(k); }),
    .vjp = [](const VjpCtx& c, int) {
      const RepeatAttrs at = c.attr<RepeatAttrs>();
      if (at.repeats == 1) return c.dy;
      const Shape& x = c.shape(0);
      const size_t ax = axis_of(at.axis, x.size());
      Shape pairs = x; // (..., len, n, ...)
      pairs.insert(pairs.begin() + std::ptrdiff_t(ax) + 1, at.repeats);
      return sum(reshape(c.dy, pairs), {int64_t(ax) + 1});
    }};

  // y[i..., :] = table[idx[i...], :]
  def(Op::Gather) = {.name = "gather", .arity = 2, .shape = gather_rule,
    .kernel = kernels([](const auto& k) { gather_kernel(k); }),
    .vjp = [](const VjpCtx& c, int i) {
      if (i == 1) return Value(); // integer-valued indices: no gradient
      return gather_grad(c.dy, c.x(1), c.shape(0)[0]);
    }};

  // y = zeros(rows, d...); y[idx[i...], :] += dy[i..., :]   (GatherGradAttrs::rows)
  def(Op::GatherGrad) = {.name = "gather_grad", .arity = 2, .shape = gather_grad_rule,
    .kernel = kernels([](const auto& k) { gather_grad_kernel(k); }),
    .vjp = [](const VjpCtx& c, int i) {
      if (i == 1) return Value(); // integer-valued indices: no gradient
      return gather(c.dy, c.x(1));
    }};

  // y[..., v, ...] = 1 where v = idx[...], the new axis (size depth) at axis   (OneHotAttrs)
  def(Op::OneHot) = {.name = "one_hot", .arity = 1, .shape = one_hot_rule,
    .kernel = kernels([](const auto& k) { one_hot_kernel(k); }),
    .no_grad = "integer-valued input", .zero_grad = true};
}

} // namespace detail

using detail::make;
using detail::norm_or_keep;

Value transpose(Value x, Loc l) { return permute(x, {1, 0}, l); }

Value permute(Value x, std::vector<int64_t> perm, Loc l) {
  for (auto& p : perm) p = norm_or_keep(p, x.rank());
  return make(Op::Transpose, {x}, PermuteAttrs{std::move(perm)}, l);
}

Value reshape(Value x, Shape shape, Loc l) {
  // Resolve one -1 here, so the node holds the full shape; anything
  // unresolvable is left for the shape rule to report.
  if (std::count(shape.begin(), shape.end(), -1) == 1) {
    int64_t known = 1;
    for (auto d : shape)
      if (d != -1) known *= d;
    if (known > 0 && numel(x.shape()) % known == 0)
      *std::find(shape.begin(), shape.end(), -1) = numel(x.shape()) / known;
  }
  if (shape == x.shape()) return x;
  return make(Op::Reshape, {x}, ShapeAttrs{std::move(shape)}, l);
}

Value broadcast_to(Value x, Shape shape, Loc l) {
  if (shape == x.shape()) return x;
  return make(Op::BroadcastTo, {x}, ShapeAttrs{std::move(shape)}, l);
}

Value concat(const std::vector<Value>& xs, int64_t axis, Loc l) {
  if (xs.empty()) throw std::invalid_argument(fmt::format("concat at {}: no inputs", where(l)));
  return make(Op::Concat, xs, AxisAttrs{norm_or_keep(axis, xs[0].rank())}, l);
}

Value slice(Value x, int64_t axis, int64_t begin, int64_t end, Loc l) {
  const int64_t ax = norm_or_keep(axis, x.rank());
  // negative bounds count from the end, as in Python
  if (ax >= 0 && ax < x.rank()) {
    const int64_t d = x.shape()[size_t(ax)];
    if (begin < 0) begin += d;
    if (end < 0) end += d;
  }
  return make(Op::Slice, {x}, SliceAttrs{.axis = ax, .begin = begin, .end = end}, l);
}

Value take(Value x, int64_t axis, int64_t i, Loc l) {
  const int64_t ax = norm_or_keep(axis, x.rank());
  if (ax >= 0 && ax < x.rank() && i < 0) i += x.shape()[size_t(ax)];
  Value s = slice(x, ax, i, i + 1, l);
  Shape dropped = s.shape();
  dropped.erase(dropped.begin() + std::ptrdiff_t(ax));
  return reshape(s, dropped, l);
}

std::vector<Value> split(Value x, int64_t axis, const std::vector<int64_t>& sizes, Loc l) {
  const int64_t ax = norm_or_keep(axis, x.rank());
  if (ax >= 0 && ax < x.rank()) {
    const int64_t total = std::accumulate(sizes.begin(), sizes.end(), int64_t(0));
    if (total != x.shape()[size_t(ax)])
      throw ShapeError(fmt::format("shape error at split of '{}' {} ({}): sizes {} sum to {} but axis "
                                   "{} has {}",
                                   x.name(), to_string(x.shape()), where(l), to_string(sizes), total,
                                   ax, x.shape()[size_t(ax)]));
  }
  std::vector<Value> parts;
  int64_t begin = 0;
  for (auto s : sizes) {
    parts.push_back(slice(x, ax, begin, begin + s, l));
    begin += s;
  }
  return parts;
}

Value stack(const std::vector<Value>& xs, int64_t axis, Loc l) {
  if (xs.empty()) throw std::invalid_argument(fmt::format("stack at {}: no inputs", where(l)));
  return make(Op::Stack, xs, AxisAttrs{norm_or_keep(axis, xs[0].rank() + 1)}, l);
}

Value repeat(Value x, int64_t n, int64_t axis, Loc l) {
  return make(Op::Repeat, {x}, RepeatAttrs{.repeats = n, .axis = norm_or_keep(axis, x.rank())}, l);
}

Value gather(Value table, Value indices, Loc l) { return make(Op::Gather, {table, indices}, {}, l); }

Value one_hot(Value indices, int64_t depth, int64_t axis, Loc l) {
  return make(Op::OneHot, {indices},
              OneHotAttrs{.depth = depth, .axis = norm_or_keep(axis, indices.rank() + 1)}, l);
}

} // namespace sg
