#include "graph/tensor.hpp"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>

namespace sg {

int64_t checked_numel(const Shape& s) noexcept {
  int64_t n = 1;
  bool empty = false;
  for (auto d : s) {
    if (d < 0 || d > kMaxElements) return -1;
    if (d == 0) empty = true;
    else if (n > kMaxElements / d) return -1;
    else n *= d;
  }
  return empty ? 0 : n;
}

std::string to_string(const Shape& s) {
  std::string r = "(";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) r += ", ";
    r += std::to_string(s[i]);
  }
  if (s.size() == 1) r += ",";
  return r + ")";
}

const char* to_string(DType d) { return d == DType::f32 ? "float32" : "float64"; }

OutOfMemory::OutOfMemory(size_t bytes)
    : what_(fmt::format("out of memory: cannot allocate {} bytes ({:.2f} GiB)", bytes, double(bytes) / double(1 << 30))) {}

void AlignedBytes::Free::operator()(std::byte* p) const noexcept { std::free(p); }

AlignedBytes AlignedBytes::allocate(size_t bytes) {
  AlignedBytes b;
  size_t rounded = (bytes + 63) / 64 * 64;
  if (rounded == 0) rounded = 64;
  auto* p = static_cast<std::byte*>(std::aligned_alloc(64, rounded));
  if (!p) throw OutOfMemory(bytes);
  b.ptr.reset(p);
  b.size = bytes;
  return b;
}

Tensor::Tensor(Shape shape, DType dtype) : shape_(std::move(shape)), dtype_(dtype) {
  for (auto d : shape_)
    if (d < 0) throw std::invalid_argument("negative dimension in shape " + sg::to_string(shape_));
  if (checked_numel(shape_) < 0)
    throw std::length_error(fmt::format("a tensor of shape {} would have more than 2^40 elements",
                                        sg::to_string(shape_)));
  bytes_ = AlignedBytes::allocate(nbytes());
  std::memset(bytes_.ptr.get(), 0, nbytes());
}

Tensor Tensor::from(Shape shape, const std::vector<double>& values, DType dtype) {
  Tensor t(std::move(shape), dtype);
  if (static_cast<int64_t>(values.size()) != t.size())
    throw std::invalid_argument(fmt::format("Tensor::from: {} values for shape {} ({} elements)",
                                            values.size(), sg::to_string(t.shape_), t.size()));
  for (int64_t i = 0; i < t.size(); ++i) t.set(i, values[static_cast<size_t>(i)]);
  return t;
}

Tensor::Tensor(const Tensor& o) : shape_(o.shape_), dtype_(o.dtype_) {
  if (!o.empty()) {
    bytes_ = AlignedBytes::allocate(o.nbytes());
    std::memcpy(bytes_.ptr.get(), o.bytes_.ptr.get(), o.nbytes());
  }
}

Tensor& Tensor::operator=(const Tensor& o) {
  if (this != &o) {
    Tensor t(o);
    *this = std::move(t);
  }
  return *this;
}

double Tensor::at(int64_t i) const {
  return dtype_ == DType::f32 ? static_cast<double>(data<float>()[i]) : data<double>()[i];
}

void Tensor::set(int64_t i, double v) {
  if (dtype_ == DType::f32)
    data<float>()[i] = static_cast<float>(v);
  else
    data<double>()[i] = v;
}

int64_t Tensor::offset(std::initializer_list<int64_t> idx) const {
  if (idx.size() != shape_.size())
    throw std::invalid_argument(fmt::format("index of rank {} into tensor of shape {}", idx.size(),
                                            sg::to_string(shape_)));
  int64_t off = 0;
  size_t k = 0;
  for (auto i : idx) {
    if (i < 0 || i >= shape_[k])
      throw std::out_of_range(fmt::format("index {} out of range for axis {} of shape {}", i, k,
                                          sg::to_string(shape_)));
    off = off * shape_[k] + i;
    ++k;
  }
  return off;
}

std::vector<double> Tensor::values() const {
  std::vector<double> v(static_cast<size_t>(size()));
  for (int64_t i = 0; i < size(); ++i) v[static_cast<size_t>(i)] = at(i);
  return v;
}

Tensor Tensor::to(DType d) const {
  if (d == dtype_) return *this;
  Tensor t(shape_, d);
  for (int64_t i = 0; i < size(); ++i) t.set(i, at(i));
  return t;
}

Tensor Tensor::reshaped(Shape s) const {
  if (numel(s) != size())
    throw std::invalid_argument(fmt::format("cannot reshape {} to {}", sg::to_string(shape_),
                                            sg::to_string(s)));
  Tensor t(*this);
  t.shape_ = std::move(s);
  return t;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape())
    throw std::invalid_argument("max_abs_diff: shapes " + to_string(a.shape()) + " and " +
                                to_string(b.shape()));
  double m = 0;
  for (int64_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a.at(i) - b.at(i)));
  return m;
}

} // namespace sg
