// "Building a Recurrent Neural Network — Step by Step" (Sequence Models, week 1):
// the RNN and LSTM cells and their unrolled forward passes, in the course's
// conventions: x is (n_x, m, T_x), a hidden state is (n_a, m), W acts on
// column vectors, the prediction is a softmax over axis 0. The backward graphs
// are not written by hand: each is its forward graph plus sg::gradients,
// seeded with the course's cotangents (da_next, dc_next, da).
#include "autodiff/autodiff.hpp"
#include "models/model.hpp"
#include "ops/ops.hpp"

#include <array>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace sg {
namespace {

using Given = std::map<std::string, Tensor>;

// ---- the course's dimensions, read off the given inputs

enum Dim { n_x, n_a, n_y, m, T_x, kDims };
constexpr std::array<const char*, kDims> kDimName = {"n_x", "n_a", "n_y", "m", "T_x"};
constexpr std::array<int64_t, kDims> kDefault = {3, 5, 2, 10, 4}; // the course's test sizes

// One axis of an input: a sum of dims ({n_a, n_x} is n_a + n_x); {} is 1.
using Axis = std::vector<Dim>;

const std::vector<Axis>& course_shape(const std::string& input) {
  static const std::map<std::string, std::vector<Axis>> shapes = {
      {"xt", {{n_x}, {m}}},       {"a_prev", {{n_a}, {m}}},     {"c_prev", {{n_a}, {m}}},
      {"x", {{n_x}, {m}, {T_x}}}, {"a0", {{n_a}, {m}}},         {"Wax", {{n_a}, {n_x}}},
      {"Waa", {{n_a}, {n_a}}},    {"Wya", {{n_y}, {n_a}}},      {"Wy", {{n_y}, {n_a}}},
      {"ba", {{n_a}, {}}},        {"by", {{n_y}, {}}},          {"Wf", {{n_a}, {n_a, n_x}}},
      {"Wi", {{n_a}, {n_a, n_x}}}, {"Wc", {{n_a}, {n_a, n_x}}}, {"Wo", {{n_a}, {n_a, n_x}}},
      {"bf", {{n_a}, {}}},        {"bi", {{n_a}, {}}},          {"bc", {{n_a}, {}}},
      {"bo", {{n_a}, {}}},        {"da_next", {{n_a}, {m}}},    {"dc_next", {{n_a}, {m}}},
      {"da", {{n_a}, {m}, {T_x}}}};
  return shapes.at(input);
}

std::string symbolic(const std::vector<Axis>& axes) {
  std::vector<std::string> s;
  for (auto& ax : axes) {
    std::vector<std::string> terms;
    for (Dim d : ax) terms.push_back(kDimName[d]);
    s.push_back(ax.empty() ? "1" : fmt::format("{}", fmt::join(terms, " + ")));
  }
  return fmt::format("({})", fmt::join(s, ", "));
}

// The dims of one graph: each bound by the first given input that shows it
// (in the graph's input order), else the course's default.
struct Dims {
  std::array<int64_t, kDims> value = kDefault;
  std::array<std::string, kDims> source{}; // "" = default
  std::array<size_t, kDims> source_axis{};

