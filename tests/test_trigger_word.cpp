// The trigger-word model (models/trigger_word.cpp): the course's parameter
// counts, `synth` writing an example whose audio and labels are the data
// code's (tests/test_audio.cpp checks that code itself), a short training
// whose loss falls, a training step bitwise the same at 1 and 2 threads, the
// dev F1 column, and detect and plot as a user runs them (the detection rule
// itself: tests/test_trigger_detect.cpp).
#include "graph/plan.hpp"
#include "models/data/audio.hpp"
#include "models/data/trigger_synth.hpp"
#include "models/trigger_word.hpp"
#include "tests/cli_helpers.hpp"
#include "tests/helpers.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

using namespace sg;
using sg::test::graph_run;
using sg::test::has;
using sg::test::Result;
using sg::test::TempDir;

namespace {

std::string raw_dir() { return std::string(SEQGRAPH_DATA_DIR) + "/trigger_word/raw_data"; }

std::shared_ptr<const trigger::RawData> raw() {
  static const auto r = std::make_shared<const trigger::RawData>(trigger::load_raw_data(raw_dir()));
  return r;
}

// A checkpoint trained for a moment (2 examples, 1 epoch) in `dir`.
std::string small_checkpoint(const TempDir& dir) {
  const std::string ck = dir / "t.ckpt";
  const Result r = graph_run(fmt::format("trigger_word train -m 2 --dev-size 2 --epochs 1 --quiet --checkpoint '{}' "
                                         "--history '{}'", ck, dir / "h.csv"));
  INFO(r.out);
  REQUIRE(r.rc == 0);
  return ck;
}

// The times (ms) detect printed for each clip, with --quiet ("file<TAB>t1, t2").
std::vector<std::vector<double>> quiet_times(const std::string& out) {
  std::vector<std::vector<double>> r;
  for (const std::string& line : sg::test::lines_of(out)) {
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    std::vector<double> t;
    const std::string rest = line.substr(tab + 1);
    static const std::regex number("[0-9]+");
    for (std::sregex_iterator it(rest.begin(), rest.end(), number), end; it != end; ++it)
      t.push_back(std::stod(it->str()));
    r.push_back(t);
  }
  return r;
}

} // namespace

TEST_CASE("TriggerWord.SummaryHasTheCoursesParameters") {
  const Result r = graph_run("trigger_word summary");
  INFO(r.out);
  REQUIRE(r.rc == 0);
  CHECK(has(r.out, "Total params: 523,329"));
  CHECK(has(r.out, "Trainable params: 522,425"));
  CHECK(has(r.out, "Non-trainable params: 904"));
  for (const char* count : {"297,136", "125,184", "99,072", "784 (392 frozen)", "512 (256 frozen)", "129"})
    CHECK(has(r.out, count));
  CHECK(has(r.out, "(2, 1375, 196)")); // Conv1D: (5511 - 15) / 4 + 1 steps
  CHECK(has(r.out, "time_distributed       (2, 1375, 1)"));
}

TEST_CASE("TriggerWord.SynthWritesTheExample") {
  TempDir d;
  const Result r = graph_run(fmt::format("trigger_word synth --seed 3 --index 1 -o '{}'", d / "ex.wav"));
  INFO(r.out);
  REQUIRE(r.rc == 0);
  const trigger::RawData raw = trigger::load_raw_data(std::string(SEQGRAPH_DATA_DIR) + "/trigger_word/raw_data");
  const trigger::Example e = trigger::create_training_example(raw, 3, 1);
  CHECK(audio::read_wav(d / "ex.wav").samples == e.audio.samples);
  REQUIRE(!e.activates.empty());
  CHECK(has(r.out, fmt::format("activate  {:>5} .. {:>5} ms", e.activates[0].start_ms, e.activates[0].end_ms)));
  const int64_t first = int64_t(double(e.activates[0].end_ms) * trigger::kTy / 10000.0) + 1;
  CHECK(has(r.out, fmt::format("{}..", first)));
  const Result bad = graph_run(fmt::format("trigger_word synth --data-dir '{}' -o '{}'", d.path.string(), d / "x.wav"));
  CHECK(bad.rc == 1);
  CHECK(has(bad.out, "trigger_word/raw_data/activates: no such directory"));
}

