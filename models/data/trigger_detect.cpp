#include "models/data/trigger_detect.hpp"

#include <algorithm>
#include <stdexcept>

namespace sg::trigger {

std::vector<int64_t> chime_steps(std::span<const float> track, const ChimeRule& rule) {
  if (rule.more_than < 0) throw std::invalid_argument("chime rule: more_than must be >= 0");
  std::vector<int64_t> at;
  int64_t run = 0;
  bool chimed = false; // in this run above the threshold
  for (size_t i = 0; i < track.size(); ++i) {
    if (!(double(track[i]) >= rule.threshold)) { // below (or NaN): the run ends
      run = 0, chimed = false;
      continue;
    }
    if (chimed) continue;
    if (++run > rule.more_than) {
      at.push_back(int64_t(i));
      run = 0, chimed = true;
    }
  }
  return at;
}

Detections score(std::vector<double> chime_ms, std::vector<double> activate_end_ms, double window_ms) {
  std::sort(chime_ms.begin(), chime_ms.end());
  std::sort(activate_end_ms.begin(), activate_end_ms.end());
  Detections d{.activates = int64_t(activate_end_ms.size()), .chimes = int64_t(chime_ms.size())};
  size_t c = 0;
  for (double end : activate_end_ms) {
    while (c < chime_ms.size() && chime_ms[c] < end) ++c; // before this end: too early for it and every later one
    if (c < chime_ms.size() && chime_ms[c] <= end + window_ms) ++d.hits, ++c;
  }
  return d;
}

std::vector<int64_t> window_starts(int64_t frames, int64_t window, int64_t hop) {
  if (window < 1 || hop < 1 || hop > window)
    throw std::invalid_argument("window_starts: need 1 <= hop <= window");
  std::vector<int64_t> s{0};
  while (s.back() + window < frames) s.push_back(std::min(s.back() + hop, frames - window));
  return s;
}

Track stitch(const std::vector<int64_t>& starts, const std::vector<std::vector<float>>& tracks, int64_t window,
             int64_t frames, int rate) {
  if (starts.size() != tracks.size() || starts.empty())
    throw std::invalid_argument("stitch: one track per window start, at least one");
  Track t;
  for (size_t w = 0; w < starts.size(); ++w) {
    const int64_t steps = int64_t(tracks[w].size());
    // this window's moments: from midway after the previous centre to midway before the next
    const double lo = w == 0 ? 0 : double(starts[w - 1] + starts[w]) / 2 + double(window) / 2;
    const double hi = w + 1 == starts.size() ? double(frames) : double(starts[w] + starts[w + 1]) / 2 + double(window) / 2;
    for (int64_t i = 0; i < steps; ++i) {
      const double frame = double(starts[w]) + double(i) * double(window) / double(steps);
      if (frame < lo || frame >= hi || frame >= double(frames)) continue;
      t.ms.push_back(frame * 1000.0 / rate);
      t.p.push_back(tracks[w][size_t(i)]);
    }
  }
  return t;
}

} // namespace sg::trigger
