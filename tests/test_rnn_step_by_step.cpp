// The rnn_step_by_step model against the course's numpy code, transcribed
// here independently as plain loops: the forward graphs against the course's
// forward functions, the autodiff backward graphs against the course's
// hand-derived backward equations. Everything in float64.
#include "graph/plan.hpp"
#include "models/model.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace sg;

namespace {

// ---- a small dense matrix, (r, c) row-major

struct Mat {
  int64_t r = 0, c = 0;
  std::vector<double> v;
  Mat() = default;
  Mat(int64_t rows, int64_t cols) : r(rows), c(cols), v(size_t(rows * cols), 0.0) {}
  double& operator()(int64_t i, int64_t j) { return v[size_t(i * c + j)]; }
  double operator()(int64_t i, int64_t j) const { return v[size_t(i * c + j)]; }
};

Mat map(const Mat& a, const std::function<double(double)>& f) {
  Mat y = a;
  for (auto& e : y.v) e = f(e);
  return y;
}
// Elementwise a op b; b may be a column (n, 1) broadcast along a's columns.
Mat zip(const Mat& a, const Mat& b, const std::function<double(double, double)>& f) {
  REQUIRE(a.r == b.r);
  REQUIRE((b.c == a.c || b.c == 1));
  Mat y(a.r, a.c);
  for (int64_t i = 0; i < a.r; ++i)
    for (int64_t j = 0; j < a.c; ++j) y(i, j) = f(a(i, j), b(i, b.c == 1 ? 0 : j));
  return y;
}
Mat operator+(const Mat& a, const Mat& b) { return zip(a, b, std::plus<>()); }
Mat operator*(const Mat& a, const Mat& b) { return zip(a, b, std::multiplies<>()); }
Mat dot(const Mat& a, const Mat& b) {
  REQUIRE(a.c == b.r);
  Mat y(a.r, b.c);
  for (int64_t i = 0; i < a.r; ++i)
    for (int64_t j = 0; j < b.c; ++j) {
      double s = 0;
      for (int64_t k = 0; k < a.c; ++k) s += a(i, k) * b(k, j);
      y(i, j) = s;
    }
  return y;
}
Mat T(const Mat& a) {
  Mat y(a.c, a.r);
  for (int64_t i = 0; i < a.r; ++i)
    for (int64_t j = 0; j < a.c; ++j) y(j, i) = a(i, j);
  return y;
}
// a[:, c0:c1]
Mat cols(const Mat& a, int64_t c0, int64_t c1) {
  Mat y(a.r, c1 - c0);
  for (int64_t i = 0; i < a.r; ++i)
    for (int64_t j = c0; j < c1; ++j) y(i, j - c0) = a(i, j);
  return y;
}
// np.concatenate((a, b), axis=0)
Mat vstack(const Mat& a, const Mat& b) {
  Mat y(a.r + b.r, a.c);
  std::copy(a.v.begin(), a.v.end(), y.v.begin());
  std::copy(b.v.begin(), b.v.end(), y.v.begin() + long(a.v.size()));
  return y;
}
// np.sum(a, axis=1, keepdims=True)
Mat sum_cols(const Mat& a) {
  Mat y(a.r, 1);
  for (int64_t i = 0; i < a.r; ++i)
    for (int64_t j = 0; j < a.c; ++j) y(i, 0) += a(i, j);
  return y;
}
Mat tanh(const Mat& a) { return map(a, [](double x) { return std::tanh(x); }); }
Mat sigmoid(const Mat& a) { return map(a, [](double x) { return 1 / (1 + std::exp(-x)); }); }
Mat one_minus_sq(const Mat& a) { return map(a, [](double x) { return 1 - x * x; }); } // 1 - a²
Mat one_minus(const Mat& a) { return map(a, [](double x) { return 1 - x; }); }
// the course's softmax: e_x = exp(x - max(x)); e_x / e_x.sum(axis=0)
Mat softmax(const Mat& x) {
  const double mx = *std::max_element(x.v.begin(), x.v.end());
  Mat e = map(x, [mx](double v) { return std::exp(v - mx); });
  Mat y = e;
  for (int64_t j = 0; j < e.c; ++j) {
    double s = 0;
    for (int64_t i = 0; i < e.r; ++i) s += e(i, j);
    for (int64_t i = 0; i < e.r; ++i) y(i, j) = e(i, j) / s;
  }
  return y;
}
void add_to(Mat& acc, const Mat& d) { acc = acc + d; }

// Tensors <-> matrices. x[:, :, t] of a (n, m, T) tensor.
Mat mat(const Tensor& t) {
  REQUIRE(t.rank() == 2);
  Mat y(t.dim(0), t.dim(1));
  for (int64_t i = 0; i < t.size(); ++i) y.v[size_t(i)] = t.at(i);
  return y;
}
Mat step(const Tensor& x, int64_t t) {
  REQUIRE(x.rank() == 3);
  Mat y(x.dim(0), x.dim(1));
  for (int64_t i = 0; i < y.r; ++i)
    for (int64_t j = 0; j < y.c; ++j) y(i, j) = x({i, j, t});
  return y;
}

// max |got - want|; a shape mismatch fails the test.
double err(const Tensor& got, const Mat& want) {
  REQUIRE(got.shape() == Shape{want.r, want.c});
  double e = 0;
  for (int64_t i = 0; i < got.size(); ++i) e = std::max(e, std::abs(got.at(i) - want.v[size_t(i)]));
  return e;
}
double err(const Tensor& got, const std::vector<Mat>& want) {
  REQUIRE(got.rank() == 3);
  REQUIRE(size_t(got.dim(2)) == want.size());
  double e = 0;
  for (size_t t = 0; t < want.size(); ++t) {
    REQUIRE(got.dim(0) == want[t].r);
    REQUIRE(got.dim(1) == want[t].c);
    for (int64_t i = 0; i < want[t].r; ++i)
      for (int64_t j = 0; j < want[t].c; ++j)
        e = std::max(e, std::abs(got({i, j, int64_t(t)}) - want[t](i, j)));
  }
  return e;
}

// ---- the course's forward functions (numpy, transcribed)

using Inputs = std::map<std::string, Tensor>;

struct RnnCellOut {
  Mat a_next, yt_pred;
};
// a_next = np.tanh(np.dot(Wax, xt) + np.dot(Waa, a_prev) + ba); yt_pred = softmax(Wya a_next + by)
RnnCellOut rnn_cell_forward(const Mat& xt, const Mat& a_prev, const Inputs& p) {
  Mat a_next = tanh(dot(mat(p.at("Wax")), xt) + dot(mat(p.at("Waa")), a_prev) + mat(p.at("ba")));
  return {a_next, softmax(dot(mat(p.at("Wya")), a_next) + mat(p.at("by")))};
}

struct Seq {
  std::vector<Mat> a, y, c;
};
Seq rnn_forward(const Tensor& x, const Mat& a0, const Inputs& p) {
  Seq s;
  Mat a_next = a0;
  for (int64_t t = 0; t < x.dim(2); ++t) {
    RnnCellOut o = rnn_cell_forward(step(x, t), a_next, p);
    a_next = o.a_next;
    s.a.push_back(o.a_next);
    s.y.push_back(o.yt_pred);
  }
  return s;
}

struct LstmCache {
  Mat a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, yt_pred;
};
LstmCache lstm_cell_forward(const Mat& xt, const Mat& a_prev, const Mat& c_prev, const Inputs& p) {
  auto W = [&](const char* n) { return mat(p.at(n)); };
  Mat concat = vstack(a_prev, xt);
  Mat ft = sigmoid(dot(W("Wf"), concat) + W("bf"));
  Mat it = sigmoid(dot(W("Wi"), concat) + W("bi"));
  Mat cct = tanh(dot(W("Wc"), concat) + W("bc"));
  Mat c_next = ft * c_prev + it * cct;
  Mat ot = sigmoid(dot(W("Wo"), concat) + W("bo"));
  Mat a_next = ot * tanh(c_next);
  Mat yt_pred = softmax(dot(W("Wy"), a_next) + W("by"));
  return {a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, yt_pred};
}

std::vector<LstmCache> lstm_forward(const Tensor& x, const Mat& a0, const Inputs& p) {
  std::vector<LstmCache> caches;
  Mat a_next = a0, c_next(a0.r, a0.c); // c starts at zeros
  for (int64_t t = 0; t < x.dim(2); ++t) {
    caches.push_back(lstm_cell_forward(step(x, t), a_next, c_next, p));
    a_next = caches.back().a_next;
    c_next = caches.back().c_next;
  }
  return caches;
}

// ---- the course's hand-derived backward equations

using Grads = std::map<std::string, Mat>;

// dtanh = (1 - a_next²) da_next; dxt = Waxᵀ dtanh; dWax = dtanh xtᵀ; da_prev = Waaᵀ dtanh;
// dWaa = dtanh a_prevᵀ; dba = Σ_m dtanh
Grads rnn_cell_backward(const Mat& da_next, const Mat& xt, const Mat& a_prev, const Mat& a_next,
                        const Inputs& p) {
  Mat dtanh = one_minus_sq(a_next) * da_next;
  return {{"dxt", dot(T(mat(p.at("Wax"))), dtanh)}, {"dWax", dot(dtanh, T(xt))},
          {"da_prev", dot(T(mat(p.at("Waa"))), dtanh)}, {"dWaa", dot(dtanh, T(a_prev))},
          {"dba", sum_cols(dtanh)}};
}

// t from T-1 down: da_t = da[:, :, t] + da_prevt; the weights' gradients summed over t
Grads rnn_backward(const Tensor& da, const Tensor& x, const Mat& a0, const Inputs& p) {
  Seq s = rnn_forward(x, a0, p);
  const int64_t n_a = a0.r, m = a0.c, n_x = x.dim(0), T_x = x.dim(2);
  Grads r;
  Mat dWax(n_a, n_x), dWaa(n_a, n_a), dba(n_a, 1), da_prevt(n_a, m);
  for (int64_t t = T_x - 1; t >= 0; --t) {
    const Mat& a_prev = t > 0 ? s.a[size_t(t - 1)] : a0;
    Grads g = rnn_cell_backward(step(da, t) + da_prevt, step(x, t), a_prev, s.a[size_t(t)], p);
    r["dx" + std::to_string(t)] = g["dxt"]; // dx[:, :, t]
    da_prevt = g["da_prev"];
    add_to(dWax, g["dWax"]);
    add_to(dWaa, g["dWaa"]);
    add_to(dba, g["dba"]);
  }
  r["da0"] = da_prevt;
  r["dWax"] = dWax;
  r["dWaa"] = dWaa;
  r["dba"] = dba;
  return r;
}

// dot = da_next tanh(c_next) ot(1 - ot)
// dcct = (dc_next it + ot(1 - tanh²(c_next)) it da_next)(1 - cct²)
// dit = (dc_next cct + ot(1 - tanh²(c_next)) cct da_next) it(1 - it)
// dft = (dc_next c_prev + ot(1 - tanh²(c_next)) c_prev da_next) ft(1 - ft)
// dW = dgate [a_prev; xt]ᵀ, db = Σ_m dgate
// da_prev = Σ W[:, :n_a]ᵀ dgate, dxt = Σ W[:, n_a:]ᵀ dgate
// dc_prev = dc_next ft + ot(1 - tanh²(c_next)) ft da_next
Grads lstm_cell_backward(const Mat& da_next, const Mat& dc_next, const LstmCache& k,
                         const Inputs& p) {
  auto W = [&](const char* n) { return mat(p.at(n)); };
  const int64_t n_a = k.a_prev.r, n_ax = n_a + k.xt.r;
  const Mat tc = tanh(k.c_next);
  const Mat da_to_c = k.ot * one_minus_sq(tc) * da_next; // ot(1 - tanh²(c_next)) da_next
  Mat dot_ = da_next * tc * k.ot * one_minus(k.ot);
  Mat dcct = (dc_next * k.it + da_to_c * k.it) * one_minus_sq(k.cct);
  Mat dit = (dc_next * k.cct + da_to_c * k.cct) * k.it * one_minus(k.it);
  Mat dft = (dc_next * k.c_prev + da_to_c * k.c_prev) * k.ft * one_minus(k.ft);
  const Mat concat_T = T(vstack(k.a_prev, k.xt));
  Grads g;
  g["dWf"] = dot(dft, concat_T);
  g["dWi"] = dot(dit, concat_T);
  g["dWc"] = dot(dcct, concat_T);
  g["dWo"] = dot(dot_, concat_T);
  g["dbf"] = sum_cols(dft);
  g["dbi"] = sum_cols(dit);
  g["dbc"] = sum_cols(dcct);
  g["dbo"] = sum_cols(dot_);
  auto back = [&](int64_t c0, int64_t c1) {
    return dot(T(cols(W("Wf"), c0, c1)), dft) + dot(T(cols(W("Wi"), c0, c1)), dit) +
           dot(T(cols(W("Wc"), c0, c1)), dcct) + dot(T(cols(W("Wo"), c0, c1)), dot_);
  };
  g["da_prev"] = back(0, n_a);
  g["dxt"] = back(n_a, n_ax);
  g["dc_prev"] = dc_next * k.ft + da_to_c * k.ft;
  return g;
}

// t from T-1 down, dc carried (starting at 0), the weights' gradients summed over t
Grads lstm_backward(const Tensor& da, const Tensor& x, const Mat& a0, const Inputs& p) {
  std::vector<LstmCache> caches = lstm_forward(x, a0, p);
  const int64_t n_a = a0.r, m = a0.c, T_x = x.dim(2);
  Mat da_prevt(n_a, m), dc_prevt(n_a, m);
  Grads total;
  for (int64_t t = T_x - 1; t >= 0; --t) {
    Grads g = lstm_cell_backward(step(da, t) + da_prevt, dc_prevt, caches[size_t(t)], p);
    da_prevt = g["da_prev"];
    dc_prevt = g["dc_prev"];
    total["dx" + std::to_string(t)] = g["dxt"];
    for (const char* w : {"dWf", "dWi", "dWc", "dWo", "dbf", "dbi", "dbc", "dbo"}) {
      if (!total.count(w)) total[w] = Mat(g[w].r, g[w].c);
      add_to(total[w], g[w]);
    }
  }
  total["da0"] = da_prevt;
  return total;
}

// ---- running the model's graphs

struct Sizes {
  int64_t n_x, n_a, n_y, m, T_x;
};

Shape shape_of(const std::string& name, const Sizes& s) {
  const int64_t n_ax = s.n_a + s.n_x;
  const std::map<std::string, Shape> shapes = {
      {"xt", {s.n_x, s.m}},        {"a_prev", {s.n_a, s.m}},   {"c_prev", {s.n_a, s.m}},
      {"x", {s.n_x, s.m, s.T_x}},  {"a0", {s.n_a, s.m}},       {"Wax", {s.n_a, s.n_x}},
      {"Waa", {s.n_a, s.n_a}},     {"Wya", {s.n_y, s.n_a}},    {"Wy", {s.n_y, s.n_a}},
      {"ba", {s.n_a, 1}},          {"by", {s.n_y, 1}},         {"Wf", {s.n_a, n_ax}},
      {"Wi", {s.n_a, n_ax}},       {"Wc", {s.n_a, n_ax}},      {"Wo", {s.n_a, n_ax}},
      {"bf", {s.n_a, 1}},          {"bi", {s.n_a, 1}},         {"bc", {s.n_a, 1}},
      {"bo", {s.n_a, 1}},          {"da_next", {s.n_a, s.m}},  {"dc_next", {s.n_a, s.m}},
      {"da", {s.n_a, s.m, s.T_x}}};
  return shapes.at(name);
}

// np.random.randn for every input, from one seed.
Inputs draw(const Sizes& s, const std::vector<std::string>& names, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> randn;
  Inputs in;
  for (auto& n : names) {
    Tensor t(shape_of(n, s), DType::f64);
    for (int64_t i = 0; i < t.size(); ++i) t.set(i, randn(rng));
    in[n] = t;
  }
  return in;
}

const Model& model() {
  const Model* m = find_model("rnn_step_by_step");
  REQUIRE(m != nullptr);
  return *m;
}

std::map<std::string, Tensor> run(const std::string& graph, const Inputs& inputs) {
  BuiltGraph bg = model().build(graph, inputs, false);
  ParamStore ps;
  std::vector<Value> outs;
  for (auto& [n, v] : bg.outputs) outs.push_back(v);
  Plan p(*bg.graph, ps, outs, {}, {DType::f64});
  for (auto& [name, t] : inputs) p.feed(name, t);
  p.run();
  std::map<std::string, Tensor> r;
  for (auto& [n, v] : bg.outputs) r[n] = p.fetch(v);
  return r;
}

const std::vector<Sizes> kSizes = {{3, 5, 2, 10, 4}, {4, 6, 3, 5, 7}, {1, 2, 1, 1, 1}};
const std::vector<uint64_t> kSeeds = {1, 2};

const std::vector<std::string> kRnn = {"Wax", "Waa", "Wya", "ba", "by"};
const std::vector<std::string> kLstm = {"Wf", "bf", "Wi", "bi", "Wc", "bc", "Wo", "bo", "Wy", "by"};
std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Every difference is checked; the largest of a test case is shown with -s.
struct MaxErr {
  double tol, worst = 0;
  void check(const std::string& what, double e) {
    INFO(what << ": max |diff| = " << e);
    CHECK(e <= tol);
    worst = std::max(worst, e);
  }
  ~MaxErr() {
    if (doctest::getContextOptions()->success)
      MESSAGE("max |diff| " << worst << " (tolerance " << tol << ")");
  }
};

} // namespace

