// Data-parallel training (graph/dist.hpp, ops/collective.cpp, fit's shards),
// run under mpirun by seqgraph-mpi-tests (tests/mpi_main.cpp): meson test
// starts it with 2 and with 3 processes. Every rank runs every case in the
// same order, so the collectives inside them match; the checks use CHECK,
// never REQUIRE (a rank that left a case early would leave the others
// waiting in a collective).
//
// What is checked: the replicas stay bitwise identical (every parameter's
// checksum compared after every batch); a run is deterministic; an N-rank
// run matches the one-process run of the same global batches within the
// tolerance below; a resumed run is bitwise the uninterrupted one.
#include "graph/dist.hpp"
#include "models/train/fit.hpp"
#include "models/train/fit_model.hpp"
#include "ops/keras.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <unistd.h>

using namespace sg;

namespace {

// 45 examples of a 3-class problem: x (5) from the index, the class from x;
// with batches of 8 the last is 5 (shards of 3 + 2, 2 + 2 + 1), and batches
// of 2 leave the third of three ranks an empty shard.
struct Points : fit::Dataset {
  DType dtype;
  explicit Points(DType d) : dtype(d) {}
  int64_t size() const override { return 45; }
  uint64_t fingerprint() const override { return 45; }
  fit::Feeds batch(std::span<const int64_t> idx) const override {
    const auto B = int64_t(idx.size());
    Tensor x({B, 5}, dtype), y({B, 3}, dtype);
    for (int64_t b = 0; b < B; ++b) {
      double s = 0;
      for (int64_t j = 0; j < 5; ++j) {
        const double v = std::sin(double(idx[size_t(b)] * 7 + j * 3) * 0.37);
        x.set(b * 5 + j, v);
        s += v * double(j - 2);
      }
      y.set(b * 3 + (s < -0.5 ? 0 : s < 0.5 ? 1 : 2), 1.0);
    }
    return {{"x", x}, {"y", y}};
  }
};

fit::Spec spec(DType dtype, fit::Optimizer opt, double dropout = 0, bool batch_norm = false) {
  return fit::Spec{
      .name = "points",
      .dtype = dtype,
      .inputs = {{"x", {fit::batch, fit::dim(5)}}},
      .targets = {{"y", {fit::batch, fit::dim(3)}}},
      .build =
          [dropout, batch_norm](fit::Net& n) {
            Value h = layers::Dense(16, {.activation = "tanh"})(n.in("x"));
            if (batch_norm) h = layers::BatchNormalization({.momentum = 0.9})(h);
            if (dropout > 0) h = layers::Dropout(dropout)(h);
            Value logits = layers::Dense(3)(h);
            n.outputs["logits"] = logits;
            if (n.mode == fit::Mode::predict) return;
            n.loss = mean(softmax_cross_entropy(logits, n.in("y")));
            n.metrics["accuracy"] = fit::categorical_accuracy(n.in("y"), logits);
          },
      .optimizer = std::move(opt),
      .metrics = {"accuracy"},
  };
}

// Trains `epochs` epochs of batches of `batch` (data-parallel over the world
// when `parallel`), the parameters into `params`; returns each epoch's loss.
std::vector<double> run(const fit::Spec& s, ParamStore& params, int64_t epochs, int64_t batch, bool parallel,
                          int64_t check_every = 1, const std::string& checkpoint = {}, bool resume = false,
                          int64_t steps = -1) {
  dist::Group& world = dist::Group::world();
  train::LoopOptions lo{.model = s.name, .unit = "epoch", .steps = steps < 0 ? epochs : steps, .checkpoint = checkpoint,
                        .resume = resume, .quiet = true, .seed = 3, .metrics = fit::fit_columns(s, false),
                        .part = "batch", .out = train::no_output()};
  if (parallel) {
    lo.writes = world.rank() == 0;
    lo.agree = [&world](bool stop) { return world.sum({stop ? 1.0 : 0.0})[0] > 0; };
  }
  train::Trainer tr(lo, params);
  fit::Network net(s, params, 3);
  if (parallel) net.set_data_parallel(world, 256); // small buckets: several per step
  const Points data(s.dtype);
  std::vector<double> losses;
  fit::FitOptions opt{.batch_size = batch, .check_replicas_every = check_every};
  opt.on_epoch = [&](int64_t, const fit::Network::Result& r) { losses.push_back(r.loss); };
  fit::fit(net, data, tr, 3, opt);
  return losses;
}

double max_abs_diff(const ParamStore& a, const ParamStore& b, double* scale) {
  double d = 0;
  *scale = 0;
  for (auto& [name, t] : a.all()) {
    const Tensor& u = b.at(name);
    for (int64_t i = 0; i < t.size(); ++i) {
      d = std::max(d, std::abs(t.at(i) - u.at(i)));
      *scale = std::max(*scale, std::abs(t.at(i)));
    }
  }
  return d;
}

} // namespace

