// The shared training machinery of models/train and models/data/text: the
// clipping rule of an SGD step, the sampling rule, the shuffle, the progress
// display, the loss history, loop-state checkpoints, and the text reader.
#include "autodiff/optimizers.hpp"
#include "graph/checkpoint.hpp"
#include "graph/plan.hpp"
#include "graph/random.hpp"
#include "models/data/text.hpp"
#include "models/train/history.hpp"
#include "models/train/progress.hpp"
#include "models/train/sampling.hpp"
#include "models/train/trainer.hpp"
#include "ops/ops.hpp"
#include "tests/cli_helpers.hpp"
#include "tests/helpers.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <doctest/doctest.h>
#include <fstream>
#include <numeric>
#include <sstream>

using namespace sg;
using sg::test::error_of;
using sg::test::has;
using sg::test::read_file;
using sg::test::TempDir;

namespace {

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Reads a whole FILE* written by the code under test.
std::string contents(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  return s;
}

} // namespace

// ---- the clip rule: each gradient element into [-5, 5] before p -= lr * g

TEST_CASE("Train.ClipRuleSGDStep") {
  Graph g;
  // loss = sum(c * W): dloss/dW = c, chosen with elements beyond the bounds on both sides
  const std::vector<double> c = {7.0, -9.0, 0.5, -2.0, 5.0, -5.25};
  const std::vector<double> w0 = {0.1, -0.2, 0.3, 0.4, -0.5, 0.6};
  Value W = param(g, "W", {2, 3});
  Value loss = sum(constant(g, Tensor::from({2, 3}, c, DType::f64)) * W);
  TrainOps ops = minimize(loss, {W}, SGD{.lr = 0.01, .clip = {.value = 5}});

  ParamStore store;
  store.set("W", Tensor::from({2, 3}, w0, DType::f64));
  Plan plan(g, store, {ops.grads[0]}, ops.updates, {DType::f64});
  plan.run();
  // by hand: clip(c) = {5, -5, 0.5, -2, 5, -5}; W1 = W0 - 0.01 * clip(c)
  const std::vector<double> clipped = {5, -5, 0.5, -2, 5, -5};
  const Tensor grad = plan.fetch(ops.grads[0]);
  for (size_t i = 0; i < c.size(); ++i) {
    INFO("element ", i);
    CHECK(grad.at(int64_t(i)) == clipped[i]);
    CHECK(store.at("W").at(int64_t(i)) == doctest::Approx(w0[i] - 0.01 * clipped[i]).epsilon(1e-15));
  }
  // and the same step without clipping moves by the raw gradient
  Graph g2;
  Value W2 = param(g2, "W", {2, 3});
  Value loss2 = sum(constant(g2, Tensor::from({2, 3}, c, DType::f64)) * W2);
  TrainOps ops2 = minimize(loss2, {W2}, SGD{.lr = 0.01});
  ParamStore store2;
  store2.set("W", Tensor::from({2, 3}, w0, DType::f64));
  Plan plan2(g2, store2, {loss2}, ops2.updates, {DType::f64});
  plan2.run();
  CHECK(store2.at("W").at(0) == doctest::Approx(0.1 - 0.07).epsilon(1e-15));
  CHECK(store2.at("W").at(1) == doctest::Approx(-0.2 + 0.09).epsilon(1e-15));
}

// ---- the sampling rule

TEST_CASE("Train.SampleIndexInverseCDF") {
  // dyadic probabilities: the CDF 0.125, 0.375, 0.875, 1 is exact
  const std::vector<double> p = {0.125, 0.25, 0.5, 0.125};
  auto by_hand = [](double u) { return u < 0.125 ? 0 : u < 0.375 ? 1 : u < 0.875 ? 2 : 3; };
  for (double u : {0.0, 0.1249, 0.125, 0.2, 0.3749, 0.375, 0.6, 0.8749, 0.875, 0.99, 0.9999999}) {
    INFO("u = ", u);
    CHECK(train::sample_index(p, 1.0, u) == by_hand(u));
  }
  // any scale: weights 1, 2, 4, 1 are the same distribution
  const std::vector<double> w = {1, 2, 4, 1};
  for (double u : {0.05, 0.2, 0.5, 0.9}) CHECK(train::sample_index(w, 1.0, u) == by_hand(u));

  // seeded draws: u = rng::uniform(seed, stream, k) for the k-th draw
  train::Sampler s{.seed = 42, .stream = 7};
  std::vector<int64_t> drawn, expected;
  for (uint64_t k = 0; k < 200; ++k) {
    drawn.push_back(s.draw(p));
    expected.push_back(by_hand(rng::uniform(42, 7, k)));
  }
  CHECK(drawn == expected);
  CHECK(s.counter == 200);
  // every index occurs, as often as p says (20,000 draws: within 0.01)
  train::Sampler many{.seed = 1, .stream = 2};
  std::vector<int> count(4);
  for (int k = 0; k < 20000; ++k) ++count[size_t(many.draw(p))];
  for (size_t i = 0; i < 4; ++i) CHECK(std::abs(count[i] / 20000.0 - p[i]) < 0.01);
}

