#include "graph/graph.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace sg {

const char* to_string(NodeKind k) {
  switch (k) {
  case NodeKind::forward: return "forward";
  case NodeKind::gradient: return "gradient";
  case NodeKind::update: return "update";
  }
  return "?";
}

std::string Node::scope() const {
  auto p = name.rfind('/');
  return p == std::string::npos ? std::string() : name.substr(0, p);
}

std::string where(const std::source_location& loc) {
  std::string f = loc.file_name();
  for (const char* top : {"/models/", "/ops/", "/graph/", "/autodiff/", "/tests/", "/tools/"}) {
    auto p = f.rfind(top);
    if (p != std::string::npos) {
      f = f.substr(p + 1);
      break;
    }
  }
  return fmt::format("{}:{}", f, loc.line());
}

NodeId Graph::add(Op op, std::vector<NodeId> inputs, Attrs attrs, std::string name,
                  std::source_location loc) {
  const OpDef& def = op_def(op);
  std::string full = name.empty() ? unique_name(prefix() + def.name) : prefix() + name;
  if (!name.empty() && by_name_.count(full))
    throw ShapeError(fmt::format("node name '{}' is already used (at {})", full, where(loc)));
  std::vector<const Shape*> shapes;
  for (NodeId i : inputs) {
    if (i >= size())
      throw std::invalid_argument(fmt::format("node '{}': input id {} is not in the graph", full, i));
    shapes.push_back(&g_[i].shape);
  }
  auto describe_inputs = [&] {
    std::string s;
    for (size_t k = 0; k < inputs.size(); ++k)
      s += fmt::format("{}{} '{}' {}", k ? ", " : "", k, g_[inputs[k]].name, to_string(*shapes[k]));
    return s;
  };
  if (def.arity >= 0 ? static_cast<int>(inputs.size()) != def.arity : inputs.empty())
    throw ShapeError(fmt::format("shape error at node '{}' (op {}, {}): takes {} input(s), got {}",
                                 full, def.name, where(loc),
                                 def.arity >= 0 ? std::to_string(def.arity) : "one or more",
                                 inputs.size()));
  if (attrs.index() != op_attrs_index(op))
    throw std::invalid_argument(fmt::format("node '{}' (op {}, {}): the op's attributes are {} "
                                            "(ops/op_list.def), got {}",
                                            full, def.name, where(loc), op_attrs_name(op), attrs.name()));
  Shape out;
  try {
    out = def.shape(shapes, attrs);
  } catch (const RuleError& e) {
    throw ShapeError(fmt::format("shape error at node '{}' (op {}, {}): inputs [{}]: {}", full,
                                 def.name, where(loc), describe_inputs(), e.what()));
  }
  if (checked_numel(out) < 0)
    throw ShapeError(fmt::format("shape error at node '{}' (op {}, {}): inputs [{}]: its shape {} would have "
                                 "more than 2^40 elements",
                                 full, def.name, where(loc), describe_inputs(), to_string(out)));
  Node n;
  n.op = op;
  n.kind = kind_;
  n.name = full;
  n.shape = std::move(out);
  n.attrs = std::move(attrs);
  n.inputs = std::move(inputs);
  n.where = where(loc);
  NodeId id = boost::add_vertex(std::move(n), g_);
  for (size_t k = 0; k < g_[id].inputs.size(); ++k)
    boost::add_edge(g_[id].inputs[k], id, EdgeInfo{static_cast<int>(k)}, g_);
  by_name_.emplace(full, id);
  return id;
}

std::vector<NodeId> Graph::consumers(NodeId id) const {
  std::vector<NodeId> r;
  for (auto [e, end] = boost::out_edges(id, g_); e != end; ++e)
    if (g_[*e].slot >= 0) r.push_back(boost::target(*e, g_));
  std::sort(r.begin(), r.end());
  r.erase(std::unique(r.begin(), r.end()), r.end());
  return r;
}

