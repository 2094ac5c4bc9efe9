// Dinosaurus Island's data: the names of dinos.txt as character indices, in
// the course's shuffled order, and the course's (X, Y) of each training step.
#pragma once

#include "models/data/text.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace sg::dinosaurus {

inline constexpr int64_t n_x = 27; // the vocabulary: '\n' = 0, 'a'..'z' = 1..26

const data::CharVocab& vocab();

// The names of `path` (one per line), lower-cased, checked against the
// vocabulary (IoError naming the line of a bad character; a missing or empty
// file is an IoError too) and shuffled once with `seed`, as the course's
// np.random.shuffle: step j trains on name j mod N.
std::vector<std::vector<int>> load_names(const std::string& path, uint64_t seed);

// A fingerprint of the names in their shuffled order: a resumed run checks it.
uint64_t fingerprint(const std::vector<std::vector<int>>& names);

// The course's X and Y for step j: name c1..cn = names[j mod N],
// X = [None, c1, ..., cn] (None, written -1, is the zero vector that starts
// every name), Y = [c1, ..., cn, '\n'].
struct Example {
  std::vector<int> X, Y;
};
Example example(const std::vector<std::vector<int>>& names, int64_t j);

} // namespace sg::dinosaurus
