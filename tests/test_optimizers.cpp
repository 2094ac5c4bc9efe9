// Optimizers (update ops, minimize, clipping) and composite layers (dense,
// LSTM/RNN cells, batch normalisation), each against a hand computation in
// plain double loops.
#include "autodiff/gradcheck.hpp"
#include "autodiff/optimizers.hpp"
#include "graph/plan.hpp"
#include "ops/layers.hpp"
#include "ops/ops.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <doctest/doctest.h>
#include <functional>
#include <string>
#include <vector>

using namespace sg;

namespace {

using Vec = std::vector<double>;

Tensor t64(Shape s, Vec v) { return Tensor::from(std::move(s), v, DType::f64); }

const CompileOptions kF64{DType::f64, 0};

// Deterministic "random" values in [-1, 1).
Vec pseudo(size_t n, double salt) {
  Vec v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::sin(double(i) * 12.9898 + salt * 78.233) * 0.999;
  return v;
}

void check_close(const Tensor& t, const Vec& want, double tol) {
  REQUIRE(t.size() == int64_t(want.size()));
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("element " << i);
    CHECK(t.at(int64_t(i)) == doctest::Approx(want[i]).epsilon(tol).scale(1.0));
  }
}

double sigmoid_d(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Restores the thread count at scope exit.
struct ThreadsGuard {
  int saved = threads();
  ~ThreadsGuard() { set_threads(saved); }
};

// loss = 0.5 * sum((p - t)^2): gradient p - t, so the hand optimizers below
// need no autodiff of their own.
struct Quadratic {
  Graph g;
  std::vector<Value> params;
  std::vector<Vec> p0, target;
  Value loss;
  explicit Quadratic(const std::vector<Shape>& shapes) {
    std::vector<Value> terms;
    for (size_t k = 0; k < shapes.size(); ++k) {
      Value p = param(g, "p" + std::to_string(k), shapes[k]);
      Value t = input(g, "t" + std::to_string(k), shapes[k]);
      params.push_back(p);
      terms.push_back(sum(square(p - t)) * 0.5);
      size_t n = size_t(numel(shapes[k]));
      p0.push_back(pseudo(n, double(k) + 0.5));
      Vec tv = pseudo(n, double(k) + 7.25);
      for (auto& x : tv) x *= 3; // gradients of all sizes
      target.push_back(tv);
    }
    loss = add_n(terms);
  }
  // Plan over `updates`, parameters set to p0, targets fed.
  Plan plan(ParamStore& store, const std::vector<Value>& updates, DType dt = DType::f64,
            std::vector<Value> fetch = {}) {
    for (size_t k = 0; k < params.size(); ++k)
      store.set(params[k].name(), Tensor::from(params[k].shape(), p0[k], dt));
    fetch.insert(fetch.begin(), loss);
    Plan pl(g, store, fetch, updates, {dt, 0});
    for (size_t k = 0; k < params.size(); ++k)
      pl.feed("t" + std::to_string(k), t64(params[k].shape(), target[k]));
    return pl;
  }
};

} // namespace

// ---------------------------------------------------------------- optimizers

TEST_CASE("Optimizers.SGDStep") {
  Quadratic q({{2, 3}});
  TrainOps tr = minimize(q.loss, q.params, SGD{.lr = 0.1});
  REQUIRE(tr.updates.size() == 1);
  CHECK(tr.updates[0].node().kind == NodeKind::update);
  ParamStore store;
  Plan plan = q.plan(store, tr.updates);
  plan.run();
  double loss = 0;
  Vec want(6);
  for (size_t i = 0; i < 6; ++i) {
    double gi = q.p0[0][i] - q.target[0][i];
    loss += 0.5 * gi * gi;
    want[i] = q.p0[0][i] - 0.1 * gi;
  }
  CHECK(plan.fetch(q.loss).at(0) == doctest::Approx(loss).epsilon(1e-14));
  check_close(store.at("p0"), want, 1e-14);
}

namespace {

// Keras 2 Adam in double loops, `steps` steps from q's start; the learning
// rate of step s is lr_of(s) if given, else Keras' legacy decay.
std::vector<Vec> hand_adam(const Quadratic& q, const Adam& o, int steps, std::vector<Vec>* m_out,
                           std::vector<Vec>* v_out, std::function<double(int)> lr_of = {}) {
  std::vector<Vec> p = q.p0, m, v;
  for (auto& x : p) {
    m.emplace_back(x.size(), 0.0);
    v.emplace_back(x.size(), 0.0);
  }
  for (int s = 0; s < steps; ++s) {
    double lr = lr_of ? lr_of(s) : o.lr * (1.0 / (1.0 + o.decay * s));
    double t = s + 1;
    double lr_t = lr * std::sqrt(1 - std::pow(o.beta2, t)) / (1 - std::pow(o.beta1, t));
    for (size_t k = 0; k < p.size(); ++k)
      for (size_t i = 0; i < p[k].size(); ++i) {
        double g = p[k][i] - q.target[k][i];
        m[k][i] = o.beta1 * m[k][i] + (1 - o.beta1) * g;
        v[k][i] = o.beta2 * v[k][i] + (1 - o.beta2) * g * g;
        p[k][i] -= lr_t * m[k][i] / (std::sqrt(v[k][i]) + o.epsilon);
      }
  }
  if (m_out) *m_out = m;
  if (v_out) *v_out = v;
  return p;
}

} // namespace

