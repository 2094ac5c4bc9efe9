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
// models/train/; the names and their (X, Y) models/data/dino_names.
#include "models/dinosaurus.hpp"

#include "graph/plan.hpp"
#include "models/train/fit_model.hpp"
#include "models/train/sampling.hpp"
#include "ops/ops.hpp"

#include <cctype>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>

namespace sg::dinosaurus {

namespace {

constexpr int64_t kDefaultSteps = 7;   // the unrolled length graph-run draws and evaluates
constexpr int kMaxChars = 50;          // a sampled name stops here if no '\n' came
constexpr int64_t kReportEvery = 2000; // the smoothed loss and samples, as the course
constexpr int kReportNames = 7;        // the course's dino_names
const uint64_t kSampleStream = rng::hash_name("dinosaurus/sample");

// ---- the model

struct Parameters {
  Value Wax, Waa, Wya, b, by;
};

// The course's initialize_parameters: randn * 0.01, biases zero.
Parameters initialize_parameters(Graph& g) {
  const auto randn = Initializer::normal(0, 0.01);
  return {param(g, "Wax", {n_a, n_x}, randn), param(g, "Waa", {n_a, n_a}, randn),
          param(g, "Wya", {n_x, n_a}, randn), param(g, "b", {n_a, 1}), param(g, "by", {n_x, 1})};
}

// The course's rnn_step_forward: a⟨t⟩ = tanh(Wax x⟨t⟩ + Waa a⟨t−1⟩ + b) ...
Value rnn_step_forward(const Parameters& p, Value a_prev, Value x) {
  return tanh(matmul(p.Wax, x) + matmul(p.Waa, a_prev) + p.b).named("a");
}

// ... and ŷ⟨t⟩ = softmax(z⟨t⟩), z⟨t⟩ = Wya a⟨t⟩ + by (one column per step)
Value logits(const Parameters& p, Value a) { return (matmul(p.Wya, a) + p.by).named("z"); }

// The course's rnn_forward over one name: x, T one-hot columns (the first
// zero); y, the T targets; a_prev, the state the previous name ended in
// (carried from step to step, as a stateful Keras RNN). Outputs: every
// step's ŷ and the last state a; the loss summed over the steps.
void rnn_forward(fit::Net& n) {
  const Parameters p = initialize_parameters(*n.g);
  std::vector<Value> a;
  Value at = n.in("a_prev");
  for (int64_t t = 0; t < n.size("steps"); ++t) {
    auto s = n.g->scope(fmt::format("t{}", t + 1));
    at = rnn_step_forward(p, at, slice(n.in("x"), 1, t, t + 1));
    a.push_back(at);
  }
  // Every step's ŷ⟨t⟩ at once: column t is softmax(Wya a⟨t⟩ + by).
  const Value z = logits(p, concat(a, 1));
  n.outputs["y_hat"] = softmax(z, 0).named("y_hat");
  n.outputs["a"] = at;
  if (n.mode != fit::Mode::predict)
    n.loss = sum(softmax_cross_entropy(z, n.in("y"), 0)).named("loss"); // summed over the steps
}

// The course's optimize: rnn_forward, its gradients, clip(gradients, 5), an SGD step of 0.01.
const fit::Spec spec{
    .name = "dinosaurus",
    .dtype = DType::f64, // as the course's numpy
    .inputs = {{"x", {fit::dim(n_x), fit::steps}}, {"a_prev", {fit::dim(n_a), fit::dim(1)}}},
    .targets = {{"y", {fit::dim(n_x), fit::steps}}},
    .build = rnn_forward,
    .optimizer = fit::sgd({.lr = 0.01, .clip = {.value = 5}}),
    .carried = {{"a_prev", "a"}},
};

// One step of the course's sample: (x⟨t⟩, a⟨t−1⟩) -> (a⟨t⟩, ŷ⟨t⟩).
void sample_step(fit::Net& n) {
  const Parameters p = initialize_parameters(*n.g);
  const Value a = n.outputs["a"] = rnn_step_forward(p, n.in("a_prev"), n.in("x"));
  n.outputs["y_hat"] = softmax(logits(p, a), 0).named("y_hat");
}

const fit::Spec step_spec{
    .name = "dinosaurus",
    .dtype = DType::f64,
    .inputs = {{"x", {fit::dim(n_x), fit::dim(1)}}, {"a_prev", {fit::dim(n_a), fit::dim(1)}}},
    .build = sample_step,
};

// ---- training and sampling

// Name k of a seed: x⟨1⟩ = 0, a⟨0⟩ = 0; each character drawn from ŷ⟨t⟩ with
// u = uniform(seed, stream k, t), fed back as x⟨t+1⟩, until '\n' or 50 characters.
class NameSampler {
public:
  NameSampler(ParamStore& store, uint64_t seed)
      : step_(fit::build(step_spec, {})),
        plan_(*step_.g, store, {step_.outputs.at("a"), step_.outputs.at("y_hat")}, {}, {DType::f64, seed}) {}

