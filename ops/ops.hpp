// The builder API of every primitive op. Each function adds one node (shape
// inferred and checked on the spot) and returns its Value; each is defined
// next to its kernel and gradient in ops/<family>.cpp.
//
// Broadcasting is explicit and checked: binary elementwise ops accept two
// operands of the same rank whose dims are equal or 1 (numpy rules without
// rank promotion), or a rank-0 scalar; anything else is a ShapeError. The
// gradient of a broadcast operand is summed back to its shape by a SumTo node.
#pragma once

#include "graph/graph.hpp"

#include <source_location>
#include <vector>

namespace sg {

using Loc = std::source_location;

// ---- elementwise (ops/elementwise.cpp)
Value neg(Value x, Loc l = Loc::current());
Value exp(Value x, Loc l = Loc::current());
Value log(Value x, Loc l = Loc::current());
Value tanh(Value x, Loc l = Loc::current());
Value sigmoid(Value x, Loc l = Loc::current());
Value relu(Value x, Loc l = Loc::current());
Value sqrt(Value x, Loc l = Loc::current());
Value square(Value x, Loc l = Loc::current());
Value pow(Value x, double p, Loc l = Loc::current());
Value clip(Value x, double lo, double hi, Loc l = Loc::current());
Value add(Value a, Value b, Loc l = Loc::current());
Value sub(Value a, Value b, Loc l = Loc::current());
Value mul(Value a, Value b, Loc l = Loc::current());
Value div(Value a, Value b, Loc l = Loc::current());
Value maximum(Value a, Value b, Loc l = Loc::current());
Value minimum(Value a, Value b, Loc l = Loc::current());
Value pow(Value a, Value b, Loc l = Loc::current()); // a > 0 where b's gradient is needed
Value add_n(const std::vector<Value>& xs, Loc l = Loc::current());
Value step(Value x, Loc l = Loc::current());                      // x > 0
Value in_range(Value x, double lo, double hi, Loc l = Loc::current()); // lo <= x <= hi
Value greater_equal(Value a, Value b, Loc l = Loc::current());
// The VJPs of tanh and sigmoid from their output y, one node each (one pass
// instead of three): dy (1 - y^2) and dy y (1 - y), y and dy of one shape.
Value tanh_grad(Value y, Value dy, Loc l = Loc::current());
Value sigmoid_grad(Value y, Value dy, Loc l = Loc::current());

Value operator-(Value x);
Value operator+(Value a, Value b);
Value operator-(Value a, Value b);
Value operator*(Value a, Value b);
Value operator/(Value a, Value b);
Value operator+(Value a, double b);
Value operator-(Value a, double b);
Value operator*(Value a, double b);
Value operator/(Value a, double b);
Value operator+(double a, Value b);
Value operator-(double a, Value b);
Value operator*(double a, Value b);
Value operator/(double a, Value b);

// The broadcast shape of a and b under the rule above; throws RuleError.
Shape broadcast_shapes(const Shape& a, const Shape& b);

// ---- linear algebra (ops/linalg.cpp)
// (m, k) x (k, n) -> (m, n); ta / tb use a or b transposed (no copy: BLAS flags).
Value matmul(Value a, Value b, bool ta = false, bool tb = false, Loc l = Loc::current());
// (B, m, k) x (B, k, n) -> (B, m, n), one product per batch entry.
Value batch_matmul(Value a, Value b, bool ta = false, bool tb = false, Loc l = Loc::current());

// ---- shape (ops/shape.cpp)
Value transpose(Value x, Loc l = Loc::current()); // rank 2: swap axes
Value permute(Value x, std::vector<int64_t> perm, Loc l = Loc::current());
Value reshape(Value x, Shape shape, Loc l = Loc::current()); // one -1 allowed
Value broadcast_to(Value x, Shape shape, Loc l = Loc::current());
Value concat(const std::vector<Value>& xs, int64_t axis, Loc l = Loc::current());
// x[..., begin:end, ...] along axis
Value slice(Value x, int64_t axis, int64_t begin, int64_t end, Loc l = Loc::current());
// x[..., i, ...] along axis, the axis removed (slice + reshape)
Value take(Value x, int64_t axis, int64_t i, Loc l = Loc::current());
std::vector<Value> split(Value x, int64_t axis, const std::vector<int64_t>& sizes,
                         Loc l = Loc::current());
Value stack(const std::vector<Value>& xs, int64_t axis, Loc l = Loc::current());
// numpy.repeat: each entry along axis repeated n times
Value repeat(Value x, int64_t n, int64_t axis, Loc l = Loc::current());
// rows of table (V, d...) picked by integer-valued indices (any shape) -> indices.shape + (d...)
Value gather(Value table, Value indices, Loc l = Loc::current());
// one-hot of integer-valued indices, the new axis of size depth at `axis`
// (-1: last, as Keras; 0: first, as the course's column vectors)
Value one_hot(Value indices, int64_t depth, int64_t axis = -1, Loc l = Loc::current());

// ---- reductions (ops/reduce.cpp)
Value sum(Value x, Loc l = Loc::current()); // all axes -> scalar
Value sum(Value x, std::vector<int64_t> axes, bool keepdims = false, Loc l = Loc::current());
Value mean(Value x, Loc l = Loc::current());
Value mean(Value x, std::vector<int64_t> axes, bool keepdims = false, Loc l = Loc::current());
Value max(Value x, std::vector<int64_t> axes, bool keepdims = false, Loc l = Loc::current());
// sums x over the axes where `shape` has 1 (same rank) or all axes (shape {})
Value sum_to(Value x, Shape shape, Loc l = Loc::current());
Value argmax(Value x, int64_t axis, Loc l = Loc::current()); // indices as values, axis removed

// ---- neural-network ops (ops/nn.cpp)
Value softmax(Value x, int64_t axis = -1, Loc l = Loc::current());
Value log_softmax(Value x, int64_t axis = -1, Loc l = Loc::current());
// -sum(labels * log_softmax(logits)) along axis: the axis removed (fused, stable)
Value softmax_cross_entropy(Value logits, Value labels, int64_t axis = -1, Loc l = Loc::current());
// -z log(sigmoid(x)) - (1 - z) log(1 - sigmoid(x)) per element, computed as
// max(x, 0) - x z + log1p(exp(-|x|)) (finite for any x): Keras'
// binary_crossentropy(from_logits=True) before its mean. Logits and labels
// of one shape.
Value sigmoid_cross_entropy(Value logits, Value labels, Loc l = Loc::current());
// inverted dropout: x * mask / (1 - rate), a new mask every run from (seed,
// node, run); in a data-parallel shard's graph (Graph::shard_rows), a
// batch-major mask is its rows of the global batch's mask
Value dropout(Value x, double rate, uint64_t seed = 0, Loc l = Loc::current());
Value dropout_mask(Graph& g, Shape shape, double rate, uint64_t seed = 0, Loc l = Loc::current());
// one index drawn from each distribution along axis (the axis removed)
Value sample_categorical(Value probs, int64_t axis, uint64_t seed = 0, Loc l = Loc::current());
// Keras Conv1D: x (batch, steps, in), w (kernel, in, out) -> (batch, steps', out);
// padding "valid" or "same"
Value conv1d(Value x, Value w, int64_t stride = 1, const std::string& padding = "valid",
             Loc l = Loc::current());
// One step of Keras' GRU (reset_after, sigmoid gates, tanh candidate) from
// zx = x W + b_in (batch, 3u; gates z, r, h), hu = h U (batch, 3u), the state
// h (batch, u) and the recurrent bias b (1, 3u): with rec = hu + b,
// z = sigmoid(zx_z + rec_z), r = sigmoid(zx_r + rec_r),
// h~ = tanh(zx_h + r rec_h), h' = z h + (1 - z) h~. Two nodes instead of
// some forty: gru_gates, (batch, 4u) [z | r | h~ | rec_h], then gru_blend;
// the backward reads the gates (no activation computed again). The forward
// gives the bits of those ops composed (the same operations in the same order).
Value gru_cell(Value zx, Value hu, Value h, Value b, Loc l = Loc::current());

// One step of a LSTM (Keras' gate order i, f, c~, o; sigmoid gates, tanh
// candidate and output) from z = zx + hu (batch, 4u: zx = x W + b, hu =
// h U; hu none at the first step) and the cell state c (batch, u; none:
// zeros): c' = f c + i c~, h' = o tanh(c'). Three nodes instead of
// fourteen: lstm_gates (4, batch, u) [i | f | c~ | o], then lstm_cell_state
// and lstm_cell_output; the backward reads the gates (no activation but
// tanh(c') computed again). The forward gives the bits of those ops
// composed (the same operations in the same order).
struct LstmCell {
  Value h, c;
};
LstmCell lstm_cell(Value zx, Value hu, Value c, Loc l = Loc::current());

// ---- parameter updates (ops/update.cpp): update nodes mutate their leading
// inputs in place, after every other reader of them in the same run.
// Learning-rate schedules (LRSchedule, ops/attrs.hpp) read the optimizer's
// step count, `iterations` (a scalar the optimizer increments).
Value apply_sgd(Value param, Value grad, double lr, Loc l = Loc::current());
Value apply_sgd(Value param, Value grad, Value iterations, double lr, LRSchedule schedule,
                Loc l = Loc::current());
// Keras Adam, lr on a schedule (Keras' legacy decay: inverse_time, steps 1)
Value apply_adam(Value param, Value m, Value v, Value iterations, Value grad, double lr,
                 double beta1, double beta2, double epsilon, LRSchedule schedule = {},
                 Loc l = Loc::current());
Value apply_adagrad(Value param, Value accum, Value grad, double lr, double epsilon,
                    Loc l = Loc::current());
// ... with lr on a schedule of the step count `iterations` (a scalar, only read)
Value apply_adagrad(Value param, Value accum, Value grad, Value iterations, double lr, double epsilon,
                    LRSchedule schedule, Loc l = Loc::current());
// apply_adagrad(param, accum, gather_grad(dy, indices, rows), ...) touching only
// the rows named in indices (duplicates summed first, in order): bitwise the
// dense update, at a cost proportional to numel(dy) (ops/sparse.cpp). With
// `parts` (sizes): dy and indices are the concatenation of several gathers'
// (dy_k, indices_k), and the gradient is add_n of their gather_grads.
Value sparse_apply_adagrad(Value param, Value accum, Value dy, Value indices, double lr, double epsilon,
                           std::vector<int64_t> parts = {}, Loc l = Loc::current());
Value sparse_apply_adagrad(Value param, Value accum, Value dy, Value indices, Value iterations, double lr,
                           double epsilon, LRSchedule schedule, std::vector<int64_t> parts = {},
                           Loc l = Loc::current());
// var = momentum * var + (1 - momentum) * value
Value assign_moving_average(Value var, Value value, double momentum, Loc l = Loc::current());
Value assign_add(Value var, Value value, Loc l = Loc::current());
// The numeric watchdog's guard (fit::Network puts one in every training
// plan, each update ordered after it): its kernel throws NonFiniteInput if an
// element of one of `xs` (the loss, the gradients the updates read) is NaN
// or inf, so that the step stops before any parameter changes. A scalar 0 otherwise.
Value check_finite(const std::vector<Value>& xs, Loc l = Loc::current());

// ---- data-parallel collectives (ops/collective.cpp): sums over the ranks
// of dist::Group::world() (graph/dist.hpp); one process: the values as
// they are, no communication.
// x summed over the ranks (every rank the same bits); its VJP is the sum
// of the ranks' gradients. A synchronized BatchNormalization's statistics.
Value allreduce_sum(Value x, Loc l = Loc::current());
// `grads` summed over the ranks, returned in `grads`' order (an invalid
// Value stays invalid). The gradients go in buckets of about `bucket_bytes`
// (float32), in the order the backward pass computes them (node order): one
// reduce_start node per bucket hands it to the Group's reduction thread,
// and the backward pass goes on; the reduce_wait nodes that read each
// gradient back run after the last bucket was handed over.
std::vector<Value> allreduce_gradients(const std::vector<Value>& grads, int64_t bucket_bytes,
                                       Loc l = Loc::current());

} // namespace sg