TEST_CASE("RnnStepByStep.Registered") {
  const Model& m = model();
  CHECK(m.graphs == std::vector<std::string>{"rnn_cell_forward", "rnn_forward", "lstm_cell_forward",
                                             "lstm_forward", "rnn_cell_backward", "rnn_backward",
                                             "lstm_cell_backward", "lstm_backward"});
  // Default sizes without inputs: the course's n_x=3, n_a=5, n_y=2, m=10, T_x=4.
  BuiltGraph f = m.build("lstm_forward", {}, false);
  std::map<std::string, Shape> shapes;
  for (auto& [n, v] : f.outputs) shapes[n] = v.shape();
  CHECK(shapes ==
        std::map<std::string, Shape>{{"a", {5, 10, 4}}, {"y", {2, 10, 4}}, {"c", {5, 10, 4}}});
  CHECK(f.differentiable.size() == 12);
  // Scopes: one per time step, the cell inside.
  CHECK(f.graph->find("t3/lstm_cell/a_next"));
  CHECK(m.build("rnn_forward", {}, false).graph->find("t0/rnn_cell/a_next"));
  // --backward on a forward graph gives its backward graph.
  BuiltGraph b = m.build("lstm_forward", {}, true);
  std::vector<std::string> names;
  for (auto& [n, v] : b.outputs) names.push_back(n);
  CHECK(names == std::vector<std::string>{"dx", "da0", "dWf", "dbf", "dWi", "dbi", "dWc", "dbc",
                                          "dWo", "dbo"});
  CHECK(b.differentiable.size() == 10); // every input but the cotangent da
  CHECK_THROWS_AS(m.build("gru_forward", {}, false), std::invalid_argument);
}

