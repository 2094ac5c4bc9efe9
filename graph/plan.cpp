// Compiling a graph into a plan: pruning, ordering, the buffer plan.
#include "graph/plan_impl.hpp"

#include "graph/random.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <unistd.h>

namespace sg {

namespace {

constexpr double kHeavyNs = 10000; // a node needs ~10 us of work before a task pays off
constexpr size_t kAlign = 64;
constexpr size_t kJoinAt = 4; // a buffer with more readers than this is guarded by a join step

size_t round_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

bool is_source(Op op) { return op == Op::Input || op == Op::Variable || op == Op::Constant; }

// Best-fit allocator over one arena with reuse guards: a block freed by a
// tenant remembers the tenant's readers; whoever takes it next must run
// after them (write-after-read ordering), so the plan stays correct when
// nodes run concurrently.
class Allocator {
public:
  struct Block {
    size_t offset, size;
    std::vector<NodeId> guard;
  };
  // Returns the offset and appends the guard nodes to `wait`.
  size_t take(size_t size, std::vector<NodeId>& wait) {
    auto it = free_.lower_bound(size);
    if (it == free_.end()) {
      size_t off = end_;
      end_ += size;
      return off;
    }
    Block b = std::move(it->second);
    free_.erase(it);
    wait.insert(wait.end(), b.guard.begin(), b.guard.end());
    if (b.size - size >= kAlign)
      free_.emplace(b.size - size, Block{b.offset + size, b.size - size, b.guard});
    return b.offset;
  }
  size_t take_fresh(size_t size) {
    size_t off = end_;
    end_ += size;
    return off;
  }
  void give(size_t offset, size_t size, std::vector<NodeId> guard) {
    free_.emplace(size, Block{offset, size, std::move(guard)});
  }
  size_t end() const { return end_; }

private:
  std::multimap<size_t, Block> free_;
  size_t end_ = 0;
};

} // namespace

void* PlanImpl::ptr(NodeId id) const {
  const Slot& s = slots.at(id);
  if (s.param) return s.param->raw();
  if (s.offset < 0) return nullptr;
  return arena.ptr.get() + s.offset;
}

void PlanImpl::rebind_params() {
  for (auto& [id, sp] : param_slots) {
    Slot& s = *sp;
    if (s.param->raw() == s.param_raw) continue;
    const Node& n = graph->node(id);
    if (s.param->shape() != n.shape || s.param->dtype() != dtype)
      throw std::runtime_error(fmt::format(
          "parameter '{}' was replaced by a {} {} tensor; the plan was compiled for {} {}", n.name,
          to_string(s.param->dtype()), to_string(s.param->shape()), to_string(dtype),
          to_string(n.shape)));
    for (auto& p : in_ptrs)
      if (p == s.param_raw) p = s.param->raw();
    s.param_raw = s.param->raw();
  }
}

Plan::Plan(const Graph& g, ParamStore& params, const std::vector<Value>& fetch,
           const std::vector<Value>& effects, CompileOptions opt)
    : Plan(g, params,
           [&] {
             std::vector<NodeId> r;
             for (auto& v : fetch) r.push_back(v.id());
             return r;
           }(),
           [&] {
             std::vector<NodeId> r;
             for (auto& v : effects) r.push_back(v.id());
             return r;
           }(),
           opt) {}

namespace {

// Compiling a plan, as a sequence of named phases over shared state.
class Compiler {
public:
  Compiler(PlanImpl& P, const Graph& g, ParamStore& params, std::vector<NodeId> fetch,
           std::vector<NodeId> effects, CompileOptions opt)
      : P(P), g(g), params(params), fetch(std::move(fetch)), effects(std::move(effects)), opt(opt),
        esize(dtype_size(opt.dtype)) {}

  void run() {
    select();
    dependencies();
    schedule();
    assign_buffers();
    load_constants();
    if (opt.dtype == DType::f32)
      build_steps<float>();
    else
      build_steps<double>();
    finish();
  }

private:
  // 1. The nodes the targets (fetched values and effects) need.
  void select() {
    std::vector<NodeId> targets = fetch;
    targets.insert(targets.end(), effects.begin(), effects.end());
    const std::vector<char> needed = g.needed_by(targets);
    for (NodeId n = 0; n < g.size(); ++n)
      if (needed[n]) members.push_back(n);
  }

