// "Did you mean": the known names a mistyped one is probably a misspelling of.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sg {

// Damerau-Levenshtein distance (the optimal string alignment variant): the
// fewest insertions, deletions, substitutions and swaps of two adjacent
// characters that turn `a` into `b` ("trian" -> "train" is one swap).
size_t edit_distance(std::string_view a, std::string_view b);

// The candidates that `word` is probably a misspelling of, closest first
// (ties in the candidates' order): those within edit distance 2 (and closer
// than the word's length, so that "x" does not suggest "y"), then those that
// start with `word`.
std::vector<std::string> close_matches(std::string_view word, const std::vector<std::string>& candidates);

} // namespace sg
