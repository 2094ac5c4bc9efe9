// Elementwise ops: unary math, binary arithmetic with explicit, checked
// broadcasting, and the piecewise-constant masks their gradients use.
// Each op: the formula, the definition (shape rule, kernel, VJP), the builder.
#include "ops/family.hpp"
#include "ops/simd.hpp"

#include <cmath>

namespace sg {

namespace detail {
namespace {

// ---- kernels shared by the family

template <class T, class F> void unary(const KernelArgs<T>& k, F f) {
  const T* x = k.x(0);
  T* y = k.out;
  const int64_t n = k.n();
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

// y = f(x) for the transcendental functions: xsimd batches of the widest
// arch this CPU has, the same bits on every arch (ops/simd.hpp).
template <class T> void unary_simd(const KernelArgs<T>& k, simd::Fn f) { simd::unary(f, k.x(0), k.out, k.n()); }

// z = f(a, b) with a, b broadcast to z's shape (same rank, dims equal or 1,
// or a rank-0 scalar). Fast paths for equal shapes and scalars.
template <class T, class F> void binary(const KernelArgs<T>& k, F f) {
  const T* a = k.x(0);
  const T* b = k.x(1);
  T* z = k.out;
  const int64_t n = k.n();
  const int64_t na = k.size(0), nb = k.size(1);
  if (na == n && nb == n) {
    for (int64_t i = 0; i < n; ++i) z[i] = f(a[i], b[i]);
    return;
  }
  if (nb == 1 && na == n) {
    const T bv = b[0];
    for (int64_t i = 0; i < n; ++i) z[i] = f(a[i], bv);
    return;
  }
  if (na == 1 && nb == n) {
    const T av = a[0];
    for (int64_t i = 0; i < n; ++i) z[i] = f(av, b[i]);
    return;
  }
  // General case: odometer over the output, strides 0 on broadcast axes.
  const Shape& zs = *k.out_shape;
  const size_t r = zs.size();
  std::array<int64_t, 8> sa{}, sb{}, idx{};
  if (r > sa.size()) throw std::runtime_error("elementwise broadcast: rank > 8 unsupported");
  auto set_strides = [&](const Shape& s, std::array<int64_t, 8>& st) {
    if (s.empty()) return; // scalar: all strides 0
    int64_t acc = 1;
    for (size_t i = r; i-- > 0;) {
      st[i] = s[i] == 1 ? 0 : acc;
      acc *= s[i];
    }
  };
  set_strides(k.s(0), sa);
  set_strides(k.s(1), sb);
  const int64_t inner = zs[r - 1], ia = sa[r - 1], ib = sb[r - 1];
  int64_t oa = 0, ob = 0;
  for (int64_t o = 0; o < n; o += inner) {
    // the inner run with constant strides, so that it vectorises
    if (ia == 1 && ib == 1)
      for (int64_t j = 0; j < inner; ++j) z[o + j] = f(a[oa + j], b[ob + j]);
    else if (ia == 1 && ib == 0)
      for (int64_t j = 0; j < inner; ++j) z[o + j] = f(a[oa + j], b[ob]);
    else if (ia == 0 && ib == 1)
      for (int64_t j = 0; j < inner; ++j) z[o + j] = f(a[oa], b[ob + j]);
    else
      for (int64_t j = 0; j < inner; ++j) z[o + j] = f(a[oa + j * ia], b[ob + j * ib]);
    // advance the odometer over the outer axes
    for (size_t ax = r - 1; ax-- > 0;) {
      ++idx[ax];
      oa += sa[ax];
      ob += sb[ax];
      if (idx[ax] < zs[ax]) break;
      oa -= sa[ax] * zs[ax];
      ob -= sb[ax] * zs[ax];
      idx[ax] = 0;
    }
  }
}

Shape broadcast_rule(Shapes in, const Attrs&) { return broadcast_shapes(*in[0], *in[1]); }

// The gradient of a broadcast operand: summed back to the operand's shape.
Value unbroadcast(Value g, const Shape& s) { return g.shape() == s ? g : sum_to(g, s); }

// (y, dy) of one shape: the activation gradients
Shape same_shapes_rule(Shapes in, const Attrs&) {
  if (*in[0] != *in[1])
    throw RuleError(fmt::format("an activation's gradient needs y and dy of one shape, got {} and {}",
                                to_string(*in[0]), to_string(*in[1])));
  return *in[0];
}

Shape add_n_rule(Shapes in, const Attrs&) {
  for (size_t i = 1; i < in.size(); ++i)
    if (*in[i] != *in[0])
      throw RuleError(fmt::format("add_n needs equal shapes: input {} is {}, input 0 is {}", i,
                                  to_string(*in[i]), to_string(*in[0])));
  return *in[0];
}

} // namespace

void define_elementwise(OpTable& t) {
  auto def = [&](Op op) -> OpDef& { return t[size_t(op)]; };

  // y = -x
  def(Op::Neg) = {.name = "neg", .arity = 1, .shape = same_as_first,
    .kernel = kernels([](const auto& k) { unary(k, [](auto x) { return -x; }); }),
    .vjp = [](const VjpCtx& c, int) { return -c.dy; }};

  // y = exp(x)
  def(Op::Exp) = {.name = "exp", .arity = 1, .shape = same_as_first,
    .kernel = kernels([](const auto& k) { unary_simd(k, simd::Fn::Exp); }),
    .vjp = [](const VjpCtx& c, int) { return c.dy * c.y(); }};

  // y = log(x)
  def(Op::Log) = {.name = "log", .arity = 1, .shape = same_as_first,
    .kernel = kernels([](const auto& k) { unary_simd(k, simd::Fn::Log); }),
    .vjp = [](const VjpCtx& c, int) { return c.dy / c.x(0); }};

  // y = tanh(x)
  def(Op::Tanh) = {.name = "tanh", .arity = 1, .shape = same_as_first,
    .kernel = kernels([](const auto& k) { unary_simd(k, simd::Fn::Tanh); }),
    .vjp = [](const VjpCtx& c, int) { return tanh_grad(c.y(), c.dy); }};

  // y = 1 / (1 + exp(-x))   (exp(-x) = inf for very negative x gives y = 0, no NaN)
  def(Op::Sigmoid) = {.name = "sigmoid", .arity = 1, .shape = same_as_first,
    .kernel = kernels([](const auto& k) { unary_simd(k, simd::Fn::Sigmoid); }),
    .vjp = [](const VjpCtx& c, int) { return sigmoid_grad(c.y(), c.dy); }};

  // y = max(x, 0)
  def(Op::Relu) = {.name = "relu", .arity = 1, .shape = same_as_first,
    .kernel = kernels([](const auto& k) { unary(k, [](auto x) { return x > 0 ? x : decltype(x)(0); }); }),
    .vjp = [](const VjpCtx& c, int) { return c.dy * step(c.x(0)); }};

  // y = sqrt(x)
  def(Op::Sqrt) = {.name = "sqrt", .arity = 1, .shape = same_as_first,
    .kernel = kernels([](const auto& k) { unary_simd(k, simd::Fn::Sqrt); }),
    .vjp = [](const VjpCtx& c, int) { return c.dy * 0.5 / c.y(); }};

  // y = x^2
  def(Op::Square) = {.name = "square", .arity = 1, .shape = same_as_first,
    .kernel = kernels([](const auto& k) { unary(k, [](auto x) { return x * x; }); }),
    .vjp = [](const VjpCtx& c, int) { return c.dy * 2.0 * c.x(0); }};

  // y = x^p, p a constant (PowScalarAttrs::exponent)
  def(Op::PowScalar) = {.name = "pow_scalar", .arity = 1, .shape = same_as_first,
    .kernel = kernels([](const auto& k) {
      using T = std::remove_cvref_t<decltype(*k.out)>;
      const T p = static_cast<T>(attr<PowScalarAttrs>(k).exponent);
      unary(k, [p](T x) { return std::pow(x, p); });
    }),
    .vjp = [](const VjpCtx& c, int) {
      double p = c.attr<PowScalarAttrs>().exponent;
      return c.dy * p * pow(c.x(0), p - 1);
    }};

  // y = min(max(x, lo), hi)   (RangeAttrs)
  def(Op::Clip) = {.name = "clip", .arity = 1, .shape = same_as_first,
    .kernel = kernels([](const auto& k) {
      using T = std::remove_cvref_t<decltype(*k.out)>;
      const RangeAttrs& at = attr<RangeAttrs>(k);
      const T lo = static_cast<T>(at.lo), hi = static_cast<T>(at.hi);
      unary(k, [lo, hi](T x) { return x < lo ? lo : (x > hi ? hi : x); });
    }),
    .vjp = [](const VjpCtx& c, int) {
      const RangeAttrs at = c.attr<RangeAttrs>();
      return c.dy * in_range(c.x(0), at.lo, at.hi);
    }};

  // z = dy (1 - y^2) from (y, dy): tanh's VJP, computed as the composite
  // dy * (1 - square(y)) would compute it (the same operations, in order).
  def(Op::TanhGrad) = {.name = "tanh_grad", .arity = 2, .shape = same_shapes_rule,
    .kernel = kernels([](const auto& k) {
      binary(k, [](auto y, auto dy) { return dy * (decltype(y)(1) - y * y); });
    }),
    .vjp = [](const VjpCtx& c, int i) {
      return i == 0 ? c.dy * c.x(1) * -2.0 * c.x(0) : tanh_grad(c.x(0), c.dy);
    }};

  // z = dy y (1 - y) from (y, dy): sigmoid's VJP, as (dy * y) * (1 - y).
  def(Op::SigmoidGrad) = {.name = "sigmoid_grad", .arity = 2, .shape = same_shapes_rule,
    .kernel = kernels([](const auto& k) {
      binary(k, [](auto y, auto dy) { return dy * y * (decltype(y)(1) - y); });
    }),
    .vjp = [](const VjpCtx& c, int i) {
      return i == 0 ? c.dy * c.x(1) * (1.0 - 2.0 * c.x(0)) : sigmoid_grad(c.x(0), c.dy);
    }};

  // z = a + b
  def(Op::Add) = {.name = "add", .arity = 2, .shape = broadcast_rule,
    .kernel = kernels([](const auto& k) { binary(k, [](auto a, auto b) { return a + b; }); }),
    .vjp = [](const VjpCtx& c, int i) { return unbroadcast(c.dy, c.shape(i)); }};

  // z = a - b
  def(Op::Sub) = {.name = "sub", .arity = 2, .shape = broadcast_rule,
    .kernel = kernels([](const auto& k) { binary(k, [](auto a, auto b) { return a - b; }); }),
    .vjp = [](const VjpCtx& c, int i) {
      return i == 0 ? unbroadcast(c.dy, c.shape(0)) : unbroadcast(-c.dy, c.shape(1));
    }};

  // z = a * b
  def(Op::Mul) = {.name = "mul", .arity = 2, .shape = broadcast_rule,
    .kernel = kernels([](const auto& k) { binary(k, [](auto a, auto b) { return a * b; }); }),
    .vjp = [](const VjpCtx& c, int i) { return unbroadcast(c.dy * c.x(1 - i), c.shape(i)); }};

  // z = a / b
  def(Op::Div) = {.name = "div", .arity = 2, .shape = broadcast_rule,
    .kernel = kernels([](const auto& k) { binary(k, [](auto a, auto b) { return a / b; }); }),
    .vjp = [](const VjpCtx& c, int i) {
      return i == 0 ? unbroadcast(c.dy / c.x(1), c.shape(0))
                    : unbroadcast(-c.dy * c.y() / c.x(1), c.shape(1));
    }};

  // z = max(a, b); ties send the gradient to a
  def(Op::Maximum) = {.name = "maximum", .arity = 2, .shape = broadcast_rule,
    .kernel = kernels([](const auto& k) { binary(k, [](auto a, auto b) { return a >= b ? a : b; }); }),
    .vjp = [](const VjpCtx& c, int i) {
      Value m = greater_equal(c.x(0), c.x(1));
      return unbroadcast(i == 0 ? c.dy * m : c.dy * (1.0 - m), c.shape(i));
    }};

  // z = min(a, b); ties send the gradient to a
  def(Op::Minimum) = {.name = "minimum", .arity = 2, .shape = broadcast_rule,
    .kernel = kernels([](const auto& k) { binary(k, [](auto a, auto b) { return a <= b ? a : b; }); }),
    .vjp = [](const VjpCtx& c, int i) {
      Value m = greater_equal(c.x(1), c.x(0));
      return unbroadcast(i == 0 ? c.dy * m : c.dy * (1.0 - m), c.shape(i));
    }};

  // z = a^b
  def(Op::Pow) = {.name = "pow", .arity = 2, .shape = broadcast_rule,
    .kernel = kernels([](const auto& k) { binary(k, [](auto a, auto b) { return std::pow(a, b); }); }),
    .vjp = [](const VjpCtx& c, int i) {
      return i == 0 ? unbroadcast(c.dy * c.x(1) * pow(c.x(0), c.x(1) - 1.0), c.shape(0))
                    : unbroadcast(c.dy * c.y() * log(c.x(0)), c.shape(1));
    }};

  // y = x_0 + x_1 + ... + x_{n-1}, summed in input order (deterministic)
  def(Op::AddN) = {.name = "add_n", .arity = -1, .shape = add_n_rule,
    .kernel = kernels([](const auto& k) {
      const int64_t n = k.n();
      auto* y = k.out;
      const auto* x0 = k.x(0);
      for (int64_t j = 0; j < n; ++j) y[j] = x0[j];
      for (int i = 1; i < k.n_in; ++i) {
        const auto* xi = k.x(i);
        for (int64_t j = 0; j < n; ++j) y[j] += xi[j];
      }
    }),
    .vjp = [](const VjpCtx& c, int) { return c.dy; }};

  // y = x > 0 ? 1 : 0
  def(Op::Step) = {.name = "step", .arity = 1, .shape = same_as_first,
    .kernel = kernels([](const auto& k) { unary(k, [](auto x) { return decltype(x)(x > 0 ? 1 : 0); }); }),
    .no_grad = "piecewise constant", .zero_grad = true};

  // y = lo <= x <= hi ? 1 : 0   (RangeAttrs)
  def(Op::InRange) = {.name = "in_range", .arity = 1, .shape = same_as_first,
    .kernel = kernels([](const auto& k) {
      const RangeAttrs& at = attr<RangeAttrs>(k);
      const double lo = at.lo, hi = at.hi;
      unary(k, [lo, hi](auto x) { return decltype(x)(x >= lo && x <= hi ? 1 : 0); });
    }),
    .no_grad = "piecewise constant", .zero_grad = true};

  // z = a >= b ? 1 : 0
  def(Op::GreaterEqual) = {.name = "greater_equal", .arity = 2, .shape = broadcast_rule,
    .kernel = kernels([](const auto& k) { binary(k, [](auto a, auto b) { return decltype(a)(a >= b ? 1 : 0); }); }),
    .no_grad = "piecewise constant", .zero_grad = true};
}

} // namespace detail

using detail::make;

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  if (a == b) return a;
  if (a.empty()) return b;
  if (b.empty()) return a;
  if (a.size() != b.size())
    throw RuleError(fmt::format("shapes {} and {} have different ranks; broadcasting is explicit: "
                                "reshape one operand to rank {} (dims of 1 broadcast)",
                                to_string(a), to_string(b), std::max(a.size(), b.size())));
  Shape r(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i] || b[i] == 1)
      r[i] = a[i];
    else if (a[i] == 1)
      r[i] = b[i];
    else
      throw RuleError(fmt::format("shapes {} and {} do not broadcast: axis {} is {} vs {} "
                                  "(dims must be equal or 1)",
                                  to_string(a), to_string(b), i, a[i], b[i]));
  }
  return r;
}