  // 2. Dependencies: data inputs, explicit ordering, and "an update runs
  // after every other reader of what it updates".
  void dependencies() {
    for (NodeId n : members)
      for (NodeId i : g.node(n).inputs)
        if (readers[i].empty() || readers[i].back() != n) readers[i].push_back(n);
    for (NodeId n : members) {
      auto& pr = preds[n];
      for (NodeId i : g.node(n).inputs) pr.insert(i);
      for (NodeId i : g.node(n).after) pr.insert(i);
    }
    std::unordered_map<NodeId, NodeId> mutator;
    for (NodeId n : members) {
      const Node& node = g.node(n);
      const OpDef& def = op_def(node.op);
      for (int k = 0; k < def.mutates; ++k) {
        NodeId var = node.inputs[size_t(k)];
        if (g.node(var).op != Op::Variable)
          throw std::invalid_argument(fmt::format(
              "node '{}' ({}) updates input {} '{}', which is not a parameter", node.name, def.name,
              k, g.node(var).name));
        auto [it, fresh] = mutator.emplace(var, n);
        if (!fresh)
          throw std::invalid_argument(fmt::format(
              "parameter '{}' is updated by two nodes in one plan: '{}' and '{}'",
              g.node(var).name, g.node(it->second).name, node.name));
        for (NodeId r : readers[var])
          if (r != n) preds[n].insert(r);
      }
    }
  }

  // 3. ASAP levels (Kahn); the execution order is (level, id).
  void schedule() {
    std::unordered_map<NodeId, int> indeg;
    for (NodeId n : members) {
      indeg[n] = static_cast<int>(preds[n].size());
      for (NodeId p : preds[n]) succs[p].push_back(n);
    }
    std::vector<NodeId> frontier;
    for (NodeId n : members)
      if (indeg[n] == 0) {
        frontier.push_back(n);
        level[n] = 0;
      }
    for (size_t i = 0; i < frontier.size(); ++i) {
      NodeId n = frontier[i];
      order.push_back(n);
      for (NodeId s : succs[n]) {
        level[s] = std::max(level[s], level[n] + 1);
        if (--indeg[s] == 0) frontier.push_back(s);
      }
    }
    if (order.size() != members.size()) {
      std::string stuck;
      for (NodeId n : members)
        if (indeg[n] > 0) stuck += (stuck.empty() ? "" : ", ") + g.node(n).name;
      throw std::invalid_argument(
          "the graph has a cycle (an update feeding a reader of what it updates?) through: " + stuck);
    }
    std::stable_sort(order.begin(), order.end(), [&](NodeId a, NodeId b) {
      return level[a] != level[b] ? level[a] < level[b] : a < b;
    });
    P.order = order;
  }

  // Refuses a plan whose buffers would not fit in this machine's memory, naming
  // the largest value (a shape from a file, most likely), before allocating.
  void check_memory(size_t arena) const {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || page <= 0 || double(arena) <= double(pages) * double(page)) return;
    NodeId big = order.front();
    for (NodeId n : order)
      if (numel(g.node(n).shape) > numel(g.node(big).shape)) big = n;
    const Node& b = g.node(big);
    throw std::length_error(fmt::format(
        "the plan needs {:.1f} GiB of buffers, more than this machine's {:.1f} GiB of memory; its largest value "
        "is node '{}' ({}) of shape {}, {:.1f} GiB",
        double(arena) / double(1 << 30), double(pages) * double(page) / double(1 << 30), b.name,
        op_def(b.op).name, to_string(b.shape), double(numel(b.shape)) * double(esize) / double(1 << 30)));
  }

