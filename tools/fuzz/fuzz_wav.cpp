// libFuzzer target: models/data/audio.cpp's parse_wav (libsndfile over bytes
// in memory, the checks around it, resampling) and the spectrogram of what
// it returns, what `graph-run trigger_word detect CLIP.wav` reads.
#include "models/data/audio.hpp"
#include "models/data/spectrogram.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const sg::audio::Clip c = sg::audio::parse_wav(std::string_view(reinterpret_cast<const char*>(data), size),
                                                   "fuzz.wav");
    if (c.frames() <= 1 << 20) sg::audio::specgram(c.channel(0));
  } catch (const sg::IoError&) {
  }
  return 0;
}
