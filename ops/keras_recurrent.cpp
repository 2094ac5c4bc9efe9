// Keras recurrent layers: one unrolling and masking routine (RNN) shared by
// SimpleRNN, LSTM and GRU, which only say what one step is; Bidirectional
// runs two copies of a layer as independent branches (see ops/keras.hpp).
//
// Masks, as tf.keras 2.x: at a masked step the state is carried unchanged,
// h = m h_new + (1 - m) h_prev with m (batch, 1) the step's mask, and the
// output there is the previous step's output (zeros before the first), because
// RNN's zero_output_for_mask defaults to False: tensorflow/python/keras/layers/
// recurrent.py, RNN.__init__ ("If True, the output for masked timestep will be
// zeros, whereas in the False case, output from previous timestep is
// returned"); keras/layers/rnn/gru.py gpu_gru notes the same ("the default
// keras behavior is to bring over the previous output for t-1"). Bidirectional
// sets zero_output_for_mask = return_sequences on both directions
// (tensorflow/python/keras/layers/wrappers.py, force_zero_output_for_mask), so
// there masked steps output zeros. With m exactly 0 or 1 the blend picks one
// side bitwise (x * 1 + y * 0 = x for finite y).
#include "ops/keras.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <stdexcept>

namespace sg::layers {

RNN::RNN(const char* cls, const char* base, int64_t units, RNNOptions o, int64_t gates, int states)
    : Layer(cls, base, o.name, o.trainable), units_(units), o_(std::move(o)), gates_(gates),
      states_(states) {
  if (units <= 0) throw std::invalid_argument(fmt::format("{}: units must be > 0, got {}", cls, units));
}

Value RNN::recur(Value zx, Value h, Loc l) const {
  return h ? zx + matmul(h, recurrent_kernel_, false, false, l) : zx;
}

void RNN::build(const Value& x, Loc l) {
  const int64_t in = x.dim(2), G = gates_ * units_;
  if (kernel_) {
    if (in != kernel_.dim(0))
      bad_input(x, fmt::format("the layer was built for {} input features", kernel_.dim(0)), l);
    return;
  }
  kernel_ = weight("kernel", {in, G}, Initializer::glorot_uniform(), l);
  recurrent_kernel_ = weight("recurrent_kernel", {units_, G}, Initializer::orthogonal(), l);
  if (o_.use_bias) bias_ = weight("bias", bias_shape(), bias_init(), l);
  auto scope = graph_->scope_at(path_);
  if (bias_) bias_in_ = bias_.rank() == 1 ? reshape(bias_, {1, G}, l) : slice(bias_, 0, 0, 1, l);
  build_cell(l);
}

// z_t = x_t kernel + bias for every step: one product of x as (batch * steps,
// in) without a mask (as (batch, in) for a single step); with a mask one
// (batch, in) product per step, so that no product shaped by the padded
// length feeds a real step (BLAS promises no bits of a row independent of
// the row count).
std::vector<Value> RNN::project(Value x, Value mask, Loc l) const {
  const int64_t B = x.dim(0), T = x.dim(1), G = kernel_.dim(1);
  auto affine = [&](Value rows) {
    Value z = matmul(rows, kernel_, false, false, l);
    return bias_in_ ? z + bias_in_ : z;
  };
  std::vector<Value> zs;
  if (mask) {
    for (int64_t t = 0; t < T; ++t) zs.push_back(affine(take(x, 1, t, l)));
    return zs;
  }
  if (T == 1) return {affine(reshape(x, {B, x.dim(2)}, l))}; // a layer called step by step (Jazz's djmodel)
  Value z = reshape(affine(reshape(x, {B * T, x.dim(2)}, l)), {B, T, G}, l);
  for (int64_t t = 0; t < T; ++t) zs.push_back(take(z, 1, t, l));
  return zs;
}

// s_t = step(z_t, s_{t-1}), blended with s_{t-1} by the mask; y_t = h_t, or
// with a mask m h_new + (1 - m) y_{t-1} (zeros: m h_new)
RNN::Unrolled RNN::unroll(const std::vector<Value>& zs, Value mask, std::vector<Value> state,
                          Loc l) const {
  const int64_t T = int64_t(zs.size());
  if (state.empty()) state.resize(size_t(states_)); // zeros
  // the output chain starts from zeros: it is the h chain unless h starts elsewhere
  const bool output_is_h = !state[0];
  Unrolled r;
  r.mask = mask;
  Value y_prev;
  for (int64_t k = 0; k < T; ++k) {
    const int64_t t = o_.go_backwards ? T - 1 - k : k;
    std::vector<Value> next = step(zs[size_t(t)], state, l);
    Value y = next[0];
    if (mask) {
      const Value m = slice(mask, 1, t, t + 1, l), keep = 1.0 - m;
      auto blend = [&](Value now, Value before) { return before ? m * now + keep * before : m * now; };
      const Value h_new = next[0];
      for (size_t s = 0; s < next.size(); ++s) next[s] = blend(next[s], state[s]);
      y = zero_output_for_mask_ ? m * h_new : output_is_h ? next[0] : blend(h_new, y_prev);
    }
    r.outputs.push_back(y);
    y_prev = y;
    state = std::move(next);
  }
  r.state = std::move(state);
  return r;
}

RNN::Unrolled RNN::run(Value x, const std::vector<Value>& initial_state, Loc l) {
  Graph& g = bind(x, l);
  if (x.rank() != 3 || x.dim(1) < 1) bad_input(x, "need (batch, steps >= 1, features)", l);
  build(x, l);
  const int64_t B = x.dim(0), T = x.dim(1);
  if (!initial_state.empty() && initial_state.size() != size_t(states_))
    bad_input(x, fmt::format("initial_state has {} tensors, the layer has {} states",
                             initial_state.size(), states_), l);
  for (const Value& s : initial_state) {
    bind(s, l);
    if (s.shape() != Shape{B, units_})
      bad_input(s, fmt::format("an initial state must be (batch, units) = ({}, {})", B, units_), l);
  }
  const Value mask = mask_of(x);
  if (mask && mask.shape() != Shape{B, T})
    bad_input(x, fmt::format("its mask '{}' is {}, need (batch, steps)", mask.name(),
                             to_string(mask.shape())), l);
  auto scope = g.scope(name_);
  return unroll(project(x, mask, l), mask, initial_state, l);
}

RecurrentOutput RNN::call(Value x, const std::vector<Value>& initial_state, Loc l) {
  Unrolled u = run(x, initial_state, l);
  RecurrentOutput r;
  if (o_.return_sequences) {
    auto scope = graph_->scope(name_);
    r.output = with_mask(stack(u.outputs, 1, l), u.mask);
  } else {
    r.output = u.outputs.back();
  }
  r.state = std::move(u.state);
  return r;
}

// ---- SimpleRNN

SimpleRNN::SimpleRNN(int64_t units, RNNOptions o) : RNN("SimpleRNN", "simple_rnn", units, std::move(o), 1, 1) {}

// h' = act(x W + b + h U)
std::vector<Value> SimpleRNN::step(Value zx, const std::vector<Value>& prev, Loc l) const {
  return {activation(recur(zx, prev[0], l), o_.activation, l)};
}

std::unique_ptr<RNN> SimpleRNN::fresh_copy(RNNOptions o) const { return std::make_unique<SimpleRNN>(units_, o); }

// ---- LSTM

LSTM::LSTM(int64_t units, RNNOptions o) : RNN("LSTM", "lstm", units, std::move(o), 4, 2) {}

Initializer LSTM::bias_init() const {
  return o_.unit_forget_bias ? Initializer::unit_forget_bias() : Initializer::zeros();
}

// i, f, c̃, o from z = x W + b + h U; c' = f c + i c̃; h' = o act(c') (ops/layers.hpp lstm_gates)
std::vector<Value> LSTM::step(Value zx, const std::vector<Value>& prev, Loc l) const {
  const Value hu = prev[0] ? matmul(prev[0], recurrent_kernel_, false, false, l) : Value();
  LSTMState s = lstm_gates(zx, hu, prev[1], o_.activation, o_.recurrent_activation, l);
  return {s.h, s.c};
}

std::unique_ptr<RNN> LSTM::fresh_copy(RNNOptions o) const { return std::make_unique<LSTM>(units_, o); }

// ---- GRU

GRU::GRU(int64_t units, RNNOptions o) : RNN("GRU", "gru", units, std::move(o), 3, 1) {}

Shape GRU::bias_shape() const {
  return o_.reset_after ? Shape{2, 3 * units_} : Shape{3 * units_};
}

void GRU::build_cell(Loc l) {
  const int64_t u = units_;
  if (o_.reset_after && bias_) bias_rec_ = slice(bias_, 0, 1, 2, l);
  if (!o_.reset_after) {
    u_zr_ = slice(recurrent_kernel_, 1, 0, 2 * u, l);
    u_h_ = slice(recurrent_kernel_, 1, 2 * u, 3 * u, l);
  }
}

// reset_after: z, r = σ(x W + b + h U + b')_{z,r}; h̃ = act((x W + b)_h + r (h U + b')_h)
// else:        z, r = σ(x W + b + h U)_{z,r};       h̃ = act((x W + b)_h + (r h) U_h)
// h' = z h + (1 - z) h̃
std::vector<Value> GRU::step(Value zx, const std::vector<Value>& prev, Loc l) const {
  const int64_t u = units_;
  const Value h = prev[0];
  const std::string& ra = o_.recurrent_activation;
  Value rec; // reset_after: h U + b'
  if (o_.reset_after) {
    rec = h ? matmul(h, recurrent_kernel_, false, false, l) : Value();
    // the default activations: one fused node (the same bits as the ops below)
    if (h && bias_rec_ && o_.activation == "tanh" && ra == "sigmoid") return {gru_cell(zx, rec, h, bias_rec_, l)};
    if (bias_rec_) rec = rec ? rec + bias_rec_ : bias_rec_;
  }
  const std::vector<Value> x = split(zx, 1, {u, u, u}, l);
  Value z, hh;
  if (o_.reset_after) {
    if (rec) {
      const std::vector<Value> rh = split(rec, 1, {u, u, u}, l);
      z = activation(x[0] + rh[0], ra, l);
      hh = activation(x[2] + activation(x[1] + rh[1], ra, l) * rh[2], o_.activation, l);
    }
  } else if (h) {
    const std::vector<Value> rh = split(matmul(h, u_zr_, false, false, l), 1, {u, u}, l);
    z = activation(x[0] + rh[0], ra, l);
    const Value r = activation(x[1] + rh[1], ra, l);
    hh = activation(x[2] + matmul(r * h, u_h_, false, false, l), o_.activation, l);
  }
  if (!z) { // h = 0 and no recurrent bias: the recurrent terms vanish
    z = activation(x[0], ra, l);
    hh = activation(x[2], o_.activation, l);
  }
  Value next = (1.0 - z) * hh;
  return {h ? z * h + next : next};
}

std::unique_ptr<RNN> GRU::fresh_copy(RNNOptions o) const { return std::make_unique<GRU>(units_, o); }

// ---- Bidirectional

Bidirectional::Bidirectional(const RNN& layer, BidirectionalOptions o)
    : Layer("Bidirectional", "bidirectional", o.name), o_(std::move(o)) {
  const std::string& m = o_.merge_mode;
  if (m != "concat" && m != "sum" && m != "mul" && m != "ave")
    throw std::invalid_argument(fmt::format(
        "Bidirectional: merge_mode '{}' is not \"concat\", \"sum\", \"mul\" or \"ave\"", m));
  RNNOptions back = layer.options();
  back.go_backwards = !back.go_backwards;
  forward_ = layer.fresh_copy(layer.options());
  backward_ = layer.fresh_copy(back);
  forward_->zero_output_for_mask_ = backward_->zero_output_for_mask_ = layer.options().return_sequences;
}

// concat: [a, b] on the last axis; sum: a + b; mul: a b; ave: (a + b) / 2
Value Bidirectional::merge(Value a, Value b, Loc l) const {
  if (o_.merge_mode == "concat") return concat({a, b}, -1, l);
  if (o_.merge_mode == "sum") return a + b;
  if (o_.merge_mode == "mul") return a * b;
  return (a + b) * 0.5;
}

// y = merge(forward(x), reverse(backward(reverse(x))))
RecurrentOutput Bidirectional::call(Value x, const std::vector<Value>& initial_state, Loc l) {
  Graph& g = bind(x, l);
  if (x.rank() != 3) bad_input(x, "need (batch, steps, features)", l);
  const size_t n = size_t(forward_->states_);
  if (!initial_state.empty() && initial_state.size() != 2 * n)
    bad_input(x, fmt::format("initial_state has {} tensors; need {} (forward then backward)",
                             initial_state.size(), 2 * n), l);
  if (!forward_->graph_) { // Keras: the wrapped layer's name, prefixed
    const std::string inner = forward_->name_.empty() ? g.layer_name(forward_->base_) : forward_->name_;
    forward_->adopt(*this, "forward_" + inner);
    backward_->adopt(*this, "backward_" + inner);
  }
  auto scope = g.scope(name_);
  auto half = [&](size_t k) {
    return initial_state.empty() ? std::vector<Value>{}
                                 : std::vector<Value>(initial_state.begin() + long(k * n),
                                                      initial_state.begin() + long((k + 1) * n));
  };
  RNN::Unrolled f = forward_->run(x, half(0), l), b = backward_->run(x, half(1), l);
  RecurrentOutput r;
  if (forward_->o_.return_sequences) {
    std::reverse(b.outputs.begin(), b.outputs.end()); // back in step order
    r.output = with_mask(merge(stack(f.outputs, 1, l), stack(b.outputs, 1, l), l), f.mask);
  } else {
    r.output = merge(f.outputs.back(), b.outputs.back(), l);
  }
  r.state = f.state;
  r.state.insert(r.state.end(), b.state.begin(), b.state.end());
  return r;
}

} // namespace sg::layers
