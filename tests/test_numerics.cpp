// The numeric watchdog: a training step whose loss or gradients are not
// finite stops fit before its updates, the step is run again node by node,
// and the error names the step and the first node that computed a NaN or an
// inf (its name, op, where the model built it, why); the last good
// checkpoint stays as it was. --check-numerics checks every node of every
// step and finds the same node. Vector commands say why a cosine is undefined.
#include "graph/checkpoint.hpp"
#include "models/train/fit.hpp"
#include "ops/keras.hpp"
#include "ops/ops.hpp"
#include "tests/cli_helpers.hpp"

#include <cmath>
#include <fmt/format.h>
#include <limits>

using namespace sg;
using namespace sg::test;
namespace fs = std::filesystem;

namespace {

// y = x0 - 2 x1, 48 examples (3 batches of 16); the poison-th batch() call puts inf at x (1, 1).
struct Linear : fit::Dataset {
  mutable int64_t calls = 0;
  int64_t poison = -1;
  int64_t size() const override { return 48; }
  uint64_t fingerprint() const override { return 5; }
  fit::Feeds batch(std::span<const int64_t> idx) const override {
    const int64_t B = int64_t(idx.size());
    Tensor x({B, 2}, DType::f32), y({B, 1}, DType::f32);
    for (int64_t b = 0; b < B; ++b) {
      const double i = double(idx[size_t(b)]), x0 = std::sin(i), x1 = std::cos(2 * i);
      x.set(2 * b, x0);
      x.set(2 * b + 1, x1);
      y.set(b, x0 - 2 * x1);
    }
    if (++calls == poison) x.set(3, std::numeric_limits<double>::infinity());
    return {{"x", x}, {"y", y}};
  }
};

fit::Spec regression(double lr) {
  return {
      .name = "nan",
      .dtype = DType::f32,
      .inputs = {{"x", {fit::batch, fit::dim(2)}}},
      .targets = {{"y", {fit::batch, fit::dim(1)}}},
      .build =
          [](fit::Net& n) {
            Value y = layers::Dense(1)(layers::Dense(8, {.activation = "tanh"})(n.in("x")));
            n.outputs["y"] = y;
            if (n.mode == fit::Mode::predict) return;
            Value d = (y - n.in("y")).named("diff");
            n.loss = mean((d * d).named("squared")).named("loss");
          },
      .optimizer = fit::sgd({.lr = lr}),
  };
}

struct Stopped {
  std::string what, node, op; // "" if the run ended well
};

struct CheckNumerics {
  explicit CheckNumerics(bool on) { set_check_numerics(on); }
  ~CheckNumerics() { set_check_numerics(false); }
};

// Trains `s` on `data` to `epochs` epochs, checkpoint `ck` after every one; how it stopped.
Stopped train_until(const fit::Spec& s, const Linear& data, const std::string& ck, int64_t epochs, bool resume,
                    bool check, int64_t batch = 16) {
  CheckNumerics c(check);
  ParamStore params;
  train::Trainer tr({.model = "nan", .unit = "epoch", .steps = epochs, .save_every = 1, .checkpoint = ck,
                     .resume = resume, .quiet = true, .seed = 1, .metrics = fit::fit_columns(s, false),
                     .part = "batch", .out = train::no_output()},
                    params);
  fit::Network net(s, params, 1);
  try {
    fit::fit(net, data, tr, 1, {.batch_size = batch});
  } catch (const NumericError& e) {
    return {e.what(), e.name, e.op};
  }
  return {};
}

} // namespace

TEST_CASE("Numerics.FirstNonFinite") {
  std::vector<float> f(2000, 1.5f);
  std::vector<double> d(1500, -2.0);
  CHECK(first_non_finite(f.data(), int64_t(f.size())) == -1);
  CHECK(first_non_finite(d.data(), int64_t(d.size())) == -1);
  f[1500] = std::numeric_limits<float>::quiet_NaN();
  f[1700] = std::numeric_limits<float>::infinity();
  d[0] = -std::numeric_limits<double>::infinity();
  CHECK(first_non_finite(f.data(), int64_t(f.size())) == 1500);
  CHECK(first_non_finite(f.data() + 1501, 499) == 199);
  CHECK(first_non_finite(d.data(), int64_t(d.size())) == 0);
  d[0] = std::numeric_limits<double>::max();
  CHECK(first_non_finite(d.data(), int64_t(d.size())) == -1);
  CHECK(first_non_finite(f.data(), 0) == -1);
}