  // 4. The buffer plan: parameters in the ParamStore, inputs, constants and
  // kept values in slices of their own, every other value in a slice reused
  // by liveness (level by level; a reused slice waits for its last readers).
  //
  // A reshape moves no data: it shares its input's buffer (row-major order is
  // the same for both shapes), unless it is kept itself or its input is a
  // parameter or an update's output. Its step is then a no-op, and the shared
  // buffer lives until the last reader of either value has run: the
  // buffer's readers, for its release and for whoever takes it next, are
  // those of the value and of every reshape that shares it.
  void assign_buffers() {
    std::unordered_set<NodeId> kept(fetch.begin(), fetch.end());
    for (NodeId e : effects) kept.insert(e);
    std::map<NodeId, NodeId> shares;                // reshape -> the value whose buffer it shares
    std::map<NodeId, std::vector<NodeId>> sharers;  // that value -> its reshapes' readers
    for (NodeId n : order) {
      const Node& node = g.node(n);
      if (node.op != Op::Reshape || kept.count(n)) continue;
      NodeId src = node.inputs[0];
      if (auto it = shares.find(src); it != shares.end()) src = it->second;
      const Node& s = g.node(src);
      if (s.op == Op::Variable || op_def(s.op).mutates > 0) continue;
      shares[n] = src;
      auto& r = sharers[src];
      r.insert(r.end(), readers[n].begin(), readers[n].end());
    }
    auto readers_of_buffer = [&](NodeId n) {
      std::vector<NodeId> r = readers[n];
      if (auto it = sharers.find(n); it != sharers.end()) r.insert(r.end(), it->second.begin(), it->second.end());
      return r;
    };
    // A buffer read by many nodes (a sequence's projection, sliced once per
    // time step) is guarded by one join step that waits for all its readers;
    // every later tenant of a piece of it waits for the join alone, not for
    // each reader (edges k + t instead of k * t; the trigger-word training
    // plan: 4.0 M -> 0.2 M).
    auto guard_of = [&](std::vector<NodeId> readers, NodeId value) {
      std::sort(readers.begin(), readers.end());
      readers.erase(std::unique(readers.begin(), readers.end()), readers.end());
      if (readers.size() <= kJoinAt) return readers;
      const NodeId j = NodeId(g.size() + joins.size());
      joins.push_back(value);
      for (NodeId r : readers) {
        preds[j].insert(r);
        succs[r].push_back(j);
      }
      return std::vector<NodeId>{j};
    };
    Allocator alloc;
    std::map<int, std::vector<NodeId>> release_at; // release after this level
    size_t naive = 0;
    for (size_t idx = 0; idx < order.size();) {
      const int lv = level[order[idx]];
      for (; idx < order.size() && level[order[idx]] == lv; ++idx) {
        const NodeId n = order[idx];
        const Node& node = g.node(n);
        const OpDef& def = op_def(node.op);
        PlanImpl::Slot slot;
        const size_t bytes = round_up(size_t(numel(node.shape)) * esize);
        if (node.op == Op::Variable) {
          Tensor& t = params.ensure(node.name, node.shape, opt.dtype, node.init, opt.seed);
          slot.param = &t;
          slot.param_raw = t.raw();
          P.stats.param_bytes += t.nbytes();
        } else if (def.mutates > 0) {
          // updates write through their inputs: no buffer of their own
        } else if (auto sh = shares.find(n); sh != shares.end()) {
          slot.offset = P.slots.at(sh->second).offset; // released with it
          ++P.stats.shared_reshapes;
        } else if (node.op == Op::Input || node.op == Op::Constant || kept.count(n)) {
          slot.offset = int64_t(alloc.take_fresh(bytes));
          slot.kept = true;
          naive += bytes;
        } else {
          std::vector<NodeId> wait;
          slot.offset = int64_t(alloc.take(bytes, wait));
          naive += bytes;
          for (NodeId w : wait)
            if (w != n && preds[n].insert(w).second) succs[w].push_back(n);
          int last = lv;
          for (NodeId r : readers_of_buffer(n)) last = std::max(last, level[r]);
          release_at[last].push_back(n);
        }
        if (def.scratch) {
          std::vector<const Shape*> in;
          for (NodeId i : node.inputs) in.push_back(&g.node(i).shape);
          int64_t sc = def.scratch(in, node.shape, node.attrs);
          if (sc > 0) scratch_at[n] = int64_t(alloc.take_fresh(round_up(size_t(sc) * esize)));
        }
        P.slots[n] = slot;
        if (node.op == Op::Input) P.fed[n] = false;
      }
      // buffers whose last reader is at this level become free for later levels
      if (auto it = release_at.find(lv); it != release_at.end()) {
        for (NodeId n : it->second) {
          const size_t bytes = round_up(size_t(numel(g.node(n).shape)) * esize);
          alloc.give(size_t(P.slots[n].offset), bytes, guard_of(readers_of_buffer(n), n));
        }
        release_at.erase(it);
      }
    }
    check_memory(alloc.end());
    P.arena = AlignedBytes::allocate(alloc.end());
    P.stats.arena_bytes = alloc.end();
    P.stats.naive_bytes = naive;
  }

