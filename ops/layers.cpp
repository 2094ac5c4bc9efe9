// Composite layers: Dense, SimpleRNN and LSTM cells, BatchNormalization, each
// a few primitive ops (see ops/layers.hpp for the formulas and names).
#include "ops/layers.hpp"

#include <fmt/format.h>
#include <stdexcept>

namespace sg {

Value activation(Value x, const std::string& name, Loc l) {
  if (name == "linear" || name.empty()) return x;
  if (name == "relu") return relu(x, l);
  if (name == "tanh") return tanh(x, l);
  if (name == "sigmoid") return sigmoid(x, l);
  if (name == "hard_sigmoid") return clip(x * 0.2 + 0.5, 0.0, 1.0, l);
  if (name == "softmax") return softmax(x, -1, l);
  throw std::invalid_argument(fmt::format(
      "unknown activation '{}' at {} (known: linear, relu, tanh, sigmoid, hard_sigmoid, softmax)",
      name, where(l)));
}

Value shared_param(Graph& g, const std::string& name, Shape shape, Initializer init, Loc l) {
  const std::string full = g.prefix() + name;
  if (auto id = g.find(full)) {
    const Node& n = g.node(*id);
    if (n.op != Op::Variable)
      throw std::invalid_argument(fmt::format("parameter '{}' at {}: the name is taken by a {} node",
                                              full, where(l), op_name(n.op)));
    if (n.shape != shape)
      throw std::invalid_argument(fmt::format(
          "parameter '{}' at {}: exists with shape {} (from {}), asked for {}", full, where(l),
          to_string(n.shape), n.where, to_string(shape)));
    return Value(g, *id);
  }
  return param(g, name, std::move(shape), init, l);
}

Value zeros(Graph& g, Shape shape) { return constant(g, Tensor(std::move(shape), DType::f64)); }

// ---- Dense

DenseWeights dense_weights(Graph& g, const std::string& name, int64_t in, int64_t units,
                           bool use_bias, Loc l) {
  auto scope = g.scope(name);
  DenseWeights w;
  w.name = name;
  w.kernel = shared_param(g, "kernel", {in, units}, Initializer::glorot_uniform(), l);
  if (use_bias) {
    w.bias = shared_param(g, "bias", {units}, Initializer::zeros(), l);
    w.bias_row = reshape(w.bias, {1, units}, l);
  }
  return w;
}

Value dense(Value x, const DenseWeights& w, const std::string& act, Loc l) {
  Graph& g = x.graph();
  auto scope = g.scope(w.name);
  if (x.rank() < 2)
    throw std::invalid_argument(fmt::format("dense '{}' at {}: input '{}' has shape {}; need "
                                            "(batch, ..., in)", w.name, where(l), x.name(),
                                            to_string(x.shape())));
  const int64_t in = w.kernel.dim(0), units = w.kernel.dim(1);
  Value x2 = x.rank() == 2 ? x : reshape(x, {-1, in}, l);
  Value y = matmul(x2, w.kernel, false, false, l);
  if (w.bias_row) y = y + w.bias_row;
  if (x.rank() > 2) {
    Shape s = x.shape();
    s.back() = units;
    y = reshape(y, s, l);
  }
  return activation(y, act, l);
}

Value dense(Value x, int64_t units, const std::string& name, const std::string& act, Loc l) {
  return dense(x, dense_weights(x.graph(), name, x.dim(-1), units, true, l), act, l);
}

// ---- LSTM

LSTMWeights lstm_weights(Graph& g, const std::string& name, int64_t in, int64_t units, Loc l) {
  auto scope = g.scope(name);
  LSTMWeights w;
  w.name = name;
  w.units = units;
  w.kernel = shared_param(g, "kernel", {in, 4 * units}, Initializer::glorot_uniform(), l);
  w.recurrent_kernel =
      shared_param(g, "recurrent_kernel", {units, 4 * units}, Initializer::orthogonal(), l);
  w.bias = shared_param(g, "bias", {4 * units}, Initializer::unit_forget_bias(), l);
  w.bias_row = reshape(w.bias, {1, 4 * units}, l);
  return w;
}

LSTMState lstm_cell(Value x, LSTMState prev, const LSTMWeights& w, Loc l) {
  Graph& g = x.graph();
  Value zx;
  {
    auto scope = g.scope(w.name);
    // x's projection does not wait for h: it runs off the recurrent critical path
    zx = matmul(x, w.kernel, false, false, l) + w.bias_row;
  }
  return lstm_step(zx, prev, w, l);
}

std::vector<Value> lstm_project(const std::vector<Value>& xs, const LSTMWeights& w, Loc l) {
  if (xs.empty()) return {};
  Graph& g = xs[0].graph();
  auto scope = g.scope(w.name);
  const int64_t B = xs[0].dim(0);
  for (const Value& x : xs)
    if (x.rank() != 2 || x.shape() != xs[0].shape())
      throw std::invalid_argument(fmt::format(
          "lstm '{}' at {}: every step's input must be (batch, in) of one shape; '{}' is {}, the "
          "first step's is {}", w.name, where(l), x.name(), to_string(x.shape()),
          to_string(xs[0].shape())));
  if (xs.size() == 1) return {matmul(xs[0], w.kernel, false, false, l) + w.bias_row};
  Value z = matmul(concat(xs, 0, l), w.kernel, false, false, l) + w.bias_row;
  std::vector<Value> zs;
  for (int64_t t = 0; t < int64_t(xs.size()); ++t) zs.push_back(slice(z, 0, t * B, (t + 1) * B, l));
  return zs;
}

LSTMState lstm_step(Value zx, LSTMState prev, const LSTMWeights& w, Loc l) {
  Graph& g = zx.graph();
  auto scope = g.scope(w.name);
  const Value hu = prev.h ? matmul(prev.h, w.recurrent_kernel, false, false, l) : Value();
  return lstm_gates(zx, hu, prev.c, "tanh", w.recurrent_activation, l);
}

LSTMState lstm_gates(Value zx, Value hu, Value c_prev, const std::string& act, const std::string& recurrent_act,
                     Loc l) {
  if (act == "tanh" && recurrent_act == "sigmoid") { // Keras' defaults: the fused step (ops.hpp)
    const LstmCell s = lstm_cell(zx, hu, c_prev, l);
    return {s.h, s.c};
  }
  const Value z = hu ? zx + hu : zx;
  const int64_t u = z.dim(1) / 4;
  std::vector<Value> gate = split(z, 1, {u, u, u, u}, l);
  Value i = activation(gate[0], recurrent_act, l);
  Value f = activation(gate[1], recurrent_act, l);
  Value cc = activation(gate[2], act, l);
  Value o = activation(gate[3], recurrent_act, l);
  Value c = c_prev ? f * c_prev + i * cc : i * cc;
  Value h = o * activation(c, act, l);
  return {h, c};
}

std::vector<Value> lstm(const std::vector<Value>& xs, LSTMState init, const LSTMWeights& w,
                        LSTMState* last, Loc l) {
  std::vector<Value> hs;
  hs.reserve(xs.size());
  LSTMState s = init;
  for (const Value& zx : lstm_project(xs, w, l)) {
    s = lstm_step(zx, s, w, l);
    hs.push_back(s.h);
  }
  if (last) *last = s;
  return hs;
}

// ---- SimpleRNN

RNNWeights rnn_weights(Graph& g, const std::string& name, int64_t in, int64_t units, Loc l) {
  auto scope = g.scope(name);
  RNNWeights w;
  w.name = name;
  w.units = units;
  w.kernel = shared_param(g, "kernel", {in, units}, Initializer::glorot_uniform(), l);
  w.recurrent_kernel =
      shared_param(g, "recurrent_kernel", {units, units}, Initializer::orthogonal(), l);
  w.bias = shared_param(g, "bias", {units}, Initializer::zeros(), l);
  w.bias_row = reshape(w.bias, {1, units}, l);
  return w;
}

Value rnn_cell(Value x, Value h_prev, const RNNWeights& w, Loc l) {
  Graph& g = x.graph();
  auto scope = g.scope(w.name);
  Value z = matmul(x, w.kernel, false, false, l) + w.bias_row;
  if (h_prev) z = z + matmul(h_prev, w.recurrent_kernel, false, false, l);
  return tanh(z, l);
}

std::vector<Value> rnn(const std::vector<Value>& xs, Value h0, const RNNWeights& w, Loc l) {
  std::vector<Value> hs;
  hs.reserve(xs.size());
  Value h = h0;
  for (const Value& x : xs) {
    h = rnn_cell(x, h, w, l);
    hs.push_back(h);
  }
  return hs;
}

// ---- BatchNormalization

Value batch_norm(Value x, const std::string& name, bool training, double momentum,
                 double epsilon, std::vector<Value>* updates, Loc l) {
  Graph& g = x.graph();
  if (x.rank() < 2)
    throw std::invalid_argument(fmt::format("batch_norm '{}' at {}: input '{}' has shape {}; need "
                                            "(batch, ..., channels)", name, where(l), x.name(),
                                            to_string(x.shape())));
  const int64_t C = x.dim(-1);
  auto scope = g.scope(name);
  BatchNormWeights w;
  w.gamma = shared_param(g, "gamma", {C}, Initializer::ones(), l);
  w.beta = shared_param(g, "beta", {C}, Initializer::zeros(), l);
  {
    Graph::KindGuard state(g, NodeKind::update); // statistics, not trained
    w.moving_mean = shared_param(g, "moving_mean", {C}, Initializer::zeros(), l);
    w.moving_variance = shared_param(g, "moving_variance", {C}, Initializer::ones(), l);
  }
  return batch_norm(x, w, -1, training, momentum, epsilon, updates, l);
}

Value batch_norm(Value x, const BatchNormWeights& w, int64_t axis, bool training, double momentum,
                 double epsilon, std::vector<Value>* updates, Loc l) {
  Graph& g = x.graph();
  const int r = x.rank();
  const int64_t ax = axis < 0 ? axis + r : axis, C = x.dim(int(ax));
  Shape bshape(size_t(r), 1);
  bshape[size_t(ax)] = C;
  auto b = [&](const Value& v) { return reshape(v, bshape, l); };
  if (!training) {
    Value scale = b(w.gamma) / sqrt(b(w.moving_variance) + epsilon);
    return (x - b(w.moving_mean)) * scale + b(w.beta);
  }
  std::vector<int64_t> axes;
  for (int64_t a = 0; a < r; ++a)
    if (a != ax) axes.push_back(a);
  double n = double(numel(x.shape()) / C); // elements per channel
  Value mean, d, var;
  if (g.shard_global > 0) {
    // A data-parallel rank's graph: the global batch's statistics
    // (synchronized batch normalization), its shard's sums added over the
    // ranks (a rank with no example adds zeros), so that N ranks normalise
    // as one process does and their moving statistics stay identical.
    if (ax == 0 || x.dim(0) != std::max<int64_t>(g.shard_rows, 1))
      throw std::invalid_argument(fmt::format("batch_norm at {}: a data-parallel shard needs the batch on axis 0 "
                                              "of {} ({} rows) and the channels elsewhere", where(l),
                                              to_string(x.shape()), g.shard_rows));
    n = n / double(x.dim(0)) * double(g.shard_global);
    const double present = g.shard_rows > 0 ? 1.0 : 0.0;
    mean = allreduce_sum(sum(x, axes, true, l) * present, l) * (1.0 / n);
    d = x - mean;
    var = allreduce_sum(sum(square(d), axes, true, l) * present, l) * (1.0 / n);
  } else {
    mean = sg::mean(x, axes, true, l);
    d = x - mean;
    var = sg::mean(square(d), axes, true, l);
  }
  Value y = d * (b(w.gamma) / sqrt(var + epsilon)) + b(w.beta);
  if (updates) {
    Graph::KindGuard kind(g, NodeKind::update);
    updates->push_back(assign_moving_average(w.moving_mean, reshape(mean, {C}, l), momentum, l));
    // Keras 2.2: the sample variance, n / (n - (1 + epsilon))
    updates->push_back(assign_moving_average(
        w.moving_variance, reshape(var, {C}, l) * (n / (n - (1.0 + epsilon))), momentum, l));
  }
  return y;
}

} // namespace sg
