// The Keras layer objects (ops/keras.hpp): names, shared weights, parameter
// counts with Keras's arithmetic, shape errors, gradients, masks (propagation,
// Keras's outputs at masked steps, outputs independent of the padding), the
// two directions of Bidirectional as independent branches, training vs
// inference, and forward values against tools/numpy_reference/keras_layers.py
// (numpy written from Keras's equations) on identical weights.
#include "autodiff/gradcheck.hpp"
#include "autodiff/optimizers.hpp"
#include "graph/npy.hpp"
#include "graph/random.hpp"
#include "ops/keras.hpp"
#include "tests/helpers.hpp"

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fstream>
#include <memory>

using namespace sg;
using namespace sg::test;
namespace L = sg::layers;

namespace {

// Uniform draws in [-scale, scale), float32 (what the plans and numpy both read).
Tensor rnd(Shape s, uint64_t seed, double scale = 0.5) {
  Tensor t(std::move(s), DType::f32);
  rng::Stream st{seed, 17};
  for (int64_t i = 0; i < t.size(); ++i) t.set(i, scale * (2 * st.uniform() - 1));
  return t;
}

// Ids (batch, T): sentence b's ids, then zeros (padding).
Tensor padded_ids(const std::vector<std::vector<int>>& sentences, int64_t T) {
  Tensor t({int64_t(sentences.size()), T}, DType::f32);
  for (size_t b = 0; b < sentences.size(); ++b)
    for (size_t k = 0; k < sentences[b].size(); ++k) t.set(int64_t(b) * T + int64_t(k), sentences[b][k]);
  return t;
}

// Scalars of every parameter of `layer` ("<layer>/..."), trainable and not.
struct Counts {
  int64_t trainable = 0, non_trainable = 0;
};
Counts count_params(const Graph& g, const std::string& layer) {
  Counts c;
  for (NodeId id : g.nodes_of(Op::Variable)) {
    const Node& n = g.node(id);
    if (!n.name.starts_with(layer + "/")) continue;
    (n.kind == NodeKind::update ? c.non_trainable : c.trainable) += numel(n.shape);
  }
  return c;
}

std::vector<std::string> param_names(Graph& g) {
  std::vector<std::string> r;
  for (NodeId id : g.nodes_of(Op::Variable)) r.push_back(g.node(id).name);
  return r;
}

void check_gradients(Graph& g, Value y, const std::vector<Value>& wrt,
                     const std::map<std::string, Tensor>& values = {}, double tol = 1e-6) {
  auto res = gradcheck(g, y, wrt, values);
  REQUIRE(res.size() == wrt.size());
  for (auto& r : res) {
    INFO("d/d", r.name, ": analytic ", r.analytic, " numeric ", r.numeric, " at ", r.worst);
    CHECK(r.max_rel < tol);
  }
}

} // namespace

// ------------------------------------------------------------- core layers

TEST_CASE("Layers.NamesAreKerasStyleAndUnique") {
  Graph g;
  Value x = input(g, "x", {2, 3, 4});
  L::Dense d(2), d1(3), named(2, {.name = "out"});
  CHECK(d.name().empty());
  d(x);
  d1(x);
  named(x);
  CHECK(d.name() == "dense");
  CHECK(d1.name() == "dense_1");
  CHECK(named.name() == "out");
  L::TimeDistributed td(L::Dense(3));
  td(x);
  CHECK(td.name() == "time_distributed");
  L::Embedding emb(10, 3);
  emb(input(g, "ids", {2, 3}));
  L::Dropout drop(0.2);
  L::Activation act("relu");
  L::RepeatVector rep(2);
  L::Concatenate cat;
  L::Dot dot(1);
  drop(x);
  act(x);
  Value v = input(g, "v", {2, 4});
  rep(v);
  cat({v, v});
  dot({v, v});
  CHECK(drop.name() == "dropout");
  CHECK(act.name() == "activation");
  CHECK(rep.name() == "repeat_vector");
  CHECK(cat.name() == "concatenate");
  CHECK(dot.name() == "dot");
  CHECK(param_names(g) == std::vector<std::string>{"dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias",
                                                   "out/kernel", "out/bias", "time_distributed/kernel",
                                                   "time_distributed/bias", "embedding/embeddings"});
  // a name some node already uses as its scope is skipped
  Graph g2;
  input(g2, "dense/x", {1});
  CHECK(L::Dense(1)(input(g2, "y", {1, 1})).name().starts_with("dense_1/"));
}

TEST_CASE("Layers.ParametersKeepTheirNamesInAnyScope") {
  Graph g;
  Value x = input(g, "x", {2, 4});
  L::Dense d(3);
  Value y0 = d(x);
  Value y1;
  {
    auto t = g.scope("t1");
    y1 = d(x);
  }
  CHECK(param_names(g) == std::vector<std::string>{"dense/kernel", "dense/bias"});
  CHECK(y0.name().starts_with("dense/"));
  CHECK(y1.name().starts_with("t1/dense/"));
}

TEST_CASE("Layers.CallingAgainSharesWeights") {
  Graph g;
  Value x1 = input(g, "x1", {2, 4}), x2 = input(g, "x2", {3, 4});
  L::Dense d(3, {.activation = "tanh"});
  Value y1 = d(x1), y2 = d(x2);
  CHECK(g.nodes_of(Op::Variable).size() == 2);
  ParamStore store;
  Plan plan(g, store, {y1, y2}, {}, {DType::f64, 3});
  Tensor v = rnd({2, 4}, 9).to(DType::f64);
  plan.feed("x1", v);
  Tensor v3({3, 4}, DType::f64);
  for (int64_t i = 0; i < 8; ++i) v3.set(i, v.at(i));
  plan.feed("x2", v3);
  plan.run();
  Tensor a = plan.fetch(y1), b = plan.fetch(y2);
  // the same weights on the same rows (products of 2 and 3 rows: equal to rounding)
  for (int64_t i = 0; i < 6; ++i) CHECK(a.at(i) == doctest::Approx(b.at(i)).epsilon(1e-14));

  Graph other;
  Value z = input(other, "z", {2, 4});
  std::string msg = error_of<std::logic_error>([&] { d(z); });
  CHECK(msg.find("another graph") != std::string::npos);
  CHECK(msg.find("Dense 'dense'") != std::string::npos);
}

TEST_CASE("Layers.KerasParameterCountsCore") {
  Graph g;
  L::Dense(5)(input(g, "v128", {2, 128}));
  CHECK(count_params(g, "dense").trainable == 128 * 5 + 5); // 645
  L::Dense(7, {.use_bias = false})(input(g, "v3", {2, 3}));
  CHECK(count_params(g, "dense_1").trainable == 3 * 7); // 21
  L::TimeDistributed(L::Dense(10))(input(g, "s", {2, 5, 30}));
  CHECK(count_params(g, "time_distributed").trainable == 30 * 10 + 10); // 310
  L::Embedding emb(400001, 50, {.trainable = false});
  emb(input(g, "ids", {1, 4}));
  CHECK(count_params(g, "embedding").non_trainable == 400001 * 50); // 20,000,050
  CHECK(count_params(g, "embedding").trainable == 0);
}

