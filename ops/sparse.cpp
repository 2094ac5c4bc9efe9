// Row-sparse parameter updates: the update a dense optimizer op makes when the
// gradient is gather_grad(dy, indices, V) (an embedding table's gradient), at
// a cost proportional to the batch instead of the table. minimize() emits
// them (autodiff/optimizers.cpp) for a parameter whose gradient is such a
// node; the dense (V, d) gradient is then never built.
#include "ops/family.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>
#include <xsimd/xsimd.hpp>

namespace sg {

namespace detail {
namespace {

template <class K> using elem_t = std::remove_pointer_t<decltype(std::declval<K>().out)>;

// inputs (param (V, d...), accum (V, d...), dy (indices.shape + (d...)), indices[, iterations ()])
Shape sparse_rule(Shapes in, const Attrs& at) {
  if (in.size() != 4 && in.size() != 5)
    throw RuleError(fmt::format("sparse_apply_adagrad takes (param, accum, dy, indices[, iterations]), got {} "
                                "inputs", in.size()));
  if (in.size() == 5 && !in[4]->empty())
    throw RuleError(fmt::format("iterations must be a scalar (shape ()), got shape {}", to_string(*in[4])));
  if (in.size() == 4 && at.get<SparseAdaGradAttrs>().schedule.kind != ScheduleKind::constant)
    throw RuleError("sparse_apply_adagrad with a learning-rate schedule needs the iterations input");
  const Shape &p = *in[0], &a = *in[1], &dy = *in[2], &idx = *in[3];
  if (p.empty()) throw RuleError("sparse_apply_adagrad needs a param of rank >= 1 (rows first), got a scalar");
  if (a != p)
    throw RuleError(fmt::format("accum has shape {} but param has shape {}; they must match", to_string(a),
                                to_string(p)));
  Shape want = idx;
  want.insert(want.end(), p.begin() + 1, p.end());
  if (dy != want)
    throw RuleError(fmt::format("the rows' gradient dy has shape {}, expected {} (the indices' shape {} "
                                "then the param's row shape)",
                                to_string(dy), to_string(want), to_string(idx)));
  if (numel(idx) >= (int64_t(1) << 32) || p[0] >= (int64_t(1) << 32))
    throw RuleError("sparse_apply_adagrad: at most 2^32 indices and rows");
  const std::vector<int64_t>& parts = at.get<SparseAdaGradAttrs>().parts;
  if (!parts.empty()) {
    int64_t total = 0;
    for (int64_t part : parts) {
      if (part < 0) throw RuleError(fmt::format("sparse_apply_adagrad: a part of {} indices", part));
      total += part;
    }
    if (total != numel(idx))
      throw RuleError(fmt::format("sparse_apply_adagrad: the parts ({} indices in all) do not cover the {} "
                                  "indices", total, numel(idx)));
  }
  return Shape{};
}

// The sort keys (8 bytes per index) and two rows (the gradient, a part's
// sum): 2n + 2 row elements of T (T is 4 or 8 bytes), enough for either.
int64_t sparse_scratch(Shapes in, const Shape&, const Attrs&) {
  const Shape& p = *in[0];
  return 2 * numel(*in[3]) + 2 * (numel(p) / p[0]);
}

// ~log2(n) comparisons per index for the sort, then ~6 flops per gradient element.
double sparse_cost(Shapes in, const Shape&, const Attrs&) {
  const double n = double(numel(*in[3])), row = double(numel(*in[0]) / (*in[0])[0]);
  return n * (std::log2(n + 1) * 2 + 6 * row);
}

template <class T> int64_t row_of(T v, int64_t bound) {
  if (!(v >= 0 && v < T(bound)) || v != std::floor(v))
    throw std::out_of_range(fmt::format("sparse_apply_adagrad: index {} is out of range [0, {}){}",
                                        double(v), bound, v == std::floor(v) ? "" : " (not an integer)"));
  return static_cast<int64_t>(v);
}

// apply_adagrad's expression, a += g²; p -= (lr g) / (sqrt(a) + epsilon), on
// one row, SIMD: sqrt and division are correctly rounded in both forms, so
// the values are those of the scalar loop (which std::sqrt's errno keeps
// from vectorising).
template <class T> void adagrad_row(T* p, T* a, const T* g, int64_t row, T lr, T eps) {
  using B = xsimd::batch<T>;
  constexpr auto L = int64_t(B::size);
  const B vlr(lr), veps(eps);
  int64_t j = 0;
  for (; j + L <= row; j += L) {
    const B gj = B::load_unaligned(g + j);
    const B aj = B::load_unaligned(a + j) + gj * gj;
    aj.store_unaligned(a + j);
    const B pj = B::load_unaligned(p + j) - (vlr * gj) / (xsimd::sqrt(aj) + veps);
    pj.store_unaligned(p + j);
  }
  for (; j < row; ++j) {
    const T gj = g[j];
    a[j] += gj * gj;
    p[j] -= lr * gj / (std::sqrt(a[j]) + eps);
  }
}

// The positions are sorted by (row, position). The indices may come in parts
// (SparseAdaGradAttrs::parts: their sizes, in order; empty = one part), the concatenated
// indices of gather_grads that add_n sums: then the dense gradient of a row
// is add_n's y = X_0 + X_1 + ..., each X_k summed from zero in position order
// (gather_grad). The same sums in the same order here, over the parts that
// name the row (a part that does not adds +0: nothing), so the step equals
// the dense one bit for bit. A row that no index names has a zero gradient
// in the dense update: a += 0, p -= 0, unchanged; here it is not visited.
template <class T> void sparse_adagrad_kernel(const KernelArgs<T>& k) {
  const Shape& ps = k.s(0);
  const int64_t rows = ps[0], row = numel(ps) / rows, n = k.size(3);
  const SparseAdaGradAttrs& at = attr<SparseAdaGradAttrs>(k);
  const std::vector<int64_t>& parts = at.parts;
  T* p = k.in[0];
  T* a = k.in[1];
  const T* dy = k.x(2);
  const T* idx = k.x(3);
  auto* keys = reinterpret_cast<uint64_t*>(k.scratch);
  T* g = reinterpret_cast<T*>(reinterpret_cast<unsigned char*>(k.scratch) + size_t(n) * sizeof(uint64_t));
  T* h = g + row;
  for (int64_t i = 0; i < n; ++i) keys[i] = (uint64_t(row_of(idx[i], rows)) << 32) | uint64_t(i);
  std::sort(keys, keys + n);
  const T lr = static_cast<T>(k.n_in > 4 ? at.schedule.at(at.lr, double(k.x(4)[0])) : at.lr);
  const T eps = static_cast<T>(at.epsilon);
  for (int64_t s = 0; s < n;) {
    const uint64_t v = keys[s] >> 32;
    if (parts.size() <= 1) { // one part: g = 0 + dy[k1] + dy[k2] + ...
      std::fill(g, g + row, T(0));
      for (; s < n && (keys[s] >> 32) == v; ++s) {
        const T* src = dy + int64_t(keys[s] & 0xffffffffu) * row;
        for (int64_t j = 0; j < row; ++j) g[j] += src[j];
      }
    } else { // g = 0 + X_k + X_k' + ... over the parts naming v, in order
      std::fill(g, g + row, T(0));
      size_t part = 0;
      int64_t end = parts[0]; // one past the current part's last position
      bool open = false;      // h holds a sum of the current part
      for (; s < n && (keys[s] >> 32) == v; ++s) {
        const auto pos = int64_t(keys[s] & 0xffffffffu);
        if (pos >= end) {
          if (open)
            for (int64_t j = 0; j < row; ++j) g[j] += h[j];
          open = false;
          while (pos >= end) end += parts[++part];
        }
        if (!open) {
          std::fill(h, h + row, T(0));
          open = true;
        }
        const T* src = dy + pos * row;
        for (int64_t j = 0; j < row; ++j) h[j] += src[j];
      }
      for (int64_t j = 0; j < row; ++j) g[j] += h[j];
    }
    adagrad_row(p + int64_t(v) * row, a + int64_t(v) * row, g, row, lr, eps);
  }
}

} // namespace

void define_sparse(OpTable& t) {
  // For the rows v named in indices: g_v = Σ_{k: indices[k] = v} dy[k] (in k
  // order), a_v += g_v², p_v -= lr g_v / (sqrt(a_v) + epsilon); other rows
  // untouched. = apply_adagrad(param, accum, gather_grad(dy, indices, V)),
  // or with parts (their sizes) = apply_adagrad(param, accum,
  // add_n(gather_grad(dy_0, indices_0), gather_grad(dy_1, indices_1), ...))
  // for dy, indices the parts concatenated. lr, epsilon, parts, schedule:
  // SparseAdaGradAttrs; with a schedule, lr is schedule.at(lr, iterations),
  // iterations a fifth input (only read), as apply_adagrad's.
  t[size_t(Op::SparseApplyAdaGrad)] = {.name = "sparse_apply_adagrad", .arity = -1, .shape = sparse_rule,
    .kernel = kernels([](const auto& k) { sparse_adagrad_kernel<elem_t<decltype(k)>>(k); }),
    .no_grad = "parameter update", .mutates = 2, .scratch = sparse_scratch, .cost = sparse_cost};
}

} // namespace detail

Value sparse_apply_adagrad(Value param, Value accum, Value dy, Value indices, double lr, double epsilon,
                           std::vector<int64_t> parts, Loc l) {
  return detail::make(Op::SparseApplyAdaGrad, {param, accum, dy, indices},
                      SparseAdaGradAttrs{.lr = lr, .epsilon = epsilon, .parts = std::move(parts)}, l);
}

Value sparse_apply_adagrad(Value param, Value accum, Value dy, Value indices, Value iterations, double lr,
                           double epsilon, LRSchedule schedule, std::vector<int64_t> parts, Loc l) {
  return detail::make(
      Op::SparseApplyAdaGrad, {param, accum, dy, indices, iterations},
      SparseAdaGradAttrs{.lr = lr, .epsilon = epsilon, .parts = std::move(parts), .schedule = schedule}, l);
}

} // namespace sg
