// "Improvise a Jazz Solo with an LSTM Network" (Sequence Models, week 1), as
// the course builds it (djmodel): at each of the Tx = 30 steps the one-hot
// value x⟨t⟩ goes into ONE shared Keras LSTM cell (n_a = 64, a⟨0⟩ = c⟨0⟩ = 0)
// whose hidden state feeds ONE shared Dense(n_values, softmax):
//
//   a⟨t⟩, c⟨t⟩ = LSTM_cell(x⟨t⟩, [a⟨t−1⟩, c⟨t−1⟩]),   ŷ⟨t⟩ = softmax(a⟨t⟩ W + b),
//
// the targets y⟨t⟩ = x⟨t+1⟩ (the last one the zero vector), the loss Keras'
// categorical cross-entropy averaged over the batch and summed over the 30
// outputs, Adam (lr 0.01, β1 0.9, β2 0.999, decay 0.01), 100 epochs of
// Keras' fit: the m = 60 windows shuffled every epoch and cut into batches
// of 32 and 28. Generation (the course's music_inference_model) starts from
// x⟨1⟩ = 0, a⟨0⟩ = c⟨0⟩ = 0 and feeds each step's chosen value back in as
// the next input, 50 times; the values become notes and a MIDI file.
//
//   graph-run jazz train [--epochs 100] [--history loss.csv] [--resume]
//   graph-run jazz sample [-o solo.mid] [--temperature T] [--length 50] [--wav solo.wav]
//   graph-run dot jazz --backward -o jazz.svg
//
// The values (notes as (interval, length) and rests) are models/data/jazz_values;
// the loop mechanics (progress, history, checkpoints, resume) models/train/.
#include "models/jazz.hpp"

#include "autodiff/optimizers.hpp"
#include "graph/checkpoint.hpp"
#include "graph/plan.hpp"
#include "models/data/midi_render.hpp"
#include "models/model.hpp"
#include "models/train/fit.hpp"
#include "models/train/sampling.hpp"
#include "models/train/trainer.hpp"
#include "ops/layers.hpp"
#include "ops/ops.hpp"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <map>

