#include "autodiff/gradcheck.hpp"

#include "autodiff/autodiff.hpp"
#include "graph/plan.hpp"
#include "graph/random.hpp"
#include "ops/ops.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace sg {

std::vector<GradCheckResult> gradcheck(Graph& g, Value output, const std::vector<Value>& wrt,
                                       const std::map<std::string, Tensor>& values,
                                       GradCheckOptions opt) {
  for (auto& w : wrt)
    if (w.node().op != Op::Input && w.node().op != Op::Variable)
      throw std::invalid_argument(fmt::format(
          "gradcheck: '{}' is a {} node; check gradients w.r.t. inputs or parameters",
          w.name(), op_name(w.node().op)));
  Value r = input(g, fmt::format("gradcheck_r_{}", g.size()), output.shape());
  Value loss = sum(output * r);
  std::vector<Value> grads = gradients(loss, wrt);

  ParamStore params;
  std::vector<Value> fetch{loss};
  fetch.insert(fetch.end(), grads.begin(), grads.end());
  Plan plan(g, params, fetch, {}, {DType::f64, opt.seed});

  // Values: given, else seeded normal draws.
  auto draw = [&](const Node& n) {
    Tensor t(n.shape, DType::f64);
    rng::Stream s{opt.seed, rng::hash_name(n.name)};
    for (int64_t i = 0; i < t.size(); ++i) t.set(i, s.normal());
    return t;
  };
  std::map<NodeId, Tensor*> wrt_tensor;
  std::map<NodeId, Tensor> fed;
  for (NodeId id = 0; id < g.size(); ++id) {
    const Node& n = g.node(id);
    auto it = values.find(n.name);
    if (n.op == Op::Input) {
      fed[id] = it != values.end() ? it->second.to(DType::f64) : draw(n);
    } else if (n.op == Op::Variable && params.contains(n.name)) {
      params.at(n.name) = it != values.end() ? it->second.to(DType::f64) : draw(n);
    }
  }
  auto feed_all = [&] {
    for (auto& [id, t] : fed) plan.feed(id, t);
  };
  // A parameter the output does not depend on is not in the plan's store: it
  // gets a tensor of its own, whose perturbations the loss never sees
  // (numeric gradient 0, as the analytic one must be).
  std::map<NodeId, Tensor> unread;
  auto value_of = [&](const Value& w) -> Tensor& {
    if (w.node().op == Op::Input) return fed.at(w.id());
    if (params.contains(w.name())) return params.at(w.name());
    auto it = unread.find(w.id());
    if (it == unread.end()) it = unread.emplace(w.id(), draw(w.node())).first;
    return it->second;
  };
  auto loss_now = [&] {
    feed_all();
    plan.run();
    return plan.fetch(loss).at(0);
  };

  loss_now();
  std::vector<Tensor> analytic;
  for (auto& gr : grads) analytic.push_back(plan.fetch(gr));

  std::vector<GradCheckResult> out;
  for (size_t k = 0; k < wrt.size(); ++k) {
    GradCheckResult res;
    res.name = wrt[k].name();
    Tensor& x = value_of(wrt[k]);
    const int64_t n = x.size();
    const int64_t stride = std::max<int64_t>(1, n / std::max<int64_t>(1, opt.max_elements));
    for (int64_t i = 0; i < n; i += stride) {
      double x0 = x.at(i);
      x.set(i, x0 + opt.eps);
      double lp = loss_now();
      x.set(i, x0 - opt.eps);
      double lm = loss_now();
      x.set(i, x0);
      double num = (lp - lm) / (2 * opt.eps);
      double ana = analytic[k].at(i);
      double abs_err = std::abs(ana - num);
      double rel = abs_err / std::max(1.0, std::abs(num));
      if (rel > res.max_rel || res.worst < 0) {
        res.max_rel = std::max(res.max_rel, rel);
        res.worst = i;
        res.analytic = ana;
        res.numeric = num;
      }
      res.max_abs = std::max(res.max_abs, abs_err);
    }
    out.push_back(res);
  }
  return out;
}

} // namespace sg
