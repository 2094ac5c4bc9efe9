// Neural-network ops: softmax and log-softmax (stable), the fused softmax
// cross-entropy, dropout masks and categorical sampling (counter-based
// random: a pure function of (seed, node, run, element)), and Keras Conv1D
// with its two gradient ops.
// Each op: the formula, the definition (shape rule, kernel, VJP), the builder.
#include "ops/family.hpp"
#include "ops/blas.hpp"
#include "ops/simd.hpp"

#include "graph/random.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace sg {

namespace detail {
namespace {

AxisSplit split_k(const Shape& s, int64_t axis) { return split_at(s, norm_axis(axis, int64_t(s.size()))); }

Shape without_axis(const Shape& s, int64_t axis) {
  Shape r = s;
  r.erase(r.begin() + norm_axis(axis, int64_t(s.size())));
  return r;
}
Shape keep_axis(const Shape& s, int64_t axis) {
  Shape r = s;
  r[size_t(norm_axis(axis, int64_t(s.size())))] = 1;
  return r;
}

Shape axis_rule(Shapes in, const Attrs& a) {
  norm_axis(a.get<AxisAttrs>().axis, int64_t(in[0]->size()));
  return *in[0];
}

// For each row (o, j) along the axis (AxisAttrs): m = max, e_i = exp(x_i - m),
// s = sum e_i, in double (lse = m + log s; the row's exps in one call of
// ops/simd.hpp). f(base, n, inner, m, s, e) consumes it; e holds the row's n
// exps.
template <class T, class F> void rows(const KernelArgs<T>& k, F f) {
  const AxisSplit p = split_k(k.s(0), attr<AxisAttrs>(k).axis);
  const T* x = k.x(0);
  thread_local std::vector<double> e;
  e.resize(size_t(p.n));
  for (int64_t o = 0; o < p.outer; ++o)
    for (int64_t j = 0; j < p.inner; ++j) {
      const int64_t base = o * p.n * p.inner + j;
      const T* r = x + base;
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t i = 0; i < p.n; ++i) m = std::max(m, double(r[i * p.inner]));
      if (!std::isfinite(m)) m = 0; // all -inf (or inf/NaN): let the arithmetic say so
      for (int64_t i = 0; i < p.n; ++i) e[size_t(i)] = double(r[i * p.inner]) - m;
      simd::unary(simd::Fn::Exp, e.data(), e.data(), p.n); // the row's exps at once (the same bits on every arch)
      double s = 0;
      for (int64_t i = 0; i < p.n; ++i) s += e[size_t(i)];
      f(base, p.n, p.inner, m, s, e.data());
    }
}

// SoftmaxCrossEntropy: logits and labels of one shape, the axis removed.
// Logits and labels of one shape (sigmoid_cross_entropy's output shape).
Shape same_shape_rule(Shapes in, const Attrs&) {
  if (*in[0] != *in[1])
    throw RuleError(fmt::format("logits {} and labels {} must have the same shape",
                                to_string(*in[0]), to_string(*in[1])));
  return *in[0];
}
Shape xent_rule(Shapes in, const Attrs& a) { return without_axis(same_shape_rule(in, a), a.get<AxisAttrs>().axis); }

Shape sample_rule(Shapes in, const Attrs& at) {
  const int64_t axis = at.get<SampleAttrs>().axis;
  const Shape& p = *in[0];
  const int64_t ax = norm_axis(axis, int64_t(p.size()));
  if (p[size_t(ax)] == 0)
    throw RuleError(fmt::format("sample_categorical over axis {} of size 0", axis));
  return without_axis(p, axis);
}

Shape mask_rule(Shapes, const Attrs& at) {
  const DropoutMaskAttrs& a = at.get<DropoutMaskAttrs>();
  for (auto d : a.shape)
    if (d < 0) throw RuleError("dropout mask: negative dim in " + to_string(a.shape));
  if (!(a.rate >= 0 && a.rate < 1))
    throw RuleError(fmt::format("dropout rate {} is not in [0, 1)", a.rate));
  return a.shape;
}

// ---- Conv1D geometry (Keras): valid = no padding; same = ceil(steps / stride)
// outputs, total padding split with the smaller half on the left.
struct Geom {
  int64_t steps_out = 0, pad = 0;
};

Geom geom(int64_t steps, int64_t kernel, const Conv1DAttrs& a) {
  const int64_t stride = a.stride;
  if (stride < 1) throw RuleError(fmt::format("conv1d stride {} < 1", stride));
  if (kernel < 1) throw RuleError(fmt::format("conv1d kernel size {} < 1", kernel));
  if (a.padding == Padding::valid) {
    if (steps < kernel)
      throw RuleError(fmt::format("conv1d 'valid': {} steps are fewer than the kernel size {}", steps,
                                  kernel));
    return {(steps - kernel) / stride + 1, 0};
  }
  if (a.padding != Padding::same)
    throw RuleError(fmt::format("conv1d padding mode {} (valid or same)", int(a.padding)));
  const int64_t out = (steps + stride - 1) / stride;
  const int64_t total = std::max<int64_t>((out - 1) * stride + kernel - steps, 0);
  return {out, total / 2};
}

void need_rank3(const Shape& s, const char* what) {
  if (s.size() != 3) throw RuleError(fmt::format("conv1d: {} must be rank 3, got {}", what, to_string(s)));
}

// Checks x (B, S, Ci), w (K, Ci, Co), dy (B, S', Co) against each other.
void check_conv(const Shape& x, const Shape& w, const Shape* dy, const Conv1DAttrs& a) {
  need_rank3(x, "x (batch, steps, channels)");
  need_rank3(w, "w (kernel, in, out)");
  if (x[2] != w[1])
    throw RuleError(fmt::format("conv1d: x {} has {} channels, w {} expects {}", to_string(x), x[2],
                                to_string(w), w[1]));
  const Geom gm = geom(x[1], w[0], a);
  if (dy) {
    need_rank3(*dy, "dy (batch, steps, out)");
    if ((*dy)[0] != x[0] || (*dy)[1] != gm.steps_out || (*dy)[2] != w[2])
      throw RuleError(fmt::format("conv1d gradient: dy {} does not match x {} and w {} (expected {})",
                                  to_string(*dy), to_string(x), to_string(w),
                                  to_string(Shape{x[0], gm.steps_out, w[2]})));
  }
}

Shape conv_rule(Shapes in, const Attrs& at) {
  const Conv1DAttrs& a = at.get<Conv1DAttrs>();
  const Shape &x = *in[0], &w = *in[1];
  check_conv(x, w, nullptr, a);
  return {x[0], geom(x[1], w[0], a).steps_out, w[2]};
}
// Conv1DGradInput(dy, w), Conv1DGradAttrs::shape = x's shape
Shape conv_gi_rule(Shapes in, const Attrs& at) {
  const Conv1DGradAttrs& a = at.get<Conv1DGradAttrs>();
  check_conv(a.shape, *in[1], in[0], a.conv);
  return a.shape;
}
// Conv1DGradFilter(x, dy), Conv1DGradAttrs::shape = w's shape
Shape conv_gf_rule(Shapes in, const Attrs& at) {
  const Conv1DGradAttrs& a = at.get<Conv1DGradAttrs>();
  check_conv(*in[0], a.shape, in[1], a.conv);
  return a.shape;
}

// 2 * batch * steps_out * kernel * in * out flops at ~20 Gflop/s.
double conv_cost(const Shape& x, const Shape& w, const Conv1DAttrs& a) {
  const double flops =
      2.0 * double(x[0]) * double(geom(x[1], w[0], a).steps_out) * double(numel(w));
  return flops * 0.05;
}

// The dims every conv kernel loops over.
struct ConvDims {
  int64_t B, S, Ci, K, Co, So, stride, pad;
};
ConvDims dims(const Shape& x, const Shape& w, const Conv1DAttrs& a) {
  const Geom gm = geom(x[1], w[0], a);
  return {x[0], x[1], x[2], w[0], w[2], gm.steps_out, a.stride, gm.pad};
}

// Calls f(b, kk, g, t0, rows, pos0) for each batch entry b: taps kk .. kk + g - 1
// for the output steps t0 .. t0 + rows - 1 (rows > 0), where every one of those
// taps reads a row inside x (input row t * stride + tap - pad; pos0 that row
// for t0 and tap kk). Up to `stride` consecutive taps go together: for one
// output step their g * Ci inputs are contiguous, and consecutive steps' are
// stride * Ci apart, so a group is one product with K = g * Ci (not g products
// of K = Ci) and no im2col copy. The steps only some taps of a group can read
// (the edges of "same" padding) come as single taps. Every (b, tap, step)
// whose row is inside x comes once; the order is fixed (b, then the groups,
// each group's edges after it).
template <class F> void for_taps(const ConvDims& d, F f) {
  auto range = [&](int64_t kk) { // the steps tap kk can read: [t0, t1)
    const int64_t off = kk - d.pad;
    const int64_t t0 = off >= 0 ? 0 : (-off + d.stride - 1) / d.stride;
    const int64_t t1 = off >= d.S ? 0 : std::min(d.So, (d.S - 1 - off) / d.stride + 1);
    return std::pair{t0, std::max(t0, t1)};
  };
  auto call = [&](int64_t b, int64_t kk, int64_t g, int64_t t0, int64_t t1) {
    if (t1 > t0) f(b, kk, g, t0, t1 - t0, t0 * d.stride + kk - d.pad);
  };
  const int64_t G = std::max<int64_t>(1, std::min(d.stride, d.K));
  for (int64_t b = 0; b < d.B; ++b)
    for (int64_t kk = 0; kk < d.K; kk += G) {
      const int64_t g = std::min(G, d.K - kk);
      // a later tap reads later rows: the group's steps are [first's t0, last's t1)
      const int64_t lo = range(kk).first, hi = range(kk + g - 1).second;
      if (hi > lo) call(b, kk, g, lo, hi);
      for (int64_t j = kk; j < kk + g; ++j) {
        const auto [t0, t1] = range(j);
        if (hi <= lo) {
          call(b, j, 1, t0, t1);
          continue;
        }
        call(b, j, 1, t0, std::min(t1, lo));
        call(b, j, 1, std::max(t0, hi), t1);
      }
    }
}

// GruGates: zx, hu (B, 3u) and b (1, 3u) -> the gates (4, B, u); GruGatesGrad:
// the gates and their cotangent -> the shape of input `input`.
Shape gates_rule(Shapes in, const Attrs&) {
  const Shape &zx = *in[0], &hu = *in[1], &b = *in[2];
  if (zx.size() != 2 || zx != hu || zx[1] % 3 != 0 || zx[1] == 0 || b != Shape{1, zx[1]})
    throw RuleError(fmt::format("gru_cell: zx {} and hu {} must be (batch, 3u) and b {} (1, 3u)", to_string(zx),
                                to_string(hu), to_string(b)));
  return {4, zx[0], zx[1] / 3};
}
Shape gates_grad_rule(Shapes in, const Attrs& a) {
  const Shape &g = *in[0], &dg = *in[1];
  if (g.size() != 3 || g != dg || g[0] != 4)
    throw RuleError(fmt::format("gru_gates_grad: gates {} and their cotangent {} must be one (4, batch, u) shape",
                                to_string(g), to_string(dg)));
  const int64_t i = a.get<GruGradAttrs>().input;
  if (i < 0 || i > 1) throw RuleError(fmt::format("gru_gates_grad: input {} is not 0 (zx) or 1 (hu)", i));
  return {g[1], 3 * g[2]};
}
// GruBlend: the gates (4, B, u) and h (B, u) -> (B, u); GruBlendGrad: those
// and dy (B, u) -> the shape of input `input`.
Shape blend_rule(Shapes in, const Attrs&) {
  const Shape &g = *in[0], &h = *in[1];
  if (h.size() != 2 || g != Shape{4, h[0], h[1]})
    throw RuleError(fmt::format("gru_cell: h {} must be (batch, u) for the gates {} (4, batch, u)", to_string(h),
                                to_string(g)));
  return h;
}
Shape blend_grad_rule(Shapes in, const Attrs& a) {
  const Shape h = blend_rule(in, a);
  if (*in[2] != h) throw RuleError(fmt::format("gru_blend_grad: dy {} must be h's shape {}", to_string(*in[2]), to_string(h)));
  const int64_t i = a.get<GruGradAttrs>().input;
  if (i < 0 || i > 1) throw RuleError(fmt::format("gru_blend_grad: input {} is not 0 or 1", i));
  return *in[size_t(i)];
}

// The gates of a GRU step, (4, B, u): z, r, h~ and rec_h, each (B, u), with
// rec = hu + b, computed as the composite does: the sums in T, then the SIMD
// sigmoid and tanh of ops/simd.hpp on each (B, u) block (the composite's
// calls, so the same bits wherever a kernel has a scalar tail).
template <class T> void gru_gates(const T* zx, const T* hu, const T* bias, T* out, int64_t B, int64_t u) {
  const int64_t n = B * u;
  T *z = out, *r = out + n, *hh = out + 2 * n, *rh = out + 3 * n;
  for (int64_t b = 0; b < B; ++b) {
    const T* x = zx + b * 3 * u;
    const T* h = hu + b * 3 * u;
    for (int64_t j = 0; j < u; ++j) {
      const int64_t q = b * u + j;
      z[q] = x[j] + (h[j] + bias[j]);
      r[q] = x[u + j] + (h[u + j] + bias[u + j]);
      rh[q] = h[2 * u + j] + bias[2 * u + j];
    }
  }
  simd::unary(simd::Fn::Sigmoid, z, z, n);
  simd::unary(simd::Fn::Sigmoid, r, r, n);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < u; ++j) {
      const int64_t q = b * u + j;
      hh[q] = zx[b * 3 * u + 2 * u + j] + r[q] * rh[q];
    }
  simd::unary(simd::Fn::Tanh, hh, hh, n);
}

