// Character-level text data: a vocabulary of single characters, a reader for
// files of one example per line (a name, a sentence) that checks every
// character against the vocabulary and says where a bad one is, and one-hot
// columns in the course's layout.
#pragma once

#include "graph/errors.hpp"
#include "graph/tensor.hpp"

#include <array>
#include <span>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sg::data {

// Characters and their indices: chars()[i] has index i.
class CharVocab {
public:
  // Each character once; throws std::invalid_argument on a repeat.
  explicit CharVocab(std::string chars);
  int size() const { return static_cast<int>(chars_.size()); }
  // The index of `c`, or -1 if it is not in the vocabulary.
  int index(char c) const { return index_[static_cast<unsigned char>(c)]; }
  bool contains(char c) const { return index(c) >= 0; }
  char at(int i) const { return chars_.at(static_cast<size_t>(i)); }
  const std::string& chars() const { return chars_; }
  std::string decode(std::span<const int> indices) const;
  // Printable: "'\n', a-z" (runs of consecutive characters shortened).
  std::string describe() const;

private:
  std::string chars_;
  std::array<int, 256> index_{};
};

// The course's character vocabulary: '\n' = 0, 'a'..'z' = 1..26.
CharVocab newline_and_lowercase();

struct LinesOptions {
  bool lower = true;         // lower-case every line first (the course reads .lower())
  std::string what = "line"; // what a line is, for messages: "name", "sentence"
};

// Reads `path`, one example per line: surrounding whitespace (and a CR before
// the LF) stripped, blank lines skipped, lower-cased if asked; every
// character must be in `vocab`. Returns the examples as indices.
// Throws IoError: the file is missing or unreadable, has no examples, or has a
// character outside the vocabulary ("dinos.txt:12: character ' ' (0x20) in
// name 'tyranno saurus' is not in the vocabulary ('\n', a-z)").
std::vector<std::vector<int>> read_lines(const std::string& path, const CharVocab& vocab,
                                         const LinesOptions& opt = {});
// The same from the file's bytes (`name` is the file named in errors).
std::vector<std::vector<int>> parse_lines(std::string_view bytes, const std::string& name, const CharVocab& vocab,
                                          const LinesOptions& opt = {});
// The largest text file read_lines reads (checked before reading).
inline constexpr uint64_t kMaxTextBytes = uint64_t(256) << 20;

// One-hot columns, the course's layout: a (depth, n) tensor whose column t is
// e_{indices[t]}; a negative index gives a zero column (the course's "None",
// the zero vector that starts a sequence).
Tensor one_hot_columns(std::span<const int> indices, int depth, DType dtype = DType::f64);

} // namespace sg::data
