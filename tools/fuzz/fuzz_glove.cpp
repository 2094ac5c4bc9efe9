// libFuzzer target: models/data/glove.cpp's parse_glove (GloVe text: a word
// and its numbers per line), then a lookup of its first word.
#include "models/data/glove.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const sg::WordVectors v =
        sg::parse_glove(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.txt");
    if (v.size() > 0) (void)v.vec(v.words.front());
  } catch (const sg::IoError&) {
  }
  return 0;
}
