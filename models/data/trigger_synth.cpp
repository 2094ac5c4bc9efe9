#include "models/data/trigger_synth.hpp"

#include "graph/errors.hpp"
#include "graph/random.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>

namespace sg::trigger {

namespace fs = std::filesystem;
using audio::Clip;

namespace {

int16_t saturate(double v) { return int16_t(std::clamp(v, -32768.0, 32767.0)); }

// audioop's fbound: clipped, then floored.
int16_t fbound(double v) {
  if (v > 32767.0) v = 32767.0;
  else if (v < -32767.0) v = -32768.0;
  return int16_t(std::floor(v));
}

Clip to_channels(const Clip& c, int channels) {
  if (c.channels == channels) return c;
  if (c.channels != 1 || channels != 2)
    throw std::invalid_argument(fmt::format("overlay: {} channels onto {}", c.channels, channels));
  Clip s = c;
  s.channels = 2;
  s.samples.resize(c.samples.size() * 2);
  for (size_t i = 0; i < c.samples.size(); ++i) s.samples[2 * i] = s.samples[2 * i + 1] = c.samples[i];
  return s;
}

// numpy's randint(low, high): uniform in [low, high)
int64_t randint(rng::Stream& r, int64_t low, int64_t high) {
  if (high <= low) throw std::invalid_argument(fmt::format("randint({}, {})", low, high));
  return low + std::min(int64_t(r.uniform() * double(high - low)), high - low - 1);
}

Segment random_time_segment(rng::Stream& r, int64_t segment_ms) {
  const int64_t start = randint(r, 0, kClipMs - segment_ms);
  return {start, start + segment_ms - 1};
}

// The course's insert_audio_clip: the segment used, or (10000, 10000) when
// none was free (the clip is then left out).
Segment insert_audio_clip(Clip& background, const Clip& clip, std::vector<Segment>& previous, rng::Stream& r) {
  const int64_t ms = clip.ms();
  if (ms >= kClipMs) return {kClipMs, kClipMs};
  Segment s = random_time_segment(r, ms);
  for (int retry = 5; is_overlapping(s, previous) && retry >= 0; --retry) s = random_time_segment(r, ms);
  if (is_overlapping(s, previous)) return {kClipMs, kClipMs};
  previous.push_back(s);
  background = overlay(background, clip, s.start_ms);
  return s;
}

std::vector<fs::path> wavs_in(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw IoError(fmt::format("{}: no such directory (the course's trigger-word clips: "
                              "raw_data/activates, negatives, backgrounds)", dir.string()));
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".wav") files.push_back(e.path());
  if (ec) throw IoError(fmt::format("{}: {}", dir.string(), ec.message()));
  std::sort(files.begin(), files.end());
  if (files.empty()) throw IoError(fmt::format("{}: no .wav files", dir.string()));
  return files;
}

} // namespace

bool is_overlapping(const Segment& s, const std::vector<Segment>& previous) {
  for (const Segment& p : previous)
    if (s.start_ms <= p.end_ms && s.end_ms >= p.start_ms) return true;
  return false;
}

void insert_ones(std::vector<float>& y, int64_t end_ms) {
  const int64_t ty = int64_t(y.size());
  const int64_t end_y = int64_t(std::floor(double(end_ms) * double(ty) / 10000.0));
  if (end_y >= ty) return;
  for (int64_t i = end_y + 1; i < end_y + 51; ++i)
    if (i >= 0 && i < ty) y[size_t(i)] = 1.0f;
}

Clip apply_gain(const Clip& c, double db) {
  const double factor = std::pow(10.0, db / 20.0);
  Clip out = c;
  for (auto& v : out.samples) v = fbound(double(v) * factor);
  return out;
}