TEST_CASE("TriggerWord.AShortTrainingLowersTheLoss") {
  // 8 examples in batches of 4, no dropout (a clearer trend in so few steps)
  const trigger_word::SynthSet set(raw(), 8, 5);
  ParamStore params;
  const fit::Data d{.train = std::shared_ptr<const fit::Dataset>(&set, [](auto*) {})};
  const std::vector<double> losses = fit::fit_quietly(trigger_word::spec(0.0), params, d, {.batch_size = 4}, 4, 1);
  REQUIRE(losses.size() == 4);
  INFO(losses[0], " ", losses[1], " ", losses[2], " ", losses[3]);
  CHECK(losses[0] > 0.4); // about ln 2 and more at first: a sigmoid near 0.5 on every step
  CHECK(losses[0] < 1.5);
  CHECK(losses[1] < losses[0]);
  CHECK(losses[2] < losses[1]);
  CHECK(losses[3] < losses[2]);
  CHECK(losses[3] < 0.8 * losses[0]);
}

TEST_CASE("TriggerWord.ATrainingStepIsBitwiseTheSameAtOneAndTwoThreads") {
  const trigger_word::SynthSet set(raw(), 3, 9);
  const auto run = [&](int threads) {
    set_threads(threads);
    ParamStore params;
    const fit::Data d{.train = std::shared_ptr<const fit::Dataset>(&set, [](auto*) {})};
    const auto losses = fit::fit_quietly(trigger_word::spec(), params, d, {.batch_size = 3}, 1, 4);
    set_threads(1);
    return std::pair{losses, params};
  };
  const auto [l1, p1] = run(1);
  const auto [l2, p2] = run(2);
  CHECK(l1 == l2);
  REQUIRE(p1.size() == p2.size());
  int64_t differ = 0;
  for (const auto& [name, t] : p1.all())
    if (max_abs_diff(t, p2.at(name)) != 0) {
      ++differ;
      MESSAGE(name, " differs");
    }
  CHECK(differ == 0);
  CHECK(p1.size() > 20); // the layers' weights and Adam's slots
}

TEST_CASE("TriggerWord.DetectionsScoreTheSetsActivates") {
  // An untrained network with a threshold below every output chimes once
  // per clip, 20 steps in (145 ms): only activates that end before 145 ms
  // and 1 s later could match, so nearly all are misses.
  const trigger_word::SynthSet set(raw(), 3, 2);
  ParamStore params;
  const fit::Spec spec = trigger_word::spec(); // the network holds it by reference
  fit::Network net(spec, params, 0);
  int64_t activates = 0;
  for (int64_t i = 0; i < 3; ++i) activates += int64_t(trigger::create_training_example(*raw(), 2, uint64_t(i)).activates.size());
  const trigger::Detections low = trigger_word::detections(net, set, {.threshold = 1e-6});
  CHECK(low.activates == activates);
  CHECK(low.chimes == 3);
  const trigger::Detections high = trigger_word::detections(net, set, {.threshold = 1 - 1e-7});
  CHECK(high.activates == activates);
  CHECK(high.chimes == 0);
  CHECK(high.hits == 0);
  CHECK(high.f1() == (activates ? 0.0 : 1.0));
  // only synthesized examples carry where their activates are
  struct Other : fit::Dataset {
    int64_t size() const override { return 1; }
    fit::Feeds batch(std::span<const int64_t>) const override { return {}; }
    uint64_t fingerprint() const override { return 0; }
  } other;
  CHECK_THROWS_AS(trigger_word::detections(net, other), std::logic_error);
}