TEST_CASE("Optimizers.AdamMatchesHandComputation") {
  for (double decay : {0.0, 0.3}) {
    for (DType dt : {DType::f64, DType::f32}) {
      CAPTURE(decay);
      CAPTURE(to_string(dt));
      Quadratic q({{2, 3}, {4}});
      Adam opt{.lr = 0.05, .decay = decay};
      TrainOps tr = minimize(q.loss, q.params, opt);
      REQUIRE(tr.updates.size() == 3); // two apply_adam, one assign_add
      CHECK(q.g.find("p0/adam_m"));
      CHECK(q.g.find("p1/adam_v"));
      CHECK(q.g.find("adam/iterations"));
      ParamStore store;
      Plan plan = q.plan(store, tr.updates, dt);
      const int steps = 6;
      for (int s = 0; s < steps; ++s) plan.run();
      std::vector<Vec> m, v;
      std::vector<Vec> want = hand_adam(q, opt, steps, &m, &v);
      double tol = dt == DType::f64 ? 1e-12 : 2e-5;
      check_close(store.at("p0"), want[0], tol);
      check_close(store.at("p1"), want[1], tol);
      check_close(store.at("p0/adam_m"), m[0], tol);
      check_close(store.at("p1/adam_v"), v[1], tol);
      CHECK(store.at("adam/iterations").at(0) == steps);
    }
  }
}