Clip overlay(const Clip& base, const Clip& clip, int64_t position_ms) {
  if (base.rate != clip.rate)
    throw std::invalid_argument(fmt::format("overlay: {} Hz onto {} Hz", clip.rate, base.rate));
  const int channels = std::max(base.channels, clip.channels);
  Clip out = to_channels(base, channels);
  const Clip seg = to_channels(clip, channels);
  const int64_t at = std::min(int64_t(double(position_ms) * (double(base.rate) / 1000.0)), out.frames());
  const int64_t n = std::min(seg.frames(), out.frames() - at) * channels;
  int16_t* dst = out.samples.data() + at * channels;
  for (int64_t i = 0; i < n; ++i) dst[i] = saturate(double(dst[i]) + double(seg.samples[size_t(i)]));
  return out;
}

double dbfs(const Clip& c) {
  if (c.samples.empty()) return -INFINITY;
  double sum = 0;
  for (int16_t v : c.samples) sum += double(v) * double(v);
  const auto rms = static_cast<unsigned>(std::sqrt(sum / double(c.samples.size())));
  if (rms == 0) return -INFINITY;
  return 20.0 * (std::log(double(rms) / 32768.0) / std::log(10.0)); // pydub's math.log(r, 10), not log10
}

Clip match_target_amplitude(const Clip& c, double target_dbfs) {
  const double now = dbfs(c);
  if (!std::isfinite(now)) return c; // silence stays silence
  return apply_gain(c, target_dbfs - now);
}

RawData load_raw_data(const std::string& raw_dir) {
  RawData r;
  auto load = [&](const char* sub, std::vector<Clip>& clips, std::vector<std::string>& names) {
    for (const fs::path& p : wavs_in(fs::path(raw_dir) / sub)) {
      clips.push_back(audio::read_wav(p.string()));
      names.push_back(p.filename().string());
    }
  };
  load("activates", r.activates, r.activate_names);
  load("negatives", r.negatives, r.negative_names);
  load("backgrounds", r.backgrounds, r.background_names);
  const int64_t frames = kClipMs * audio::kRate / 1000;
  for (size_t i = 0; i < r.backgrounds.size(); ++i) {
    Clip& b = r.backgrounds[i];
    if (b.frames() < frames)
      throw IoError(fmt::format("{}/backgrounds/{}: {:.2f} s; a background must be at least 10 s", raw_dir,
                                r.background_names[i], b.seconds()));
    b.samples.resize(size_t(frames * b.channels));
  }
  return r;
}

Example create_training_example(const RawData& raw, uint64_t seed, uint64_t index, int ty) {
  if (raw.activates.empty() || raw.negatives.empty() || raw.backgrounds.empty())
    throw std::invalid_argument("create_training_example: no activates, negatives or backgrounds");
  rng::Stream r{seed, rng::hash(seed, rng::hash_name("trigger_word/example"), index)};
  Example e;
  e.background_id = int(randint(r, 0, int64_t(raw.backgrounds.size())));
  Clip background = apply_gain(raw.backgrounds[size_t(e.background_id)], -20);
  e.y.assign(size_t(ty), 0.0f);
  std::vector<Segment> previous;
  const int n_activates = int(randint(r, 0, 5));
  std::vector<int> ids;
  for (int i = 0; i < n_activates; ++i) ids.push_back(int(randint(r, 0, int64_t(raw.activates.size()))));
  for (int id : ids) {
    const Segment s = insert_audio_clip(background, raw.activates[size_t(id)], previous, r);
    insert_ones(e.y, s.end_ms);
    if (s.start_ms < kClipMs) {
      e.activates.push_back(s);
      e.activate_ids.push_back(id);
    }
  }
  const int n_negatives = int(randint(r, 0, 3));
  ids.clear();
  for (int i = 0; i < n_negatives; ++i) ids.push_back(int(randint(r, 0, int64_t(raw.negatives.size()))));
  for (int id : ids) {
    const Segment s = insert_audio_clip(background, raw.negatives[size_t(id)], previous, r);
    if (s.start_ms < kClipMs) {
      e.negatives.push_back(s);
      e.negative_ids.push_back(id);
    }
  }
  e.audio = match_target_amplitude(background, -20.0);
  return e;
}

} // namespace sg::trigger
