// The trigger-word data code: WAV reading and writing (libsndfile), the
// course's spectrogram (FFTW) against matplotlib's on the course's files, and
// the course's synthesis of training examples against its own cases and
// against pydub mixing the same clips at the same positions
// (tools/numpy_reference/trigger_reference.py computes both references).
#include "graph/npy.hpp"
#include "models/data/audio.hpp"
#include "models/data/spectrogram.hpp"
#include "models/data/trigger_synth.hpp"
#include "tests/helpers.hpp"

#include <cmath>
#include <cstdio>
#include <doctest/doctest.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <numbers>
#include <sndfile.h>
#include <string>
#include <vector>

using namespace sg;
using namespace sg::test;
using audio::Clip;

namespace {

const std::string kRaw = std::string(SEQGRAPH_DATA_DIR) + "/trigger_word/raw_data";

std::string io_error(const std::function<void()>& f) { return error_of<IoError>(f); }
bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

Clip sine(int rate, int channels, double seconds, double hz, double amplitude = 12000) {
  Clip c;
  c.rate = rate;
  c.channels = channels;
  const int64_t n = int64_t(seconds * rate);
  for (int64_t f = 0; f < n; ++f)
    for (int ch = 0; ch < channels; ++ch)
      c.samples.push_back(int16_t(std::lrint(amplitude * std::sin(2 * std::numbers::pi * hz * double(f) / rate +
                                                                  ch))));
  return c;
}

// A WAV file of another encoding, written by libsndfile itself.
std::string encoded(int format, int channels, int rate, const std::vector<short>& frames) {
  TempDir d;
  SF_INFO info{};
  info.format = format;
  info.channels = channels;
  info.samplerate = rate;
  SNDFILE* f = sf_open((d / "x").c_str(), SFM_WRITE, &info);
  REQUIRE(f != nullptr);
  sf_writef_short(f, frames.data(), sf_count_t(frames.size()) / channels);
  sf_close(f);
  std::ifstream in(d / "x", std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Runs the reference script; fails the test with its output if it fails.
void reference(const std::string& args) {
  const std::string cmd = fmt::format("/usr/bin/python3 {}/tools/numpy_reference/trigger_reference.py {} 2>&1",
                                      SEQGRAPH_SOURCE_DIR, args);
  std::string log;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) log.append(buf, n);
  INFO(log);
  REQUIRE_MESSAGE(::pclose(p) == 0, "the reference needs Debian's python3-matplotlib, python3-scipy and "
                                    "python3-pydub (tools/setup.sh installs them)");
}

} // namespace

// ---- WAV

TEST_CASE("Audio.WavRoundTripMonoAndStereo") {
  for (int channels : {1, 2}) {
    const Clip c = sine(audio::kRate, channels, 0.25, 440);
    const Clip back = audio::parse_wav(audio::encode_wav(c), "x.wav");
    CHECK(back.rate == audio::kRate);
    CHECK(back.channels == channels);
    CHECK(back.resampled_from == 0);
    CHECK(back.samples == c.samples);
    CHECK(back.frames() == 11025);
    CHECK(back.ms() == 250);
  }
  TempDir d;
  const Clip c = sine(audio::kRate, 2, 0.1, 1000);
  audio::write_wav(d / "s.wav", c);
  CHECK(audio::read_wav(d / "s.wav").samples == c.samples);
  CHECK(audio::read_wav(d / "s.wav").channel(1) == c.channel(1));
}

// The course's files, as its data README describes them.
TEST_CASE("Audio.TheCourseFilesRead") {
  const trigger::RawData raw = trigger::load_raw_data(kRaw);
  CHECK(raw.activates.size() == 10);
  CHECK(raw.negatives.size() == 10);
  CHECK(raw.backgrounds.size() == 2);
  for (const auto* set : {&raw.activates, &raw.negatives, &raw.backgrounds})
    for (const Clip& c : *set) {
      CHECK(c.rate == 44100);
      CHECK(c.resampled_from == 0);
      CHECK((c.channels == 1 || c.channels == 2));
    }
  for (const Clip& c : raw.activates) CHECK((c.seconds() >= 0.6 && c.seconds() <= 2.5));
  for (const Clip& c : raw.negatives) CHECK((c.seconds() >= 0.3 && c.seconds() <= 1.4));
  for (const Clip& c : raw.backgrounds) {
    CHECK(c.channels == 2);
    CHECK(c.frames() == 441000);
  }
  const Clip chime = audio::read_wav(std::string(SEQGRAPH_DATA_DIR) + "/trigger_word/chime.wav");
  CHECK(chime.channels == 2);
  CHECK(chime.seconds() == doctest::Approx(0.94).epsilon(0.02));
}

TEST_CASE("Audio.BadFilesAreErrorsNamingTheFile") {
  CHECK(has(io_error([] { audio::parse_wav("", "e.wav"); }), "e.wav: empty file"));
  CHECK(has(io_error([] { audio::parse_wav("hello, this is not audio at all, just some text\n", "t.wav"); }),
            "t.wav: not a WAV file libsndfile can read"));
  const std::string good = audio::encode_wav(sine(audio::kRate, 2, 0.5, 300));
  for (size_t keep : {size_t(10), size_t(44), good.size() / 2, good.size() - 3}) {
    CAPTURE(keep);
    const std::string e = io_error([&] { audio::parse_wav(good.substr(0, keep), "cut.wav"); });
    CHECK(has(e, "cut.wav: "));
    if (keep > 44) CHECK(has(e, "truncated"));
  }
  // a header whose sizes are garbage
  std::string bad = good;
  for (size_t i = 4; i < 8; ++i) bad[i] = char(0xff);
  for (size_t i = 40; i < 44; ++i) bad[i] = char(0x7f);
  CHECK(has(io_error([&] { audio::parse_wav(bad, "big.wav"); }), "big.wav: "));
  const std::vector<short> frames(300, 1000);
  CHECK(has(io_error([&] { audio::parse_wav(encoded(SF_FORMAT_WAV | SF_FORMAT_PCM_16, 3, 44100, frames), "3.wav"); }),
            "3.wav: 3 channels; mono or stereo only"));
  CHECK(has(io_error([&] { audio::parse_wav(encoded(SF_FORMAT_WAV | SF_FORMAT_ULAW, 1, 8000, frames), "u.wav"); }),
            "u.wav: U-Law samples are not supported"));
  const std::string aiff = io_error([&] { audio::parse_wav(encoded(SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 1, 44100, frames), "a.aiff"); });
  CAPTURE(aiff);
  CHECK(has(aiff, "a.aiff: AIFF"));
  CHECK(has(aiff, "not WAV"));
  CHECK(has(io_error([&] { audio::parse_wav(encoded(SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1, 44100, {}), "0.wav"); }),
            "0.wav: no audio samples"));
  CHECK(has(io_error([] { audio::read_wav("/nonexistent/x.wav"); }), "/nonexistent/x.wav"));
  TempDir d;
  CHECK(has(io_error([&] { audio::read_wav(d.path.string()); }), d.path.string()));
  CHECK(has(io_error([&] { trigger::load_raw_data(d.path.string()); }), "no such directory"));
}

// Other sample formats become 16 bit; other rates are resampled to 44.1 kHz.
TEST_CASE("Audio.OtherFormatsAndRates") {
  const Clip c22 = sine(22050, 1, 0.5, 440);
  const Clip up = audio::parse_wav(audio::encode_wav(c22), "22k.wav");
  CHECK(up.rate == 44100);
  CHECK(up.resampled_from == 22050);
  CHECK(std::abs(up.frames() - 22050) <= 2);
  double worst = 0;
  for (int64_t f = 1000; f < 21000; ++f) // away from the ends, where the filter has no past or future
    worst = std::max(worst, std::abs(double(up.samples[size_t(f)]) -
                                     12000 * std::sin(2 * std::numbers::pi * 440 * double(f) / 44100)));
  CHECK(worst < 40); // of 12,000: the best sinc converter
  // 24-bit and float files: the same samples at 16 bit
  std::vector<short> frames;
  for (int i = 0; i < 400; ++i) frames.push_back(short((i * 97) % 20000 - 10000));
  for (int format : {SF_FORMAT_WAV | SF_FORMAT_PCM_24, SF_FORMAT_WAV | SF_FORMAT_FLOAT,
                     SF_FORMAT_WAVEX | SF_FORMAT_PCM_16}) {
    CAPTURE(format);
    const Clip c = audio::parse_wav(encoded(format, 2, 44100, frames), "f.wav");
    REQUIRE(c.samples.size() == frames.size());
    for (size_t i = 0; i < frames.size(); ++i) CHECK(std::abs(c.samples[i] - frames[i]) <= 1);
  }
}

// ---- the spectrogram

TEST_CASE("Audio.SpectrogramShapesAndErrors") {
  CHECK(audio::specgram_frames(441000) == 5511);
  CHECK(audio::specgram_frames(200) == 1);
  CHECK(audio::specgram_frames(279) == 1);
  CHECK(audio::specgram_frames(280) == 2);
  CHECK(audio::specgram_frames(50) == 1); // shorter than NFFT: zero-padded
  std::vector<int16_t> x(441000, 3);
  const audio::Spectrogram s = audio::specgram(x);
  CHECK(s.frames == 5511);
  CHECK(s.bins == 101);
  // a constant: all power at DC, |sum(w) * 3|^2 / (Fs sum(w^2))
  double sw = 0, sw2 = 0;
  for (int i = 0; i < 200; ++i) {
    const double w = 0.5 - 0.5 * std::cos(2 * std::numbers::pi * i / 199);
    sw += w, sw2 += w * w;
  }
  CHECK(s.at(17, 0) == doctest::Approx(9 * sw * sw / (8000 * sw2)).epsilon(1e-12));
  CHECK(std::abs(s.at(17, 5)) < 1e-6 * s.at(17, 0)); // the symmetric window's leakage
  CHECK_THROWS_AS(audio::specgram(std::vector<int16_t>{}), std::invalid_argument);
  CHECK_THROWS_AS(audio::specgram(x, {.nfft = 200, .fs = 8000, .noverlap = 200}), std::invalid_argument);
  CHECK_THROWS_AS(audio::specgram(x, {.nfft = 200, .fs = 0, .noverlap = 10}), std::invalid_argument);
}

// matplotlib's specgram (the course's graph_spectrogram) of real files: a
// stereo 10 s dev recording, a mono and a stereo activate, and a clip
// shorter than NFFT, to 1e-5 relative. Bins whose power is at FFT noise
// level (below 1e-10 of the file's largest value: silent frames) differ
// between two FFT libraries by more than that relatively, so they are
// compared absolutely, against that floor.
TEST_CASE("Audio.SpectrogramMatchesMatplotlib") {
  TempDir d;
  const std::vector<int16_t> tiny = {100, -200, 300, 50, 7, -4000, 12, 0, 9, 1000};
  Clip t;
  t.samples = tiny;
  audio::write_wav(d / "tiny.wav", t);
  for (const std::string& file : {kRaw + "/dev/1.wav", kRaw + "/activates/1.wav", kRaw + "/activates/3.wav",
                                  d / "tiny.wav"}) {
    CAPTURE(file);
    reference(fmt::format("specgram '{}' '{}'", file, d / "ref.npy"));
    const Tensor ref = load_npy(d / "ref.npy"); // (101, frames)
    const Clip c = audio::read_wav(file);
    const audio::Spectrogram s = audio::specgram(c.channel(0));
    REQUIRE(ref.shape() == Shape{s.bins, s.frames});
    double top = 0;
    for (int64_t i = 0; i < ref.size(); ++i) top = std::max(top, ref.at(i));
    const double floor = 1e-10 * top;
    double worst = 0;
    int64_t at = 0, relative = 0;
    for (int64_t k = 0; k < s.bins; ++k)
      for (int64_t f = 0; f < s.frames; ++f) {
        const double want = ref.at(k * s.frames + f), got = s.at(f, k);
        const double err = std::abs(got - want) / std::max(std::abs(want), floor);
        relative += std::abs(want) >= floor;
        if (err > worst) worst = err, at = k * s.frames + f;
      }
    CAPTURE(at);
    CAPTURE(top);
    CHECK(worst < 1e-5);
    CHECK(relative > s.bins * s.frames / 2); // most bins are compared relatively
    MESSAGE(fmt::format("{}: {} x {}, worst relative difference {:.2g}", file, s.bins, s.frames, worst));
  }
}

// ---- the synthesis

// The course's own checks (its notebook's is_overlapping and insert_ones cells).
TEST_CASE("Trigger.TheCoursesCases") {
  using trigger::Segment;
  CHECK_FALSE(trigger::is_overlapping({950, 1430}, {{2000, 2550}, {260, 949}}));
  CHECK(trigger::is_overlapping({2305, 2950}, {{824, 1532}, {1900, 2305}, {3424, 3656}}));
  CHECK_FALSE(trigger::is_overlapping({0, 10}, {}));
  std::vector<float> y(trigger::kTy, 0.0f);
  trigger::insert_ones(y, 9700);
  trigger::insert_ones(y, 4251);
  CHECK(y[1333] == 0.0f);
  CHECK(y[634] == 1.0f);
  CHECK(y[635] == 0.0f);
  // floor(4251 * 1375 / 10000) = 584: ones at 585 ... 634; floor(9700 * 1.375) = 1333: 1334 ... 1374
  double ones = 0;
  for (float v : y) ones += v;
  CHECK(ones == 50 + 41);
  CHECK(y[585] == 1.0f);
  CHECK(y[584] == 0.0f);
  CHECK(y[1374] == 1.0f);
  std::vector<float> z(trigger::kTy, 0.0f);
  trigger::insert_ones(z, 10000); // the course's "no free segment" (10000, 10000): no ones
  for (float v : z) CHECK(v == 0.0f);
}

// pydub's arithmetic on hand-made samples
TEST_CASE("Trigger.PydubsArithmetic") {
  Clip c;
  c.samples = {7, -7, 32767, -32768, 100};
  CHECK(trigger::apply_gain(c, -20).samples == std::vector<int16_t>{0, -1, 3276, -3277, 10});
  CHECK(trigger::apply_gain(c, 20).samples == std::vector<int16_t>{70, -70, 32767, -32768, 1000});
  Clip b;
  b.channels = 2;
  b.samples = {30000, 1, -30000, 2, 5, 3};
  Clip m;
  m.samples = {30000, -30000, -7}; // mono onto stereo: duplicated
  CHECK(trigger::overlay(b, m, 0).samples == std::vector<int16_t>{32767, 30001, -32768, -29998, -2, -4});
  Clip q;
  q.samples = {3, 4, 5};
  CHECK(trigger::dbfs(q) == doctest::Approx(20 * std::log10(4.0 / 32768))); // rms 4 (sqrt(50/3), truncated)
  CHECK(std::isinf(trigger::dbfs(Clip{})));
}

// Whole examples against pydub mixing the same clips at the same positions:
// every sample equal.
TEST_CASE("Trigger.ExamplesAreTheCoursesMixBitForBit") {
  const trigger::RawData raw = trigger::load_raw_data(kRaw);
  TempDir d;
  int checked = 0, with_activates = 0, with_negatives = 0;
  for (uint64_t i = 0; i < 6; ++i) {
    CAPTURE(i);
    const trigger::Example e = trigger::create_training_example(raw, 7, i);
    std::string args = fmt::format("mix '{}' '{}/backgrounds/{}'", d / "mix.wav", kRaw,
                                   raw.background_names[size_t(e.background_id)]);
    // the clips in the order they were laid: the activates, then the negatives
    for (size_t k = 0; k < e.activates.size(); ++k)
      args += fmt::format(" '{}/activates/{}' {}", kRaw, raw.activate_names[size_t(e.activate_ids[k])],
                          e.activates[k].start_ms);
    for (size_t k = 0; k < e.negatives.size(); ++k)
      args += fmt::format(" '{}/negatives/{}' {}", kRaw, raw.negative_names[size_t(e.negative_ids[k])],
                          e.negatives[k].start_ms);
    reference(args);
    const Clip want = audio::read_wav(d / "mix.wav");
    CHECK(want.channels == e.audio.channels);
    REQUIRE(want.samples.size() == e.audio.samples.size());
    size_t diff = 0, first = 0;
    for (size_t k = 0; k < want.samples.size(); ++k)
      if (want.samples[k] != e.audio.samples[k] && diff++ == 0) first = k;
    if (diff)
      MESSAGE(fmt::format("{} samples differ; the first at frame {}: {} against pydub's {}", diff,
                          first / 2, e.audio.samples[first], want.samples[first]));
    CHECK(diff == 0);
    ++checked;
    with_activates += !e.activates.empty();
    with_negatives += !e.negatives.empty();
  }
  CHECK(checked == 6);
  CHECK(with_activates >= 2); // the seed's examples do exercise both kinds
  CHECK(with_negatives >= 2);
}

// The labels and segments of many examples follow the course's rules, and an
// example is a pure function of (seed, index).
TEST_CASE("Trigger.ExamplesFollowTheRules") {
  const trigger::RawData raw = trigger::load_raw_data(kRaw);
  int counts[5] = {};
  for (uint64_t i = 0; i < 60; ++i) {
    CAPTURE(i);
    const trigger::Example e = trigger::create_training_example(raw, 3, i);
    REQUIRE(e.y.size() == size_t(trigger::kTy));
    CHECK(e.audio.frames() == 441000);
    CHECK(e.activates.size() <= 4);
    CHECK(e.negatives.size() <= 2);
    ++counts[e.activates.size()];
    std::vector<trigger::Segment> all;
    std::vector<float> want(trigger::kTy, 0.0f);
    for (size_t k = 0; k < e.activates.size(); ++k) {
      const trigger::Segment s = e.activates[k];
      CHECK(s.start_ms >= 0);
      CHECK(s.end_ms - s.start_ms + 1 == raw.activates[size_t(e.activate_ids[k])].ms());
      CHECK(s.end_ms < trigger::kClipMs);
      CHECK_FALSE(trigger::is_overlapping(s, all));
      all.push_back(s);
      trigger::insert_ones(want, s.end_ms);
    }
    for (const trigger::Segment& s : e.negatives) {
      CHECK_FALSE(trigger::is_overlapping(s, all));
      all.push_back(s);
    }
    CHECK(e.y == want);
    // (its level: pydub's, checked sample by sample above; near -20 dBFS, off by
    // the integer RMS and the samples the gain clips)
    CHECK(std::abs(trigger::dbfs(e.audio) + 20) < 6);
  }
  for (int n = 0; n < 5; ++n) CHECK(counts[n] > 0); // 0 to 4 activates all occur
  const trigger::Example a = trigger::create_training_example(raw, 3, 17);
  const trigger::Example b = trigger::create_training_example(raw, 3, 17);
  const trigger::Example c = trigger::create_training_example(raw, 4, 17);
  CHECK(a.audio.samples == b.audio.samples);
  CHECK(a.y == b.y);
  CHECK(a.audio.samples != c.audio.samples);
}