// Keras' schedules, written out here: step s of 7 (t = s) against the hand
// computation with that learning rate.
TEST_CASE("Optimizers.LearningRateSchedules") {
  struct Case {
    const char* name;
    LRSchedule schedule;
    std::function<double(int)> lr; // of step s, lr0 = 0.05
  };
  const std::vector<Case> cases = {
      {"inverse_time", inverse_time_decay(0.3, 2), [](int s) { return 0.05 / (1 + 0.3 * s / 2.0); }},
      {"exponential", exponential_decay(0.5, 3), [](int s) { return 0.05 * std::pow(0.5, s / 3.0); }},
      {"step", exponential_decay(0.5, 3, true), [](int s) { return 0.05 * std::pow(0.5, double(s / 3)); }},
  };
  const int steps = 7;
  for (const Case& c : cases) {
    CAPTURE(c.name);
    { // Adam
      Quadratic q({{2, 3}, {4}});
      Adam opt{.lr = 0.05, .schedule = c.schedule};
      TrainOps tr = minimize(q.loss, q.params, opt);
      ParamStore store;
      Plan plan = q.plan(store, tr.updates, DType::f64);
      for (int s = 0; s < steps; ++s) plan.run();
      const std::vector<Vec> want = hand_adam(q, opt, steps, nullptr, nullptr, c.lr);
      check_close(store.at("p0"), want[0], 1e-12);
      check_close(store.at("p1"), want[1], 1e-12);
    }
    { // SGD: p -= lr_s (p - target) each step, with its own step counter
      Quadratic q({{2, 3}});
      TrainOps tr = minimize(q.loss, q.params, SGD{.lr = 0.05, .schedule = c.schedule});
      REQUIRE(tr.updates.size() == 2); // apply_sgd, then the counter's assign_add
      ParamStore store;
      Plan plan = q.plan(store, tr.updates, DType::f64);
      for (int s = 0; s < steps; ++s) plan.run();
      Vec want = q.p0[0];
      for (int s = 0; s < steps; ++s)
        for (size_t i = 0; i < want.size(); ++i) want[i] -= c.lr(s) * (want[i] - q.target[0][i]);
      check_close(store.at("p0"), want, 1e-13);
      CHECK(store.at("sgd/iterations").at(0) == steps);
    }
    { // AdaGrad: a += g², p -= lr_s g / (sqrt(a) + eps), g = p - target, with its own step counter
      Quadratic q({{2, 3}, {4}});
      const AdaGrad opt{.lr = 0.05, .epsilon = 1e-8, .initial_accumulator = 0.1, .schedule = c.schedule};
      TrainOps tr = minimize(q.loss, q.params, opt);
      REQUIRE(tr.updates.size() == 3); // two apply_adagrad, then the counter's assign_add
      ParamStore store;
      Plan plan = q.plan(store, tr.updates, DType::f64);
      for (int s = 0; s < steps; ++s) plan.run();
      std::vector<Vec> p = q.p0, a;
      for (auto& x : p) a.emplace_back(x.size(), 0.1);
      for (int s = 0; s < steps; ++s)
        for (size_t k = 0; k < p.size(); ++k)
          for (size_t i = 0; i < p[k].size(); ++i) {
            const double g = p[k][i] - q.target[k][i];
            a[k][i] += g * g;
            p[k][i] -= c.lr(s) * g / (std::sqrt(a[k][i]) + 1e-8);
          }
      check_close(store.at("p0"), p[0], 1e-13);
      check_close(store.at("p1"), p[1], 1e-13);
      check_close(store.at("p1/adagrad_accum"), a[1], 1e-13);
      CHECK(store.at("adagrad/iterations").at(0) == steps);
    }
  }
  // Keras' legacy decay is inverse_time_decay(decay): the same bits
  for (DType dt : {DType::f64, DType::f32}) {
    Quadratic a({{2, 3}}), b({{2, 3}});
    ParamStore sa, sb;
    Plan pa = a.plan(sa, minimize(a.loss, a.params, Adam{.lr = 0.05, .decay = 0.3}).updates, dt);
    Plan pb = b.plan(sb, minimize(b.loss, b.params, Adam{.lr = 0.05, .schedule = inverse_time_decay(0.3)}).updates, dt);
    for (int s = 0; s < 5; ++s) pa.run(), pb.run();
    for (int64_t i = 0; i < 6; ++i) CHECK(sa.at("p0").at(i) == sb.at("p0").at(i));
  }
  // errors
  Quadratic q({{2, 3}});
  CHECK_THROWS_AS(minimize(q.loss, q.params, Adam{.decay = 0.1, .schedule = exponential_decay(0.5, 2)}),
                  std::invalid_argument);
  CHECK_THROWS_AS(minimize(q.loss, q.params, SGD{.schedule = exponential_decay(0.5, 0)}), std::invalid_argument);
  CHECK_THROWS_AS(minimize(q.loss, q.params, SGD{.schedule = exponential_decay(0, 2)}), std::invalid_argument);
  CHECK_THROWS_AS(minimize(q.loss, q.params, AdaGrad{.schedule = inverse_time_decay(-1)}), std::invalid_argument);
  Graph g;
  Value p = param(g, "p", {3}), gr = input(g, "g", {3});
  // a schedule needs the step count: apply_sgd without its iterations input
  CHECK_THROWS_AS(g.add(Op::ApplySGD, {p.id(), gr.id()}, SGDAttrs{.lr = 0.1, .schedule = exponential_decay(0.5, 2)}),
                  ShapeError);
  Value acc = param(g, "acc", {3});
  CHECK_THROWS_AS(g.add(Op::ApplyAdaGrad, {p.id(), acc.id(), gr.id()},
                        AdaGradAttrs{.lr = 0.1, .epsilon = 1e-8, .schedule = exponential_decay(0.5, 2)}),
                  ShapeError);
}

TEST_CASE("Optimizers.AdamSlotsOfASecondOptimizer") {
  Quadratic q({Shape{3}});
  minimize(q.loss, q.params, Adam{});
  TrainOps second = minimize(q.loss, q.params, Adam{});
  CHECK(q.g.find("adam_1/iterations"));
  CHECK(q.g.find("p0/adam_1_m"));
  CHECK(q.g.find("p0/adam_1_v"));
  // both in one plan would update p0 twice: the plan refuses
  ParamStore store;
  std::vector<Value> all = second.updates;
  for (NodeId id : q.g.nodes_of(Op::ApplyAdam)) all.emplace_back(q.g, id);
  CHECK_THROWS_AS(Plan(q.g, store, {q.loss}, all, kF64), std::invalid_argument);
}

TEST_CASE("Optimizers.AdaGrad") {
  Quadratic q({Shape{5}});
  AdaGrad opt{.lr = 0.2, .epsilon = 1e-8, .initial_accumulator = 0.1};
  TrainOps tr = minimize(q.loss, q.params, opt);
  ParamStore store;
  Plan plan = q.plan(store, tr.updates);
  const int steps = 4;
  for (int s = 0; s < steps; ++s) plan.run();
  Vec p = q.p0[0], a(p.size(), 0.1);
  for (int s = 0; s < steps; ++s)
    for (size_t i = 0; i < p.size(); ++i) {
      double g = p[i] - q.target[0][i];
      a[i] += g * g;
      p[i] -= opt.lr * g / (std::sqrt(a[i]) + opt.epsilon);
    }
  check_close(store.at("p0"), p, 1e-13);
  check_close(store.at("p0/adagrad_accum"), a, 1e-13);
}