// Every special at every position of a buffer that spans block boundaries
// (512 elements a block), next to the finite values nearest to them.
template <class T> void first_non_finite_everywhere() {
  using L = std::numeric_limits<T>;
  const std::vector<T> finite{L::max(), -L::max(), L::denorm_min(), -L::min(), T(0), -T(0)};
  const std::vector<T> bad{L::infinity(), -L::infinity(), L::quiet_NaN(), -L::quiet_NaN(), L::signaling_NaN()};
  const int64_t n = 1100;
  std::vector<T> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = finite[size_t(i) % finite.size()];
  REQUIRE(first_non_finite(v.data(), n) == -1);
  for (const T b : bad)
    for (int64_t at : {int64_t(0), int64_t(1), int64_t(510), int64_t(511), int64_t(512), int64_t(513), int64_t(777),
                       int64_t(1023), int64_t(1024), n - 1}) {
      CAPTURE(at);
      std::vector<T> w = v;
      w[size_t(at)] = b;
      CHECK(first_non_finite(w.data(), n) == at);
      CHECK(first_non_finite(w.data(), at) == -1); // just before it
      if (at + 5 < n) {
        w[size_t(at + 5)] = b; // a second one later: the first is found
        CHECK(first_non_finite(w.data(), n) == at);
      }
    }
}

TEST_CASE("Numerics.FirstNonFiniteAtEveryBlockPosition") {
  first_non_finite_everywhere<float>();
  first_non_finite_everywhere<double>();
}

TEST_CASE("Numerics.PlanNamesTheFirstNonFiniteNodeAndWhy") {
  Graph g;
  Value x = input(g, "x", {4});
  Value b = input(g, "b", {4});
  Value y = (log(x).named("log_x") * 2.0).named("twice");
  Value q = (x / b).named("ratio");
  Value out = (y + q).named("out");
  ParamStore ps;
  Plan p(g, ps, std::vector<Value>{out}, {}, {DType::f64});
  p.feed("x", vals({4}, {1, 0, 2, 3}));
  p.feed("b", vals({4}, {1, 1, 0, 1}));
  p.run(); // no checks: -inf and inf flow through
  auto first = p.first_non_finite();
  REQUIRE(first);
  CHECK(first->name == "log_x");
  CHECK(first->op == "log");
  const std::string w = first->what();
  CHECK(has(w, "node 'log_x' (log, tests/test_numerics.cpp:"));
  CHECK(has(w, "(4,) is -inf at element 1 (1 of its 4 values are not finite)"));
  CHECK(has(w, "from 'x' (input) 0: the log of 0"));
  p.feed("x", vals({4}, {1, 1, 2, 3}));
  p.run();
  first = p.first_non_finite();
  REQUIRE(first);
  CHECK(first->name == "ratio");
  CHECK(has(first->what(), "is inf at element 2"));
  CHECK(has(first->what(), "from 'x' (input) 2, 'b' (input) 0: division by zero"));
  p.feed("x", vals({4}, {1, 1, 0, 3}));
  p.run();
  CHECK(has(p.first_non_finite()->what(), "is -inf at element 2")); // log(0) comes first
  p.feed("x", vals({4}, {1, 1, 1, 3}));
  p.run();
  CHECK_FALSE(p.first_non_finite() == std::nullopt);
  p.feed("b", vals({4}, {1, 1, 2, 1}));
  p.run();
  CHECK(p.first_non_finite() == std::nullopt);
  // an input that is not finite is named as such
  p.feed("b", vals({4}, {1, std::nan(""), 2, 1}));
  p.run();
  first = p.first_non_finite();
  REQUIRE(first);
  CHECK(first->op == "input");
  CHECK(has(first->what(), "input 'b' (4,) is nan at element 1 (1 of its 4 values are not finite): the data fed"));
  // --check-numerics: the run itself stops at the node
  p.feed("b", vals({4}, {1, 1, 2, 1}));
  p.feed("x", vals({4}, {1, 1, -1, 3}));
  CheckNumerics on(true);
  const std::string e = error_of<NumericError>([&] { p.run(); });
  CHECK(has(e, "node 'log_x' (log"));
  CHECK(has(e, "is nan at element 2"));
  CHECK(has(e, "the log of a negative number"));
}

