// A Keras-style model summary read off a graph: one row per layer (the first
// component of its parameters' names: "lstm" for "lstm/kernel",
// "bidirectional" for "bidirectional/forward_lstm/kernel"; a parameter with
// no scope is a row of its own), in the order the graph created them, with
// its output shape (the shape of its last forward op: the batch is the
// graph's, not Keras' None), each parameter's shape and the layer's count; trainable and non-trainable
// totals as Keras counts them (non-trainable: Variables created as state,
// e.g. batch-norm statistics or a frozen embedding). Optimizer slots are not
// parameters of the model: summarize a graph built without an optimizer.
#pragma once

#include "graph/graph.hpp"

#include <string>
#include <vector>

namespace sg {

struct SummaryRow {
  std::string layer;
  Shape output;      // the shape of the layer's last forward op (its last step's, if called per step)
  bool has_output = false;
  std::vector<std::pair<std::string, Shape>> params; // names below the layer ("kernel", ...)
  int64_t trainable = 0, non_trainable = 0;
  int64_t total() const { return trainable + non_trainable; }
};

struct Summary {
  std::vector<SummaryRow> rows;
  int64_t trainable = 0, non_trainable = 0;
  int64_t total() const { return trainable + non_trainable; }
  // The table, e.g.
  //   Layer  Output shape  Parameters                                                  Count
  //   lstm   (4, 64)       kernel (82, 256), recurrent_kernel (64, 256), bias (256,)  37,632
  //   dense  (4, 82)       kernel (64, 82), bias (82,)                                 5,330
  //   Total params: 42,962 / Trainable params: 42,962 / Non-trainable params: 0
  // (one line each); a frozen layer's count says how much of it is frozen.
  std::string table() const;
};

Summary summarize(const Graph& g);

// 1234567 -> "1,234,567"
std::string with_commas(int64_t n);

} // namespace sg
