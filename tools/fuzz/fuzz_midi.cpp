// libFuzzer target: models/data/midi.cpp's parse_midi (Standard MIDI Files)
// and Jazz's corpus over it (build_corpus: the melody track's notes to values),
// what `graph-run jazz train --midi FILE` reads.
#include "models/data/jazz_values.hpp"
#include "models/data/midi.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const sg::MidiFile f = sg::parse_midi(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.mid");
    sg::build_corpus(f);
  } catch (const sg::IoError&) {
  }
  return 0;
}
