// Operations on word vectors and debiasing (the course's "Operations on Word
// Vectors"): cosine similarity, analogies, nearest neighbours, the gender
// direction, neutralize and equalize (Bolukbasi et al., 2016). The course's
// functions are graph ops (cosine_similarity, neutralize, equalize, and the
// cosine with every row of the table for analogies and neighbours), run once
// per command in float64, as the notebook's numpy; the words' sums and pair
// means that make their inputs are added up on the host.
//
//   graph-run word_vectors similarity father mother
//   graph-run word_vectors analogy man woman boy -k 3
//   graph-run word_vectors neutralize receptionist
#include "models/data/glove.hpp"
#include "models/model.hpp"
#include "graph/plan.hpp"
#include "ops/ops.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fmt/format.h>
#include <numeric>
#include <stdexcept>

namespace sg {
namespace {

using Vec = std::vector<double>;

// Host-side sums of vectors, for the inputs (word+word, the mean of pair differences).
Vec operator+(Vec u, const Vec& v) {
  for (size_t i = 0; i < u.size(); ++i) u[i] += v[i];
  return u;
}
Vec operator-(Vec u, const Vec& v) {
  for (size_t i = 0; i < u.size(); ++i) u[i] -= v[i];
  return u;
}
Vec operator*(double a, Vec u) {
  for (double& x : u) x *= a;
  return u;
}

// ---- the model: the course's functions as graph ops on word vectors (d,)

Value dot(Value u, Value v) { return sum(u * v); }
Value norm(Value u) { return sqrt(dot(u, u)); }

// cosine_similarity(u, v) = u·v / (||u|| ||v||)
Value cosine_similarity(Value u, Value v) { return dot(u, v) / (norm(u) * norm(v)); }

// e_biascomponent = (e·g / ||g||²) g;  e_debiased = e − e_biascomponent
Value neutralize(Value e, Value g) { return e - (dot(e, g) / dot(g, g)) * g; }

// The pair moved to equal distance from the axis, symmetric about it.
std::pair<Value, Value> equalize(Value e_w1, Value e_w2, Value bias_axis) {
  const Value gg = dot(bias_axis, bias_axis);
  const Value mu = 0.5 * (e_w1 + e_w2);
  const Value mu_B = (dot(mu, bias_axis) / gg) * bias_axis;
  const Value mu_orth = mu - mu_B;
  const Value e_w1B = (dot(e_w1, bias_axis) / gg) * bias_axis;
  const Value e_w2B = (dot(e_w2, bias_axis) / gg) * bias_axis;
  const Value r = 1.0 - dot(mu_orth, mu_orth);
  const Value s = sqrt(maximum(r, -r)); // sqrt(|1 − ||mu_orth||²|)
  const Value corrected_e_w1B = (s / norm(e_w1 - mu_orth - mu_B)) * (e_w1B - mu_B);
  const Value corrected_e_w2B = (s / norm(e_w2 - mu_orth - mu_B)) * (e_w2B - mu_B);
  return {corrected_e_w1B + mu_orth, corrected_e_w2B + mu_orth};
}

// The cosine of `target` with every row of the table (V, d), less `base` from each row if given: (V,).
Value cosine_with_rows(Value table, Value target, Value base) {
  const int64_t d = table.dim(1);
  const Value rows = base ? table - reshape(base, {1, d}) : table;
  const Value dots = reshape(matmul(rows, reshape(target, {d, 1})), {table.dim(0)});
  return dots / (sqrt(sum(rows * rows, {1})) * norm(target));
}

// Graphs are small and run once, in float64 as the notebook's numpy.
struct Eval {
  Graph g;
  Value vec(const Vec& v) { return constant(g, Tensor::from({int64_t(v.size())}, v, DType::f64)); }
  std::vector<Tensor> run(const std::vector<Value>& outs) {
    ParamStore none;
    Plan plan(g, none, outs, {}, {DType::f64});
    plan.run();
    std::vector<Tensor> r;
    for (const Value& v : outs) r.push_back(plan.fetch(v));
    return r;
  }
  double scalar(Value v) { return run({v})[0].at(0); }
};

// ---- command-line plumbing

WordVectors load(const RunArgs& a) {
  std::string path = a.get_text("vectors");
  if (path.empty()) path = data_dir(a.data_dir) + "/glove/glove.6B.50d.5k.txt";
  return read_glove(path);
}

// A word, else its lower-case spelling (GloVe 6B is lower-case), else an error naming it.
int32_t lookup(const WordVectors& v, const std::string& w) {
  if (auto i = v.find(w)) return *i;
  std::string lower = w;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (auto i = v.find(lower)) return *i;
  return v.at(w); // throws, with the closest spellings
}
Vec vec(const WordVectors& v, const std::string& w) {
  const double* r = v.row(lookup(v, w));
  return Vec(r, r + v.dim);
}

// A word, or a sum/difference of words such as "france-paris" (a word of the
// vocabulary that holds '-' is taken whole). Sets `shown` to "france - paris".
Vec expression(const WordVectors& v, const std::string& e, std::string& shown) {
  if (v.find(e) || e.find_first_of("+-") == std::string::npos || e.size() == 1) {
    shown = e;
    return vec(v, e);
  }
  Vec r(static_cast<size_t>(v.dim), 0.0);
  shown.clear();
  size_t i = 0;
  char sign = '+';
  while (i <= e.size()) {
    size_t j = e.find_first_of("+-", i);
    if (j == std::string::npos) j = e.size();
    const std::string w = e.substr(i, j - i);
    if (w.empty()) throw std::invalid_argument(fmt::format("'{}': expected word+word or word-word", e));
    r = sign == '+' ? r + vec(v, w) : r - vec(v, w);
    shown += (shown.empty() ? (sign == '-' ? "-" : "") : sign == '-' ? " - " : " + ") + w;
    if (j == e.size()) break;
    sign = e[j];
    i = j + 1;
  }
  return r;
}

// g = e_woman − e_man, or the mean of e_a − e_b over --pairs "a:b,c:d,...".
Vec gender_direction(const WordVectors& v, const RunArgs& a, std::string& shown) {
  const std::string pairs = a.get_text("pairs");
  if (pairs.empty()) {
    shown = "woman - man";
    return vec(v, "woman") - vec(v, "man");
  }
  Vec g(static_cast<size_t>(v.dim), 0.0);
  int n = 0;
  size_t i = 0;
  while (i <= pairs.size()) {
    size_t j = pairs.find(',', i);
    if (j == std::string::npos) j = pairs.size();
    const std::string p = pairs.substr(i, j - i);
    const size_t c = p.find(':');
    if (c == std::string::npos || c == 0 || c + 1 == p.size())
      throw std::invalid_argument(fmt::format("--pairs: '{}' is not a pair a:b (e.g. woman:man,girl:boy)", p));
    g = g + (vec(v, p.substr(0, c)) - vec(v, p.substr(c + 1)));
    ++n;
    i = j + 1;
  }
  shown = fmt::format("the mean of {} pair difference(s)", n);
  return (1.0 / n) * g;
}

long long k_of(const RunArgs& a, long long dflt) { return a.has("k") ? a.get_int("k") : dflt; }

// The k words w (not in `skip`) with the largest cosine(target, e_w − base), best first.
std::vector<std::pair<double, int32_t>> best(const WordVectors& v, const Vec& target, const Vec* base,
                                             const std::vector<int32_t>& skip, long long k) {
  Eval e;
  const Value table = constant(e.g, Tensor::from({v.size(), v.dim}, std::vector<double>(v.row(0), v.row(0) + v.size() * v.dim), DType::f64));
  const Tensor cos = e.run({cosine_with_rows(table, e.vec(target), base ? e.vec(*base) : Value())})[0];
  std::vector<std::pair<double, int32_t>> s;
  s.reserve(static_cast<size_t>(v.size()));
  for (int32_t i = 0; i < v.size(); ++i)
    if (std::find(skip.begin(), skip.end(), i) == skip.end()) s.emplace_back(cos.at(i), i);
  const size_t n = std::min(s.size(), static_cast<size_t>(k));
  std::partial_sort(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(n), s.end(),
                    [](auto& x, auto& y) { return x.first > y.first; });
  s.resize(n);
  return s;
}

// cosine_similarity(u, v), computed by its graph
double cosine(const Vec& u, const Vec& v) {
  Eval e;
  return e.scalar(cosine_similarity(e.vec(u), e.vec(v)));
}

// ---- the commands

int similarity(const RunArgs& a) {
  const WordVectors v = load(a);
  std::string s1, s2;
  const Vec u = expression(v, a.args[0], s1), w = expression(v, a.args[1], s2);
  fmt::print("cosine_similarity({}, {}) = {:.12g}\n", s1, s2, cosine(u, w));
  return 0;
}

// a is to b as c is to ?: argmax over the vocabulary (less a, b, c) of cos(e_b − e_a, e_w − e_c).
int analogy(const RunArgs& a) {
  const WordVectors v = load(a);
  const auto& w = a.args;
  const std::vector<int32_t> skip{lookup(v, w[0]), lookup(v, w[1]), lookup(v, w[2])};
  const Vec e_c = vec(v, w[2]);
  const auto top = best(v, vec(v, w[1]) - vec(v, w[0]), &e_c, skip, k_of(a, 1));
  if (top.size() == 1) {
    fmt::print("{} -> {} :: {} -> {}   (cosine {:.12g})\n", w[0], w[1], w[2],
               v.words[static_cast<size_t>(top[0].second)], top[0].first);
    return 0;
  }
  fmt::print("{} -> {} :: {} -> ?\n", w[0], w[1], w[2]);
  for (size_t i = 0; i < top.size(); ++i)
    fmt::print("{:>3}. {:<16} {:.12g}\n", i + 1, v.words[static_cast<size_t>(top[i].second)], top[i].first);
  return 0;
}

int neighbors(const RunArgs& a) {
  const WordVectors v = load(a);
  for (const std::string& word : a.args) {
    std::string shown;
    const Vec e = expression(v, word, shown);
    std::vector<int32_t> skip;
    if (auto i = v.find(word)) skip.push_back(*i);
    const auto top = best(v, e, nullptr, skip, k_of(a, 10));
    fmt::print("nearest to {} (cosine similarity):\n", shown);
    for (size_t i = 0; i < top.size(); ++i)
      fmt::print("{:>3}. {:<16} {:.12g}\n", i + 1, v.words[static_cast<size_t>(top[i].second)], top[i].first);
  }
  return 0;
}

int bias(const RunArgs& a) {
  const WordVectors v = load(a);
  std::string shown;
  const Vec g = gender_direction(v, a, shown);
  if (!a.quiet) fmt::print("g = {}\n", shown);
  size_t w = 0;
  for (auto& word : a.args) w = std::max(w, word.size());
  for (auto& word : a.args) {
    Eval e;
    const Value ev = e.vec(vec(v, word)), gv = e.vec(g);
    const auto r = e.run({cosine_similarity(ev, gv), dot(ev, gv) / norm(gv)});
    fmt::print("{:<{}} = {:<16.12g}  (projection e.g/||g|| = {:.6g})\n",
               fmt::format("cosine_similarity({}, g)", word), w + 22, r[0].at(0), r[1].at(0));
  }
  return 0;
}

int cmd_neutralize(const RunArgs& a) {
  const WordVectors v = load(a);
  std::string shown;
  const Vec g = gender_direction(v, a, shown);
  const std::string& word = a.args[0];
  Eval ev;
  const Value e = ev.vec(vec(v, word)), gv = ev.vec(g);
  const auto r = ev.run({cosine_similarity(e, gv), cosine_similarity(neutralize(e, gv), gv)});
  if (!a.quiet) fmt::print("g = {}\n", shown);
  fmt::print("cosine similarity between {} and g, before neutralizing: {:.12g}\n", word, r[0].at(0));
  fmt::print("cosine similarity between {} and g, after neutralizing:  {:.12g}\n", word, r[1].at(0));
  return 0;
}

int cmd_equalize(const RunArgs& a) {
  const WordVectors v = load(a);
  std::string shown;
  const Vec g = gender_direction(v, a, shown);
  const std::string &w1 = a.args[0], &w2 = a.args[1];
  Eval ev;
  const Value e1 = ev.vec(vec(v, w1)), e2 = ev.vec(vec(v, w2)), gv = ev.vec(g);
  const auto [q1, q2] = equalize(e1, e2, gv);
  const auto r = ev.run({cosine_similarity(e1, gv), cosine_similarity(e2, gv), cosine_similarity(q1, gv),
                         cosine_similarity(q2, gv)});
  if (!a.quiet) fmt::print("g = {}\n", shown);
  fmt::print("cosine similarities before equalizing:\n");
  fmt::print("  cosine_similarity(e_{}, g) = {:.12g}\n", w1, r[0].at(0));
  fmt::print("  cosine_similarity(e_{}, g) = {:.12g}\n", w2, r[1].at(0));
  fmt::print("cosine similarities after equalizing:\n");
  fmt::print("  cosine_similarity(e_{}, g) = {:.12g}\n", w1, r[2].at(0));
  fmt::print("  cosine_similarity(e_{}, g) = {:.12g}\n", w2, r[3].at(0));
  return 0;
}

const ModelRegistrar reg{Model{
    .name = "word_vectors",
    .summary = "operations on GloVe word vectors: similarity, analogies, neighbours, gender bias, "
               "neutralize, equalize",
    .options =
        {
            {.name = "vectors",
             .help = "Word vectors in the GloVe text format (default: glove/glove.6B.50d.5k.txt in "
                     "the data directory)",
             .type = OptionType::input_file},
            {.name = "k",
             .help = "How many answers (default: 1 for analogy, 10 for neighbors)",
             .type = OptionType::integer,
             .min = at_least(1),
             .commands = {"analogy", "neighbors"}},
            {.name = "pairs",
             .help = "The gender direction as the mean of e_a - e_b over pairs a:b,c:d,... (default: "
                     "g = e_woman - e_man)",
             .commands = {"bias", "neutralize", "equalize"}},
        },
    .commands =
        {
            {"similarity", "cosine similarity of two words (or word+word / word-word)", "W1 W2", 2, 2,
             similarity, false},
            {"analogy", "a is to b as c is to ? (the whole vocabulary, less a, b and c)", "A B C", 3, 3,
             analogy, false},
            {"neighbors", "the words closest to each W by cosine similarity", "W...", 1, -1, neighbors,
             false},
            {"bias", "cosine similarity of each word with the gender direction g", "W...", 1, -1, bias,
             false},
            {"neutralize", "remove W's component along g (cosine with g before and after)", "W", 1, 1,
             cmd_neutralize, false},
            {"equalize", "make W1 and W2 differ only along g (cosines with g before and after)", "W1 W2", 2,
             2, cmd_equalize, false},
        },
}};

} // namespace
} // namespace sg