TEST_CASE("Layers.CoreBadInputShapesNameTheLayer") {
  Graph g;
  Value v = input(g, "v", {2, 4});
  Value s = input(g, "s", {2, 3, 4});
  L::Dense d(2);
  std::string msg = error_of<std::invalid_argument>([&] { d(input(g, "scalar", {})); });
  CHECK(msg.find("Dense 'dense'") != std::string::npos);
  CHECK(msg.find("'scalar'") != std::string::npos);
  CHECK(msg.find("tests/test_layers.cpp:") != std::string::npos);
  d(v);
  msg = error_of<std::invalid_argument>([&] { d(input(g, "s5", {2, 3, 5})); });
  CHECK(msg.find("'s5' has shape (2, 3, 5)") != std::string::npos);
  CHECK(msg.find("built for 4 input features") != std::string::npos);
  L::Dot dot(1);
  msg = error_of<std::invalid_argument>([&] { dot({s, input(g, "w", {2, 4, 4})}); });
  CHECK(msg.find("Dot 'dot'") != std::string::npos);
  L::Concatenate cat;
  msg = error_of<std::invalid_argument>([&] { cat({s, input(g, "c", {2, 4, 4})}); });
  CHECK(msg.find("Concatenate 'concatenate'") != std::string::npos);
  CHECK(msg.find("'c' has shape (2, 4, 4)") != std::string::npos);
  L::RepeatVector rep(3);
  msg = error_of<std::invalid_argument>([&] { rep(s); });
  CHECK(msg.find("RepeatVector 'repeat_vector'") != std::string::npos);
  L::TimeDistributed td(L::Dense(2));
  msg = error_of<std::invalid_argument>([&] { td(v); });
  CHECK(msg.find("TimeDistributed 'time_distributed'") != std::string::npos);
  CHECK_THROWS_AS(L::Embedding(3, 2, {.weights = Tensor({2, 2})}), std::invalid_argument);
  CHECK_THROWS_AS(L::Dropout(1.0), std::invalid_argument);
  // a layer that does not support masks refuses one, as Keras does
  Value masked = L::with_mask(input(g, "m_in", {2, 6}), input(g, "m", {2, 6}));
  msg = error_of<std::invalid_argument>([&] { L::RepeatVector(2)(masked); });
  CHECK(msg.find("does not support masking") != std::string::npos);
}

TEST_CASE("Layers.GradcheckCoreLayers") {
  {
    Graph g;
    Value x = input(g, "x", {2, 3, 4});
    Value y = L::Dense(3, {.activation = "tanh"})(x);
    check_gradients(g, y, {x, Value(g, g.at("dense/kernel")), Value(g, g.at("dense/bias"))});
  }
  {
    Graph g;
    Value x = input(g, "x", {2, 3, 4});
    Value y = L::TimeDistributed(L::Dense(2, {.activation = "sigmoid"}))(x);
    check_gradients(g, y, {x, Value(g, g.at("time_distributed/kernel")), Value(g, g.at("time_distributed/bias"))});
  }
  {
    Graph g;
    Value ids = input(g, "ids", {2, 3});
    Value y = L::Embedding(5, 3)(ids);
    check_gradients(g, y, {Value(g, g.at("embedding/embeddings"))},
                    {{"ids", vals({2, 3}, {1, 4, 1, 0, 2, 4})}});
  }
  {
    Graph g;
    Value a = input(g, "a", {2, 4, 1}), b = input(g, "b", {2, 4, 3});
    Value y = L::Dot(1, {.normalize = true})({a, b});
    CHECK(y.shape() == Shape{2, 1, 3});
    check_gradients(g, y, {a, b});
  }
}

TEST_CASE("Layers.MasksPropagateThroughCoreLayers") {
  Graph g;
  g.training = true;
  Value ids = input(g, "ids", {2, 5});
  Value e = L::Embedding(7, 4, {.mask_zero = true})(ids);
  const Value m = L::mask_of(e);
  REQUIRE(m);
  CHECK(m.shape() == Shape{2, 5});
  auto same_mask = [&](const Value& v) { return L::mask_of(v) && L::mask_of(v).id() == m.id(); };
  CHECK(same_mask(L::Dropout(0.3)(e)));
  CHECK(same_mask(L::Activation("tanh")(e)));
  CHECK(same_mask(L::Dense(3)(e)));
  CHECK(same_mask(L::TimeDistributed(L::Dense(3))(e)));
  CHECK(!L::mask_of(L::Embedding(7, 4)(ids))); // no mask_zero
  Value cat = L::Concatenate()({e, input(g, "f", {2, 5, 2})}); // the other input: no mask
  CHECK(same_mask(cat));
  Value m2 = input(g, "m2", {2, 5});
  Value cat2 = L::Concatenate()({e, L::with_mask(input(g, "f2", {2, 5, 2}), m2)});
  REQUIRE(L::mask_of(cat2));
  CHECK(L::mask_of(cat2).node().op == Op::Mul); // both masks: their product (Keras: all)

  ParamStore store;
  Plan plan(g, store, {m, L::mask_of(cat2)}, {}, {DType::f32, 1});
  plan.feed("ids", padded_ids({{3, 1, 6}, {2}}, 5));
  plan.feed("m2", Tensor::from({2, 5}, {1, 0, 1, 1, 1, 1, 1, 1, 1, 1}));
  plan.run();
  check_close(plan.fetch(m), vals({2, 5}, {1, 1, 1, 0, 0, 1, 0, 0, 0, 0}), 0);
  check_close(plan.fetch(L::mask_of(cat2)), vals({2, 5}, {1, 0, 1, 0, 0, 1, 0, 0, 0, 0}), 0);
}

TEST_CASE("Layers.FrozenDenseIsNotTrained") {
  Graph g;
  Value x = input(g, "x", {4, 3});
  L::Dense frozen(3, {.trainable = false}), trained(2);
  Value h = trained(frozen(x));
  std::vector<std::string> names;
  for (const Value& p : all_params(g)) names.push_back(p.name());
  CHECK(names == std::vector<std::string>{"dense_1/kernel", "dense_1/bias"});
  CHECK(count_params(g, "dense").non_trainable == 3 * 3 + 3);
  TrainOps tr = minimize(mean(square(h)), all_params(g), SGD{.lr = 0.1});
  CHECK(tr.updates.size() == 2);
}

TEST_CASE("Layers.DropoutTrainingAndInference") {
  {
    Graph g;
    Value x = input(g, "x", {4, 50});
    CHECK(L::Dropout(0.5)(x).id() == x.id()); // inference: the identity
  }
  auto run = [](uint64_t seed) {
    Graph g;
    g.training = true;
    g.seed = seed;
    Value x = input(g, "x", {4, 50});
    Value a = L::Dropout(0.5)(x), b = L::Dropout(0.5)(x);
    ParamStore store;
    Plan plan(g, store, {a, b}, {}, {DType::f32, 0});
    Tensor ones({4, 50});
    for (int64_t i = 0; i < 200; ++i) ones.set(i, 1.0);
    plan.feed("x", ones);
    plan.run();
    return std::array<Tensor, 2>{plan.fetch(a), plan.fetch(b)};
  };
  auto r1 = run(3), r2 = run(3), r3 = run(4);
  int zeros = 0, diff_layers = 0, diff_seeds = 0;
  for (int64_t i = 0; i < 200; ++i) {
    const double v = r1[0].at(i);
    CHECK((v == 0 || v == 2)); // inverted dropout: kept values scaled by 1 / (1 - rate)
    zeros += v == 0;
    CHECK(v == r2[0].at(i)); // the same seed: the same plan, the same masks
    diff_layers += v != r1[1].at(i);
    diff_seeds += v != r3[0].at(i);
  }
  CHECK(zeros > 60);
  CHECK(zeros < 140);
  CHECK(diff_layers > 50); // each layer its own stream
  CHECK(diff_seeds > 50);
}

