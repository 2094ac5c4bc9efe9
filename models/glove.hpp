// "GloVe: Global Vectors for Word Representation" (Pennington, Socher and
// Manning, 2014), the word vectors of the Sequence Models course, trained by
// seqgraph: the co-occurrence counts of a text corpus, then the weighted
// least-squares objective as a graph, minimised with AdaGrad.
// models/glove.cpp is the model file; this header is its pipeline, for tests.
#pragma once

#include "autodiff/optimizers.hpp"
#include "graph/graph.hpp"
#include "graph/tensor.hpp"
#include "models/data/cooccurrence.hpp"

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
  Value loss;
  TrainOps opt; // the updates of W, W_tilde, b, b_tilde, in that order
};
Net net(int64_t V, int64_t d, int64_t B, bool optimize, double lr = 0.05, bool sparse_rows = true,
        double x_max = kXMax);

} // namespace sg::glove
