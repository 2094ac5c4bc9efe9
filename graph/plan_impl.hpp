// The compiled form of a plan, shared by the compiler (plan.cpp) and the
// scheduler (executor.cpp). Internal.
#pragma once

#include "graph/plan.hpp"

#include <atomic>
#include <vector>
#include <map>
#include <memory>

namespace sg {

// One executable node. Pointers inside `args` point into PlanImpl's vectors.
template <class T> struct Step {
  KernelFn<T> fn = nullptr;
  KernelArgs<T> args{};
  NodeId node = 0;
  uint32_t succ_begin = 0, succ_end = 0; // into PlanImpl::succ
  int32_t preds = 0;                      // initial join count
  bool heavy = false;                     // worth a task of its own
  bool join = false;                      // no kernel: waits for a reused buffer's readers (plan.cpp)
};

struct PlanImpl {
  const Graph* graph = nullptr;
  ParamStore* params = nullptr;
  DType dtype = DType::f32;
  AlignedBytes arena;
  std::vector<Step<float>> steps_f;
  std::vector<Step<double>> steps_d;
  std::vector<uint32_t> succ;               // successor step indices
  std::vector<uint32_t> roots;              // steps with no predecessors
  std::vector<uint32_t> serial;             // every step in an order the edges allow (one thread's run)
  std::unique_ptr<std::atomic<int32_t>[]> counts;
  // storage the step args point into (stable after compile)
  std::vector<void*> in_ptrs;               // flattened input pointer arrays
  std::vector<const Shape*> in_shapes;
  std::vector<Shape> shapes;                // copies of the members' shapes
  std::vector<Attrs> attrs;                 // copies of the steps' attributes
  // where each node's value lives: arena offset, or a ParamStore tensor
  struct Slot {
    int64_t offset = -1;   // arena offset in bytes, -1 = none
    Tensor* param = nullptr;
    void* param_raw = nullptr; // the pointer the steps were built with
    bool kept = false;     // fetched / input / constant: never reused
  };
  std::map<NodeId, Slot> slots;
  std::vector<std::pair<NodeId, Slot*>> param_slots; // the slots of ParamStore tensors (rebind_params)
  std::map<NodeId, bool> fed; // inputs: fed yet?
  uint64_t run_counter = 0;
  uint64_t last_run = 0; // the run counter the last run started with
  PlanStats stats;
  std::vector<NodeId> order;
  // SEQGRAPH_PROFILE set: nanoseconds per step summed over runs, reported
  // (by op and by node) when the plan is destroyed.
  std::vector<int64_t> prof_ns;
  ~PlanImpl();

  void* ptr(NodeId id) const;
  void rebind_params(); // a ParamStore tensor was replaced: repoint the steps
  template <class T> std::vector<Step<T>>& steps();
  template <class T> void execute();
  // Numeric checks (executor.cpp): the error naming the non-finite element
  // `index` of `value`, computed by `producer` (itself, or an update that
  // wrote it), found by the node `found_by` (the guard; "" = as computed:
  // its inputs are described too); a step's check (its value, or what an
  // update wrote); the node-by-node re-run of first_non_finite().
  NumericError non_finite(NodeId producer, NodeId value, int64_t index, const std::string& found_by = {}) const;
  template <class T> void check(const Step<T>& s) const;
  template <class T> std::optional<NumericError> diagnose();
};

template <> inline std::vector<Step<float>>& PlanImpl::steps<float>() { return steps_f; }
template <> inline std::vector<Step<double>>& PlanImpl::steps<double>() { return steps_d; }

} // namespace sg
