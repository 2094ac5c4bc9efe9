// GloVe trained by seqgraph (Pennington, Socher and Manning, 2014): the
// objective the course teaches,
//
//   J = Σ_ij f(X_ij) (w_iᵀ w̃_j + b_i + b̃_j − log X_ij)²,
//   f(x) = min((x / x_max)^α, 1), x_max = 100, α = 3/4,
//
// as a graph over a batch of co-occurrence pairs (embedding gathers, a
// row-wise dot product, the weighting in-graph), minimised with AdaGrad at
// lr 0.05 as the paper (accumulator starting at 1, as the reference code's
// gradsq; --lr-schedule decays the learning rate too, if given). The graph's
// loss is ½ Σ ...: its gradient is the reference code's f · diff (J = 2 ×
// loss). The co-occurrence counts come from any
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

#include "models/data/glove.hpp"
#include "models/model.hpp"
#include "models/train/compute.hpp"
#include "models/train/fit_model.hpp"
#include "ops/ops.hpp"

#include <chrono>
#include <cmath>
#include <fmt/format.h>

namespace sg::glove {

double weight(double x, double x_max, double alpha) { return x < x_max ? std::pow(x / x_max, alpha) : 1.0; }

namespace {

// ---- the model: the objective over a batch of pairs, AdaGrad

// The objective over pairs (i, j, x), parameters "W", "W_tilde", "b", "b_tilde":
//   J = ½ Σ f(x) (w_i · w̃_j + b_i + b̃_j − log x)²,  f(x) = min((x / x_max)^α, 1)
Value objective(Value i, Value j, Value x, int64_t V, int64_t d, double x_max) {
  Graph& g = i.graph();
  const auto init = Initializer::uniform(-0.5 / double(d), 0.5 / double(d));
  const Value W = param(g, "W", {V, d}, init), W_tilde = param(g, "W_tilde", {V, d}, init);
  const Value b = param(g, "b", {V}, init), b_tilde = param(g, "b_tilde", {V}, init);
  Value dot = sum(gather(W, i) * gather(W_tilde, j), {1}).named("dot");
  Value diff = (dot + gather(b, i) + gather(b_tilde, j) - log(x)).named("diff");
  Value f = clip(pow(x / x_max, kAlpha), 0.0, 1.0).named("f");
  return (0.5 * sum(f * square(diff))).named("loss");
}

// The paper's AdaGrad: lr, accumulators starting at 1 (its reference code), row-sparse.
AdaGrad adagrad(double lr, bool sparse_rows) {
  return {.lr = lr, .epsilon = 1e-8, .initial_accumulator = 1.0, .sparse_rows = sparse_rows};
}

fit::Spec spec(int64_t dim, double lr, double x_max) {
  return {.name = "glove",
          .dtype = DType::f32,
          .inputs = {{"i", {fit::batch}}, {"j", {fit::batch}}, {"x", {fit::batch}}},
          .build = [=](fit::Net& n) {
            n.loss = objective(n.in("i"), n.in("j"), n.in("x"), n.size("vocab"), dim, x_max);
          },
          .optimizer = fit::adagrad(adagrad(lr, true))};
}

// The vectors the paper keeps: W + W_tilde, written to --output.
void write_vectors(const RunArgs& args, const fit::Data& d, const ParamStore& store) {
  const std::string output = args.get_text("output");
  if (output.empty()) return;
  const auto sum = fit::compute({{"W", store.at("W")}, {"W_tilde", store.at("W_tilde")}},
                                [](fit::Net& n) { n.outputs["W + W_tilde"] = n.in("W") + n.in("W_tilde"); });
  const Vocab& vocab = static_cast<const Pairs&>(*d.train).vocab();
  write_glove(output, vocab.words, sum.at("W + W_tilde"));
  fmt::print("glove: {} vectors of {} written to {}\n", vocab.words.size(), args.get_int("dim"), output);
}

} // namespace

Net net(int64_t V, int64_t d, int64_t B, bool optimize, double lr, bool sparse_rows, double x_max) {
  Net n;
  n.i = input(*n.g, "i", {B});
  n.j = input(*n.g, "j", {B});
  n.x = input(*n.g, "x", {B});
  n.loss = objective(n.i, n.j, n.x, V, d, x_max);
  if (optimize) n.opt = minimize(n.loss, all_params(*n.g), adagrad(lr, sparse_rows));
  return n;
}

namespace {

// ---- the data: the co-occurrence pairs of the corpus (models/data/cooccurrence)

fit::Data data(const RunArgs& args) {
  const std::string corpus = args.get_text("corpus");
  const int64_t window = args.get_int("window"), min_count = args.get_int("min-count"),
                max_vocab = args.get_int("max-vocab");
  const auto t0 = std::chrono::steady_clock::now();
  const auto keep = words_of(args.get_text("keep-words"));
  Vocab vocab = build_vocab(corpus, min_count, max_vocab, keep);
  auto pairs = cooccurrences(corpus, vocab, int(window));
  const auto V = int64_t(vocab.words.size());
  const std::string note = fmt::format(
      "glove: {} words (min count {}{}{}), {} nonzero co-occurrences (window {}) from '{}' in {:.1f} s", V, min_count,
      max_vocab > 0 ? fmt::format(", at most {}", max_vocab) : "", keep.empty() ? "" : ", + --keep-words seen at all",
      pairs.size(), window, corpus, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return {.train = std::make_shared<Pairs>(std::move(vocab), std::move(pairs)), .notes = {note}, .sizes = {{"vocab", V}}};
}

// ---- graph-run's view: the training graph on eight fixed pairs of a vocabulary of 10, d = 4

const fit::Spec view = spec(4, 0.05, kXMax);
Tensor pairs(std::vector<double> v) { return Tensor::from({int64_t(v.size())}, v, DType::f64); }
const fit::Feeds eight_pairs = {{"i", pairs({0, 1, 2, 3, 4, 5, 6, 7})}, {"j", pairs({1, 0, 3, 2, 9, 8, 6, 5})},
                                {"x", pairs({3.5, 3.5, 1, 1, 0.5, 0.25, 120, 40})}};

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
    .spec = [](const OptionValues& o) { return spec(o.get_int("dim"), o.get_number("lr"), o.get_number("x-max")); },
    .data = data,
    .fit = [](const OptionValues& o) {
      return fit::FitOptions{.epochs = 25,
                             .batch_size = o.get_int("batch-size"),
                             .report_every = 1,
                             .summed_loss = true}; // the reference code's cost: ½ f diff² per pair
    },
    .epochs_default = "25",
    .graphs = {{.name = "train", .spec = &view, .sizes = {{"vocab", 10}}, .constants = eight_pairs}},
    .options = options(),
    .trained = write_vectors,
}));

} // namespace
} // namespace sg::glove