TEST_CASE("Optimizers.ClipByValue") {
  Quadratic q({{2, 3}});
  TrainOps tr = minimize(q.loss, q.params, SGD{.lr = 0.5, .clip = {.value = 0.4}});
  ParamStore store;
  Plan plan = q.plan(store, tr.updates);
  plan.run();
  Vec want(6);
  int clipped = 0;
  for (size_t i = 0; i < 6; ++i) {
    double g = q.p0[0][i] - q.target[0][i];
    clipped += std::abs(g) > 0.4;
    want[i] = q.p0[0][i] - 0.5 * std::clamp(g, -0.4, 0.4);
  }
  CHECK(clipped >= 2); // the case exercises the clip
  CHECK(clipped < 6);
  check_close(store.at("p0"), want, 1e-14);
}

TEST_CASE("Optimizers.ClipByGlobalNorm") {
  for (double c : {1.5, 100.0}) { // clipping, and a norm within bounds
    CAPTURE(c);
    Quadratic q({{2, 2}, {3}});
    TrainOps tr = minimize(q.loss, q.params, SGD{.lr = 0.1, .clip = {.global_norm = c}});
    REQUIRE(tr.global_norm.valid());
    ParamStore store;
    Plan plan = q.plan(store, tr.updates, DType::f64, {tr.global_norm});
    plan.run();
    double sq = 0;
    for (size_t k = 0; k < 2; ++k)
      for (size_t i = 0; i < q.p0[k].size(); ++i) sq += std::pow(q.p0[k][i] - q.target[k][i], 2);
    double norm = std::sqrt(sq);
    CHECK(plan.fetch(tr.global_norm).at(0) == doctest::Approx(norm).epsilon(1e-14));
    double scale = c / std::max(norm, c);
    if (c < 10) CHECK(scale < 1);
    for (size_t k = 0; k < 2; ++k) {
      Vec want = q.p0[k];
      for (size_t i = 0; i < want.size(); ++i) want[i] -= 0.1 * scale * (q.p0[k][i] - q.target[k][i]);
      check_close(store.at("p" + std::to_string(k)), want, 1e-14);
    }
  }
}

TEST_CASE("Optimizers.LeastSquaresLossDecreases") {
  // X (8, 3) w (3, 1) = y: a convex quadratic every optimizer must descend
  Vec xv = pseudo(24, 1.0), wt = {0.5, -1.25, 2.0}, yv(8);
  for (size_t r = 0; r < 8; ++r) {
    yv[r] = 0.01 * std::cos(double(r));
    for (size_t c = 0; c < 3; ++c) yv[r] += xv[r * 3 + c] * wt[c];
  }
  auto run = [&](auto opt, int steps) {
    Graph g;
    Value X = constant(g, t64({8, 3}, xv), "X");
    Value y = constant(g, t64({8, 1}, yv), "y");
    Value w = param(g, "w", {3, 1}, Initializer::glorot_uniform());
    Value b = param(g, "b", {1, 1});
    Value loss = mean(square(matmul(X, w) + b - y));
    TrainOps tr = minimize(loss, all_params(g), opt);
    ParamStore store;
    Plan plan(g, store, {loss}, tr.updates, kF64);
    Vec losses;
    for (int s = 0; s < steps; ++s) {
      plan.run();
      losses.push_back(plan.fetch(loss).at(0));
    }
    return losses;
  };
  SUBCASE("SGD") {
    Vec l = run(SGD{.lr = 0.2}, 60);
    for (size_t s = 1; s < l.size(); ++s) CHECK(l[s] < l[s - 1]);
    CHECK(l.back() < 0.05 * l.front());
  }
  SUBCASE("Adam") {
    Vec l = run(Adam{.lr = 0.05}, 150);
    for (size_t s = 1; s < 10; ++s) CHECK(l[s] < l[s - 1]);
    CHECK(l.back() < 0.05 * l.front());
  }
  SUBCASE("AdaGrad") {
    Vec l = run(AdaGrad{.lr = 0.5}, 150);
    for (size_t s = 1; s < 10; ++s) CHECK(l[s] < l[s - 1]);
    CHECK(l.back() < 0.05 * l.front());
  }
}

