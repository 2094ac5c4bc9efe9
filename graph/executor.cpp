// Running a plan: a join counter per step; the thread that completes a
// step's last predecessor runs it. Light steps run inline from a local
// stack (no task each); a heavy step becomes a TBB task when there is other
// work for this thread to do, so another thread can take it.
//
// Numeric checks: a training plan's check_finite guard throws
// NonFiniteInput before the updates run (turned into a NumericError naming
// the value here); with --check-numerics every step's value is checked as
// soon as it is computed; first_non_finite() runs the last run again one
// node at a time to name the first node that went non-finite.
#include "graph/plan_impl.hpp"
#include "graph/tsan.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <limits>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

namespace sg {

namespace {

std::atomic<bool> g_check_numerics{false};

// NaN and ±inf are the values whose exponent bits are all ones: a branch-free
// OR over a block, then the exact index in the block that has one. The
// exponent field plus one carries into the sign bit exactly when it is all
// ones, so the test is an AND, an ADD and an OR per element: integer ops that
// vectorise at the baseline SSE2 for doubles too (an equality test of 64-bit
// lanes needs SSE4.1, and left the loop scalar: 0.8 ns an element).
template <class T, class U> int64_t first_bad(const T* p, int64_t n) {
  static_assert(sizeof(T) == sizeof(U));
  constexpr U mask = sizeof(T) == 4 ? U(0x7f800000u) : U(0x7ff0000000000000ull);
  constexpr U one = sizeof(T) == 4 ? U(1u << 23) : U(1ull << 52); // the exponent's lowest bit
  constexpr U sign = U(1) << (8 * sizeof(U) - 1);
  constexpr int64_t kBlock = 512;
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t e = std::min(n, b + kBlock);
    U bad = 0;
    for (int64_t i = b; i < e; ++i) {
      U u;
      std::memcpy(&u, p + i, sizeof u);
      bad |= U((u & mask) + one);
    }
    if (bad & sign)
      for (int64_t i = b; i < e; ++i)
        if (!std::isfinite(p[i])) return i;
  }
  return -1;
}

bool is_source(Op op) { return op == Op::Input || op == Op::Variable || op == Op::Constant; }

struct Pool {
  int n = 0;
  std::unique_ptr<tbb::global_control> control;
  std::unique_ptr<tbb::task_arena> arena;
  void configure(int threads) {
    if (threads < 1) throw std::invalid_argument(fmt::format("threads must be >= 1, got {}", threads));
    n = threads;
    arena.reset();
    control = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                    size_t(threads));
    arena = std::make_unique<tbb::task_arena>(threads);
  }
};

Pool& pool() {
  static Pool p = [] {
    Pool q;
    q.configure(tbb::this_task_arena::max_concurrency());
    return q;
  }();
  return p;
}

template <class T> struct Runner {
  PlanImpl& P;
  std::vector<Step<T>>& steps;
  tbb::task_group& tg;
  bool parallel;
  int64_t* prof; // per-step time, when profiling (each step is run by one thread)
  bool check;    // --check-numerics

  // Runs step `at` (and what it readies) as a TBB task; the tsan_ marks are
  // the hand-off and the join that TBB makes but ThreadSanitizer cannot see.
  void spawn(uint32_t at) {
    const void* handoff = &P.counts[at];
    tsan_release(handoff);
    [[maybe_unused]] const TsanIgnoreWrites closure_copy;
    tg.run([this, at, handoff] {
      tsan_acquire(handoff); // before the task reads anything of the Runner's
      drain(at);
      tsan_release(&tg);
    });
  }

  // Runs step `at` alone (the caller runs its successors).
  void one(uint32_t at) {
    const Step<T>& s = steps[at];
    try {
      if (prof) {
        const auto t0 = std::chrono::steady_clock::now();
        s.fn(s.args);
        prof[at] += std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now() - t0).count();
      } else {
        s.fn(s.args);
      }
    } catch (const NonFiniteInput& e) { // the guard: name the value (its inputs may be reused by now)
      const NodeId value = P.graph->node(s.node).inputs[size_t(e.input)];
      throw P.non_finite(value, value, e.index, P.graph->node(s.node).name);
    }
    if (check && !s.join) P.check(s);
  }

  // Runs `first` and everything it readies, inline where cheap.
  void drain(uint32_t first) {
    uint32_t local[64];
    int top = 0;
    local[top++] = first;
    while (top > 0) {
      const uint32_t at = local[--top];
      const Step<T>& s = steps[at];
      one(at);
      for (uint32_t k = s.succ_begin; k < s.succ_end; ++k) {
        uint32_t nx = P.succ[k];
        if (P.counts[nx].fetch_sub(1, std::memory_order_acq_rel) != 1) continue;
        // Ready. Keep it here unless it is heavy and there is other work
        // here already (then let another thread take one of them).
        if (top == 64 || (parallel && steps[nx].heavy && (top > 0 || k + 1 < s.succ_end)))
          spawn(nx);
        else
          local[top++] = nx;
      }
    }
  }
};

} // namespace

