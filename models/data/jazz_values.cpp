#include "models/data/jazz_values.hpp"

#include "graph/errors.hpp"
#include "graph/random.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <set>
#include <stdexcept>

namespace sg {

std::string JazzValue::label(int steps_per_quarter) const {
  std::string len = fmt::format("{:.3f}", double(steps) / steps_per_quarter);
  while (len.back() == '0') len.pop_back();
  if (len.back() == '.') len.pop_back();
  return rest ? "rest:" + len : fmt::format("{:+d}:{}", interval, len);
}

const JazzValue& JazzVocab::at(int index) const {
  if (index < 0 || index >= size())
    throw std::out_of_range(fmt::format("jazz value index {} outside the vocabulary of {}", index, size()));
  return values[static_cast<size_t>(index)];
}

std::string JazzVocab::label(int index) const { return at(index).label(steps_per_quarter); }

int JazzVocab::index_of(const JazzValue& v) const {
  auto it = std::lower_bound(values.begin(), values.end(), v);
  return it != values.end() && *it == v ? static_cast<int>(it - values.begin()) : -1;
}

int JazzVocab::index_of(const std::string& label) const {
  for (int i = 0; i < size(); ++i)
    if (this->label(i) == label) return i;
  return -1;
}

namespace {

void check_options(const JazzOptions& o) {
  auto bad = [](const std::string& what) { throw std::invalid_argument("jazz values: " + what); };
  if (o.steps_per_quarter < 1) bad(fmt::format("steps_per_quarter {} (>= 1 expected)", o.steps_per_quarter));
  if (o.max_steps < 1) bad(fmt::format("max_steps {} (>= 1 expected)", o.max_steps));
  if (o.min_rest_steps < 1) bad(fmt::format("min_rest_steps {} (>= 1 expected)", o.min_rest_steps));
  if (o.reference_pitch < 0 || o.reference_pitch > 127)
    bad(fmt::format("reference_pitch {} (0..127 expected)", o.reference_pitch));
}

// The melody's notes made monophonic: sorted by start step, of notes starting
// on one step only the highest kept. Returns them with their start steps.
std::vector<std::pair<int64_t, MidiNote>> monophonic(std::vector<MidiNote> notes, int tpq, int spq) {
  auto step = [&](int64_t tick) { return (2 * tick * spq + tpq) / (2 * int64_t(tpq)); };
  std::vector<std::pair<int64_t, MidiNote>> q;
  for (const auto& n : notes) q.emplace_back(step(n.start_tick), n);
  std::stable_sort(q.begin(), q.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second.pitch > b.second.pitch;
  });
  std::vector<std::pair<int64_t, MidiNote>> out;
  for (const auto& e : q)
    if (out.empty() || out.back().first != e.first) out.push_back(e);
  return out;
}

} // namespace

std::vector<JazzValue> melody_values(std::vector<MidiNote> notes, int tpq, const JazzOptions& o) {
  check_options(o);
  if (tpq < 1) throw std::invalid_argument(fmt::format("jazz values: ticks_per_quarter {}", tpq));
  for (const auto& n : notes)
    if (n.start_tick < 0 || n.end_tick < n.start_tick)
      throw std::invalid_argument(fmt::format("jazz values: note with ticks {}..{}", n.start_tick, n.end_tick));
  const auto mono = monophonic(std::move(notes), tpq, o.steps_per_quarter);
  auto step = [&](int64_t tick) { return (2 * tick * o.steps_per_quarter + tpq) / (2 * int64_t(tpq)); };
  std::vector<JazzValue> out;
  int prev = o.reference_pitch;
  for (size_t i = 0; i < mono.size(); ++i) {
    const auto& [start, n] = mono[i];
    const int64_t end = step(n.end_tick);
    const int64_t next = i + 1 < mono.size() ? mono[i + 1].first : std::max(end, start + 1);
    int64_t len = std::clamp<int64_t>(end - start, 1, next - start);
    int64_t silence = next - start - len;
    if (silence < o.min_rest_steps) len += silence, silence = 0;
    if (len > o.max_steps) silence += len - o.max_steps, len = o.max_steps;
    if (i + 1 == mono.size()) silence = 0; // nothing follows the last note
    out.push_back({false, n.pitch - prev, int(len)});
    prev = n.pitch;
    while (silence > 0) {
      const int64_t r = std::min<int64_t>(silence, o.max_steps);
      out.push_back({true, 0, int(r)});
      silence -= r;
    }
  }
  return out;
}

