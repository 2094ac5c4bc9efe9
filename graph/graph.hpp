// The graph IR: nodes (op, attributes, inferred shape, name in its scope)
// stored on a Boost.Graph adjacency list, and `Value`, the builder handle that
// model files compute with. Shapes are inferred when a node is added; a
// mismatch throws ShapeError naming the node, op, shapes, rule and call site.
#pragma once

#include "graph/op.hpp"
#include "graph/params.hpp"
#include "graph/tensor.hpp"

#include <boost/graph/adjacency_list.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <vector>

namespace sg {

using NodeId = std::size_t;

// What a node is for: drawn differently in DOT exports.
enum class NodeKind : uint8_t { forward, gradient, update };
const char* to_string(NodeKind k);

struct Node {
  Op op{};
  NodeKind kind = NodeKind::forward;
  std::string name;                // unique, with scope prefix: "lstm/Wf"
  Shape shape;
  Attrs attrs;                     // the op's attribute struct (ops/attrs.hpp)
  std::vector<NodeId> inputs;      // in argument order
  std::string where;               // "models/x.cpp:42", the builder call site
  Initializer init;                // Variable: how to create it
  std::shared_ptr<const Tensor> value; // Constant: the literal (float64)
  std::vector<NodeId> after;       // extra ordering: run after these (no data flow)
  // Replaced by a rewrite of autodiff (a per-step product folded into one
  // product of all steps): nothing reads it, plans never run it, DOT
  // exports do not draw it.
  bool superseded = false;

  std::string scope() const; // "lstm" for "lstm/Wf"
};

struct ShapeError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

struct EdgeInfo {
  int slot = 0; // argument position; -1 for an ordering-only edge
};

using BoostGraph =
    boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS, Node, EdgeInfo>;

class Value;

class Graph {
public:
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  // Adds a node; infers its shape with the op's rule. `attrs` must hold the
  // struct the op's row in ops/op_list.def names (std::invalid_argument if
  // not). `name` empty = auto ("<scope>/<op>_<n>"); a given name gets the
  // current scope prefix.
  NodeId add(Op op, std::vector<NodeId> inputs, Attrs attrs = {}, std::string name = {},
             std::source_location loc = std::source_location::current());

  const Node& node(NodeId id) const { return g_[id]; }
  // Mutable access for the builder's sources (initializer, constant value).
  Node& edit(NodeId id) { return g_[id]; }
  size_t size() const { return boost::num_vertices(g_); }
  // Nodes that take `id` as an input (each once, ascending).
  std::vector<NodeId> consumers(NodeId id) const;
  std::optional<NodeId> find(std::string_view name) const;
  NodeId at(std::string_view name) const; // throws with the closest names
  std::vector<NodeId> nodes_of(Op op) const;
  // Renames a node (the current scope is not applied); names stay unique.
  void rename(NodeId id, const std::string& name);
  // Flags (by id) of `targets` and every node they depend on, through data
  // inputs and ordering edges.
  std::vector<char> needed_by(const std::vector<NodeId>& targets) const;
  // `id` runs after `before`, with no data flowing between them.
  void add_order(NodeId before, NodeId id);

  // Name scopes: while the guard lives, new names get "<scope>/" in front.
  class ScopeGuard {
  public:
    ScopeGuard(Graph& g, const std::string& s);
    ~ScopeGuard();
    ScopeGuard(const ScopeGuard&) = delete;
    ScopeGuard& operator=(const ScopeGuard&) = delete;

  private:
    Graph& g_;
  };
  [[nodiscard]] ScopeGuard scope(const std::string& s) { return ScopeGuard(*this, s); }
  std::string prefix() const; // "a/b/" or ""

  // While the guard lives, the open scopes are replaced by `path` alone ("" =
  // the top level): a layer's parameters keep their names wherever it is called.
  class ScopeReset {
  public:
    ScopeReset(Graph& g, const std::string& path);
    ~ScopeReset();
    ScopeReset(const ScopeReset&) = delete;
    ScopeReset& operator=(const ScopeReset&) = delete;

  private:
    Graph& g_;
    std::vector<std::string> saved_;
  };
  [[nodiscard]] ScopeReset scope_at(const std::string& path) { return ScopeReset(*this, path); }

  // A Keras-style layer name, unique in this graph: "lstm", then "lstm_1",
  // "lstm_2", ... per base; a name some node already uses as its scope or
  // name is skipped.
  std::string layer_name(const std::string& base);

  // Keras masks: `mask` (batch, steps), 1 at real steps and 0 at padding, rides
  // along with the sequence `value` (ops/keras.hpp propagates and consumes it).
  void set_mask(NodeId value, NodeId mask);
  std::optional<NodeId> mask_of(NodeId value) const;