TEST_CASE("Layers.EmbeddingPretrainedAndFrozen") {
  const Tensor table = Tensor::from({3, 2}, {0, 0, 1.5, -2, 0.25, 4}, DType::f64);
  for (bool trainable : {false, true}) {
    CAPTURE(trainable);
    Graph g;
    Value ids = input(g, "ids", {2, 2});
    Value y = L::Embedding(3, 2, {.trainable = trainable, .weights = table})(ids);
    CHECK(all_params(g).size() == (trainable ? 1u : 0u));
    ParamStore store;
    Plan plan(g, store, {y}, {}, {DType::f64, 0});
    plan.feed("ids", vals({2, 2}, {2, 1, 0, 2}));
    plan.run();
    check_close(plan.fetch(y), vals({2, 2, 2}, {0.25, 4, 1.5, -2, 0, 0, 0.25, 4}), 0);
    check_close(store.at("embedding/embeddings"), table, 0);
  }
  // default: Keras' uniform(-0.05, 0.05)
  Graph g;
  Value y = L::Embedding(100, 8)(input(g, "ids", {1, 1}));
  ParamStore store;
  Plan plan(g, store, {y}, {}, {DType::f32, 0});
  plan.feed("ids", Tensor({1, 1}));
  plan.run();
  const Tensor& t = store.at("embedding/embeddings");
  double lo = 1, hi = -1;
  for (int64_t i = 0; i < t.size(); ++i) lo = std::min(lo, t.at(i)), hi = std::max(hi, t.at(i));
  CHECK(lo >= -0.05);
  CHECK(hi < 0.05);
  CHECK(hi - lo > 0.09);
}

TEST_CASE("Layers.RepeatConcatenateDotActivation") {
  Graph g;
  Value v = input(g, "v", {2, 3});
  Value r = L::RepeatVector(4)(v);
  CHECK(r.shape() == Shape{2, 4, 3});
  Value a = input(g, "a", {2, 4, 1}), s = input(g, "s", {2, 4, 2});
  Value cat = L::Concatenate()({r, s});
  CHECK(cat.shape() == Shape{2, 4, 5});
  Value cat1 = L::Concatenate({.axis = 1})({r, r});
  CHECK(cat1.shape() == Shape{2, 8, 3});
  Value alphas = L::Activation("softmax", {.axis = 1})(a); // the course's attention weights
  Value context = L::Dot(1)({alphas, s});                 // (2, 1, 2)
  CHECK(context.shape() == Shape{2, 1, 2});
  Value pairs = L::Dot({2, 2})({s, s}); // (2, 4, 4): s s^T per batch entry
  Value dots = L::Dot(1)({v, v});       // (2, 1)
  CHECK(dots.shape() == Shape{2, 1});
  ParamStore store;
  Plan plan(g, store, {r, cat, alphas, context, pairs, dots}, {}, {DType::f64, 0});
  const Tensor vv = vals({2, 3}, {1, 2, 3, -1, 0.5, 2});
  const Tensor av = vals({2, 4, 1}, {0.1, -0.3, 2, 0.7, 1, 1, 0, -1});
  const Tensor sv = vals({2, 4, 2}, {1, 2, 3, 4, 5, 6, 7, 8, -1, 0, 2, 1, 0.5, 3, -2, 1});
  plan.feed("v", vv);
  plan.feed("a", av);
  plan.feed("s", sv);
  plan.run();
  Tensor rv = plan.fetch(r), cv = plan.fetch(cat), al = plan.fetch(alphas), cx = plan.fetch(context);
  Tensor pv = plan.fetch(pairs), dv = plan.fetch(dots);
  for (int64_t b = 0; b < 2; ++b) {
    double z = 0;
    for (int64_t t = 0; t < 4; ++t) z += std::exp(av({b, t, 0}));
    for (int64_t t = 0; t < 4; ++t) {
      for (int64_t j = 0; j < 3; ++j) {
        CHECK(rv({b, t, j}) == vv({b, j}));
        CHECK(cv({b, t, j}) == vv({b, j}));
      }
      for (int64_t j = 0; j < 2; ++j) CHECK(cv({b, t, 3 + j}) == sv({b, t, j}));
      CHECK(al({b, t, 0}) == doctest::Approx(std::exp(av({b, t, 0})) / z).epsilon(1e-12));
      for (int64_t u = 0; u < 4; ++u)
        CHECK(pv({b, t, u}) == doctest::Approx(sv({b, t, 0}) * sv({b, u, 0}) + sv({b, t, 1}) * sv({b, u, 1})));
    }
    for (int64_t j = 0; j < 2; ++j) {
      double c = 0;
      for (int64_t t = 0; t < 4; ++t) c += al({b, t, 0}) * sv({b, t, j});
      CHECK(cx({b, 0, j}) == doctest::Approx(c).epsilon(1e-12));
    }
    double d = 0;
    for (int64_t j = 0; j < 3; ++j) d += vv({b, j}) * vv({b, j});
    CHECK(dv({b, 0}) == doctest::Approx(d));
  }
}

TEST_CASE("Layers.DenseOverAConcatenationIsTheDenseOfItsValues") {
  // Dense([a, RepeatVector(T)(s)]) at two "steps" sharing a: per-part products, a's made once,
  // s's before the repeat; the values are the product of the concatenation (hand loops), and
  // the gradients match finite differences.
  Graph g;
  Value a = input(g, "a", {2, 4, 3}), s1 = input(g, "s1", {2, 2}), s2 = input(g, "s2", {2, 2});
  L::Dense d(5, {.activation = "tanh"});
  L::RepeatVector rep(4);
  L::Concatenate cat;
  const Value y1 = d(cat({a, rep(s1)})), y2 = d(cat({a, rep(s2)}));
  CHECK(y1.shape() == Shape{2, 4, 5});
  int64_t big = 0; // no product over the (2, 4, 5)-wide concatenation, and one of a alone
  for (NodeId id : g.nodes_of(Op::MatMul)) big += g.node(id).shape == Shape{8, 5};
  CHECK(big == 1);
  ParamStore store;
  Plan plan(g, store, {y1, y2}, {}, {DType::f64, 0});
  const Tensor av = rnd({2, 4, 3}, 1).to(DType::f64), s1v = rnd({2, 2}, 2).to(DType::f64),
               s2v = rnd({2, 2}, 3).to(DType::f64);
  plan.feed("a", av);
  plan.feed("s1", s1v);
  plan.feed("s2", s2v);
  plan.run();
  const Tensor &K = store.at("dense/kernel"), &bias = store.at("dense/bias");
  store.at("dense/bias").set(2, 0.25); // (a nonzero bias for the next run)
  plan.run();
  for (auto [y, sv] : {std::pair{y1, &s1v}, std::pair{y2, &s2v}}) {
    const Tensor yv = plan.fetch(y);
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t t = 0; t < 4; ++t)
        for (int64_t u = 0; u < 5; ++u) {
          double z = bias.at(u);
          for (int64_t j = 0; j < 3; ++j) z += av({b, t, j}) * K({j, u});
          for (int64_t j = 0; j < 2; ++j) z += (*sv)({b, j}) * K({3 + j, u});
          CHECK(yv({b, t, u}) == doctest::Approx(std::tanh(z)).epsilon(1e-12));
        }
  }
  Graph h;
  Value ha = input(h, "a", {2, 4, 3}), hs = input(h, "s", {2, 2});
  L::Dense dh(3, {.activation = "tanh"});
  L::RepeatVector rh(4);
  Value out = dh(L::Concatenate()({rh(hs), ha})) + dh(L::Concatenate()({rh(hs), ha})); // the part order too
  std::vector<Value> wrt = {ha, hs};
  for (Value p : all_params(h)) wrt.push_back(p);
  check_gradients(h, out, wrt);
}

