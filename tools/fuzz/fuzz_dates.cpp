// libFuzzer target: models/data/dates.cpp's user-input side, what a date
// string typed by a user or read from a file goes through: parse_human (one
// string), parse_human_lines (a file of lines) and encode_human on the raw
// bytes. IoError is their one error; every encoding they return must be Tx
// ids within the vocabulary, and decode back without an exception.
#include "models/data/dates.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

void check(const sg::dates::HumanInput& in) {
  if (in.ids.size() != size_t(sg::dates::Tx) || in.length < 0 || in.unknown < 0 || in.unknown > sg::dates::Tx)
    std::abort();
  for (int id : in.ids)
    if (id < 0 || id >= sg::dates::human_size) std::abort();
  (void)sg::dates::decode_human(in.ids);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    check(sg::dates::parse_human(bytes, "fuzz"));
  } catch (const sg::IoError&) {
  }
  try {
    for (const auto& in : sg::dates::parse_human_lines(bytes, "fuzz.txt")) check(in);
  } catch (const sg::IoError&) {
  }
  sg::dates::HumanInput raw;
  raw.ids = sg::dates::encode_human(bytes);
  raw.length = sg::dates::human_length(bytes);
  check(raw);
  return 0;
}
