// GloVe trained by seqgraph (Pennington, Socher and Manning, 2014): the
// objective the course teaches,
//
//   J = Σ_ij f(X_ij) (w_iᵀ w̃_j + b_i + b̃_j − log X_ij)²,
//   f(x) = min((x / x_max)^α, 1), x_max = 100, α = 3/4,
//
// as a graph over a batch of co-occurrence pairs (embedding gathers, a
// row-wise dot product, the weighting in-graph), minimised with AdaGrad at
// lr 0.05 as the paper (accumulator starting at 1, as the reference code's
// gradsq). The graph's loss is ½ Σ ...: its gradient is the reference
// code's f · diff (J = 2 × loss). The co-occurrence counts come from any
// text corpus: window 10 each side, 1/distance weighting, symmetric, over the
// words seen --min-count times (the --max-vocab most frequent). The pairs are
// shuffled every epoch (seeded) and cut into batches (1024 pairs by
// default); one compiled graph per batch size (the last batch of an epoch is
// smaller). AdaGrad's update is row-sparse (autodiff/optimizers.hpp): a step
// costs in proportion to its batch, not to the vocabulary. The vectors written
// are W + W̃, the paper's choice, in the GloVe text format (write_glove,
// models/data/glove.hpp: what word_vectors and emojify read).
//
//   apt-get install -y dict-gcide wordnet-base mythes-en-us fortunes
//   models/data/glove_corpus.sh corpus.txt     # gcide + WordNet + thesaurus + fortunes
//   graph-run glove train --corpus corpus.txt --output vectors.txt [--dim 50] [--epochs 25]
//   graph-run word_vectors neighbors funny food --vectors vectors.txt [-k 10]
#include "models/glove.hpp"

#include "graph/errors.hpp"
#include "graph/random.hpp"
#include "models/data/glove.hpp"
#include "models/model.hpp"
#include "models/train/fit_model.hpp"
#include "models/train/trainer.hpp"
#include "ops/ops.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>