TEST_CASE("RnnStepByStep.RnnCellForward") {
  MaxErr worst{1e-12};
  for (const Sizes& s : kSizes)
    for (uint64_t seed : kSeeds) {
      Inputs in = draw(s, std::vector<std::string>{"xt", "a_prev"} + kRnn, seed);
      auto got = run("rnn_cell_forward", in);
      RnnCellOut want = rnn_cell_forward(mat(in["xt"]), mat(in["a_prev"]), in);
      worst.check("a_next", err(got["a_next"], want.a_next));
      worst.check("yt_pred", err(got["yt_pred"], want.yt_pred));
    }
}

TEST_CASE("RnnStepByStep.RnnForward") {
  MaxErr worst{1e-12};
  for (const Sizes& s : kSizes)
    for (uint64_t seed : kSeeds) {
      Inputs in = draw(s, std::vector<std::string>{"x", "a0"} + kRnn, seed);
      auto got = run("rnn_forward", in);
      Seq want = rnn_forward(in["x"], mat(in["a0"]), in);
      worst.check("a", err(got["a"], want.a));
      worst.check("y_pred", err(got["y_pred"], want.y));
    }
}

TEST_CASE("RnnStepByStep.LstmCellForward") {
  MaxErr worst{1e-12};
  for (const Sizes& s : kSizes)
    for (uint64_t seed : kSeeds) {
      Inputs in = draw(s, std::vector<std::string>{"xt", "a_prev", "c_prev"} + kLstm, seed);
      auto got = run("lstm_cell_forward", in);
      LstmCache want = lstm_cell_forward(mat(in["xt"]), mat(in["a_prev"]), mat(in["c_prev"]), in);
      worst.check("a_next", err(got["a_next"], want.a_next));
      worst.check("c_next", err(got["c_next"], want.c_next));
      worst.check("yt_pred", err(got["yt_pred"], want.yt_pred));
    }
}

