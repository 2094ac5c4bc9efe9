// Operations on word vectors and debiasing (the course's "Operations on Word
// Vectors"): cosine similarity, analogies, nearest neighbours, the gender
// direction, neutralize and equalize (Bolukbasi et al., 2016). The course's
// functions are graph ops (cosine_similarity, complete_analogy's cosine with
// every word, neutralize, equalize), run once per command in float64, as the
// notebook's numpy; the words, their sums and the pair means that make their
// inputs come from models/data/word_terms.
//
//   graph-run word_vectors similarity father mother
//   graph-run word_vectors analogy man woman boy -k 3
//   graph-run word_vectors neutralize receptionist
#include "models/data/word_terms.hpp"
#include "models/model.hpp"
#include "models/train/compute.hpp"
#include "ops/ops.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace sg::word_vectors {
namespace {

// ---- the model: the course's functions as graph ops on word vectors (d,)

Value dot(Value u, Value v) { return sum(u * v); }
Value norm(Value u) { return sqrt(dot(u, u)); }

// cosine_similarity(u, v) = u·v / (||u|| ||v||)
Value cosine_similarity(Value u, Value v) { return dot(u, v) / (norm(u) * norm(v)); }

// The cosine of `target` with every row of the table (V, d), less `base` from each row if given: (V,).
Value cosine_with_rows(Value table, Value target, Value base = {}) {
  const int64_t d = table.dim(1);
  const Value rows = base ? table - reshape(base, {1, d}) : table;
  const Value dots = reshape(matmul(rows, reshape(target, {d, 1})), {table.dim(0)});
  return dots / (sqrt(sum(rows * rows, {1})) * norm(target));
}

// complete_analogy: a is to b as c is to the word w with the largest
// cos(e_b − e_a, e_w − e_c); here that cosine for every word w of the table.
Value complete_analogy(Value e_a, Value e_b, Value e_c, Value table) {
  return cosine_with_rows(table, e_b - e_a, e_c);
}

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

// ---- the commands: the notebook's cells, on the words of the command line

// The graph `build` makes of the inputs, run once in float64, as the notebook's numpy.
fit::Feeds run(const fit::Feeds& inputs, const std::function<void(fit::Net&)>& build) {
  return fit::compute(inputs, build, DType::f64);
}

long long k_of(const RunArgs& a, long long dflt) { return a.has("k") ? a.get_int("k") : dflt; }

void print_ranked(const std::vector<std::pair<std::string, double>>& top) {
  for (size_t i = 0; i < top.size(); ++i) fmt::print("{:>3}. {:<16} {:.12g}\n", i + 1, top[i].first, top[i].second);
}

void similarity(const RunArgs& a, const WordVectors& v) {
  const Term u = expression(v, a.args[0]), w = expression(v, a.args[1]);
  const std::string cos = fmt::format("cosine_similarity({}, {})", u.shown, w.shown);
  const auto r = run({{"u", direction(u, cos)}, {"v", direction(w, cos)}},
                     [](fit::Net& n) { n.outputs["cos"] = cosine_similarity(n.in("u"), n.in("v")); });
  fmt::print("cosine_similarity({}, {}) = {:.12g}\n", u.shown, w.shown, r.at("cos").at(0));
}

// a is to b as c is to ?: the best of the vocabulary less a, b and c.
void analogy(const RunArgs& a, const WordVectors& v) {
  const auto& w = a.args;
  const std::vector<int32_t> skip{lookup(v, w[0]), lookup(v, w[1]), lookup(v, w[2])};
  const auto r = run({{"e_a", vec(v, w[0])}, {"e_b", vec(v, w[1])}, {"e_c", vec(v, w[2])}, {"table", table(v)}},
                     [](fit::Net& n) {
                       n.outputs["cos"] = complete_analogy(n.in("e_a"), n.in("e_b"), n.in("e_c"), n.in("table"));
                     });
  const auto top = best(v, r.at("cos"), skip, k_of(a, 1));
  if (top.size() == 1) {
    fmt::print("{} -> {} :: {} -> {}   (cosine {:.12g})\n", w[0], w[1], w[2], top[0].first, top[0].second);
  } else {
    fmt::print("{} -> {} :: {} -> ?\n", w[0], w[1], w[2]);
    print_ranked(top);
  }
}

void neighbors(const RunArgs& a, const WordVectors& v) {
  for (const std::string& word : a.args) {
    const Term e = expression(v, word);
    std::vector<int32_t> skip;
    if (auto i = v.find(word)) skip.push_back(*i);
    const auto r = run({{"table", table(v)}, {"e", direction(e, "its cosine similarity with any word")}},
                       [](fit::Net& n) { n.outputs["cos"] = cosine_with_rows(n.in("table"), n.in("e")); });
    fmt::print("nearest to {} (cosine similarity):\n", e.shown);
    print_ranked(best(v, r.at("cos"), skip, k_of(a, 10)));
  }
}

void bias(const RunArgs& a, const WordVectors& v) {
  const Term g = gender_direction(v, a.get_text("pairs"));
  if (!a.quiet) fmt::print("g = {}\n", g.shown);
  const size_t width = std::ranges::max(a.args, {}, &std::string::size).size();
  for (const std::string& word : a.args) {
    const auto r = run({{"e", vec(v, word)}, {"g", g.e}}, [](fit::Net& n) {
      n.outputs["cos"] = cosine_similarity(n.in("e"), n.in("g"));
      n.outputs["projection"] = dot(n.in("e"), n.in("g")) / norm(n.in("g"));
    });
    fmt::print("{:<{}} = {:<16.12g}  (projection e.g/||g|| = {:.6g})\n", fmt::format("cosine_similarity({}, g)", word),
               width + 22, r.at("cos").at(0), r.at("projection").at(0));
  }
}

void cmd_neutralize(const RunArgs& a, const WordVectors& v) {
  const Term g = gender_direction(v, a.get_text("pairs"));
  const std::string& word = a.args[0];
  const auto r = run({{"e", vec(v, word)}, {"g", g.e}}, [](fit::Net& n) {
    n.outputs["before"] = cosine_similarity(n.in("e"), n.in("g"));
    n.outputs["after"] = cosine_similarity(neutralize(n.in("e"), n.in("g")), n.in("g"));
  });
  if (!a.quiet) fmt::print("g = {}\n", g.shown);
  fmt::print("cosine similarity between {} and g, before neutralizing: {:.12g}\n", word, r.at("before").at(0));
  fmt::print("cosine similarity between {} and g, after neutralizing:  {:.12g}\n", word, r.at("after").at(0));
}

void cmd_equalize(const RunArgs& a, const WordVectors& v) {
  const Term g = gender_direction(v, a.get_text("pairs"));
  const std::string &w1 = a.args[0], &w2 = a.args[1];
  const auto r = run({{"e_w1", vec(v, w1)}, {"e_w2", vec(v, w2)}, {"g", g.e}}, [](fit::Net& n) {
    const Value e_w1 = n.in("e_w1"), e_w2 = n.in("e_w2"), g = n.in("g");
    const auto [e1, e2] = equalize(e_w1, e_w2, g);
    n.outputs = {{"before 1", cosine_similarity(e_w1, g)}, {"before 2", cosine_similarity(e_w2, g)},
                 {"after 1", cosine_similarity(e1, g)}, {"after 2", cosine_similarity(e2, g)}};
  });
  if (!a.quiet) fmt::print("g = {}\n", g.shown);
  for (const char* when : {"before", "after"}) {
    fmt::print("cosine similarities {} equalizing:\n", when);
    for (auto& [w, k] : {std::pair{w1, "1"}, std::pair{w2, "2"}})
      fmt::print("  cosine_similarity(e_{}, g) = {:.12g}\n", w, r.at(fmt::format("{} {}", when, k)).at(0));
  }
}

// A cell as a command: on the words of the command line and the vectors of --vectors (no checkpoint).
ModelCommand cell(std::string name, std::string summary, std::string usage, int min_args, int max_args,
                  void (*f)(const RunArgs&, const WordVectors&)) {
  auto run = [f](const RunArgs& a) {
    f(a, read_vectors(a.get_text("vectors"), data_dir(a.data_dir)));
    return 0;
  };
  return {std::move(name), std::move(summary), std::move(usage), min_args, max_args, run, false};
}

const ModelRegistrar reg{Model{
    .name = "word_vectors",
    .summary = "operations on GloVe word vectors: similarity, analogies, neighbours, gender bias, "
               "neutralize, equalize",
    .options = {vectors_option(),
                {.name = "k",
                 .help = "How many answers (default: 1 for analogy, 10 for neighbors)",
                 .type = OptionType::integer,
                 .min = at_least(1),
                 .commands = {"analogy", "neighbors"}},
                {.name = "pairs",
                 .help = "The gender direction as the mean of e_a - e_b over pairs a:b,c:d,... (default: "
                         "g = e_woman - e_man)",
                 .commands = {"bias", "neutralize", "equalize"}}},
    .commands = {cell("similarity", "cosine similarity of two words (or word+word / word-word)", "W1 W2", 2, 2,
                      similarity),
                 cell("analogy", "a is to b as c is to ? (the whole vocabulary, less a, b and c)", "A B C", 3, 3,
                      analogy),
                 cell("neighbors", "the words closest to each W by cosine similarity", "W...", 1, -1, neighbors),
                 cell("bias", "cosine similarity of each word with the gender direction g", "W...", 1, -1, bias),
                 cell("neutralize", "remove W's component along g (cosine with g before and after)", "W", 1, 1,
                      cmd_neutralize),
                 cell("equalize", "make W1 and W2 differ only along g (cosines with g before and after)", "W1 W2", 2,
                      2, cmd_equalize)},
}};

} // namespace
} // namespace sg::word_vectors