// LstmGates: zx (B, 4u), and hu of the same shape if given -> the gates
// (4, B, u); LstmGatesGrad: the gates and their cotangent -> z's shape.
Shape lstm_gates_rule(Shapes in, const Attrs&) {
  const Shape& z = *in[0];
  if (z.size() != 2 || z[1] % 4 != 0 || z[1] == 0 || in.size() > 2 || (in.size() == 2 && *in[1] != z))
    throw RuleError(fmt::format("lstm_cell: zx {}{} must be (batch, 4u)", to_string(z),
                                in.size() == 2 ? " and hu " + to_string(*in[1]) : std::string()));
  return {4, z[0], z[1] / 4};
}
Shape lstm_gates_grad_rule(Shapes in, const Attrs&) {
  const Shape &g = *in[0], &dg = *in[1];
  if (g.size() != 3 || g != dg || g[0] != 4)
    throw RuleError(fmt::format("lstm_gates_grad: gates {} and their cotangent {} must be one (4, batch, u) shape",
                                to_string(g), to_string(dg)));
  return {g[1], 4 * g[2]};
}
// LstmCellState, LstmCellOutput: the gates (4, B, u) and c (B, u) -> (B, u);
// their grads: those and dy (B, u) -> the shape of input `input`.
Shape lstm_cell_rule(Shapes in, const Attrs&) {
  const Shape &g = *in[0], &c = *in[1];
  if (c.size() != 2 || g != Shape{4, c[0], c[1]})
    throw RuleError(fmt::format("lstm_cell: c {} must be (batch, u) for the gates {} (4, batch, u)", to_string(c),
                                to_string(g)));
  return c;
}
Shape lstm_cell_grad_rule(Shapes in, const Attrs& a) {
  const Shape c = lstm_cell_rule(in, a);
  if (*in[2] != c) throw RuleError(fmt::format("lstm_cell grad: dy {} must be c's shape {}", to_string(*in[2]), to_string(c)));
  const int64_t i = a.get<GruGradAttrs>().input;
  if (i < 0 || i > 1) throw RuleError(fmt::format("lstm_cell grad: input {} is not 0 (the gates) or 1 (c)", i));
  return *in[size_t(i)];
}

