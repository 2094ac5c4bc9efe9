// libFuzzer target: models/data/csv.cpp's parse_csv and Emojify's examples
// over it (parse_examples: `sentence,label` rows, the training file's dialect
// and the test file's, whose sentences end in a tab).
#include "models/data/csv.hpp"
#include "models/data/emojify_csv.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    sg::data::parse_csv(bytes, "fuzz.csv");
  } catch (const sg::IoError&) {
  }
  try {
    for (const auto& e : sg::emojify::parse_examples(bytes, "fuzz.csv")) sg::emojify::words(e.sentence);
  } catch (const sg::IoError&) {
  }
  return 0;
}
