// Host tensors: a shape, an element type (float32 or float64) and 64-byte
// aligned storage. This is what goes in and out of a compiled plan, what
// parameter stores and checkpoints hold, and what .npy files map to.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace sg {

using Shape = std::vector<int64_t>;

// Number of elements of a shape (1 for a scalar, shape {}). For shapes that
// passed checked_numel (every tensor's, every graph node's). Inline: every
// kernel asks for its output's size.
inline int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

// The most elements a tensor may have: 2^40 (4 TiB of float32). Shapes read
// from files and shapes inferred in a graph are held to it, so that every
// element count and byte size computed from them fits int64 with room.
inline constexpr int64_t kMaxElements = int64_t(1) << 40;
// The element count of s, or -1 when a dimension is negative or s would hold
// more than kMaxElements. A dimension above the bound counts even beside a 0
// (the shape (0, 2^62) is empty, but a product with it would not be).
int64_t checked_numel(const Shape& s) noexcept;
// "(3, 4, 5)"
std::string to_string(const Shape& s);

enum class DType : uint8_t { f32, f64 };
const char* to_string(DType d);
inline size_t dtype_size(DType d) { return d == DType::f32 ? 4 : 8; }
template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::f32; }
template <> constexpr DType dtype_of<double>() { return DType::f64; }

// A failed allocation, with the size asked for in its message.
class OutOfMemory : public std::bad_alloc {
public:
  explicit OutOfMemory(size_t bytes);
  const char* what() const noexcept override { return what_.c_str(); }

private:
  std::string what_;
};

// 64-byte aligned, uninitialised byte storage.
struct AlignedBytes {
  struct Free {
    void operator()(std::byte* p) const noexcept;
  };
  std::unique_ptr<std::byte[], Free> ptr;
  size_t size = 0;
  static AlignedBytes allocate(size_t bytes);
};

class Tensor {
public:
  Tensor() = default;
  // Zero-filled tensor of the given shape.
  explicit Tensor(Shape shape, DType dtype = DType::f32);
  // Tensor holding `values` (row-major), converted to `dtype`.
  static Tensor from(Shape shape, const std::vector<double>& values, DType dtype = DType::f32);
  static Tensor scalar(double v, DType dtype = DType::f32) { return from({}, {v}, dtype); }

  Tensor(const Tensor& o);
  Tensor& operator=(const Tensor& o);
  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;

  const Shape& shape() const { return shape_; }
  DType dtype() const { return dtype_; }
  int64_t size() const { return numel(shape_); }
  int64_t dim(int i) const { return shape_.at(static_cast<size_t>(i)); }
  int rank() const { return static_cast<int>(shape_.size()); }
  size_t nbytes() const { return static_cast<size_t>(size()) * dtype_size(dtype_); }
  bool empty() const { return !bytes_.ptr; }

  // Typed access; throws if T does not match dtype().
  template <class T> T* data() {
    check<T>();
    return reinterpret_cast<T*>(bytes_.ptr.get());
  }
  template <class T> const T* data() const {
    check<T>();
    return reinterpret_cast<const T*>(bytes_.ptr.get());
  }
  void* raw() { return bytes_.ptr.get(); }
  const void* raw() const { return bytes_.ptr.get(); }

  // Element access by flat (row-major) index, in double whatever the dtype.
  double at(int64_t flat) const;
  void set(int64_t flat, double v);
  // Element access by multi-index.
  double operator()(std::initializer_list<int64_t> idx) const { return at(offset(idx)); }
  int64_t offset(std::initializer_list<int64_t> idx) const;

  std::vector<double> values() const;
  Tensor to(DType d) const;
  // Same data, new shape with the same element count.
  Tensor reshaped(Shape s) const;

private:
  template <class T> void check() const {
    if (dtype_of<T>() != dtype_)
      throw std::logic_error(std::string("tensor holds ") + to_string(dtype_) + ", accessed as " +
                             to_string(dtype_of<T>()));
  }
  Shape shape_;
  DType dtype_ = DType::f32;
  AlignedBytes bytes_;
};

// Largest |a - b| over elements; shapes must match.
double max_abs_diff(const Tensor& a, const Tensor& b);

} // namespace sg
