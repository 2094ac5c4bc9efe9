// Keras layer objects (namespace sg::layers) over the builder API and the
// cells of ops/layers.hpp, for the course's later assignments:
//
//   layers::Embedding emb(V, 50, {.mask_zero = true});
//   layers::LSTM lstm(128, {.return_sequences = true});
//   Value y = layers::Dense(5, {.activation = "softmax"})(lstm(emb(ids)));
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
// site. Training vs inference: Graph::training (Dropout, BatchNormalization).
//
// Masks ride along with sequences in the graph's mask table (Graph::set_mask):
// Embedding(mask_zero) makes one, the layers that keep the time axis pass it
// on, the recurrent layers consume it (ops/keras_recurrent.cpp).
#pragma once

#include "graph/graph.hpp"
#include "ops/layers.hpp"
#include "ops/ops.hpp"

#include <array>
#include <map>
#include <memory>
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
  friend class Bidirectional;
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
//
// On a concatenation along the last axis ([x_1, ..., x_n], the course's
// attention: [a, RepeatVector(Tx)(s)]) it computes the same function with
// less work: x kernel = sum_k x_k kernel_k (the kernel's rows split as the
// parts), a part that is a RepeatVector's output multiplied before it is
// repeated ((batch, f) rows, not (batch, Tx, f)), and a part this layer has
// multiplied before (the encoder's a, at each of the 10 steps) reused, not
// multiplied again. The sums round differently from one product of the
// concatenation (tests: to 1e-6, and its gradients by finite differences).
class Dense : public Layer {
public:
  explicit Dense(int64_t units, DenseOptions o = {});
  Value operator()(Value x, Loc l = Loc::current());

private:
  Value over_parts(const std::vector<Value>& parts, Loc l);
  int64_t units_;
  DenseOptions o_;
  DenseWeights w_;
  std::map<std::pair<NodeId, int64_t>, Value> products_; // (part, first kernel row) -> part kernel_k
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

// ----------------------------------------------------------- recurrent layers

struct RNNOptions {
  bool return_sequences = false; // every step's output (batch, steps, units), else the last
  bool return_state = false;     // Keras config only: call() always gives the final state
  bool go_backwards = false;     // steps in reverse; return_sequences gives them reversed
                                 // (the mask passed on unchanged, as Keras)
  std::string activation = "tanh";
  std::string recurrent_activation = "sigmoid"; // LSTM, GRU ("hard_sigmoid": Keras <= 2.2)
  bool use_bias = true;
  bool unit_forget_bias = true; // LSTM: the forget quarter of the bias starts at 1
  bool reset_after = true;      // GRU: r applied after the recurrent product (tf.keras 2.x)
  bool trainable = true;
  std::string name = {};
};

struct RecurrentOutput {
  Value output;
  std::vector<Value> state; // the final state: LSTM {h, c}, GRU and SimpleRNN {h}
};

// The unrolling shared by SimpleRNN, LSTM and GRU: x (batch, steps, in); the
// input side of every step is x_t kernel (+ bias), ONE product over all steps
// without a mask, one per step with one (see ops/keras_recurrent.cpp).
class RNN : public Layer {
public:
  // initial_state: {} for zeros (Keras' default), else one (batch, units) per state
  RecurrentOutput call(Value x, const std::vector<Value>& initial_state = {},
                       Loc l = Loc::current());
  Value operator()(Value x, Loc l = Loc::current()) { return call(x, {}, l).output; }
  int64_t units() const { return units_; }
  const RNNOptions& options() const { return o_; }

protected:
  RNN(const char* cls, const char* base, int64_t units, RNNOptions o, int64_t gates, int states);
  // The cell: bias shape and initializer, extra weights, one step from the
  // input projection zx (batch, gates * units) and the previous state (an
  // invalid Value = zeros) to the new state, h first.
  virtual Shape bias_shape() const { return {gates_ * units_}; }
  virtual Initializer bias_init() const { return Initializer::zeros(); }
  virtual void build_cell(Loc) {}
  virtual std::vector<Value> step(Value zx, const std::vector<Value>& prev, Loc l) const = 0;
  virtual std::unique_ptr<RNN> fresh_copy(RNNOptions o) const = 0; // same class, no weights
  // zx + h recurrent_kernel (zx if h is zeros)
  Value recur(Value zx, Value h, Loc l) const;

