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
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace sg {

// The thread pool every plan runs on: a oneTBB task arena of N threads.
// OpenBLAS is the serial build, so the N threads are all the threads.
void set_threads(int n);
int threads();

// A value that is not finite (NaN or ±inf), found by a plan's checks.
// what() names the node (its name, op, where the model built it, shape),
// the element and its value, and, as far as the node's inputs tell, why
// ("division by zero", "log of a negative number", "overflow", ...).
struct NumericError : std::runtime_error {
  NumericError(const std::string& what, NodeId node, std::string name, std::string op)
      : std::runtime_error(what), node(node), name(std::move(name)), op(std::move(op)) {}
  NodeId node = 0;
  std::string name; // the node's
  std::string op;   // its op's name ("sub", "input", "variable", ...)
  // The same error, its message `prefix` + what() (+ `suffix`).
  NumericError with(const std::string& prefix, const std::string& suffix = {}) const {
    return NumericError(prefix + what() + suffix, node, name, op);
  }
};

// --check-numerics: every plan checks each node's value as soon as it is
// computed (an update's, the values it wrote) and stops the run with a
// NumericError at the first NaN or inf. Off by default; it costs one pass
// over every value a run computes.
void set_check_numerics(bool on);
bool check_numerics();

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
  size_t shared_reshapes = 0;  // reshapes that share their input's buffer (no copy)
  size_t joins = 0;            // extra steps that wait for a reused buffer's many readers
  size_t edges = 0;            // dependency edges between steps
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
  // The first non-finite value of the last run, as a NumericError (not
  // thrown; nullopt if there is none): the run again with the same inputs
  // as fed and the same random draws, one node at a time in plan order on
  // this thread, each value checked as it is computed, the sources
  // (inputs, parameters, constants) first. Updates are not run: the
  // parameters stay as they are. (For a training step stopped by its
  // guard, check_finite, they are as the step found them.)
  std::optional<NumericError> first_non_finite();
  // Nodes in execution order (for tests and `graph-run --verbose`).
  std::vector<NodeId> order() const;

private:
  const void* buffer(NodeId id, DType want, bool input = false) const;
  std::unique_ptr<struct PlanImpl> p_;
};

} // namespace sg