TEST_CASE("RnnStepByStep.LstmForward") {
  MaxErr worst{1e-12};
  for (const Sizes& s : kSizes)
    for (uint64_t seed : kSeeds) {
      Inputs in = draw(s, std::vector<std::string>{"x", "a0"} + kLstm, seed);
      auto got = run("lstm_forward", in);
      std::vector<LstmCache> caches = lstm_forward(in["x"], mat(in["a0"]), in);
      Seq want;
      for (auto& k : caches) {
        want.a.push_back(k.a_next);
        want.c.push_back(k.c_next);
        want.y.push_back(k.yt_pred);
      }
      worst.check("a", err(got["a"], want.a));
      worst.check("y", err(got["y"], want.y));
      worst.check("c", err(got["c"], want.c));
    }
}

TEST_CASE("RnnStepByStep.RnnCellBackward") {
  MaxErr worst{1e-10};
  for (const Sizes& s : kSizes)
    for (uint64_t seed : kSeeds) {
      Inputs in = draw(s, {"xt", "a_prev", "Wax", "Waa", "ba", "da_next"}, seed);
      auto got = run("rnn_cell_backward", in);
      REQUIRE(got.size() == 5);
      Inputs fwd = in;
      fwd["Wya"] = Tensor(shape_of("Wya", s), DType::f64);
      fwd["by"] = Tensor(shape_of("by", s), DType::f64);
      const Mat xt = mat(in["xt"]), a_prev = mat(in["a_prev"]);
      Mat a_next = rnn_cell_forward(xt, a_prev, fwd).a_next;
      Grads want = rnn_cell_backward(mat(in["da_next"]), xt, a_prev, a_next, in);
      for (auto& [name, g] : want) worst.check(name, err(got.at(name), g));
    }
}

