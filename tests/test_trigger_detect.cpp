// From the trigger-word model's output track to chimes and their score
// (models/data/trigger_detect.hpp): the chime rule on hand-written tracks,
// the matching of chimes to activates, and the windows of a long clip.
#include "models/data/trigger_detect.hpp"

#include <cmath>
#include <doctest/doctest.h>
#include <limits>
#include <stdexcept>
#include <vector>

using namespace sg::trigger;

namespace {

// `n` steps of `low`, with [from, from + len) of each run set to `high`.
std::vector<float> track(int n, std::vector<std::pair<int, int>> runs, float high = 0.9f, float low = 0.1f) {
  std::vector<float> t(size_t(n), low);
  for (auto [from, len] : runs)
    for (int i = from; i < from + len; ++i) t[size_t(i)] = high;
  return t;
}

} // namespace

TEST_CASE("TriggerDetect.TheChimeRule") {
  // more than 20 steps: 20 are not enough, the 21st chimes, on that step
  CHECK(chime_steps(track(100, {{10, 20}})).empty());
  CHECK(chime_steps(track(100, {{10, 21}})) == std::vector<int64_t>{30});
  // one long run chimes once, however long
  CHECK(chime_steps(track(200, {{10, 150}})) == std::vector<int64_t>{30});
  // the rule starts again after the track goes below
  CHECK(chime_steps(track(200, {{10, 25}, {36, 25}, {100, 10}})) == std::vector<int64_t>{30, 56});
  // a run at the end of the track
  CHECK(chime_steps(track(50, {{29, 21}})) == std::vector<int64_t>{49});
  // at the threshold counts; below it (or NaN) ends the run
  CHECK(chime_steps(track(60, {{0, 21}}, 0.5f)) == std::vector<int64_t>{20});
  CHECK(chime_steps(track(60, {{0, 40}}, std::nextafter(0.5f, 0.f))).empty());
  std::vector<float> t = track(60, {{0, 40}});
  t[15] = std::numeric_limits<float>::quiet_NaN();
  CHECK(chime_steps(t) == std::vector<int64_t>{36}); // 16..36 is the first run of 21
  // another threshold and run length
  CHECK(chime_steps(track(60, {{5, 10}}, 0.8f), {.threshold = 0.85, .more_than = 3}).empty());
  CHECK(chime_steps(track(60, {{5, 10}}, 0.9f), {.threshold = 0.85, .more_than = 3}) == std::vector<int64_t>{8});
  CHECK(chime_steps(track(10, {{4, 1}}), {.threshold = 0.5, .more_than = 0}) == std::vector<int64_t>{4});
  CHECK(chime_steps(std::vector<float>{}).empty());
  CHECK_THROWS_AS(chime_steps(track(5, {}), {.threshold = 0.5, .more_than = -1}), std::invalid_argument);
  // an output step's time: the course's i / Ty * 10 s
  CHECK(step_ms(0, 1375, 10000) == 0);
  CHECK(step_ms(1375, 1375, 10000) == doctest::Approx(10000));
  CHECK(step_ms(634, 1375, 10000) == doctest::Approx(634 * 10000.0 / 1375));
}

TEST_CASE("TriggerDetect.ScoreMatchesChimesWithinASecondAfterTheEnd") {
  // at the end and 1 s after it count; before it or later do not
  CHECK(score({2000}, {2000}).hits == 1);
  CHECK(score({3000}, {2000}).hits == 1);
  CHECK(score({3000.5}, {2000}).hits == 0);
  CHECK(score({1999}, {2000}).hits == 0);
  // two chimes for one activate: one hit, one false chime
  const Detections twice = score({2100, 2600}, {2000});
  CHECK(twice.hits == 1);
  CHECK(twice.false_chimes() == 1);
  CHECK(twice.misses() == 0);
  CHECK(twice.precision() == doctest::Approx(0.5));
  CHECK(twice.recall() == doctest::Approx(1.0));
  CHECK(twice.f1() == doctest::Approx(2.0 / 3));
  // two activates close together, each with its chime (the matching is not
  // fooled by the first chime being in both windows); unsorted input
  const Detections pair = score({2100, 1600}, {1500, 1000});
  CHECK(pair.hits == 2);
  CHECK(pair.f1() == doctest::Approx(1.0));
  // one chime in both windows: it detects one of them
  const Detections one = score({1600}, {1000, 1500});
  CHECK(one.hits == 1);
  CHECK(one.misses() == 1);
  // nothing to find and no chime: perfect; a chime then is a false one
  CHECK(score({}, {}).f1() == 1.0);
  CHECK(score({5000}, {}).f1() == 0.0);
  CHECK(score({}, {5000}).f1() == 0.0);
  // sums over clips
  Detections all = score({2100}, {2000});
  all += score({}, {4000});
  all += score({7000}, {});
  CHECK(all.activates == 2);
  CHECK(all.chimes == 2);
  CHECK(all.hits == 1);
  CHECK(all.f1() == doctest::Approx(0.5));
  // another window
  CHECK(score({2600}, {2000}, 500).hits == 0);
}

TEST_CASE("TriggerDetect.WindowsOfALongClip") {
  const int64_t w = 441000, hop = 220500;
  CHECK(window_starts(1000, w, hop) == std::vector<int64_t>{0}); // short: one window, padded
  CHECK(window_starts(w, w, hop) == std::vector<int64_t>{0});
  CHECK(window_starts(w + 1, w, hop) == std::vector<int64_t>{0, 1});
  CHECK(window_starts(2 * w, w, hop) == std::vector<int64_t>{0, hop, w});
  CHECK(window_starts(900000, w, hop) == std::vector<int64_t>{0, hop, 441000, 459000}); // the last ends at 900000
  CHECK_THROWS_AS(window_starts(10, 10, 11), std::invalid_argument);
  CHECK_THROWS_AS(window_starts(10, 10, 0), std::invalid_argument);
}

TEST_CASE("TriggerDetect.StitchTakesEachMomentFromTheNearestCentre") {
  // windows of 10 frames, 5 output steps each (a step every 2 frames), at 0
  // and 5; centres 5 and 10, so window 0 gives frames < 7.5 and window 1 the rest
  const Track t = stitch({0, 5}, {{0, 1, 2, 3, 4}, {10, 11, 12, 13, 14}}, 10, 15, 1000);
  CHECK(t.ms == std::vector<double>{0, 2, 4, 6, 9, 11, 13});
  CHECK(t.p == std::vector<float>{0, 1, 2, 3, 12, 13, 14});
  // a clip shorter than the window: the steps past its end are left out
  const Track s = stitch({0}, {{5, 6, 7, 8, 9}}, 10, 6, 1000);
  CHECK(s.ms == std::vector<double>{0, 2, 4});
  CHECK(s.p == std::vector<float>{5, 6, 7});
  // times in ms at the rate
  CHECK(stitch({0}, {{1, 2}}, 44100, 44100, 44100).ms == std::vector<double>{0, 500});
  CHECK_THROWS_AS(stitch({0, 5}, {{1}}, 10, 15, 1000), std::invalid_argument);
  CHECK_THROWS_AS(stitch({}, {}, 10, 15, 1000), std::invalid_argument);
}