TEST_CASE("Layers.TimeDistributedDenseIsOneProduct") {
  Graph g;
  Value x = input(g, "x", {3, 7, 4});
  Value y = L::TimeDistributed(L::Dense(2, {.activation = "relu"}))(x);
  CHECK(y.shape() == Shape{3, 7, 2});
  CHECK(g.nodes_of(Op::MatMul).size() == 1);
  CHECK(g.node(g.nodes_of(Op::MatMul)[0]).shape == Shape{21, 2});
  ParamStore store;
  Plan plan(g, store, {y}, {}, {DType::f64, 4});
  const Tensor xv = rnd({3, 7, 4}, 12, 1.0).to(DType::f64);
  plan.feed("x", xv);
  plan.run();
  const Tensor& K = store.at("time_distributed/kernel");
  Tensor got = plan.fetch(y);
  for (int64_t b = 0; b < 3; ++b)
    for (int64_t t = 0; t < 7; ++t)
      for (int64_t o = 0; o < 2; ++o) {
        double z = 0;
        for (int64_t i = 0; i < 4; ++i) z += xv({b, t, i}) * K({i, o});
        CHECK(got({b, t, o}) == doctest::Approx(std::max(z, 0.0)).epsilon(1e-12));
      }
}

namespace {

// A (batch, steps) mask from rows of 0/1.
Tensor mask_rows(const std::vector<std::vector<double>>& rows) {
  std::vector<double> v;
  for (auto& r : rows) v.insert(v.end(), r.begin(), r.end());
  return Tensor::from({int64_t(rows.size()), int64_t(rows[0].size())}, v, DType::f32);
}

std::vector<Value> params_of(Graph& g, const std::string& layer) {
  std::vector<Value> r;
  for (NodeId id : g.nodes_of(Op::Variable))
    if (g.node(id).name.starts_with(layer + "/")) r.emplace_back(g, id);
  return r;
}

// ---- the numpy reference (tools/numpy_reference/keras_layers.py)

// A python3 that has numpy: the one on PATH, else Debian's.
std::string python_with_numpy() {
  for (const char* py : {"python3", "/usr/bin/python3"})
    if (std::system(fmt::format("{} -c 'import numpy' >/dev/null 2>&1", py).c_str()) == 0) return py;
  return {};
}

// Saves `arrays` and config.json in a fresh directory, runs keras_layers.py
// `layer` there, and returns the arrays named `outputs` it wrote.
std::map<std::string, Tensor> numpy_reference(const std::string& layer,
                                              const std::map<std::string, Tensor>& arrays,
                                              const std::string& config,
                                              const std::vector<std::string>& outputs) {
  static const std::string py = python_with_numpy();
  if (py.empty())
    FAIL("python3 with numpy is needed for the layers' reference: apt-get install python3-numpy");
  TempDir dir;
  for (auto& [name, t] : arrays) save_npy(dir / (name + ".npy"), t);
  std::ofstream(dir / "config.json") << config;
  const std::string cmd = fmt::format("{} {}/tools/numpy_reference/keras_layers.py {} {} 2>&1", py,
                                      SEQGRAPH_SOURCE_DIR, layer, dir.path.string());
  std::string log;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) log.append(buf, n);
  const int rc = ::pclose(p);
  INFO("command: ", cmd, "\n", log);
  REQUIRE(rc == 0);
  std::map<std::string, Tensor> r;
  for (const auto& name : outputs) r[name] = load_npy(dir / (name + ".npy"));
  return r;
}

// The numpy file name of a parameter: "<layer>/kernel" -> "kernel",
// "bidirectional/forward_lstm/kernel" -> "forward_kernel".
std::string npy_name(const std::string& param) {
  std::string leaf = param.substr(param.rfind('/') + 1);
  if (param.find("/forward_") != std::string::npos) return "forward_" + leaf;
  if (param.find("/backward_") != std::string::npos) return "backward_" + leaf;
  return leaf;
}

// Random float32 values for every parameter of g, in `store` and `arrays`.
void random_weights(Graph& g, ParamStore& store, std::map<std::string, Tensor>& arrays, uint64_t seed) {
  for (NodeId id : g.nodes_of(Op::Variable)) {
    const Node& n = g.node(id);
    Tensor t = rnd(n.shape, seed ^ rng::hash_name(n.name), 0.6);
    store.set(n.name, t);
    arrays[npy_name(n.name)] = t;
  }
}

std::string json_options(const L::RNNOptions& o, const std::string& cell, const std::string& merge) {
  return fmt::format(R"({{"cell": "{}", "return_sequences": {}, "go_backwards": {}, "activation": "{}",
    "recurrent_activation": "{}", "reset_after": {}, "merge_mode": "{}"}})",
                     cell, o.return_sequences, o.go_backwards, o.activation, o.recurrent_activation,
                     o.reset_after, merge);
}

std::unique_ptr<L::RNN> make_rnn(const std::string& cell, int64_t units, L::RNNOptions o) {
  if (cell == "lstm") return std::make_unique<L::LSTM>(units, o);
  if (cell == "gru") return std::make_unique<L::GRU>(units, o);
  return std::make_unique<L::SimpleRNN>(units, o);
}

struct RecurrentCase {
  std::string cell;
  L::RNNOptions o;
  bool masked = false, initial_state = false;
  std::string merge = ""; // Bidirectional's merge_mode; "" = the layer alone
};

