// "Character level language model — Dinosaurus Island" (Sequence Models,
// week 1): the sizes of models/dinosaurus.cpp, for its tests; its data (the
// names, their (X, Y)) are models/data/dino_names.hpp.
#pragma once

#include "models/data/dino_names.hpp"

#include <cstdint>

namespace sg::dinosaurus {

inline constexpr int64_t n_a = 50; // hidden units

} // namespace sg::dinosaurus
