// The trigger-word training data, synthesized as the course's
// create_training_example does (td_utils.py and the assignment, with pydub's
// arithmetic): a 10 s background lowered by 20 dB, 0-4 random "activate"
// clips and 0-2 random negative words laid over it at random non-overlapping
// positions, the mix brought to -20 dBFS; labels y (Ty = 1375 output steps)
// at 1 for the 50 steps after each activate ends.
//
// The course's pieces, by name:
//   get_random_time_segment(ms)   start uniform in [0, 10000 - ms), end = start + ms - 1
//   is_overlapping(s, previous)   s.start <= p.end and s.end >= p.start for some p
//   insert_audio_clip             up to 7 draws for a free segment, else the clip is
//                                 dropped and the segment is (10000, 10000)
//   insert_ones(y, end_ms)        ones at floor(end_ms * Ty / 10000) + 1 ... + 50, below Ty
// and pydub's: `background - 20` (each sample times 10^(-20/20), floored,
// clipped to 16 bit), overlay (a mono clip duplicated to stereo, the
// position floor(ms * rate / 1000) frames, samples added with saturation,
// the clip cut at the background's end), dBFS (20 log10 of the integer RMS
// over all samples / 32768), match_target_amplitude (the gain that moves
// dBFS to the target).
//
// Randomness: example i of seed S is a pure function of (S, i) (sg::rng), so
// any number of examples can be drawn in any order or on any thread.
#pragma once

#include "models/data/audio.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace sg::trigger {

constexpr int kTy = 1375;          // output steps of the model
constexpr int64_t kClipMs = 10000; // a training example's length

struct Segment {
  int64_t start_ms = 0, end_ms = 0; // both included
  bool operator==(const Segment&) const = default;
};

bool is_overlapping(const Segment& s, const std::vector<Segment>& previous);
// y (length Ty) with the 50 steps after end_ms set to 1.
void insert_ones(std::vector<float>& y, int64_t end_ms);

// pydub's arithmetic on 16-bit clips.
audio::Clip apply_gain(const audio::Clip& c, double db);
audio::Clip overlay(const audio::Clip& base, const audio::Clip& clip, int64_t position_ms);
double dbfs(const audio::Clip& c);
audio::Clip match_target_amplitude(const audio::Clip& c, double target_dbfs);

// The course's raw clips: raw_data/{activates,negatives,backgrounds}/*.wav,
// each folder's files in name order. Throws IoError naming what is missing
// or unreadable; a background must be at least 10 s (it is cut to 10 s).
struct RawData {
  std::vector<audio::Clip> activates, negatives, backgrounds;
  std::vector<std::string> activate_names, negative_names, background_names;
};
RawData load_raw_data(const std::string& raw_dir);

struct Example {
  audio::Clip audio;                         // 10 s, the background's channels
  std::vector<float> y;                      // Ty labels
  std::vector<Segment> activates, negatives; // where the clips went (dropped ones left out)
  std::vector<int> activate_ids, negative_ids; // which raw clips they are
  int background_id = 0;
};

// Example `index` of `seed`.
Example create_training_example(const RawData& raw, uint64_t seed, uint64_t index, int ty = kTy);

} // namespace sg::trigger