// The layer in float32 against numpy in float64: output and final states to 1e-5.
void compare_recurrent(const RecurrentCase& c) {
  const int64_t B = 3, T = 6, in = 4, u = 5;
  Graph g;
  Value x = input(g, "x", {B, T, in});
  std::map<std::string, Tensor> arrays{{"x", rnd({B, T, in}, 1, 1.0)}};
  if (c.masked) {
    // right padding, a row padded on both sides, one with a single real step
    arrays["mask"] = mask_rows({{1, 1, 1, 1, 1, 0}, {0, 0, 1, 1, 0, 1}, {1, 0, 0, 0, 0, 0}});
    L::with_mask(x, input(g, "mask", {B, T}));
  }
  auto layer = make_rnn(c.cell, u, c.o);
  const int n_states = c.cell == "lstm" ? 2 : 1;
  std::vector<Value> init;
  if (c.initial_state)
    for (const std::string& dir : c.merge.empty() ? std::vector<std::string>{""}
                                                 : std::vector<std::string>{"forward_", "backward_"})
      for (int k = 0; k < n_states; ++k) {
        const std::string name = fmt::format("{}initial_state_{}", dir, k);
        init.push_back(input(g, name, {B, u}));
        arrays[name] = rnd({B, u}, 100 + init.size(), 0.8);
      }
  L::RecurrentOutput r;
  if (c.merge.empty()) {
    r = layer->call(x, init);
  } else {
    L::Bidirectional bi(*layer, {.merge_mode = c.merge});
    r = bi.call(x, init);
  }
  ParamStore store;
  random_weights(g, store, arrays, 5);
  std::vector<Value> fetch{r.output};
  fetch.insert(fetch.end(), r.state.begin(), r.state.end());
  Plan plan(g, store, fetch, {}, {DType::f32, 0});
  for (auto& [name, t] : arrays)
    if (g.find(name) && g.node(g.at(name)).op == Op::Input) plan.feed(name, t);
  plan.run();

  std::vector<std::string> outs{"y"};
  for (size_t k = 0; k < r.state.size(); ++k) outs.push_back(fmt::format("state_{}", k));
  auto want = numpy_reference(c.merge.empty() ? c.cell : "bidirectional", arrays,
                              json_options(c.o, c.cell, c.merge), outs);
  check_close(plan.fetch(r.output).to(DType::f64), want.at("y"), 1e-5);
  for (size_t k = 0; k < r.state.size(); ++k) {
    INFO("state ", k);
    check_close(plan.fetch(r.state[k]).to(DType::f64), want.at(outs[k + 1]), 1e-5);
  }
}

} // namespace

// -------------------------------------------------------- recurrent layers

TEST_CASE("Layers.RecurrentNamesAreKerasStyle") {
  Graph g;
  Value x = input(g, "x", {2, 3, 4});
  L::LSTM a(5), b(5, {.return_sequences = true});
  L::GRU gru(3);
  L::SimpleRNN rnn(2);
  a(x);
  b(x);
  gru(x);
  rnn(x);
  CHECK(a.name() == "lstm");
  CHECK(b.name() == "lstm_1");
  CHECK(gru.name() == "gru");
  CHECK(rnn.name() == "simple_rnn");
  L::Bidirectional bi(L::LSTM(2));
  bi(x);
  CHECK(bi.name() == "bidirectional");
  // Keras: the wrapped layer's name ("lstm_2": it takes one, as Keras' LSTM(2) does), prefixed
  CHECK(bi.forward_layer().name() == "forward_lstm_2");
  CHECK(bi.backward_layer().path() == "bidirectional/backward_lstm_2");
  L::Bidirectional bi2(L::GRU(2, {.name = "enc"}));
  bi2(x);
  CHECK(bi2.name() == "bidirectional_1");
  const std::vector<std::string> want = {
      "lstm/kernel", "lstm/recurrent_kernel", "lstm/bias",
      "lstm_1/kernel", "lstm_1/recurrent_kernel", "lstm_1/bias",
      "gru/kernel", "gru/recurrent_kernel", "gru/bias",
      "simple_rnn/kernel", "simple_rnn/recurrent_kernel", "simple_rnn/bias",
      "bidirectional/forward_lstm_2/kernel", "bidirectional/forward_lstm_2/recurrent_kernel",
      "bidirectional/forward_lstm_2/bias", "bidirectional/backward_lstm_2/kernel",
      "bidirectional/backward_lstm_2/recurrent_kernel", "bidirectional/backward_lstm_2/bias",
      "bidirectional_1/forward_enc/kernel", "bidirectional_1/forward_enc/recurrent_kernel",
      "bidirectional_1/forward_enc/bias", "bidirectional_1/backward_enc/kernel",
      "bidirectional_1/backward_enc/recurrent_kernel", "bidirectional_1/backward_enc/bias"};
  CHECK(param_names(g) == want);
  CHECK(g.node(g.at("gru/bias")).shape == Shape{2, 9}); // reset_after: (2, 3 units)
  CHECK(g.node(g.at("lstm/kernel")).shape == Shape{4, 20});
}

TEST_CASE("Layers.RecurrentLayersShareWeights") {
  Graph g;
  L::LSTM lstm(2);
  lstm(input(g, "s1", {2, 5, 4}));
  L::RecurrentOutput r = lstm.call(input(g, "s2", {3, 7, 4}));
  CHECK(g.nodes_of(Op::Variable).size() == 3);
  CHECK(r.output.shape() == Shape{3, 2});
  REQUIRE(r.state.size() == 2); // h, c
  CHECK(r.state[0].id() == r.output.id());
  Graph other;
  CHECK_THROWS_AS(lstm(input(other, "z", {2, 5, 4})), std::logic_error);
}

TEST_CASE("Layers.KerasParameterCountsRecurrent") {
  Graph g;
  L::LSTM l1(128, {.return_sequences = true}), l2(128);
  Value h = l1(input(g, "x50", {2, 3, 50}));
  l2(h);
  CHECK(count_params(g, "lstm").trainable == 4 * (128 * (50 + 128) + 128)); // 91,648
  CHECK(count_params(g, "lstm").trainable == 91648);
  CHECK(count_params(g, "lstm_1").trainable == 4 * (128 * (128 + 128) + 128)); // 131,584
  CHECK(count_params(g, "lstm_1").trainable == 131584);
  L::Bidirectional bi(L::LSTM(32));
  bi(input(g, "x37", {2, 3, 37}));
  CHECK(count_params(g, "bidirectional").trainable == 2 * 4 * (32 * (37 + 32) + 32)); // 17,920
  CHECK(count_params(g, "bidirectional").trainable == 17920);
  L::GRU gru(128);
  gru(input(g, "x196", {2, 3, 196}));
  // kernel 196 x 384, recurrent 128 x 384, bias 2 x 384 (reset_after)
  CHECK(count_params(g, "gru").trainable == 3 * 128 * (196 + 128) + 2 * 3 * 128); // 125,184
  CHECK(count_params(g, "gru").trainable == 125184);
  L::GRU gru_before(128, {.reset_after = false});
  gru_before(input(g, "y196", {2, 3, 196}));
  CHECK(count_params(g, "gru_1").trainable == 3 * (128 * (196 + 128) + 128)); // 124,800
  L::SimpleRNN rnn(10);
  rnn(input(g, "x7", {1, 2, 7}));
  CHECK(count_params(g, "simple_rnn").trainable == 10 * (7 + 10) + 10); // 180
  L::LSTM frozen(4, {.trainable = false});
  frozen(input(g, "x3", {1, 2, 3}));
  CHECK(count_params(g, "lstm_3").non_trainable == 4 * (4 * (3 + 4) + 4)); // 128 ("lstm_2": bidirectional's)
}

