// libFuzzer target: graph/npy.cpp's parse_npy (what load_npy reads). Any input
// must give a tensor or an IoError; anything else (a crash, another exception,
// a leak, an allocation beyond -malloc_limit_mb) is a finding.
#include "graph/npy.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const sg::Tensor t = sg::parse_npy(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.npy");
    volatile double sink = t.size() ? t.at(t.size() - 1) : 0.0; // touch the last element
    (void)sink;
  } catch (const sg::IoError&) {
  }
  return 0;
}
