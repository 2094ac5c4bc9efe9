// models/train/fit: sizes read off the feeds, a plan per size, Keras' fit
// semantics (epoch averages, validation columns, callbacks), and the Keras
// layers' training switch (Dropout, BatchNormalization statistics) as fit
// drives it.
#include "models/train/classify.hpp"
#include "models/train/compute.hpp"
#include "models/train/fit.hpp"
#include "models/train/fit_model.hpp"
#include "ops/keras.hpp"
#include "graph/checkpoint.hpp"
#include "tests/cli_helpers.hpp"

#include <fmt/format.h>
#include <sstream>

#include <cmath>
#include <csignal>
#include <cstring>
#include <doctest/doctest.h>

using namespace sg;
using namespace sg::test;

namespace {

// y = 2 x0 - x1 + 0.5, 64 examples; a regression net with BatchNormalization and Dropout.
struct Lines : fit::Dataset {
  int64_t size() const override { return 64; }
  uint64_t fingerprint() const override { return 7; }
  fit::Feeds batch(std::span<const int64_t> idx) const override {
    const int64_t B = int64_t(idx.size());
    Tensor x({B, 2}, DType::f64), y({B, 1}, DType::f64);
    for (int64_t b = 0; b < B; ++b) {
      const double x0 = std::sin(double(idx[size_t(b)])), x1 = std::cos(3.0 * double(idx[size_t(b)]));
      x.set(2 * b, x0);
      x.set(2 * b + 1, x1);
      y.set(b, 2 * x0 - x1 + 0.5);
    }
    return {{"x", x}, {"y", y}};
  }
};

const fit::Spec& spec() {
  static const fit::Spec s{
      .name = "lines",
      .dtype = DType::f64,
      .inputs = {{"x", {fit::batch, fit::dim(2)}}},
      .targets = {{"y", {fit::batch, fit::dim(1)}}},
      .build =
          [](fit::Net& n) {
            // momentum 0.9: the moving statistics catch up within the 210 steps of the test
            Value h = layers::BatchNormalization({.momentum = 0.9})(layers::Dense(8, {.activation = "tanh"})(n.in("x")));
            Value y = layers::Dense(1)(layers::Dropout(0.25)(h));
            n.outputs["y"] = y;
            if (n.mode == fit::Mode::predict) return;
            Value d = y - n.in("y");
            n.loss = mean(d * d);
            n.metrics["mae"] = mean(sqrt(d * d + 1e-12));
          },
      .optimizer = fit::adam({.lr = 0.05}),
      .metrics = {"mae"},
  };
  return s;
}

} // namespace

TEST_CASE("Fit.SizesOfFeeds") {
  const std::vector<fit::InputDecl> d = {{"X", {fit::batch, fit::steps, fit::dim(3)}}, {"m", {fit::batch, fit::steps}}};
  const fit::Sizes s = fit::sizes_of(d, {{"X", Tensor({4, 7, 3})}, {"m", Tensor({4, 7})}});
  CHECK(s.at("batch") == 4);
  CHECK(s.at("steps") == 7);
  CHECK(has(error_of<std::invalid_argument>([&] { fit::sizes_of(d, {{"X", Tensor({4, 7, 2})}, {"m", Tensor({4, 7})}}); }),
                 "input 'X' is (4, 7, 2): axis 2 must be 3"));
  CHECK(has(error_of<std::invalid_argument>([&] { fit::sizes_of(d, {{"X", Tensor({4, 7, 3})}, {"m", Tensor({4, 6})}}); }),
                 "its steps (axis 1) is 6, another input's is 7"));
  CHECK(has(error_of<std::invalid_argument>([&] { fit::sizes_of(d, {{"X", Tensor({4, 7, 3})}}); }),
                 "input 'm' was not fed"));
}

