// Linear algebra: matrix products through BLAS (ops/blas.hpp). Transposed
// operands are BLAS flags (MatMulAttrs: transpose_a, transpose_b), never
// copies; the gradients use the flags too.
#include "ops/blas.hpp"
#include "ops/family.hpp"

namespace sg {

namespace detail {
namespace {

// The (m, k) x (k, n) -> (m, n) dims of op(a) * op(b), checked.
struct Dims {
  int64_t m, n, k;
};

std::string operand(const char* name, const Shape& s, bool t) {
  return fmt::format("{} {}{}", name, to_string(s), t ? " (transposed)" : "");
}

Dims product_dims(const Shape& a, const Shape& b, bool ta, bool tb, size_t batch) {
  const size_t r = batch + 2;
  const char* what = batch ? "batch_matmul" : "matmul";
  if (a.size() != r || b.size() != r)
    throw RuleError(fmt::format("{} needs rank-{} operands, got {} and {}", what, r,
                                operand("a", a, ta), operand("b", b, tb)));
  if (batch && a[0] != b[0])
    throw RuleError(fmt::format("batch_matmul: batch sizes differ: {} vs {}", operand("a", a, ta),
                                operand("b", b, tb)));
  const int64_t a0 = a[batch], a1 = a[batch + 1], b0 = b[batch], b1 = b[batch + 1];
  Dims d{ta ? a1 : a0, tb ? b0 : b1, ta ? a0 : a1};
  const int64_t kb = tb ? b1 : b0;
  if (d.k != kb)
    throw RuleError(fmt::format("{}: inner dims differ: {} x {}: {} columns vs {} rows", what,
                                operand("a", a, ta), operand("b", b, tb), d.k, kb));
  return d;
}

Shape matmul_rule(Shapes in, const Attrs& a) {
  const MatMulAttrs& at = a.get<MatMulAttrs>();
  Dims d = product_dims(*in[0], *in[1], at.transpose_a, at.transpose_b, 0);
  return {d.m, d.n};
}

Shape batch_matmul_rule(Shapes in, const Attrs& a) {
  const MatMulAttrs& at = a.get<MatMulAttrs>();
  Dims d = product_dims(*in[0], *in[1], at.transpose_a, at.transpose_b, 1);
  return {(*in[0])[0], d.m, d.n};
}

// 2 m n k flops at ~50 GFLOP/s
double product_cost(Shapes in, const Shape& out, const Attrs& at) {
  const Shape& a = *in[0];
  const int64_t k = at.get<MatMulAttrs>().transpose_a ? a[a.size() - 2] : a[a.size() - 1];
  return 2.0 * double(numel(out)) * double(k) * 0.02;
}

// C_b = op(A_b) op(B_b) for each of `batch` entries (batch = 1: plain matmul).
template <class T> void products(const KernelArgs<T>& k, int64_t batch) {
  const MatMulAttrs& at = attr<MatMulAttrs>(k);
  const Shape& a = k.s(0);
  const Shape& b = k.s(1);
  const size_t r = a.size();
  const int64_t lda = a[r - 1], ldb = b[r - 1];
  const int64_t k_dim = at.transpose_a ? a[r - 2] : a[r - 1];
  const Shape& y = *k.out_shape;
  const int64_t m = y[y.size() - 2], n = y[y.size() - 1];
  const int64_t sa = a[r - 2] * a[r - 1], sb = b[r - 2] * b[r - 1], sy = m * n;
  for (int64_t i = 0; i < batch; ++i)
    blas::gemm(at.transpose_a, at.transpose_b, m, n, k_dim, k.x(0) + i * sa, lda, k.x(1) + i * sb, ldb,
               k.out + i * sy, n);
}

// The gradient of Y = op_a(A) op_b(B) w.r.t. A (i = 0) or B (i = 1), for
// each transpose combination, as products with flags (no transpose nodes):
//   Y = A B:     dA = dY Bᵀ      dB = Aᵀ dY
//   Y = A Bᵀ:    dA = dY B       dB = dYᵀ A
//   Y = Aᵀ B:    dA = B dYᵀ      dB = A dY
//   Y = Aᵀ Bᵀ:   dA = Bᵀ dYᵀ     dB = dYᵀ Aᵀ
//
// dA = dY Bᵀ with B a parameter that several products read (a recurrent
// kernel, once per time step) and few rows in dY reads one transposed copy
// of B, made once per run and shared by every step, in a plain product:
// OpenBLAS's "nt" kernels are 1.2-3.2x slower than "nn" there (8..64 rows:
// the per-step products of tools/bench's lstm-layer and trigger-word,
// measured at 1 thread), the same from ~256 rows on, and faster for one row
// (a matrix-vector product).
constexpr int64_t kCopyTransposeRows = 128;
constexpr size_t kCopyTransposeReaders = 4; // the copy's pass over B pays off

std::optional<Value> transposed_parameter(Value b) {
  Graph& g = b.graph();
  if (auto t = g.derived(b.id(), "transpose")) return Value(g, *t);
  size_t products = 0;
  for (NodeId r : g.consumers(b.id())) products += g.node(r).op == Op::MatMul;
  if (products < kCopyTransposeReaders) return std::nullopt;
  const Value t = transpose(b);
  g.set_derived(b.id(), "transpose", t.id());
  return t;
}

template <class Mul> Value product_vjp(const VjpCtx& c, int i, Mul mul, bool batched) {
  const MatMulAttrs at = c.attr<MatMulAttrs>();
  const bool ta = at.transpose_a, tb = at.transpose_b;
  const Value a = c.x(0), b = c.x(1), dy = c.dy;
  if (i == 0) {
    if (!ta && !tb && !batched && b.node().op == Op::Variable && dy.dim(0) >= 2 &&
        dy.dim(0) <= kCopyTransposeRows)
      if (const auto bt = transposed_parameter(b)) return mul(dy, *bt, false, false);
    if (!ta) return tb ? mul(dy, b, false, false) : mul(dy, b, false, true);
    return tb ? mul(b, dy, true, true) : mul(b, dy, false, true);
  }
  if (!tb) return ta ? mul(a, dy, false, false) : mul(a, dy, true, false);
  return ta ? mul(dy, a, true, true) : mul(dy, a, true, false);
}

} // namespace

void define_linalg(OpTable& t) {
  auto def = [&](Op op) -> OpDef& { return t[size_t(op)]; };

  // Y = op(A) op(B), op = transpose where MatMulAttrs::transpose_a / transpose_b
  def(Op::MatMul) = {.name = "matmul", .arity = 2, .shape = matmul_rule,
    .kernel = kernels([](const auto& k) { products(k, 1); }),
    .vjp = [](const VjpCtx& c, int i) {
      return product_vjp(c, i, [](Value x, Value y, bool tx, bool ty) { return matmul(x, y, tx, ty); }, false);
    },
    .cost = product_cost};

  // Y[b] = op(A[b]) op(B[b]) for every batch entry b
  def(Op::BatchMatMul) = {.name = "batch_matmul", .arity = 2, .shape = batch_matmul_rule,
    .kernel = kernels([](const auto& k) { products(k, k.s(0)[0]); }),
    .vjp = [](const VjpCtx& c, int i) {
      return product_vjp(c, i,
                         [](Value x, Value y, bool tx, bool ty) { return batch_matmul(x, y, tx, ty); }, true);
    },
    .cost = product_cost};
}

} // namespace detail

using detail::make;

Value matmul(Value a, Value b, bool ta, bool tb, Loc l) {
  return make(Op::MatMul, {a, b}, MatMulAttrs{.transpose_a = ta, .transpose_b = tb}, l);
}
Value batch_matmul(Value a, Value b, bool ta, bool tb, Loc l) {
  return make(Op::BatchMatMul, {a, b}, MatMulAttrs{.transpose_a = ta, .transpose_b = tb}, l);
}

} // namespace sg
