#include "autodiff/autodiff.hpp"

#include "ops/ops.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <map>
#include <stdexcept>

namespace sg {

namespace {

// How many nodes read each node, kept current as the gradient graph grows:
// a contribution may be rewritten only if nothing else reads it.
struct Uses {
  std::vector<int> n;
  NodeId scanned = 0;
  NodeId first_new = 0; // nodes from here on were made by this gradients() call
  int of(const Graph& g, NodeId id) {
    n.resize(g.size(), 0);
    for (; scanned < g.size(); ++scanned)
      for (NodeId i : g.node(scanned).inputs) ++n[i];
    return n[id];
  }
  // `id` was replaced: mark it, and the nodes this call made only for it.
  void supersede(Graph& g, NodeId id) {
    if (id < first_new || g.node(id).superseded || of(g, id) > 0) return;
    g.edit(id).superseded = true;
    for (NodeId i : g.node(id).inputs) {
      if (i < first_new) continue;
      --n[i];
      supersede(g, i);
    }
  }
};

// Slices' cotangents of one tensor along one axis, disjoint ranges: one
// concat (zeros in the gaps) instead of full-size slice_grads and their sum.
// The gates of an LSTM step (one (B, 4H) product split four ways) and the
// steps of a sequence projected at once give this shape.
std::vector<Value> fuse_slice_grads(Graph& g, std::vector<Value> parts, Uses& uses) {
  // A part's slice (a reference: valid until a node is added).
  auto slice_of = [&](size_t i) -> const SliceGradAttrs& {
    return g.node(parts[i].id()).attrs.get<SliceGradAttrs>();
  };
  std::map<std::pair<Shape, int64_t>, std::vector<size_t>> groups;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Node& n = g.node(parts[i].id());
    if (n.op == Op::SliceGrad && uses.of(g, parts[i].id()) == 0) {
      const SliceGradAttrs& at = n.attrs.get<SliceGradAttrs>();
      groups[{at.full, at.axis}].push_back(i);
    }
  }
  std::vector<char> fused(parts.size(), 0);
  std::vector<Value> out;
  for (auto& [key, idx] : groups) {
    if (idx.size() < 2) continue;
    const auto& [full, axis] = key;
    std::sort(idx.begin(), idx.end(),
              [&](size_t a, size_t b) { return slice_of(a).begin < slice_of(b).begin; });
    bool disjoint = true;
    for (size_t j = 1; j < idx.size(); ++j)
      disjoint = disjoint && slice_of(idx[j]).begin >= slice_of(idx[j - 1]).end;
    if (!disjoint) continue;
    std::vector<Value> pieces;
    int64_t at = 0;
    auto gap = [&](int64_t upto) {
      if (upto <= at) return;
      Shape z = full;
      z[size_t(axis)] = upto - at;
      pieces.push_back(constant(g, Tensor(z, DType::f64)));
    };
    for (size_t i : idx) {
      const int64_t begin = slice_of(i).begin, end = slice_of(i).end;
      const NodeId dy = g.node(parts[i].id()).inputs[0];
      gap(begin);
      pieces.push_back(Value(g, dy));
      at = end;
      fused[i] = 1;
    }
    gap(full[size_t(axis)]);
    out.push_back(concat(pieces, axis));
    for (size_t i : idx) uses.supersede(g, parts[i].id());
  }
  for (size_t i = 0; i < parts.size(); ++i)
    if (!fused[i]) out.push_back(parts[i]);
  return out;
}

// Sum over t of op(A_t) op(B_t), products of the same kind (a weight used at
// every step of a sequence: the sum of x_t^T dz_t): one product of the A_t
// and B_t concatenated along the contracted axis, when copying the operands
// moves less data than summing the products would (m (p + q) <= T p q).
std::vector<Value> fuse_matmuls(Graph& g, std::vector<Value> parts, Uses& uses) {
  std::map<std::pair<bool, bool>, std::vector<size_t>> groups;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Node& n = g.node(parts[i].id());
    if (n.op == Op::MatMul && n.shape.size() == 2 && uses.of(g, parts[i].id()) == 0) {
      const MatMulAttrs& at = n.attrs.get<MatMulAttrs>();
      groups[{at.transpose_a, at.transpose_b}].push_back(i);
    }
  }
  std::vector<char> fused(parts.size(), 0);
  std::vector<Value> out;
  for (auto& [flags, idx] : groups) {
    if (idx.size() < 2) continue;
    const auto [ta, tb] = flags;
    const int64_t a_axis = ta ? 0 : 1, b_axis = tb ? 1 : 0; // the contracted axes
    std::vector<Value> as, bs;
    double m = 0;
    for (size_t i : idx) {
      const Node n = g.node(parts[i].id());
      as.emplace_back(g, n.inputs[0]);
      bs.emplace_back(g, n.inputs[1]);
      m += double(g.node(n.inputs[0]).shape[size_t(a_axis)]);
    }
    const Shape& y = g.node(parts[idx[0]].id()).shape;
    const double p = double(y[0]), q = double(y[1]);
    if (m * (p + q) > double(idx.size()) * p * q) continue;
    out.push_back(matmul(concat(as, a_axis), concat(bs, b_axis), ta, tb));
    for (size_t i : idx) {
      fused[i] = 1;
      uses.supersede(g, parts[i].id());
    }
  }
  for (size_t i = 0; i < parts.size(); ++i)
    if (!fused[i]) out.push_back(parts[i]);
  return out;
}

// The total gradient of a node with several contributions: one add node,
// after the rewrites above.
Value accumulate(Graph& g, std::vector<Value> parts, Uses& uses) {
  if (parts.size() > 1) parts = fuse_slice_grads(g, std::move(parts), uses);
  if (parts.size() > 1) parts = fuse_matmuls(g, std::move(parts), uses);
  return add_n(parts);
}

} // namespace

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
  Uses uses;
  uses.first_new = n0;
  for (NodeId n = n0; n-- > 0;) {
    auto it = contrib.find(n);
    if (it == contrib.end() || !on_path(n)) continue;
    const Node node = g.node(n); // a copy: adding nodes below may move the original
    std::string sc = node.scope();
    auto scope = g.scope(sc.empty() ? "grad" : "grad/" + sc);
    Value dy = accumulate(g, std::move(it->second), uses); // fan-in: one explicit add node
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