TEST_CASE("Numerics.InfInAnInputStopsFitAtTheStepAndLeavesTheCheckpoint") {
  TempDir dir;
  const fit::Spec s = regression(0.05);
  const std::string ck = dir / "nan.ckpt";
  Linear clean;
  REQUIRE(train_until(s, clean, ck, 2, false, false).what.empty());
  const std::string before = read_file(ck);
  const std::string copy = dir / "copy.ckpt";
  fs::copy_file(ck, copy);
  for (bool check : {false, true}) {
    CAPTURE(check);
    const std::string& path = check ? copy : ck;
    Linear poisoned;
    poisoned.poison = 2; // the resumed run's second batch: epoch 3, batch 2
    const Stopped st = train_until(s, poisoned, path, 5, true, check);
    INFO(st.what);
    CHECK(st.node == "x");
    CHECK(st.op == "input");
    CHECK(has(st.what, "nan: epoch 3 of 5, batch 2 of 3: "));
    CHECK(has(st.what, check ? "--check-numerics: a value is not finite" : "the gradient"));
    CHECK(has(st.what, "the first non-finite value (the step run again node by node): input 'x' (16, 2) is inf at "
                       "element (1, 1) (1 of its 32 values are not finite): the data fed to the graph"));
    CHECK(has(st.what, fmt::format("training stopped; the checkpoint '{}' is left as it was: 2 epochs done, the last "
                                   "good state", path)));
    CHECK(read_file(path) == before); // byte for byte
    CHECK(load_checkpoint(path, "nan").meta.at("step") == "2");
  }
}

TEST_CASE("Numerics.AnOverflowIsNamedAndCheckNumericsFindsTheSameNode") {
  TempDir dir;
  const fit::Spec s = regression(1e30); // finite weights of ~1e30 after a step: their squared error overflows float32
  std::string node[2];
  for (bool check : {false, true}) {
    CAPTURE(check);
    const std::string ck = dir / fmt::format("o{}.ckpt", check);
    Linear data;
    const Stopped st = train_until(s, data, ck, 3, false, check);
    INFO(st.what);
    CHECK(has(st.what, "nan: epoch 1 of 3, batch 2 of 3: "));
    CHECK(has(st.what, check ? "--check-numerics: a value is not finite" : "the loss is not finite"));
    CHECK(has(st.what, "node 'squared' (mul, ops/elementwise.cpp:")); // (operator* has no call site)
    CHECK(has(st.what, "an overflow: beyond float32's largest value, 3.4e+38"));
    CHECK(has(st.what, fmt::format("the checkpoint '{}' was not written", ck)));
    CHECK_FALSE(fs::exists(ck));
    node[check] = st.node + " " + st.op;
  }
  CHECK(node[0] == "squared mul");
  CHECK(node[1] == node[0]);
}

TEST_CASE("Numerics.AnUpdateThatWritesInfIsNamed") {
  // A learning rate beyond float32: the update writes inf from finite gradients.
  TempDir dir;
  const fit::Spec s = regression(1e39);
  Linear data;
  const Stopped plain = train_until(s, data, dir / "a.ckpt", 3, false, false);
  INFO(plain.what);
  // without per-node checks, the next step finds the parameter so, and names the update that wrote it
  CHECK(has(plain.what, "nan: epoch 1 of 3, batch 2 of 3: "));
  CHECK(plain.op == "variable");
  CHECK(has(plain.what, "before the run (the update 'sgd/"));
  CHECK(has(plain.what, "(apply_sgd, autodiff/optimizers.cpp:"));
  CHECK(has(plain.what, ") of an earlier step wrote it)"));
  // --check-numerics stops at the update itself, in the step it ran
  Linear again;
  const Stopped checked = train_until(s, again, dir / "b.ckpt", 3, false, true);
  INFO(checked.what);
  CHECK(has(checked.what, "nan: epoch 1 of 3, batch 1 of 3: "));
  CHECK(checked.op == "apply_sgd");
  CHECK(has(checked.what, "the first non-finite value: update 'sgd/"));
  CHECK(has(checked.what, " wrote "));
  CHECK(has(checked.what, "inf into '"));
}

