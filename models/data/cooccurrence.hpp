// GloVe's data: a text corpus as words, its vocabulary, and the symmetric
// co-occurrence counts X_ij (the reference code's vocab_count and cooccur),
// as fit batches for models/glove.cpp.
#pragma once

#include "models/train/fit.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace sg::glove {

// The words of a line: maximal runs of ASCII letters and apostrophes,
// lower-cased, with leading and trailing apostrophes stripped; anything else
// separates words. Text in square brackets (gcide's source notes, "[1913
// Webster]") and between backslashes (its pronunciations, \Ab*jure"\) is
// markup, skipped, within a line; so is the rest of a line after "--"
// (gcide's citations: "Magic I here abjure." --Shak.).
std::vector<std::string> tokenize(std::string_view line);

struct Vocab {
  std::vector<std::string> words; // by descending count, ties alphabetical
  std::vector<int64_t> counts;
  std::unordered_map<std::string, int32_t> index;
  int32_t find(const std::string& w) const; // -1 if absent
};

// The words of `corpus` seen at least `min_count` times, the `max_vocab`
// most frequent of them (0 = no limit), plus the words of `keep` seen at
// least once whatever their count (words a downstream task needs). IoError
// if the file can't be read or nothing passes.
Vocab build_vocab(const std::string& corpus, int64_t min_count, int64_t max_vocab,
                  const std::unordered_set<std::string>& keep = {});

// The words (tokenize) of each file of a comma-separated list: a --keep-words list.
std::unordered_set<std::string> words_of(const std::string& files);

// One nonzero entry of the co-occurrence matrix.
struct Pair {
  int32_t i, j;
  double x;
};

// X_ij, symmetric, as the reference code's cooccur with -symmetric 1: every
// in-vocabulary word w at distance k <= window after a word v (out-of-
// vocabulary words are dropped first and take no place) adds 1/k to X_vw and
// to X_wv (so a word next to itself adds 2/k to X_ww). A blank line ends a
// paragraph: no window crosses it. Sorted by (i, j). `window` >= 1 (graph-run's
// --window is declared so; 0 counts nothing).
std::vector<Pair> cooccurrences(const std::string& corpus, const Vocab& vocab, int window);

// The pairs as fit batches: "i", "j" (the words' indices) and "x" (X_ij),
// (B) float32 each; identified for resume by the vocabulary and a sample
// of the pairs.
class Pairs : public fit::Dataset {
public:
  Pairs(Vocab vocab, std::vector<Pair> pairs);
  int64_t size() const override { return int64_t(pairs_.size()); }
  uint64_t fingerprint() const override { return fingerprint_; }
  fit::Feeds batch(std::span<const int64_t> idx) const override;
  const Vocab& vocab() const { return vocab_; }

private:
  Vocab vocab_;
  std::vector<Pair> pairs_;
  uint64_t fingerprint_;
};

} // namespace sg::glove