TEST_CASE("Fit.ComputeOnce") {
  // a formula of some tensors, run once: each input declared with the shape it has, outputs by name
  const fit::Feeds r = fit::compute(
      {{"u", Tensor::from({3}, {1, 2, 2}, DType::f64)}, {"m", Tensor::from({2, 3}, {1, 0, 0, 0, 1, 0}, DType::f64)}},
      [](fit::Net& n) {
        n.outputs["norm"] = sqrt(sum(n.in("u") * n.in("u")));
        n.outputs["mu"] = reshape(matmul(n.in("m"), reshape(n.in("u"), {3, 1})), {2});
      },
      DType::f64);
  CHECK(r.size() == 2);
  CHECK(r.at("norm").at(0) == 3.0);
  CHECK(r.at("mu").shape() == Shape{2});
  CHECK(r.at("mu").dtype() == DType::f64);
  CHECK(r.at("mu").at(1) == 2.0);
}

TEST_CASE("Fit.InferenceGraphs") {
  // a Spec without targets and optimizer (a sampling step): its predict graph
  const fit::Spec step{.name = "step",
                       .dtype = DType::f64,
                       .inputs = {{"x", {fit::batch, fit::dim(3)}}, {"h", {fit::batch, fit::dim(2)}}},
                       .build = [](fit::Net& n) { n.outputs["h"] = layers::Dense(2)(n.in("x")) + n.in("h"); }};
  const BuiltGraph b = fit::built_graph(step, {{"x", Tensor({5, 3})}}, {{"batch", 1}}, true);
  REQUIRE(b.outputs.size() == 1); // no loss
  CHECK(b.outputs[0].first == "h");
  CHECK(b.outputs[0].second.shape() == Shape{5, 2}); // the batch read off the given x
  // differentiable w.r.t. the parameters, then the inputs
  std::vector<std::string> wrt;
  for (const Value& v : b.differentiable) wrt.push_back(v.name());
  CHECK(wrt == std::vector<std::string>{"dense/kernel", "dense/bias", "x", "h"});
  const fit::Net n = fit::build(step, {{"batch", 2}});
  CHECK(n.in("x").shape() == Shape{2, 3});
  CHECK(n.outputs.at("h").shape() == Shape{2, 2});

  // a model with a loop of its own gets graph-run's view of its graphs the way fit::model does
  const Model m = fit::with_graphs({.name = "stepper", .summary = "a test"}, {{"step", &step, {{"batch", 1}}}, {"lines", &spec()}});
  CHECK(m.graphs == std::vector<std::string>{"step", "lines"});
  CHECK(m.build("step", {}, false).outputs[0].second.shape() == Shape{1, 2});
  CHECK(m.build("lines", {{"x", Tensor({3, 2})}}, false).outputs.size() == 3); // y, loss, mae
  CHECK(has(error_of<std::invalid_argument>([&] { m.build("nope", {}, false); }),
            "stepper has no graph 'nope'; it has: step, lines"));
}

TEST_CASE("Fit.ConstantInputs") {
  // graph-run's view of a model whose inputs random values cannot stand for
  // (GloVe's indices): its constants, unless the command gives one of them
  const fit::Spec gather_rows{.name = "rows",
                              .inputs = {{"i", {fit::batch}}},
                              .build = [](fit::Net& n) {
                                n.outputs["rows"] = gather(param(*n.g, "table", {5, 2}), n.in("i"));
                              }};
  const fit::Feeds two = {{"i", Tensor::from({2}, {4, 1}, DType::f64)}};
  BuiltGraph b = fit::built_graph(gather_rows, {}, {{"batch", 9}}, false, two);
  CHECK(b.outputs[0].second.shape() == Shape{2, 2}); // the batch read off the constant
  CHECK(b.graph->node(*b.graph->find("i")).op == Op::Constant);
  b = fit::built_graph(gather_rows, {{"i", Tensor({3})}}, {{"batch", 9}}, false, two);
  CHECK(b.outputs[0].second.shape() == Shape{3, 2});
  CHECK(b.graph->node(*b.graph->find("i")).op == Op::Input);
  CHECK(has(error_of<std::invalid_argument>([&] { fit::build(gather_rows, {{"batch", 3}}, fit::Mode::predict, 0, two); }),
            "the constant input 'i' is (2,); the graph declares it (3,)"));
}

