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
//   graph-run jazz evaluate | predict X=x.npy [--output-dir DIR]
//   graph-run jazz sample [-o solo.mid] [--temperature T] [--length 50] [--wav solo.wav]
//   graph-run dot jazz --backward -o jazz.svg
//
// The values (notes as (interval, length) and rests) and the windows are
// models/data/jazz_values, the WAV rendering models/data/midi_render; train,
// evaluate and predict are fit::model's (models/train/fit_model.hpp).
#include "models/jazz.hpp"

#include "graph/errors.hpp"
#include "graph/plan.hpp"
#include "models/data/midi_render.hpp"
#include "models/train/fit_model.hpp"
#include "models/train/sampling.hpp"
#include "ops/keras.hpp"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>

namespace sg::jazz {

namespace {

using namespace layers;

// ---- the model

// The course's djmodel over windows X (batch, Tx, n_values): ONE LSTM cell and
// ONE Dense called at every step (Keras' shared layers: one set of weights).
// The Dense gives the logits; its softmax is applied apart, so that the loss
// is computed from the logits.
void djmodel(fit::Net& n) {
  LSTM LSTM_cell(n_a, {.return_state = true});
  Dense densor(n.size("n_values")); // softmax below
  std::vector<Value> state;         // [a, c]; none: zeros, Keras' default initial state
  std::vector<Value> outputs;
  for (int64_t t = 0; t < n.size("steps"); ++t) {
    auto scope = n.g->scope(fmt::format("t{}", t + 1));
    const Value x = slice(n.in("X"), 1, t, t + 1).named("x"); // X[:, t, :] as (batch, 1, n_values)
    const RecurrentOutput r = LSTM_cell.call(x, state);       // a, [a, c]
    state = r.state;
    outputs.push_back(densor(r.output));
  }
  const Value z = stack(outputs, 0).named("z"); // (Tx, batch, n_values), as the course's list of outputs
  n.outputs["y_hat"] = Activation("softmax")(z).named("y_hat");
  if (n.mode == fit::Mode::predict) return;
  // Keras: each output's loss is its mean over the batch; the loss is their sum over the Tx outputs.
  const Value ce = softmax_cross_entropy(z, n.in("Y"), -1).named("cross_entropy");
  n.loss = (sum(ce) * (1.0 / double(n.size("batch")))).named("loss");
}

const fit::Spec djmodel_spec{
    .name = "jazz",
    .dtype = DType::f32, // Keras' float32
    .inputs = {{"X", {fit::batch, fit::steps, fit::dim("n_values")}}},
    .targets = {{"Y", {fit::steps, fit::batch, fit::dim("n_values")}}},
    .build = djmodel,
    .optimizer = fit::adam({.lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .decay = 0.01}),
};

// The course's music_inference_model, one step: (x⟨t⟩, a⟨t−1⟩, c⟨t−1⟩) ->
// (a⟨t⟩, c⟨t⟩, ŷ⟨t⟩), the same layers as djmodel's (by name: its weights load).
void inference_step(fit::Net& n) {
  LSTM LSTM_cell(n_a, {.return_state = true});
  Dense densor(n.size("n_values"), {.activation = "softmax"});
  const RecurrentOutput r = LSTM_cell.call(n.in("x"), {n.in("a_prev"), n.in("c_prev")});
  n.outputs["a"] = r.state[0].named("a");
  n.outputs["c"] = r.state[1].named("c");
  n.outputs["y_hat"] = densor(r.output).named("y_hat");
}

const fit::Spec inference_spec{
    .name = "jazz",
    .dtype = DType::f32,
    .inputs = {{"x", {fit::batch, fit::dim(1), fit::dim("n_values")}},
               {"a_prev", {fit::batch, fit::dim(n_a)}},
               {"c_prev", {fit::batch, fit::dim(n_a)}}},
    .build = inference_step,
};

// ---- the data: m windows of Tx values of the piece (--data, -m, --seed), batches of --batch-size

std::string midi_file(const RunArgs& a) {
  const std::string& given = a.get_text("data");
  if (!given.empty()) return given;
  return (std::filesystem::path(data_dir(a.data_dir)) / "jazz" / "original_metheny.mid").string();
}

int64_t batch_size(const OptionValues& o) {
  const int64_t m = o.get_int("m"), b = o.get_int("batch-size");
  return b == 0 ? m : std::min(b, m); // 0: all m at once
}

fit::Data data(const RunArgs& a) {
  const std::string file = midi_file(a);
  JazzCorpus c = load_jazz_corpus(file);
  JazzWindows w;
  try {
    w = windows(c, int(a.get_int("m")), kTx, a.seed);
  } catch (const std::invalid_argument& e) {
    throw IoError(fmt::format("{}: {}", file, e.what()));
  }
  const std::string note = fmt::format("jazz: {} values over a vocabulary of {} from '{}'; {} windows of Tx = {}, "
                                       "batches of {}", c.values.size(), c.vocab.size(), file, w.m, w.Tx, batch_size(a));
  return {.train = std::make_shared<JazzDataset>(std::move(c), std::move(w)), .notes = {note}};
}

const JazzVocab& vocab_of(const fit::Data& d) { return static_cast<const JazzDataset&>(*d.train).corpus().vocab; }

// ---- generation

const uint64_t kSampleStream = rng::hash_name("jazz/sample");

int sample(const RunArgs& args) {
  const std::string out = args.get_text("o"), wav = args.get_text("wav");
  if (out.empty()) throw std::invalid_argument("-o: the MIDI file to write is needed");
  const std::string file = midi_file(args);
  const JazzCorpus corpus = load_jazz_corpus(file);
  const fit::Net step = fit::build(inference_spec, {{"batch", 1}, {"n_values", corpus.vocab.size()}});
  std::map<std::string, std::string> meta;
  ParamStore store = train::load_for(args.checkpoint, "jazz", *step.g, &meta);
  if (auto it = meta.find("loop.vocab"); it != meta.end() && it->second != std::to_string(vocab_fingerprint(corpus.vocab)))
    throw IoError(fmt::format("checkpoint '{}' was trained on another vocabulary than the {} values of '{}' (pass "
                              "the --data it was trained on)", args.checkpoint, corpus.vocab.size(), file));
  // x⟨1⟩ = a⟨0⟩ = c⟨0⟩ = 0; each value chosen from ŷ⟨t⟩ (temperature 0: the
  // argmax, as the course) and fed back as x⟨t+1⟩
  const Value a = step.outputs.at("a"), c = step.outputs.at("c"), y_hat = step.outputs.at("y_hat");
  Plan plan(*step.g, store, {a, c, y_hat}, {}, {DType::f32, args.seed});
  train::Sampler draw{args.seed, kSampleStream};
  std::vector<int> values;
  for (int64_t v : train::sample_sequence(plan, {step.in("x"), y_hat, {{step.in("a_prev"), a}, {step.in("c_prev"), c}}},
                                          draw, args.get_number("temperature"), args.get_int("length")))
    values.push_back(int(v));
  const MidiFile midi = jazz_midi(values, corpus);
  write_midi(out, midi);
  if (!args.quiet) {
    std::string labels;
    for (size_t i = 0; i < values.size(); ++i) labels += (i ? " " : "") + corpus.vocab.label(values[i]);
    fmt::print("{}\n", labels);
  }
  fmt::print("jazz: {} values -> {} notes, {:.1f} s at {:g} bpm -> {}\n", values.size(), midi.notes.size(),
             midi.seconds_at(midi.end_tick()), corpus.bpm, out);
  if (wav.empty()) return 0;
  const std::string with = render_wav(out, wav);
  if (!args.quiet) fmt::print("jazz: rendered {} with {} ({} bytes)\n", wav, with, std::filesystem::file_size(wav));
  return 0;
}

std::vector<ModelOption> options() {
  return {
      {.name = "data",
       .help = "The MIDI file to learn from (default: jazz/original_metheny.mid in --data-dir, ./data or "
               "../shared/data); sample needs the same one, for its values",
       .type = OptionType::input_file},
      {.name = "m", .help = "Training windows of Tx = 30 values drawn from the piece (the course's m)",
       .type = OptionType::integer, .default_value = "60", .min = at_least(1), .commands = {"train"}},
      {.name = "batch-size", .help = "Windows per Adam step, as Keras' fit (0: all m at once)",
       .type = OptionType::integer, .default_value = "32", .min = at_least(0), .commands = {"train"}},
      {.name = "o", .help = "The MIDI file to write", .type = OptionType::output_file, .default_value = "solo.mid",
       .commands = {"sample"}},
      {.name = "length", .help = "How many values to generate (the course's Ty)", .type = OptionType::integer,
       .default_value = "50", .min = at_least(1), .commands = {"sample"}},
      train::temperature_option("0"), // the course takes the likeliest value
      {.name = "wav", .help = "Also render the MIDI file to this WAV file (needs timidity or fluidsynth)",
       .type = OptionType::output_file, .commands = {"sample"}},
  };
}

const ModelRegistrar registrar(fit::model({
    .name = "jazz",
    .summary = "Jazz improvisation: an LSTM (n_a = 64) that learns a Pat Metheny solo and improvises MIDI",
    .spec = [](const OptionValues&) -> const fit::Spec& { return djmodel_spec; },
    .data = data,
    .fit = [](const OptionValues& o) { return fit::FitOptions{.batch_size = batch_size(o)}; },
    .epochs_default = "100",
    .save_every = "10",
    // unrolled over 5 steps with a batch of 4: small enough to draw and gradcheck
    .graphs = {{"train", &djmodel_spec, {{"batch", 4}, {"steps", 5}, {"n_values", kCourseValues}}},
               {"sample_step", &inference_spec, {{"batch", 1}, {"n_values", kCourseValues}}}},
    .options = options(),
    .sample = sample,
    .start = [](const RunArgs&, const fit::Data& d, train::Trainer& tr) { // sample checks the vocabulary
      tr.on_save([v = vocab_fingerprint(vocab_of(d))](train::LoopState& s) { s.set_u64("vocab", v); });
    },
}));

} // namespace

const fit::Spec& spec() { return djmodel_spec; }

} // namespace sg::jazz