  Shape shape(const std::vector<Axis>& axes) const {
    Shape s;
    for (auto& ax : axes) {
      int64_t n = ax.empty() ? 1 : 0;
      for (Dim d : ax) n += value[d];
      s.push_back(n);
    }
    return s;
  }
  // "a0 says n_a = 6"
  std::string says(Dim d, const std::string& asker) const {
    if (source[d].empty()) return fmt::format("{} = {} by default", kDimName[d], value[d]);
    if (source[d] == asker)
      return fmt::format("its axis {} says {} = {}", source_axis[d], kDimName[d], value[d]);
    return fmt::format("{} says {} = {}", source[d], kDimName[d], value[d]);
  }
};

Dims resolve(const Given& given, const std::vector<std::string>& names) {
  Dims d;
  auto bind = [&](Dim dim, int64_t v, const std::string& name, size_t k) {
    if (!d.source[dim].empty()) return;
    d.value[dim] = v;
    d.source[dim] = name;
    d.source_axis[dim] = k;
  };
  // Pass 0: axes that are one dim; pass 1: n_x from n_a + n_x once n_a is known.
  for (int pass = 0; pass < 2; ++pass)
    for (auto& name : names) {
      auto it = given.find(name);
      const auto& axes = course_shape(name);
      if (it == given.end() || it->second.rank() != int(axes.size())) continue;
      for (size_t k = 0; k < axes.size(); ++k) {
        const auto& ax = axes[k];
        const int64_t have = it->second.dim(int(k));
        if (pass == 0 && ax.size() == 1) bind(ax[0], have, name, k);
        if (pass == 1 && ax.size() == 2 && !d.source[ax[0]].empty() && have > d.value[ax[0]])
          bind(ax[1], have - d.value[ax[0]], name, k);
      }
    }
  for (int i = 0; i < kDims; ++i)
    if (d.value[size_t(i)] < 1)
      throw ShapeError(fmt::format("rnn_step_by_step: {}: every dimension must be at least 1",
                                   d.says(Dim(i), "")));
  for (auto& name : names) {
    auto it = given.find(name);
    if (it == given.end()) continue;
    const auto& axes = course_shape(name);
    const Shape want = d.shape(axes), have = it->second.shape();
    if (have == want) continue;
    std::string why = "it must have rank " + std::to_string(axes.size());
    for (size_t k = 0; have.size() == want.size() && k < axes.size(); ++k) {
      if (have[k] == want[k]) continue;
      std::vector<std::string> says;
      for (Dim dim : axes[k]) says.push_back(d.says(dim, name));
      why = axes[k].empty() ? fmt::format("its axis {} must be 1", k)
                            : fmt::format("{}", fmt::join(says, " and "));
      break;
    }
    throw ShapeError(fmt::format("rnn_step_by_step: {} is {} but {} (expected {} {} = {})", name,
                                 to_string(have), why, name, symbolic(axes), to_string(want)));
  }
  return d;
}

// One graph being built: its inputs (Input nodes with the course's names and
// the shapes the given tensors agree on), what to differentiate, the cotangents.
struct Builder {
  std::unique_ptr<Graph> g = std::make_unique<Graph>();
  std::map<std::string, Value> in;
  std::vector<Value> wrt, seeds;

  Builder(const Given& given, const std::vector<std::string>& differentiable,
          const std::vector<std::string>& cotangents = {}) {
    std::vector<std::string> names = differentiable;
    names.insert(names.end(), cotangents.begin(), cotangents.end());
    const Dims d = resolve(given, names);
    for (auto& n : names) in[n] = input(*g, n, d.shape(course_shape(n)));
    for (auto& n : differentiable) wrt.push_back(in[n]);
    for (auto& n : cotangents) seeds.push_back(in[n]);
  }
  Value operator[](const std::string& name) const { return in.at(name); }

