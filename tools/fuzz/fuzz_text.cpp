// libFuzzer target: models/data/text.cpp's parse_lines (one example per line
// over a character vocabulary: Dinosaurus' names file), with and without
// lower-casing.
#include "models/data/text.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const sg::data::CharVocab vocab = sg::data::newline_and_lowercase();
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (bool lower : {false, true}) {
    try {
      sg::data::parse_lines(bytes, "fuzz.txt", vocab, {.lower = lower, .what = "name"});
    } catch (const sg::IoError&) {
    }
  }
  return 0;
}
