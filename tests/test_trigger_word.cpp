// The trigger-word model (models/trigger_word.cpp) through graph-run: the
// course's parameter counts, and `synth` writing an example whose audio and
// labels are the data code's (tests/test_audio.cpp checks that code itself).
#include "models/data/audio.hpp"
#include "models/data/trigger_synth.hpp"
#include "tests/cli_helpers.hpp"
#include "tests/helpers.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <string>

using namespace sg;
using sg::test::graph_run;
using sg::test::has;
using sg::test::Result;
using sg::test::TempDir;

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