  BuiltGraph outputs(std::vector<std::pair<std::string, Value>> outs) {
    return {std::move(g), std::move(outs), wrt};
  }
  // d<input> for every differentiable input: the VJP of `ys` with the cotangents.
  BuiltGraph gradients(const std::vector<Value>& ys) {
    std::vector<Value> grads = sg::gradients(ys, seeds, wrt);
    std::vector<std::pair<std::string, Value>> outs;
    for (size_t i = 0; i < wrt.size(); ++i) outs.emplace_back("d" + wrt[i].name(), grads[i]);
    return outputs(std::move(outs));
  }
};

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
Rnn rnn_params(const Builder& b) { return {b["Wax"], b["Waa"], b["ba"]}; }
Lstm lstm_params(const Builder& b) {
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

BuiltGraph rnn_cell_forward_graph(const Given& given) {
  Builder b(given, {"xt", "a_prev", "Wax", "Waa", "Wya", "ba", "by"});
  Value a_next = rnn_cell(rnn_params(b), b["xt"], b["a_prev"]);
  return b.outputs({{"a_next", a_next}, {"yt_pred", predict(b["Wya"], b["by"], a_next)}});
}

BuiltGraph rnn_forward_graph(const Given& given) {
  Builder b(given, {"x", "a0", "Wax", "Waa", "Wya", "ba", "by"});
  Sequence s = rnn_forward(rnn_params(b), b["x"], b["a0"], b["Wya"], b["by"]);
  return b.outputs({{"a", s.a}, {"y_pred", s.y}});
}

BuiltGraph lstm_cell_forward_graph(const Given& given) {
  Builder b(given, {"xt", "a_prev", "c_prev", "Wf", "bf", "Wi", "bi", "Wc", "bc", "Wo", "bo",
                    "Wy", "by"});
  State next = lstm_cell(lstm_params(b), b["xt"], {b["a_prev"], b["c_prev"]});
  return b.outputs({{"a_next", next.a}, {"c_next", next.c},
                    {"yt_pred", predict(b["Wy"], b["by"], next.a)}});
}

BuiltGraph lstm_forward_graph(const Given& given) {
  Builder b(given, {"x", "a0", "Wf", "bf", "Wi", "bi", "Wc", "bc", "Wo", "bo", "Wy", "by"});
  Sequence s = lstm_forward(lstm_params(b), b["x"], b["a0"], b["Wy"], b["by"]);
  return b.outputs({{"a", s.a}, {"y", s.y}, {"c", s.c}});
}

// -> dxt, da_prev, dWax, dWaa, dba
BuiltGraph rnn_cell_backward_graph(const Given& given) {
  Builder b(given, {"xt", "a_prev", "Wax", "Waa", "ba"}, {"da_next"});
  return b.gradients({rnn_cell(rnn_params(b), b["xt"], b["a_prev"])});
}

// da: the cotangent of every hidden state -> dx, da0, dWax, dWaa, dba
BuiltGraph rnn_backward_graph(const Given& given) {
  Builder b(given, {"x", "a0", "Wax", "Waa", "ba"}, {"da"});
  return b.gradients({rnn_forward(rnn_params(b), b["x"], b["a0"]).a});
}

// -> dxt, da_prev, dc_prev, dWf, dbf, dWi, dbi, dWc, dbc, dWo, dbo
BuiltGraph lstm_cell_backward_graph(const Given& given) {
  Builder b(given, {"xt", "a_prev", "c_prev", "Wf", "bf", "Wi", "bi", "Wc", "bc", "Wo", "bo"},
            {"da_next", "dc_next"});
  State next = lstm_cell(lstm_params(b), b["xt"], {b["a_prev"], b["c_prev"]});
  return b.gradients({next.a, next.c});
}

// da: the cotangent of every hidden state (none on c, no y) -> dx, da0, dWf, ..., dbo
BuiltGraph lstm_backward_graph(const Given& given) {
  Builder b(given, {"x", "a0", "Wf", "bf", "Wi", "bi", "Wc", "bc", "Wo", "bo"}, {"da"});
  return b.gradients({lstm_forward(lstm_params(b), b["x"], b["a0"]).a});
}

const std::vector<std::pair<std::string, BuiltGraph (*)(const Given&)>> kGraphs = {
    {"rnn_cell_forward", rnn_cell_forward_graph},   {"rnn_forward", rnn_forward_graph},
    {"lstm_cell_forward", lstm_cell_forward_graph}, {"lstm_forward", lstm_forward_graph},
    {"rnn_cell_backward", rnn_cell_backward_graph}, {"rnn_backward", rnn_backward_graph},
    {"lstm_cell_backward", lstm_cell_backward_graph}, {"lstm_backward", lstm_backward_graph}};

std::vector<std::string> graph_names() {
  std::vector<std::string> names;
  for (auto& [name, build] : kGraphs) names.push_back(name);
  return names;
}

// `backward` on a forward graph gives its backward graph.
BuiltGraph build(const std::string& graph, const Given& given, bool backward) {
  std::string name = graph;
  if (backward && name.ends_with("_forward"))
    name.replace(name.size() - 8, 8, "_backward");
  for (auto& [n, build_graph] : kGraphs)
    if (n == name) return build_graph(given);
  throw std::invalid_argument(fmt::format("rnn_step_by_step has no graph '{}' (graphs: {})", graph,
                                          fmt::join(graph_names(), ", ")));
}

const ModelRegistrar registrar(Model{
    .name = "rnn_step_by_step",
    .summary = "RNN and LSTM cells and sequences, forward and (by autodiff) backward, in the "
               "course's shapes: x (n_x, m, T_x), a (n_a, m, T_x)",
    .options = {},
    .graphs = graph_names(),
    .build = build,
    .train = {},
    .sample = {}});

} // namespace
} // namespace sg
