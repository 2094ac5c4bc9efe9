// "Improvise a Jazz Solo with an LSTM Network" (Sequence Models, week 1):
// the model of models/jazz.cpp, for its tests. Its data (values, windows,
// fingerprints, the fit dataset) are models/data/jazz_values.hpp, the WAV
// rendering models/data/midi_render.hpp.
#pragma once

#include "models/data/jazz_values.hpp"
#include "models/train/fit.hpp"

#include <cstdint>

namespace sg::jazz {

inline constexpr int64_t n_a = 64;       // the LSTM's units, as the course
inline constexpr int kTx = 30;           // steps per training window
inline constexpr int kCourseValues = 82; // the vocabulary on original_metheny.mid

// The course's djmodel: inputs "X" (batch, steps, n_values), targets "Y"
// (steps, batch, n_values); output "y_hat" (steps, batch, n_values), the
// softmax of every step.
const fit::Spec& spec();

} // namespace sg::jazz