  // 5. Constants: converted once into their slots.
  void load_constants() {
    for (NodeId n : order) {
      const Node& node = g.node(n);
      if (node.op != Op::Constant) continue;
      const Tensor& v = *node.value;
      void* dst = P.ptr(n);
      if (opt.dtype == DType::f32) {
        auto* d = static_cast<float*>(dst);
        for (int64_t i = 0; i < v.size(); ++i) d[i] = static_cast<float>(v.at(i));
      } else {
        std::memcpy(dst, v.raw(), v.nbytes());
      }
    }
  }

  // 6. Steps: one per non-source node, with fixed pointers, join counts and
  // successor lists. The plan keeps its own copies of shapes and attributes:
  // the graph may grow (and move its nodes) after compiling.
  template <class T> void build_steps() {
    std::unordered_map<NodeId, uint32_t> step_of;
    size_t total_inputs = 0;
    for (NodeId n : order)
      if (!is_source(g.node(n).op)) {
        step_of[n] = uint32_t(step_nodes.size());
        step_nodes.push_back(n);
        total_inputs += g.node(n).inputs.size();
      }
    const size_t node_steps = step_nodes.size();
    for (size_t k = 0; k < joins.size(); ++k) { // after the nodes: no inputs, no attributes, no value
      step_of[NodeId(g.size() + k)] = uint32_t(step_nodes.size());
      step_nodes.push_back(NodeId(g.size() + k));
    }
    P.in_ptrs.reserve(total_inputs);
    P.in_shapes.reserve(total_inputs);
    std::unordered_map<NodeId, size_t> shape_at;
    P.shapes.reserve(order.size());
    for (NodeId n : order) {
      shape_at[n] = P.shapes.size();
      P.shapes.push_back(g.node(n).shape);
    }
    P.attrs.reserve(step_nodes.size());
    auto& steps = P.steps<T>();
    steps.resize(step_nodes.size());
    for (size_t s = 0; s < step_nodes.size(); ++s) {
      const NodeId n = step_nodes[s];
      Step<T>& st = steps[s];
      if (s >= node_steps) {
        st.node = joins[s - node_steps]; // the value whose readers it waits for
        st.fn = [](const KernelArgs<T>&) {};
        st.join = true;
      } else {
        build_step(st, n, shape_at);
      }
      int npred = 0;
      for (NodeId p : preds[n])
        if (step_of.count(p)) ++npred;
      st.preds = npred;
      st.succ_begin = uint32_t(P.succ.size());
      std::vector<uint32_t> ss;
      for (NodeId x : succs[n])
        if (step_of.count(x)) ss.push_back(step_of[x]);
      std::sort(ss.begin(), ss.end());
      ss.erase(std::unique(ss.begin(), ss.end()), ss.end());
      P.succ.insert(P.succ.end(), ss.begin(), ss.end());
      st.succ_end = uint32_t(P.succ.size());
      if (npred == 0) P.roots.push_back(uint32_t(s));
    }
    P.stats.joins = joins.size();
    P.stats.edges = P.succ.size();
    // One thread runs the steps straight in this order, with no join
    // counters and no task hand-offs: the order the scheduler's own
    // one-thread run takes (each root in turn, then depth first what it
    // readies, the last readied first: executor.cpp's drain).
    std::vector<int32_t> left(steps.size());
    for (size_t s = 0; s < steps.size(); ++s) left[s] = steps[s].preds;
    P.serial.clear();
    P.serial.reserve(steps.size());
    std::vector<uint32_t> stack;
    for (const uint32_t root : P.roots) {
      stack.push_back(root);
      while (!stack.empty()) {
        const uint32_t at = stack.back();
        stack.pop_back();
        P.serial.push_back(at);
        for (uint32_t k = steps[at].succ_begin; k < steps[at].succ_end; ++k)
          if (--left[P.succ[k]] == 0) stack.push_back(P.succ[k]);
      }
    }
    if (P.serial.size() != steps.size()) throw std::logic_error("plan: the step graph has a cycle");
  }