// The gates of a LSTM step, (4, B, u): sigmoid(z_i), sigmoid(z_f),
// tanh(z_c), sigmoid(z_o) of z = zx + hu (hu null: z = zx), each block
// (B, u) z's quarter and then the SIMD activation of ops/simd.hpp over it,
// as the composite (an add, a split, then an activation node per gate)
// computes them: the same bits.
template <class T> void lstm_gates(const T* zx, const T* hu, T* out, int64_t B, int64_t u) {
  const int64_t n = B * u;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t k = 0; k < 4; ++k) {
      const T* __restrict x = zx + b * 4 * u + k * u;
      T* __restrict y = out + k * n + b * u;
      if (!hu) {
        std::copy_n(x, u, y);
        continue;
      }
      const T* __restrict h = hu + b * 4 * u + k * u;
      for (int64_t j = 0; j < u; ++j) y[j] = x[j] + h[j];
    }
  for (int64_t k = 0; k < 4; ++k)
    simd::unary(k == 2 ? simd::Fn::Tanh : simd::Fn::Sigmoid, out + k * n, out + k * n, n);
}

} // namespace

void define_nn(OpTable& t) {
  auto def = [&](Op op) -> OpDef& { return t[size_t(op)]; };

  // y = exp(x - max) / sum(exp(x - max)) along AxisAttrs::axis
  def(Op::Softmax) = {.name = "softmax", .arity = 1, .shape = axis_rule,
    .kernel = kernels([](const auto& k) {
      using T = std::remove_cvref_t<decltype(*k.out)>;
      rows(k, [&](int64_t base, int64_t n, int64_t inner, double, double s, const double* e) {
        T* y = k.out + base;
        for (int64_t i = 0; i < n; ++i) y[i * inner] = T(e[i] / s);
      });
    }),
    .vjp = [](const VjpCtx& c, int) {
      Value y = c.y();
      return y * (c.dy - sum(c.dy * y, {c.attr<AxisAttrs>().axis}, true));
    }};

  // y = x - max - log(sum(exp(x - max))) along AxisAttrs::axis
  def(Op::LogSoftmax) = {.name = "log_softmax", .arity = 1, .shape = axis_rule,
    .kernel = kernels([](const auto& k) {
      using T = std::remove_cvref_t<decltype(*k.out)>;
      rows(k, [&](int64_t base, int64_t n, int64_t inner, double m, double s, const double*) {
        const T* x = k.x(0) + base;
        T* y = k.out + base;
        const double lse = m + std::log(s);
        for (int64_t i = 0; i < n; ++i) y[i * inner] = T(double(x[i * inner]) - lse);
      });
    }),
    .vjp = [](const VjpCtx& c, int) {
      return c.dy - exp(c.y()) * sum(c.dy, {c.attr<AxisAttrs>().axis}, true);
    }};

  // y = -sum(labels * log_softmax(logits)) along AxisAttrs::axis, the axis removed
  def(Op::SoftmaxCrossEntropy) = {.name = "softmax_cross_entropy", .arity = 2, .shape = xent_rule,
    .kernel = kernels([](const auto& k) {
      using T = std::remove_cvref_t<decltype(*k.out)>;
      rows(k, [&](int64_t base, int64_t n, int64_t inner, double m, double s, const double*) {
        const T* x = k.x(0) + base;
        const T* lab = k.x(1) + base;
        const double lse = m + std::log(s);
        double loss = 0;
        for (int64_t i = 0; i < n; ++i) {
          const double li = double(lab[i * inner]);
          if (li != 0) loss += li * (lse - double(x[i * inner]));
        }
        // output (o, j) sits at o * inner + j; base = o * n * inner + j
        const int64_t o = base / (n * inner), j = base % inner;
        k.out[o * inner + j] = T(loss);
      });
    }),
    .vjp = [](const VjpCtx& c, int i) {
      const int64_t ax = c.attr<AxisAttrs>().axis;
      Value e = reshape(c.dy, keep_axis(c.shape(0), ax));
      if (i == 0) return (softmax(c.x(0), ax) * sum(c.x(1), {ax}, true) - c.x(1)) * e;
      return -log_softmax(c.x(0), ax) * e;
    },
    .cost = [](Shapes in, const Shape&, const Attrs&) { return 4.0 * double(numel(*in[0])); }};

  // y = max(x, 0) - x z + log1p(exp(-|x|)), elementwise (x logits, z labels), in double
  def(Op::SigmoidCrossEntropy) = {.name = "sigmoid_cross_entropy", .arity = 2, .shape = same_shape_rule,
    .kernel = kernels([](const auto& k) {
      using T = std::remove_cvref_t<decltype(*k.out)>;
      const T* x = k.x(0);
      const T* z = k.x(1);
      for (int64_t i = 0; i < k.n(); ++i) {
        const double xi = double(x[i]);
        k.out[i] = T(std::max(xi, 0.0) - xi * double(z[i]) + std::log1p(std::exp(-std::abs(xi))));
      }
    }),
    .vjp = [](const VjpCtx& c, int i) {
      if (i == 0) return c.dy * (sigmoid(c.x(0)) - c.x(1));
      return -c.x(0) * c.dy;
    },
    .cost = [](Shapes in, const Shape&, const Attrs&) { return 4.0 * double(numel(*in[0])); }};

  // y = (u >= rate ? 1 : 0) / (1 - rate), u uniform from (seed, node, run, element);
  // shape, rate and seed: DropoutMaskAttrs
  def(Op::DropoutMask) = {.name = "dropout_mask", .arity = 0, .shape = mask_rule,
    .kernel = kernels([](const auto& k) {
      using T = std::remove_cvref_t<decltype(*k.out)>;
      const DropoutMaskAttrs& at = attr<DropoutMaskAttrs>(k);
      const double rate = at.rate;
      const T keep = T(1.0 / (1.0 - rate));
      const uint64_t s = rng::hash(at.seed, k.stream, *k.run);
      const int64_t n = k.n();
      // rng::uniform(s, 0, i) >= rate, the same bits without the per-element
      // double: hash(s, 0, i) = mix(base ^ i), and u = (h >> 11) 2^-53 >= rate
      // exactly when h >> 11 >= ceil(rate 2^53) (scaling by 2^53 is exact)
      const uint64_t base = rng::mix(rng::mix(s) ^ 0);
      const uint64_t cut = uint64_t(std::ceil(rate * 0x1.0p53));
      simd::keep_mask(base, cut, keep, k.out, n, at.first); // vectorised where the CPU has 64-bit lanes
    }),
    .no_grad = "a random mask (a source)", .zero_grad = true, .random = true};

  // y = the index i with cdf(i - 1) <= u * sum(p) < cdf(i) along SampleAttrs::axis (the
  // axis removed), u uniform from (seed, node, run, distribution); entries <= 0 never drawn
  def(Op::SampleCategorical) = {.name = "sample_categorical", .arity = 1, .shape = sample_rule,
    .kernel = kernels([](const auto& k) {
      using T = std::remove_cvref_t<decltype(*k.out)>;
      const SampleAttrs& at = attr<SampleAttrs>(k);
      const AxisSplit p = split_k(k.s(0), at.axis);
      const uint64_t s = rng::hash(at.seed, k.stream, *k.run);
      for (int64_t o = 0; o < p.outer; ++o)
        for (int64_t j = 0; j < p.inner; ++j) {
          const T* r = k.x(0) + o * p.n * p.inner + j;
          const int64_t d = o * p.inner + j;
          double total = 0;
          for (int64_t i = 0; i < p.n; ++i)
            if (r[i * p.inner] > 0) total += double(r[i * p.inner]);
          const double target = rng::uniform(s, 0, uint64_t(d)) * total;
          double cum = 0;
          int64_t pick = -1, last = 0;
          for (int64_t i = 0; i < p.n; ++i) {
            const double pi = double(r[i * p.inner]);
            if (!(pi > 0)) continue;
            cum += pi;
            last = i;
            if (cum > target) {
              pick = i;
              break;
            }
          }
          k.out[d] = T(pick >= 0 ? pick : last); // rounding at the top end: the last positive entry
        }
    }),
    .no_grad = "sampling is not differentiable", .random = true,
    .cost = [](Shapes in, const Shape&, const Attrs&) { return double(numel(*in[0])); }};

  // y[b, t, o] = sum_{k, c} x[b, t * stride + k - pad, c] * w[k, c, o]  (zeros outside x);
  // stride and padding (valid, same): Conv1DAttrs
  def(Op::Conv1D) = {.name = "conv1d", .arity = 2, .shape = conv_rule,
    .kernel = kernels([](const auto& k) {
      const ConvDims d = dims(k.s(0), k.s(1), attr<Conv1DAttrs>(k));
      std::fill(k.out, k.out + k.n(), 0);
      // y_b[t] += x_b[t * stride + kk - pad ..] . w[kk .. kk + g] for each group of
      // taps: one product each (for_taps), no copy
      for_taps(d, [&](int64_t b, int64_t kk, int64_t g, int64_t t0, int64_t rows, int64_t pos0) {
        blas::gemm(false, false, rows, d.Co, g * d.Ci, k.x(0) + (b * d.S + pos0) * d.Ci, d.stride * d.Ci,
                   k.x(1) + kk * d.Ci * d.Co, d.Co, k.out + (b * d.So + t0) * d.Co, d.Co, 1);
      });
    }),
    .vjp = [](const VjpCtx& c, int i) {
      const Conv1DAttrs conv = c.attr<Conv1DAttrs>();
      if (i == 0) return make(Op::Conv1DGradInput, {c.dy, c.x(1)}, Conv1DGradAttrs{conv, c.shape(0)});
      return make(Op::Conv1DGradFilter, {c.x(0), c.dy}, Conv1DGradAttrs{conv, c.shape(1)});
    },
    .cost = [](Shapes in, const Shape&, const Attrs& a) {
      return conv_cost(*in[0], *in[1], a.get<Conv1DAttrs>());
    }};

  // dx[b, s, c] = sum_{t, k : t * stride + k - pad = s} sum_o dy[b, t, o] * w[k, c, o];
  // inputs (dy, w), x's shape Conv1DGradAttrs::shape. Linear in dy and in w.
  def(Op::Conv1DGradInput) = {.name = "conv1d_grad_input", .arity = 2, .shape = conv_gi_rule,
    .kernel = kernels([](const auto& k) {
      const Conv1DGradAttrs& at = attr<Conv1DGradAttrs>(k);
      const ConvDims d = dims(at.shape, k.s(1), at.conv);
      std::fill(k.out, k.out + k.n(), 0);
      // dx_b[t * stride + kk - pad ..] += dy_b[t] . w[kk .. kk + g]^T: a group's rows of
      // dx (g * Ci each, stride * Ci apart) are distinct, the groups one after another
      for_taps(d, [&](int64_t b, int64_t kk, int64_t g, int64_t t0, int64_t rows, int64_t pos0) {
        blas::gemm(false, true, rows, g * d.Ci, d.Co, k.x(0) + (b * d.So + t0) * d.Co, d.Co,
                   k.x(1) + kk * d.Ci * d.Co, d.Co, k.out + (b * d.S + pos0) * d.Ci, d.stride * d.Ci, 1);
      });
    }),
    // <ddx, G(dy, w)> = <conv1d(ddx, w), dy> = <G_filter(ddx, dy), w>
    .vjp = [](const VjpCtx& c, int i) {
      const Conv1DAttrs conv = c.attr<Conv1DGradAttrs>().conv;
      if (i == 0) return make(Op::Conv1D, {c.dy, c.x(1)}, conv);
      return make(Op::Conv1DGradFilter, {c.dy, c.x(0)}, Conv1DGradAttrs{conv, c.shape(1)});
    },
    .cost = [](Shapes in, const Shape&, const Attrs& a) {
      const Conv1DGradAttrs& at = a.get<Conv1DGradAttrs>();
      return conv_cost(at.shape, *in[1], at.conv);
    }};

  // dw[k, c, o] = sum_{b, t} x[b, t * stride + k - pad, c] * dy[b, t, o];
  // inputs (x, dy), w's shape Conv1DGradAttrs::shape. Linear in x and in dy.
  def(Op::Conv1DGradFilter) = {.name = "conv1d_grad_filter", .arity = 2, .shape = conv_gf_rule,
    .kernel = kernels([](const auto& k) {
      const Conv1DGradAttrs& at = attr<Conv1DGradAttrs>(k);
      const ConvDims d = dims(k.s(0), at.shape, at.conv);
      std::fill(k.out, k.out + k.n(), 0);
      // dw[kk .. kk + g] += x_b[t * stride + kk - pad ..]^T . dy_b[t], summed over b in order
      for_taps(d, [&](int64_t b, int64_t kk, int64_t g, int64_t t0, int64_t rows, int64_t pos0) {
        blas::gemm(true, false, g * d.Ci, d.Co, rows, k.x(0) + (b * d.S + pos0) * d.Ci, d.stride * d.Ci,
                   k.x(1) + (b * d.So + t0) * d.Co, d.Co, k.out + kk * d.Ci * d.Co, d.Co, 1);
      });
    }),
    // <ddw, G(x, dy)> = <conv1d(x, ddw), dy> = <x, G_input(dy, ddw)>
    .vjp = [](const VjpCtx& c, int i) {
      const Conv1DAttrs conv = c.attr<Conv1DGradAttrs>().conv;
      if (i == 0) return make(Op::Conv1DGradInput, {c.x(1), c.dy}, Conv1DGradAttrs{conv, c.shape(0)});
      return make(Op::Conv1D, {c.x(0), c.dy}, conv);
    },
    .cost = [](Shapes in, const Shape&, const Attrs& a) {
      const Conv1DGradAttrs& at = a.get<Conv1DGradAttrs>();
      return conv_cost(*in[0], at.shape, at.conv);
    }};

  // the gates (z, r, h~, rec_h) of a GRU step from (zx, hu, b): ops.hpp gru_cell
  def(Op::GruGates) = {.name = "gru_gates", .arity = 3, .shape = gates_rule,
    .kernel = kernels([](const auto& k) {
      gru_gates(k.x(0), k.x(1), k.x(2), k.out, k.s(0)[0], k.s(0)[1] / 3);
    }),
    .vjp = [](const VjpCtx& c, int i) {
      // d b is d hu summed over the batch: a sum of the d hu node (in cache
      // by then), which both cotangents share
      if (i == 0) return make(Op::GruGatesGrad, {c.y(), c.dy}, GruGradAttrs{0});
      Graph& g = c.g;
      std::optional<NodeId> hu = g.derived(c.dy.id(), "gru_gates_grad hu");
      if (!hu) {
        hu = make(Op::GruGatesGrad, {c.y(), c.dy}, GruGradAttrs{1}).id();
        g.set_derived(c.dy.id(), "gru_gates_grad hu", *hu);
      }
      return i == 1 ? Value(g, *hu) : sum(Value(g, *hu), {0}, true);
    },
    .cost = [](Shapes in, const Shape&, const Attrs&) { return 12.0 * double(numel(*in[0])); }};

  // From the gates (z, r, h~, rec_h) and their cotangents (gz, gr, gh, grec):
  // a = gh (1 - h~^2), dz = gz z (1 - z), dr = (gr + a rec_h) r (1 - r);
  // d zx = [dz, dr, a], d hu = [dz, dr, a r + grec] (GruGradAttrs::input
  // picks one; d b is a sum of d hu). Arithmetic only: the gates were
  // computed once, forward.
  def(Op::GruGatesGrad) = {.name = "gru_gates_grad", .arity = 2, .shape = gates_grad_rule,
    .kernel = kernels([](const auto& k) {
      using T = std::remove_cvref_t<decltype(*k.out)>;
      const int64_t B = k.s(0)[1], u = k.s(0)[2], n = B * u;
      const bool hu = attr<GruGradAttrs>(k).input == 1;
      for (int64_t b = 0; b < B; ++b) {
        // one row: straight loops over j (vectorised; the output does not alias the inputs)
        const T* __restrict z = k.x(0) + b * u;
        const T* __restrict r = z + n;
        const T* __restrict hh = z + 2 * n;
        const T* __restrict rh = z + 3 * n;
        const T* __restrict gz = k.x(1) + b * u;
        const T* __restrict gr = gz + n;
        const T* __restrict gh = gz + 2 * n;
        const T* __restrict grec = gz + 3 * n;
        T* __restrict row = k.out + b * 3 * u;
        for (int64_t j = 0; j < u; ++j) {
          const T a = gh[j] * (T(1) - hh[j] * hh[j]);
          row[j] = gz[j] * z[j] * (T(1) - z[j]);
          row[u + j] = (gr[j] + a * rh[j]) * r[j] * (T(1) - r[j]);
        }
        if (hu)
          for (int64_t j = 0; j < u; ++j) row[2 * u + j] = gh[j] * (T(1) - hh[j] * hh[j]) * r[j] + grec[j];
        else
          for (int64_t j = 0; j < u; ++j) row[2 * u + j] = gh[j] * (T(1) - hh[j] * hh[j]);
      }
    }),
    .no_grad = "the GRU gates' gradient has none of its own (a second derivative through a GRU: build it with "
               "activations other than tanh and sigmoid, which take the composite path)",
    .cost = [](Shapes in, const Shape&, const Attrs&) { return 3.0 * double(numel(*in[0])); }};

  // the gates (i, f, c~, o) of a LSTM step from zx (+ hu): ops.hpp lstm_cell
  def(Op::LstmGates) = {.name = "lstm_gates", .arity = -1, .shape = lstm_gates_rule,
    .kernel = kernels([](const auto& k) {
      lstm_gates(k.x(0), k.n_in == 2 ? k.x(1) : nullptr, k.out, k.s(0)[0], k.s(0)[1] / 4);
    }),
    .vjp = [](const VjpCtx& c, int) {
      // zx and hu have one cotangent, dz: one node for both
      Graph& g = c.g;
      std::optional<NodeId> dz = g.derived(c.dy.id(), "lstm_gates_grad");
      if (!dz) {
        dz = make(Op::LstmGatesGrad, {c.y(), c.dy}, {}).id();
        g.set_derived(c.dy.id(), "lstm_gates_grad", *dz);
      }
      return Value(g, *dz);
    },
    .cost = [](Shapes in, const Shape&, const Attrs&) { return 8.0 * double(numel(*in[0])); }};

  // dz = [gi i (1 - i), gf f (1 - f), gc (1 - c~^2), go o (1 - o)] from the
  // gates and their cotangents: arithmetic only, the gates were computed forward
  def(Op::LstmGatesGrad) = {.name = "lstm_gates_grad", .arity = 2, .shape = lstm_gates_grad_rule,
    .kernel = kernels([](const auto& k) {
      using T = std::remove_cvref_t<decltype(*k.out)>;
      const int64_t B = k.s(0)[1], u = k.s(0)[2], n = B * u;
      for (int64_t b = 0; b < B; ++b)
        for (int64_t q = 0; q < 4; ++q) {
          const T* __restrict y = k.x(0) + q * n + b * u;
          const T* __restrict g = k.x(1) + q * n + b * u;
          T* __restrict row = k.out + b * 4 * u + q * u;
          if (q == 2)
            for (int64_t j = 0; j < u; ++j) row[j] = g[j] * (T(1) - y[j] * y[j]);
          else
            for (int64_t j = 0; j < u; ++j) row[j] = g[j] * y[j] * (T(1) - y[j]);
        }
    }),
    .no_grad = "the LSTM gates' gradient has none of its own (a second derivative through a LSTM: build it with "
               "activations other than tanh and sigmoid, which take the composite path)",
    .cost = [](Shapes in, const Shape&, const Attrs&) { return 3.0 * double(numel(*in[0])); }};

  // c' = f c + i c~ from the gates and c: ops.hpp lstm_cell
  def(Op::LstmCellState) = {.name = "lstm_cell_state", .arity = 2, .shape = lstm_cell_rule,
    .kernel = kernels([](const auto& k) {
      using T = std::remove_cvref_t<decltype(*k.out)>;
      const int64_t n = k.n();
      const T *i = k.x(0), *f = k.x(0) + n, *cc = k.x(0) + 2 * n, *c = k.x(1);
      for (int64_t q = 0; q < n; ++q) {
        const T keep = f[q] * c[q];
        const T add = i[q] * cc[q];
        k.out[q] = keep + add;
      }
    }),
    .vjp = [](const VjpCtx& c, int i) {
      return make(Op::LstmCellStateGrad, {c.x(0), c.x(1), c.dy}, GruGradAttrs{i});
    },
    .cost = [](Shapes in, const Shape&, const Attrs&) { return 3.0 * double(numel(*in[1])); }};

  // d gates = (dy c~, dy c, dy i, 0), d c = dy f
  def(Op::LstmCellStateGrad) = {.name = "lstm_cell_state_grad", .arity = 3, .shape = lstm_cell_grad_rule,
    .kernel = kernels([](const auto& k) {
      using T = std::remove_cvref_t<decltype(*k.out)>;
      const int64_t n = numel(k.s(1));
      const T *i = k.x(0), *f = k.x(0) + n, *cc = k.x(0) + 2 * n, *c = k.x(1), *dy = k.x(2);
      if (attr<GruGradAttrs>(k).input == 1) {
        for (int64_t q = 0; q < n; ++q) k.out[q] = dy[q] * f[q];
        return;
      }
      for (int64_t q = 0; q < n; ++q) {
        k.out[q] = dy[q] * cc[q];
        k.out[n + q] = dy[q] * c[q];
        k.out[2 * n + q] = dy[q] * i[q];
      }
      std::fill(k.out + 3 * n, k.out + 4 * n, T(0));
    }),
    .no_grad = "the LSTM cell state's gradient has none of its own (see lstm_gates_grad)",
    .cost = [](Shapes in, const Shape&, const Attrs&) { return 1.0 * double(numel(*in[0])); }};

  // h' = o tanh(c') from the gates and c': ops.hpp lstm_cell
  def(Op::LstmCellOutput) = {.name = "lstm_cell_output", .arity = 2, .shape = lstm_cell_rule,
    .kernel = kernels([](const auto& k) {
      const int64_t n = k.n();
      const auto* o = k.x(0) + 3 * n;
      simd::unary(simd::Fn::Tanh, k.x(1), k.out, n); // the composite's tanh node, then its mul
      for (int64_t q = 0; q < n; ++q) k.out[q] = o[q] * k.out[q];
    }),
    .vjp = [](const VjpCtx& c, int i) {
      return make(Op::LstmCellOutputGrad, {c.x(0), c.x(1), c.dy}, GruGradAttrs{i});
    },
    .cost = [](Shapes in, const Shape&, const Attrs&) { return 6.0 * double(numel(*in[1])); }};

  // d gates = (0, 0, 0, dy tanh(c')), d c' = dy o (1 - tanh(c')^2)
  def(Op::LstmCellOutputGrad) = {.name = "lstm_cell_output_grad", .arity = 3, .shape = lstm_cell_grad_rule,
    .kernel = kernels([](const auto& k) {
      using T = std::remove_cvref_t<decltype(*k.out)>;
      const int64_t n = numel(k.s(1));
      const T *o = k.x(0) + 3 * n, *dy = k.x(2);
      if (attr<GruGradAttrs>(k).input == 1) {
        simd::unary(simd::Fn::Tanh, k.x(1), k.out, n);
        for (int64_t q = 0; q < n; ++q) k.out[q] = dy[q] * o[q] * (T(1) - k.out[q] * k.out[q]);
        return;
      }
      std::fill(k.out, k.out + 3 * n, T(0));
      T* th = k.out + 3 * n;
      simd::unary(simd::Fn::Tanh, k.x(1), th, n);
      for (int64_t q = 0; q < n; ++q) th[q] = dy[q] * th[q];
    }),
    .no_grad = "the LSTM cell output's gradient has none of its own (see lstm_gates_grad)",
    .cost = [](Shapes in, const Shape&, const Attrs&) { return 6.0 * double(numel(*in[1])); }};

  // h' = z h + (1 - z) h~ from the gates and h: ops.hpp gru_cell
  def(Op::GruBlend) = {.name = "gru_blend", .arity = 2, .shape = blend_rule,
    .kernel = kernels([](const auto& k) {
      using T = std::remove_cvref_t<decltype(*k.out)>;
      const int64_t n = k.n();
      const T *z = k.x(0), *hh = k.x(0) + 2 * n, *h = k.x(1);
      for (int64_t q = 0; q < n; ++q) {
        const T next = (T(1) - z[q]) * hh[q];
        const T keep = z[q] * h[q];
        k.out[q] = keep + next;
      }
    }),
    .vjp = [](const VjpCtx& c, int i) {
      return make(Op::GruBlendGrad, {c.x(0), c.x(1), c.dy}, GruGradAttrs{i});
    },
    .cost = [](Shapes in, const Shape&, const Attrs&) { return 2.0 * double(numel(*in[1])); }};

  // d gates = (dy (h - h~), 0, dy (1 - z), 0), d h = dy z
  def(Op::GruBlendGrad) = {.name = "gru_blend_grad", .arity = 3, .shape = blend_grad_rule,
    .kernel = kernels([](const auto& k) {
      using T = std::remove_cvref_t<decltype(*k.out)>;
      const int64_t n = numel(k.s(1));
      const T *z = k.x(0), *hh = k.x(0) + 2 * n, *h = k.x(1), *dy = k.x(2);
      if (attr<GruGradAttrs>(k).input == 1) {
        for (int64_t q = 0; q < n; ++q) k.out[q] = dy[q] * z[q];
        return;
      }
      for (int64_t q = 0; q < n; ++q) {
        k.out[q] = dy[q] * (h[q] - hh[q]);
        k.out[2 * n + q] = dy[q] * (T(1) - z[q]);
      }
      std::fill(k.out + n, k.out + 2 * n, T(0));
      std::fill(k.out + 3 * n, k.out + 4 * n, T(0));
    }),
    .no_grad = "the GRU blend's gradient has none of its own (see gru_gates_grad)",
    .cost = [](Shapes in, const Shape&, const Attrs&) { return 2.0 * double(numel(*in[0])); }};
}

} // namespace detail

