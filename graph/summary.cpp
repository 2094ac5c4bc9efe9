#include "graph/summary.hpp"

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
    if (row == s.rows.end()) row = s.rows.insert(s.rows.end(), SummaryRow{layer, {}, 0, 0});
    row->params.emplace_back(rest, n.shape);
    const bool trainable = n.kind != NodeKind::update;
    (trainable ? row->trainable : row->non_trainable) += numel(n.shape);
    (trainable ? s.trainable : s.non_trainable) += numel(n.shape);
  }
  return s;
}

std::string Summary::table() const {
  std::vector<std::string> names{"Layer"}, params{"Parameters"}, counts{"Count"};
  for (const SummaryRow& r : rows) {
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
  const size_t a = width(names), b = width(params), c = width(counts);
  std::string out;
  if (rows.empty()) return "No parameters (the graph takes every tensor as an input).\n";
  const std::string rule(a + b + c + 4, '=');
  for (size_t i = 0; i < names.size(); ++i) {
    if (i <= 1) out += (i ? std::string(a + b + c + 4, '-') : rule) + "\n";
    out += fmt::format("{:<{}}  {:<{}}  {:>{}}\n", names[i], a, params[i], b, counts[i], c);
  }
  out += rule + "\n";
  out += fmt::format("Total params: {}\nTrainable params: {}\nNon-trainable params: {}\n", with_commas(total()),
                     with_commas(trainable), with_commas(non_trainable));
  return out;
}

} // namespace sg
