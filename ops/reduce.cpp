// Reductions: sum, mean and max over a set of axes, the sum back to a
// broadcast operand's shape, argmax, and the argmax mask of max's gradient.
// Each op: the formula, the definition (shape rule, kernel, VJP), the builder.
//
// Every reduction visits its elements in one fixed order that depends only on
// the shapes (row-major over the reduced axes), and accumulates in double, so
// results are bitwise the same for any thread count.
#include "ops/family.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace sg {

namespace detail {
namespace {

constexpr size_t kMaxRank = 8;

void check_rank(const Shape& s) {
  if (s.size() > kMaxRank)
    throw RuleError(fmt::format("reductions support rank <= {}, got {}", kMaxRank, to_string(s)));
}

// Axes normalised against `rank`, sorted; out-of-range ones are left as
// given so the shape rule reports them (with the node and call site).
std::vector<int64_t> sorted_axes(std::vector<int64_t> axes, int64_t rank) {
  for (auto& a : axes)
    if (a < 0 && a + rank >= 0) a += rank;
  std::sort(axes.begin(), axes.end());
  return axes;
}

// Checks the axes of Sum/Mean/Max: in range, strictly increasing.
void check_axes(const Shape& x, const std::vector<int64_t>& axes) {
  check_rank(x);
  const auto r = static_cast<int64_t>(x.size());
  for (size_t i = 0; i < axes.size(); ++i) {
    if (axes[i] < 0 || axes[i] >= r)
      throw RuleError(fmt::format("axis {} is out of range for rank {} (axes {})", axes[i], r,
                                  to_string(axes)));
    if (i > 0 && axes[i] <= axes[i - 1])
      throw RuleError(fmt::format("axes {} name axis {} twice (or are not sorted)", to_string(axes),
                                  axes[i]));
  }
}

// x's shape with the reduced axes set to 1 (the keepdims shape).
Shape kept_shape(const Shape& x, const std::vector<int64_t>& axes) {
  Shape s = x;
  for (auto a : axes) s[size_t(a)] = 1;
  return s;
}

int64_t reduced_count(const Shape& x, const std::vector<int64_t>& axes) {
  int64_t n = 1;
  for (auto a : axes) n *= x[size_t(a)];
  return n;
}

// Sum/Mean/Max: axes removed, or kept as 1 with keepdims.
Shape reduce_rule(Shapes in, const Attrs& at) {
  const ReduceAttrs& a = at.get<ReduceAttrs>();
  const Shape& x = *in[0];
  check_axes(x, a.axes);
  if (a.keepdims) return kept_shape(x, a.axes);
  Shape s;
  for (size_t i = 0; i < x.size(); ++i)
    if (!std::binary_search(a.axes.begin(), a.axes.end(), int64_t(i))) s.push_back(x[i]);
  return s;
}

// SumTo: the target (ShapeAttrs) has x's rank with dims equal or 1, or is {}.
Shape sum_to_rule(Shapes in, const Attrs& a) {
  const Shape& x = *in[0];
  check_rank(x);
  const Shape& t = a.get<ShapeAttrs>().shape;
  if (t.empty()) return t;
  bool ok = t.size() == x.size();
  for (size_t i = 0; ok && i < t.size(); ++i) ok = t[i] == x[i] || t[i] == 1;
  if (!ok)
    throw RuleError(fmt::format("cannot sum {} to {}: the target needs the same rank with dims "
                                "equal or 1, or is () for a full sum",
                                to_string(x), to_string(t)));
  return t;
}

// Cost of a reduction: one ns per element read.
double read_cost(Shapes in, const Shape&, const Attrs&) { return double(numel(*in[0])); }

// The loop nest of a reduction: the input's axes folded into runs of kept
// and of reduced axes (adjacent axes of one kind merge; size-1 axes vanish).
// Outputs are produced in row-major order; when the innermost run is kept
// and contiguous, up to kLanes neighbouring outputs are reduced together so
// the inner loop reads memory contiguously.
struct Nest {
  std::array<int64_t, kMaxRank> ksize{}, kstride{}, rsize{}, rstride{};
  size_t nk = 0, nr = 0;
};

Nest make_nest(const Shape& s, const std::array<bool, kMaxRank>& reduce) {
  Nest q;
  // inner to outer, then reverse each list
  int64_t stride = 1;
  int last = -1; // kind of the last group added: 0 kept, 1 reduced
  for (size_t i = s.size(); i-- > 0;) {
    const int64_t d = s[i];
    if (d != 1) {
      const int kind = reduce[i] ? 1 : 0;
      auto& size = kind ? q.rsize : q.ksize;
      auto& str = kind ? q.rstride : q.kstride;
      size_t& n = kind ? q.nr : q.nk;
      if (kind == last) {
        size[n - 1] *= d; // adjacent axes of one kind: one run
      } else {
        size[n] = d;
        str[n] = stride;
        ++n;
      }
      last = kind;
    }
    stride *= d;
  }
  std::reverse(q.ksize.begin(), q.ksize.begin() + long(q.nk));
  std::reverse(q.kstride.begin(), q.kstride.begin() + long(q.nk));
  std::reverse(q.rsize.begin(), q.rsize.begin() + long(q.nr));
  std::reverse(q.rstride.begin(), q.rstride.begin() + long(q.nr));
  return q;
}

// Odometer step over runs [0, n): advances idx, keeping `off` = sum idx*stride.
// Returns false once every index has wrapped.
inline bool advance(std::array<int64_t, kMaxRank>& idx, const std::array<int64_t, kMaxRank>& size,
                    const std::array<int64_t, kMaxRank>& stride, size_t n, int64_t& off) {
  for (size_t a = n; a-- > 0;) {
    ++idx[a];
    off += stride[a];
    if (idx[a] < size[a]) return true;
    off -= stride[a] * size[a];
    idx[a] = 0;
  }
  return false;
}

// out[o] = fin(fold(f, init, x over the reduced axes of o)), accumulated in double.
template <class T, class F, class Fin>
void reduce_kernel(const KernelArgs<T>& k, const std::array<bool, kMaxRank>& reduce, double init,
                   F f, Fin fin) {
  constexpr int64_t kLanes = 16;
  const T* x = k.x(0);
  T* y = k.out;
  if (k.n() == 0) return;
  if (k.size(0) == 0) { // reducing over an empty axis
    for (int64_t i = 0; i < k.n(); ++i) y[i] = static_cast<T>(fin(init));
    return;
  }
  // Leading axes reduced, trailing axes kept (a bias's gradient: (rows, n)
  // summed to (n)): rows outer, a block of contiguous lanes inner, so memory
  // is read in order. Each output is folded over the rows in the same order
  // as the general path below: the same bits.
  {
    const Shape& xs = k.s(0);
    size_t lead = 0;
    while (lead < xs.size() && reduce[lead]) ++lead;
    bool suffix_kept = lead > 0;
    for (size_t a = lead; a < xs.size(); ++a) suffix_kept = suffix_kept && !reduce[a];
    if (suffix_kept) {
      int64_t rows = 1;
      for (size_t a = 0; a < lead; ++a) rows *= xs[a];
      const int64_t cols = k.n();
      constexpr int64_t kBlock = 512;
      std::array<double, kBlock> acc;
      for (int64_t c0 = 0; c0 < cols; c0 += kBlock) {
        const int64_t w = std::min(kBlock, cols - c0);
        std::fill(acc.begin(), acc.begin() + w, init);
        for (int64_t r = 0; r < rows; ++r) {
          const T* p = x + r * cols + c0;
          for (int64_t j = 0; j < w; ++j) acc[size_t(j)] = f(acc[size_t(j)], double(p[j]));
        }
        for (int64_t j = 0; j < w; ++j) y[c0 + j] = static_cast<T>(fin(acc[size_t(j)]));
      }
      return;
    }
  }
  Nest q = make_nest(k.s(0), reduce);
  // The lane run: the innermost kept run when it is contiguous.
  int64_t lanes = 1;
  size_t nk = q.nk;
  if (nk > 0 && q.kstride[nk - 1] == 1) lanes = q.ksize[--nk];
  // The innermost reduced run is an explicit loop; the rest is an odometer.
  int64_t rin = 1, rin_stride = 0;
  size_t nr = q.nr;
  if (nr > 0) {
    --nr;
    rin = q.rsize[nr];
    rin_stride = q.rstride[nr];
  }
  std::array<int64_t, kMaxRank> kidx{}, ridx{};
  std::array<double, kLanes> acc{};
  int64_t o = 0, koff = 0;
  do {
    for (int64_t l0 = 0; l0 < lanes; l0 += kLanes) {
      const int64_t w = std::min(kLanes, lanes - l0);
      std::fill(acc.begin(), acc.begin() + w, init);
      int64_t roff = 0;
      ridx.fill(0);
      do {
        const T* p = x + koff + l0 + roff;
        for (int64_t r = 0; r < rin; ++r, p += rin_stride)
          for (int64_t j = 0; j < w; ++j) acc[size_t(j)] = f(acc[size_t(j)], double(p[j]));
      } while (advance(ridx, q.rsize, q.rstride, nr, roff));
      for (int64_t j = 0; j < w; ++j) y[o++] = static_cast<T>(fin(acc[size_t(j)]));
    }
  } while (advance(kidx, q.ksize, q.kstride, nk, koff));
}

std::array<bool, kMaxRank> axes_mask(const std::vector<int64_t>& axes) {
  std::array<bool, kMaxRank> m{};
  for (auto a : axes) m[size_t(a)] = true;
  return m;
}

constexpr auto add_f = [](double a, double v) { return a + v; };
constexpr auto max_f = [](double a, double v) { return (v > a || v != v) ? v : a; }; // NaN sticks
constexpr auto id_f = [](double a) { return a; };

// dy of a reduction broadcast back to x's shape: reshaped to the keepdims
// shape, then broadcast along the reduced axes. By value: the callers pass
// parts of graph nodes, which adding nodes may move.
Value expand(Value dy, Shape x, std::vector<int64_t> axes) {
  const Shape ks = kept_shape(x, axes);
  if (dy.shape() != ks) dy = reshape(dy, ks);
  if (ks != x) dy = broadcast_to(dy, x);
  return dy;
}

// The axes SumTo reduces: all of them for a () target, else where the target is 1.
std::vector<int64_t> sum_to_axes(const Shape& x, const Shape& t) {
  std::vector<int64_t> axes;
  for (size_t i = 0; i < x.size(); ++i)
    if (t.empty() || t[i] == 1) axes.push_back(int64_t(i));
  return axes;
}

Shape argmax_rule(Shapes in, const Attrs& a) {
  const Shape& x = *in[0];
  const int64_t axis = a.get<AxisAttrs>().axis;
  const int64_t ax = norm_axis(axis, int64_t(x.size()));
  if (x[size_t(ax)] == 0) throw RuleError(fmt::format("argmax over axis {} of size 0", axis));
  Shape s = x;
  s.erase(s.begin() + ax);
  return s;
}

// EqualMask(x, m): m has x's rank with dims equal or 1 (or is a scalar).
Shape equal_mask_rule(Shapes in, const Attrs&) {
  const Shape &x = *in[0], &m = *in[1];
  check_rank(x);
  if (m.empty()) return x;
  bool ok = m.size() == x.size();
  for (size_t i = 0; ok && i < m.size(); ++i) ok = m[i] == x[i] || m[i] == 1;
  if (!ok)
    throw RuleError(fmt::format("equal_mask: {} does not broadcast to {} (same rank, dims equal or 1)",
                                to_string(m), to_string(x)));
  return x;
}

} // namespace

void define_reduce(OpTable& t) {
  auto def = [&](Op op) -> OpDef& { return t[size_t(op)]; };

  // y = sum of x over ReduceAttrs::axes (keepdims: kept as 1)
  def(Op::Sum) = {.name = "sum", .arity = 1, .shape = reduce_rule,
    .kernel = kernels([](const auto& k) {
      reduce_kernel(k, axes_mask(attr<ReduceAttrs>(k).axes), 0.0, add_f, id_f);
    }),
    .vjp = [](const VjpCtx& c, int) { return expand(c.dy, c.shape(0), c.attr<ReduceAttrs>().axes); },
    .cost = read_cost};

  // y = sum of x over ReduceAttrs::axes / the number of elements summed
  def(Op::Mean) = {.name = "mean", .arity = 1, .shape = reduce_rule,
    .kernel = kernels([](const auto& k) {
      const auto& axes = attr<ReduceAttrs>(k).axes;
      const double n = double(reduced_count(k.s(0), axes));
      reduce_kernel(k, axes_mask(axes), 0.0, add_f, [n](double a) { return a / n; });
    }),
    .vjp = [](const VjpCtx& c, int) {
      const std::vector<int64_t> axes = c.attr<ReduceAttrs>().axes;
      const int64_t n = reduced_count(c.shape(0), axes);
      return expand(c.dy * (n ? 1.0 / double(n) : 0.0), c.shape(0), axes);
    },
    .cost = read_cost};

  // y = max of x over ReduceAttrs::axes. Gradient: dy goes to every element equal to
  // the max; with ties, each tied element gets the full dy (not a share).
  def(Op::Max) = {.name = "max", .arity = 1, .shape = reduce_rule,
    .kernel = kernels([](const auto& k) {
      reduce_kernel(k, axes_mask(attr<ReduceAttrs>(k).axes), -std::numeric_limits<double>::infinity(),
                    max_f, id_f);
    }),
    .vjp = [](const VjpCtx& c, int) {
      const std::vector<int64_t> axes = c.attr<ReduceAttrs>().axes;
      const Shape ks = kept_shape(c.shape(0), axes);
      Value m = c.y().shape() == ks ? c.y() : reshape(c.y(), ks);
      return expand(c.dy, c.shape(0), axes) * make(Op::EqualMask, {c.x(0), m});
    },
    .cost = read_cost};

  // y = x summed over the axes where the target shape (ShapeAttrs) is 1 (all for ())
  def(Op::SumTo) = {.name = "sum_to", .arity = 1, .shape = sum_to_rule,
    .kernel = kernels([](const auto& k) {
      const Shape& x = k.s(0);
      const Shape& tg = attr<ShapeAttrs>(k).shape;
      std::array<bool, kMaxRank> m{};
      for (size_t i = 0; i < x.size(); ++i) m[i] = tg.empty() || tg[i] == 1;
      reduce_kernel(k, m, 0.0, add_f, id_f);
    }),
    .vjp = [](const VjpCtx& c, int) {
      return expand(c.dy, c.shape(0), sum_to_axes(c.shape(0), c.attr<ShapeAttrs>().shape));
    },
    .cost = read_cost};

  // y = index of the max along AxisAttrs::axis (the first on ties), as a value; axis removed
  def(Op::ArgMax) = {.name = "argmax", .arity = 1, .shape = argmax_rule,
    .kernel = kernels([](const auto& k) {
      using T = std::remove_cvref_t<decltype(*k.out)>;
      const AxisSplit p = split_at(k.s(0), norm_axis(attr<AxisAttrs>(k).axis, int64_t(k.s(0).size())));
      const T* x = k.x(0);
      for (int64_t o = 0; o < p.outer; ++o)
        for (int64_t j = 0; j < p.inner; ++j) {
          const T* r = x + o * p.n * p.inner + j;
          int64_t best = 0;
          for (int64_t i = 1; i < p.n; ++i)
            if (r[i * p.inner] > r[best * p.inner]) best = i;
          k.out[o * p.inner + j] = static_cast<T>(best);
        }
    }),
    .no_grad = "integer output", .zero_grad = true, .cost = read_cost};

  // y = x == broadcast(m) ? 1 : 0
  def(Op::EqualMask) = {.name = "equal_mask", .arity = 2, .shape = equal_mask_rule,
    .kernel = kernels([](const auto& k) {
      using T = std::remove_cvref_t<decltype(*k.out)>;
      const T* x = k.x(0);
      const T* m = k.x(1);
      const Shape& xs = k.s(0);
      const Shape& ms = k.s(1);
      const int64_t n = k.n();
      if (n == 0) return;
      if (ms.empty() || k.size(1) == n) {
        const bool scalar = ms.empty();
        for (int64_t i = 0; i < n; ++i) k.out[i] = T(x[i] == m[scalar ? 0 : i] ? 1 : 0);
        return;
      }
      // odometer over x; m's strides are 0 on its broadcast axes
      std::array<int64_t, kMaxRank> size{}, mst{}, idx{};
      const size_t r = xs.size();
      int64_t st = 1;
      for (size_t i = r; i-- > 0;) {
        size[i] = xs[i];
        mst[i] = ms[i] == 1 ? 0 : st;
        st *= ms[i];
      }
      const int64_t inner = xs[r - 1], is = mst[r - 1];
      int64_t moff = 0;
      for (int64_t o = 0; o < n; o += inner) {
        for (int64_t j = 0; j < inner; ++j) k.out[o + j] = T(x[o + j] == m[moff + j * is] ? 1 : 0);
        advance(idx, size, mst, r - 1, moff);
      }
    }),
    .no_grad = "piecewise constant", .zero_grad = true};
}

} // namespace detail