JazzCorpus build_corpus(const MidiFile& file, const JazzOptions& o) {
  check_options(o);
  if (o.melody_track < 0 || o.melody_track >= int(file.tracks.size()))
    throw IoError(fmt::format("jazz corpus: melody track {} is not in the file ({} tracks)", o.melody_track,
                              file.tracks.size()));
  JazzCorpus c;
  c.options = o;
  c.ticks_per_quarter = file.ticks_per_quarter;
  c.bpm = 60e6 / file.us_per_quarter_at(o.start_tick);
  std::vector<MidiNote> notes;
  for (const auto& n : file.notes)
    if (n.track == o.melody_track && n.start_tick >= o.start_tick && n.start_tick < o.end_tick)
      notes.push_back(n);
  if (notes.empty())
    throw IoError(fmt::format("jazz corpus: melody track {} ('{}') has no notes in ticks [{}, {})", o.melody_track,
                              file.tracks[size_t(o.melody_track)].name, o.start_tick, o.end_tick));
  for (const auto& [s, n] : monophonic(notes, file.ticks_per_quarter, o.steps_per_quarter)) c.melody.push_back(n);
  c.low_pitch = 127, c.high_pitch = 0;
  for (const auto& n : c.melody) {
    c.low_pitch = std::min(c.low_pitch, n.pitch);
    c.high_pitch = std::max(c.high_pitch, n.pitch);
  }
  const auto vals = melody_values(notes, file.ticks_per_quarter, o);
  const std::set<JazzValue> distinct(vals.begin(), vals.end());
  c.vocab.steps_per_quarter = o.steps_per_quarter;
  c.vocab.values.assign(distinct.begin(), distinct.end());
  for (const auto& v : vals) c.values.push_back(c.vocab.index_of(v));
  return c;
}

JazzCorpus load_jazz_corpus(const std::string& path, const JazzOptions& options) {
  const MidiFile file = read_midi(path); // its errors name the file
  try {
    return build_corpus(file, options);
  } catch (const IoError& e) {
    throw IoError(fmt::format("{}: {}", path, e.what()));
  }
}

uint64_t vocab_fingerprint(const JazzVocab& vocab) {
  uint64_t h = rng::mix(rng::hash_name("jazz/vocab") ^ uint64_t(vocab.steps_per_quarter));
  for (const JazzValue& v : vocab.values)
    h = rng::mix(h ^ (uint64_t(v.rest) | uint64_t(uint32_t(v.interval)) << 1 | uint64_t(v.steps) << 40));
  return h;
}

JazzWindows windows(const JazzCorpus& corpus, int m, int Tx, uint64_t seed) {
  const auto len = static_cast<int64_t>(corpus.values.size());
  if (m < 1 || Tx < 2) throw std::invalid_argument(fmt::format("jazz windows: m = {}, Tx = {}", m, Tx));
  if (len < Tx + 1)
    throw std::invalid_argument(
        fmt::format("jazz windows: a corpus of {} values is too short for windows of Tx = {}", len, Tx));
  JazzWindows w;
  w.m = m, w.Tx = Tx, w.n_values = corpus.vocab.size();
  w.x.assign(size_t(m) * size_t(Tx), -1);
  w.y.assign(size_t(m) * size_t(Tx), -1);
  rng::Stream r{seed, rng::hash_name("jazz_windows")};
  for (int i = 0; i < m; ++i) {
    const auto s = std::min<int64_t>(int64_t(r.uniform() * double(len - Tx)), len - Tx - 1);
    w.starts.push_back(s);
    for (int t = 1; t < Tx; ++t) {
      const int v = corpus.values[size_t(s + t)];
      w.x[size_t(i * Tx + t)] = v;
      w.y[size_t(i * Tx + t - 1)] = v;
    }
  }
  return w;
}

uint64_t windows_fingerprint(const JazzWindows& w) {
  uint64_t h = rng::mix(rng::hash_name("jazz/windows") ^ uint64_t(w.m) ^ uint64_t(w.Tx) << 20 ^
                        uint64_t(w.n_values) << 40);
  for (int v : w.x) h = rng::mix(h ^ uint64_t(uint32_t(v)));
  for (int v : w.y) h = rng::mix(h ^ uint64_t(uint32_t(v)) << 1);
  return h;
}