TEST_CASE("Train.SampleIndexZerosTemperatureGreedy") {
  // entries <= 0 are never drawn
  const std::vector<double> z = {0, 0.5, 0, 0.5};
  CHECK(train::sample_index(z, 1.0, 0.0) == 1);
  CHECK(train::sample_index(z, 1.0, 0.4999) == 1);
  CHECK(train::sample_index(z, 1.0, 0.5) == 3);
  CHECK(train::sample_index(z, 1.0, 0.999999) == 3);

  // T = 0.5: w = p^2, i.e. (p / 0.5)^2 = 1/16, 1/4, 1, 1/16 of total 11/8:
  // the CDF is 1/22, 5/22, 21/22, 1
  const std::vector<double> p = {0.125, 0.25, 0.5, 0.125};
  auto half = [](double u) { return u < 1 / 22.0 ? 0 : u < 5 / 22.0 ? 1 : u < 21 / 22.0 ? 2 : 3; };
  for (double u : {0.0, 0.04, 0.05, 0.2, 0.23, 0.5, 0.95, 0.96, 0.999}) {
    INFO("u = ", u);
    CHECK(train::sample_index(p, 0.5, u) == half(u));
  }
  // T = 2: w = sqrt(p / 0.5) = 1/2, 1/sqrt(2), 1, 1/2: flatter than p
  const double r = std::sqrt(0.5), total = 2 + r;
  auto twice = [&](double u) {
    const double t = u * total;
    return t < 0.5 ? 0 : t < 0.5 + r ? 1 : t < 1.5 + r ? 2 : 3;
  };
  for (double u : {0.1, 0.2, 0.3, 0.45, 0.7, 0.9}) {
    INFO("u = ", u);
    CHECK(train::sample_index(p, 2.0, u) == twice(u));
  }
  // T = 0: the likeliest, whatever u; the first of equal maxima
  for (double u : {0.0, 0.5, 0.99}) CHECK(train::sample_index(p, 0.0, u) == 2);
  CHECK(train::sample_index(std::vector<double>{0.2, 0.4, 0.4}, 0.0, 0.7) == 1);
  // a very low temperature is greedy too, without underflowing to nothing
  CHECK(train::sample_index(p, 1e-3, 0.999) == 2);

  CHECK(has(error_of<std::invalid_argument>([&] { train::sample_index(p, -1.0, 0.5); }),
            "temperature must be >= 0"));
  CHECK(has(error_of<std::invalid_argument>(
                [&] { train::sample_index(std::vector<double>{0, 0, 0}, 1.0, 0.5); }),
            "no positive probability"));
}

TEST_CASE("Train.ShuffleIsSeededFisherYates") {
  std::vector<int> v(10);
  std::iota(v.begin(), v.end(), 0);
  std::vector<int> a = v, b = v, c = v;
  train::shuffle(a, 3, 11);
  train::shuffle(b, 3, 11);
  train::shuffle(c, 4, 11);
  CHECK(a == b);
  CHECK(a != c);
  CHECK(a != v);
  std::vector<int> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == v);
  // the rule by hand: for i = 9 down to 1, swap i with floor(u_i (i + 1))
  std::vector<int> hand = v;
  for (int i = 9; i >= 1; --i) {
    const int j = int(rng::uniform(3, 11, uint64_t(i)) * (i + 1));
    std::swap(hand[size_t(i)], hand[size_t(j)]);
  }
  CHECK(a == hand);
}

// ---- progress display

TEST_CASE("Train.ProgressFormat") {
  CHECK(train::format_duration(0.2) == "0s");
  CHECK(train::format_duration(54.4) == "54s");
  CHECK(train::format_duration(64) == "1:04");
  CHECK(train::format_duration(7389) == "2:03:09");
  // 4000 of 22001: 30 * 4000 / 22001 = 5 columns, the last an arrow
  CHECK(train::format_bar(4000, 22001, 12.2, 54.4, 31.20424) ==
        " 4000/22001 [====>.........................] - 12s - ETA 54s - loss: 31.2042");
  CHECK(train::format_bar(22001, 22001, 96, 0, 22.7) ==
        "22001/22001 [==============================] - 1:36 - loss: 22.7000");
  CHECK(train::format_bar(0, 10, 0, -1, 3, 10) == " 0/10 [..........] - 0s - loss: 3.0000");
}