TEST_CASE("Fit.ClassifierReport") {
  // (B, K) rows and (K, B) columns; argmax takes the first of equals
  const Tensor rows = Tensor::from({2, 3}, {0.1, 0.7, 0.2, 0.4, 0.4, 0.2}, DType::f64);
  const Tensor cols = Tensor::from({3, 2}, {0.1, 0.4, 0.7, 0.4, 0.2, 0.2}, DType::f64);
  CHECK(fit::class_probabilities(rows) == fit::class_probabilities(cols, 0));
  CHECK(fit::class_probabilities(rows)[1] == std::vector<double>{0.4, 0.4, 0.2});
  CHECK(fit::argmax(fit::class_probabilities(rows)) == std::vector<int>{1, 0});
  const std::vector<int> labels = {0, 1, 1, 2}, predicted = {0, 1, 2, 2};
  CHECK(fit::accuracy(labels, predicted) == 0.75);
  CHECK(fit::accuracy({}, {}) == 0);
  const std::vector<std::string> names = {"cat", "dog", "eel"};
  CHECK(fit::confusion_matrix(labels, predicted, names, "test") ==
        "confusion matrix (test; rows: true label, columns: predicted)\n"
        "         0   1   2\n"
        "  0 cat   1   0   0\n"
        "  1 dog   0   1   1\n"
        "  2 eel   0   0   1\n");
  CHECK(fit::misclassified({"a", "b", "c", "d"}, labels, predicted, names, "test pets") ==
        fmt::format("misclassified test pets (1 of 4):\n  {:<40} predicted 2 eel  true 1 dog\n", "c"));
  CHECK_THROWS_AS(fit::confusion_matrix({3}, {0}, names, "test"), std::out_of_range);
  CHECK_THROWS_AS(fit::accuracy({1}, {}), std::invalid_argument);
}

TEST_CASE("Fit.TrainsWithLayersValidationAndCallbacks") {
  ParamStore store;
  const Lines data;
  std::vector<std::vector<double>> epochs;
  train::Trainer tr({.model = "lines", .unit = "epoch", .steps = 30, .quiet = true, .seed = 1,
                     .metrics = fit::fit_columns(spec(), true), .out = train::no_output()},
                    store);
  CHECK(tr.options().metrics == std::vector<std::string>{"mae", "val_loss", "val_mae"});
  fit::Network net(spec(), store, 1);
  const double last = fit::fit(net, data, tr, 1,
                               {.batch_size = 10, .validation = &data, .on_epoch = [&](int64_t, const fit::Network::Result& r) {
                                  epochs.push_back({r.loss, r.metrics[0], r.metrics[1], r.metrics[2]});
                                }});
  REQUIRE(epochs.size() == 30);
  CHECK(last == epochs.back()[0]);
  CHECK(epochs.back()[0] < 0.2 * epochs.front()[0]); // it learns
  CHECK(epochs.back()[2] < 0.2 * epochs.front()[2]); // and so does the validation loss
  // the batch-norm statistics moved (the layer's state updates ran as effects)
  const Tensor& mm = store.at("batch_normalization/moving_mean");
  double moved = 0;
  for (int64_t i = 0; i < mm.size(); ++i) moved += std::abs(mm.at(i));
  CHECK(moved > 0);
  // the validation loss is an inference run: evaluate() gives it again, bit for bit
  const fit::Network::Result v = fit::evaluate(net, data, 10);
  CHECK(v.loss == epochs.back()[2]);
  // predict: no dropout, so twice the same
  const auto p1 = net.predict({{"x", data.batch(std::vector<int64_t>{0, 1, 2})["x"]}}).at("y");
  const auto p2 = net.predict({{"x", data.batch(std::vector<int64_t>{0, 1, 2})["x"]}}).at("y");
  check_close(p1, p2, 0);
  CHECK(net.runs().size() == 2); // the run counters of the two training plans (batches of 10 and of 4)
}

