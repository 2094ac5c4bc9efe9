// "Building a Recurrent Neural Network — Step by Step" (Sequence Models, week 1):
// the RNN and LSTM cells and their unrolled forward passes, in the course's
// conventions: x is (n_x, m, T_x), a hidden state is (n_a, m), W acts on
// column vectors, the prediction is a softmax over axis 0. The backward graphs
// are not written by hand: each is its forward graph plus sg::gradients,
// seeded with the course's cotangents (da_next, dc_next, da).
#include "models/train/fit_model.hpp"
#include "models/train/shapes.hpp"
#include "ops/ops.hpp"

#include <fmt/format.h>

namespace sg {
namespace {

using fit::dim;

// ---- the course's shapes: graph-run reads the sizes off the inputs given
// (Wf's n_a + n_x gives n_x once n_a is known), else the course's test sizes

const fit::Dim n_x = dim("n_x"), n_a = dim("n_a"), n_y = dim("n_y"), m = dim("m"), T_x = dim("T_x"), one = dim(1);

const fit::Signature kCourse{
    .model = "rnn_step_by_step",
    .inputs = {{"x", {n_x, m, T_x}}, {"xt", {n_x, m}},                                  // the inputs
               {"a0", {n_a, m}}, {"a_prev", {n_a, m}}, {"c_prev", {n_a, m}},             // the states
               {"Wax", {n_a, n_x}}, {"Waa", {n_a, n_a}}, {"ba", {n_a, one}},             // the RNN cell
               {"Wf", {n_a, n_a + n_x}}, {"bf", {n_a, one}}, {"Wi", {n_a, n_a + n_x}},   // the LSTM cell
               {"bi", {n_a, one}}, {"Wc", {n_a, n_a + n_x}}, {"bc", {n_a, one}},
               {"Wo", {n_a, n_a + n_x}}, {"bo", {n_a, one}},
               {"Wya", {n_y, n_a}}, {"Wy", {n_y, n_a}}, {"by", {n_y, one}},              // the predictions
               {"da_next", {n_a, m}}, {"dc_next", {n_a, m}}, {"da", {n_a, m, T_x}}},     // the cotangents
    .defaults = {{"n_x", 3}, {"n_a", 5}, {"n_y", 2}, {"m", 10}, {"T_x", 4}}}; // the course's test sizes

// ---- the cells

struct Rnn {
  Value Wax, Waa, ba;
};
struct Lstm {
  Value Wf, bf, Wi, bi, Wc, bc, Wo, bo;
};
struct State {
  Value a, c;
};
Rnn rnn_params(const fit::SignatureGraph& b) { return {b["Wax"], b["Waa"], b["ba"]}; }
Lstm lstm_params(const fit::SignatureGraph& b) {
  return {b["Wf"], b["bf"], b["Wi"], b["bi"], b["Wc"], b["bc"], b["Wo"], b["bo"]};
}

// a_next = tanh(Wax xt + Waa a_prev + ba)
Value rnn_cell(const Rnn& p, Value xt, Value a_prev) {
  auto s = xt.graph().scope("rnn_cell");
  return tanh(matmul(p.Wax, xt) + matmul(p.Waa, a_prev) + p.ba).named("a_next");
}

// ft = σ(Wf [a_prev; xt] + bf)     it = σ(Wi [a_prev; xt] + bi)
// cct = tanh(Wc [a_prev; xt] + bc) ot = σ(Wo [a_prev; xt] + bo)
// c_next = ft * c_prev + it * cct  a_next = ot * tanh(c_next)
State lstm_cell(const Lstm& p, Value xt, State prev) {
  auto s = xt.graph().scope("lstm_cell");
  Value concat_ = concat({prev.a, xt}, 0).named("concat");
  Value ft = sigmoid(matmul(p.Wf, concat_) + p.bf).named("ft");
  Value it = sigmoid(matmul(p.Wi, concat_) + p.bi).named("it");
  Value cct = tanh(matmul(p.Wc, concat_) + p.bc).named("cct");
  Value ot = sigmoid(matmul(p.Wo, concat_) + p.bo).named("ot");
  Value c_next = (ft * prev.c + it * cct).named("c_next");
  return {(ot * tanh(c_next)).named("a_next"), c_next};
}

// yt_pred = softmax(Wy a + by), over the n_y rows
Value predict(Value Wy, Value by, Value a) {
  return softmax(matmul(Wy, a) + by, 0).named("yt_pred");
}

// ---- the unrolled sequences: scope "t<t>" per step, xt = x[:, :, t]

struct Sequence {
  Value a, y, c; // (n_a, m, T_x), (n_y, m, T_x), (n_a, m, T_x)
};

// Without Wy, no predictions (the backward graphs do not need them).
Sequence rnn_forward(const Rnn& p, Value x, Value a0, Value Wya = {}, Value by = {}) {
  std::vector<Value> a, y;
  Value a_next = a0;
  for (int64_t t = 0; t < x.dim(2); ++t) {
    auto s = x.graph().scope(fmt::format("t{}", t));
    a_next = rnn_cell(p, take(x, 2, t), a_next);
    a.push_back(a_next);
    if (Wya) y.push_back(predict(Wya, by, a_next));
  }
  return {stack(a, 2).named("a"), Wya ? stack(y, 2).named("y_pred") : Value(), {}};
}

// The course's lstm_forward starts from c = 0.
Sequence lstm_forward(const Lstm& p, Value x, Value a0, Value Wy = {}, Value by = {}) {
  std::vector<Value> a, y, c;
  State next{a0, constant(a0.graph(), Tensor(a0.shape(), DType::f64), "c0")};
  for (int64_t t = 0; t < x.dim(2); ++t) {
    auto s = x.graph().scope(fmt::format("t{}", t));
    next = lstm_cell(p, take(x, 2, t), next);
    a.push_back(next.a);
    c.push_back(next.c);
    if (Wy) y.push_back(predict(Wy, by, next.a));
  }
  return {stack(a, 2).named("a"), Wy ? stack(y, 2).named("y") : Value(), stack(c, 2).named("c")};
}

// ---- the eight graphs

BuiltGraph rnn_cell_forward_graph(const fit::Feeds& given) {
  fit::SignatureGraph b(kCourse, given, {"xt", "a_prev", "Wax", "Waa", "Wya", "ba", "by"});
  Value a_next = rnn_cell(rnn_params(b), b["xt"], b["a_prev"]);
  return b.outputs({{"a_next", a_next}, {"yt_pred", predict(b["Wya"], b["by"], a_next)}});
}

BuiltGraph rnn_forward_graph(const fit::Feeds& given) {
  fit::SignatureGraph b(kCourse, given, {"x", "a0", "Wax", "Waa", "Wya", "ba", "by"});
  Sequence s = rnn_forward(rnn_params(b), b["x"], b["a0"], b["Wya"], b["by"]);
  return b.outputs({{"a", s.a}, {"y_pred", s.y}});
}

BuiltGraph lstm_cell_forward_graph(const fit::Feeds& given) {
  fit::SignatureGraph b(kCourse, given,
                        {"xt", "a_prev", "c_prev", "Wf", "bf", "Wi", "bi", "Wc", "bc", "Wo", "bo", "Wy", "by"});
  State next = lstm_cell(lstm_params(b), b["xt"], {b["a_prev"], b["c_prev"]});
  return b.outputs({{"a_next", next.a}, {"c_next", next.c},
                    {"yt_pred", predict(b["Wy"], b["by"], next.a)}});
}

BuiltGraph lstm_forward_graph(const fit::Feeds& given) {
  fit::SignatureGraph b(kCourse, given, {"x", "a0", "Wf", "bf", "Wi", "bi", "Wc", "bc", "Wo", "bo", "Wy", "by"});
  Sequence s = lstm_forward(lstm_params(b), b["x"], b["a0"], b["Wy"], b["by"]);
  return b.outputs({{"a", s.a}, {"y", s.y}, {"c", s.c}});
}

// -> dxt, da_prev, dWax, dWaa, dba
BuiltGraph rnn_cell_backward_graph(const fit::Feeds& given) {
  fit::SignatureGraph b(kCourse, given, {"xt", "a_prev", "Wax", "Waa", "ba"}, {"da_next"});
  return b.gradients({rnn_cell(rnn_params(b), b["xt"], b["a_prev"])});
}

// da: the cotangent of every hidden state -> dx, da0, dWax, dWaa, dba
BuiltGraph rnn_backward_graph(const fit::Feeds& given) {
  fit::SignatureGraph b(kCourse, given, {"x", "a0", "Wax", "Waa", "ba"}, {"da"});
  return b.gradients({rnn_forward(rnn_params(b), b["x"], b["a0"]).a});
}

// -> dxt, da_prev, dc_prev, dWf, dbf, dWi, dbi, dWc, dbc, dWo, dbo
BuiltGraph lstm_cell_backward_graph(const fit::Feeds& given) {
  fit::SignatureGraph b(kCourse, given, {"xt", "a_prev", "c_prev", "Wf", "bf", "Wi", "bi", "Wc", "bc", "Wo", "bo"},
                        {"da_next", "dc_next"});
  State next = lstm_cell(lstm_params(b), b["xt"], {b["a_prev"], b["c_prev"]});
  return b.gradients({next.a, next.c});
}

// da: the cotangent of every hidden state (none on c, no y) -> dx, da0, dWf, ..., dbo
BuiltGraph lstm_backward_graph(const fit::Feeds& given) {
  fit::SignatureGraph b(kCourse, given, {"x", "a0", "Wf", "bf", "Wi", "bi", "Wc", "bc", "Wo", "bo"}, {"da"});
  return b.gradients({lstm_forward(lstm_params(b), b["x"], b["a0"]).a});
}

// `backward` on a forward graph gives its backward graph.
fit::GraphDecl graph(std::string name, BuiltGraph (*forward)(const fit::Feeds&),
                     BuiltGraph (*backward)(const fit::Feeds&)) {
  return {.name = std::move(name),
          .build = [=](const fit::Feeds& given, bool b) { return (b ? backward : forward)(given); }};
}

const ModelRegistrar registrar(fit::with_graphs(
    {.name = "rnn_step_by_step",
     .summary = "RNN and LSTM cells and sequences, forward and (by autodiff) backward, in the "
                "course's shapes: x (n_x, m, T_x), a (n_a, m, T_x)"},
    {graph("rnn_cell_forward", rnn_cell_forward_graph, rnn_cell_backward_graph),
     graph("rnn_forward", rnn_forward_graph, rnn_backward_graph),
     graph("lstm_cell_forward", lstm_cell_forward_graph, lstm_cell_backward_graph),
     graph("lstm_forward", lstm_forward_graph, lstm_backward_graph),
     graph("rnn_cell_backward", rnn_cell_backward_graph, rnn_cell_backward_graph),
     graph("rnn_backward", rnn_backward_graph, rnn_backward_graph),
     graph("lstm_cell_backward", lstm_cell_backward_graph, lstm_cell_backward_graph),
     graph("lstm_backward", lstm_backward_graph, lstm_backward_graph)}));

} // namespace
} // namespace sg