TEST_CASE("RnnStepByStep.RnnBackward") {
  MaxErr worst{1e-10};
  for (const Sizes& s : kSizes)
    for (uint64_t seed : kSeeds) {
      Inputs in = draw(s, {"x", "a0", "Wax", "Waa", "ba", "da"}, seed);
      auto got = run("rnn_backward", in);
      REQUIRE(got.size() == 5);
      Inputs fwd = in;
      fwd["Wya"] = Tensor(shape_of("Wya", s), DType::f64);
      fwd["by"] = Tensor(shape_of("by", s), DType::f64);
      Grads want = rnn_backward(in["da"], in["x"], mat(in["a0"]), fwd);
      std::vector<Mat> dx;
      for (int64_t t = 0; t < s.T_x; ++t) dx.push_back(want["dx" + std::to_string(t)]);
      worst.check("dx", err(got.at("dx"), dx));
      for (const char* n : {"da0", "dWax", "dWaa", "dba"}) worst.check(n, err(got.at(n), want[n]));
    }
}

TEST_CASE("RnnStepByStep.LstmCellBackward") {
  MaxErr worst{1e-10};
  for (const Sizes& s : kSizes)
    for (uint64_t seed : kSeeds) {
      Inputs in = draw(s, std::vector<std::string>{"xt", "a_prev", "c_prev", "da_next", "dc_next"} +
                              kLstm, seed);
      Inputs cell = in; // the backward graph takes no Wy, by
      cell.erase("Wy");
      cell.erase("by");
      auto got = run("lstm_cell_backward", cell);
      REQUIRE(got.size() == 11);
      LstmCache k = lstm_cell_forward(mat(in["xt"]), mat(in["a_prev"]), mat(in["c_prev"]), in);
      Grads want = lstm_cell_backward(mat(in["da_next"]), mat(in["dc_next"]), k, in);
      REQUIRE(want.size() == 11);
      for (auto& [name, g] : want) worst.check(name, err(got.at(name), g));
    }
}