TEST_CASE("Train.ProgressFitsTheTerminal") {
  const std::string full = train::format_line(33, 100, 1, 2, 48.68, "accuracy: 0.8750", 0);
  CHECK(full == " 33/100 [========>.....................] - 1s - ETA 2s - loss: 48.6800 - accuracy: 0.8750");
  CHECK(train::format_line(33, 100, 1, 2, 48.68, "accuracy: 0.8750", 200) == full); // room enough
  const std::string narrow = train::format_line(33, 100, 1, 2, 48.68, "accuracy: 0.8750", 80);
  CHECK(narrow.size() == 79);                                  // never the last column
  CHECK(narrow.find("[=====>") != std::string::npos);        // the bar narrowed ...
  CHECK(narrow.find("accuracy: 0.8750") != std::string::npos); // ... and kept the figures
  const std::string tiny = train::format_line(33, 100, 1, 2, 48.68, "accuracy: 0.8750", 40);
  CHECK(tiny.size() == 39); // the bar at its narrowest, the line cut
  CHECK(tiny.starts_with(" 33/100 [>....]")); // 33 % of 5 columns: one, the head
}

TEST_CASE("Train.ProgressModes") {
  SUBCASE("lines: reports only, no bar") {
    std::FILE* f = std::tmpfile();
    REQUIRE(f);
    {
      train::Progress p(100, 0, train::ProgressMode::lines, f);
      for (int i = 1; i <= 100; ++i) p.update(i, 1.0 / i);
      p.print("Iteration: 50, Loss: 1.0");
      p.finish("done: 100 iterations");
    }
    CHECK(contents(f) == "Iteration: 50, Loss: 1.0\ndone: 100 iterations\n");
    std::fclose(f);
  }
  SUBCASE("quiet: the summary only") {
    std::FILE* f = std::tmpfile();
    REQUIRE(f);
    {
      train::Progress p(100, 0, train::ProgressMode::quiet, f);
      p.update(100, 0.5);
      p.print("not shown");
      p.finish("done");
    }
    CHECK(contents(f) == "done\n");
    std::fclose(f);
  }
  SUBCASE("bar: redrawn in place, text above it, a final full bar") {
    std::FILE* f = std::tmpfile();
    REQUIRE(f);
    {
      train::Progress p(10, 0, train::ProgressMode::bar, f);
      p.update(1, 2.0); // the first update draws
      p.update(2, 2.0); // within 0.1 s of it: not drawn
      p.print("report");
      p.update(10, 1.5); // the end: always drawn
      p.finish("summary");
    }
    const std::string s = contents(f);
    CHECK(has(s, "\r 1/10 [==>...........................] - 0s - ETA 0s - loss: 2.0000\033[K"));
    // erased, the text printed, the bar redrawn below it (now at 2)
    CHECK(has(s, "\033[K\r\033[Kreport\n\r 2/10 [=====>"));
    CHECK(s.find(" 2/10") == s.rfind(" 2/10")); // drawn once: after the report
    CHECK(has(s, "\r10/10 [==============================] - 0s - loss: 1.5000\033[K\nsummary\n"));
    std::fclose(f);
  }
  // stdout under the test runner is a pipe or file, not a terminal
  CHECK(train::progress_mode(true) == train::ProgressMode::quiet);
}

// ---- loss history

TEST_CASE("Train.HistoryCsv") {
  TempDir dir;
  const std::string path = dir / "loss.csv";
  {
    train::History h(path, "iteration");
    h.add(0, 23.071);
    h.add(1, 0.1 + 0.2);
    // flushed as it goes: readable before the writer closes
    CHECK(read_file(path) == "iteration,loss\n0,23.071\n1,0.30000000000000004\n");
  }
  // resuming at step 1 keeps the rows before it and appends
  {
    write_file(path, "iteration,loss\n0,5\n1,4\n2,3\n3,2\n");
    train::History h(path, "iteration", 2);
    h.add(2, 30);
  }
  CHECK(read_file(path) == "iteration,loss\n0,5\n1,4\n2,30\n");
  // epochs: another header
  {
    train::History h(dir / "e.csv", "epoch");
    h.add(0, 1.5);
  }
  CHECK(read_file(dir / "e.csv") == "epoch,loss\n0,1.5\n");
  // a resume over a file that is not this run's history is refused
  CHECK(has(error_of<IoError>([&] { train::History(dir / "e.csv", "iteration", 1); }),
            "starts with 'epoch,loss', not 'iteration,loss'"));
  CHECK(has(error_of<IoError>([&] { train::History(dir / "no/such/dir/h.csv", "iteration"); }),
            "cannot write history"));
}