void set_threads(int n) { pool().configure(n); }
int threads() { return pool().n; }

int64_t first_non_finite(const float* p, int64_t n) { return first_bad<float, uint32_t>(p, n); }
int64_t first_non_finite(const double* p, int64_t n) { return first_bad<double, uint64_t>(p, n); }

void set_check_numerics(bool on) { g_check_numerics.store(on); }
bool check_numerics() { return g_check_numerics.load(); }

namespace {

double value_of(const PlanImpl& P, NodeId id, int64_t i) {
  const void* p = P.ptr(id);
  return P.dtype == DType::f32 ? double(static_cast<const float*>(p)[i]) : static_cast<const double*>(p)[i];
}

std::string number(double v) { return std::isnan(v) ? "nan" : fmt::format("{:.6g}", v); }

// " at element 17", " at element (3, 1)", "" for a scalar
std::string element_text(const Shape& s, int64_t i) {
  if (s.empty()) return "";
  if (s.size() == 1) return fmt::format(" at element {}", i);
  std::vector<int64_t> idx(s.size());
  for (size_t a = s.size(); a-- > 0;) {
    idx[a] = s[a] > 0 ? i % s[a] : 0;
    i = s[a] > 0 ? i / s[a] : 0;
  }
  return " at element " + to_string(idx);
}

std::string where_of(const Node& n) { return n.where.empty() ? "" : ", " + n.where; }

} // namespace

NumericError PlanImpl::non_finite(NodeId producer, NodeId value, int64_t index, const std::string& found_by) const {
  const Node& pn = graph->node(producer);
  const Node& vn = graph->node(value);
  const int64_t n = numel(vn.shape);
  int64_t bad = 0;
  for (int64_t i = 0; i < n; ++i) bad += !std::isfinite(value_of(*this, value, i));
  const double v = value_of(*this, value, index);
  const std::string count = n > 1 ? fmt::format(" ({} of its {} values are not finite)", bad, n) : "";
  const std::string op = op_name(pn.op);
  std::string s;
  if (pn.op == Op::Input) {
    s = fmt::format("input '{}' {} is {}{}{}: the data fed to the graph", pn.name, to_string(pn.shape), number(v),
                    element_text(pn.shape, index), count);
  } else if (pn.op == Op::Variable || pn.op == Op::Constant) {
    s = fmt::format("{} '{}' {} is {}{}{} before the run", pn.op == Op::Variable ? "parameter" : "constant", pn.name,
                    to_string(pn.shape), number(v), element_text(pn.shape, index), count);
    if (pn.op == Op::Variable) // who writes it: an update of an earlier step
      for (auto& [id, slot] : slots) {
        const Node& u = graph->node(id);
        const int m = op_def(u.op).mutates;
        for (int k = 0; k < m; ++k)
          if (u.inputs[size_t(k)] == producer)
            s += fmt::format(" (the update '{}' ({}{}) of an earlier step wrote it)", u.name, op_name(u.op), where_of(u));
      }
  } else if (producer != value) { // an update wrote it
    s = fmt::format("update '{}' ({}{}) wrote {} into '{}' {}{}{}", pn.name, op, where_of(pn), number(v), vn.name,
                    to_string(vn.shape), element_text(vn.shape, index), count);
  } else {
    s = fmt::format("node '{}' ({}{}) {} is {}{}{}", pn.name, op, where_of(pn), to_string(pn.shape), number(v),
                    element_text(pn.shape, index), count);
  }
  if (!found_by.empty()) {
    s += fmt::format(" (found by '{}')", found_by);
  } else if (!is_source(pn.op) && producer == value) {
    // What the node computed it from: each input's value at that element
    // (same size or a scalar), or its largest magnitude; then a guess at why.
    std::vector<double> at;
    bool all_finite = true, elementwise = true;
    std::string ins;
    for (NodeId i : pn.inputs) {
      const Node& in = graph->node(i);
      const int64_t m = numel(in.shape);
      if (m == 0 || !ptr(i)) continue;
      std::string desc;
      if (m == n || m == 1) {
        const double x = value_of(*this, i, m == 1 ? 0 : index);
        at.push_back(x);
        all_finite = all_finite && std::isfinite(x);
        desc = number(x);
      } else {
        elementwise = false;
        double big = 0;
        bool finite = true;
        for (int64_t k = 0; k < m; ++k) {
          const double x = value_of(*this, i, k);
          finite = finite && std::isfinite(x);
          big = std::max(big, std::abs(x));
        }
        all_finite = all_finite && finite;
        desc = finite ? fmt::format("{} (largest |x| {})", to_string(in.shape), number(big))
                      : fmt::format("{} (not all finite)", to_string(in.shape));
      }
      ins += fmt::format("{}'{}' ({}) {}", ins.empty() ? "" : ", ", in.name, op_name(in.op), desc);
    }
    if (!ins.empty()) s += "; from " + ins;
    std::string why;
    if (all_finite && !pn.inputs.empty()) {
      const bool f32 = dtype == DType::f32;
      if (elementwise && pn.op == Op::Div && at.size() == 2 && at[1] == 0) why = at[0] == 0 ? "0 / 0" : "division by zero";
      else if (elementwise && pn.op == Op::Log && at.size() == 1 && at[0] <= 0)
        why = at[0] == 0 ? "the log of 0" : "the log of a negative number";
      else if (elementwise && pn.op == Op::Sqrt && at.size() == 1 && at[0] < 0) why = "the square root of a negative number";
      else if (std::isinf(v))
        why = fmt::format("an overflow: beyond {}'s largest value, {:.3g}", f32 ? "float32" : "float64",
                          f32 ? double(std::numeric_limits<float>::max()) : std::numeric_limits<double>::max());
      else
        why = "NaN from finite inputs (inf - inf, 0 * inf or 0 / 0 within the op)";
      s += ": " + why;
    }
  }
  return NumericError(s, producer, pn.name, op);
}