TEST_CASE("Optimizers.UpdateRunsAfterEveryReader") {
  ThreadsGuard tg;
  for (int n : {1, 2, 4}) {
    set_threads(n);
    CAPTURE(n);
    Graph g;
    Value p = param(g, "p", {4, 5});
    Value loss = sum(square(p));
    Value doubled = p * 2.0; // another reader, fetched
    TrainOps tr = minimize(loss, {p}, SGD{.lr = 0.1});
    ParamStore store;
    Vec p0 = pseudo(20, 3.0);
    store.set("p", t64({4, 5}, p0));
    Plan plan(g, store, {loss, doubled}, tr.updates, kF64);
    plan.run();
    double l = 0;
    Vec dbl(20), after(20);
    for (size_t i = 0; i < 20; ++i) {
      l += p0[i] * p0[i];
      dbl[i] = 2 * p0[i];
      after[i] = p0[i] - 0.1 * 2 * p0[i];
    }
    CHECK(plan.fetch(loss).at(0) == doctest::Approx(l).epsilon(1e-14)); // pre-update loss
    check_close(plan.fetch(doubled), dbl, 1e-15);
    check_close(store.at("p"), after, 1e-15);
    // the update is the last node touching p
    auto order = plan.order();
    auto pos = [&](NodeId id) { return std::find(order.begin(), order.end(), id) - order.begin(); };
    CHECK(pos(tr.updates[0].id()) > pos(doubled.id()));
    CHECK(pos(tr.updates[0].id()) > pos(tr.grads[0].id()));
  }
}

TEST_CASE("Optimizers.AdamIterationsIncrementAfterEveryStep") {
  // every apply_adam of a run sees the same t: the first step moves each
  // parameter element by about lr (Adam's first step is lr * sign(g))
  Quadratic q({{3}, {3}, {3}});
  TrainOps tr = minimize(q.loss, q.params, Adam{.lr = 0.01});
  ParamStore store;
  Plan plan = q.plan(store, tr.updates);
  plan.run();
  for (size_t k = 0; k < 3; ++k)
    for (size_t i = 0; i < 3; ++i)
      CHECK(std::abs(store.at("p" + std::to_string(k)).at(int64_t(i)) - q.p0[k][i]) ==
            doctest::Approx(0.01).epsilon(1e-4));
  CHECK(store.at("adam/iterations").at(0) == 1);
}

TEST_CASE("Optimizers.DeterministicTraining") {
  ThreadsGuard tg;
  auto train = [](int threads_n) {
    set_threads(threads_n);
    Graph g;
    Value x = input(g, "x", {16, 6});
    Value y = input(g, "y", {16, 2});
    Value h = dense(x, 32, "d1", "tanh");
    Value h2 = dense(h, 32, "d2", "relu");
    Value out = dense(h2, 2, "out");
    Value loss = mean(square(out - y));
    TrainOps tr = minimize(loss, all_params(g), Adam{.lr = 0.01, .clip = {.global_norm = 1.0}});
    ParamStore store;
    Plan plan(g, store, {loss}, tr.updates, {DType::f32, 42});
    plan.feed("x", t64({16, 6}, pseudo(96, 1.5)));
    plan.feed("y", t64({16, 2}, pseudo(32, 2.5)));
    for (int s = 0; s < 25; ++s) plan.run();
    return store;
  };
  ParamStore a = train(1), b = train(4), c = train(4);
  REQUIRE(a.size() == b.size());
  for (auto& [name, t] : a.all()) {
    CAPTURE(name);
    const Tensor& u = b.at(name);
    const Tensor& w = c.at(name);
    REQUIRE(t.nbytes() == u.nbytes());
    CHECK(std::memcmp(t.raw(), u.raw(), t.nbytes()) == 0);
    CHECK(std::memcmp(t.raw(), w.raw(), t.nbytes()) == 0);
  }
}

TEST_CASE("Optimizers.AllParamsLeavesOutState") {
  Graph g;
  Value x = input(g, "x", {4, 3});
  std::vector<Value> bn_updates;
  Value h = batch_norm(dense(x, 5, "d"), "bn", true, 0.99, 1e-3, &bn_updates);
  Value loss = mean(square(h));
  std::vector<Value> ps = all_params(g);
  std::vector<std::string> names;
  for (auto& p : ps) names.push_back(p.name());
  CHECK(names == std::vector<std::string>{"d/kernel", "d/bias", "bn/gamma", "bn/beta"});
  minimize(loss, ps, Adam{});
  CHECK(all_params(g).size() == 4);
  CHECK_THROWS_AS(minimize(loss, {Value(g, g.at("bn/moving_mean"))}, SGD{}), std::invalid_argument);
  CHECK_THROWS_AS(minimize(loss, {x}, SGD{}), std::invalid_argument);
}