TEST_CASE("Numerics.ParametersThatAreNotFiniteAreNeverSaved") {
  // One batch an epoch: the epoch's one step writes inf, then the epoch's checkpoint is due.
  TempDir dir;
  const std::string ck = dir / "p.ckpt";
  Linear data;
  REQUIRE(train_until(regression(0.05), data, ck, 1, false, false, 48).what.empty());
  const std::string before = read_file(ck);
  const Stopped st = train_until(regression(1e39), data, ck, 3, true, false, 48);
  INFO(st.what);
  CHECK(has(st.what, "nan: after epoch 2, '"));
  CHECK(has(st.what, ": an update made it so (the loss and gradients were finite); not saved to '" + ck +
                         "'. --check-numerics finds the step and the node"));
  CHECK(has(st.what, "training stopped; the checkpoint '" + ck + "' is left as it was: 1 epoch done"));
  CHECK(read_file(ck) == before);
}

TEST_CASE("Numerics.GloveWithAHugeLearningRateStops") {
  TempDir dir;
  std::string corpus;
  for (int i = 0; i < 40; ++i) corpus += "the cat sat on the mat and the dog ate the food on the mat\n";
  {
    std::ofstream out(dir / "corpus.txt");
    out << corpus;
  }
  const std::string out = dir / "v.txt", ck = dir / "g.ckpt";
  const Result r = graph_run(fmt::format("glove train --corpus {} --output {} --dim 4 --epochs 5 --min-count 1 "
                                         "--batch-size 16 --lr 1e30 --checkpoint {} --quiet",
                                         dir / "corpus.txt", out, ck));
  INFO(r.out);
  CHECK(r.rc == 1);
  CHECK(has(r.out, "graph-run: error: glove: epoch 1 of 5, batch "));
  CHECK(has(r.out, "the loss is not finite"));
  CHECK(has(r.out, "the first non-finite value (the step run again node by node): node '"));
  CHECK(has(r.out, "an overflow"));
  CHECK(has(r.out, fmt::format("training stopped; the checkpoint '{}' was not written", ck)));
  CHECK_FALSE(fs::exists(out));
  CHECK_FALSE(fs::exists(ck));
}

TEST_CASE("Numerics.CheckNumericsOnARealModel") {
  TempDir dir;
  const Result r = graph_run(fmt::format("jazz train --epochs 2 --check-numerics --quiet --checkpoint {}", dir / "j.ckpt"));
  INFO(r.out);
  CHECK(r.rc == 0);
  const Result plain = graph_run(fmt::format("jazz train --epochs 2 --quiet --checkpoint {}", dir / "k.ckpt"));
  CHECK(plain.rc == 0);
  CHECK(read_file(dir / "j.ckpt") == read_file(dir / "k.ckpt")); // the checks change nothing
  const Result help = graph_run("train jazz --help");
  CHECK(has(help.out, "--check-numerics"));
}

TEST_CASE("Numerics.AZeroVectorHasNoDirection") {
  Result r = graph_run("word_vectors similarity king-king queen");
  CHECK(r.rc == 1);
  CHECK(has(r.out, "graph-run: error: king - king is the zero vector, and a zero vector has no direction: "
                   "cosine_similarity(king - king, queen) is undefined (0 / 0)"));
  CHECK_FALSE(has(r.out, "nan"));
  r = graph_run("word_vectors neighbors queen-queen");
  CHECK(r.rc == 1);
  CHECK(has(r.out, "queen - queen is the zero vector, and a zero vector has no direction: its cosine similarity with "
                   "any word is undefined"));
  r = graph_run("word_vectors bias king --pairs man:man");
  CHECK(r.rc == 1);
  CHECK(has(r.out, "the mean of 1 pair difference(s) is the zero vector, and a zero vector has no direction: the "
                   "gender direction g of --pairs 'man:man' is undefined (0 / 0)"));
  r = graph_run("word_vectors analogy man man boy");
  CHECK(r.rc == 1);
  CHECK(has(r.out, "is not a number: one of its vectors is zero"));
  CHECK(graph_run("word_vectors similarity king queen").rc == 0);
}
