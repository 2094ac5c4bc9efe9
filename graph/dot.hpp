// Graphviz export of a graph: the forward pass, its gradient nodes and its
// parameter updates, drawn from the Graph's Boost.Graph structure.
//
// Drawing conventions (also shown in the legend):
//   - name scopes ("lstm/Wf") become nested `subgraph cluster_...` boxes
//     labelled with the scope; a node shows its short name, op and shape;
//   - forward ops: white boxes; inputs: ellipses; parameters (variables):
//     boxes with a bold blue border; constants: small plain text;
//   - gradient nodes: filled light orange; update nodes: filled pink;
//   - data edges solid, ordering-only edges (no data flow) dashed.
// The DOT text is written by hand (Boost's write_graphviz has no clusters);
// it is linear in the graph's size, so graphs of many thousands of nodes
// export in milliseconds (rendering them with `dot` is another matter).
#pragma once

#include "graph/graph.hpp"

#include <string>

namespace sg {

struct DotOptions {
  std::string title;                // graph label ("" = none)
  std::string rankdir = "TB";       // "TB" (top to bottom) or "LR"
  bool clusters = true;             // name scopes as nested clusters
  bool legend = true;               // a legend cluster explaining the styles
  bool shapes = true;               // shapes in node labels
  bool fold_scalar_constants = true; // rank-0 constants shown in their consumers' labels
  // One box per layer and time step instead of one per op, as Keras'
  // plot_model (layer_dot).
  bool layers = false;
};

// Graphs with more nodes than this are drawn by layer unless asked otherwise.
constexpr size_t kLayerViewAbove = 150;

// The graph as DOT text (by layer when opt.layers).
std::string to_dot(const Graph& g, const DotOptions& opt = {});

// The layer-level view: nodes grouped by their layer and time step, read off
// their names: the step scope "t<N>" (anywhere in the path) gives the step,
// the first other scope the layer ("t3/lstm/add_2" is layer lstm at step 3;
// a parameter "lstm/kernel" belongs to lstm, at no step), a leading "grad/"
// or an optimizer's slot makes it the layer's gradient or update box. A node
// outside any scope (inputs, the loss) is a box of its own. One edge per
// pair of boxes that data flows between; steps run left to right. Each box
// says how many ops it holds and the shape of its last one.
std::string layer_dot(const Graph& g, const DotOptions& opt = {});

// Writes the graph to `path`, by its extension: ".dot" (or ".gv") writes the
// DOT text; ".svg", ".png" and ".pdf" render it with Graphviz's `dot`
// command. Throws std::runtime_error if `dot` is not on PATH (the message
// says to install graphviz or write .dot), if it fails, or if the file
// cannot be written; std::invalid_argument for another extension.
void write_graph_image(const Graph& g, const std::string& path, const DotOptions& opt = {});

// True when Graphviz's `dot` is found on PATH.
bool have_graphviz();

} // namespace sg