Value neg(Value x, Loc l) { return make(Op::Neg, {x}, {}, l); }
Value exp(Value x, Loc l) { return make(Op::Exp, {x}, {}, l); }
Value log(Value x, Loc l) { return make(Op::Log, {x}, {}, l); }
Value tanh(Value x, Loc l) { return make(Op::Tanh, {x}, {}, l); }
Value sigmoid(Value x, Loc l) { return make(Op::Sigmoid, {x}, {}, l); }
Value relu(Value x, Loc l) { return make(Op::Relu, {x}, {}, l); }
Value sqrt(Value x, Loc l) { return make(Op::Sqrt, {x}, {}, l); }
Value square(Value x, Loc l) { return make(Op::Square, {x}, {}, l); }
Value pow(Value x, double p, Loc l) { return make(Op::PowScalar, {x}, PowScalarAttrs{.exponent = p}, l); }
Value clip(Value x, double lo, double hi, Loc l) {
  if (!(lo <= hi))
    throw std::invalid_argument(fmt::format("clip at {}: lo {} > hi {}", where(l), lo, hi));
  return make(Op::Clip, {x}, RangeAttrs{.lo = lo, .hi = hi}, l);
}
Value add(Value a, Value b, Loc l) { return make(Op::Add, {a, b}, {}, l); }
Value sub(Value a, Value b, Loc l) { return make(Op::Sub, {a, b}, {}, l); }
Value mul(Value a, Value b, Loc l) { return make(Op::Mul, {a, b}, {}, l); }
Value div(Value a, Value b, Loc l) { return make(Op::Div, {a, b}, {}, l); }
Value maximum(Value a, Value b, Loc l) { return make(Op::Maximum, {a, b}, {}, l); }
Value minimum(Value a, Value b, Loc l) { return make(Op::Minimum, {a, b}, {}, l); }
Value pow(Value a, Value b, Loc l) { return make(Op::Pow, {a, b}, {}, l); }
Value add_n(const std::vector<Value>& xs, Loc l) {
  if (xs.size() == 1) return xs[0];
  return make(Op::AddN, xs, {}, l);
}
Value step(Value x, Loc l) { return make(Op::Step, {x}, {}, l); }
Value in_range(Value x, double lo, double hi, Loc l) {
  return make(Op::InRange, {x}, RangeAttrs{.lo = lo, .hi = hi}, l);
}
Value greater_equal(Value a, Value b, Loc l) { return make(Op::GreaterEqual, {a, b}, {}, l); }
Value tanh_grad(Value y, Value dy, Loc l) { return make(Op::TanhGrad, {y, dy}, {}, l); }
Value sigmoid_grad(Value y, Value dy, Loc l) { return make(Op::SigmoidGrad, {y, dy}, {}, l); }

Value operator-(Value x) { return neg(x); }
Value operator+(Value a, Value b) { return add(a, b); }
Value operator-(Value a, Value b) { return sub(a, b); }
Value operator*(Value a, Value b) { return mul(a, b); }
Value operator/(Value a, Value b) { return div(a, b); }
Value operator+(Value a, double b) { return add(a, scalar(a.graph(), b)); }
Value operator-(Value a, double b) { return sub(a, scalar(a.graph(), b)); }
Value operator*(Value a, double b) { return mul(a, scalar(a.graph(), b)); }
Value operator/(Value a, double b) { return div(a, scalar(a.graph(), b)); }
Value operator+(double a, Value b) { return add(scalar(b.graph(), a), b); }
Value operator-(double a, Value b) { return sub(scalar(b.graph(), a), b); }
Value operator*(double a, Value b) { return mul(scalar(b.graph(), a), b); }
Value operator/(double a, Value b) { return div(scalar(b.graph(), a), b); }

} // namespace sg