TEST_CASE("TriggerWord.TrainReportsDevF1AndDetectAndPlotWork") {
  TempDir d;
  const std::string ck = small_checkpoint(d);
  CHECK(sg::test::read_file(d / "h.csv").starts_with("epoch,loss,accuracy,val_loss,val_accuracy,val_f1\n"));
  const std::string dev1 = raw_dir() + "/dev/1.wav", dev2 = raw_dir() + "/dev/2.wav";

  // Times per clip: one line each; a threshold below every output chimes once, at step 20.
  const Result all = graph_run(fmt::format("trigger_word detect --checkpoint '{}' '{}' '{}' --threshold 1e-9 --quiet",
                                           ck, dev1, dev2), true);
  INFO(all.out);
  REQUIRE(all.rc == 0);
  const auto times = quiet_times(all.out);
  REQUIRE(times.size() == 2);
  CHECK(times[0] == std::vector<double>{std::round(20 * 10000.0 / 1375)});
  CHECK(times[1] == times[0]);
  // ... and none above every output
  const Result none = graph_run(fmt::format("trigger_word detect --checkpoint '{}' '{}' --threshold 0.9999999", ck, dev1));
  INFO(none.out);
  CHECK(none.rc == 0);
  CHECK(has(none.out, "no detection"));
  CHECK(has(none.out, "real-time factor"));

  // -o: the clip with the chime overlaid where the detection is
  const Result chimed = graph_run(fmt::format("trigger_word detect --checkpoint '{}' '{}' --threshold 1e-9 -o '{}'",
                                              ck, dev1, d / "chimed.wav"));
  INFO(chimed.out);
  REQUIRE(chimed.rc == 0);
  CHECK(has(chimed.out, "1 detection at 145 ms"));
  const audio::Clip chime = audio::read_wav(std::string(SEQGRAPH_DATA_DIR) + "/trigger_word/chime.wav");
  const audio::Clip want = trigger::overlay(audio::read_wav(dev1), chime, int64_t(20 * 10000.0 / 1375));
  CHECK(audio::read_wav(d / "chimed.wav").samples == want.samples);

  // a long clip (25 s: 4 windows) and a short one (3 s: padded) chime once each
  audio::Clip a = audio::read_wav(dev1), b = audio::read_wav(dev2);
  audio::Clip long_clip = a;
  long_clip.samples.insert(long_clip.samples.end(), b.samples.begin(), b.samples.end());
  long_clip.samples.insert(long_clip.samples.end(), a.samples.begin(), a.samples.begin() + 5 * a.rate * a.channels);
  audio::write_wav(d / "long.wav", long_clip);
  audio::Clip short_clip = a;
  short_clip.samples.resize(size_t(3 * a.rate * a.channels));
  audio::write_wav(d / "short.wav", short_clip);
  const Result lengths = graph_run(fmt::format("trigger_word detect --checkpoint '{}' '{}' '{}' --threshold 1e-9", ck,
                                               d / "long.wav", d / "short.wav"));
  INFO(lengths.out);
  REQUIRE(lengths.rc == 0);
  CHECK(has(lengths.out, "for 4 windows]"));
  CHECK(has(lengths.out, "padded to 10 s"));
  CHECK(has(lengths.out, "3.00 s"));

  // the plot, in each format
  for (const char* ext : {"png", "svg", "pdf"}) {
    const std::string out = d / fmt::format("p.{}", ext);
    const Result p = graph_run(fmt::format("trigger_word plot --checkpoint '{}' '{}' -o '{}'", ck, dev1, out));
    INFO(p.out);
    CHECK(p.rc == 0);
    CHECK(std::filesystem::file_size(out) > 1000);
  }
  CHECK(sg::test::read_file(d / "p.png").starts_with("\x89PNG"));

  // bad input
  const Result two = graph_run(fmt::format("trigger_word detect --checkpoint '{}' '{}' '{}' -o '{}'", ck, dev1, dev2,
                                           d / "x.wav"));
  CHECK(two.rc == 2);
  CHECK(has(two.out, "-o writes one chimed clip: give one clip, not 2"));
  std::ofstream(d / "bad.wav") << "not a wav file";
  const Result bad = graph_run(fmt::format("trigger_word detect --checkpoint '{}' '{}'", ck, d / "bad.wav"));
  CHECK(bad.rc == 1);
  CHECK(has(bad.out, "bad.wav"));
  const Result format = graph_run(fmt::format("trigger_word plot --checkpoint '{}' '{}' -o '{}'", ck, dev1, d / "p.jpg"));
  CHECK(format.rc == 2);
  CHECK(has(format.out, "-o: "));
  const Result no_out = graph_run(fmt::format("trigger_word plot --checkpoint '{}' '{}'", ck, dev1));
  CHECK(no_out.rc == 2);
  const Result threshold = graph_run(fmt::format("trigger_word detect --checkpoint '{}' '{}' --threshold 1", ck, dev1));
  CHECK(threshold.rc == 2);
  CHECK(has(threshold.out, "--threshold"));
  const Result no_ck = graph_run(fmt::format("trigger_word detect --checkpoint '{}' '{}'", d / "none.ckpt", dev1));
  CHECK(no_ck.rc == 1);
  CHECK(has(no_ck.out, "none.ckpt"));
}
