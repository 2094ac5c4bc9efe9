// "Improvise a Jazz Solo with an LSTM Network" (Sequence Models, week 1):
// the data pipeline and the pieces of models/jazz.cpp its tests use.
#pragma once

#include "models/data/jazz_values.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace sg::jazz {

inline constexpr int64_t n_a = 64;          // the LSTM's units, as the course
inline constexpr int kTx = 30;              // steps per training window
inline constexpr int kCourseValues = 82;    // the vocabulary on original_metheny.mid

// The course's data: `path` read as a MIDI file and turned into values
// (build_corpus with the default JazzOptions). Every error (missing file,
// malformed MIDI, no melody track) is an IoError naming `path`.
JazzCorpus load_corpus(const std::string& path);

// The course's training set: m windows of Tx values drawn with `seed`.
JazzWindows training_windows(const JazzCorpus& corpus, int m, uint64_t seed);

// Fingerprints a checkpoint keeps: the vocabulary (sampling needs the same
// one) and the windows (resuming needs the same ones).
uint64_t vocab_fingerprint(const JazzVocab& vocab);
uint64_t windows_fingerprint(const JazzWindows& w);

// A program that renders MIDI to WAV: timidity, else fluidsynth with a
// SoundFont found in the usual places; searched in `path_env` (a PATH
// value). An empty `program` means none was found.
struct Renderer {
  std::string program;           // full path
  std::vector<std::string> args; // the command's arguments, after the program
};
Renderer find_renderer(const std::string& mid, const std::string& wav, const std::string& path_env);
// What to do when no renderer is found.
std::string no_renderer_message(const std::string& mid, const std::string& wav);

} // namespace sg::jazz