std::pair<Tensor, Tensor> one_hot(const JazzWindows& w, DType dtype) {
  Tensor X({w.m, w.Tx, w.n_values}, dtype), Y({w.Tx, w.m, w.n_values}, dtype);
  for (int i = 0; i < w.m; ++i)
    for (int t = 0; t < w.Tx; ++t) {
      if (int v = w.x_at(i, t); v >= 0) X.set((int64_t(i) * w.Tx + t) * w.n_values + v, 1.0);
      if (int v = w.y_at(i, t); v >= 0) Y.set((int64_t(t) * w.m + i) * w.n_values + v, 1.0);
    }
  return {std::move(X), std::move(Y)};
}

fit::Feeds JazzDataset::batch(std::span<const int64_t> idx) const {
  const int64_t B = int64_t(idx.size()), Tx = w_.Tx, V = w_.n_values;
  Tensor X({B, Tx, V}, DType::f32), Y({Tx, B, V}, DType::f32);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < Tx; ++t) {
      const int i = int(idx[size_t(b)]);
      if (int v = w_.x_at(i, int(t)); v >= 0) X.set((b * Tx + t) * V + v, 1.0);
      if (int v = w_.y_at(i, int(t)); v >= 0) Y.set((t * B + b) * V + v, 1.0);
    }
  return {{"X", std::move(X)}, {"Y", std::move(Y)}};
}

JazzRender render_options(const JazzCorpus& c) {
  JazzRender r;
  r.ticks_per_quarter = c.ticks_per_quarter;
  r.reference_pitch = c.options.reference_pitch;
  r.low_pitch = c.low_pitch;
  r.high_pitch = c.high_pitch;
  return r;
}

std::vector<MidiNote> notes_from_values(const std::vector<JazzValue>& values, int spq, const JazzRender& r) {
  auto bad = [](const std::string& what) { throw std::invalid_argument("jazz notes: " + what); };
  if (spq < 1) bad(fmt::format("steps_per_quarter {}", spq));
  if (r.ticks_per_quarter < 1) bad(fmt::format("ticks_per_quarter {}", r.ticks_per_quarter));
  if (r.low_pitch < 0 || r.high_pitch > 127 || r.low_pitch > r.high_pitch)
    bad(fmt::format("pitch range {}..{}", r.low_pitch, r.high_pitch));
  if (r.reference_pitch < 0 || r.reference_pitch > 127) bad(fmt::format("reference pitch {}", r.reference_pitch));
  std::vector<MidiNote> out;
  int64_t at = 0; // in steps
  int prev = r.reference_pitch;
  auto tick = [&](int64_t step) { return step * r.ticks_per_quarter / spq; };
  for (const auto& v : values) {
    if (v.steps < 1) bad(fmt::format("value of {} steps", v.steps));
    if (!v.rest) {
      int64_t p = int64_t(prev) + v.interval;
      if (r.high_pitch - r.low_pitch >= 11) { // move by octaves into the range
        if (p > r.high_pitch) p -= 12 * ((p - r.high_pitch + 11) / 12);
        if (p < r.low_pitch) p += 12 * ((r.low_pitch - p + 11) / 12);
      } else {
        p = std::clamp<int64_t>(p, r.low_pitch, r.high_pitch);
      }
      out.push_back({r.track, r.channel, int(p), r.velocity, tick(at), tick(at + v.steps)});
      prev = p;
    }
    at += v.steps;
  }
  return out;
}

std::vector<MidiNote> notes_from_values(const std::vector<int>& values, const JazzVocab& vocab,
                                        const JazzRender& render) {
  std::vector<JazzValue> vals;
  vals.reserve(values.size());
  for (int v : values) vals.push_back(vocab.at(v));
  return notes_from_values(vals, vocab.steps_per_quarter, render);
}

MidiFile jazz_midi(const std::vector<int>& values, const JazzCorpus& corpus) {
  const JazzRender r = render_options(corpus);
  return make_midi(notes_from_values(values, corpus.vocab, r), r.ticks_per_quarter, corpus.bpm,
                   "seqgraph jazz", 26);
}

} // namespace sg
