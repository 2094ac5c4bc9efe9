// "GloVe: Global Vectors for Word Representation" (Pennington, Socher and
// Manning, 2014), the word vectors of the Sequence Models course, trained by
// seqgraph: the co-occurrence counts of a text corpus, then the weighted
// least-squares objective as a graph, minimised with AdaGrad.
// models/glove.cpp is the model file; this header is its pipeline, for tests.
#pragma once

#include "autodiff/optimizers.hpp"
#include "graph/graph.hpp"
#include "graph/tensor.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace sg::glove {

inline constexpr double kXMax = 100;   // the paper's x_max
inline constexpr double kAlpha = 0.75; // the paper's α

// The paper's weighting: f(x) = (x / x_max)^α for x < x_max, else 1.
double weight(double x, double x_max = kXMax, double alpha = kAlpha);

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

// The objective for a batch of B pairs, as a graph:
//   inputs i, j (indices, shape (B)), x (X_ij, shape (B));
//   parameters W, W_tilde (V, d), b, b_tilde (V), the reference code's
//   initialisation uniform in [-0.5/d, 0.5/d];
//   loss = ½ Σ f(x) (w_iᵀ w̃_j + b_i + b̃_j − log x)², f in-graph (x_max as given).
// The ½ makes the gradient the reference code's (f · diff); J of the paper
// is twice the loss. With `optimize`, AdaGrad updates (lr, accumulator
// starting at 1 as the reference code's gradsq), row-sparse (each step
// updates the rows of W, W̃, b, b̃ the batch names, at a cost proportional to
// the batch: autodiff/optimizers.hpp) unless `sparse_rows` is false (the
// dense update of every row: the same values, for tests).
struct Net {
  std::unique_ptr<Graph> g = std::make_unique<Graph>();
  Value i, j, x;
  Value W, W_tilde, b, b_tilde;
  Value loss;
  TrainOps opt;
};
Net net(int64_t V, int64_t d, int64_t B, bool optimize, double lr = 0.05, bool sparse_rows = true,
        double x_max = kXMax);

} // namespace sg::glove