TEST_CASE("Fit.ValidationSplitEarlyStoppingAndBestCheckpoint") {
  TempDir dir;
  const std::string ck = dir / "j.ckpt", best = dir / "best.ckpt", hist = dir / "j.csv";
  // Keras' validation_split 0.5: the last 30 of the 60 windows are held out
  Result r = graph_run(fmt::format("jazz train --epochs 200 --validation-split 0.5 --patience 2 --save-best '{}' "
                                   "--checkpoint '{}' --history '{}'", best, ck, hist));
  INFO(r.out);
  REQUIRE(r.rc == 0);
  CHECK(has(r.out, "val_loss: "));
  CHECK(has(r.out, "val_loss did not improve on "));
  const int64_t stopped = std::stoll(load_checkpoint(ck, "jazz").meta.at("step"));
  CHECK(stopped < 200);
  CHECK(has(r.out, fmt::format(", stopped at epoch {} of 200", stopped)));
  // the history: one row per epoch done, val_loss in its column; the best checkpoint is
  // the epoch with the lowest val_loss, `patience` epochs before the stop
  std::istringstream h(read_file(hist));
  std::string line;
  std::getline(h, line);
  CHECK(line == "epoch,loss,val_loss");
  double lowest = HUGE_VAL;
  int64_t lowest_at = -1, rows = 0;
  while (std::getline(h, line)) {
    const double val = std::stod(line.substr(line.rfind(',') + 1));
    if (val < lowest) lowest = val, lowest_at = rows;
    ++rows;
  }
  CHECK(rows == stopped);
  CHECK(lowest_at == stopped - 3); // epoch lowest_at + 1 was the best, then 2 epochs without
  CHECK(std::stoll(load_checkpoint(best, "jazz").meta.at("step")) == lowest_at + 1);
  // bad values are refused before any work
  r = graph_run("jazz train --validation-split 1");
  CHECK(r.rc == 2);
  CHECK(has(r.out, "--validation-split must be a number >= 0, < 1, got '1'"));
}

// evaluate over 64 examples in batches of 24, 24, 16: the example-weighted
// mean of a mean loss, and for a summed loss (GloVe's) the sum over the
// number of examples; both against the per-example losses computed one by one.
TEST_CASE("Fit.EvaluateMeanAndSummedLosses") {
  static const fit::Spec summed{.name = "lines_sum",
                                .dtype = DType::f64,
                                .inputs = {{"x", {fit::batch, fit::dim(2)}}},
                                .targets = {{"y", {fit::batch, fit::dim(1)}}},
                                .build = [](fit::Net& n) {
                                  Value d = layers::Dense(1)(n.in("x")) - n.in("y");
                                  n.loss = sum(d * d);
                                },
                                .optimizer = fit::sgd({})};
  ParamStore params;
  fit::Network net(summed, params, 4);
  const Lines data;
  double total = 0; // the per-example losses, one batch of 1 each
  for (int64_t i = 0; i < data.size(); ++i) total += net.evaluate_step(data.batch(std::vector<int64_t>{i})).loss;
  CHECK(fit::evaluate(net, data, 24, true).loss == doctest::Approx(total / 64).epsilon(1e-12));
  // read as a mean loss, each batch's sum would be weighted by its size: 24 x too much, or so
  CHECK(fit::evaluate(net, data, 24, false).loss > 10 * total / 64);
  // a mean loss (the mean over the batch): the example-weighted mean is the same figure
  ParamStore p2;
  fit::Network mean_net(spec(), p2, 4);
  double sum_of_means = 0;
  for (int64_t i = 0; i < data.size(); ++i) sum_of_means += mean_net.evaluate_step(data.batch(std::vector<int64_t>{i})).loss;
  CHECK(fit::evaluate(mean_net, data, 24).loss == doctest::Approx(sum_of_means / 64).epsilon(1e-12));
}