TEST_CASE("Optimizers.UpdateShapeErrorsNameTheShapes") {
  Graph g;
  Value p = param(g, "p", {2, 3});
  Value wrong = input(g, "g", {3, 2});
  try {
    apply_sgd(p, wrong, 0.1);
    FAIL("no shape error");
  } catch (const ShapeError& e) {
    std::string msg = e.what();
    CHECK(msg.find("(2, 3)") != std::string::npos);
    CHECK(msg.find("(3, 2)") != std::string::npos);
  }
  Value m = param(g, "m", {2, 3}), v = param(g, "v", {2, 2}), it = param(g, "it", {});
  CHECK_THROWS_AS(apply_adam(p, m, v, it, input(g, "g2", {2, 3}), 1e-3, 0.9, 0.999, 1e-7),
                  ShapeError);
  CHECK_THROWS_AS(apply_adam(p, m, m, m, input(g, "g3", {2, 3}), 1e-3, 0.9, 0.999, 1e-7),
                  ShapeError); // iterations must be a scalar
  CHECK_THROWS_AS(apply_adagrad(p, v, input(g, "g4", {2, 3}), 0.1, 1e-8), ShapeError);
  CHECK_THROWS_AS(assign_moving_average(p, v, 0.9), ShapeError);
  CHECK_THROWS_AS(assign_add(p, v), ShapeError);
}

TEST_CASE("Optimizers.AssignOps") {
  Graph g;
  Value a = param(g, "a", {3});
  Value b = param(g, "b", {3});
  Value c = param(g, "c", {3});
  Value x = input(g, "x", {3});
  Value u1 = assign_add(a, scalar(g, 2.0));
  Value u2 = assign_add(b, x);
  Value u3 = assign_moving_average(c, x, 0.75);
  for (DType dt : {DType::f64, DType::f32}) {
    ParamStore store;
    store.set("a", Tensor::from({3}, {1, 2, 3}, dt));
    store.set("b", Tensor::from({3}, {1, 2, 3}, dt));
    store.set("c", Tensor::from({3}, {1, 2, 3}, dt));
    Plan plan(g, store, std::vector<Value>{}, {u1, u2, u3}, {dt, 0});
    plan.feed("x", t64({3}, {10, 20, 30}));
    plan.run();
    plan.run();
    check_close(store.at("a"), {5, 6, 7}, 1e-7);
    check_close(store.at("b"), {21, 42, 63}, 1e-7);
    // 1 -> 0.75 + 2.5 = 3.25 -> 2.4375 + 2.5 = 4.9375
    check_close(store.at("c"), {4.9375, 9.875, 14.8125}, 1e-7);
  }
}

// ------------------------------------------------------------------- layers

TEST_CASE("Layers.Dense") {
  Graph g;
  Value x = input(g, "x", {2, 3});
  Value y = dense(x, 4, "d", "tanh");
  Value x3 = input(g, "x3", {2, 5, 3});
  Value y3 = dense(x3, 4, "d", "tanh"); // the same layer (shared weights) on a sequence
  CHECK(y3.shape() == Shape{2, 5, 4});
  CHECK(g.nodes_of(Op::Variable).size() == 2);
  CHECK_THROWS_AS(dense(x, 5, "d"), std::invalid_argument); // "d/kernel" is (3, 4)
  ParamStore store;
  Vec K = pseudo(12, 0.1), b = {0.1, -0.2, 0.3, 0.05}, xv = pseudo(6, 0.2), x3v = pseudo(30, 0.3);
  store.set("d/kernel", t64({3, 4}, K));
  store.set("d/bias", t64({4}, b));
  Plan plan(g, store, {y, y3}, {}, kF64);
  plan.feed("x", t64({2, 3}, xv));
  plan.feed("x3", t64({2, 5, 3}, x3v));
  plan.run();
  auto hand = [&](const Vec& in, size_t rows) {
    Vec out(rows * 4);
    for (size_t r = 0; r < rows; ++r)
      for (size_t u = 0; u < 4; ++u) {
        double z = b[u];
        for (size_t i = 0; i < 3; ++i) z += in[r * 3 + i] * K[i * 4 + u];
        out[r * 4 + u] = std::tanh(z);
      }
    return out;
  };
  check_close(plan.fetch(y), hand(xv, 2), 1e-14);
  check_close(plan.fetch(y3), hand(x3v, 10), 1e-14);
}