  template <class T>
  void build_step(Step<T>& st, NodeId n, const std::unordered_map<NodeId, size_t>& shape_at) {
    const Node& node = g.node(n);
    const OpDef& def = op_def(node.op);
    st.node = n;
    if constexpr (std::is_same_v<T, float>)
      st.fn = def.kernel.f32;
    else
      st.fn = def.kernel.f64;
    P.attrs.push_back(node.attrs);
    st.args.attrs = &P.attrs.back();
    st.args.n_in = int(node.inputs.size());
    const size_t base = P.in_ptrs.size();
    std::vector<const Shape*> in_shapes;
    for (NodeId i : node.inputs) {
      P.in_ptrs.push_back(P.ptr(i));
      P.in_shapes.push_back(&P.shapes[shape_at.at(i)]);
      in_shapes.push_back(&P.shapes[shape_at.at(i)]);
    }
    st.args.in = reinterpret_cast<T* const*>(P.in_ptrs.data() + base);
    st.args.in_shape = P.in_shapes.data() + base;
    st.args.out = static_cast<T*>(P.ptr(n));
    st.args.out_shape = &P.shapes[shape_at.at(n)];
    if (auto it = scratch_at.find(n); it != scratch_at.end())
      st.args.scratch = reinterpret_cast<T*>(P.arena.ptr.get() + it->second);
    st.args.stream = rng::hash_name(node.name);
    st.args.run = &P.run_counter;
    const double cost = def.cost ? def.cost(in_shapes, node.shape, node.attrs) : double(numel(node.shape));
    st.heavy = cost >= kHeavyNs;
    P.stats.heavy += st.heavy;
  }

  // 7. Join counters, statistics, profiling.
  void finish() {
    P.counts = std::make_unique<std::atomic<int32_t>[]>(step_nodes.size());
    for (auto& [id, slot] : P.slots)
      if (slot.param) P.param_slots.emplace_back(id, &slot);
    P.stats.nodes = step_nodes.size() - joins.size();
    if (const char* e = std::getenv("SEQGRAPH_PROFILE"); e && *e && std::string(e) != "0")
      P.prof_ns.assign(step_nodes.size(), 0);
    int maxlv = 0;
    for (auto& [n, l] : level) maxlv = std::max(maxlv, l);
    P.stats.levels = order.empty() ? 0 : size_t(maxlv) + 1;
  }

  PlanImpl& P;
  const Graph& g;
  ParamStore& params;
  const std::vector<NodeId> fetch, effects;
  const CompileOptions opt;
  const size_t esize;
  std::vector<NodeId> members, order, step_nodes;
  std::unordered_map<NodeId, std::vector<NodeId>> readers; // in-plan consumers
  std::unordered_map<NodeId, std::set<NodeId>> preds;
  std::unordered_map<NodeId, std::vector<NodeId>> succs;
  std::unordered_map<NodeId, int> level;
  std::map<NodeId, int64_t> scratch_at;
  std::vector<NodeId> joins; // join step k (id g.size() + k): the value whose readers it waits for
};

} // namespace

Plan::Plan(const Graph& g, ParamStore& params, std::vector<NodeId> fetch, std::vector<NodeId> effects,
           CompileOptions opt)
    : p_(std::make_unique<PlanImpl>()) {
  PlanImpl& P = *p_;
  P.graph = &g;
  P.params = &params;
  P.dtype = opt.dtype;
  Compiler(P, g, params, std::move(fetch), std::move(effects), opt).run();
}

