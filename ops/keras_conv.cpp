// Keras Conv1D and BatchNormalization (see ops/keras.hpp).
#include "ops/keras.hpp"

#include <fmt/format.h>
#include <stdexcept>

namespace sg::layers {

// ---- Conv1D

Conv1D::Conv1D(int64_t filters, int64_t kernel_size, Conv1DOptions o)
    : Layer("Conv1D", "conv1d", o.name, o.trainable), filters_(filters), kernel_size_(kernel_size),
      o_(std::move(o)) {
  if (filters <= 0 || kernel_size <= 0 || o_.strides <= 0)
    throw std::invalid_argument(fmt::format("Conv1D: filters, kernel_size and strides must be > 0, "
                                            "got {}, {}, {}", filters, kernel_size, o_.strides));
  if (o_.padding != "valid" && o_.padding != "same")
    throw std::invalid_argument(
        fmt::format("Conv1D: padding '{}' is not \"valid\" or \"same\"", o_.padding));
}

// y[b, t, o] = act(sum_{k, c} x[b, t * strides + k - pad, c] kernel[k, c, o] + bias[o])
Value Conv1D::operator()(Value x, Loc l) {
  Graph& g = bind(x, l);
  if (x.rank() != 3) bad_input(x, "need (batch, steps, channels)", l);
  if (o_.padding == "valid" && x.dim(1) < kernel_size_)
    bad_input(x, fmt::format("'valid' padding needs at least kernel_size = {} steps", kernel_size_), l);
  no_mask(x, l);
  const int64_t in = x.dim(2);
  if (!kernel_) {
    kernel_ = weight("kernel", {kernel_size_, in, filters_}, Initializer::glorot_uniform(), l);
    if (o_.use_bias) bias_ = weight("bias", {filters_}, Initializer::zeros(), l);
  } else if (in != kernel_.dim(1)) {
    bad_input(x, fmt::format("the layer was built for {} input channels", kernel_.dim(1)), l);
  }
  auto scope = g.scope(name_);
  Value y = conv1d(x, kernel_, o_.strides, o_.padding, l);
  if (bias_) y = y + reshape(bias_, {1, 1, filters_}, l);
  return activation(y, o_.activation, l);
}

// ---- BatchNormalization

BatchNormalization::BatchNormalization(BatchNormalizationOptions o)
    : Layer("BatchNormalization", "batch_normalization", o.name, o.trainable), o_(std::move(o)) {
  if (!(o_.momentum >= 0 && o_.momentum <= 1) || !(o_.epsilon > 0))
    throw std::invalid_argument(fmt::format(
        "BatchNormalization: momentum {} must be in [0, 1] and epsilon {} > 0", o_.momentum, o_.epsilon));
}

// y = (x - mean) / sqrt(var + epsilon) * gamma + beta, per channel
Value BatchNormalization::operator()(Value x, Loc l) {
  Graph& g = bind(x, l);
  const int r = x.rank();
  const int64_t ax = o_.axis < 0 ? o_.axis + r : o_.axis;
  if (r < 2 || ax < 1 || ax >= r)
    bad_input(x, fmt::format("need (batch, ..., channels) with channel axis {}", o_.axis), l);
  const int64_t C = x.dim(int(ax));
  if (!w_.gamma) {
    w_.gamma = weight("gamma", {C}, Initializer::ones(), l);
    w_.beta = weight("beta", {C}, Initializer::zeros(), l);
    w_.moving_mean = weight("moving_mean", {C}, Initializer::zeros(), l, false);
    w_.moving_variance = weight("moving_variance", {C}, Initializer::ones(), l, false);
  } else if (C != w_.gamma.dim(0)) {
    bad_input(x, fmt::format("the layer was built for {} channels", w_.gamma.dim(0)), l);
  }
  auto scope = g.scope(name_);
  const bool training = g.training && trainable_; // frozen: inference (Keras 2.x)
  std::vector<Value> updates;
  Value y = batch_norm(x, w_, ax, training, o_.momentum, o_.epsilon, &updates, l);
  for (const Value& u : updates) g.state_updates.push_back(u.id());
  return with_mask(y, mask_of(x));
}

} // namespace sg::layers
