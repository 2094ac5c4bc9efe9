// WAV audio for the trigger-word model, read and written through libsndfile.
//
// Reading: a WAV file (RIFF WAVE or WAVE_FORMAT_EXTENSIBLE) of PCM (8, 16, 24
// or 32 bit) or IEEE float samples, mono or stereo, becomes 16-bit samples
// at 44,100 Hz, the course's format: other sample formats are converted by
// libsndfile (floats scaled by 32767 and clipped); other rates are resampled
// by libsamplerate's best sinc converter, which `resampled_from` records so
// that a command can say so. Every problem throws sg::IoError naming the file:
// not a WAV file (or one libsndfile cannot parse), a compressed or otherwise
// unsupported encoding, more than 2 channels, no samples, a data chunk that
// ends before the frames the header declares ("truncated"), a rate outside
// 1 Hz ... 768 kHz. Files are read whole, at most 1 GiB.
//
// Writing: 16-bit PCM WAV at the clip's rate and channels.
#pragma once

#include "graph/errors.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sg::audio {

constexpr int kRate = 44100; // the course's sample rate

struct Clip {
  int rate = kRate;
  int channels = 1;             // 1 or 2
  std::vector<int16_t> samples; // interleaved: frame f, channel c at f * channels + c
  int resampled_from = 0;       // the file's own rate when it was not kRate (0: not resampled)

  int64_t frames() const { return channels > 0 ? int64_t(samples.size()) / channels : 0; }
  double seconds() const { return rate > 0 ? double(frames()) / rate : 0.0; }
  // The length in whole milliseconds as pydub counts it (the course's len(segment)).
  int64_t ms() const;
  // Channel c (0-based) alone.
  std::vector<int16_t> channel(int c) const;
};

// The WAV file at `path`, as above.
Clip read_wav(const std::string& path);
// The same from bytes in memory; `name` is the file named in errors.
Clip parse_wav(std::string_view bytes, const std::string& name);

// The clip as 16-bit PCM WAV bytes / written to `path` (IoError on failure).
std::string encode_wav(const Clip& clip);
void write_wav(const std::string& path, const Clip& clip);

} // namespace sg::audio