TEST_CASE("Layers.RecurrentBadInputShapesNameTheLayer") {
  Graph g;
  Value v = input(g, "v", {2, 4});
  Value s = input(g, "s", {2, 3, 4});
  L::LSTM lstm(3);
  std::string msg = error_of<std::invalid_argument>([&] { lstm(v); });
  CHECK(msg.find("LSTM 'lstm'") != std::string::npos);
  CHECK(msg.find("'v'") != std::string::npos);
  CHECK(msg.find("(2, 4)") != std::string::npos);
  CHECK(msg.find("tests/test_layers.cpp:") != std::string::npos);
  lstm(s);
  msg = error_of<std::invalid_argument>([&] { lstm(input(g, "s5", {2, 3, 5})); });
  CHECK(msg.find("built for 4 input features") != std::string::npos);
  msg = error_of<std::invalid_argument>([&] { lstm.call(s, {input(g, "h0", {2, 3})}); });
  CHECK(msg.find("1 tensors, the layer has 2 states") != std::string::npos);
  msg = error_of<std::invalid_argument>([&] { lstm.call(s, {input(g, "h1", {2, 2}), input(g, "c1", {2, 3})}); });
  CHECK(msg.find("'h1' has shape (2, 2)") != std::string::npos);
  L::GRU gru(2);
  Value bad_mask = L::with_mask(input(g, "s2", {2, 3, 4}), input(g, "m", {2, 4}));
  msg = error_of<std::invalid_argument>([&] { gru(bad_mask); });
  CHECK(msg.find("GRU 'gru'") != std::string::npos);
  CHECK(msg.find("its mask 'm' is (2, 4)") != std::string::npos);
  L::Bidirectional bi(L::GRU(2));
  msg = error_of<std::invalid_argument>([&] { bi(v); });
  CHECK(msg.find("Bidirectional 'bidirectional'") != std::string::npos);
  CHECK_THROWS_AS(L::Bidirectional(L::LSTM(2), {.merge_mode = "max"}), std::invalid_argument);
  CHECK_THROWS_AS(L::GRU(0), std::invalid_argument);
}

TEST_CASE("Layers.GradcheckRecurrent") {
  for (const std::string cell : {"simple_rnn", "lstm", "gru"})
    for (bool reset_after : {true, false})
      for (bool masked : {false, true}) {
        if (cell != "gru" && !reset_after) continue;
        CAPTURE(cell);
        CAPTURE(reset_after);
        CAPTURE(masked);
        Graph g;
        Value x = input(g, "x", {2, 4, 3});
        std::map<std::string, Tensor> values;
        if (masked) {
          L::with_mask(x, input(g, "mask", {2, 4}));
          values["mask"] = vals({2, 4}, {1, 1, 0, 0, 0, 1, 1, 0});
        }
        Value h0 = input(g, "h0", {2, 2});
        auto layer = make_rnn(cell, 2, {.return_sequences = true, .reset_after = reset_after});
        std::vector<Value> init{h0};
        if (cell == "lstm") init.push_back(input(g, "c0", {2, 2}));
        L::RecurrentOutput r = layer->call(x, init);
        std::vector<Value> wrt = params_of(g, cell);
        wrt.push_back(x);
        wrt.push_back(h0);
        check_gradients(g, concat({reshape(r.output, {2, 8}), r.state.back()}, 1), wrt, values);
      }
}

TEST_CASE("Layers.GradcheckBidirectional") {
  for (bool masked : {false, true}) {
    CAPTURE(masked);
    Graph g;
    Value x = input(g, "x", {2, 3, 3});
    std::map<std::string, Tensor> values;
    if (masked) {
      L::with_mask(x, input(g, "mask", {2, 3}));
      values["mask"] = vals({2, 3}, {1, 1, 0, 1, 0, 0});
    }
    L::Bidirectional bi(L::LSTM(2, {.return_sequences = true}), {.merge_mode = masked ? "ave" : "concat"});
    Value y = bi(x);
    std::vector<Value> wrt = params_of(g, "bidirectional");
    REQUIRE(wrt.size() == 6);
    wrt.push_back(x);
    check_gradients(g, y, wrt, values);
  }
}

TEST_CASE("Layers.LSTMMatchesNumpyKeras") {
  compare_recurrent({"lstm", {.return_sequences = true}});
  compare_recurrent({"lstm", {.return_sequences = true}, true, true}); // mask, initial state
  compare_recurrent({"lstm", {.go_backwards = true, .recurrent_activation = "hard_sigmoid"}, true});
  compare_recurrent({"lstm", {.activation = "relu", .use_bias = false, .unit_forget_bias = false}});
}

TEST_CASE("Layers.GRUMatchesNumpyKeras") {
  for (bool reset_after : {true, false}) {
    CAPTURE(reset_after);
    compare_recurrent({"gru", {.return_sequences = true, .reset_after = reset_after}});
    compare_recurrent({"gru", {.return_sequences = true, .reset_after = reset_after}, true, true});
    compare_recurrent({"gru", {.go_backwards = true, .reset_after = reset_after}, true});
    compare_recurrent({"gru", {.use_bias = false, .reset_after = reset_after}});
  }
}

TEST_CASE("Layers.SimpleRNNMatchesNumpyKeras") {
  compare_recurrent({"simple_rnn", {.return_sequences = true}, true});
  compare_recurrent({"simple_rnn", {.activation = "relu"}, false, true});
}

TEST_CASE("Layers.BidirectionalMatchesNumpyKeras") {
  compare_recurrent({"lstm", {.return_sequences = true}, false, false, "concat"});
  compare_recurrent({"lstm", {.return_sequences = true}, true, false, "concat"}); // zeros at masked steps
  compare_recurrent({"gru", {}, true, true, "sum"});
  compare_recurrent({"gru", {.return_sequences = true, .reset_after = false}, false, true, "mul"});
  compare_recurrent({"simple_rnn", {.return_sequences = true}, true, false, "ave"});
}

TEST_CASE("Layers.MasksPropagateThroughRecurrentLayers") {
  Graph g;
  Value ids = input(g, "ids", {2, 5});
  Value e = L::Embedding(7, 4, {.mask_zero = true})(ids);
  const Value m = L::mask_of(e);
  auto same_mask = [&](const Value& v) { return L::mask_of(v) && L::mask_of(v).id() == m.id(); };
  CHECK(same_mask(L::LSTM(3, {.return_sequences = true})(e)));
  CHECK(same_mask(L::GRU(3, {.return_sequences = true, .go_backwards = true})(e)));
  CHECK(same_mask(L::SimpleRNN(3, {.return_sequences = true})(e)));
  CHECK(same_mask(L::Bidirectional(L::LSTM(3, {.return_sequences = true}))(e)));
  CHECK(!L::mask_of(L::LSTM(3)(e))); // the time axis is gone
  CHECK(!L::mask_of(L::Bidirectional(L::GRU(3))(e)));
}

TEST_CASE("Layers.MaskedStackedLSTMGivesTheUnpaddedFinalState") {
  // Embedding(mask_zero) -> LSTM(return_sequences) -> LSTM: every sentence of
  // length 5; padded to 9 steps the final h is the unpadded one, bitwise
  // (per-step products of equal shapes feed every real step, and masked
  // steps carry the state exactly).
  const std::vector<std::vector<int>> sentences{{3, 1, 4, 1, 5}, {9, 2, 6, 5, 3}, {5, 8, 9, 7, 9}};
  ParamStore store;
  auto final_h = [&](int64_t T) {
    Graph g;
    Value ids = input(g, "ids", {3, T});
    L::LSTM top(4);
    Value seq = L::LSTM(6, {.return_sequences = true})(L::Embedding(10, 5, {.mask_zero = true})(ids));
    Value h = top(seq);
    Plan plan(g, store, {h}, {}, {DType::f32, 11});
    plan.feed("ids", padded_ids(sentences, T));
    plan.run();
    return plan.fetch(h);
  };
  Tensor unpadded = final_h(5), padded = final_h(9);
  REQUIRE(unpadded.shape() == padded.shape());
  for (int64_t i = 0; i < unpadded.size(); ++i) CHECK(unpadded.at(i) == padded.at(i));
}

