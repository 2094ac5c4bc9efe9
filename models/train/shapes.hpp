// Symbolic input shapes: a model declares each input's axes as fixed sizes,
// named sizes ("batch", "n_a") or sums of named sizes (n_a + n_x), and the
// framework reads the sizes off the tensors given for them.
//
//   const fit::Dim n_x = fit::dim("n_x"), n_a = fit::dim("n_a"), m = fit::dim("m");
//   const fit::Signature course{
//       .model = "rnn_step_by_step",
//       .inputs = {{"xt", {n_x, m}}, {"a_prev", {n_a, m}}, {"Wf", {n_a, n_a + n_x}}, ...},
//       .defaults = {{"n_x", 3}, {"n_a", 5}, {"m", 10}}};
//   fit::Sizes s = course.sizes({"xt", "a_prev", "Wf"}, given);
//
// fit::Spec declares its inputs the same way (fit::sizes_of, in fit.hpp, reads
// a batch's sizes with fit's rules: every input fed, no defaults).
#pragma once

#include "graph/graph.hpp"
#include "graph/tensor.hpp"
#include "models/model.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sg::fit {

// One axis of a declared input: a fixed size, or a named (symbolic) size or
// the sum of several (dim("n_a") + dim("n_x")).
struct Dim {
  int64_t size = -1;                     // fixed, or -1
  std::vector<std::string> symbols = {}; // else their sum: {"batch"}, {"n_a", "n_x"}
  std::string text() const;              // "3", "batch", "n_a + n_x"
};
inline Dim dim(std::string symbol) { return {-1, {std::move(symbol)}}; }
inline Dim dim(int64_t size) { return {size, {}}; }
Dim operator+(const Dim& a, const Dim& b); // of symbolic axes only (std::logic_error otherwise)
inline const Dim batch = dim("batch");
inline const Dim steps = dim("steps");

struct InputDecl {
  std::string name;
  std::vector<Dim> shape;
};

// The concrete value of every symbolic dimension, read off fed tensors.
using Sizes = std::map<std::string, int64_t>;
using Feeds = std::map<std::string, Tensor>;

// The shape of `d` for these sizes (std::invalid_argument naming a missing size).
Shape shape_of(const InputDecl& d, const Sizes& sizes);
std::string symbolic(const InputDecl& d); // "(n_a, n_a + n_x)"

// Sizes read off given tensors, and which input and axis said each.
struct Bound {
  struct Source {
    std::string input; // "" = the default
    size_t axis = 0;
  };
  Sizes sizes;
  std::map<std::string, Source> source;
  // "a0 says n_a = 6", "its axis 1 says n_x = 3" (when `asker` said it), "n_y = 2 by default"
  std::string says(const std::string& symbol, const std::string& asker = {}) const;
};

// The inputs of a model's graphs and the sizes they take when no given input
// shows them.
struct Signature {
  std::string model = {}; // names the errors
  std::vector<InputDecl> inputs = {};
  Sizes defaults = {};

  const InputDecl& decl(const std::string& input) const; // std::logic_error if not declared
  // The sizes of a graph of the inputs `names`, read off the tensors `given`
  // for them: each symbol from the first of them (in `names` order) with the
  // declared rank that shows it alone on an axis; then a sum axis binds its
  // one unbound symbol once the others are bound (Wf's n_a + n_x binds n_x
  // from n_a); else the default. Given tensors of other names are ignored.
  // sg::ShapeError when a size is below 1 or a given input's shape is not
  // its declaration's under these sizes: "<model>: Wf is (5, 9) but a_prev
  // says n_a = 5 and xt says n_x = 3 (expected Wf (n_a, n_a + n_x) = (5, 8))".
  Bound bind(const std::vector<std::string>& names, const Feeds& given) const;
  Sizes sizes(const std::vector<std::string>& names, const Feeds& given) const { return bind(names, given).sizes; }
};

// One graph of a Signature's inputs, for a model's graph-run build: an Input
// node per name, named and shaped as declared under Signature::bind; the
// inputs `wrt` are differentiable, the `cotangents` seed gradients().
class SignatureGraph {
public:
  SignatureGraph(const Signature& sig, const Feeds& given, const std::vector<std::string>& wrt,
                 const std::vector<std::string>& cotangents = {});
  Value operator[](const std::string& input) const; // std::logic_error if not one of this graph's
  Graph& graph() { return *g_; }
  const Sizes& sizes() const { return sizes_; }

  // These outputs (eval writes <name>.npy), differentiable w.r.t. `wrt`.
  BuiltGraph outputs(std::vector<std::pair<std::string, Value>> outs);
  // "d<input>" for each of `wrt`: the VJP of `ys` seeded with the cotangents (sg::gradients).
  BuiltGraph gradients(const std::vector<Value>& ys);

private:
  std::unique_ptr<Graph> g_ = std::make_unique<Graph>();
  Sizes sizes_;
  std::map<std::string, Value> in_;
  std::vector<Value> wrt_, seeds_;
};

} // namespace sg::fit
