// Composite layers over the builder API, with Keras semantics and parameter
// names: Dense, SimpleRNN and LSTM cells (unrolled over time), and
// BatchNormalization. Each is a few lines of primitive ops; the gradients
// come from the primitives'.
//
// Parameters are created with sg::param in scope `name` ("<name>/kernel",
// ...). Asking again for a name that exists reuses the parameter (a shared
// layer, as calling one Keras layer object at every time step), provided the
// shape matches.
#pragma once

#include "graph/graph.hpp"
#include "ops/ops.hpp"

#include <string>
#include <vector>

namespace sg {

// "linear" (identity), "relu", "tanh", "sigmoid", "hard_sigmoid" (Keras:
// clip(0.2 x + 0.5, 0, 1)), "softmax" (last axis).
Value activation(Value x, const std::string& name, Loc l = Loc::current());

// The parameter `name` (in the current scope): reused if it exists with this
// shape, else created with `init`.
Value shared_param(Graph& g, const std::string& name, Shape shape, Initializer init,
                   Loc l = Loc::current());

// ---- Dense: y = act(x kernel + bias) on the last axis; x (..., in) -> (..., units)
struct DenseWeights {
  std::string name; // scope of the layer's nodes
  Value kernel; // (in, units), glorot_uniform
  Value bias;   // (units), zeros; invalid when use_bias is false
  Value bias_row; // bias as (1, units), for broadcasting
};
DenseWeights dense_weights(Graph& g, const std::string& name, int64_t in, int64_t units,
                           bool use_bias = true, Loc l = Loc::current());
Value dense(Value x, const DenseWeights& w, const std::string& act = "linear",
            Loc l = Loc::current());
// Creates (or reuses) "<name>/kernel" and "<name>/bias", in = x's last dim.
Value dense(Value x, int64_t units, const std::string& name, const std::string& act = "linear",
            Loc l = Loc::current());

// ---- recurrent cells, Keras layout: x (batch, in), h and c (batch, units).
// An invalid (empty) state Value means zeros, as Keras' default initial state.
struct LSTMState {
  Value h, c;
};

struct LSTMWeights {
  std::string name;   // scope of the cell's nodes
  int64_t units = 0;
  Value kernel;           // (in, 4 units), glorot_uniform; gates i, f, c, o
  Value recurrent_kernel; // (units, 4 units), orthogonal
  Value bias;             // (4 units), unit_forget_bias: ones in the forget quarter
  Value bias_row;         // bias as (1, 4 units), for broadcasting
  std::string recurrent_activation = "sigmoid"; // Keras 2.0-2.2 default: "hard_sigmoid"
};
// Keras LSTM's weights: "<name>/kernel", "<name>/recurrent_kernel",
// "<name>/bias", laid out as Keras stores them (so Keras weights load as is).
// As Keras (unit_forget_bias=True), the forget quarter of the bias starts at 1.
LSTMWeights lstm_weights(Graph& g, const std::string& name, int64_t in, int64_t units,
                         Loc l = Loc::current());

// i = σ(x Wi + h Ui + bi), f = σ(x Wf + h Uf + bf), c̃ = tanh(x Wc + h Uc + bc),
// o = σ(x Wo + h Uo + bo); c' = f c + i c̃; h' = o tanh(c'). One matmul of x and
// one of h for all four gates, then a split.
LSTMState lstm_cell(Value x, LSTMState prev, const LSTMWeights& w, Loc l = Loc::current());
// The input side of every step at once: x_t W + b for each x_t (batch, in),
// as ONE product of the steps stacked along the batch axis (then a slice per
// step). The recurrent side alone is left on the sequential path.
std::vector<Value> lstm_project(const std::vector<Value>& xs, const LSTMWeights& w,
                                Loc l = Loc::current());
// lstm_cell given its input projection zx = x W + b (batch, 4 units).
LSTMState lstm_step(Value zx, LSTMState prev, const LSTMWeights& w, Loc l = Loc::current());
// The gates of one step from the pre-activations z = zx + hu (zx = x W + b,
// hu = h U; batch, 4 units; an invalid hu: z = zx), split i, f, c, o:
// c' = σ(zf) c + σ(zi) act(zc), h' = σ(zo) act(c') (σ = recurrent_act); an
// invalid c_prev means zeros. With Keras' default activations (tanh,
// sigmoid) the fused ops of ops.hpp lstm_cell, else the composite.
LSTMState lstm_gates(Value zx, Value hu, Value c_prev, const std::string& act, const std::string& recurrent_act,
                     Loc l = Loc::current());
// Unrolled over time: the h of every step (Keras return_sequences); `last`,
// if given, receives the final (h, c) (Keras return_state). The input
// projections of all steps are one product (lstm_project).
std::vector<Value> lstm(const std::vector<Value>& xs, LSTMState init, const LSTMWeights& w,
                        LSTMState* last = nullptr, Loc l = Loc::current());

struct RNNWeights {
  std::string name;
  int64_t units = 0;
  Value kernel;           // (in, units), glorot_uniform
  Value recurrent_kernel; // (units, units), orthogonal
  Value bias;             // (units), zeros
  Value bias_row;         // (1, units)
};
RNNWeights rnn_weights(Graph& g, const std::string& name, int64_t in, int64_t units,
                       Loc l = Loc::current());
// Keras SimpleRNN: h' = tanh(x kernel + h recurrent_kernel + bias)
Value rnn_cell(Value x, Value h_prev, const RNNWeights& w, Loc l = Loc::current());
std::vector<Value> rnn(const std::vector<Value>& xs, Value h0, const RNNWeights& w,
                       Loc l = Loc::current());

// Zeros of `shape`, a constant.
Value zeros(Graph& g, Shape shape);

// ---- Keras BatchNormalization over the last axis (C channels):
//   y = (x - mean) / sqrt(var + epsilon) * gamma + beta
// Parameters "<name>/gamma" (ones), "<name>/beta" (zeros); statistics
// "<name>/moving_mean" (zeros) and "<name>/moving_variance" (ones), which are
// state (all_params leaves them out). Training: batch mean and (biased)
// variance over all axes but the last; AssignMovingAverage nodes, appended to
// *updates, move the statistics toward the batch's
//   moving = momentum * moving + (1 - momentum) * batch
// with the variance scaled by n / (n - (1 + epsilon)) as Keras 2.2 does
// (n = elements per channel). Inference: the moving statistics.
Value batch_norm(Value x, const std::string& name, bool training, double momentum = 0.99,
                 double epsilon = 1e-3, std::vector<Value>* updates = nullptr,
                 Loc l = Loc::current());

// The same math on given weights, each (C), C = x's dim at `axis`; the
// statistics are over every other axis.
struct BatchNormWeights {
  Value gamma, beta, moving_mean, moving_variance;
};
Value batch_norm(Value x, const BatchNormWeights& w, int64_t axis, bool training, double momentum,
                 double epsilon, std::vector<Value>* updates, Loc l = Loc::current());

} // namespace sg