  int64_t units_;
  RNNOptions o_;
  int64_t gates_;
  int states_;
  Value kernel_, recurrent_kernel_, bias_;
  Value bias_in_; // the input side's bias as (1, gates * units), or invalid

private:
  struct Unrolled {
    std::vector<Value> outputs; // per step, in processing order
    std::vector<Value> state;
    Value mask;
  };
  Unrolled run(Value x, const std::vector<Value>& initial_state, Loc l);
  void build(const Value& x, Loc l);
  std::vector<Value> project(Value x, Value mask, Loc l) const;
  Unrolled unroll(const std::vector<Value>& zs, Value mask, std::vector<Value> state, Loc l) const;
  bool zero_output_for_mask_ = false; // Keras sets it inside Bidirectional(return_sequences)
  friend class Bidirectional;
};

// h' = act(x kernel + h recurrent_kernel + bias)
class SimpleRNN final : public RNN {
public:
  explicit SimpleRNN(int64_t units, RNNOptions o = {});

private:
  std::vector<Value> step(Value zx, const std::vector<Value>& prev, Loc l) const override;
  std::unique_ptr<RNN> fresh_copy(RNNOptions o) const override;
};

// Keras LSTM, gates i, f, c, o (kernel (in, 4u), recurrent_kernel (u, 4u), bias (4u)).
class LSTM final : public RNN {
public:
  explicit LSTM(int64_t units, RNNOptions o = {});

private:
  Initializer bias_init() const override;
  std::vector<Value> step(Value zx, const std::vector<Value>& prev, Loc l) const override;
  std::unique_ptr<RNN> fresh_copy(RNNOptions o) const override;
};

// Keras GRU, gates z, r, h (kernel (in, 3u), recurrent_kernel (u, 3u));
// reset_after: bias (2, 3u), input and recurrent rows; else bias (3u).
class GRU final : public RNN {
public:
  explicit GRU(int64_t units, RNNOptions o = {});

private:
  Shape bias_shape() const override;
  void build_cell(Loc l) override;
  std::vector<Value> step(Value zx, const std::vector<Value>& prev, Loc l) const override;
  std::unique_ptr<RNN> fresh_copy(RNNOptions o) const override;
  Value bias_rec_;   // reset_after: the recurrent bias row (1, 3u)
  Value u_zr_, u_h_; // reset_after false: recurrent_kernel's (z, r) and h columns
};

struct BidirectionalOptions {
  std::string merge_mode = "concat"; // "concat", "sum", "mul", "ave"
  std::string name = {};
};
// Two copies of an RNN layer's config: "<name>/forward_<layer>" on the steps in
// order, "<name>/backward_<layer>" on them reversed (its output sequence put
// back in order), merged. The directions are independent branches of the
// graph (they run concurrently). With a mask and return_sequences, masked
// steps output zeros (Keras forces zero_output_for_mask there).
class Bidirectional : public Layer {
public:
  explicit Bidirectional(const RNN& layer, BidirectionalOptions o = {});
  // initial_state: {} or the forward states then the backward ones; the
  // output state likewise
  RecurrentOutput call(Value x, const std::vector<Value>& initial_state = {},
                       Loc l = Loc::current());
  Value operator()(Value x, Loc l = Loc::current()) { return call(x, {}, l).output; }
  const RNN& forward_layer() const { return *forward_; }
  const RNN& backward_layer() const { return *backward_; }

private:
  Value merge(Value a, Value b, Loc l) const;
  std::unique_ptr<RNN> forward_, backward_;
  BidirectionalOptions o_;
};

// --------------------------------------------------------- conv and batchnorm

struct Conv1DOptions {
  int64_t strides = 1;
  std::string padding = "valid"; // or "same"
  std::string activation = "linear";
  bool use_bias = true;
  bool trainable = true;
  std::string name = {};
};
// y = act(conv1d(x, kernel) + bias): (batch, steps, in) -> (batch, steps',
// filters); kernel (kernel_size, in, filters) glorot_uniform, bias zeros.
class Conv1D : public Layer {
public:
  Conv1D(int64_t filters, int64_t kernel_size, Conv1DOptions o = {});
  Value operator()(Value x, Loc l = Loc::current());

private:
  int64_t filters_, kernel_size_;
  Conv1DOptions o_;
  Value kernel_, bias_;
};

struct BatchNormalizationOptions {
  int64_t axis = -1; // the channel axis
  double momentum = 0.99;
  double epsilon = 1e-3;
  bool trainable = true; // false: inference behaviour even in training (Keras 2.x)
  std::string name = {};
};
// y = (x - mean) / sqrt(var + epsilon) * gamma + beta (batch_norm's math):
// training uses the batch's statistics and appends the moving averages'
// updates to Graph::state_updates; inference uses moving_mean and
// moving_variance (non-trainable). A mask is passed on, not used for the
// statistics.
class BatchNormalization : public Layer {
public:
  explicit BatchNormalization(BatchNormalizationOptions o = {});
  Value operator()(Value x, Loc l = Loc::current());

private:
  BatchNormalizationOptions o_;
  BatchNormWeights w_;
};

} // namespace sg::layers
