#include "autodiff/optimizers.hpp"

#include "autodiff/autodiff.hpp"
#include "ops/ops.hpp"

#include <cmath>
#include <fmt/format.h>
#include <set>
#include <stdexcept>

namespace sg {

namespace {

// Checks the parameters, differentiates, clips.
std::vector<Value> prepare(Value loss, const std::vector<Value>& params, const Clip& clip,
                           const char* who, TrainOps& out) {
  if (!loss.valid()) throw std::invalid_argument(fmt::format("minimize ({}): the loss is an empty Value", who));
  if (params.empty())
    throw std::invalid_argument(fmt::format("minimize ({}): no parameters to train", who));
  if (clip.value < 0 || clip.global_norm < 0)
    throw std::invalid_argument(fmt::format("minimize ({}): clip bounds must be >= 0 (got value {}, "
                                            "global_norm {})", who, clip.value, clip.global_norm));
  std::set<NodeId> seen;
  for (const Value& p : params) {
    if (!p.valid() || &p.graph() != &loss.graph())
      throw std::invalid_argument(
          fmt::format("minimize ({}): parameters must be valid Values of the loss's graph", who));
    if (p.node().op != Op::Variable)
      throw std::invalid_argument(fmt::format(
          "minimize ({}): '{}' is a {} node, not a parameter (Variable)", who, p.name(),
          op_name(p.node().op)));
    if (p.node().kind == NodeKind::update)
      throw std::invalid_argument(fmt::format(
          "minimize ({}): '{}' is optimizer or statistics state, not a trainable parameter", who,
          p.name()));
    if (!seen.insert(p.id()).second)
      throw std::invalid_argument(
          fmt::format("minimize ({}): parameter '{}' is listed twice", who, p.name()));
  }
  std::vector<Value> grads = gradients(std::vector<Value>{loss}, {}, params);
  if (loss.graph().reduce_gradients) grads = loss.graph().reduce_gradients(grads); // data-parallel: the ranks' sum
  return clip_gradients(grads, clip, &out.global_norm);
}

// A zero-initialised (or `init`) state variable with exactly `name`, whatever
// scope is open, of kind `update` (so all_params leaves it out).
Value state(Graph& g, const std::string& name, const Shape& shape, Initializer init) {
  if (g.find(name))
    throw std::invalid_argument(fmt::format("optimizer state '{}' already exists", name));
  Graph::KindGuard kind(g, NodeKind::update);
  Value v = param(g, name, shape, init);
  if (v.name() != name) g.rename(v.id(), name);
  return v;
}

// "adam", then "adam_1", ...: the first base whose state names are all free.
std::string state_base(const Graph& g, const std::string& kind, const std::vector<Value>& params,
                       const std::vector<std::string>& suffixes, bool has_iterations) {
  for (int n = 0;; ++n) {
    std::string base = n == 0 ? kind : fmt::format("{}_{}", kind, n);
    bool free = !has_iterations || !g.find(base + "/iterations");
    for (const Value& p : params)
      for (const auto& s : suffixes)
        if (free && g.find(fmt::format("{}/{}_{}", p.name(), base, s))) free = false;
    if (free) return base;
  }
}

// A gradient that is a table's rows: gather_grad(dy, indices, V), or add_n
// of several (a table gathered more than once), as (dy (n, row...), indices
// (n)), the pieces concatenated in add_n's order with their sizes (the
// sparse update sums each piece's rows, then the pieces, as gather_grad and
// add_n do). Empty Values otherwise.
struct Rows {
  Value dy, indices;
  std::vector<int64_t> parts; // each gather's number of indices, when several
};
Rows gathered_rows(const Value& grad) {
  Graph& g = grad.graph();
  Graph::KindGuard kind(g, NodeKind::gradient); // the reshapes and concats: gradient plumbing
  const Node& node = grad.node();
  std::vector<NodeId> parts;
  if (node.op == Op::GatherGrad) parts = {grad.id()};
  else if (node.op == Op::AddN) parts = node.inputs; // a copy: adding nodes may move `node`
  for (NodeId id : parts)
    if (g.node(id).op != Op::GatherGrad) return {};
  if (parts.empty()) return {};
  const Shape table = grad.shape();
  std::vector<Value> dys, indices;
  for (NodeId id : parts) {
    Value dy(g, g.node(id).inputs[0]), idx(g, g.node(id).inputs[1]);
    if (idx.rank() != 1) { // (b, t) indices: their rows flattened in order
      const int64_t n = numel(idx.shape());
      Shape rows = table;
      rows[0] = n;
      idx = reshape(idx, {n});
      dy = reshape(dy, rows);
    }
    dys.push_back(dy);
    indices.push_back(idx);
  }
  if (parts.size() == 1) return {dys[0], indices[0], {}};
  std::vector<int64_t> sizes;
  for (const Value& idx : indices) sizes.push_back(idx.dim(0));
  return {concat(dys, 0), concat(indices, 0), sizes};
}

} // namespace

std::vector<Value> clip_gradients(const std::vector<Value>& grads, const Clip& clip, Value* norm) {
  if (grads.empty() || (clip.value <= 0 && clip.global_norm <= 0)) return grads;
  Graph& g = grads[0].graph();
  Graph::KindGuard kind(g, NodeKind::gradient);
  auto scope = g.scope("clip");
  std::vector<Value> out = grads;
  if (clip.global_norm > 0) {
    std::vector<Value> squares;
    for (const Value& gi : out) squares.push_back(sum(square(gi)));
    Value global = sqrt(add_n(squares)).named("global_norm");
    // c / max(||g||, c): 1 while the norm is within bounds
    Value scale = clip.global_norm / maximum(global, scalar(g, clip.global_norm));
    for (Value& gi : out) gi = gi * scale;
    if (norm) *norm = global;
  }
  if (clip.value > 0)
    for (Value& gi : out) gi = sg::clip(gi, -clip.value, clip.value);
  return out;
}

namespace {

void check_schedule(const LRSchedule& s, const char* who) {
  if (s.kind == ScheduleKind::constant) return;
  if (!(s.steps > 0) || !std::isfinite(s.steps))
    throw std::invalid_argument(fmt::format("{}: a learning-rate schedule's steps must be > 0 (got {})", who, s.steps));
  if (s.kind == ScheduleKind::inverse_time && !(s.rate >= 0))
    throw std::invalid_argument(fmt::format("{}: inverse-time decay needs a rate >= 0 (got {})", who, s.rate));
  if (s.kind == ScheduleKind::exponential && !(s.rate > 0))
    throw std::invalid_argument(fmt::format("{}: exponential decay needs a rate > 0 (got {})", who, s.rate));
}

} // namespace

TrainOps minimize(Value loss, const std::vector<Value>& params, const SGD& opt) {
  check_schedule(opt.schedule, "SGD");
  TrainOps out;
  out.grads = prepare(loss, params, opt.clip, "SGD", out);
  Graph& g = loss.graph();
  Graph::KindGuard kind(g, NodeKind::update);
  const bool scheduled = opt.schedule.kind != ScheduleKind::constant;
  const std::string base = state_base(g, "sgd", params, {}, scheduled);
  Value iterations = scheduled ? state(g, base + "/iterations", {}, Initializer::zeros()) : Value{};
  auto scope = g.scope(base);
  for (size_t i = 0; i < params.size(); ++i)
    out.updates.push_back(scheduled ? apply_sgd(params[i], out.grads[i], iterations, opt.lr, opt.schedule)
                                    : apply_sgd(params[i], out.grads[i], opt.lr));
  if (scheduled) out.updates.push_back(assign_add(iterations, scalar(g, 1.0))); // after every apply_sgd
  return out;
}

TrainOps minimize(Value loss, const std::vector<Value>& params, const Adam& opt) {
  if (opt.decay != 0 && opt.schedule.kind != ScheduleKind::constant)
    throw std::invalid_argument("Adam: give either decay (Keras' legacy decay) or a schedule, not both");
  if (opt.decay < 0) throw std::invalid_argument(fmt::format("Adam: decay must be >= 0 (got {})", opt.decay));
  const LRSchedule schedule = opt.decay > 0 ? inverse_time_decay(opt.decay) : opt.schedule;
  check_schedule(schedule, "Adam");
  TrainOps out;
  out.grads = prepare(loss, params, opt.clip, "Adam", out);
  Graph& g = loss.graph();
  Graph::KindGuard kind(g, NodeKind::update);
  const std::string base = state_base(g, "adam", params, {"m", "v"}, true);
  Value iterations = state(g, base + "/iterations", {}, Initializer::zeros());
  {
    auto scope = g.scope(base);
    for (size_t i = 0; i < params.size(); ++i) {
      const Value& p = params[i];
      Value m = state(g, fmt::format("{}/{}_m", p.name(), base), p.shape(), Initializer::zeros());
      Value v = state(g, fmt::format("{}/{}_v", p.name(), base), p.shape(), Initializer::zeros());
      out.updates.push_back(apply_adam(p, m, v, iterations, out.grads[i], opt.lr, opt.beta1,
                                       opt.beta2, opt.epsilon, schedule));
    }
    // runs after every apply_adam: the plan orders an update after all other
    // readers of the variable it updates
    out.updates.push_back(assign_add(iterations, scalar(g, 1.0)));
  }
  return out;
}

TrainOps minimize(Value loss, const std::vector<Value>& params, const AdaGrad& opt) {
  check_schedule(opt.schedule, "AdaGrad");
  TrainOps out;
  out.grads = prepare(loss, params, opt.clip, "AdaGrad", out);
  Graph& g = loss.graph();
  Graph::KindGuard kind(g, NodeKind::update);
  const bool scheduled = opt.schedule.kind != ScheduleKind::constant;
  const std::string base = state_base(g, "adagrad", params, {"accum"}, scheduled);
  Value iterations = scheduled ? state(g, base + "/iterations", {}, Initializer::zeros()) : Value{};
  auto scope = g.scope(base);
  for (size_t i = 0; i < params.size(); ++i) {
    const Value& p = params[i];
    Initializer init = opt.initial_accumulator == 0 ? Initializer::zeros()
                                                    : Initializer::constant(opt.initial_accumulator);
    Value accum = state(g, fmt::format("{}/{}_accum", p.name(), base), p.shape(), init);
    const Rows rows = opt.sparse_rows ? gathered_rows(out.grads[i]) : Rows{};
    if (rows.dy && scheduled)
      out.updates.push_back(sparse_apply_adagrad(p, accum, rows.dy, rows.indices, iterations, opt.lr, opt.epsilon,
                                                 opt.schedule, rows.parts));
    else if (rows.dy)
      out.updates.push_back(sparse_apply_adagrad(p, accum, rows.dy, rows.indices, opt.lr, opt.epsilon, rows.parts));
    else if (scheduled)
      out.updates.push_back(apply_adagrad(p, accum, out.grads[i], iterations, opt.lr, opt.epsilon, opt.schedule));
    else
      out.updates.push_back(apply_adagrad(p, accum, out.grads[i], opt.lr, opt.epsilon));
  }
  if (scheduled) out.updates.push_back(assign_add(iterations, scalar(g, 1.0))); // after every update reading it
  return out;
}

std::vector<Value> all_params(Graph& g) {
  std::vector<Value> r;
  for (NodeId id : g.nodes_of(Op::Variable))
    if (g.node(id).kind != NodeKind::update) r.emplace_back(g, id);
  return r;
}

} // namespace sg
