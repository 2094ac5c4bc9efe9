// Parameter updates: ops that mutate their leading inputs (Variables) in
// place. They have no output buffer (k.out is nullptr, shape {}); the plan
// runs each after every other reader of the variables it updates, so a run
// reads the old values everywhere and leaves the new ones in the ParamStore.
// Each op: the formula, the definition (shape rule, kernel), the builder.
#include "ops/family.hpp"
#include "ops/simd.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <utility>

namespace sg {

namespace detail {
namespace {

// RuleError unless inputs i and j have the same shape.
void expect_same(Shapes in, size_t i, const char* what_i, size_t j, const char* what_j) {
  if (*in[i] != *in[j])
    throw RuleError(fmt::format("{} has shape {} but {} has shape {}; they must match", what_i,
                                to_string(*in[i]), what_j, to_string(*in[j])));
}

void expect_scalar(Shapes in, size_t i, const char* what) {
  if (!in[i]->empty())
    throw RuleError(fmt::format("{} must be a scalar (shape ()), got shape {}", what,
                                to_string(*in[i])));
}

template <class K> using elem_t = std::remove_pointer_t<decltype(std::declval<K>().out)>;

// Cost of an update: `flops` ns per element of the updated variable.
template <int flops> double per_element(Shapes in, const Shape&, const Attrs&) {
  return double(flops) * double(numel(*in[0]));
}

} // namespace

void define_update(OpTable& t) {
  auto def = [&](Op op) -> OpDef& { return t[size_t(op)]; };

  // p -= lr_t * g, lr_t = schedule.at(lr, iterations)   (SGDAttrs); inputs
  // (p, g), or (p, g, iterations) for a schedule (iterations only read)
  def(Op::ApplySGD) = {.name = "apply_sgd", .arity = -1,
    .shape = [](Shapes in, const Attrs& a) {
      if (in.size() != 2 && in.size() != 3)
        throw RuleError(fmt::format("apply_sgd takes (param, grad[, iterations]), got {} inputs", in.size()));
      expect_same(in, 1, "grad", 0, "param");
      if (in.size() == 3) expect_scalar(in, 2, "iterations");
      else if (a.get<SGDAttrs>().schedule.kind != ScheduleKind::constant)
        throw RuleError("apply_sgd with a learning-rate schedule needs the iterations input");
      return Shape{};
    },
    .kernel = kernels([](const auto& k) {
      using T = elem_t<decltype(k)>;
      T* p = k.in[0];
      const T* g = k.x(1);
      const SGDAttrs& a = attr<SGDAttrs>(k);
      const T lr = static_cast<T>(k.n_in > 2 ? a.schedule.at(a.lr, double(k.x(2)[0])) : a.lr);
      const int64_t n = k.size(0);
      for (int64_t i = 0; i < n; ++i) p[i] -= lr * g[i];
    }),
    .no_grad = "parameter update", .mutates = 1, .cost = per_element<1>};

  // Keras 2 Adam, inputs (p, m, v, iterations, g), AdamAttrs {lr, beta1,
  // beta2, epsilon, schedule}, t = iterations + 1:
  //   lr_t = schedule.at(lr, iterations) * sqrt(1 - beta2^t) / (1 - beta1^t)
  //   (Keras' legacy decay: schedule.at(lr, i) = lr / (1 + decay * i))
  //   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
  //   p -= lr_t * m / (sqrt(v) + epsilon)
  // `iterations` is only read; the optimizer increments it with AssignAdd.
  def(Op::ApplyAdam) = {.name = "apply_adam", .arity = 5,
    .shape = [](Shapes in, const Attrs&) {
      expect_same(in, 1, "m", 0, "param");
      expect_same(in, 2, "v", 0, "param");
      expect_scalar(in, 3, "iterations");
      expect_same(in, 4, "grad", 0, "param");
      return Shape{};
    },
    .kernel = kernels([](const auto& k) {
      using T = elem_t<decltype(k)>;
      const AdamAttrs& h = attr<AdamAttrs>(k);
      const double iterations = static_cast<double>(k.x(3)[0]);
      const double lr = h.schedule.at(h.lr, iterations);
      const double t = iterations + 1.0;
      const double lr_t = lr * (std::sqrt(1.0 - std::pow(h.beta2, t)) / (1.0 - std::pow(h.beta1, t)));
      // distinct buffers (the plan gives each value its own): restrict lets
      // the loop vectorise
      T* __restrict p = k.in[0];
      T* __restrict m = k.in[1];
      T* __restrict v = k.in[2];
      const T* __restrict g = k.x(4);
      const T b1 = static_cast<T>(h.beta1), b2 = static_cast<T>(h.beta2);
      const T c1 = static_cast<T>(1.0 - h.beta1), c2 = static_cast<T>(1.0 - h.beta2);
      const T eps = static_cast<T>(h.epsilon), step = static_cast<T>(lr_t);
      const int64_t n = k.size(0);
      // in chunks: the moments, then sqrt(v) through ops/simd.hpp (libm's
      // sqrt keeps gcc from vectorising the loop: errno), then p. sqrt is
      // exact in IEEE arithmetic: the same bits as sqrt per element.
      constexpr int64_t kChunk = 256;
      T root[kChunk];
      for (int64_t at = 0; at < n; at += kChunk) {
        const int64_t len = std::min(kChunk, n - at);
        for (int64_t i = at; i < at + len; ++i) {
          const T gi = g[i];
          m[i] = b1 * m[i] + c1 * gi;
          v[i] = b2 * v[i] + c2 * (gi * gi);
        }
        simd::unary(simd::Fn::Sqrt, v + at, root, len);
        for (int64_t i = 0; i < len; ++i) p[at + i] -= step * m[at + i] / (root[i] + eps);
      }
    }),
    .no_grad = "parameter update", .mutates = 3, .cost = per_element<6>};

  // a += g^2;  p -= lr_t * g / (sqrt(a) + epsilon), lr_t = schedule.at(lr,
  // iterations)   (AdaGradAttrs); inputs (p, a, g), or (p, a, g, iterations)
  // for a schedule (iterations only read)
  def(Op::ApplyAdaGrad) = {.name = "apply_adagrad", .arity = -1,
    .shape = [](Shapes in, const Attrs& a) {
      if (in.size() != 3 && in.size() != 4)
        throw RuleError(fmt::format("apply_adagrad takes (param, accum, grad[, iterations]), got {} inputs",
                                    in.size()));
      expect_same(in, 1, "accum", 0, "param");
      expect_same(in, 2, "grad", 0, "param");
      if (in.size() == 4) expect_scalar(in, 3, "iterations");
      else if (a.get<AdaGradAttrs>().schedule.kind != ScheduleKind::constant)
        throw RuleError("apply_adagrad with a learning-rate schedule needs the iterations input");
      return Shape{};
    },
    .kernel = kernels([](const auto& k) {
      using T = elem_t<decltype(k)>;
      T* p = k.in[0];
      T* a = k.in[1];
      const T* g = k.x(2);
      const AdaGradAttrs& at = attr<AdaGradAttrs>(k);
      const T lr = static_cast<T>(k.n_in > 3 ? at.schedule.at(at.lr, double(k.x(3)[0])) : at.lr);
      const T eps = static_cast<T>(at.epsilon);
      const int64_t n = k.size(0);
      for (int64_t i = 0; i < n; ++i) {
        const T gi = g[i];
        a[i] += gi * gi;
        p[i] -= lr * gi / (std::sqrt(a[i]) + eps);
      }
    }),
    .no_grad = "parameter update", .mutates = 2, .cost = per_element<4>};

  // var = momentum * var + (1 - momentum) * value     (MovingAverageAttrs)
  def(Op::AssignMovingAverage) = {.name = "assign_moving_average", .arity = 2,
    .shape = [](Shapes in, const Attrs&) {
      expect_same(in, 1, "value", 0, "var");
      return Shape{};
    },
    .kernel = kernels([](const auto& k) {
      using T = elem_t<decltype(k)>;
      T* var = k.in[0];
      const T* x = k.x(1);
      const double momentum = attr<MovingAverageAttrs>(k).momentum;
      const T mo = static_cast<T>(momentum), rest = static_cast<T>(1.0 - momentum);
      const int64_t n = k.size(0);
      for (int64_t i = 0; i < n; ++i) var[i] = mo * var[i] + rest * x[i];
    }),
    .no_grad = "parameter update", .mutates = 1, .cost = per_element<2>};

  // var += value       (value: var's shape, or a scalar added to every element)
  def(Op::AssignAdd) = {.name = "assign_add", .arity = 2,
    .shape = [](Shapes in, const Attrs&) {
      if (!in[1]->empty()) expect_same(in, 1, "value", 0, "var");
      return Shape{};
    },
    .kernel = kernels([](const auto& k) {
      using T = elem_t<decltype(k)>;
      T* var = k.in[0];
      const T* x = k.x(1);
      const int64_t n = k.size(0);
      if (k.size(1) == n && !k.s(1).empty()) {
        for (int64_t i = 0; i < n; ++i) var[i] += x[i];
      } else {
        const T x0 = x[0];
        for (int64_t i = 0; i < n; ++i) var[i] += x0;
      }
    }),
    .no_grad = "parameter update", .mutates = 1, .cost = per_element<1>};

  // 0, after checking every element of every input: NonFiniteInput{input,
  // element} at the first NaN or inf (the plan names the node)
  def(Op::CheckFinite) = {.name = "check_finite", .arity = -1,
    .shape = [](Shapes, const Attrs&) { return Shape{}; },
    .kernel = kernels([](const auto& k) {
      for (int i = 0; i < k.n_in; ++i)
        if (const int64_t at = first_non_finite(k.x(i), k.size(i)); at >= 0) throw NonFiniteInput{i, at};
      k.out[0] = 0;
    }),
    .no_grad = "a check of its inputs",
    .cost = [](Shapes in, const Shape&, const Attrs&) {
      double n = 0;
      for (const Shape* s : in) n += double(numel(*s));
      return n / 4;
    }};
}

} // namespace detail

using detail::make;

Value apply_sgd(Value param, Value grad, double lr, Loc l) {
  return make(Op::ApplySGD, {param, grad}, SGDAttrs{.lr = lr}, l);
}

Value apply_sgd(Value param, Value grad, Value iterations, double lr, LRSchedule schedule, Loc l) {
  return make(Op::ApplySGD, {param, grad, iterations}, SGDAttrs{.lr = lr, .schedule = schedule}, l);
}

Value apply_adam(Value param, Value m, Value v, Value iterations, Value grad, double lr,
                 double beta1, double beta2, double epsilon, LRSchedule schedule, Loc l) {
  return make(Op::ApplyAdam, {param, m, v, iterations, grad},
              AdamAttrs{.lr = lr, .beta1 = beta1, .beta2 = beta2, .epsilon = epsilon, .schedule = schedule}, l);
}

Value apply_adagrad(Value param, Value accum, Value grad, double lr, double epsilon, Loc l) {
  return make(Op::ApplyAdaGrad, {param, accum, grad}, AdaGradAttrs{.lr = lr, .epsilon = epsilon}, l);
}

Value apply_adagrad(Value param, Value accum, Value grad, Value iterations, double lr, double epsilon,
                    LRSchedule schedule, Loc l) {
  return make(Op::ApplyAdaGrad, {param, accum, grad, iterations},
              AdaGradAttrs{.lr = lr, .epsilon = epsilon, .schedule = schedule}, l);
}

Value assign_moving_average(Value var, Value value, double momentum, Loc l) {
  return make(Op::AssignMovingAverage, {var, value}, MovingAverageAttrs{.momentum = momentum}, l);
}

Value assign_add(Value var, Value value, Loc l) { return make(Op::AssignAdd, {var, value}, {}, l); }

Value check_finite(const std::vector<Value>& xs, Loc l) { return make(Op::CheckFinite, xs, {}, l); }

} // namespace sg
