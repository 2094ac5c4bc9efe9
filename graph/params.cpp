#include "graph/params.hpp"

#include "graph/random.hpp"

#include <cmath>
#include <fmt/format.h>
#include <stdexcept>

namespace sg {

std::pair<double, double> fans(const Shape& shape) {
  if (shape.empty()) return {1, 1};
  if (shape.size() == 1) return {double(shape[0]), double(shape[0])};
  double receptive = 1;
  for (size_t i = 0; i + 2 < shape.size(); ++i) receptive *= double(shape[i]);
  return {double(shape[shape.size() - 2]) * receptive, double(shape.back()) * receptive};
}

std::string Initializer::describe() const {
  switch (kind) {
  case Kind::zeros: return "zeros";
  case Kind::ones: return "ones";
  case Kind::constant: return fmt::format("constant({})", a);
  case Kind::glorot_uniform: return "glorot_uniform";
  case Kind::orthogonal: return fmt::format("orthogonal(gain={})", a);
  case Kind::normal: return fmt::format("normal({}, {})", a, b);
  case Kind::uniform: return fmt::format("uniform({}, {})", a, b);
  case Kind::unit_forget_bias: return "unit_forget_bias";
  case Kind::tensor: return fmt::format("tensor {}", value ? to_string(value->shape()) : "(none)");
  }
  return "?";
}

namespace {

// Orthogonal rows/columns of a (rows x cols) matrix by modified Gram-Schmidt
// on a normal draw, in double; the sign convention of QR (diag(R) > 0) is kept.
std::vector<double> orthogonal_matrix(int64_t rows, int64_t cols, rng::Stream& s) {
  bool transpose = rows < cols; // orthonormalise the longer side's vectors
  int64_t n = transpose ? cols : rows, k = transpose ? rows : cols;
  // k vectors of length n
  std::vector<double> q(static_cast<size_t>(n * k));
  for (auto& v : q) v = s.normal();
  for (int64_t j = 0; j < k; ++j) {
    double* vj = &q[size_t(j * n)];
    for (int64_t i = 0; i < j; ++i) {
      const double* vi = &q[size_t(i * n)];
      double d = 0;
      for (int64_t t = 0; t < n; ++t) d += vi[t] * vj[t];
      for (int64_t t = 0; t < n; ++t) vj[t] -= d * vi[t];
    }
    double norm = 0;
    for (int64_t t = 0; t < n; ++t) norm += vj[t] * vj[t];
    norm = std::sqrt(norm);
    if (norm < 1e-12) throw std::runtime_error("orthogonal initializer: degenerate draw");
    for (int64_t t = 0; t < n; ++t) vj[t] /= norm;
  }
  std::vector<double> m(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      m[size_t(r * cols + c)] = transpose ? q[size_t(r * n + c)] : q[size_t(c * n + r)];
  return m;
}

} // namespace

Tensor Initializer::make(const Shape& shape, DType dtype, uint64_t seed,
                         const std::string& name) const {
  Tensor t(shape, dtype);
  rng::Stream s{seed, rng::hash_name(name)};
  const int64_t n = t.size();
  switch (kind) {
  case Kind::zeros: break;
  case Kind::ones:
    for (int64_t i = 0; i < n; ++i) t.set(i, 1.0);
    break;
  case Kind::constant:
    for (int64_t i = 0; i < n; ++i) t.set(i, a);
    break;
  case Kind::glorot_uniform: {
    auto [fi, fo] = fans(shape);
    double limit = std::sqrt(6.0 / (fi + fo));
    for (int64_t i = 0; i < n; ++i) t.set(i, (2 * s.uniform() - 1) * limit);
    break;
  }
  case Kind::normal:
    for (int64_t i = 0; i < n; ++i) t.set(i, a + b * s.normal());
    break;
  case Kind::uniform:
    for (int64_t i = 0; i < n; ++i) t.set(i, a + (b - a) * s.uniform());
    break;
  case Kind::unit_forget_bias: {
    if (shape.size() != 1 || shape[0] % 4 != 0)
      throw std::invalid_argument(fmt::format(
          "unit_forget_bias for '{}' needs a (4 * units,) bias, got shape {}", name, to_string(shape)));
    for (int64_t i = shape[0] / 4; i < shape[0] / 2; ++i) t.set(i, 1.0);
    break;
  }
  case Kind::tensor:
    if (!value || value->shape() != shape)
      throw std::invalid_argument(fmt::format("initial value of '{}' is {}, the parameter is {}", name,
                                              value ? to_string(value->shape()) : "missing",
                                              to_string(shape)));
    return value->to(dtype);
  case Kind::orthogonal: {
    if (shape.size() < 2)
      throw std::invalid_argument(fmt::format(
          "orthogonal initializer for '{}' needs rank >= 2, got shape {}", name, to_string(shape)));
    int64_t cols = shape.back(), rows = n / cols;
    auto m = orthogonal_matrix(rows, cols, s);
    for (int64_t i = 0; i < n; ++i) t.set(i, a * m[size_t(i)]);
    break;
  }
  }
  return t;
}

Tensor& ParamStore::at(const std::string& name) {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw std::out_of_range("no parameter named '" + name + "'");
  return it->second;
}

const Tensor& ParamStore::at(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw std::out_of_range("no parameter named '" + name + "'");
  return it->second;
}

Tensor& ParamStore::ensure(const std::string& name, const Shape& shape, DType dtype,
                           const Initializer& init, uint64_t seed) {
  auto it = tensors_.find(name);
  if (it != tensors_.end()) {
    if (it->second.shape() != shape || it->second.dtype() != dtype)
      throw std::invalid_argument(fmt::format(
          "parameter '{}' is held as {} {} but the graph declares {} {}", name,
          to_string(it->second.dtype()), to_string(it->second.shape()), to_string(dtype),
          to_string(shape)));
    return it->second;
  }
  return tensors_[name] = init.make(shape, dtype, seed, name);
}

int64_t ParamStore::count() const {
  int64_t n = 0;
  for (auto& [k, v] : tensors_) n += v.size();
  return n;
}

} // namespace sg