TEST_CASE("DataParallel.RunsUnderMpirun") {
  dist::Group& world = dist::Group::world();
  CHECK(world.parallel());
  CHECK(world.size() == dist::launched_size());
  // the rank-order sum: every rank the same bits
  const std::vector<double> s = world.sum({0.1 * (world.rank() + 1), 1.0});
  double expect = 0;
  for (int r = 0; r < world.size(); ++r) expect += 0.1 * (r + 1);
  CHECK(s[0] == expect);
  CHECK(s[1] == double(world.size()));
}

TEST_CASE("DataParallel.ReplicasStayIdenticalAndRunsRepeat") {
  dist::Group& world = dist::Group::world();
  // Adam in float32, 3 epochs of 6 batches (the last of 5): every batch's
  // checksums compared (check_replicas_every = 1 throws on a difference)
  for (auto [batch, bn] : {std::pair{8, false}, {2, false}, {8, true}}) {
    CAPTURE(batch);
    CAPTURE(bn);
    const fit::Spec s = spec(DType::f32, fit::adam({.lr = 0.01}), 0.2, bn);
    ParamStore a, b;
    std::vector<double> la, lb;
    CHECK_NOTHROW(la = run(s, a, 3, batch, true));
    CHECK_NOTHROW(lb = run(s, b, 3, batch, true));
    CHECK(la == lb); // deterministic for a given N
    CHECK(dist::checksum(a) == dist::checksum(b));
    const std::vector<uint64_t> sums = world.gather(dist::checksum(a));
    for (uint64_t c : sums) CHECK(c == sums[0]);
    CHECK(la.back() < la.front()); // it learns
  }
}

TEST_CASE("DataParallel.MatchesOneProcess") {
  // The same global batches on one process and on N: only the order in
  // which each gradient's per-example terms are added differs (each rank
  // sums its shard's, then the shards are added in rank order). In float64
  // a sum of B terms moves by at most about B u sum|terms| (u = 2^-53); the
  // gradients here are O(1) and B <= 8, so after 20 SGD steps of lr 0.1 the
  // parameters (O(1)) agree to ~1e-13; 1e-10 leaves room for the
  // propagation through the steps and still catches any mistake in the
  // weights or the shards (a wrong share moves them by > 1e-3).
  // With Dropout, each rank draws its rows of the global batch's mask; with
  // BatchNormalization, the statistics are the global batch's (summed over
  // the ranks), and so are the moving statistics the parameters hold.
  struct Case {
    int64_t batch;
    double dropout;
    bool bn;
  };
  for (auto [batch, dropout, bn] : {Case{8, 0, false}, Case{2, 0, false}, Case{8, 0.3, false}, Case{2, 0.3, false},
                                    Case{8, 0.3, true}, Case{2, 0, true}}) {
    CAPTURE(batch);
    CAPTURE(dropout);
    CAPTURE(bn);
    const fit::Spec s = spec(DType::f64, fit::sgd({.lr = 0.1}), dropout, bn);
    ParamStore one, many;
    const std::vector<double> l1 = run(s, one, 3, batch, false);
    const std::vector<double> ln = run(s, many, 3, batch, true);
    double scale = 0;
    const double d = max_abs_diff(one, many, &scale);
    CAPTURE(d);
    CHECK(scale > 0.1);
    CHECK(d < 1e-10);
    CHECK(d > 0); // the summation order does differ (else this test checks nothing of it)
    for (size_t e = 0; e < l1.size(); ++e) CHECK(std::abs(l1[e] - ln[e]) < 1e-10);
    if (dropout > 0) { // the masks do matter: masks of another rate give a run far off
      ParamStore other;
      const fit::Spec t = spec(DType::f64, fit::sgd({.lr = 0.1}), 0.31, bn);
      run(t, other, 3, batch, false);
      CHECK(max_abs_diff(one, other, &scale) > 1e-3);
    }
  }
  // float32, Adam: the same within float32 rounding amplified by Adam's
  // normalisation over 18 steps
  const fit::Spec s = spec(DType::f32, fit::adam({.lr = 0.01}));
  ParamStore one, many;
  run(s, one, 3, 8, false);
  run(s, many, 3, 8, true);
  double scale = 0;
  const double d = max_abs_diff(one, many, &scale);
  CAPTURE(d);
  CHECK(d < 1e-4);
}

TEST_CASE("DataParallel.ResumeIsBitwiseTheUninterruptedRun") {
  dist::Group& world = dist::Group::world();
  const fit::Spec s = spec(DType::f32, fit::adam({.lr = 0.01}));
  // every rank the same path (rank 0 writes it; the others read it on resume)
  const std::string path =
      (std::filesystem::temp_directory_path() / fmt::format("seqgraph-dp-{}.ckpt", world.gather(uint64_t(getpid()))[0]))
          .string();
  ParamStore whole, first, resumed;
  run(s, whole, 4, 8, true);
  run(s, first, 4, 8, true, 1, path, false, 2); // 2 of 4 epochs
  world.barrier();                                // written before any rank reads it
  run(s, resumed, 4, 8, true, 1, path, true);
  CHECK(dist::checksum(resumed) == dist::checksum(whole));
  world.barrier();
  if (world.rank() == 0) std::filesystem::remove(path);
}