using detail::make;

Value gru_cell(Value zx, Value hu, Value h, Value b, Loc l) {
  return make(Op::GruBlend, {make(Op::GruGates, {zx, hu, b}, {}, l), h}, {}, l);
}

LstmCell lstm_cell(Value zx, Value hu, Value c, Loc l) {
  const Value gates = hu ? make(Op::LstmGates, {zx, hu}, {}, l) : make(Op::LstmGates, {zx}, {}, l);
  // the first step (c = 0): c' = i c~, as the composite computes it
  const Value next = c ? make(Op::LstmCellState, {gates, c}, {}, l) : take(gates, 0, 0, l) * take(gates, 0, 2, l);
  return {make(Op::LstmCellOutput, {gates, next}, {}, l), next};
}

Value softmax(Value x, int64_t axis, Loc l) { return make(Op::Softmax, {x}, AxisAttrs{axis}, l); }
Value sigmoid_cross_entropy(Value logits, Value labels, Loc l) {
  return make(Op::SigmoidCrossEntropy, {logits, labels}, {}, l);
}

Value log_softmax(Value x, int64_t axis, Loc l) { return make(Op::LogSoftmax, {x}, AxisAttrs{axis}, l); }

Value softmax_cross_entropy(Value logits, Value labels, int64_t axis, Loc l) {
  return make(Op::SoftmaxCrossEntropy, {logits, labels}, AxisAttrs{axis}, l);
}

