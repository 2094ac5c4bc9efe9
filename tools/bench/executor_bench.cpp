// Executor benchmark: dispatch overhead per node for 10,000-node chains and
// fan-outs of trivial ops, next to a bare oneTBB flow graph of the same shape
// in the same process (the peer); and the speed-up of a graph of wide
// independent branches at 2 threads against 1.
//
//   bench-executor [--nodes N] [--reps R] [--threads T]   (T: the dispatch part's threads)
#include "graph/plan.hpp"
#include "ops/ops.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/task_arena.h>
#include <string>
#include <vector>

using namespace sg;
using Clock = std::chrono::steady_clock;

namespace {

template <class F> double median_seconds(int reps, F&& f) {
  f(); // warm-up
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    auto a = Clock::now();
    f();
    t.push_back(std::chrono::duration<double>(Clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// seqgraph: x -> neg -> neg -> ... (chain) or x -> n x neg (fan-out), shape (1,).
double seqgraph_us_per_node(bool chain, int n, int reps) {
  Graph g;
  Value x = input(g, "x", {1});
  std::vector<Value> leaves;
  Value h = x;
  for (int i = 0; i < n; ++i) {
    if (chain)
      h = neg(h);
    else
      leaves.push_back(neg(x));
  }
  if (chain) leaves.push_back(h);
  ParamStore ps;
  Plan p(g, ps, std::vector<Value>{}, leaves);
  p.feed("x", Tensor::from({1}, {1.0}));
  return median_seconds(reps, [&] { p.run(); }) / n * 1e6;
}

// The peer: a oneTBB flow graph of continue_nodes doing the same trivial work.
double tbb_us_per_node(bool chain, int n, int reps) {
  tbb::flow::graph fg;
  std::vector<float> buf(size_t(n) + 1, 1.0f);
  tbb::flow::broadcast_node<tbb::flow::continue_msg> start(fg);
  std::vector<std::unique_ptr<tbb::flow::continue_node<tbb::flow::continue_msg>>> nodes;
  for (int i = 0; i < n; ++i) {
    nodes.push_back(std::make_unique<tbb::flow::continue_node<tbb::flow::continue_msg>>(
        fg, [&buf, i, chain](const tbb::flow::continue_msg&) {
          buf[size_t(i) + 1] = -buf[chain ? size_t(i) : 0];
          return tbb::flow::continue_msg();
        }));
    if (chain && i > 0)
      tbb::flow::make_edge(*nodes[size_t(i) - 1], *nodes[size_t(i)]);
    else
      tbb::flow::make_edge(start, *nodes[size_t(i)]);
  }
  return median_seconds(reps, [&] {
           start.try_put(tbb::flow::continue_msg());
           fg.wait_for_all();
         }) /
         n * 1e6;
}

// Wide independent branches over a shared input. `matmul`: each node a
// 64x64 matmul + tanh (BLAS calls take turns, see ops/blas.cpp); otherwise
// each node is elementwise work on 16k floats (tanh(h * w + 0.1): 3 ops).
struct Speedup {
  double t1, t2, ratio; // medians: 1-thread run, 2-thread run, per-pair t1 / t2
};
Speedup wide_speedup(int branches, int depth, bool with_matmul, int reps) {
  Graph g;
  const Shape s = with_matmul ? Shape{64, 64} : Shape{128, 128};
  Value x = input(g, "x", s);
  std::vector<Value> outs;
  for (int b = 0; b < branches; ++b) {
    auto sc = g.scope("b" + std::to_string(b));
    Value w = input(g, "W", s);
    Value h = x;
    for (int k = 0; k < depth; ++k) h = with_matmul ? tanh(matmul(w, h)) : tanh(h * w + 0.1);
    outs.push_back(h);
  }
  ParamStore ps;
  Plan p(g, ps, outs);
  Tensor xv(s);
  for (int64_t i = 0; i < xv.size(); ++i) xv.set(i, 0.01 * double(i % 17));
  p.feed("x", xv);
  for (int b = 0; b < branches; ++b) p.feed("b" + std::to_string(b) + "/W", xv);
  // 1 and 2 threads alternate, so a noisy neighbour hits both alike.
  std::vector<double> t1, t2, ratio;
  for (int i = 0; i <= reps; ++i) {
    set_threads(1);
    double a = median_seconds(1, [&] { p.run(); });
    set_threads(2);
    double b = median_seconds(1, [&] { p.run(); });
    if (i == 0) continue; // warm-up pair
    t1.push_back(a);
    t2.push_back(b);
    ratio.push_back(a / b);
  }
  set_threads(1);
  auto med = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  return {med(t1), med(t2), med(ratio)};
}

} // namespace

int main(int argc, char** argv) {
  int n = 10000, reps = 15, threads = 1;
  bool bad = (argc - 1) % 2 != 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--nodes"))
      n = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--reps"))
      reps = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads"))
      threads = std::atoi(argv[i + 1]);
    else
      bad = true;
  }
  if (bad || n < 1 || reps < 1 || threads < 1) {
    fmt::print(stderr, "usage: bench-executor [--nodes N] [--reps R] [--threads T]\n");
    return 2;
  }
  fmt::print("executor dispatch, {} trivial nodes, median of {} runs, {} thread(s)\n", n, reps,
             threads);
  fmt::print("{:<10} {:>16} {:>20} {:>8}\n", "shape", "seqgraph us/node", "tbb flow us/node", "ratio");
  for (bool chain : {true, false}) {
    set_threads(threads);
    double ours = seqgraph_us_per_node(chain, n, reps);
    tbb::task_arena one(threads);
    double peer = 0;
    one.execute([&] { peer = tbb_us_per_node(chain, n, reps); });
    fmt::print("{:<10} {:>16.4f} {:>20.4f} {:>7.2f}x\n", chain ? "chain" : "fan-out", ours, peer,
               ours / peer);
  }
  const int branches = 16, depth = 8;
  fmt::print("\nwide graph: {} independent branches x {} nodes, {} alternating 1-/2-thread runs, medians\n",
             branches, depth, reps);
  for (bool with_matmul : {false, true}) {
    Speedup r = wide_speedup(branches, depth, with_matmul, reps);
    fmt::print("{:<34} 1 thread {:8.3f} ms, 2 threads {:8.3f} ms, speed-up {:.2f}x\n",
               with_matmul ? "64x64 matmul + tanh           " : "elementwise, 16k floats", r.t1 * 1e3,
               r.t2 * 1e3, r.ratio);
  }
  return 0;
}
