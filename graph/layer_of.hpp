// Which layer and time step a node belongs to, read off its name's scopes
// (the layer view of graph-run dot and the summary's output shapes):
// "t3/lstm/mul_2" is layer "lstm" at step 3, "lstm/kernel" layer "lstm",
// "grad/t3/lstm/..." the same (a gradient node). An op's own name is not a
// scope; a parameter's whole name is (its first part is the layer).
#pragma once

#include "graph/graph.hpp"

#include <cstdint>
#include <string>

namespace sg {

struct LayerPath {
  std::string layer; // "" outside any layer
  int64_t step = 0;  // 0: none
};

LayerPath layer_of(const Node& n);

} // namespace sg