namespace {

struct HandLSTM {
  size_t in, u;
  Vec K, U, b; // Keras layout: (in, 4u), (u, 4u), (4u); gates i, f, c, o
  void step(const Vec& x, Vec& h, Vec& c, size_t batch) const {
    Vec hn(batch * u), cn(batch * u);
    for (size_t r = 0; r < batch; ++r)
      for (size_t j = 0; j < u; ++j) {
        double z[4];
        for (size_t gate = 0; gate < 4; ++gate) {
          size_t col = gate * u + j;
          double s = b[col];
          for (size_t i = 0; i < in; ++i) s += x[r * in + i] * K[i * 4 * u + col];
          for (size_t i = 0; i < u; ++i) s += h[r * u + i] * U[i * 4 * u + col];
          z[gate] = s;
        }
        double ig = sigmoid_d(z[0]), fg = sigmoid_d(z[1]), cc = std::tanh(z[2]),
               og = sigmoid_d(z[3]);
        cn[r * u + j] = fg * c[r * u + j] + ig * cc;
        hn[r * u + j] = og * std::tanh(cn[r * u + j]);
      }
    h = hn;
    c = cn;
  }
};

} // namespace

TEST_CASE("Layers.LSTMCellKerasGateOrder") {
  const size_t batch = 2, in = 3, u = 4;
  Graph g;
  LSTMWeights w = lstm_weights(g, "lstm", int64_t(in), int64_t(u));
  CHECK(w.kernel.shape() == Shape{3, 16});
  CHECK(w.recurrent_kernel.shape() == Shape{4, 16});
  CHECK(w.bias.shape() == Shape{16});
  Value x = input(g, "x", {2, 3});
  Value h0 = input(g, "h0", {2, 4});
  Value c0 = input(g, "c0", {2, 4});
  LSTMState s = lstm_cell(x, {h0, c0}, w);
  // unrolled, from Keras' zero state
  std::vector<Value> xs;
  for (int t = 0; t < 3; ++t) xs.push_back(input(g, "x" + std::to_string(t), {2, 3}));
  LSTMState last;
  std::vector<Value> hs = lstm(xs, {}, w, &last);
  REQUIRE(hs.size() == 3);
  // lstm() projects the three steps' inputs with ONE product (lstm_project);
  // the other product with the kernel is lstm_cell's.
  int kernel_products = 0;
  for (NodeId n = 0; n < g.size(); ++n)
    kernel_products += g.node(n).op == Op::MatMul && g.node(n).inputs[1] == w.kernel.id();
  CHECK(kernel_products == 2);

  HandLSTM hand{in, u, pseudo(in * 4 * u, 0.4), pseudo(u * 4 * u, 0.5), pseudo(4 * u, 0.6)};
  ParamStore store;
  store.set("lstm/kernel", t64({3, 16}, hand.K));
  store.set("lstm/recurrent_kernel", t64({4, 16}, hand.U));
  store.set("lstm/bias", t64({16}, hand.b));
  std::vector<Value> fetch = {s.h, s.c, last.c};
  fetch.insert(fetch.end(), hs.begin(), hs.end());
  Plan plan(g, store, fetch, {}, kF64);
  Vec xv = pseudo(6, 0.7), hv = pseudo(8, 0.8), cv = pseudo(8, 0.9);
  plan.feed("x", t64({2, 3}, xv));
  plan.feed("h0", t64({2, 4}, hv));
  plan.feed("c0", t64({2, 4}, cv));
  std::vector<Vec> xsv;
  for (int t = 0; t < 3; ++t) {
    xsv.push_back(pseudo(6, 1.0 + t));
    plan.feed("x" + std::to_string(t), t64({2, 3}, xsv.back()));
  }
  plan.run();

  hand.step(xv, hv, cv, batch);
  check_close(plan.fetch(s.h), hv, 1e-13);
  check_close(plan.fetch(s.c), cv, 1e-13);
  Vec h(batch * u, 0.0), c(batch * u, 0.0);
  for (int t = 0; t < 3; ++t) {
    hand.step(xsv[size_t(t)], h, c, batch);
    check_close(plan.fetch(hs[size_t(t)]), h, 1e-13);
  }
  check_close(plan.fetch(last.c), c, 1e-13);
}

TEST_CASE("Layers.LSTMGradcheck") {
  Graph g;
  LSTMWeights w = lstm_weights(g, "lstm", 3, 2);
  std::vector<Value> xs;
  for (int t = 0; t < 3; ++t) xs.push_back(input(g, "x" + std::to_string(t), {2, 3}));
  Value h0 = input(g, "h0", {2, 2});
  Value c0 = input(g, "c0", {2, 2});
  std::vector<Value> hs = lstm(xs, {h0, c0}, w);
  auto res = gradcheck(g, stack(hs, 0), {w.kernel, w.recurrent_kernel, w.bias, xs[0], h0, c0});
  REQUIRE(res.size() == 6);
  for (auto& r : res) {
    CAPTURE(r.name);
    CHECK(r.max_rel < 1e-6);
  }
}

