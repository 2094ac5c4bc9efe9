// Compiling a graph into a plan, and running it.
//
// Compile once: keep only the nodes the requested values and updates need,
// order them (ASAP levels), give every intermediate a slice of one arena,
// reusing slices by liveness, and fix every kernel's pointers. Run many
// times: no allocation, a TBB scheduler runs independent nodes concurrently,
// small nodes run inline on the thread that readied them.
#pragma once

#include "graph/graph.hpp"
#include "graph/params.hpp"

#include <memory>
#include <string>
#include <vector>

namespace sg {

// The thread pool every plan runs on: a oneTBB task arena of N threads.
// OpenBLAS is the serial build, so the N threads are all the threads.
void set_threads(int n);
int threads();

struct CompileOptions {
  DType dtype = DType::f32;
  uint64_t seed = 0; // seed for parameters the plan has to create
};

struct PlanStats {
  size_t nodes = 0;            // nodes executed per run
  size_t heavy = 0;            // of which may become tasks of their own
  size_t arena_bytes = 0;      // intermediates + inputs + constants (one allocation)
  size_t naive_bytes = 0;      // what one buffer per node would take
  size_t param_bytes = 0;      // held by the ParamStore
  size_t levels = 0;           // longest dependency chain
};

struct PlanImpl;

class Plan {
public:
  // `fetch`: values to read after a run (they keep their buffers);
  // `effects`: update nodes run for their side effect. Parameters missing
  // from `params` are created with their initializers.
  Plan(const Graph& g, ParamStore& params, std::vector<NodeId> fetch,
       std::vector<NodeId> effects = {}, CompileOptions opt = {});
  Plan(const Graph& g, ParamStore& params, const std::vector<Value>& fetch,
       const std::vector<Value>& effects = {}, CompileOptions opt = {});
  ~Plan();
  Plan(Plan&&) noexcept;
  Plan& operator=(Plan&&) noexcept;

  // Copies `t` into the input's buffer (converting the dtype); the shape must match.
  void feed(NodeId input, const Tensor& t);
  void feed(const std::string& name, const Tensor& t);
  // Runs every node once. Throws if an input was never fed.
  void run();
  Tensor fetch(NodeId id) const;
  Tensor fetch(const std::string& name) const;
  Tensor fetch(Value v) const { return fetch(v.id()); }
  // Direct access to a kept value's buffer (no copy); T must be the plan's dtype.
  template <class T> const T* data(NodeId id) const {
    return static_cast<const T*>(buffer(id, dtype_of<T>()));
  }
  template <class T> T* input_data(NodeId id) {
    return static_cast<T*>(const_cast<void*>(buffer(id, dtype_of<T>(), true)));
  }

  DType dtype() const;
  // Runs so far; random ops draw from (seed, node, run), so saving and
  // restoring this makes a resumed training repeat an uninterrupted one.
  uint64_t runs() const;
  void set_runs(uint64_t r);
  const PlanStats& stats() const;
  // Nodes in execution order (for tests and `graph-run --verbose`).
  std::vector<NodeId> order() const;

private:
  const void* buffer(NodeId id, DType want, bool input = false) const;
  std::unique_ptr<struct PlanImpl> p_;
};

} // namespace sg
