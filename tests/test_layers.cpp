// The Keras layer objects (ops/keras.hpp): names, shared weights, parameter
// counts with Keras's arithmetic, shape errors, gradients, masks, training vs
// inference, and forward values against loops written here.
#include "autodiff/gradcheck.hpp"
#include "autodiff/optimizers.hpp"
#include "graph/random.hpp"
#include "ops/keras.hpp"
#include "tests/helpers.hpp"

#include <array>
#include <cmath>
#include <doctest/doctest.h>

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