// The SEQGRAPH_PROFILE report: kernel time by op, then the costliest nodes.
PlanImpl::~PlanImpl() {
  if (prof_ns.empty() || run_counter == 0) return;
  const size_t n = prof_ns.size();
  auto node_of = [&](size_t i) { return dtype == DType::f32 ? steps_f[i].node : steps_d[i].node; };
  double total = 0;
  std::map<std::string, std::pair<double, int>> by_op;
  for (size_t i = 0; i < n; ++i) {
    if (dtype == DType::f32 ? steps_f[i].join : steps_d[i].join) continue;
    const double ms = double(prof_ns[i]) / 1e6 / double(run_counter);
    total += ms;
    auto& e = by_op[op_name(graph->node(node_of(i)).op)];
    e.first += ms;
    ++e.second;
  }
  std::vector<std::pair<double, std::string>> ops;
  for (auto& [name, e] : by_op) ops.emplace_back(e.first, fmt::format("{:<22} {:6d} nodes", name, e.second));
  std::sort(ops.rbegin(), ops.rend());
  std::string out = fmt::format("seqgraph profile: {} nodes, {} runs, kernels {:.3f} ms per run\n",
                                n, run_counter, total);
  for (auto& [ms, what] : ops)
    if (ms >= total * 0.005) out += fmt::format("  {:5.1f}%  {:9.3f} ms  {}\n", 100 * ms / total, ms, what);
  std::vector<size_t> idx(n);
  for (size_t i = 0; i < n; ++i) idx[i] = i;
  // SEQGRAPH_PROFILE=N (N > 1) lists the N costliest nodes; otherwise 10
  const char* e = std::getenv("SEQGRAPH_PROFILE");
  const long want = e ? std::strtol(e, nullptr, 10) : 0;
  const size_t top = std::min<size_t>(want > 1 ? size_t(want) : 10, n);
  std::partial_sort(idx.begin(), idx.begin() + long(top), idx.end(),
                    [&](size_t a, size_t b) { return prof_ns[a] > prof_ns[b]; });
  out += "  costliest nodes:\n";
  for (size_t j = 0; j < top; ++j) {
    const Node& nd = graph->node(node_of(idx[j]));
    out += fmt::format("  {:9.3f} ms  {} {} {}\n", double(prof_ns[idx[j]]) / 1e6 / double(run_counter),
                       op_name(nd.op), nd.name, to_string(nd.shape));
  }
  std::fputs(out.c_str(), stderr);
}

Plan::~Plan() = default;
Plan::Plan(Plan&&) noexcept = default;
Plan& Plan::operator=(Plan&&) noexcept = default;

void Plan::feed(NodeId id, const Tensor& t) {
  auto it = p_->fed.find(id);
  const Graph& g = *p_->graph;
  if (it == p_->fed.end()) {
    if (id < g.size() && g.node(id).op == Op::Input)
      return; // an input the compiled targets do not need
    throw std::invalid_argument(fmt::format("feed: node '{}' is not an input",
                                            id < g.size() ? g.node(id).name : std::to_string(id)));
  }
  const Node& n = g.node(id);
  if (t.shape() != n.shape)
    throw std::invalid_argument(fmt::format("feed: input '{}' expects shape {}, got {}", n.name,
                                            to_string(n.shape), to_string(t.shape())));
  void* dst = p_->ptr(id);
  if (t.dtype() == p_->dtype)
    std::memcpy(dst, t.raw(), t.nbytes());
  else if (p_->dtype == DType::f32)
    for (int64_t i = 0; i < t.size(); ++i) static_cast<float*>(dst)[i] = float(t.at(i));
  else
    for (int64_t i = 0; i < t.size(); ++i) static_cast<double*>(dst)[i] = t.at(i);
  it->second = true;
}

void Plan::feed(const std::string& name, const Tensor& t) { feed(p_->graph->at(name), t); }

Tensor Plan::fetch(NodeId id) const {
  const Graph& g = *p_->graph;
  auto it = p_->slots.find(id);
  if (it == p_->slots.end() || (!it->second.kept && !it->second.param))
    throw std::invalid_argument(fmt::format(
        "fetch: '{}' was not requested when the plan was compiled",
        id < g.size() ? g.node(id).name : std::to_string(id)));
  const Node& n = g.node(id);
  Tensor t(n.shape, p_->dtype);
  if (numel(n.shape) > 0) std::memcpy(t.raw(), p_->ptr(id), t.nbytes());
  return t;
}

Tensor Plan::fetch(const std::string& name) const { return fetch(p_->graph->at(name)); }

const void* Plan::buffer(NodeId id, DType want, bool input) const {
  if (want != p_->dtype)
    throw std::invalid_argument(fmt::format("plan holds {}, accessed as {}", to_string(p_->dtype),
                                            to_string(want)));
  auto it = p_->slots.find(id);
  if (it == p_->slots.end() || (!it->second.kept && !it->second.param))
    throw std::invalid_argument("plan: value is not kept by this plan");
  if (input) p_->fed.at(id) = true;
  return p_->ptr(id);
}

DType Plan::dtype() const { return p_->dtype; }
uint64_t Plan::runs() const { return p_->run_counter; }
void Plan::set_runs(uint64_t r) { p_->run_counter = r; }
const PlanStats& Plan::stats() const { return p_->stats; }
std::vector<NodeId> Plan::order() const { return p_->order; }

} // namespace sg
