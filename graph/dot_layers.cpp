// The layer-level DOT view (graph/dot.hpp, layer_dot): one box per (layer,
// time step, kind), as Keras' plot_model draws a model, for graphs whose op
// view is too big to read.
#include "graph/dot.hpp"

#include "graph/dot_escape.hpp"
#include "graph/layer_of.hpp"

#include <fmt/format.h>
#include <map>
#include <set>
#include <tuple>

namespace sg {

namespace {

struct Box {
  NodeKind kind = NodeKind::forward;
  std::string layer;
  int64_t step = 0; // 0: none
  auto key() const { return std::tie(kind, layer, step); }
  bool operator<(const Box& o) const { return key() < o.key(); }
};

Box box_of(const Node& n) {
  const LayerPath p = layer_of(n);
  Box b{n.kind, p.layer, p.step};
  // Outside any layer: a forward op of the model's own is a box of its own
  // (the loss, ...); at a step, or a gradient or update, one box per step and kind.
  if (b.layer.empty() && !b.step && b.kind == NodeKind::forward) b.layer = n.name;
  return b;
}

void put_quoted(std::string& out, const std::string& s) {
  out += '"';
  dot_escape(out, s);
  out += '"';
}

} // namespace

std::string layer_dot(const Graph& g, const DotOptions& opt) {
  std::map<Box, int> index;
  std::vector<Box> boxes;
  std::vector<std::vector<NodeId>> members;
  std::vector<int> of(g.size(), -1);
  for (NodeId id = 0; id < g.size(); ++id) {
    const Node& n = g.node(id);
    if (n.superseded || (n.op == Op::Constant && n.shape.empty())) continue;
    const Box b = box_of(n);
    auto [it, fresh] = index.emplace(b, int(boxes.size()));
    if (fresh) {
      boxes.push_back(b);
      members.emplace_back();
    }
    of[id] = it->second;
    members[size_t(it->second)].push_back(id);
  }
  std::string out = "digraph seqgraph {\n  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=12, nodesep=0.2, ranksep=0.4";
  if (!opt.title.empty()) {
    out += ", labelloc=t, fontsize=16, label=";
    put_quoted(out, opt.title + " (by layer; --ops for every op)");
  }
  out += "];\n  node [shape=box, style=\"filled,rounded\", fillcolor=white, fontname=\"Helvetica\", fontsize=10];\n"
         "  edge [arrowsize=0.6, color=\"#444444\"];\n";
  for (size_t i = 0; i < boxes.size(); ++i) {
    const Box& b = boxes[i];
    const Node& last = g.node(members[i].back());
    const bool single = members[i].size() == 1;
    std::string label = (b.kind == NodeKind::gradient ? "∇ " : "") + (b.layer.empty() ? "ops" : b.layer);
    if (b.step) label += fmt::format(" ⟨t{}⟩", b.step);
    if (single) label += fmt::format("\n{}", op_name(last.op));
    else label += fmt::format("\n{} ops", members[i].size());
    label += "\n" + to_string(last.shape);
    const char* fill = b.kind == NodeKind::gradient ? "#ffd8a8" : b.kind == NodeKind::update ? "#ffc9d6"
                       : single && last.op == Op::Input                                     ? "#e3efff"
                                                                                            : "white";
    out += fmt::format("  b{} [label=", i);
    put_quoted(out, label);
    out += fmt::format(", fillcolor=\"{}\"{}];\n", fill, single && last.op == Op::Input ? ", shape=ellipse" : "");
  }
  std::set<std::pair<int, int>> edges;
  for (NodeId id = 0; id < g.size(); ++id)
    if (of[id] >= 0)
      for (NodeId in : g.node(id).inputs)
        if (of[in] >= 0 && of[in] != of[id]) edges.insert({of[in], of[id]});
  for (auto [a, b] : edges) out += fmt::format("  b{} -> b{};\n", a, b);
  out += "}\n";
  return out;
}

} // namespace sg
