// "Character level language model — Dinosaurus Island" (Sequence Models,
// week 1), as the course writes it: a vanilla RNN over one-hot characters,
//
//   a⟨t⟩ = tanh(Wax x⟨t⟩ + Waa a⟨t−1⟩ + b),   ŷ⟨t⟩ = softmax(Wya a⟨t⟩ + by),
//
// trained one name per step with plain SGD (learning rate 0.01, every
// gradient clipped to [−5, 5]) on the cross-entropy summed over the steps; the
// hidden state carries over from one name to the next. Sampling feeds each
// drawn character back in until '\n' or 50 characters.
//
//   graph-run dinosaurus train [--iterations 22001] [--history loss.csv] [--resume]
//   graph-run dinosaurus sample [-n 10] [--temperature 1] [--seed S]
//   graph-run dot dinosaurus --backward -o dinosaurus.svg
//
// The loop mechanics (progress, history, checkpoints, resume) are
// models/train/; the names file reader is models/data/text.
#include "models/dinosaurus.hpp"

#include "autodiff/optimizers.hpp"
#include "graph/plan.hpp"
#include "models/model.hpp"
#include "models/train/fit.hpp"
#include "models/train/sampling.hpp"
#include "models/train/trainer.hpp"
#include "ops/ops.hpp"

#include <cctype>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <map>