// ---- the trainer: loop state in checkpoints, resume checks

TEST_CASE("Train.TrainerSavesAndResumesLoopState") {
  TempDir dir;
  const std::string ckpt = dir / "run.ckpt";
  std::FILE* out = std::tmpfile();
  REQUIRE(out);
  train::LoopOptions o{.model = "toy", .unit = "iteration", .steps = 4, .save_every = 2,
                       .checkpoint = ckpt, .history = dir / "h.csv", .resume = false,
                       .quiet = true, .seed = 5, .out = out};
  const double exact = 0.1 + 0.2; // not a short decimal: must survive exactly
  {
    ParamStore store;
    store.set("W", Tensor::from({2}, {1.5, -2.5}, DType::f64));
    train::Trainer tr(o, store);
    CHECK(!tr.resumed());
    CHECK(tr.first_step() == 0);
    int saves = 0;
    tr.on_save([&](train::LoopState& s) {
      ++saves;
      s.set("smooth", exact * s.step);
      s.set_u64("draws", 1000 + uint64_t(s.step));
      s.tensors["h"] = Tensor::from({1}, {double(s.step)}, DType::f64);
    });
    for (int64_t j = 0; j < 4; ++j) {
      store.at("W").set(0, double(j));
      tr.end_step(j, 10.0 - double(j));
    }
    CHECK(saves == 1); // after step index 1 (2 done); the last is finish's
    tr.report(3, 7.0, "not shown: quiet");
    tr.finish(6.0);
    CHECK(saves == 2);
  }
  // quiet: the summary line only
  const std::string printed = contents(out);
  CHECK(printed.starts_with("toy: 4 iterations in "));
  CHECK(has(printed, "; loss 6.0000; checkpoint " + ckpt + "; history " + (dir / "h.csv") + "\n"));
  CHECK(!has(printed, "not shown"));
  Checkpoint ck = load_checkpoint(ckpt, "toy");
  CHECK(ck.meta.at("step") == "4");
  CHECK(ck.meta.at("seed") == "5");
  CHECK(ck.params.at("W").at(0) == 3.0);
  CHECK(ck.params.at("loop/h").at(0) == 4.0);
  CHECK(read_file(dir / "h.csv") == "iteration,loss\n0,10\n1,9\n2,8\n3,7\n");

  // resuming restores the parameters and the loop state exactly
  o.resume = true;
  o.steps = 6;
  ParamStore store;
  train::Trainer tr(o, store);
  CHECK(tr.resumed());
  CHECK(tr.first_step() == 4);
  CHECK(store.at("W").at(0) == 3.0);
  CHECK(!store.contains("loop/h"));
  CHECK(tr.state().get_double("smooth") == exact * 4);
  CHECK(tr.state().get_u64("draws") == 1004);
  CHECK(tr.state().tensor("h").at(0) == 4.0);
  CHECK(has(error_of<IoError>([&] { (void)tr.state().get_double("nothing"); }), "'nothing'"));
  tr.finish(7.0);
  CHECK(has(contents(out), "toy: 2 iterations in "));
  CHECK(has(contents(out), ", resumed at iteration 4; loss 7.0000"));

  // what cannot be resumed, and why
  auto resume_error = [&](train::LoopOptions bad) {
    ParamStore s;
    return error_of<IoError>([&] { train::Trainer t(bad, s); });
  };
  train::LoopOptions bad = o;
  bad.seed = 6;
  CHECK(has(resume_error(bad), "comes from a run with --seed 5"));
  bad = o;
  bad.steps = 3;
  CHECK(has(resume_error(bad), "past the 3"));
  bad = o;
  bad.model = "other";
  CHECK(has(resume_error(bad), "was written by model 'toy', not 'other'"));
  bad = o;
  bad.checkpoint = dir / "missing.ckpt";
  CHECK(has(resume_error(bad), "there is no checkpoint"));
  bad = o;
  bad.resume = false;
  bad.checkpoint = dir / "no/such/dir/run.ckpt";
  CHECK(has(resume_error(bad), "there is no directory '" + (dir / "no/such/dir") + "'"));
  std::fclose(out);
}

