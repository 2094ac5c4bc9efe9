#include "graph/summary.hpp"

#include "graph/layer_of.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace sg {

std::string with_commas(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), s;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) s += ',';
    s += digits[i];
  }
  return n < 0 ? "-" + s : s;
}

Summary summarize(const Graph& g) {
  Summary s;
  for (NodeId id : g.nodes_of(Op::Variable)) { // in creation order
    const Node& n = g.node(id);
    const auto slash = n.name.find('/');
    const std::string layer = slash == std::string::npos ? n.name : n.name.substr(0, slash);
    const std::string rest = slash == std::string::npos ? n.name : n.name.substr(slash + 1);
    auto row = std::find_if(s.rows.begin(), s.rows.end(), [&](const SummaryRow& r) { return r.layer == layer; });
    if (row == s.rows.end()) row = s.rows.insert(s.rows.end(), SummaryRow{.layer = layer, .output = {}, .has_output = false, .params = {}, .trainable = 0, .non_trainable = 0});
    row->params.emplace_back(rest, n.shape);
    const bool trainable = n.kind != NodeKind::update;
    (trainable ? row->trainable : row->non_trainable) += numel(n.shape);
    (trainable ? s.trainable : s.non_trainable) += numel(n.shape);
  }
  // A layer's output: of its forward ops that feed an op of another layer (or
  // none), the largest (an Embedding also hands its mask on), the last of equals.
  std::vector<std::string> layer(g.size());
  for (NodeId id = 0; id < g.size(); ++id) layer[id] = layer_of(g.node(id)).layer;
  std::vector<char> leaves(g.size(), 0);
  for (NodeId id = 0; id < g.size(); ++id)
    for (NodeId in : g.node(id).inputs)
      if (layer[in] != layer[id] && g.node(id).kind == NodeKind::forward) leaves[in] = 1;
  for (NodeId id = 0; id < g.size(); ++id) {
    const Node& n = g.node(id);
    if (!leaves[id] || n.kind != NodeKind::forward || n.superseded || n.op == Op::Variable || n.op == Op::Constant)
      continue;
    for (SummaryRow& r : s.rows)
      if (r.layer == layer[id] && (!r.has_output || numel(n.shape) >= numel(r.output)))
        r.output = n.shape, r.has_output = true;
  }
  return s;
}

std::string Summary::table() const {
  std::vector<std::string> names{"Layer"}, outputs{"Output shape"}, params{"Parameters"}, counts{"Count"};
  for (const SummaryRow& r : rows) {
    outputs.push_back(r.has_output ? to_string(r.output) : "");
    std::string p;
    for (auto& [name, shape] : r.params) // a parameter with no scope is its own row: just its shape
      p += (p.empty() ? "" : ", ") + (name == r.layer ? "" : name + " ") + to_string(shape);
    names.push_back(r.layer);
    params.push_back(p);
    counts.push_back(with_commas(r.total()) + (r.non_trainable ? fmt::format(" ({} frozen)", with_commas(r.non_trainable)) : ""));
  }
  auto width = [](const std::vector<std::string>& v) {
    size_t w = 0;
    for (auto& x : v) w = std::max(w, x.size());
    return w;
  };
  const size_t a = width(names), o = width(outputs), b = width(params), c = width(counts);
  std::string out;
  if (rows.empty()) return "No parameters (the graph takes every tensor as an input).\n";
  const size_t w = a + o + b + c + 6;
  const std::string rule(w, '=');
  for (size_t i = 0; i < names.size(); ++i) {
    if (i <= 1) out += (i ? std::string(w, '-') : rule) + "\n";
    out += fmt::format("{:<{}}  {:<{}}  {:<{}}  {:>{}}\n", names[i], a, outputs[i], o, params[i], b, counts[i], c);
  }
  out += rule + "\n";
  out += fmt::format("Total params: {}\nTrainable params: {}\nNon-trainable params: {}\n", with_commas(total()),
                     with_commas(trainable), with_commas(non_trainable));
  return out;
}

} // namespace sg