namespace sg::dinosaurus {

const data::CharVocab& vocab() {
  static const data::CharVocab v = data::newline_and_lowercase();
  return v;
}

std::vector<std::vector<int>> load_names(const std::string& path, uint64_t seed) {
  auto names = data::read_lines(path, vocab(), {.lower = true, .what = "name"});
  train::shuffle(names, seed, rng::hash_name("dinosaurus/shuffle"));
  return names;
}

uint64_t fingerprint(const std::vector<std::vector<int>>& names) {
  uint64_t h = rng::hash_name("dinosaurus/names");
  for (auto& name : names) {
    for (int c : name) h = rng::mix(h ^ uint64_t(c));
    h = rng::mix(h ^ 0xffu); // the end of a name
  }
  return h;
}

Example example(const std::vector<std::vector<int>>& names, int64_t j) {
  const auto& name = names[size_t(j % int64_t(names.size()))];
  Example e;
  e.X.push_back(-1); // None: x⟨1⟩ is the zero vector
  e.X.insert(e.X.end(), name.begin(), name.end());
  e.Y.assign(name.begin(), name.end());
  e.Y.push_back(vocab().index('\n'));
  return e;
}

namespace {

constexpr int64_t kDefaultSteps = 7;   // the unrolled length graph-run draws and evaluates
constexpr int kMaxChars = 50;          // a sampled name stops here if no '\n' came
constexpr int64_t kReportEvery = 2000; // the smoothed loss and samples, as the course
constexpr int kReportNames = 7;
const uint64_t kSampleStream = rng::hash_name("dinosaurus/sample");

// ---- the model

struct Params {
  Value Wax, Waa, Wya, b, by;
  std::vector<Value> all() const { return {Wax, Waa, Wya, b, by}; }
};

// As the course's initialize_parameters: randn * 0.01, biases zero.
Params parameters(Graph& g) {
  const auto randn = Initializer::normal(0, 0.01);
  return {param(g, "Wax", {n_a, n_x}, randn), param(g, "Waa", {n_a, n_a}, randn),
          param(g, "Wya", {n_x, n_a}, randn), param(g, "b", {n_a, 1}), param(g, "by", {n_x, 1})};
}

// a⟨t⟩ = tanh(Wax x⟨t⟩ + Waa a⟨t−1⟩ + b)
Value rnn_step(const Params& p, Value x, Value a_prev) {
  return tanh(matmul(p.Wax, x) + matmul(p.Waa, a_prev) + p.b).named("a");
}

// Wya a + by: the logits of ŷ (one column per step)
Value logits(const Params& p, Value a) { return (matmul(p.Wya, a) + p.by).named("z"); }

// The RNN unrolled over T steps: x, T one-hot columns (the first zero); y,
// the T targets; a_prev, the state the previous name ended in (carried
// from step to step, as a stateful Keras RNN). Outputs: every step's ŷ and
// the last state a; the loss summed over the steps.
void unrolled(fit::Net& n) {
  Graph& g = *n.g;
  const Params p = parameters(g);
  std::vector<Value> a;
  Value at = n.in("a_prev");
  for (int64_t t = 0; t < n.size("steps"); ++t) {
    auto s = g.scope(fmt::format("t{}", t + 1));
    at = rnn_step(p, slice(n.in("x"), 1, t, t + 1), at);
    a.push_back(at);
  }
  // Every step's ŷ⟨t⟩ at once: column t is softmax(Wya a⟨t⟩ + by).
  const Value z = logits(p, concat(a, 1));
  n.outputs["y_hat"] = softmax(z, 0).named("y_hat");
  n.outputs["a"] = at;
  if (n.mode != fit::Mode::predict)
    n.loss = sum(softmax_cross_entropy(z, n.in("y"), 0)).named("loss"); // summed over the steps
}

const fit::Spec& spec() {
  static const fit::Spec s{
      .name = "dinosaurus",
      .dtype = DType::f64, // as the course's numpy
      .inputs = {{"x", {fit::dim(n_x), fit::steps}}, {"a_prev", {fit::dim(n_a), fit::dim(1)}}},
      .targets = {{"y", {fit::dim(n_x), fit::steps}}},
      .build = unrolled,
      .optimizer = fit::sgd({.lr = 0.01, .clip = {.value = 5}}),
      .carried = {{"a_prev", "a"}},
  };
  return s;
}

// One step for sampling: (x⟨t⟩, a⟨t−1⟩) -> (a⟨t⟩, ŷ⟨t⟩).
struct OneStep {
  std::unique_ptr<Graph> g = std::make_unique<Graph>();
  Value x, a_prev, a, y_hat;
};

OneStep one_step() {
  OneStep n;
  Graph& g = *n.g;
  n.x = input(g, "x", {n_x, 1});
  n.a_prev = input(g, "a_prev", {n_a, 1});
  const Params p = parameters(g);
  n.a = rnn_step(p, n.x, n.a_prev);
  n.y_hat = softmax(logits(p, n.a), 0).named("y_hat");
  return n;
}

// ---- training and sampling

class NameSampler {
public:
  NameSampler(ParamStore& store, uint64_t seed)
      : net_(one_step()), plan_(*net_.g, store, {net_.a, net_.y_hat}, {}, {DType::f64, seed}) {}

