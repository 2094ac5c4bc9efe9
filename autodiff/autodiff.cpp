#include "autodiff/autodiff.hpp"

#include "ops/ops.hpp"

#include <fmt/format.h>
#include <map>
#include <stdexcept>

namespace sg {

std::vector<Value> gradients(const std::vector<Value>& outputs, const std::vector<Value>& seeds,
                             const std::vector<Value>& wrt) {
  if (outputs.empty()) throw std::invalid_argument("gradients: no outputs given");
  if (!seeds.empty() && seeds.size() != outputs.size())
    throw std::invalid_argument(fmt::format("gradients: {} outputs but {} seeds", outputs.size(),
                                            seeds.size()));
  Graph& g = outputs[0].graph();
  for (auto& v : outputs)
    if (!v.valid() || &v.graph() != &g)
      throw std::invalid_argument("gradients: outputs must be valid Values of one graph");
  for (auto& v : wrt)
    if (!v.valid() || &v.graph() != &g)
      throw std::invalid_argument("gradients: wrt values must be valid Values of the same graph");

  // Node ids are a topological order: a node's inputs always exist before it.
  const NodeId n0 = g.size();
  std::vector<char> from_wrt(n0, 0), to_out(n0, 0);
  for (auto& w : wrt) from_wrt[w.id()] = 1;
  for (NodeId n = 0; n < n0; ++n)
    for (NodeId i : g.node(n).inputs)
      if (from_wrt[i]) from_wrt[n] = 1;
  for (auto& o : outputs) to_out[o.id()] = 1;
  for (NodeId n = n0; n-- > 0;)
    if (to_out[n])
      for (NodeId i : g.node(n).inputs) to_out[i] = 1;
  auto on_path = [&](NodeId n) { return from_wrt[n] && to_out[n]; };

  Graph::KindGuard kind(g, NodeKind::gradient);
  std::map<NodeId, std::vector<Value>> contrib;
  for (size_t k = 0; k < outputs.size(); ++k) {
    const Value& o = outputs[k];
    Value seed = seeds.empty() ? Value() : seeds[k];
    if (!seed.valid()) {
      auto sc = g.scope("grad");
      seed = constant(g, [&] {
        Tensor t(o.shape(), DType::f64);
        for (int64_t i = 0; i < t.size(); ++i) t.set(i, 1.0);
        return t;
      }());
    } else if (seed.shape() != o.shape()) {
      throw std::invalid_argument(fmt::format("gradients: seed '{}' has shape {} but output '{}' has {}",
                                              seed.name(), to_string(seed.shape()), o.name(),
                                              to_string(o.shape())));
    }
    if (on_path(o.id())) contrib[o.id()].push_back(seed);
  }

  std::map<NodeId, Value> total;
  for (NodeId n = n0; n-- > 0;) {
    auto it = contrib.find(n);
    if (it == contrib.end() || !on_path(n)) continue;
    const Node node = g.node(n); // a copy: adding nodes below may move the original
    std::string sc = node.scope();
    auto scope = g.scope(sc.empty() ? "grad" : "grad/" + sc);
    Value dy = add_n(it->second); // fan-in: one explicit add node
    total[n] = dy;
    contrib.erase(it);
    const OpDef& def = op_def(node.op);
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      NodeId in = node.inputs[i];
      if (!on_path(in)) continue;
      if (!def.vjp) {
        if (def.zero_grad) continue;
        throw std::invalid_argument(fmt::format(
            "cannot differentiate through node '{}' (op {}, {}): {}", node.name, def.name,
            node.where, def.no_grad ? def.no_grad : "no gradient rule"));
      }
      Value gi = def.vjp(VjpCtx{g, n, dy}, static_cast<int>(i));
      if (!gi.valid()) continue;
      if (gi.shape() != g.node(in).shape)
        throw std::logic_error(fmt::format(
            "gradient rule of op {} gave shape {} for input {} of node '{}', which has shape {}",
            def.name, to_string(gi.shape()), i, node.name, to_string(g.node(in).shape)));
      contrib[in].push_back(gi);
    }
  }

  std::vector<Value> result;
  for (auto& w : wrt) {
    auto it = total.find(w.id());
    if (it != total.end()) {
      result.push_back(it->second);
    } else {
      auto sc = g.scope("grad");
      result.push_back(constant(g, Tensor(w.shape(), DType::f64)));
    }
  }
  return result;
}

std::vector<Value> gradients(Value loss, const std::vector<Value>& wrt) {
  if (loss.valid() && numel(loss.shape()) != 1)
    throw std::invalid_argument(fmt::format(
        "gradients: loss '{}' has shape {}; give a seed for a non-scalar output", loss.name(),
        to_string(loss.shape())));
  return gradients(std::vector<Value>{loss}, {}, wrt);
}

} // namespace sg