// --lr-schedule on the command line (Emojify V1: SGD, 132 steps an epoch). A
// step decay by 1e-30 every step leaves only the first step's update (the
// later ones are below the parameters' last bit), so 2 epochs end where 1
// ends; without the schedule they do not. The run's options hold it: a
// resume with another rate is refused.
TEST_CASE("Fit.LearningRateScheduleOption") {
  TempDir dir;
  auto train = [&](const std::string& name, const std::string& more) {
    Result r = graph_run(fmt::format("emojify train --version 1 --quiet --checkpoint '{}' {}", dir / name, more));
    INFO(r.out);
    REQUIRE(r.rc == 0);
    return load_checkpoint(dir / name, "emojify");
  };
  const std::string frozen = "--lr-schedule step --lr-decay-rate 1e-30 --lr-decay-steps 1";
  const Checkpoint a = train("a.ckpt", "--epochs 2 " + frozen), b = train("b.ckpt", "--epochs 1 " + frozen);
  const Checkpoint c = train("c.ckpt", "--epochs 2"), d = train("d.ckpt", "--epochs 1");
  CHECK(a.params.at("sgd/iterations").at(0) == 264);
  CHECK(!c.params.contains("sgd/iterations")); // no schedule, no step counter
  const Tensor &wa = a.params.at("W"), &wb = b.params.at("W"), &wc = c.params.at("W"), &wd = d.params.at("W");
  REQUIRE(wa.nbytes() == wb.nbytes());
  CHECK(std::memcmp(wa.raw(), wb.raw(), wa.nbytes()) == 0);
  CHECK(std::memcmp(wc.raw(), wd.raw(), wc.nbytes()) != 0);
  CHECK(std::memcmp(wa.raw(), wd.raw(), wa.nbytes()) != 0);

  Result r = graph_run(fmt::format("emojify train --version 1 --epochs 1 --lr-schedule exponential --checkpoint '{}'",
                                   dir / "e.ckpt"));
  CHECK(r.rc == 2);
  CHECK(has(r.out, "--lr-schedule exponential needs --lr-decay-rate"));
  r = graph_run(fmt::format("emojify train --version 1 --epochs 3 --resume --checkpoint '{}' "
                            "--lr-schedule step --lr-decay-rate 0.5 --lr-decay-steps 1", dir / "a.ckpt"));
  CHECK(r.rc != 0);
  CHECK(has(r.out, "was trained with --lr-decay-rate 1e-30"));
}

// Ctrl-C within an epoch (fit checks after every batch): the checkpoint holds
// the epochs done and how far into the next one the run got; the resumed run
// ends bit for bit where an uninterrupted one does. The interrupt is raised
// by the dataset itself while the 6th epoch's 2nd batch (of 3) is read.
// Lines with a length per example (i * 7 mod 11: 0 .. 10), for fit's buckets.
struct LinesOfLengths : Lines {
  int64_t length(int64_t i) const override { return (i * 7) % 11; }
};

TEST_CASE("Fit.BucketsBatchExamplesOfSimilarLength") {
  const LinesOfLengths data;
  const fit::FitOptions keras{.batch_size = 8}, buckets{.batch_size = 8, .bucket = 4};
  // bucket 0: Keras' batches
  CHECK(fit::epoch_batches(data, keras, 3, "lines", 2) == fit::epoch_batches(64, 8, true, 3, "lines", 2));
  for (int64_t epoch : {0, 1, 5}) {
    const auto batches = fit::epoch_batches(data, buckets, 3, "lines", epoch);
    CHECK(batches == fit::epoch_batches(data, buckets, 3, "lines", epoch)); // a function of (seed, epoch)
    REQUIRE(batches.size() == 8);
    std::vector<int64_t> seen;
    int64_t spread = 0; // the widest range of lengths within one batch
    for (const auto& b : batches) {
      CHECK(b.size() == 8);
      seen.insert(seen.end(), b.begin(), b.end());
      int64_t lo = 99, hi = -1;
      for (int64_t i : b) lo = std::min(lo, data.length(i)), hi = std::max(hi, data.length(i));
      spread = std::max(spread, hi - lo);
    }
    std::sort(seen.begin(), seen.end());
    for (int64_t i = 0; i < 64; ++i) CHECK(seen[size_t(i)] == i); // every example once
    // 32 examples of 11 lengths sorted into 4 batches: each batch spans at most 4 lengths
    // (Keras' random batches of 8 span ~8 of the 11)
    CHECK(spread <= 4);
    // the batches' order is drawn too: not sorted by length across the epoch
    bool sorted = true;
    for (size_t k = 1; k < batches.size(); ++k) sorted = sorted && data.length(batches[k][0]) >= data.length(batches[k - 1][0]);
    CHECK_FALSE(sorted);
  }
  CHECK(fit::epoch_batches(data, buckets, 3, "lines", 0) != fit::epoch_batches(data, buckets, 3, "lines", 1));
  // a smaller last batch stays last in its pool's order of cuts: sizes 8 x 7 + 4 of 60 examples
  struct Sixty : LinesOfLengths {
    int64_t size() const override { return 60; }
  } sixty;
  int64_t small = 0;
  for (const auto& b : fit::epoch_batches(sixty, buckets, 3, "lines", 0)) small += b.size() == 4 ? 1 : 0;
  CHECK(small == 1);
}

