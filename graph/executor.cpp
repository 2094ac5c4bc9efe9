// Running a plan: a join counter per step; the thread that completes a
// step's last predecessor runs it. Light steps run inline from a local
// stack (no task each); a heavy step becomes a TBB task when there is other
// work for this thread to do, so another thread can take it.
#include "graph/plan_impl.hpp"
#include "graph/tsan.hpp"

#include <chrono>
#include <fmt/format.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

namespace sg {

namespace {

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

  // Runs step `at` (and what it readies) as a TBB task; the tsan_ marks are
  // the hand-off and the join that TBB makes but ThreadSanitizer cannot see.
  void spawn(uint32_t at) {
    tsan_release(&P.counts[at]);
    tg.run([this, at] {
      tsan_acquire(&P.counts[at]);
      drain(at);
      tsan_release(&tg);
    });
  }

  // Runs `first` and everything it readies, inline where cheap.
  void drain(uint32_t first) {
    uint32_t local[64];
    int top = 0;
    local[top++] = first;
    while (top > 0) {
      const uint32_t at = local[--top];
      const Step<T>& s = steps[at];
      if (prof) {
        const auto t0 = std::chrono::steady_clock::now();
        s.fn(s.args);
        prof[at] += std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now() - t0).count();
      } else {
        s.fn(s.args);
      }
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

template <class T> void PlanImpl::execute() {
  auto& st = steps<T>();
  for (size_t i = 0; i < st.size(); ++i) counts[i].store(st[i].preds, std::memory_order_relaxed);
  Pool& pl = pool();
  pl.arena->execute([&] {
    tbb::task_group tg;
    Runner<T> r{*this, st, tg, pl.n > 1, prof_ns.empty() ? nullptr : prof_ns.data()};
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
  if (P.dtype == DType::f32)
    P.execute<float>();
  else
    P.execute<double>();
  ++P.run_counter;
}

} // namespace sg