namespace sg::jazz {

namespace fs = std::filesystem;

namespace {

constexpr DType kDType = DType::f32; // Keras' float32
constexpr int64_t kDrawSteps = 5;    // the unrolled length graph-run draws and checks
constexpr int64_t kDrawBatch = 4;
const uint64_t kSampleStream = rng::hash_name("jazz/sample");

// ---- the model

// The course's djmodel over a batch of windows X (batch, Tx, n_values):
// ONE shared LSTM cell and ONE shared Dense over the Tx steps; the targets
// Y (Tx, batch, n_values) as the course's Y.
void djmodel(fit::Net& n) {
  Graph& g = *n.g;
  const int64_t B = n.size("batch"), Tx = n.size("steps"), V = n.size("n_values");
  const LSTMWeights lstm = lstm_weights(g, "lstm", V, n_a); // the course's LSTM_cell
  const DenseWeights densor = dense_weights(g, "dense", n_a, V);
  LSTMState s; // a0 = c0 = 0 (Keras' default initial state)
  std::vector<Value> a;
  for (int64_t t = 0; t < Tx; ++t) {
    auto scope = g.scope(fmt::format("t{}", t + 1));
    s = lstm_cell(take(n.in("X"), 1, t).named("x"), s, lstm);
    a.push_back(s.h);
  }
  // The shared Dense on every step's a⟨t⟩ at once: row t·B + i is step t of example i.
  const Value z = dense(concat(a, 0), densor).named("z");
  n.outputs["y_hat"] = reshape(softmax(z, -1), {Tx, B, V}).named("y_hat");
  if (n.mode == fit::Mode::predict) return;
  const Value ce = softmax_cross_entropy(z, reshape(n.in("Y"), {Tx * B, V}), -1).named("cross_entropy");
  // Keras: each output's loss is its mean over the batch; the loss is their sum over the Tx outputs.
  n.loss = (sum(ce) * (1.0 / double(B))).named("loss");
}

const fit::Spec& spec() {
  static const fit::Spec s{
      .name = "jazz",
      .dtype = kDType,
      .inputs = {{"X", {fit::batch, fit::steps, fit::dim("n_values")}}},
      .targets = {{"Y", {fit::steps, fit::batch, fit::dim("n_values")}}},
      .build = djmodel,
      .optimizer = fit::adam({.lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .decay = 0.01}),
  };
  return s;
}

// The course's music_inference_model, one step: (x⟨t⟩, a⟨t−1⟩, c⟨t−1⟩) ->
// (a⟨t⟩, c⟨t⟩, ŷ⟨t⟩), batch 1, the same layers (by name) as djmodel's.
struct OneStep {
  std::unique_ptr<Graph> g = std::make_unique<Graph>();
  Value x, a_prev, c_prev, a, c, y_hat;
};

OneStep one_step(int64_t V) {
  OneStep n;
  Graph& g = *n.g;
  n.x = input(g, "x", {1, V});
  n.a_prev = input(g, "a_prev", {1, n_a});
  n.c_prev = input(g, "c_prev", {1, n_a});
  const LSTMState s = lstm_cell(n.x, {n.a_prev, n.c_prev}, lstm_weights(g, "lstm", V, n_a));
  n.a = s.h.named("a");
  n.c = s.c.named("c");
  n.y_hat = dense(n.a, dense_weights(g, "dense", n_a, V), "softmax").named("y_hat");
  return n;
}

std::string midi_file(const RunArgs& args) {
  const std::string& given = args.get_text("data");
  if (!given.empty()) return given;
  return (fs::path(data_dir(args.data_dir)) / "jazz" / "original_metheny.mid").string();
}

int train(const RunArgs& args) {
  const int64_t m = args.get_int("m"), batch_opt = args.get_int("batch-size");
  const int64_t batch_size = batch_opt == 0 ? m : std::min(batch_opt, m);

  const std::string file = midi_file(args);
  const JazzCorpus corpus = load_jazz_corpus(file);
  JazzWindows w;
  try {
    w = windows(corpus, int(m), kTx, args.seed);
  } catch (const std::invalid_argument& e) {
    throw IoError(fmt::format("{}: {}", file, e.what()));
  }
  fit::train(args, spec(), fit::Data{.train = std::make_shared<JazzDataset>(corpus, w)}, {.batch_size = batch_size}, [&](train::Trainer& tr) {
    tr.on_save([&](train::LoopState& s) { s.set_u64("vocab", vocab_fingerprint(corpus.vocab)); });
    if (tr.first_step() == 0 && tr.progress().mode() != train::ProgressMode::quiet)
      tr.progress().print(fmt::format(
          "jazz: {} values over a vocabulary of {} from '{}'; {} windows of Tx = {}, batches of {}",
          corpus.values.size(), corpus.vocab.size(), file, w.m, w.Tx, batch_size));
  });
  return 0;
}

// ---- generation

int sample(const RunArgs& args) {
  const int64_t length = args.get_int("length");
  const double temperature = args.get_number("temperature");
  const std::string out = args.get_text("o"), wav = args.get_text("wav");
  if (out.empty()) throw std::invalid_argument("-o: the MIDI file to write is needed");

  const std::string file = midi_file(args);
  const JazzCorpus corpus = load_jazz_corpus(file);
  const OneStep net = one_step(corpus.vocab.size());
  std::map<std::string, std::string> meta;
  ParamStore store = train::load_for(args.checkpoint, "jazz", *net.g, &meta);
  if (auto it = meta.find("loop.vocab");
      it != meta.end() && it->second != std::to_string(vocab_fingerprint(corpus.vocab)))
    throw IoError(fmt::format("checkpoint '{}' was trained on another vocabulary than the {} values "
                              "of '{}' (pass the --data it was trained on)",
                              args.checkpoint, corpus.vocab.size(), file));
  // x⟨1⟩ = a⟨0⟩ = c⟨0⟩ = 0; each value chosen from ŷ⟨t⟩ (temperature 0: the
  // argmax, as the course) and fed back as x⟨t+1⟩
  Plan plan(*net.g, store, {net.a, net.c, net.y_hat}, {}, {kDType, args.seed});
  train::Sampler draw{args.seed, kSampleStream};
  std::vector<int> values;
  for (int64_t v : train::sample_sequence(plan, {net.x, net.y_hat, {{net.a_prev, net.a}, {net.c_prev, net.c}}},
                                          draw, temperature, length))
    values.push_back(int(v));
  const MidiFile midi = jazz_midi(values, corpus);
  write_midi(out, midi);
  if (!args.quiet) {
    std::string labels;
    for (size_t i = 0; i < values.size(); ++i)
      labels += (i ? " " : "") + corpus.vocab.label(values[i]);
    fmt::print("{}\n", labels);
  }
  fmt::print("jazz: {} values -> {} notes, {:.1f} s at {:g} bpm -> {}\n", values.size(), midi.notes.size(),
             midi.seconds_at(midi.end_tick()), corpus.bpm, out);
  if (wav.empty()) return 0;
  const std::string with = render_wav(out, wav);
  if (!args.quiet) fmt::print("jazz: rendered {} with {} ({} bytes)\n", wav, with, fs::file_size(wav));
  return 0;
}

// ---- graph-run's view: the unrolled training graph and the generation step

BuiltGraph build(const std::string& graph, const std::map<std::string, Tensor>& given, bool backward) {
  if (graph == "train")
    return fit::built_graph(spec(), given, {{"batch", kDrawBatch}, {"steps", kDrawSteps}, {"n_values", kCourseValues}},
                            backward);
  if (graph == "sample_step") {
    int64_t V = kCourseValues;
    if (auto it = given.find("x"); it != given.end() && it->second.rank() == 2) V = it->second.dim(1);
    OneStep n = one_step(V);
    std::vector<Value> wrt = all_params(*n.g);
    wrt.insert(wrt.end(), {n.x, n.a_prev, n.c_prev});
    return {std::move(n.g), {{"a", n.a}, {"c", n.c}, {"y_hat", n.y_hat}}, wrt};
  }
  throw std::invalid_argument(fmt::format("jazz has no graph '{}'; it has: train, sample_step", graph));
}

std::vector<ModelOption> options() {
  auto o = train::loop_model_options("epochs", "epoch", "100", "10");
  for (auto& f : fit::fit_options()) o.push_back(f);
  o.push_back({.name = "data",
               .help = "The MIDI file to learn from (default: jazz/original_metheny.mid in --data-dir, "
                       "./data or ../shared/data); sample needs the same one, for its values",
               .type = OptionType::input_file});
  o.push_back({.name = "m",
               .help = "Training windows of Tx = 30 values drawn from the piece (the course's m)",
               .type = OptionType::integer,
               .default_value = "60",
               .min = at_least(1),
               .commands = {"train"}});
  o.push_back({.name = "batch-size",
               .help = "Windows per Adam step, as Keras' fit (0: all m at once)",
               .type = OptionType::integer,
               .default_value = "32",
               .min = at_least(0),
               .commands = {"train"}});
  o.push_back({.name = "o",
               .help = "The MIDI file to write",
               .type = OptionType::output_file,
               .default_value = "solo.mid",
               .commands = {"sample"}});
  o.push_back({.name = "length",
               .help = "How many values to generate (the course's Ty)",
               .type = OptionType::integer,
               .default_value = "50",
               .min = at_least(1),
               .commands = {"sample"}});
  o.push_back({.name = "temperature",
               .help = "0: the likeliest value every step (the course); T > 0: draw from p^(1/T)",
               .type = OptionType::number,
               .default_value = "0",
               .min = at_least(0),
               .commands = {"sample"}});
  o.push_back({.name = "wav",
               .help = "Also render the MIDI file to this WAV file (needs timidity or fluidsynth)",
               .type = OptionType::output_file,
               .commands = {"sample"}});
  return o;
}

const ModelRegistrar registrar(Model{
    .name = "jazz",
    .summary = "Jazz improvisation: an LSTM (n_a = 64) that learns a Pat Metheny solo and "
               "improvises MIDI",
    .options = options(),
    .graphs = {"train", "sample_step"},
    .build = build,
    .train = train,
    .sample = sample,
});

} // namespace

} // namespace sg::jazz