TEST_CASE("Layers.MaskedStepsOutputThePreviousOutput") {
  // tf.keras 2.x (zero_output_for_mask False): the output at a masked step is
  // the previous output and the final output is the last real step's;
  // inside Bidirectional(return_sequences) masked steps output zeros.
  Graph g;
  Value ids = input(g, "ids", {2, 6});
  Value e = L::Embedding(10, 3, {.mask_zero = true})(ids);
  Value seq = L::LSTM(4, {.return_sequences = true, .name = "enc"})(e);
  Value last = L::LSTM(4, {.name = "enc"})(e); // the same weights, the last output only
  Value bi = L::Bidirectional(L::GRU(2, {.return_sequences = true}))(e);
  CHECK(g.nodes_of(Op::Variable).size() == 1 + 3 + 6);
  ParamStore store;
  Plan plan(g, store, {seq, last, bi}, {}, {DType::f32, 2});
  plan.feed("ids", padded_ids({{4, 2, 7}, {1, 5, 5, 8, 2}}, 6));
  plan.run();
  Tensor s = plan.fetch(seq), h = plan.fetch(last), b = plan.fetch(bi);
  const int64_t len[2] = {3, 5};
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t j = 0; j < 4; ++j) {
      for (int64_t t = len[r]; t < 6; ++t) CHECK(s({r, t, j}) == s({r, len[r] - 1, j}));
      CHECK(h({r, j}) == s({r, len[r] - 1, j}));
      CHECK(s({r, 0, j}) != 0);
    }
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t t = 0; t < 6; ++t)
      for (int64_t j = 0; j < 4; ++j) {
        CAPTURE(t);
        if (t >= len[r]) CHECK(b({r, t, j}) == 0);
        else CHECK(b({r, t, j}) != 0);
      }
}

TEST_CASE("Layers.MaskedOutputsIndependentOfPadding") {
  // the same sentences padded to 10, 13 and 20 steps: at real steps the
  // outputs are equal (==), because every product feeding them has the same
  // shape whatever the padding (per-step input projections with a mask)
  const std::vector<std::vector<int>> sentences{{3, 1, 4, 1, 5, 9, 2}, {6, 5}, {3, 5, 8, 9, 7, 9, 3, 2, 3, 8}, {4}};
  ParamStore store;
  std::map<int64_t, std::array<Tensor, 3>> got;
  for (int64_t T : {10, 13, 20}) {
    Graph g;
    Value ids = input(g, "ids", {4, T});
    Value e = L::Embedding(10, 6, {.mask_zero = true})(ids);
    Value a = L::LSTM(5, {.return_sequences = true})(e);
    Value b = L::Bidirectional(L::GRU(4, {.return_sequences = true}))(e);
    Value c = L::LSTM(3, {.return_sequences = true})(a); // stacked: the mask rides along
    Plan plan(g, store, {a, b, c}, {}, {DType::f32, 5});
    plan.feed("ids", padded_ids(sentences, T));
    plan.run();
    got[T] = {plan.fetch(a), plan.fetch(b), plan.fetch(c)};
  }
  for (int64_t T : {13, 20})
    for (size_t k = 0; k < 3; ++k) {
      const Tensor &ref = got[10][k], &t = got[T][k];
      const int64_t units = ref.dim(2);
      int64_t compared = 0;
      for (int64_t s = 0; s < 4; ++s)
        for (int64_t step = 0; step < int64_t(sentences[size_t(s)].size()); ++step)
          for (int64_t j = 0; j < units; ++j) {
            CAPTURE(T);
            CAPTURE(k);
            CHECK(t({s, step, j}) == ref({s, step, j}));
            ++compared;
          }
      CHECK(compared == 20 * units);
    }
}

TEST_CASE("Layers.BidirectionalDirectionsAreIndependentBranches") {
  for (bool masked : {false, true}) {
    CAPTURE(masked);
    Graph g;
    Value x = input(g, "x", {2, 5, 3});
    if (masked) L::with_mask(x, input(g, "mask", {2, 5}));
    L::Bidirectional bi(L::LSTM(4, {.return_sequences = true}));
    Value y = bi(x);
    std::vector<NodeId> fwd, bwd;
    for (NodeId id = 0; id < g.size(); ++id) {
      const std::string& n = g.node(id).name;
      if (n.starts_with("bidirectional/forward_lstm/")) fwd.push_back(id);
      if (n.starts_with("bidirectional/backward_lstm/")) bwd.push_back(id);
    }
    REQUIRE(fwd.size() > 20);
    REQUIRE(bwd.size() == fwd.size());
    const std::vector<char> needs_f = g.needed_by(fwd), needs_b = g.needed_by(bwd);
    for (NodeId id : bwd) CHECK(!needs_f[id]); // no path from a backward node to a forward one
    for (NodeId id : fwd) CHECK(!needs_b[id]);
    // the output needs both
    const std::vector<char> needs_y = g.needed_by({y.id()});
    CHECK(needs_y[g.at("bidirectional/forward_lstm/kernel")]);
    CHECK(needs_y[g.at("bidirectional/backward_lstm/kernel")]);
    // one input product per direction without a mask, one per step with one
    int products = 0;
    for (NodeId id : g.nodes_of(Op::MatMul))
      products += g.node(g.node(id).inputs[1]).name.ends_with("/kernel");
    CHECK(products == (masked ? 2 * 5 : 2));
  }
}

// ------------------------------------------------- conv and batchnorm layers

TEST_CASE("Layers.Conv1DAndBatchNormalizationNamesAndCounts") {
  Graph g;
  L::Conv1D conv(196, 15, {.strides = 4});
  Value y = conv(input(g, "spec", {1, 40, 101}));
  CHECK(y.shape() == Shape{1, 7, 196}); // (40 - 15) / 4 + 1
  CHECK(g.node(g.at("conv1d/kernel")).shape == Shape{15, 101, 196});
  CHECK(count_params(g, "conv1d").trainable == 15 * 101 * 196 + 196); // 297,136
  CHECK(count_params(g, "conv1d").trainable == 297136);
  L::BatchNormalization bn;
  bn(input(g, "c196", {1, 8, 196}));
  Counts c = count_params(g, "batch_normalization");
  CHECK(c.trainable == 2 * 196);     // gamma, beta: 392
  CHECK(c.non_trainable == 2 * 196); // moving mean and variance: 392
  CHECK(c.trainable + c.non_trainable == 784);
  CHECK(param_names(g) == std::vector<std::string>{"conv1d/kernel", "conv1d/bias", "batch_normalization/gamma",
                                                   "batch_normalization/beta", "batch_normalization/moving_mean",
                                                   "batch_normalization/moving_variance"});
  L::Conv1D(3, 4, {.padding = "same", .use_bias = false})(input(g, "x", {1, 9, 2}));
  CHECK(count_params(g, "conv1d_1").trainable == 4 * 2 * 3); // 24
}