TEST_CASE("Fit.CtrlCWithinAnEpochResumesBitwise") {
  struct Interrupting : LinesOfLengths {
    mutable int64_t calls = 0;
    int64_t at = -1;
    fit::Feeds batch(std::span<const int64_t> idx) const override {
      if (++calls == at) std::raise(SIGINT);
      return Lines::batch(idx);
    }
  };
  for (int64_t bucket : {0, 2}) {
    INFO("bucket ", bucket);
    TempDir dir;
    auto run = [&](const std::string& ck, int64_t interrupt_at, bool resume) {
      ParamStore params;
      train::Trainer tr({.model = "lines", .unit = "epoch", .steps = 8, .checkpoint = ck, .resume = resume,
                         .quiet = true, .seed = 5, .metrics = fit::fit_columns(spec(), false), .part = "batch",
                         .out = train::no_output()},
                        params);
      fit::Network net(spec(), params, 5);
      Interrupting data;
      data.at = interrupt_at;
      fit::fit(net, data, tr, 5, {.batch_size = 24, .bucket = bucket});
    };
    const std::string full = dir / fmt::format("full{}.ckpt", bucket), part = dir / fmt::format("part{}.ckpt", bucket);
    run(full, -1, false);
    std::string msg;
    try {
      run(part, 5 * 3 + 2, false); // 3 batches an epoch (24, 24, 16)
    } catch (const train::Interrupted& e) {
      msg = e.what();
    }
    CHECK(has(msg, "lines: interrupted in epoch 6 after 2 of 3 batches"));
    const Checkpoint c = load_checkpoint(part, "lines");
    CHECK(c.meta.at("step") == "5");
    CHECK(c.meta.at("loop.epoch_batches") == "2");
    run(part, -1, true);
    CHECK(read_file(part) == read_file(full));
  }
}

TEST_CASE("Fit.ShardsCoverEveryBatchOnce") {
  // a data-parallel rank's part of a global batch: contiguous, in rank
  // order, sizes differing by at most one, empty when the batch is smaller
  for (int64_t n : {1, 2, 5, 8, 32}) {
    std::vector<int64_t> batch(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) batch[size_t(i)] = 100 + i;
    for (int ranks : {1, 2, 3, 4}) {
      CAPTURE(n);
      CAPTURE(ranks);
      std::vector<int64_t> joined;
      size_t smallest = SIZE_MAX, largest = 0;
      for (int r = 0; r < ranks; ++r) {
        const std::span<const int64_t> s = fit::shard(batch, r, ranks);
        joined.insert(joined.end(), s.begin(), s.end());
        smallest = std::min(smallest, s.size());
        largest = std::max(largest, s.size());
      }
      CHECK(joined == batch);
      CHECK(largest - smallest <= 1);
    }
  }
  const std::vector<int64_t> b{1, 2, 3, 4, 5};
  CHECK(fit::shard(b, 0, 3).size() == 2);
  CHECK(fit::shard(b, 2, 3).size() == 1);
  CHECK(fit::shard(std::vector<int64_t>{7}, 1, 2).empty());
}