  std::string sample(uint64_t seed, uint64_t k, double temperature) {
    train::Sampler draw{seed, kSampleStream + k};
    const train::Autoregressive io{step_.in("x"), step_.outputs.at("y_hat"), {{step_.in("a_prev"), step_.outputs.at("a")}}};
    std::string name;
    for (int64_t i : train::sample_sequence(plan_, io, draw, temperature, kMaxChars, vocab().index('\n')))
      name += vocab().at(int(i));
    if (!name.empty()) name[0] = char(std::toupper(static_cast<unsigned char>(name[0])));
    return name;
  }

private:
  fit::Net step_;
  Plan plan_;
};

std::string names_file(const RunArgs& args) {
  const std::string& given = args.get_text("data");
  if (!given.empty()) return given;
  return (std::filesystem::path(data_dir(args.data_dir)) / "dinos.txt").string();
}

// The course's model(): optimize on name j mod N at step j, the loss smoothed
// (0.999 old + 0.001 new, from 7 ln 27), 7 sampled names every 2000 steps.
int train(const RunArgs& args) {
  const auto names = load_names(names_file(args), args.seed);
  ParamStore store;
  train::Trainer tr(train::LoopOptions::from(args, "dinosaurus", "iteration", "iterations"), store);
  fit::Network net(spec, store, args.seed); // a⟨0⟩ = 0, then the state carries over
  fit::track(net, tr);
  NameSampler sampler(store, args.seed);

  double smooth = -std::log(1.0 / double(n_x)) * kReportNames; // the course's get_initial_loss
  if (tr.resumed()) {
    if (tr.state().get_u64("names") != fingerprint(names))
      throw IoError(fmt::format("--resume: the names in '{}' are not those the checkpoint was trained on",
                                names_file(args)));
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
  ParamStore store = train::load_for(args.checkpoint, "dinosaurus", *fit::build(step_spec, {}).g);
  NameSampler sampler(store, args.seed);
  for (int64_t k = 0; k < args.get_int("n"); ++k)
    fmt::print("{}\n", sampler.sample(args.seed, uint64_t(k), args.get_number("temperature")));
  return 0;
}

std::vector<ModelOption> options() {
  auto o = train::loop_model_options("iterations", "iteration", "22001", "2000");
  o.push_back({.name = "data", .help = "The names file (default: dinos.txt in --data-dir, ./data or ../shared/data)",
               .type = OptionType::input_file, .commands = {"train"}});
  o.push_back({.name = "n", .help = "How many names to sample", .type = OptionType::integer, .default_value = "10",
               .min = at_least(0), .commands = {"sample"}});
  o.push_back(train::temperature_option("1")); // the course draws from p
  return o;
}

// graph-run's view: the unrolled training graph and the sampling step
const ModelRegistrar registrar(fit::with_graphs(
    {.name = "dinosaurus",
     .summary = "Dinosaurus Island: a character-level RNN (n_a = 50) that learns and invents dinosaur names",
     .options = options(),
     .train = train,
     .sample = sample},
    {{"train", &spec, {{"steps", kDefaultSteps}}}, {"sample_step", &step_spec}}));

} // namespace
} // namespace sg::dinosaurus
