// Keras layer objects (namespace sg::layers) over the builder API and the
// cells of ops/layers.hpp, for the course's later assignments:
//
//   layers::Embedding emb(V, 50, {.mask_zero = true});
//   Value y = layers::Dense(5, {.activation = "softmax"})(emb(ids));
//
// A layer is constructed with its config and called on Values. Calling the
// same object again reuses its weights (a shared layer). Its name is the one
// given, or on the first call a Keras-style one from the graph ("lstm",
// "lstm_1", ...: Graph::layer_name); the object then belongs to that graph.
// Its parameters are "<name>/<weight>" as Keras names them (Keras default
// initializers), whatever scope is open at the call; its other nodes go in
// scope "<name>" under the open scopes. `trainable = false` makes them
// non-trainable (NodeKind::update: all_params leaves them out).
//
// Shapes are Keras': vectors (batch, features), sequences (batch, steps,
// features) as one Value. A wrong input shape throws std::invalid_argument
// naming the layer class, its name, the input node, the shapes and the call
// site. Training vs inference: Graph::training (Dropout reads it).
//
// Masks ride along with sequences in the graph's mask table (Graph::set_mask):
// Embedding(mask_zero) makes one, the layers that keep the time axis pass it
// on.
#pragma once

#include "graph/graph.hpp"
#include "ops/layers.hpp"
#include "ops/ops.hpp"

#include <array>
#include <string>
#include <vector>

namespace sg::layers {

// The mask (batch, steps) riding along with `v` (1 at real steps, 0 at
// padding), or an invalid Value.
Value mask_of(const Value& v);
// Attaches `mask` to `v` (nothing if `mask` is invalid); returns `v`.
Value with_mask(Value v, const Value& mask);

// The base of every layer: name, graph binding, parameters, errors.
class Layer {
public:
  virtual ~Layer() = default;
  // "" until the first call (unless given)
  const std::string& name() const { return name_; }
  // The scope of its parameters: its name, or "<wrapper>/<name>" inside a wrapper.
  const std::string& path() const { return path_; }

protected:
  Layer(const char* cls, const char* base, std::string name, bool trainable = true);
  // First call: binds to x's graph and takes a name; later calls must be on that graph.
  Graph& bind(const Value& x, Loc l);
  // Throws std::invalid_argument "<Class> '<name>' at <where>: input '<node>' has shape
  // <shape>; <need>".
  [[noreturn]] void bad_input(const Value& x, const std::string& need, Loc l) const;
  // Keras raises when a layer that does not support masking receives a mask.
  void no_mask(const Value& x, Loc l) const;
  // The parameter "<path>/<w>", created with `init` or reused; not trainable
  // if the layer is frozen or `trainable` is false (statistics).
  Value weight(const std::string& w, Shape shape, Initializer init, Loc l, bool trainable = true) const;
  // A wrapper's inner layer: named `name` inside `parent` ("" = the parent's own name).
  void adopt(const Layer& parent, const std::string& name);

  const char* cls_;
  const char* base_;
  std::string name_, path_;
  bool trainable_ = true;
  Graph* graph_ = nullptr;
  friend class TimeDistributed;
};

// ---------------------------------------------------------------- core layers

struct DenseOptions {
  std::string activation = "linear";
  bool use_bias = true;
  bool trainable = true;
  std::string name = {};
};
// y = act(x kernel + bias) on the last axis: (..., in) -> (..., units); kernel
// (in, units) glorot_uniform, bias (units) zeros. On (batch, steps, in) it is
// one product over batch * steps rows; the mask passes through.
class Dense : public Layer {
public:
  explicit Dense(int64_t units, DenseOptions o = {});
  Value operator()(Value x, Loc l = Loc::current());

private:
  int64_t units_;
  DenseOptions o_;
  DenseWeights w_;
  friend class TimeDistributed;
};

struct ActivationOptions {
  int64_t axis = -1; // softmax only (the course's attention: axis 1 of (batch, Tx, 1))
  std::string name = {};
};
// y = act(x): "linear", "relu", "tanh", "sigmoid", "hard_sigmoid", "softmax".
class Activation : public Layer {
public:
  explicit Activation(std::string activation, ActivationOptions o = {});
  Value operator()(Value x, Loc l = Loc::current());

private:
  std::string act_;
  ActivationOptions o_;
};

struct DropoutOptions {
  uint64_t seed = 0; // 0: derived from Graph::seed and the layer's name
  std::string name = {};
};
// Training: y = x * mask / (1 - rate), a new mask every run; inference: y = x.
class Dropout : public Layer {
public:
  explicit Dropout(double rate, DropoutOptions o = {});
  Value operator()(Value x, Loc l = Loc::current());

private:
  double rate_;
  DropoutOptions o_;
};

struct NameOption {
  std::string name = {};
};
// (batch, f) -> (batch, n, f), the vector repeated n times.
class RepeatVector : public Layer {
public:
  explicit RepeatVector(int64_t n, NameOption o = {});
  Value operator()(Value x, Loc l = Loc::current());

private:
  int64_t n_;
};

struct ConcatenateOptions {
  int64_t axis = -1;
  std::string name = {};
};
// Inputs joined along `axis`; on the last axis the output's mask is the
// product of the inputs' masks (Keras: all).
class Concatenate : public Layer {
public:
  explicit Concatenate(ConcatenateOptions o = {});
  Value operator()(const std::vector<Value>& xs, Loc l = Loc::current());

private:
  ConcatenateOptions o_;
};

struct DotOptions {
  bool normalize = false; // l2-normalise both along their axes first (cosine proximity)
  std::string name = {};
};
// Keras Dot (batch_dot): (batch, ...) x (batch, ...) summed over axes (ax, ay),
// e.g. axes 1: (B, Tx, 1) . (B, Tx, 64) -> (B, 1, 64); rank 2: (B, d) . (B, d) -> (B, 1).
class Dot : public Layer {
public:
  explicit Dot(int64_t axes, DotOptions o = {}) : Dot(std::array<int64_t, 2>{axes, axes}, o) {}
  Dot(std::array<int64_t, 2> axes, DotOptions o = {});
  Value operator()(const std::vector<Value>& xs, Loc l = Loc::current());

private:
  std::array<int64_t, 2> axes_;
  DotOptions o_;
};

// A Dense applied at every step of (batch, steps, ..., in): Dense's math as one
// product over all rows; parameters "time_distributed/kernel", ".../bias".
class TimeDistributed : public Layer {
public:
  explicit TimeDistributed(const Dense& layer, NameOption o = {});
  Value operator()(Value x, Loc l = Loc::current());

private:
  Dense inner_;
};

struct EmbeddingOptions {
  bool mask_zero = false; // mask = (ids != 0)
  bool trainable = true;
  Tensor weights = {};     // pre-trained (input_dim, output_dim); else uniform(-0.05, 0.05)
  std::string name = {};
};
// y[b, t] = embeddings[ids[b, t]]: integer-valued ids (batch, steps) -> (batch,
// steps, output_dim). Frozen with pre-trained weights: a fixed table.
class Embedding : public Layer {
public:
  Embedding(int64_t input_dim, int64_t output_dim, EmbeddingOptions o = {});
  Value operator()(Value ids, Loc l = Loc::current());

private:
  int64_t input_dim_, output_dim_;
  EmbeddingOptions o_;
  Value table_;
};

} // namespace sg::layers
