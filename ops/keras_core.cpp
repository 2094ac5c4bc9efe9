// Keras core layers: the Layer base (names, graph binding, parameters,
// errors, masks), Dense, Activation, Dropout, RepeatVector, Concatenate, Dot,
// TimeDistributed and Embedding (see ops/keras.hpp).
#include "graph/random.hpp"
#include "ops/attrs.hpp"
#include "ops/keras.hpp"

#include <fmt/format.h>
#include <optional>
#include <stdexcept>

namespace sg::layers {

// ---- masks

Value mask_of(const Value& v) {
  auto m = v.graph().mask_of(v.id());
  return m ? Value(v.graph(), *m) : Value();
}

Value with_mask(Value v, const Value& mask) {
  if (mask) v.graph().set_mask(v.id(), mask.id());
  return v;
}

// ---- Layer

Layer::Layer(const char* cls, const char* base, std::string name, bool trainable)
    : cls_(cls), base_(base), name_(std::move(name)), trainable_(trainable) {}

Graph& Layer::bind(const Value& x, Loc l) {
  if (!x.valid())
    throw std::invalid_argument(
        fmt::format("{} '{}' at {}: the input is an empty Value", cls_, name_, where(l)));
  Graph& g = x.graph();
  if (!graph_) {
    graph_ = &g;
    if (name_.empty()) name_ = g.layer_name(base_);
    if (path_.empty()) path_ = name_;
  } else if (graph_ != &g) {
    throw std::logic_error(fmt::format(
        "{} '{}' at {}: called on '{}' of another graph; a layer object belongs to the graph of "
        "its first call", cls_, name_, where(l), x.name()));
  }
  return g;
}

void Layer::bad_input(const Value& x, const std::string& need, Loc l) const {
  throw std::invalid_argument(fmt::format("{} '{}' at {}: input '{}' has shape {}; {}", cls_, name_,
                                          where(l), x.name(), to_string(x.shape()), need));
}

void Layer::no_mask(const Value& x, Loc l) const {
  if (mask_of(x))
    throw std::invalid_argument(fmt::format(
        "{} '{}' at {}: input '{}' carries a mask (from '{}'), and {} does not support masking "
        "(as in Keras)", cls_, name_, where(l), x.name(), mask_of(x).name(), cls_));
}

Value Layer::weight(const std::string& w, Shape shape, Initializer init, Loc l, bool trainable) const {
  Graph& g = *graph_;
  auto scope = g.scope_at(path_);
  std::optional<Graph::KindGuard> frozen;
  if (!trainable_ || !trainable) frozen.emplace(g, NodeKind::update);
  return shared_param(g, w, std::move(shape), init, l);
}

void Layer::adopt(const Layer& parent, const std::string& name) {
  graph_ = parent.graph_;
  name_ = name.empty() ? parent.name_ : name;
  path_ = name.empty() ? parent.path_ : parent.path_ + "/" + name;
}

// ---- Dense

Dense::Dense(int64_t units, DenseOptions o)
    : Layer("Dense", "dense", o.name, o.trainable), units_(units), o_(std::move(o)) {
  if (units <= 0) throw std::invalid_argument(fmt::format("Dense: units must be > 0, got {}", units));
}

// y = act(x kernel + bias)
Value Dense::operator()(Value x, Loc l) {
  Graph& g = bind(x, l);
  if (x.rank() < 2) bad_input(x, "need (batch, ..., features)", l);
  const int64_t in = x.dim(-1);
  if (!w_.kernel) {
    w_.name = name_;
    w_.kernel = weight("kernel", {in, units_}, Initializer::glorot_uniform(), l);
    if (o_.use_bias) {
      w_.bias = weight("bias", {units_}, Initializer::zeros(), l);
      auto scope = g.scope_at(path_);
      w_.bias_row = reshape(w_.bias, {1, units_}, l);
    }
  } else if (in != w_.kernel.dim(0)) {
    bad_input(x, fmt::format("the layer was built for {} input features", w_.kernel.dim(0)), l);
  }
  const Node& n = x.node();
  if (n.op == Op::Concat && n.inputs.size() > 1 && n.attrs.get<AxisAttrs>().axis == x.rank() - 1) {
    std::vector<Value> parts;
    for (NodeId id : n.inputs) parts.emplace_back(g, id);
    return with_mask(over_parts(parts, l), mask_of(x));
  }
  return with_mask(dense(x, w_, o_.activation, l), mask_of(x));
}

namespace {

// The (batch, f) rows a RepeatVector repeated into `v` (batch, n, f), or an invalid Value.
Value repeated_rows(const Value& v) {
  if (v.rank() != 3 || v.node().op != Op::BroadcastTo) return {};
  const Value src(v.graph(), v.node().inputs[0]); // RepeatVector: reshape (batch, f) -> (batch, 1, f)
  if (src.rank() != 3 || src.dim(1) != 1 || src.node().op != Op::Reshape) return {};
  const Value rows(v.graph(), src.node().inputs[0]);
  return rows.rank() == 2 ? rows : Value{};
}

} // namespace

Value Dense::over_parts(const std::vector<Value>& parts, Loc l) {
  Graph& g = parts[0].graph();
  auto scope = g.scope(w_.name);
  Shape out = parts[0].shape();
  out.back() = units_;
  Value z;
  int64_t row = 0;
  for (const Value& part : parts) {
    const int64_t f = part.dim(-1);
    const Value rows = repeated_rows(part);
    const Value src = rows ? rows : part;
    Value& y = products_[{src.id(), row}];
    if (!y) {
      const Value k = slice(w_.kernel, 0, row, row + f, l);
      y = src.rank() == 2 ? matmul(src, k, false, false, l) : matmul(reshape(src, {-1, f}, l), k, false, false, l);
    }
    Value term = y; // a repeated part's (batch, 1, units): the sum broadcasts it along the steps
    if (rows) term = reshape(y, {out[0], 1, units_}, l);
    else if (part.rank() > 2) term = reshape(y, out, l);
    z = z ? z + term : term;
    row += f;
  }
  if (z.shape() != out) z = broadcast_to(z, out, l); // every part repeated
  if (w_.bias_row) {
    Shape b(out.size(), 1);
    if (!b.empty()) b.back() = units_; // (never empty: the guard tells g++ -Warray-bounds so)
    z = z + (out.size() == 2 ? w_.bias_row : reshape(w_.bias, b, l));
  }
  return activation(z, o_.activation, l);
}

// ---- TimeDistributed

TimeDistributed::TimeDistributed(const Dense& layer, NameOption o)
    : Layer("TimeDistributed", "time_distributed", o.name, layer.trainable_),
      inner_(layer.units_, layer.o_) {}

// y[:, t] = dense(x[:, t]) for every step t, as one product
Value TimeDistributed::operator()(Value x, Loc l) {
  bind(x, l);
  if (x.rank() < 3) bad_input(x, "need (batch, steps, ..., features)", l);
  if (!inner_.graph_) inner_.adopt(*this, "");
  return inner_(x, l);
}

// ---- Activation

Activation::Activation(std::string activation, ActivationOptions o)
    : Layer("Activation", "activation", o.name), act_(std::move(activation)), o_(std::move(o)) {}

// y = act(x)
Value Activation::operator()(Value x, Loc l) {
  Graph& g = bind(x, l);
  if (act_ == "softmax" && (o_.axis >= x.rank() || o_.axis < -x.rank()))
    bad_input(x, fmt::format("softmax axis {} is out of range", o_.axis), l);
  auto scope = g.scope(name_);
  Value y = act_ == "softmax" ? softmax(x, o_.axis, l) : activation(x, act_, l);
  return with_mask(y, mask_of(x));
}

// ---- Dropout

Dropout::Dropout(double rate, DropoutOptions o)
    : Layer("Dropout", "dropout", o.name), rate_(rate), o_(std::move(o)) {
  if (!(rate >= 0 && rate < 1))
    throw std::invalid_argument(fmt::format("Dropout: rate {} is not in [0, 1)", rate));
}

// training: y = x * (u >= rate) / (1 - rate), u uniform per element and run; inference: y = x
Value Dropout::operator()(Value x, Loc l) {
  Graph& g = bind(x, l);
  if (!g.training || rate_ == 0) return x;
  auto scope = g.scope(name_);
  const uint64_t seed = o_.seed ? o_.seed : rng::derive(g.seed, path_);
  return with_mask(dropout(x, rate_, seed, l), mask_of(x));
}

// ---- RepeatVector

RepeatVector::RepeatVector(int64_t n, NameOption o) : Layer("RepeatVector", "repeat_vector", o.name), n_(n) {
  if (n <= 0) throw std::invalid_argument(fmt::format("RepeatVector: n must be > 0, got {}", n));
}

// y[b, i, :] = x[b, :] for i < n
Value RepeatVector::operator()(Value x, Loc l) {
  Graph& g = bind(x, l);
  if (x.rank() != 2) bad_input(x, "need (batch, features)", l);
  no_mask(x, l);
  auto scope = g.scope(name_);
  const int64_t B = x.dim(0), f = x.dim(1);
  return broadcast_to(reshape(x, {B, 1, f}, l), {B, n_, f}, l);
}

// ---- Concatenate

Concatenate::Concatenate(ConcatenateOptions o) : Layer("Concatenate", "concatenate", o.name), o_(std::move(o)) {}

// y = [x_1, ..., x_n] along axis
Value Concatenate::operator()(const std::vector<Value>& xs, Loc l) {
  if (xs.empty())
    throw std::invalid_argument(fmt::format("Concatenate '{}' at {}: no inputs", name_, where(l)));
  Graph& g = bind(xs[0], l);
  const int r = xs[0].rank();
  const int64_t ax = o_.axis < 0 ? o_.axis + r : o_.axis;
  if (ax < 0 || ax >= r) bad_input(xs[0], fmt::format("axis {} is out of range", o_.axis), l);
  std::vector<Value> masks;
  for (const Value& x : xs) {
    bind(x, l);
    Shape want = xs[0].shape(), got = x.shape();
    if (got.size() == want.size()) want[size_t(ax)] = got[size_t(ax)];
    if (got != want)
      bad_input(x, fmt::format("need {} but for axis {} (the shape of '{}')",
                               to_string(xs[0].shape()), o_.axis, xs[0].name()), l);
    if (Value m = mask_of(x)) masks.push_back(m);
  }
  if (!masks.empty() && ax != r - 1)
    bad_input(xs[0], "masked inputs are joined on the last axis only", l);
  auto scope = g.scope(name_);
  Value y = xs.size() == 1 ? xs[0] : concat(xs, ax, l);
  Value mask;
  for (const Value& m : masks) mask = mask ? mask * m : m;
  return with_mask(y, mask);
}

// ---- Dot

Dot::Dot(std::array<int64_t, 2> axes, DotOptions o) : Layer("Dot", "dot", o.name), axes_(axes), o_(std::move(o)) {}

namespace {
// x / sqrt(max(sum(x^2, axis), 1e-12)), Keras' l2_normalize
Value l2_normalize(Value x, int64_t axis, Loc l) {
  Value ss = sum(square(x), {axis}, true, l);
  return x / sqrt(maximum(ss, scalar(x.graph(), 1e-12), l), l);
}
} // namespace

// y[b] = sum over the axes of x[b] * y[b] (a batch of matrix products)
Value Dot::operator()(const std::vector<Value>& xs, Loc l) {
  if (xs.size() != 2)
    throw std::invalid_argument(fmt::format("Dot '{}' at {}: takes 2 inputs, got {}", name_, where(l), xs.size()));
  Graph& g = bind(xs[0], l);
  bind(xs[1], l);
  Value a = xs[0], b = xs[1];
  const int r = a.rank();
  if ((r != 2 && r != 3) || b.rank() != r || a.dim(0) != b.dim(0))
    bad_input(b, fmt::format("need the same batch and rank (2 or 3) as '{}' {}", a.name(),
                             to_string(a.shape())), l);
  const int64_t ax = axes_[0] < 0 ? axes_[0] + r : axes_[0], ay = axes_[1] < 0 ? axes_[1] + r : axes_[1];
  if (ax < 1 || ax >= r || ay < 1 || ay >= r || a.dim(int(ax)) != b.dim(int(ay)))
    bad_input(b, fmt::format("axes ({}, {}) must pair equal non-batch dims with '{}' {}", axes_[0],
                             axes_[1], a.name(), to_string(a.shape())), l);
  auto scope = g.scope(name_);
  if (o_.normalize) {
    a = l2_normalize(a, ax, l);
    b = l2_normalize(b, ay, l);
  }
  if (r == 2) { // (B, d) . (B, d) -> (B, 1)
    const int64_t B = a.dim(0), d = a.dim(1);
    return reshape(batch_matmul(reshape(a, {B, 1, d}, l), reshape(b, {B, d, 1}, l), false, false, l),
                   {B, 1}, l);
  }
  return batch_matmul(a, b, ax == 1, ay == 2, l);
}

// ---- Embedding

Embedding::Embedding(int64_t input_dim, int64_t output_dim, EmbeddingOptions o)
    : Layer("Embedding", "embedding", o.name, o.trainable), input_dim_(input_dim),
      output_dim_(output_dim), o_(std::move(o)) {
  if (input_dim <= 0 || output_dim <= 0)
    throw std::invalid_argument(fmt::format("Embedding: dims must be > 0, got ({}, {})", input_dim, output_dim));
  if (!o_.weights.empty() && o_.weights.shape() != Shape{input_dim, output_dim})
    throw std::invalid_argument(fmt::format("Embedding: pre-trained weights are {}, the layer is ({}, {})",
                                            to_string(o_.weights.shape()), input_dim, output_dim));
}

// y[..., :] = embeddings[ids[...], :]; mask_zero: mask = (ids != 0)
Value Embedding::operator()(Value ids, Loc l) {
  Graph& g = bind(ids, l);
  if (ids.rank() < 1) bad_input(ids, "need integer-valued ids (batch, steps)", l);
  if (!table_)
    table_ = weight("embeddings", {input_dim_, output_dim_},
                    o_.weights.empty() ? Initializer::uniform(-0.05, 0.05) : Initializer::from(o_.weights), l);
  auto scope = g.scope(name_);
  Value y = gather(table_, ids, l);
  // ids are >= 0 (gather refuses others), so ids != 0 is ids > 0
  return o_.mask_zero ? with_mask(y, step(ids, l)) : y;
}

} // namespace sg::layers