TEST_CASE("Layers.Conv1DAndBatchNormalizationBadInputs") {
  Graph g;
  Value s = input(g, "s", {2, 3, 4});
  L::Conv1D conv(2, 5);
  std::string msg = error_of<std::invalid_argument>([&] { conv(s); });
  CHECK(msg.find("Conv1D 'conv1d'") != std::string::npos);
  CHECK(msg.find("'s' has shape (2, 3, 4)") != std::string::npos);
  CHECK(msg.find("kernel_size = 5") != std::string::npos);
  L::BatchNormalization bn({.axis = 3});
  msg = error_of<std::invalid_argument>([&] { bn(s); });
  CHECK(msg.find("BatchNormalization 'batch_normalization'") != std::string::npos);
  CHECK_THROWS_AS(L::Conv1D(2, 3, {.padding = "causal"}), std::invalid_argument);
  CHECK_THROWS_AS(L::BatchNormalization({.epsilon = 0}), std::invalid_argument);
  // Conv1D does not support masks: it refuses one, as Keras does
  Value masked = L::with_mask(input(g, "m_in", {2, 6, 4}), input(g, "m", {2, 6}));
  msg = error_of<std::invalid_argument>([&] { L::Conv1D(2, 2)(masked); });
  CHECK(msg.find("does not support masking") != std::string::npos);
}

TEST_CASE("Layers.GradcheckConv1DAndBatchNormalization") {
  {
    Graph g;
    Value x = input(g, "x", {2, 5, 3});
    Value y = L::Conv1D(2, 3, {.strides = 2, .padding = "same", .activation = "tanh"})(x);
    check_gradients(g, y, {x, Value(g, g.at("conv1d/kernel")), Value(g, g.at("conv1d/bias"))});
  }
  for (int64_t axis : {-1, 1}) {
    CAPTURE(axis);
    Graph g;
    g.training = true;
    Value x = input(g, "x", {3, 2, 4});
    Value y = L::BatchNormalization({.axis = axis})(x);
    check_gradients(g, y, {x, Value(g, g.at("batch_normalization/gamma")),
                           Value(g, g.at("batch_normalization/beta"))});
  }
}

TEST_CASE("Layers.Conv1DMatchesNumpyKeras") {
  struct Case {
    int64_t strides;
    const char* padding;
    const char* activation;
  };
  for (Case c : {Case{1, "valid", "linear"}, Case{2, "same", "relu"}, Case{3, "valid", "tanh"},
                 Case{4, "same", "linear"}}) {
    CAPTURE(c.strides);
    CAPTURE(c.padding);
    Graph g;
    Value x = input(g, "x", {2, 11, 3});
    Value y = L::Conv1D(4, 3, {.strides = c.strides, .padding = c.padding, .activation = c.activation})(x);
    std::map<std::string, Tensor> arrays{{"x", rnd({2, 11, 3}, 4, 1.0)}};
    ParamStore store;
    random_weights(g, store, arrays, 6);
    Plan plan(g, store, {y}, {}, {DType::f32, 0});
    plan.feed("x", arrays.at("x"));
    plan.run();
    auto want = numpy_reference("conv1d", arrays,
                                fmt::format(R"({{"strides": {}, "padding": "{}", "activation": "{}"}})",
                                            c.strides, c.padding, c.activation), {"y"});
    check_close(plan.fetch(y).to(DType::f64), want.at("y"), 1e-5);
  }
}

TEST_CASE("Layers.BatchNormalizationMatchesNumpyKeras") {
  struct Case {
    bool training;
    int64_t axis;
  };
  for (Case c : {Case{true, -1}, Case{false, -1}, Case{true, 1}, Case{false, 1}}) {
    const bool training = c.training;
    CAPTURE(training);
    CAPTURE(c.axis);
    Graph g;
    g.training = training;
    // channels: 3 on the last axis, or the 3 steps of axis 1
    Value x = input(g, "x", {4, 3, 3});
    Value y = L::BatchNormalization({.axis = c.axis, .momentum = 0.9})(x);
    CHECK(g.state_updates.size() == (training ? 2u : 0u));
    std::map<std::string, Tensor> arrays{{"x", rnd({4, 3, 3}, 8 + uint64_t(c.axis + 1), 2.0)}};
    ParamStore store;
    random_weights(g, store, arrays, 9);
    Tensor mv = rnd({3}, 10, 0.4);
    for (int64_t i = 0; i < 3; ++i) mv.set(i, 1.0 + mv.at(i)); // a variance > 0
    store.set("batch_normalization/moving_variance", mv);
    arrays["moving_variance"] = mv;
    std::vector<NodeId> fetch{y.id()};
    Plan plan(g, store, fetch, g.state_updates, {DType::f32, 0});
    plan.feed("x", arrays.at("x"));
    plan.run();
    auto want = numpy_reference(
        "batch_normalization", arrays,
        fmt::format(R"({{"training": {}, "axis": {}, "momentum": 0.9, "epsilon": 0.001}})", training, c.axis),
        training ? std::vector<std::string>{"y", "moving_mean_new", "moving_variance_new"}
                 : std::vector<std::string>{"y"});
    check_close(plan.fetch(y).to(DType::f64), want.at("y"), 1e-5);
    if (training) {
      check_close(store.at("batch_normalization/moving_mean").to(DType::f64), want.at("moving_mean_new"), 1e-5);
      check_close(store.at("batch_normalization/moving_variance").to(DType::f64),
                  want.at("moving_variance_new"), 1e-5);
    }
  }
}

TEST_CASE("Layers.FrozenBatchNormalizationRunsAsAtInference") {
  Graph g;
  g.training = true;
  Value x = input(g, "x", {4, 3});
  L::BatchNormalization frozen({.trainable = false}), bn;
  Value ids = input(g, "ids", {4, 2});
  Value e = L::Embedding(5, 3, {.mask_zero = true})(ids);
  bn(frozen(x));
  CHECK(L::mask_of(bn(e)).id() == L::mask_of(e).id()); // the mask passes on
  CHECK(g.state_updates.size() == 4); // bn's two, twice; none for the frozen one
  std::vector<std::string> names;
  for (const Value& p : all_params(g)) names.push_back(p.name());
  CHECK(names == std::vector<std::string>{"embedding/embeddings", "batch_normalization_1/gamma",
                                          "batch_normalization_1/beta"});
  CHECK(count_params(g, "batch_normalization").non_trainable == 4 * 3);

  // the moving statistics even in training
  Graph g2;
  g2.training = true;
  Value x2 = input(g2, "x", {2, 2});
  Value y2 = L::BatchNormalization({.trainable = false})(x2);
  CHECK(g2.state_updates.empty());
  ParamStore store;
  store.set("batch_normalization/moving_mean", Tensor::from({2}, {1, -1}, DType::f64));
  store.set("batch_normalization/moving_variance", Tensor::from({2}, {4, 1}, DType::f64));
  Plan plan(g2, store, {y2}, {}, {DType::f64, 0});
  plan.feed("x", vals({2, 2}, {3, 0, 1, 1}));
  plan.run();
  const double e2 = 1e-3;
  check_close(plan.fetch(y2),
              vals({2, 2}, {2 / std::sqrt(4 + e2), 1 / std::sqrt(1 + e2), 0, 2 / std::sqrt(1 + e2)}), 1e-12);
}
