// Parameter initialisers and the parameter store: the persistent tensors
// (weights, optimizer slots, running statistics) that compiled plans read
// and update in place, and that checkpoints save and load.
#pragma once

#include "graph/tensor.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sg {

struct Initializer {
  enum class Kind : uint8_t { zeros, ones, constant, glorot_uniform, orthogonal, normal, uniform,
                            unit_forget_bias, tensor };
  Kind kind = Kind::zeros;
  double a = 0, b = 0; // constant: a; normal: mean a, stddev b; uniform: [a, b); orthogonal: gain a
  std::shared_ptr<const Tensor> value = nullptr; // tensor: the initial value (pre-trained weights)

  static Initializer zeros() { return {Kind::zeros}; }
  static Initializer ones() { return {Kind::ones}; }
  static Initializer constant(double v) { return {Kind::constant, v}; }
  // Keras GlorotUniform: U(-l, l), l = sqrt(6 / (fan_in + fan_out)).
  static Initializer glorot_uniform() { return {Kind::glorot_uniform}; }
  // Keras Orthogonal: a (semi-)orthogonal matrix from the QR of a normal draw.
  static Initializer orthogonal(double gain = 1.0) { return {Kind::orthogonal, gain}; }
  // Seeded N(mean, stddev^2), e.g. the course's randn * 0.01.
  static Initializer normal(double mean, double stddev) { return {Kind::normal, mean, stddev}; }
  static Initializer uniform(double lo, double hi) { return {Kind::uniform, lo, hi}; }
  // Keras LSTM(unit_forget_bias=True): a (4u) bias, zeros with ones in the
  // forget gate's quarter [u, 2u) (gate order i, f, c, o).
  static Initializer unit_forget_bias() { return {Kind::unit_forget_bias}; }
  // Given values (e.g. pre-trained embeddings), converted to the plan's dtype.
  static Initializer from(Tensor t) {
    return {Kind::tensor, 0, 0, std::make_shared<const Tensor>(std::move(t))};
  }

  std::string describe() const;
  // Fills a tensor of `shape`. Draws depend only on (seed, name): parameters
  // can be created in any order and get the same values.
  Tensor make(const Shape& shape, DType dtype, uint64_t seed, const std::string& name) const;
};

// fan_in / fan_out as Keras computes them: for rank 2 (in, out); for rank > 2
// the leading dims are the receptive field, e.g. Conv1D (k, in, out).
std::pair<double, double> fans(const Shape& shape);

class ParamStore {
public:
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  Tensor& at(const std::string& name);
  const Tensor& at(const std::string& name) const;
  void set(const std::string& name, Tensor t) { tensors_[name] = std::move(t); }
  // Returns the tensor `name`, creating it with `init` if it is missing.
  // Throws if it exists with a different shape or dtype.
  Tensor& ensure(const std::string& name, const Shape& shape, DType dtype, const Initializer& init,
                 uint64_t seed);
  const std::map<std::string, Tensor>& all() const { return tensors_; }
  std::map<std::string, Tensor>& all() { return tensors_; }
  size_t size() const { return tensors_.size(); }
  // Total number of scalars held.
  int64_t count() const;

private:
  std::map<std::string, Tensor> tensors_;
};

} // namespace sg
