// Word vectors in the standard GloVe text format: one `word v1 ... vd` per
// line, separated by single spaces, any dimension d (the same on every line),
// UTF-8 words. The course's glove.6B.50d.txt (400k words, 170 MB) reads in a
// few seconds: the whole file is read at once and parsed with std::from_chars.
// Values are kept as float64, as the course's numpy reader does.
#pragma once

#include "graph/errors.hpp"
#include "graph/tensor.hpp"
#include "models/options.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sg {

struct WordVectors {
  std::vector<std::string> words;                 // in file order
  std::unordered_map<std::string, int32_t> index; // word -> row
  int64_t dim = 0;
  std::vector<double> data;                       // words.size() x dim, row-major
  std::string source;                             // the file read ("" if built in memory)

  int32_t size() const { return static_cast<int32_t>(words.size()); }
  const double* row(int32_t i) const { return data.data() + static_cast<size_t>(i) * static_cast<size_t>(dim); }
  std::optional<int32_t> find(const std::string& word) const {
    auto it = index.find(word);
    if (it == index.end()) return std::nullopt;
    return it->second;
  }
  // The row of `word`; std::invalid_argument "unknown word 'x'" (with the
  // closest spellings in the vocabulary) if it has none.
  int32_t at(const std::string& word) const;
  // The vector of `word` (as at()).
  std::vector<double> vec(const std::string& word) const;
};

// Reads a GloVe text file. IoError naming the file on: a missing or unreadable
// file, an empty file, a line with no numbers, a ragged line ("file:line:
// expected d numbers, got k"), a non-numeric token ("file:line:column"), a
// duplicate word ("file:line", with the line of its first occurrence).
// Blank lines are skipped; "\r\n" line ends and a UTF-8 byte-order mark are accepted.
WordVectors read_glove(const std::string& path);
// The same from the file's bytes (`name` is the file named in errors). A line
// holds at most kMaxGloveDim numbers.
WordVectors parse_glove(std::string_view bytes, const std::string& name);
inline constexpr size_t kMaxGloveDim = 65536;

// The course's 50-d GloVe vectors as the data directory holds them (the
// 5,050 most frequent words of glove.6B.50d.txt and a few chosen ones).
inline constexpr const char* kCourseVectors = "glove/glove.6B.50d.5k.txt";
// A model's --vectors: the file `path`, else kCourseVectors in the data
// directory `dir` (read_glove's errors).
WordVectors read_vectors(const std::string& path, const std::string& dir);
// The --vectors FILE option of the commands `commands` (all when empty),
// read_vectors' `path`; `more` ends its help.
ModelOption vectors_option(std::vector<std::string> commands = {}, const std::string& more = "");

// Writes `words.size()` x d vectors (a 2-D tensor, f32 or f64) in the GloVe
// text format, each value as the shortest decimal that reads back to the same
// float (f32) or double (f64). IoError if the file cannot be written; std::invalid_argument if the
// shapes disagree or a word is empty or holds whitespace.
void write_glove(const std::string& path, const std::vector<std::string>& words, const Tensor& vectors);
void write_glove(const std::string& path, const WordVectors& v);

} // namespace sg
