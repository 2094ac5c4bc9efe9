// libFuzzer target: graph/checkpoint.cpp's parse_checkpoint, twice per input:
// the bytes as given (mostly refused by the CRC), and the bytes with their CRC
// appended, so that the fuzzer explores the payload behind the checksum. Then
// restore_params into an empty store (the path every resume takes).
#include "graph/checkpoint.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace {
void parse(std::string_view bytes) {
  try {
    const sg::Checkpoint ck = sg::parse_checkpoint(bytes, "fuzz.ckpt");
    sg::ParamStore into;
    sg::restore_params(ck, into, false);
  } catch (const sg::IoError&) {
  }
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  parse(raw);
  std::string sealed(raw);
  const uint32_t crc = sg::crc32(sealed.data(), sealed.size());
  for (int i = 0; i < 4; ++i) sealed += char((crc >> (8 * i)) & 0xff);
  parse(sealed);
  return 0;
}