TEST_CASE("RnnStepByStep.LstmBackward") {
  MaxErr worst{1e-10};
  for (const Sizes& s : kSizes)
    for (uint64_t seed : kSeeds) {
      Inputs in = draw(s, std::vector<std::string>{"x", "a0", "da"} + kLstm, seed);
      Inputs seq = in; // the backward graph takes no Wy, by
      seq.erase("Wy");
      seq.erase("by");
      auto got = run("lstm_backward", seq);
      REQUIRE(got.size() == 10);
      Grads want = lstm_backward(in["da"], in["x"], mat(in["a0"]), in);
      std::vector<Mat> dx;
      for (int64_t t = 0; t < s.T_x; ++t) dx.push_back(want["dx" + std::to_string(t)]);
      worst.check("dx", err(got.at("dx"), dx));
      for (const char* n : {"da0", "dWf", "dbf", "dWi", "dbi", "dWc", "dbc", "dWo", "dbo"})
        worst.check(n, err(got.at(n), want[n]));
    }
}

TEST_CASE("RnnStepByStep.ShapeErrors") {
  const Model& m = model();
  auto message = [&](const std::string& graph, const Inputs& in) -> std::string {
    try {
      m.build(graph, in, false);
    } catch (const std::invalid_argument& e) { // ShapeError is one
      return e.what();
    }
    FAIL("no error for " << graph);
    return {};
  };
  const Sizes s{3, 5, 2, 10, 4};
  Inputs in = draw(s, std::vector<std::string>{"x", "a0"} + kRnn, 3);
  in["a0"] = Tensor({6, 10}, DType::f64);
  std::string e = message("rnn_forward", in);
  INFO(e);
  CHECK(e.find("Wax") != std::string::npos); // the first input that disagrees with a0
  CHECK(e.find("a0 says n_a = 6") != std::string::npos);
  CHECK_THROWS_AS(m.build("rnn_forward", in, false), ShapeError);

  in = draw(s, std::vector<std::string>{"xt", "a_prev", "c_prev"} + kLstm, 3);
  in["Wf"] = Tensor({5, 9}, DType::f64); // n_a + n_x = 8
  e = message("lstm_cell_forward", in);
  INFO(e);
  CHECK(e.find("Wf is (5, 9)") != std::string::npos);
  CHECK(e.find("xt says n_x = 3") != std::string::npos);
  CHECK(e.find("a_prev says n_a = 5") != std::string::npos);

  in = draw(s, {"x", "a0", "Wax", "Waa", "ba", "da"}, 3);
  in["da"] = Tensor({5, 10, 3}, DType::f64); // T_x = 3 but x has 4 steps
  e = message("rnn_backward", in);
  INFO(e);
  CHECK(e.find("da is (5, 10, 3)") != std::string::npos);
  CHECK(e.find("x says T_x = 4") != std::string::npos);

  in = draw(s, {"xt", "a_prev", "Wax", "Waa", "ba", "da_next"}, 3);
  in["ba"] = Tensor({5}, DType::f64); // rank 1
  e = message("rnn_cell_backward", in);
  INFO(e);
  CHECK(e.find("ba is (5,)") != std::string::npos);
  CHECK(e.find("rank 2") != std::string::npos);
}