std::optional<NodeId> Graph::find(std::string_view name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

NodeId Graph::at(std::string_view name) const {
  if (auto id = find(name)) return *id;
  std::string known;
  int shown = 0;
  for (auto& [k, v] : by_name_) {
    if (g_[v].op != Op::Input && g_[v].op != Op::Variable) continue;
    if (shown++ == 12) {
      known += ", ...";
      break;
    }
    known += (known.empty() ? "" : ", ") + k;
  }
  throw std::out_of_range(
      fmt::format("no node named '{}' in the graph (inputs and parameters: {})", name, known));
}

std::vector<NodeId> Graph::nodes_of(Op op) const {
  std::vector<NodeId> r;
  for (NodeId i = 0; i < size(); ++i)
    if (g_[i].op == op) r.push_back(i);
  return r;
}

void Graph::rename(NodeId id, const std::string& name) {
  if (g_[id].name == name) return;
  if (by_name_.count(name))
    throw std::invalid_argument(fmt::format("cannot rename '{}' to '{}': the name is taken",
                                            g_[id].name, name));
  by_name_.erase(g_[id].name);
  g_[id].name = name;
  by_name_.emplace(name, id);
}

std::vector<char> Graph::needed_by(const std::vector<NodeId>& targets) const {
  std::vector<char> need(size(), 0);
  std::vector<NodeId> stack;
  for (NodeId t : targets) {
    if (t >= size()) throw std::out_of_range(fmt::format("node id {} is not in the graph", t));
    stack.push_back(t);
  }
  while (!stack.empty()) {
    NodeId n = stack.back();
    stack.pop_back();
    if (need[n]) continue;
    need[n] = 1;
    for (NodeId i : g_[n].inputs) stack.push_back(i);
    for (NodeId i : g_[n].after) stack.push_back(i);
  }
  return need;
}

void Graph::add_order(NodeId before, NodeId id) {
  g_[id].after.push_back(before);
  boost::add_edge(before, id, EdgeInfo{-1}, g_);
}

Graph::ScopeGuard::ScopeGuard(Graph& g, const std::string& s) : g_(g) { g.scopes_.push_back(s); }
Graph::ScopeGuard::~ScopeGuard() { g_.scopes_.pop_back(); }

std::string Graph::prefix() const {
  std::string p;
  for (auto& s : scopes_) p += s + "/";
  return p;
}

Graph::ScopeReset::ScopeReset(Graph& g, const std::string& path) : g_(g), saved_(g.scopes_) {
  g.scopes_.clear();
  if (!path.empty()) g.scopes_.push_back(path);
}
Graph::ScopeReset::~ScopeReset() { g_.scopes_ = std::move(saved_); }

std::string Graph::layer_name(const std::string& base) {
  for (;;) {
    int n = layer_counters_[base]++;
    std::string name = n == 0 ? base : fmt::format("{}_{}", base, n);
    const std::string scope = name + "/";
    auto it = by_name_.lower_bound(scope); // the first name in scope `name`, if any
    bool scope_used = it != by_name_.end() && it->first.starts_with(scope);
    if (!by_name_.count(name) && !scope_used) return name;
  }
}

void Graph::set_mask(NodeId value, NodeId mask) {
  if (value >= size() || mask >= size())
    throw std::out_of_range(fmt::format("set_mask: node id {} or {} is not in the graph", value, mask));
  masks_[value] = mask;
}

std::optional<NodeId> Graph::mask_of(NodeId value) const {
  auto it = masks_.find(value);
  if (it == masks_.end()) return std::nullopt;
  return it->second;
}

std::optional<NodeId> Graph::derived(NodeId of, std::string_view what) const {
  auto it = derived_.find(std::pair{of, std::string(what)});
  if (it == derived_.end()) return std::nullopt;
  return it->second;
}

void Graph::set_derived(NodeId of, std::string_view what, NodeId value) {
  if (of >= size() || value >= size())
    throw std::out_of_range(fmt::format("set_derived: node id {} or {} is not in the graph", of, value));
  derived_[std::pair{of, std::string(what)}] = value;
}

std::string Graph::unique_name(const std::string& base) {
  for (;;) {
    int n = counters_[base]++;
    std::string name = n == 0 ? base : fmt::format("{}_{}", base, n);
    if (!by_name_.count(name)) return name;
  }
}

int64_t Value::dim(int i) const {
  int r = rank();
  int k = i < 0 ? i + r : i;
  if (k < 0 || k >= r)
    throw std::out_of_range(fmt::format("axis {} out of range for '{}' of shape {}", i, name(),
                                        to_string(shape())));
  return shape()[static_cast<size_t>(k)];
}

Value Value::named(const std::string& name) const {
  g_->rename(id_, g_->prefix() + name);
  return *this;
}

} // namespace sg