  // A value derived from node `of` once and shared by every later asker (the
  // transposed copy of a recurrent kernel that each time step's gradient
  // reads, ops/linalg.cpp): the node remembered for (of, what), if any, and
  // remembering one.
  std::optional<NodeId> derived(NodeId of, std::string_view what) const;
  void set_derived(NodeId of, std::string_view what, NodeId value);

  // Node kind for nodes added while the guard lives (autodiff, optimizers).
  class KindGuard {
  public:
    KindGuard(Graph& g, NodeKind k) : g_(g), saved_(g.kind_) { g.kind_ = k; }
    ~KindGuard() { g_.kind_ = saved_; }
    KindGuard(const KindGuard&) = delete;
    KindGuard& operator=(const KindGuard&) = delete;

  private:
    Graph& g_;
    NodeKind saved_;
  };

  // Random ops take their seed from here unless given one.
  uint64_t seed = 0;
  // Training or inference graph: Dropout and BatchNormalization read it.
  bool training = false;
  // Update nodes that layers add as side effects of the forward pass
  // (BatchNormalization's moving averages): to be run as a Plan's effects.
  std::vector<NodeId> state_updates;
  // A data-parallel rank's graph (fit::Network; shard_global > 0): its
  // examples are rows [shard_offset, shard_offset + shard_rows) of a global
  // batch of shard_global, along the leading axis of a batch-major value
  // (0 rows: a rank with no example of a small batch runs one with weight
  // 0). Random ops draw those rows of the global batch's draws
  // (dropout_mask), and BatchNormalization takes the global batch's
  // statistics, so that N ranks compute what one process would.
  int64_t shard_offset = 0, shard_rows = 0, shard_global = 0;
  // Its collectives (ops/collective.cpp): reduce_start nodes, numbered in
  // the order they are added (a topological order), each run after the
  // previous one; the number and the last one.
  int64_t collectives = 0;
  NodeId last_collective = 0;
  // Data-parallel training (fit::Network over a multi-process
  // dist::Group): what minimize() does to the gradients before clipping
  // them (allreduce_gradients: their sum over the ranks). Unset: nothing.
  std::function<std::vector<Value>(const std::vector<Value>&)> reduce_gradients;
  const BoostGraph& boost() const { return g_; }

private:
  std::string unique_name(const std::string& base);
  BoostGraph g_;
  std::map<std::string, NodeId, std::less<>> by_name_;
  std::map<std::string, int, std::less<>> counters_;
  std::map<std::string, int, std::less<>> layer_counters_;
  std::map<NodeId, NodeId> masks_;
  std::map<std::pair<NodeId, std::string>, NodeId, std::less<>> derived_;
  std::vector<std::string> scopes_;
  NodeKind kind_ = NodeKind::forward;
  friend class Value;
};

// Builder handle: a node of a graph. Ops are free functions on Values
// (ops/ops.hpp), so a model reads like math: tanh(matmul(Wax, x) + ba).
class Value {
public:
  Value() = default;
  Value(Graph& g, NodeId id) : g_(&g), id_(id) {}
  bool valid() const { return g_ != nullptr; }
  explicit operator bool() const { return valid(); }
  Graph& graph() const { return *g_; }
  NodeId id() const { return id_; }
  const Node& node() const { return g_->node(id_); }
  // By value: adding nodes may move the node this Value refers to.
  Shape shape() const { return node().shape; }
  int rank() const { return static_cast<int>(shape().size()); }
  int64_t dim(int i) const; // negative counts from the end
  const std::string& name() const { return node().name; }
  // Renames the node, in the current scope: a = tanh(...).named("a_next").
  Value named(const std::string& name) const;

private:
  Graph* g_ = nullptr;
  NodeId id_ = 0;
};

// The builder's sources (defined beside their ops, in ops/source.cpp).
// Parameters are Variables: the plan reads and updates them in the ParamStore
// under their full name.
Value input(Graph& g, const std::string& name, Shape shape,
            std::source_location loc = std::source_location::current());
Value param(Graph& g, const std::string& name, Shape shape, Initializer init = Initializer::zeros(),
            std::source_location loc = std::source_location::current());
Value constant(Graph& g, Tensor value, const std::string& name = {},
               std::source_location loc = std::source_location::current());
Value scalar(Graph& g, double v);

// What a VJP rule sees: the node's inputs and output as Values, and the
// cotangent dy of its output.
struct VjpCtx {
  Graph& g;
  NodeId node;
  Value dy;
  Value x(int i) const { return Value(g, g.node(node).inputs[static_cast<size_t>(i)]); }
  Value y() const { return Value(g, node); }
  // The node's attribute struct (ops/attrs.hpp). By value, like shape(): a
  // VJP adds nodes, which may move this node.
  template <class A> A attr() const { return g.node(node).attrs.get<A>(); }
  Shape shape(int i) const { return x(i).shape(); }
  int arity() const { return static_cast<int>(g.node(node).inputs.size()); }
};

// "models/x.cpp:42" for a call site (path shortened to the project).
std::string where(const std::source_location& loc);

} // namespace sg