template <class T> void PlanImpl::check(const Step<T>& s) const {
  if (s.args.out) {
    if (const int64_t at = first_non_finite(s.args.out, s.args.n()); at >= 0) throw non_finite(s.node, s.node, at);
    return;
  }
  const Node& n = graph->node(s.node);
  for (int k = 0; k < op_def(n.op).mutates; ++k) // an update: what it wrote
    if (const int64_t at = first_non_finite(s.args.in[k], s.args.size(k)); at >= 0)
      throw non_finite(s.node, n.inputs[size_t(k)], at);
}

template <class T> std::optional<NumericError> PlanImpl::diagnose() {
  struct Restore { // the run counter as it was (the re-run draws what the last run drew)
    uint64_t& counter;
    uint64_t saved;
    ~Restore() { counter = saved; }
  } restore{run_counter, run_counter};
  run_counter = last_run;
  rebind_params();
  std::optional<NumericError> found;
  pool().arena->execute([&] {
    for (NodeId n : order) {
      const Node& node = graph->node(n);
      if (!is_source(node.op) || !ptr(n)) continue;
      if (const int64_t at = first_non_finite(static_cast<const T*>(ptr(n)), numel(node.shape)); at >= 0) {
        found = non_finite(n, n, at);
        return;
      }
    }
    for (const Step<T>& s : steps<T>()) {
      const Op op = graph->node(s.node).op;
      if (op_def(op).mutates > 0 || op == Op::CheckFinite || !s.args.out) continue;
      s.fn(s.args);
      if (const int64_t at = first_non_finite(s.args.out, s.args.n()); at >= 0) {
        found = non_finite(s.node, s.node, at);
        return;
      }
    }
  });
  return found;
}

template <class T> void PlanImpl::execute() {
  auto& st = steps<T>();
  Pool& pl = pool();
  // One thread, or no step worth a task of its own (a small model: the
  // scheduler would run every step on this thread anyway): straight through,
  // in the order a one-thread run takes. The same values either way.
  if (pl.n == 1 || stats.heavy == 0) {
    pl.arena->execute([&] { // the kernels' own task groups (a large product's blocks) in the pool's arena
      tbb::task_group tg;      // unused: one() never spawns
      Runner<T> r{*this, st, tg, false, prof_ns.empty() ? nullptr : prof_ns.data(),
                  g_check_numerics.load(std::memory_order_relaxed)};
      for (const uint32_t at : serial) r.one(at);
    });
    return;
  }
  for (size_t i = 0; i < st.size(); ++i) counts[i].store(st[i].preds, std::memory_order_relaxed);
  pl.arena->execute([&] {
    tbb::task_group tg;
    Runner<T> r{*this, st, tg, pl.n > 1, prof_ns.empty() ? nullptr : prof_ns.data(),
                g_check_numerics.load(std::memory_order_relaxed)};
    try {
      for (size_t i = 0; i < roots.size(); ++i) {
        uint32_t root = roots[i];
        if (r.parallel && st[root].heavy && i + 1 < roots.size())
          r.spawn(root);
        else
          r.drain(root);
      }
    } catch (...) {
      // A kernel threw (a bad index, say): stop what is queued, let what is
      // running finish, then report. The next run starts from fresh counters.
      tg.cancel();
      tg.wait();
      tsan_acquire(&tg);
      throw;
    }
    tg.wait(); // rethrows an exception from a task
    tsan_acquire(&tg);
  });
}

void Plan::run() {
  PlanImpl& P = *p_;
  for (auto& [id, fed] : P.fed)
    if (!fed)
      throw std::invalid_argument(fmt::format("run: input '{}' {} was not fed",
                                              P.graph->node(id).name,
                                              to_string(P.graph->node(id).shape)));
  P.rebind_params();
  P.last_run = P.run_counter;
  if (P.dtype == DType::f32)
    P.execute<float>();
  else
    P.execute<double>();
  ++P.run_counter;
}

std::optional<NumericError> Plan::first_non_finite() {
  return p_->dtype == DType::f32 ? p_->diagnose<float>() : p_->diagnose<double>();
}

} // namespace sg