namespace {
void check_rate(double rate, Loc l) {
  if (!(rate >= 0 && rate < 1))
    throw std::invalid_argument(
        fmt::format("dropout at {}: rate {} is not in [0, 1)", where(l), rate));
}
} // namespace

Value dropout_mask(Graph& g, Shape shape, double rate, uint64_t seed, Loc l) {
  check_rate(rate, l);
  // a data-parallel shard's batch-major mask: its rows of the global batch's
  int64_t first = 0;
  if (g.shard_global > 0 && g.shard_rows > 0 && !shape.empty() && shape[0] == g.shard_rows)
    first = g.shard_offset * (numel(shape) / shape[0]);
  return detail::make_source(
      g, Op::DropoutMask,
      DropoutMaskAttrs{.shape = std::move(shape), .rate = rate, .seed = seed ? seed : g.seed, .first = first}, l);
}

Value dropout(Value x, double rate, uint64_t seed, Loc l) {
  check_rate(rate, l);
  if (rate == 0) return x;
  return mul(x, dropout_mask(x.graph(), x.shape(), rate, seed, l), l);
}

Value sample_categorical(Value probs, int64_t axis, uint64_t seed, Loc l) {
  return make(Op::SampleCategorical, {probs},
              SampleAttrs{.axis = axis, .seed = seed ? seed : probs.graph().seed}, l);
}

Value conv1d(Value x, Value w, int64_t stride, const std::string& padding, Loc l) {
  Conv1DAttrs a{.stride = stride};
  if (padding == "valid")
    a.padding = Padding::valid;
  else if (padding == "same")
    a.padding = Padding::same;
  else
    throw std::invalid_argument(fmt::format(
        "conv1d at {}: padding '{}' is not \"valid\" or \"same\"", where(l), padding));
  return make(Op::Conv1D, {x, w}, a, l);
}

} // namespace sg
