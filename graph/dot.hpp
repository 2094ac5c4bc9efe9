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
};

// The graph as DOT text.
std::string to_dot(const Graph& g, const DotOptions& opt = {});

// Writes the graph to `path`, by its extension: ".dot" (or ".gv") writes the
// DOT text; ".svg", ".png" and ".pdf" render it with Graphviz's `dot`
// command. Throws std::runtime_error if `dot` is not on PATH (the message
// says to install graphviz or write .dot), if it fails, or if the file
// cannot be written; std::invalid_argument for another extension.
void write_graph_image(const Graph& g, const std::string& path, const DotOptions& opt = {});

// True when Graphviz's `dot` is found on PATH.
bool have_graphviz();

} // namespace sg