TEST_CASE("Train.LoadParamsForSampling") {
  TempDir dir;
  ParamStore saved;
  saved.set("W", Tensor::from({2}, {1, 2}, DType::f64));
  saved.set("loop/a", Tensor::from({1}, {3}, DType::f64));
  save_checkpoint(dir / "m.ckpt", "toy", saved);
  ParamStore into;
  train::load_params(dir / "m.ckpt", "toy", into);
  CHECK(into.contains("W"));
  CHECK(!into.contains("loop/a"));
  CHECK(has(error_of<IoError>([&] { train::load_params(dir / "none.ckpt", "toy", into); }),
            "train first (graph-run toy train"));

  Graph g;
  param(g, "W", {2});
  CHECK_NOTHROW(train::require_params(g, into, "m.ckpt"));
  param(g, "V", {3});
  CHECK(has(error_of<IoError>([&] { train::require_params(g, into, "m.ckpt"); }),
            "checkpoint 'm.ckpt' lacks the parameter(s) V"));
}

// ---- text data

TEST_CASE("Train.CharVocab") {
  const data::CharVocab v = data::newline_and_lowercase();
  CHECK(v.size() == 27);
  CHECK(v.index('\n') == 0);
  CHECK(v.index('a') == 1);
  CHECK(v.index('z') == 26);
  CHECK(v.index('A') == -1);
  CHECK(v.at(3) == 'c');
  CHECK(v.describe() == "'\\n', a-z");
  const std::vector<int> rex = {18, 5, 24, 0};
  CHECK(v.decode(rex) == "rex\n");
  CHECK(has(error_of<std::invalid_argument>([] { data::CharVocab("abca"); }), "'a' appears twice"));
}

TEST_CASE("Train.ReadLines") {
  TempDir dir;
  const data::CharVocab v = data::newline_and_lowercase();
  write_file(dir / "ok.txt", "Rex\r\n\n  Tor \nAB\n");
  auto lines = data::read_lines(dir / "ok.txt", v);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == std::vector<int>{18, 5, 24});
  CHECK(lines[1] == std::vector<int>{20, 15, 18});
  CHECK(lines[2] == std::vector<int>{1, 2});
  // without lower-casing, capitals are outside the vocabulary
  CHECK(has(error_of<IoError>([&] { data::read_lines(dir / "ok.txt", v, {.lower = false}); }),
            ":1: 'R' (column 1) in line 'Rex' is not in the vocabulary ('\\n', a-z)"));

  CHECK(has(error_of<IoError>([&] { data::read_lines(dir / "missing.txt", v); }),
            "cannot read text file '" + (dir / "missing.txt") + "': no such file"));
  CHECK(has(error_of<IoError>([&] { data::read_lines(dir.path.string(), v); }), "it is a directory"));
  write_file(dir / "empty.txt", "");
  CHECK(has(error_of<IoError>([&] { data::read_lines(dir / "empty.txt", v, {.what = "name"}); }),
            "empty.txt' is empty: expected one name per line"));
  write_file(dir / "blank.txt", "\n  \n\r\n");
  CHECK(has(error_of<IoError>([&] { data::read_lines(dir / "blank.txt", v); }), "is empty"));
  write_file(dir / "bad.txt", "Aachenosaurus\nAardonyx\nTyranno saurus\n");
  CHECK(has(error_of<IoError>([&] { data::read_lines(dir / "bad.txt", v, {.what = "name"}); }),
            "bad.txt:3: ' ' (column 8) in name 'tyranno saurus' is not in the vocabulary"));
  write_file(dir / "bin.txt", "ok\nna\xefve\n");
  CHECK(has(error_of<IoError>([&] { data::read_lines(dir / "bin.txt", v); }),
            "bin.txt:2: not UTF-8 text (byte 0xef at column 3)"));
}

TEST_CASE("Train.OneHotColumns") {
  const std::vector<int> idx = {-1, 2, 0};
  Tensor t = data::one_hot_columns(idx, 3);
  REQUIRE(t.shape() == Shape{3, 3});
  // column 0 is the zero vector; column 1 is e_2; column 2 is e_0
  const std::vector<double> want = {0, 0, 1, 0, 0, 0, 0, 1, 0};
  CHECK(t.values() == want);
  const std::vector<int> too_big = {3};
  CHECK_THROWS_AS(data::one_hot_columns(too_big, 3), std::out_of_range);
}
