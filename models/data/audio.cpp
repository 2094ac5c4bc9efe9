#include "models/data/audio.hpp"

#include "graph/errors.hpp"
#include "graph/file.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <samplerate.h>
#include <sndfile.h>

namespace sg::audio {

namespace {

constexpr uint64_t kMaxBytes = uint64_t(1) << 30;

// libsndfile's virtual I/O over bytes in memory (reading) or a growing
// string (writing).
struct Memory {
  std::string_view in;
  std::string* out = nullptr;
  sf_count_t pos = 0;
  sf_count_t size() const { return out ? sf_count_t(out->size()) : sf_count_t(in.size()); }
};

sf_count_t vio_length(void* p) { return static_cast<Memory*>(p)->size(); }
sf_count_t vio_seek(sf_count_t offset, int whence, void* p) {
  auto* m = static_cast<Memory*>(p);
  sf_count_t to = whence == SEEK_SET ? offset : whence == SEEK_CUR ? m->pos + offset : m->size() + offset;
  if (to < 0) return -1;
  m->pos = to;
  return to;
}
sf_count_t vio_read(void* dst, sf_count_t n, void* p) {
  auto* m = static_cast<Memory*>(p);
  if (n <= 0 || m->pos >= m->size()) return 0;
  const sf_count_t k = std::min(n, m->size() - m->pos);
  std::memcpy(dst, (m->out ? m->out->data() : m->in.data()) + m->pos, size_t(k));
  m->pos += k;
  return k;
}
sf_count_t vio_write(const void* src, sf_count_t n, void* p) {
  auto* m = static_cast<Memory*>(p);
  if (!m->out || n < 0) return 0;
  if (size_t(m->pos) + size_t(n) > m->out->size()) m->out->resize(size_t(m->pos) + size_t(n));
  std::memcpy(m->out->data() + m->pos, src, size_t(n));
  m->pos += n;
  return n;
}
sf_count_t vio_tell(void* p) { return static_cast<Memory*>(p)->pos; }
SF_VIRTUAL_IO vio{vio_length, vio_seek, vio_read, vio_write, vio_tell};

struct Closer {
  SNDFILE* f;
  ~Closer() {
    if (f) sf_close(f);
  }
};

std::string format_name(int format) {
  SF_FORMAT_INFO info{};
  info.format = format;
  if (sf_command(nullptr, SFC_GET_FORMAT_INFO, &info, sizeof info) == 0 && info.name) return info.name;
  return fmt::format("0x{:04x}", format);
}

// libsamplerate's best converter, channels interleaved; back to 16 bit, rounded and clipped.
std::vector<int16_t> resample(const std::vector<int16_t>& in, int channels, int from, int to,
                              const std::string& name) {
  const int64_t frames = int64_t(in.size()) / channels;
  const double ratio = double(to) / double(from);
  const int64_t out_frames = int64_t(std::ceil(double(frames) * ratio)) + 1;
  std::vector<float> x(in.size()), y(size_t(out_frames) * size_t(channels));
  src_short_to_float_array(in.data(), x.data(), int(in.size()));
  SRC_DATA d{};
  d.data_in = x.data();
  d.data_out = y.data();
  d.input_frames = long(frames);
  d.output_frames = long(out_frames);
  d.src_ratio = ratio;
  if (int e = src_simple(&d, SRC_SINC_BEST_QUALITY, channels))
    throw IoError(fmt::format("{}: resampling from {} Hz to {} Hz failed: {}", name, from, to, src_strerror(e)));
  y.resize(size_t(d.output_frames_gen) * size_t(channels));
  std::vector<int16_t> out(y.size());
  for (size_t i = 0; i < y.size(); ++i)
    out[i] = int16_t(std::clamp(std::lrint(double(y[i]) * 32768.0), -32768L, 32767L));
  return out;
}

} // namespace

int64_t Clip::ms() const {
  return rate > 0 ? int64_t(std::llround(1000.0 * double(frames()) / double(rate))) : 0;
}

std::vector<int16_t> Clip::channel(int c) const {
  if (c < 0 || c >= channels) throw std::invalid_argument(fmt::format("channel {} of a {}-channel clip", c, channels));
  std::vector<int16_t> out(static_cast<size_t>(frames()));
  for (int64_t f = 0; f < frames(); ++f) out[size_t(f)] = samples[size_t(f * channels + c)];
  return out;
}

Clip parse_wav(std::string_view bytes, const std::string& name) {
  if (bytes.empty()) throw IoError(fmt::format("{}: empty file, not a WAV file", name));
  Memory m{bytes};
  SF_INFO info{};
  SNDFILE* f = sf_open_virtual(&vio, SFM_READ, &info, &m);
  if (!f) throw IoError(fmt::format("{}: not a WAV file libsndfile can read ({})", name, sf_strerror(nullptr)));
  Closer closer{f};
  const int major = info.format & SF_FORMAT_TYPEMASK, sub = info.format & SF_FORMAT_SUBMASK;
  if (major != SF_FORMAT_WAV && major != SF_FORMAT_WAVEX) {
    throw IoError(fmt::format("{}: {} format, not WAV", name, format_name(major)));
  }
  switch (sub) {
  case SF_FORMAT_PCM_S8: case SF_FORMAT_PCM_U8: case SF_FORMAT_PCM_16: case SF_FORMAT_PCM_24:
  case SF_FORMAT_PCM_32: case SF_FORMAT_FLOAT: case SF_FORMAT_DOUBLE: break;
  default:
    throw IoError(fmt::format("{}: {} samples are not supported (PCM 8/16/24/32 bit or float)", name,
                              format_name(sub)));
  }
  if (info.channels < 1 || info.channels > 2)
    throw IoError(fmt::format("{}: {} channels; mono or stereo only", name, info.channels));
  if (info.samplerate < 1 || info.samplerate > 768000)
    throw IoError(fmt::format("{}: sample rate {} Hz", name, info.samplerate));
  if (info.frames <= 0) throw IoError(fmt::format("{}: no audio samples", name));
  // A header that promises more than the file holds: libsndfile trims the
  // count to the bytes there are, and says so in its log ("data : 1764000
  // (should be 881978)").
  char log[2048] = {};
  sf_command(f, SFC_GET_LOG_INFO, log, sizeof log);
  for (std::string_view rest(log); !rest.empty();) {
    const size_t eol = std::min(rest.find('\n'), rest.size());
    const std::string_view line = rest.substr(0, eol);
    if (line.starts_with("data") && line.find("should be") != std::string_view::npos)
      throw IoError(fmt::format("{}: truncated: the data chunk ends before the length its header gives ({})",
                                name, line));
    rest.remove_prefix(std::min(eol + 1, rest.size()));
  }
  if (uint64_t(info.frames) * uint64_t(info.channels) > kMaxBytes)
    throw IoError(fmt::format("{}: {} frames, more than this reader takes", name, info.frames));
  sf_command(f, SFC_SET_CLIPPING, nullptr, SF_TRUE);
  Clip c;
  c.channels = info.channels;
  c.rate = info.samplerate;
  c.samples.resize(size_t(info.frames) * size_t(info.channels));
  const sf_count_t got = sf_readf_short(f, c.samples.data(), info.frames);
  if (got != info.frames)
    throw IoError(fmt::format("{}: truncated: {} of the {} frames its header gives", name, got, info.frames));
  if (c.rate != kRate) {
    c.samples = resample(c.samples, c.channels, c.rate, kRate, name);
    c.resampled_from = c.rate;
    c.rate = kRate;
    if (c.samples.empty()) throw IoError(fmt::format("{}: no audio samples after resampling", name));
  }
  return c;
}

Clip read_wav(const std::string& path) { return parse_wav(read_file(path, "WAV file", kMaxBytes), path); }

std::string encode_wav(const Clip& clip) {
  if (clip.channels < 1 || clip.channels > 2 || clip.rate < 1 || clip.samples.size() % size_t(clip.channels))
    throw std::invalid_argument(fmt::format("encode_wav: {} channels at {} Hz, {} samples", clip.channels,
                                            clip.rate, clip.samples.size()));
  std::string out;
  Memory m{{}, &out};
  SF_INFO info{};
  info.samplerate = clip.rate;
  info.channels = clip.channels;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SNDFILE* f = sf_open_virtual(&vio, SFM_WRITE, &info, &m);
  if (!f) throw IoError(fmt::format("encoding WAV: {}", sf_strerror(nullptr)));
  {
    Closer closer{f};
    if (sf_writef_short(f, clip.samples.data(), clip.frames()) != clip.frames())
      throw IoError(fmt::format("encoding WAV: {}", sf_strerror(f)));
  } // closed: the header's lengths written
  return out;
}

void write_wav(const std::string& path, const Clip& clip) {
  write_file(path, encode_wav(clip));
}

} // namespace sg::audio