namespace sg::glove {

double weight(double x, double x_max, double alpha) { return x < x_max ? std::pow(x / x_max, alpha) : 1.0; }

namespace {

// The objective over pairs (i, j, x), parameters "W", "W_tilde", "b", "b_tilde":
//   J = ½ Σ f(x) (w_i · w̃_j + b_i + b̃_j − log x)²,  f(x) = min((x / x_max)^α, 1)
void objective(Net& n, int64_t V, int64_t d, double x_max) {
  Graph& g = *n.g;
  const double r = 0.5 / double(d);
  const auto init = Initializer::uniform(-r, r);
  n.W = param(g, "W", {V, d}, init);
  n.W_tilde = param(g, "W_tilde", {V, d}, init);
  n.b = param(g, "b", {V}, init);
  n.b_tilde = param(g, "b_tilde", {V}, init);
  Value dot = sum(gather(n.W, n.i) * gather(n.W_tilde, n.j), {1}).named("dot");
  Value diff = (dot + gather(n.b, n.i) + gather(n.b_tilde, n.j) - log(n.x)).named("diff");
  Value f = clip(pow(n.x / x_max, kAlpha), 0.0, 1.0).named("f");
  n.loss = (0.5 * sum(f * square(diff))).named("loss");
}

// The paper's AdaGrad: lr, accumulators starting at 1 (its reference code), row-sparse.
AdaGrad adagrad(double lr, bool sparse_rows) {
  return {.lr = lr, .epsilon = 1e-8, .initial_accumulator = 1.0, .sparse_rows = sparse_rows};
}

} // namespace

Net net(int64_t V, int64_t d, int64_t B, bool optimize, double lr, bool sparse_rows, double x_max) {
  Net n;
  n.i = input(*n.g, "i", {B});
  n.j = input(*n.g, "j", {B});
  n.x = input(*n.g, "x", {B});
  objective(n, V, d, x_max);
  if (optimize) n.opt = minimize(n.loss, {n.W, n.W_tilde, n.b, n.b_tilde}, adagrad(lr, sparse_rows));
  return n;
}

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

uint64_t pairs_fingerprint(const Vocab& v, const std::vector<Pair>& pairs) {
  uint64_t h = rng::hash_name("glove/cooccurrences");
  for (auto& w : v.words) h = rng::mix(h ^ rng::hash_name(w));
  h = rng::mix(h ^ uint64_t(pairs.size()));
  for (size_t k = 0; k < pairs.size(); k += 997) {
    double x = pairs[k].x;
    uint64_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    h = rng::mix(h ^ bits ^ (uint64_t(uint32_t(pairs[k].i)) << 32) ^ uint64_t(uint32_t(pairs[k].j)));
  }
  return h;
}

// ---- the data: the co-occurrence pairs of the corpus as fit batches, i, j, x (B) each

class Pairs : public fit::Dataset {
public:
  Pairs(Vocab vocab, std::vector<Pair> pairs)
      : vocab_(std::move(vocab)), pairs_(std::move(pairs)), fingerprint_(pairs_fingerprint(vocab_, pairs_)) {}
  int64_t size() const override { return int64_t(pairs_.size()); }
  uint64_t fingerprint() const override { return fingerprint_; }
  fit::Feeds batch(std::span<const int64_t> idx) const override {
    const int64_t B = int64_t(idx.size());
    Tensor i({B}, DType::f32), j({B}, DType::f32), x({B}, DType::f32);
    float *pi = i.data<float>(), *pj = j.data<float>(), *px = x.data<float>();
    for (int64_t k = 0; k < B; ++k) {
      const Pair& p = pairs_[size_t(idx[size_t(k)])];
      pi[k] = float(p.i);
      pj[k] = float(p.j);
      px[k] = float(p.x);
    }
    return {{"i", std::move(i)}, {"j", std::move(j)}, {"x", std::move(x)}};
  }
  const Vocab& vocab() const { return vocab_; }

private:
  Vocab vocab_;
  std::vector<Pair> pairs_;
  uint64_t fingerprint_;
};

fit::Data data(const RunArgs& args) {
  const std::string corpus = args.get_text("corpus");
  const int64_t window = args.get_int("window"), min_count = args.get_int("min-count"),
                max_vocab = args.get_int("max-vocab");
  auto t0 = Clock::now();
  const auto keep = words_of(args.get_text("keep-words"));
  Vocab vocab = build_vocab(corpus, min_count, max_vocab, keep);
  auto pairs = cooccurrences(corpus, vocab, int(window));
  const auto V = int64_t(vocab.words.size());
  const std::string note =
      fmt::format("glove: {} words (min count {}{}{}), {} nonzero co-occurrences (window {}) from '{}' in {:.1f} s",
                  V, min_count, max_vocab > 0 ? fmt::format(", at most {}", max_vocab) : "",
                  keep.empty() ? "" : ", + --keep-words seen at all", pairs.size(), window, corpus, since(t0));
  return {.train = std::make_shared<Pairs>(std::move(vocab), std::move(pairs)), .notes = {note}, .sizes = {{"vocab", V}}};
}

// ---- the model: the objective over a batch of pairs, AdaGrad

fit::Spec spec(const OptionValues& o) {
  const int64_t dim = o.get_int("dim");
  const double lr = o.get_number("lr"), x_max = o.get_number("x-max");
  return {.name = "glove",
          .dtype = DType::f32,
          .inputs = {{"i", {fit::batch}}, {"j", {fit::batch}}, {"x", {fit::batch}}},
          .build = [=](fit::Net& n) {
            Net o;
            o.g = std::move(n.g);
            o.i = n.in("i"), o.j = n.in("j"), o.x = n.in("x");
            objective(o, n.size("vocab"), dim, x_max);
            n.g = std::move(o.g);
            n.loss = o.loss;
          },
          .optimizer = [=](Value loss, const std::vector<Value>& params, const std::optional<LRSchedule>& s) {
            if (s) throw std::invalid_argument("glove: AdaGrad takes no --lr-schedule (its accumulators shrink the steps)");
            return minimize(loss, params, adagrad(lr, true));
          }};
}

// The vectors W + W_tilde, written to --output.
void write_vectors(const RunArgs& args, const fit::Data& d, const ParamStore& store) {
  const std::string output = args.get_text("output");
  if (output.empty()) return;
  const Vocab& vocab = static_cast<const Pairs&>(*d.train).vocab();
  const int64_t V = int64_t(vocab.words.size()), dim = args.get_int("dim");
  const Tensor W = store.at("W").to(DType::f32), Wt = store.at("W_tilde").to(DType::f32);
  Tensor sum_vectors({V, dim}, DType::f32);
  float* out = sum_vectors.data<float>();
  const float *w = W.data<float>(), *wt = Wt.data<float>();
  for (int64_t k = 0; k < V * dim; ++k) out[k] = w[k] + wt[k];
  write_glove(output, vocab.words, sum_vectors);
  fmt::print("glove: {} vectors of {} written to {}\n", V, dim, output);
}

// ---- graph-run's view: the training graph for a small vocabulary

BuiltGraph build(const std::map<std::string, Tensor>& inputs, bool backward) {
  // With --input i=... j=... x=... (shape (B), indices < 10): those; else
  // eight fixed pairs as constants (random inputs are no indices, nor counts).
  constexpr int64_t V = 10, d = 4;
  Net n;
  if (inputs.count("i") && inputs.count("j") && inputs.count("x") && inputs.at("i").rank() == 1) {
    const int64_t B = inputs.at("i").dim(0);
    n = net(V, d, B, backward);
  } else {
    auto pairs = [](std::vector<double> v) { return Tensor::from({int64_t(v.size())}, v, DType::f64); };
    n.i = constant(*n.g, pairs({0, 1, 2, 3, 4, 5, 6, 7}), "i");
    n.j = constant(*n.g, pairs({1, 0, 3, 2, 9, 8, 6, 5}), "j");
    n.x = constant(*n.g, pairs({3.5, 3.5, 1, 1, 0.5, 0.25, 120, 40}), "x");
    objective(n, V, d, kXMax);
    if (backward) n.opt = minimize(n.loss, {n.W, n.W_tilde, n.b, n.b_tilde}, adagrad(0.05, true));
  }
  BuiltGraph b;
  b.outputs = {{"loss", n.loss}};
  b.differentiable = {n.W, n.W_tilde, n.b, n.b_tilde};
  b.graph = std::move(n.g);
  return b;
}

std::vector<ModelOption> options() {
  std::vector<ModelOption> o;
  auto t = [&](std::string name, OptionType type, std::string help, std::string def,
               std::optional<Bound> min = {}) {
    o.push_back({.name = std::move(name), .help = std::move(help), .type = type,
                 .default_value = std::move(def), .min = min, .commands = {"train"}});
  };
  using T = OptionType;
  o.push_back({.name = "corpus",
               .help = "The text corpus (any text file; e.g. models/data/glove_corpus.sh corpus.txt)",
               .type = T::input_file,
               .commands = {"train"},
               .required = true});
  t("output", T::output_file, "Write the vectors W + W_tilde here in the GloVe text format", "");
  t("dim", T::integer, "The vector size d", "50", at_least(1));
  t("window", T::integer, "Context words counted on each side", "10", at_least(1));
  t("min-count", T::integer, "Keep the words seen at least this often", "5", at_least(1));
  t("keep-words", T::text, "Comma-separated text files whose words are kept if seen at all, whatever "
                           "--min-count (e.g. the Emojify CSVs)", "");
  t("max-vocab", T::integer, "Keep at most this many words, the most frequent (0 = no limit)", "0", at_least(0));
  t("batch-size", T::integer, "Co-occurrence pairs per AdaGrad step", "1024", at_least(1));
  t("lr", T::number, "AdaGrad's learning rate", "0.05", above(0));
  t("x-max", T::number, "The weighting's x_max: f(x) = min((x / x_max)^0.75, 1) (the paper's 100; its reference "
                        "code's demo uses 10 on a 17M-word corpus)", "100", above(0));
  return o;
}

const ModelRegistrar registrar(fit::model({
    .name = "glove",
    .summary = "GloVe word vectors trained from a text corpus's co-occurrence counts (AdaGrad)",
    .spec = spec,
    .data = data,
    .fit = [](const OptionValues& o) {
      return fit::FitOptions{.epochs = 25,
                             .batch_size = o.get_int("batch-size"),
                             .report_every = 1,
                             .summed_loss = true}; // the reference code's cost: ½ f diff² per pair
    },
    .epochs_default = "25",
    .graphs = {{.name = "train", .build = build}},
    .options = options(),
    .trained = write_vectors,
}));

} // namespace
} // namespace sg::glove
