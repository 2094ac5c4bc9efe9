// From the model's output track to chimes, and chimes scored against where
// the activates really end (the trigger-word model's detection F1).
//
// The chime rule (the course's chime_on_activate, as issue 12 states it): a
// chime when more than `more_than` (20) consecutive output steps are at or
// above the threshold, at the step that makes the run long enough; then the
// count is reset, and it starts again only when the track has gone below the
// threshold (so one long run above it chimes once, however long it is).
//
// A chime detects an activate when it falls within `window_ms` (1 s) after
// the activate's end (end <= chime <= end + window). Each chime detects at
// most one activate and each activate is detected at most once; the rest
// are false chimes and misses.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace sg::trigger {

struct ChimeRule {
  double threshold = 0.5;
  int64_t more_than = 20; // consecutive steps at or above the threshold
};

// The output steps of `track` at which the rule chimes.
std::vector<int64_t> chime_steps(std::span<const float> track, const ChimeRule& rule = {});

// Time (ms) of output step i when `steps` steps cover `duration_ms` (the
// course's i / Ty * duration).
inline double step_ms(int64_t i, int64_t steps, double duration_ms) {
  return double(i) * duration_ms / double(steps);
}

struct Detections {
  int64_t activates = 0, chimes = 0, hits = 0;
  int64_t misses() const { return activates - hits; }
  int64_t false_chimes() const { return chimes - hits; }
  double precision() const { return chimes ? double(hits) / double(chimes) : 1.0; }
  double recall() const { return activates ? double(hits) / double(activates) : 1.0; }
  // 2 hits / (chimes + activates); 1 when there is nothing to find and no chime
  double f1() const { return chimes + activates ? 2.0 * double(hits) / double(chimes + activates) : 1.0; }
  Detections& operator+=(const Detections& o) {
    activates += o.activates, chimes += o.chimes, hits += o.hits;
    return *this;
  }
};

// Clips longer than the model's 10 s window: windows of `window` frames whose
// starts are every `hop` frames, the last one moved back to end with the
// clip (a clip of at most one window: one window at 0, padded by the caller).
std::vector<int64_t> window_starts(int64_t frames, int64_t window, int64_t hop);

// A clip's output track: step i at ms[i] with probability p[i].
struct Track {
  std::vector<double> ms;
  std::vector<float> p;
};
// The track of a whole clip of `frames` frames at `rate` from its windows'
// tracks (each of equal length, covering its window): every moment from the
// window whose centre is nearest (two windows' halves meet midway between
// their centres), steps past the clip's end left out.
Track stitch(const std::vector<int64_t>& starts, const std::vector<std::vector<float>>& tracks, int64_t window,
             int64_t frames, int rate);

// Chimes (ms) against the activates' end times (ms), matched as above
// (greedily in time order, which is a largest matching here: every
// activate's window is equally long).
Detections score(std::vector<double> chime_ms, std::vector<double> activate_end_ms, double window_ms = 1000);

} // namespace sg::trigger