  // Name k of a seed: x⟨1⟩ = 0, a⟨0⟩ = 0; each character drawn from ŷ⟨t⟩ with
  // u = uniform(seed, stream k, t), fed back as x⟨t+1⟩, until '\n' or 50 characters.
  std::string sample(uint64_t seed, uint64_t k, double temperature) {
    train::Sampler draw{seed, kSampleStream + k};
    std::string name;
    for (int64_t i : train::sample_sequence(plan_, {net_.x, net_.y_hat, {{net_.a_prev, net_.a}}}, draw,
                                            temperature, kMaxChars, vocab().index('\n')))
      name += vocab().at(int(i));
    if (!name.empty()) name[0] = char(std::toupper(static_cast<unsigned char>(name[0])));
    return name;
  }

private:
  OneStep net_;
  Plan plan_;
};

std::string names_file(const RunArgs& args) {
  const std::string& given = args.get_text("data");
  if (!given.empty()) return given;
  return (std::filesystem::path(data_dir(args.data_dir)) / "dinos.txt").string();
}

int train(const RunArgs& args) {
  const auto names = load_names(names_file(args), args.seed);
  ParamStore store;
  train::Trainer tr(train::LoopOptions::from(args, "dinosaurus", "iteration", "iterations"), store);
  fit::Network net(spec(), store, args.seed); // a⟨0⟩ = 0, then the state carries over
  fit::track(net, tr);
  NameSampler sampler(store, args.seed);

  double smooth = -std::log(1.0 / double(n_x)) * kReportNames; // the course's initial loss
  if (tr.resumed()) {
    if (tr.state().get_u64("names") != fingerprint(names))
      throw IoError(fmt::format("--resume: the names in '{}' are not those the checkpoint was "
                                "trained on", names_file(args)));
    smooth = tr.state().get_double("smooth_loss");
  }
  tr.on_save([&](train::LoopState& s) {
    s.set("smooth_loss", smooth);
    s.set_u64("names", fingerprint(names));
  });

  for (int64_t j = tr.first_step(); j < tr.steps(); ++j) {
    const Example e = example(names, j);
    const double loss = net.train_step({{"x", data::one_hot_columns(e.X, int(n_x))},
                                        {"y", data::one_hot_columns(e.Y, int(n_x))}}).loss;
    smooth = 0.999 * smooth + 0.001 * loss;
    tr.end_step(j, smooth);
    if (j % kReportEvery == 0 && tr.progress().mode() != train::ProgressMode::quiet) {
      std::string samples;
      for (int k = 0; k < kReportNames; ++k) samples += sampler.sample(args.seed, k, 1.0) + "\n";
      tr.report(j, smooth, samples + "\n");
    }
  }
  tr.finish(smooth);
  return 0;
}

int sample(const RunArgs& args) {
  const int64_t n = args.get_int("n");
  const double temperature = args.get_number("temperature");
  ParamStore store = train::load_for(args.checkpoint, "dinosaurus", *one_step().g);
  NameSampler sampler(store, args.seed);
  for (int64_t k = 0; k < n; ++k) fmt::print("{}\n", sampler.sample(args.seed, uint64_t(k), temperature));
  return 0;
}

// ---- graph-run's view: the unrolled training graph and the sampling step

BuiltGraph build(const std::string& graph, const std::map<std::string, Tensor>& given,
                 bool backward) {
  if (graph == "train") return fit::built_graph(spec(), given, {{"steps", kDefaultSteps}}, backward);
  if (graph == "sample_step") {
    OneStep n = one_step();
    std::vector<Value> wrt = all_params(*n.g);
    wrt.push_back(n.a_prev);
    return {std::move(n.g), {{"a", n.a}, {"y_hat", n.y_hat}}, wrt};
  }
  throw std::invalid_argument(
      fmt::format("dinosaurus has no graph '{}'; it has: train, sample_step", graph));
}

std::vector<ModelOption> options() {
  auto o = train::loop_model_options("iterations", "iteration", "22001", "2000");
  o.push_back({.name = "data",
               .help = "The names file (default: dinos.txt in --data-dir, ./data or ../shared/data)",
               .type = OptionType::input_file,
               .commands = {"train"}});
  o.push_back({.name = "n",
               .help = "How many names to sample",
               .type = OptionType::integer,
               .default_value = "10",
               .min = at_least(0),
               .commands = {"sample"}});
  o.push_back({.name = "temperature",
               .help = "Sharpen (< 1) or flatten (> 1) each softmax: p^(1/T); 0 = always the likeliest",
               .type = OptionType::number,
               .default_value = "1",
               .min = at_least(0),
               .commands = {"sample"}});
  return o;
}

const ModelRegistrar registrar(Model{
    .name = "dinosaurus",
    .summary = "Dinosaurus Island: a character-level RNN (n_a = 50) that learns and invents "
               "dinosaur names",
    .options = options(),
    .graphs = {"train", "sample_step"},
    .build = build,
    .train = train,
    .sample = sample,
});

} // namespace
} // namespace sg::dinosaurus
