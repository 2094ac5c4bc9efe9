#include "models/train/fit.hpp"

#include "graph/errors.hpp"
#include "graph/random.hpp"
#include "models/train/sampling.hpp"
#include "ops/ops.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <set>
#include <stdexcept>
#include <type_traits>

namespace sg::fit {

Value Net::in(const std::string& name) const {
  auto it = inputs.find(name);
  if (it != inputs.end()) return it->second;
  std::string known;
  for (auto& [k, v] : inputs) known += (known.empty() ? "" : ", ") + k;
  throw std::invalid_argument(fmt::format("the model has no input '{}' in this graph (it has: {})", name, known));
}

int64_t Net::size(const std::string& symbol) const {
  auto it = sizes.find(symbol);
  if (it == sizes.end()) throw std::invalid_argument(fmt::format("no size '{}' in this graph", symbol));
  return it->second;
}

Optimizer adam(Adam a) {
  return [a](Value loss, const std::vector<Value>& params, const std::optional<LRSchedule>& s) {
    Adam b = a;
    if (s) b.schedule = *s, b.decay = 0;
    return minimize(loss, params, b);
  };
}
Optimizer sgd(SGD s) {
  return [s](Value loss, const std::vector<Value>& params, const std::optional<LRSchedule>& schedule) {
    SGD b = s;
    if (schedule) b.schedule = *schedule;
    return minimize(loss, params, b);
  };
}
Optimizer adagrad(AdaGrad a) {
  return [a](Value loss, const std::vector<Value>& params, const std::optional<LRSchedule>& schedule) {
    AdaGrad b = a;
    if (schedule) b.schedule = *schedule;
    return minimize(loss, params, b);
  };
}

namespace {

const char* mode_name(Mode m) {
  return m == Mode::train ? "train" : m == Mode::evaluate ? "evaluate" : "predict";
}

std::string sizes_key(const Sizes& s) {
  std::string k;
  for (auto& [name, v] : s) k += fmt::format("{}{}={}", k.empty() ? "" : ",", name, v);
  return k;
}

std::vector<InputDecl> declared(const Spec& spec, Mode mode) {
  std::vector<InputDecl> d = spec.inputs;
  if (mode != Mode::predict) d.insert(d.end(), spec.targets.begin(), spec.targets.end());
  return d;
}

// The inputs a batch feeds: the declared ones but the carried state.
std::vector<InputDecl> fed(const Spec& spec, Mode mode) {
  std::vector<InputDecl> d = declared(spec, mode);
  std::erase_if(d, [&](const InputDecl& i) {
    return std::any_of(spec.carried.begin(), spec.carried.end(), [&](auto& c) { return c.first == i.name; });
  });
  return d;
}

} // namespace

Sizes sizes_of(const std::vector<InputDecl>& decls, const Feeds& feeds) {
  Sizes s;
  for (const InputDecl& d : decls) {
    auto it = feeds.find(d.name);
    if (it == feeds.end()) throw std::invalid_argument(fmt::format("input '{}' was not fed", d.name));
    const Shape& shape = it->second.shape();
    if (shape.size() != d.shape.size())
      throw std::invalid_argument(fmt::format("input '{}' is {}; the model declares {} axes", d.name,
                                              to_string(shape), d.shape.size()));
    for (size_t a = 0; a < shape.size(); ++a) {
      const Dim& dim = d.shape[a];
      if (dim.size >= 0 && shape[a] != dim.size)
        throw std::invalid_argument(fmt::format("input '{}' is {}: axis {} must be {}", d.name, to_string(shape),
                                                a, dim.size));
      if (dim.symbols.size() != 1) continue;
      auto [pos, fresh] = s.emplace(dim.symbols[0], shape[a]);
      if (!fresh && pos->second != shape[a])
        throw std::invalid_argument(fmt::format("input '{}' is {}: its {} (axis {}) is {}, another input's is {}",
                                                d.name, to_string(shape), dim.symbols[0], a, shape[a], pos->second));
    }
  }
  // Sum axes: each binds its one symbol no other axis shows (until none binds); then each must add up.
  auto sum_axes = [&](auto&& f) {
    for (const InputDecl& d : decls)
      for (size_t a = 0; a < d.shape.size(); ++a) {
        if (d.shape[a].symbols.size() < 2) continue;
        int64_t sum = 0;
        std::vector<std::string> unbound;
        for (auto& symbol : d.shape[a].symbols)
          if (s.count(symbol)) sum += s[symbol];
          else unbound.push_back(symbol);
        const Shape& shape = feeds.at(d.name).shape();
        const std::string is = fmt::format("input '{}' is {}: its {} (axis {}) is {}", d.name, to_string(shape),
                                           d.shape[a].text(), a, shape[a]);
        f(shape[a], sum, unbound, is);
      }
  };
  for (bool progress = true; progress;) {
    progress = false;
    sum_axes([&](int64_t have, int64_t sum, const std::vector<std::string>& unbound, const std::string& is) {
      if (unbound.size() != 1) return;
      if (have - sum < 1) throw std::invalid_argument(fmt::format("{}, leaving {} = {}", is, unbound[0], have - sum));
      progress = s.emplace(unbound[0], have - sum).second;
    });
  }
  sum_axes([&](int64_t have, int64_t sum, const std::vector<std::string>& unbound, const std::string& is) {
    if (!unbound.empty())
      throw std::invalid_argument(fmt::format("{}: no other input shows {}", is, fmt::join(unbound, ", ")));
    if (sum != have) throw std::invalid_argument(fmt::format("{}, the other inputs make it {}", is, sum));
  });
  return s;
}

struct Network::Compiled {
  Net net;
  Plan plan;
  std::vector<Value> metrics; // in Spec::metrics order
  std::vector<Value> carried; // the outputs of Spec::carried, in its order
  Value weight;               // data-parallel: this rank's share of the global batch (an input)
  std::string runs_key;       // its run counter's name in the loop state: a shard's, its global batch's plan
};

Network::Network(const Spec& spec, ParamStore& params, uint64_t seed) : spec_(spec), params_(params), seed_(seed) {}
Network::~Network() = default;

Net build(const Spec& spec, const Sizes& sizes, Mode mode, uint64_t seed, const Feeds& constants,
          const Shard& shard) {
  Net n;
  n.sizes = sizes;
  n.mode = mode;
  n.seed = seed;
  n.g->training = mode == Mode::train; // Dropout and BatchNormalization read it
  // Random ops' streams (Dropout's masks): one per (run seed, model, sizes),
  // a shard's those of its global batch's graph
  Sizes drawn = sizes;
  if (shard.global > 0 && drawn.count(batch.symbols[0])) {
    drawn[batch.symbols[0]] = shard.global;
    n.g->shard_offset = shard.offset;
    n.g->shard_rows = shard.rows;
    n.g->shard_global = shard.global;
  }
  n.g->seed = rng::derive(seed, spec.name + "/random/" + sizes_key(drawn));
  for (const InputDecl& d : declared(spec, mode)) {
    for (const Dim& dim : d.shape)
      for (auto& symbol : dim.symbols) n.size(symbol); // throws naming a missing size
    const Shape shape = shape_of(d, n.sizes);
    auto c = constants.find(d.name);
    if (c != constants.end() && c->second.shape() != shape)
      throw std::invalid_argument(fmt::format("the constant input '{}' is {}; the graph declares it {}", d.name,
                                              to_string(c->second.shape()), to_string(shape)));
    n.inputs[d.name] = c != constants.end() ? constant(*n.g, c->second, d.name) : input(*n.g, d.name, shape);
  }
  spec.build(n);
  if (mode != Mode::predict && !n.loss)
    throw std::logic_error(fmt::format("model {}: build() set no loss", spec.name));
  for (auto& m : spec.metrics)
    if (mode != Mode::predict && !n.metrics.count(m))
      throw std::logic_error(fmt::format("model {}: build() set no metric '{}'", spec.name, m));
  return n;
}

Net Network::build(const Sizes& sizes, Mode mode) const { return fit::build(spec_, sizes, mode, seed_); }

namespace {

// The numeric watchdog's guard: a check_finite node reads the fetched values
// (the loss, the metrics, the carried state) and every computed value the
// updates read (the gradients), and every update runs after it, so a NaN or
// inf stops the step before any parameter changes. Costs one pass over those
// values (Network::non_finite names the node that went non-finite).
void guard(Graph& g, const std::vector<Value>& fetch, const std::vector<Value>& effects) {
  std::vector<Value> checked;
  std::set<NodeId> seen;
  auto add = [&](NodeId id) {
    const Op op = g.node(id).op;
    if (op != Op::Input && op != Op::Variable && op != Op::Constant && seen.insert(id).second)
      checked.emplace_back(g, id);
  };
  for (const Value& v : fetch) add(v.id());
  for (const Value& u : effects) {
    const std::vector<NodeId> inputs = g.node(u.id()).inputs;
    for (size_t k = size_t(op_def(g.node(u.id()).op).mutates); k < inputs.size(); ++k) add(inputs[k]);
  }
  if (checked.empty() || effects.empty()) return;
  const Value check = check_finite(checked).named("check_finite");
  for (const Value& u : effects) g.add_order(check.id(), u.id());
}

} // namespace

Network::Compiled& Network::compiled(Mode mode, const Feeds& feeds) {
  const Sizes sizes = sizes_of(fed(spec_, mode), feeds);
  const bool sharded = mode == Mode::train && group_ && group_->parallel() && shard_.global > 0;
  std::string key = fmt::format("{}:{}", mode_name(mode), sizes_key(sizes)), runs_key = key;
  if (sharded) {
    Sizes global = sizes;
    if (global.count(batch.symbols[0])) global[batch.symbols[0]] = shard_.global;
    runs_key = fmt::format("{}:{}", mode_name(mode), sizes_key(global));
    key += fmt::format("@{}+{}/{}", shard_.offset, shard_.rows, shard_.global);
  }
  if (auto it = plans_.find(key); it != plans_.end()) return *it->second;
  Sizes all = sizes;
  all.insert(fixed_.begin(), fixed_.end());
  Net net = fit::build(spec_, all, mode, seed_, {}, sharded ? shard_ : Shard{});
  if (!checkpoint_.empty()) {
    std::string sizes;
    for (auto& [name, v] : fixed_) sizes += fmt::format("{}{} = {}", sizes.empty() ? "" : ", ", name, v);
    train::require_params(*net.g, params_, checkpoint_);
    train::require_shapes(*net.g, params_, checkpoint_,
                          (sizes.empty() ? "" : fmt::format(" (this run's sizes: {})", sizes)) + checkpoint_why_);
  }
  std::vector<Value> fetch, effects, metrics;
  if (mode == Mode::predict) {
    for (auto& [name, v] : net.outputs) fetch.push_back(v);
  } else {
    fetch.push_back(net.loss);
    for (auto& m : spec_.metrics) metrics.push_back(net.metrics.at(m));
    fetch.insert(fetch.end(), metrics.begin(), metrics.end());
  }
  std::vector<Value> carried;
  for (auto& [in, out] : spec_.carried) {
    auto it = net.outputs.find(out);
    if (it == net.outputs.end())
      throw std::logic_error(fmt::format("model {}: build() set no output '{}' to carry to '{}'", spec_.name, out, in));
    carried.push_back(it->second);
  }
  if (mode != Mode::predict) fetch.insert(fetch.end(), carried.begin(), carried.end());
  Value weight;
  if (mode == Mode::train && group_ && group_->parallel()) {
    weight = input(*net.g, "data_parallel/weight", {});
    net.g->reduce_gradients = [b = bucket_bytes_](const std::vector<Value>& grads) {
      return allreduce_gradients(grads, b);
    };
  }
  if (mode == Mode::train) {
    // data-parallel: the job's loss is the ranks' losses weighted by their
    // shares of the batch, each rank differentiating its term
    effects = spec_.optimizer(weight.valid() ? net.loss * weight : net.loss, all_params(*net.g), schedule_).updates;
    net.g->reduce_gradients = nullptr;
    for (NodeId u : net.g->state_updates) effects.emplace_back(*net.g, u); // batch-norm statistics
    guard(*net.g, fetch, effects);
  }
  Plan plan(*net.g, params_, fetch, effects, {spec_.dtype, seed_});
  if (auto r = restored_runs_.find(runs_key); r != restored_runs_.end()) plan.set_runs(r->second);
  auto c = std::make_unique<Compiled>(
      Compiled{std::move(net), std::move(plan), std::move(metrics), std::move(carried), weight, runs_key});
  return *plans_.emplace(key, std::move(c)).first->second;
}

void Network::feed(Compiled& c, const Feeds& feeds) const {
  if (c.weight.valid()) {
    Tensor w(Shape{}, spec_.dtype);
    w.set(0, shard_weight_);
    c.plan.feed(c.weight.id(), w);
  }
  for (auto& [name, v] : c.net.inputs) {
    if (auto it = feeds.find(name); it != feeds.end()) {
      c.plan.feed(v.id(), it->second);
    } else { // a carried input: the previous step's state, zeros at the first
      auto state = carried_.find(name);
      c.plan.feed(v.id(), state != carried_.end() ? state->second : Tensor(v.shape(), spec_.dtype));
    }
  }
}

void Network::non_finite(Compiled& c, const NumericError& e) {
  // What went non-finite, in the model's words
  std::string what = fmt::format("'{}' is not finite", e.name);
  if (e.node == c.net.loss.id()) what = "the loss is not finite";
  for (auto& [name, v] : c.net.metrics)
    if (e.node == v.id()) what = fmt::format("the metric '{}' is not finite", name);
  for (size_t k = 0; k < spec_.carried.size(); ++k)
    if (e.node == c.carried[k].id()) what = fmt::format("the carried state '{}' is not finite", spec_.carried[k].second);
  if (check_numerics()) what = "--check-numerics: a value is not finite";
  else if (e.node != c.net.loss.id() && what.starts_with("'")) what = fmt::format("the gradient {}", what);
  // The first node that computed a non-finite value: the step again, node by
  // node. Not after an update wrote one (--check-numerics): the parameters
  // have changed, and that update is the first.
  // Not in a data-parallel run either: the run again would hand its
  // gradients to a reduction the other ranks are not running.
  std::optional<NumericError> first;
  if (op_def(c.net.g->node(e.node).op).mutates == 0 && !(group_ && group_->parallel()))
    first = c.plan.first_non_finite();
  const NumericError& f = first ? *first : e;
  const NumericError err = f.with(what + (first ? "\n  the first non-finite value (the step run again node by node): "
                                                : "\n  the first non-finite value: "));
  if (on_non_finite_) on_non_finite_(err);
  throw err;
}

Network::Result Network::run(Mode mode, const Feeds& feeds) {
  Compiled& c = compiled(mode, feeds);
  feed(c, feeds);
  try {
    c.plan.run();
  } catch (const NumericError& e) { // the training plan's guard, or --check-numerics
    non_finite(c, e);
  }
  Result r;
  r.loss = c.plan.fetch(c.net.loss).at(0);
  for (const Value& m : c.metrics) r.metrics.push_back(c.plan.fetch(m).at(0));
  if (mode == Mode::evaluate) { // no guard there: the loss and metrics checked here
    const Value* bad = std::isfinite(r.loss) ? nullptr : &c.net.loss;
    for (size_t k = 0; k < c.metrics.size() && !bad; ++k)
      if (!std::isfinite(r.metrics[k])) bad = &c.metrics[k];
    if (bad) non_finite(c, NumericError(fmt::format("'{}' is not finite", bad->name()), bad->id(), bad->name(),
                                        op_name(bad->node().op)));
  }
  for (size_t k = 0; k < spec_.carried.size(); ++k) carried_[spec_.carried[k].first] = c.plan.fetch(c.carried[k]);
  return r;
}

Network::Result Network::train_step(const Feeds& batch) { return run(Mode::train, batch); }
Network::Result Network::evaluate_step(const Feeds& batch) { return run(Mode::evaluate, batch); }

Feeds Network::predict(const Feeds& inputs) {
  Compiled& c = compiled(Mode::predict, inputs);
  feed(c, inputs);
  c.plan.run();
  Feeds out;
  for (auto& [name, v] : c.net.outputs) out[name] = c.plan.fetch(v);
  return out;
}

PlanStats Network::prepare(Mode mode, const Feeds& feeds) { return compiled(mode, feeds).plan.stats(); }

std::map<std::string, uint64_t> Network::runs() const {
  std::map<std::string, uint64_t> r = restored_runs_;
  for (auto& [key, c] : plans_)
    if (key.starts_with("train:")) r[c->runs_key] = c->plan.runs();
  return r;
}

void Network::set_runs(const std::map<std::string, uint64_t>& runs) { restored_runs_ = runs; }

void Network::set_data_parallel(dist::Group& group, int64_t bucket_bytes) {
  if (!plans_.empty()) throw std::logic_error("Network::set_data_parallel after a plan was compiled");
  if (bucket_bytes < 1) throw std::invalid_argument(fmt::format("allreduce bucket of {} bytes", bucket_bytes));
  group_ = &group;
  bucket_bytes_ = bucket_bytes;
}

std::span<const int64_t> shard(std::span<const int64_t> batch, int rank, int ranks) {
  const auto n = int64_t(batch.size()), r = int64_t(rank), k = int64_t(ranks);
  const int64_t begin = r * (n / k) + std::min(r, n % k);
  const int64_t size = n / k + (r < n % k ? 1 : 0);
  return batch.subspan(size_t(begin), size_t(size));
}

void Network::set_data(const Data& data) {
  set_sizes(data.sizes);
  for (auto& [name, t] : data.weights)
    if (!params_.contains(name)) params_.set(name, t.to(spec_.dtype));
}

std::vector<std::string> fit_columns(const Spec& spec, bool validation, const std::vector<DataMetric>& data) {
  std::vector<std::string> c = spec.metrics;
  if (validation) {
    c.push_back("val_loss");
    for (auto& m : spec.metrics) c.push_back("val_" + m);
    for (auto& m : data) c.push_back("val_" + m.name);
  }
  return c;
}

namespace {

constexpr std::string_view kRunsPrefix = "runs:";
constexpr std::string_view kCarriedPrefix = "carried:";

// Sums of (loss, metrics) weighted by batch size (or not, for a summed
// loss), then their means over the examples.
struct Weighted {
  double n = 0, loss = 0;
  std::vector<double> metrics;
  void add(const Network::Result& r, double weight, double examples) {
    n += examples;
    loss += r.loss * weight;
    metrics.resize(r.metrics.size(), 0.0);
    for (size_t i = 0; i < r.metrics.size(); ++i) metrics[i] += r.metrics[i] * weight;
  }
  Network::Result mean() const {
    Network::Result r{loss / n, metrics};
    for (double& m : r.metrics) m /= n;
    return r;
  }
};

} // namespace

std::vector<int64_t> epoch_order(int64_t n, bool shuffle, uint64_t seed, const std::string& model, int64_t epoch) {
  std::vector<int64_t> order(size_t(std::max<int64_t>(n, 0)), 0);
  std::iota(order.begin(), order.end(), 0);
  if (shuffle) train::shuffle(order, seed, rng::hash_name(model + "/shuffle") + uint64_t(epoch));
  return order;
}

namespace {

// Calls f(batch) for each batch of `order`: spans of batch_size, the last one smaller.
template <class F>
void for_each_batch(const std::vector<int64_t>& order, int64_t batch_size, const std::string& model, F f) {
  const int64_t n = int64_t(order.size());
  if (n < 1 || batch_size < 1)
    throw std::invalid_argument(fmt::format("{} batches: {} examples, batch size {}", model, n, batch_size));
  const int64_t count = (n + batch_size - 1) / batch_size;
  for (int64_t b = 0; b < count; ++b)
    f(std::span<const int64_t>(order.data() + b * batch_size, size_t(std::min(batch_size, n - b * batch_size))));
}

} // namespace

std::vector<std::vector<int64_t>> epoch_batches(int64_t n, int64_t batch_size, bool shuffle, uint64_t seed,
                                                const std::string& model, int64_t epoch) {
  std::vector<std::vector<int64_t>> batches;
  for_each_batch(epoch_order(n, shuffle, seed, model, epoch), batch_size, model,
                 [&](std::span<const int64_t> b) { batches.emplace_back(b.begin(), b.end()); });
  return batches;
}

std::vector<std::vector<int64_t>> epoch_batches(const Dataset& data, const FitOptions& opt, uint64_t seed,
                                                const std::string& model, int64_t epoch) {
  if (opt.bucket <= 0) return epoch_batches(data.size(), opt.batch_size, opt.shuffle, seed, model, epoch);
  std::vector<int64_t> order = epoch_order(data.size(), opt.shuffle, seed, model, epoch);
  const auto pool = std::max<int64_t>(1, opt.bucket * opt.batch_size);
  for (auto at = order.begin(); at != order.end();) {
    const auto end = order.end() - at > pool ? at + pool : order.end();
    std::stable_sort(at, end, [&](int64_t a, int64_t b) { return data.length(a) < data.length(b); });
    at = end;
  }
  std::vector<std::vector<int64_t>> batches;
  for_each_batch(order, opt.batch_size, model,
                 [&](std::span<const int64_t> b) { batches.emplace_back(b.begin(), b.end()); });
  if (opt.shuffle) train::shuffle(batches, seed, rng::hash_name(model + "/buckets") + uint64_t(epoch));
  return batches;
}

namespace {

// One global batch of a data-parallel run: this rank trains on its shard
// (weighted by its share of the batch in the gradients' sum); the batch's
// loss and metrics are every rank's, summed in rank order (the same bits on
// every rank), and so is whether a rank was asked to stop (Ctrl-C): every
// rank stops after the same batch. A rank whose shard is empty (a batch
// smaller than the job) runs one example of it with weight 0.
struct GlobalStep {
  Network::Result r;
  bool interrupt = false;
};
GlobalStep train_shard(Network& net, const Dataset& data, const std::vector<int64_t>& batch, bool summed,
                       bool interrupt) {
  dist::Group& g = *net.group();
  std::span<const int64_t> mine = shard(batch, g.rank(), g.size());
  const double share = double(mine.size()) / double(batch.size());
  if (mine.empty()) mine = std::span<const int64_t>(batch.data(), 1);
  net.set_shard({.offset = mine.data() - batch.data(), .rows = share > 0 ? int64_t(mine.size()) : 0,
                 .global = int64_t(batch.size())},
                summed && share > 0 ? 1.0 : share);
  const Network::Result r = net.train_step(data.batch(mine));
  std::vector<double> v{(summed && share > 0 ? 1.0 : share) * r.loss};
  for (double m : r.metrics) v.push_back(share * m);
  v.push_back(interrupt ? 1 : 0);
  v = g.sum(v);
  GlobalStep out;
  out.r.loss = v[0];
  out.r.metrics.assign(v.begin() + 1, v.end() - 1);
  out.interrupt = v.back() > 0;
  return out;
}

// A data-parallel run's start: the training plan of the first batch
// compiled (so that every parameter and optimizer slot exists), then rank
// 0's values broadcast to every rank (a resumed run's, or its seeded
// initialisation), and the replicas' checksums compared.
void start_data_parallel(Network& net, const Dataset& data, const std::vector<int64_t>& first) {
  dist::Group& g = *net.group();
  std::span<const int64_t> mine = shard(first, g.rank(), g.size());
  if (mine.empty()) mine = std::span<const int64_t>(first.data(), 1);
  net.set_shard({.offset = mine.data() - first.data(), .rows = g.rank() < int(first.size()) ? int64_t(mine.size()) : 0,
                 .global = int64_t(first.size())},
                0);
  net.prepare(Mode::train, data.batch(mine));
  dist::broadcast(g, net.params());
  dist::check_replicas(g, net.params(), "at the start");
}

// Where val_loss is among fit_columns(): after the spec's metrics.
size_t spec_metrics(const Network& net) { return net.spec().metrics.size(); }
} // namespace

void track(Network& net, train::Trainer& tr) {
  if (tr.resumed()) {
    std::map<std::string, uint64_t> runs;
    for (auto& [k, v] : tr.state().values)
      if (k.starts_with(kRunsPrefix)) runs[k.substr(kRunsPrefix.size())] = tr.state().get_u64(k);
    net.set_runs(runs);
    Feeds carried;
    for (auto& [in, out] : net.spec().carried) carried[in] = tr.state().tensor(in);
    net.set_carried(std::move(carried));
  }
  tr.on_save([&net](train::LoopState& s) {
    for (auto& [key, r] : net.runs()) s.set_u64(std::string(kRunsPrefix) + key, r);
    for (auto& [in, t] : net.carried()) s.tensors[in] = t;
  });
  net.on_non_finite([&tr](const NumericError& e) { tr.stop_non_finite(e); });
}

std::vector<double> fit_quietly(const Spec& spec, ParamStore& params, const Data& data, FitOptions opt,
                                int64_t epochs, uint64_t seed) {
  train::Trainer tr({.model = spec.name, .unit = "epoch", .steps = epochs, .quiet = true, .seed = seed,
                     .metrics = fit_columns(spec, opt.validation != nullptr, opt.data_metrics),
                     .out = train::no_output()},
                    params);
  Network net(spec, params, seed);
  net.set_data(data);
  std::vector<double> losses;
  opt.on_epoch = [&losses, then = opt.on_epoch](int64_t epoch, const Network::Result& r) {
    losses.push_back(r.loss);
    if (then) then(epoch, r);
  };
  fit(net, *data.train, tr, seed, opt);
  return losses;
}

Network::Result evaluate(Network& net, const Dataset& data, int64_t batch_size, bool summed_loss) {
  Weighted w;
  for_each_batch(epoch_order(data.size(), false, 0, net.spec().name, 0), batch_size, net.spec().name,
                 [&](std::span<const int64_t> b) {
                   w.add(net.evaluate_step(data.batch(b)), summed_loss ? 1.0 : double(b.size()), double(b.size()));
                 });
  return w.mean();
}

double fit(Network& net, const Dataset& data, train::Trainer& tr, uint64_t seed, const FitOptions& opt) {
  const std::string& model = net.spec().name;
  if (tr.options().metrics != fit_columns(net.spec(), opt.validation != nullptr, opt.data_metrics))
    throw std::logic_error(fmt::format("{}: the Trainer's metrics are not fit_columns()", model));
  if (tr.resumed() && tr.state().get_u64("data") != data.fingerprint())
    throw IoError(fmt::format("--resume: the training data are not those the checkpoint '{}' was trained on",
                              tr.options().checkpoint));
  tr.on_save([&](train::LoopState& s) { s.set_u64("data", data.fingerprint()); });
  track(net, tr);
  // EarlyStopping / ModelCheckpoint(save_best_only) state, saved with the run
  double best = tr.resumed() && tr.state().values.count("best") ? tr.state().get_double("best") : HUGE_VAL;
  int64_t wait = tr.resumed() && tr.state().values.count("wait") ? int64_t(tr.state().get_u64("wait")) : 0;
  tr.on_save([&](train::LoopState& s) {
    s.set("best", best);
    s.set_u64("wait", uint64_t(wait));
  });
  const std::string monitored = opt.validation ? "val_loss" : "loss";
  // Ctrl-C within an epoch: the batches done and their sums, saved exactly,
  // so that the resumed run finishes the epoch as the uninterrupted one does
  Weighted w;
  int64_t done_batches = 0;
  if (tr.resumed() && tr.state().values.count("epoch_batches")) {
    done_batches = int64_t(tr.state().get_u64("epoch_batches"));
    w.n = tr.state().get_double("epoch_n");
    w.loss = tr.state().get_double("epoch_loss");
    for (size_t i = 0; tr.state().values.count(fmt::format("epoch_metric{}", i)); ++i)
      w.metrics.push_back(tr.state().get_double(fmt::format("epoch_metric{}", i)));
  }
  tr.on_save([&](train::LoopState& s) {
    if (done_batches == 0) return;
    s.set_u64("epoch_batches", uint64_t(done_batches));
    s.set("epoch_n", w.n);
    s.set("epoch_loss", w.loss);
    for (size_t i = 0; i < w.metrics.size(); ++i) s.set(fmt::format("epoch_metric{}", i), w.metrics[i]);
  });
  const bool parallel = net.group() && net.group()->parallel();
  if (parallel && tr.first_step() < tr.steps())
    start_data_parallel(net, data, epoch_batches(data, opt, seed, model, tr.first_step()).at(0));
  double loss = 0;
  for (int64_t epoch = tr.first_step(); epoch < tr.steps(); ++epoch) {
    const std::vector<std::vector<int64_t>> batches = epoch_batches(data, opt, seed, model, epoch);
    const auto count = int64_t(batches.size());
    for (int64_t b = done_batches; b < count; ++b) {
      const std::vector<int64_t>& batch = batches[size_t(b)];
      const double size = double(batch.size());
      tr.in_part(b, count);
      bool interrupt = tr.interrupt_requested();
      if (parallel) {
        const GlobalStep step = train_shard(net, data, batch, opt.summed_loss, interrupt);
        w.add(step.r, opt.summed_loss ? 1.0 : size, size);
        interrupt = step.interrupt;
        if (opt.check_replicas_every > 0 && (b + 1) % opt.check_replicas_every == 0)
          dist::check_replicas(*net.group(), net.params(), fmt::format("after batch {} of epoch {}", b + 1, epoch + 1));
      } else {
        w.add(net.train_step(data.batch(batch)), opt.summed_loss ? 1.0 : size, size);
        interrupt = tr.interrupt_requested();
      }
      done_batches = b + 1;
      if (interrupt && b + 1 < count)
        tr.interrupt_within(epoch, fmt::format("in epoch {} after {} of {} batches", epoch + 1, b + 1, count));
    }
    if (parallel) dist::check_replicas(*net.group(), net.params(), fmt::format("after epoch {}", epoch + 1));
    done_batches = 0;
    Network::Result r = w.mean();
    w = Weighted{};
    if (opt.validation) {
      tr.in_part(0, 0, "validation");
      const Network::Result v = evaluate(net, *opt.validation, opt.batch_size, opt.summed_loss);
      r.metrics.push_back(v.loss);
      r.metrics.insert(r.metrics.end(), v.metrics.begin(), v.metrics.end());
      for (const DataMetric& m : opt.data_metrics) r.metrics.push_back(m.compute(net, *opt.validation));
    }
    loss = r.loss;
    if (opt.on_epoch) opt.on_epoch(epoch, r);
    const double value = opt.validation ? r.metrics[spec_metrics(net)] : r.loss;
    const bool better = value < best;
    if (better) best = value, wait = 0;
    else ++wait;
    tr.end_step(epoch, loss, r.metrics);
    if (epoch == 0 || (epoch + 1) % opt.report_every == 0) tr.report(epoch + 1, loss);
    if (better && !opt.save_best.empty()) tr.save_copy(opt.save_best, epoch + 1);
    if (opt.patience > 0 && wait >= opt.patience && epoch + 1 < tr.steps()) {
      tr.stop(epoch + 1, loss, fmt::format("{} did not improve on {:.6g} for {} epochs", monitored, best, wait));
      return loss;
    }
  }
  tr.finish(loss);
  return loss;
}

std::vector<ModelOption> fit_options() {
  return {
      {.name = "validation-split",
       .help = "Hold out this fraction of the examples (the last ones) as validation data: val_loss every epoch",
       .type = OptionType::number, .default_value = "0", .min = at_least(0), .max = below(1),
       .commands = {"train"}},
      {.name = "patience",
       .help = "Stop when val_loss (else the loss) has not improved for this many epochs (0: never)",
       .type = OptionType::integer, .default_value = "0", .min = at_least(0), .commands = {"train"}},
      {.name = "save-best",
       .help = "Also save the checkpoint of the epoch with the best val_loss (else loss) here",
       .type = OptionType::output_file, .commands = {"train"}},
      {.name = "lr-schedule",
       .help = "The learning rate by optimizer step t, in place of the model's: inverse-time lr / (1 + rate t / "
               "steps), exponential lr rate^(t / steps), step lr rate^floor(t / steps), constant (default: the "
               "model's own)",
       .type = OptionType::choice, .choices = {"constant", "inverse-time", "exponential", "step"},
       .commands = {"train"}},
      {.name = "lr-decay-rate",
       .help = "The schedule's rate (needed by every --lr-schedule but constant)",
       .type = OptionType::number, .min = at_least(0), .commands = {"train"}},
      {.name = "lr-decay-steps",
       .help = "The schedule's steps: optimizer steps (batches) per unit of decay",
       .type = OptionType::number, .default_value = "1", .min = above(0), .commands = {"train"}},
  };
}

std::optional<LRSchedule> schedule_option(const OptionValues& args) {
  if (!args.has("lr-schedule") || args.get_text("lr-schedule").empty()) {
    if (args.has("lr-decay-rate")) throw OptionError("--lr-decay-rate needs --lr-schedule (inverse-time, exponential or step)");
    return std::nullopt;
  }
  const std::string& kind = args.get_text("lr-schedule");
  if (kind == "constant") return LRSchedule{};
  if (!args.has("lr-decay-rate")) throw OptionError(fmt::format("--lr-schedule {} needs --lr-decay-rate", kind));
  const double rate = args.get_number("lr-decay-rate"), steps = args.get_number("lr-decay-steps");
  if (kind != "inverse-time" && rate <= 0)
    throw OptionError(fmt::format("--lr-decay-rate must be > 0 for --lr-schedule {} (got {})", kind, rate));
  return kind == "inverse-time" ? inverse_time_decay(rate, steps) : exponential_decay(rate, steps, kind == "step");
}

Subset::Subset(const Dataset& data, int64_t begin, int64_t end) : data_(data), begin_(begin), end_(end) {
  if (begin < 0 || end < begin || end > data.size())
    throw std::invalid_argument(fmt::format("examples [{}, {}) of {}", begin, end, data.size()));
}

Feeds Subset::batch(std::span<const int64_t> indices) const {
  std::vector<int64_t> shifted(indices.begin(), indices.end());
  for (int64_t& i : shifted) i += begin_;
  return data_.batch(shifted);
}

uint64_t Subset::fingerprint() const {
  return rng::mix(data_.fingerprint() ^ uint64_t(begin_) << 1 ^ uint64_t(end_) << 33);
}

TrainRun train(const RunArgs& args, const Spec& spec, const Data& d, const FitOptions& given,
               const std::function<void(train::Trainer&)>& start) {
  const Dataset& data = *d.train;
  const std::optional<LRSchedule> schedule = schedule_option(args); // its errors before any work
  FitOptions opt = given;
  if (args.has("validation-split")) opt.validation_split = args.get_number("validation-split");
  if (args.has("patience")) opt.patience = args.get_int("patience");
  if (args.has("save-best")) opt.save_best = args.get_text("save-best");
  const int64_t split_at = int64_t(double(data.size()) * (1 - opt.validation_split)); // Keras' rule
  const Subset train_part(data, 0, split_at), held_out(data, split_at, data.size());
  if (opt.validation_split > 0) {
    if (split_at < 1 || held_out.size() < 1)
      throw std::invalid_argument(fmt::format("--validation-split {} leaves {} training and {} validation examples",
                                              opt.validation_split, split_at, held_out.size()));
    opt.validation = &held_out;
  }
  if (d.validation) {
    if (opt.validation_split > 0)
      throw std::invalid_argument(fmt::format("--validation-split: {} has a validation set of its own ({} examples)",
                                              spec.name, d.validation->size()));
    opt.validation = d.validation.get();
  }
  train::LoopOptions lo = train::LoopOptions::from(args, spec.name, "epoch", "epochs", true);
  lo.metrics = fit_columns(spec, opt.validation != nullptr, opt.data_metrics);
  for (const std::string& m : spec.history_only) lo.history_only.insert({m, "val_" + m});
  lo.part = "batch"; // fit checks for Ctrl-C after every batch
  // Data-parallel (mpirun -np N): rank 0 writes the checkpoints, history
  // and progress; every rank stops where any was asked to
  if (dist::launched_size() > 1 && opt.batch_size < 2) // said before MPI starts
    throw OptionError(fmt::format("{} trains on one example per step (batch size 1, stochastic gradient "
                                  "descent): data parallelism does not apply. Run it without mpirun",
                                  spec.name));
  dist::Group* world = dist::launched_size() > 1 ? &dist::Group::world() : nullptr;
  if (world && world->parallel()) {
    if (world->rank() != 0) {
      lo.writes = false;
      lo.quiet = true;
      lo.history.clear();
      lo.out = train::no_output();
    }
    lo.agree = [world](bool stop) { return world->sum({stop ? 1.0 : 0.0})[0] > 0; };
  } else {
    world = nullptr;
  }
  TrainRun r;
  train::Trainer tr(lo, r.params);
  Network net(spec, r.params, args.seed);
  if (world) {
    net.set_data_parallel(*world);
    const int64_t n = world->size();
    tr.progress().print(fmt::format("data-parallel: {} processes, each {} or {} examples of every batch of {}\n",
                                    n, opt.batch_size / n, (opt.batch_size + n - 1) / n, opt.batch_size));
  }
  if (const int64_t n = world ? world->size() : 1;
      tr.resumed() && tr.state().values.count("ranks") && tr.state().get_u64("ranks") != uint64_t(n))
    tr.progress().print(fmt::format(
        "note: the checkpoint's run had {} process{}, this one {}: the gradients are summed in another order, so "
        "the result is no longer bitwise that of an uninterrupted run\n",
        tr.state().get_u64("ranks"), tr.state().get_u64("ranks") == 1 ? "" : "es", n));
  tr.on_save([n = world ? world->size() : 1](train::LoopState& s) { s.set_u64("ranks", uint64_t(n)); });
  net.set_data(d); // a resumed run keeps the checkpoint's weights
  net.set_schedule(schedule);
  tr.on_save([&d](train::LoopState& s) { // for predict, which need not read the data again
    for (auto& [k, v] : d.sizes) s.set_u64("size." + k, uint64_t(v));
  });
  if (start) start(tr);
  const Dataset& trained = opt.validation_split > 0 ? static_cast<const Dataset&>(train_part) : data;
  auto on_epoch = opt.on_epoch;
  opt.on_epoch = [&](int64_t epoch, const Network::Result& res) {
    r.examples += trained.size();
    if (on_epoch) on_epoch(epoch, res);
  };
  const auto t0 = std::chrono::steady_clock::now();
  r.loss = fit(net, trained, tr, args.seed, opt);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

BuiltGraph built_graph(const Spec& spec, const Feeds& given, const Sizes& defaults, bool backward,
                       const Feeds& constants) {
  Sizes sizes = defaults;
  std::vector<InputDecl> decls = spec.inputs;
  decls.insert(decls.end(), spec.targets.begin(), spec.targets.end());
  // the constants, unless an input they stand for is given (then each is an input to give)
  const bool replaced = std::any_of(constants.begin(), constants.end(), [&](auto& c) { return given.count(c.first); });
  const Feeds fixed = replaced ? Feeds{} : constants;
  for (const Feeds* feeds : {&fixed, &given})
    for (const InputDecl& d : decls)
      if (feeds->count(d.name))
        for (auto& [symbol, v] : sizes_of({d}, *feeds)) sizes[symbol] = v;
  const bool inference = spec.targets.empty() && !spec.optimizer;
  Net n = build(spec, sizes, inference ? Mode::predict : Mode::evaluate, 0, fixed);
  BuiltGraph b;
  for (auto& [name, v] : n.outputs) b.outputs.emplace_back(name, v);
  if (inference) {
    b.differentiable = all_params(*n.g);
    for (const InputDecl& d : spec.inputs) b.differentiable.push_back(n.inputs.at(d.name));
    b.graph = std::move(n.g);
    return b;
  }
  b.outputs.emplace_back("loss", n.loss);
  for (auto& [name, v] : n.metrics) b.outputs.emplace_back(name, v);
  b.differentiable = all_params(*n.g);
  if (backward) spec.optimizer(n.loss, b.differentiable, std::nullopt);
  for (auto& [in, out] : spec.carried) b.differentiable.push_back(n.inputs.at(in)); // a state: gradcheck it too
  b.graph = std::move(n.g);
  return b;
}

} // namespace sg::fit