TEST_CASE("Layers.RNNCell") {
  Graph g;
  RNNWeights w = rnn_weights(g, "rnn", 3, 2);
  Value x0 = input(g, "x0", {2, 3}), x1 = input(g, "x1", {2, 3});
  std::vector<Value> hs = rnn({x0, x1}, Value(), w);
  Vec K = pseudo(6, 0.1), U = pseudo(4, 0.2), b = {0.3, -0.1};
  ParamStore store;
  store.set("rnn/kernel", t64({3, 2}, K));
  store.set("rnn/recurrent_kernel", t64({2, 2}, U));
  store.set("rnn/bias", t64({2}, b));
  Plan plan(g, store, hs, {}, kF64);
  Vec xv[2] = {pseudo(6, 0.3), pseudo(6, 0.4)};
  plan.feed("x0", t64({2, 3}, xv[0]));
  plan.feed("x1", t64({2, 3}, xv[1]));
  plan.run();
  Vec h(4, 0.0);
  for (size_t t = 0; t < 2; ++t) {
    Vec hn(4);
    for (size_t r = 0; r < 2; ++r)
      for (size_t j = 0; j < 2; ++j) {
        double z = b[j];
        for (size_t i = 0; i < 3; ++i) z += xv[t][r * 3 + i] * K[i * 2 + j];
        for (size_t i = 0; i < 2; ++i) z += h[r * 2 + i] * U[i * 2 + j];
        hn[r * 2 + j] = std::tanh(z);
      }
    h = hn;
    check_close(plan.fetch(hs[t]), h, 1e-14);
  }
}

TEST_CASE("Layers.BatchNormTrainingAndMovingAverages") {
  // x (2, 3, 2): statistics over the first two axes, per channel
  const size_t rows = 6, C = 2;
  const double momentum = 0.9, eps = 1e-3;
  Graph g;
  Value x = input(g, "x", {2, 3, 2});
  std::vector<Value> updates;
  Value y = batch_norm(x, "bn", true, momentum, eps, &updates);
  REQUIRE(updates.size() == 2);
  Value yi = batch_norm(x, "bn", false, momentum, eps); // inference: shares the statistics
  ParamStore store;
  Vec gamma = {1.5, 0.5}, beta = {0.1, -0.2}, xv = pseudo(rows * C, 0.33);
  for (auto& v : xv) v = 2 * v + 0.7;
  store.set("bn/gamma", t64({2}, gamma));
  store.set("bn/beta", t64({2}, beta));
  Plan plan(g, store, {y}, updates, kF64);
  plan.feed("x", t64({2, 3, 2}, xv));
  plan.run();
  Vec mean(C, 0.0), var(C, 0.0), want(rows * C);
  for (size_t ch = 0; ch < C; ++ch) {
    for (size_t r = 0; r < rows; ++r) mean[ch] += xv[r * C + ch] / double(rows);
    for (size_t r = 0; r < rows; ++r) var[ch] += std::pow(xv[r * C + ch] - mean[ch], 2) / double(rows);
    for (size_t r = 0; r < rows; ++r)
      want[r * C + ch] = (xv[r * C + ch] - mean[ch]) / std::sqrt(var[ch] + eps) * gamma[ch] + beta[ch];
  }
  check_close(plan.fetch(y), want, 1e-13);
  Vec mm(C), mv(C);
  for (size_t ch = 0; ch < C; ++ch) {
    mm[ch] = momentum * 0.0 + (1 - momentum) * mean[ch];
    double sample_var = var[ch] * double(rows) / (double(rows) - (1.0 + eps)); // Keras 2.2
    mv[ch] = momentum * 1.0 + (1 - momentum) * sample_var;
  }
  check_close(store.at("bn/moving_mean"), mm, 1e-13);
  check_close(store.at("bn/moving_variance"), mv, 1e-13);

  // inference with the moved statistics
  Plan infer(g, store, {yi}, {}, kF64);
  infer.feed("x", t64({2, 3, 2}, xv));
  infer.run();
  for (size_t r = 0; r < rows; ++r)
    for (size_t ch = 0; ch < C; ++ch)
      want[r * C + ch] = (xv[r * C + ch] - mm[ch]) / std::sqrt(mv[ch] + eps) * gamma[ch] + beta[ch];
  check_close(infer.fetch(yi), want, 1e-13);
}

TEST_CASE("Layers.BatchNormGradcheck") {
  Graph g;
  Value x = input(g, "x", {5, 3});
  Value y = batch_norm(x, "bn", true);
  auto res = gradcheck(g, y, {x, Value(g, g.at("bn/gamma")), Value(g, g.at("bn/beta"))});
  REQUIRE(res.size() == 3);
  for (auto& r : res) {
    CAPTURE(r.name);
    CHECK(r.max_rel < 1e-6);
  }
}