using detail::make;

namespace {
ReduceAttrs all_axes(const Value& x) {
  ReduceAttrs a;
  for (int i = 0; i < x.rank(); ++i) a.axes.push_back(i);
  return a;
}
ReduceAttrs over(const Value& x, std::vector<int64_t> axes, bool keepdims) {
  return {.axes = detail::sorted_axes(std::move(axes), x.rank()), .keepdims = keepdims};
}
} // namespace

Value sum(Value x, Loc l) { return make(Op::Sum, {x}, all_axes(x), l); }

Value sum(Value x, std::vector<int64_t> axes, bool keepdims, Loc l) {
  return make(Op::Sum, {x}, over(x, std::move(axes), keepdims), l);
}

Value mean(Value x, Loc l) { return make(Op::Mean, {x}, all_axes(x), l); }

Value mean(Value x, std::vector<int64_t> axes, bool keepdims, Loc l) {
  return make(Op::Mean, {x}, over(x, std::move(axes), keepdims), l);
}

Value max(Value x, std::vector<int64_t> axes, bool keepdims, Loc l) {
  return make(Op::Max, {x}, over(x, std::move(axes), keepdims), l);
}

Value sum_to(Value x, Shape shape, Loc l) { return make(Op::SumTo, {x}, ShapeAttrs{std::move(shape)}, l); }

Value argmax(Value x, int64_t axis, Loc l) { return make(Op::ArgMax, {x}, AxisAttrs{axis}, l); }

} // namespace sg
