// "Trigger word detection" (Sequence Models, week 3): hear "activate" in 10 s
// of audio. The course's model (its Keras code, below as ours):
//
//   X (Tx = 5511 spectrogram frames, 101 frequencies)
//   -> Conv1D(196, kernel 15, strides 4) -> BatchNormalization -> ReLU -> Dropout
//   -> GRU(128, return_sequences) -> Dropout -> BatchNormalization
//   -> GRU(128, return_sequences) -> Dropout -> BatchNormalization -> Dropout
//   -> TimeDistributed(Dense(1, sigmoid))                      (Ty = 1375, 1)
//
// GRUs with reset_after (tf.keras 2.x); 523,329 parameters (904 of them the
// BatchNormalizations' moving statistics). The loss is Keras'
// binary_crossentropy per output step, from the logits (sigmoid_cross_entropy,
// fused and stable), averaged; the metric its binary accuracy per step.
//
// The data (models/data/trigger_synth.hpp): examples synthesized from the
// course's clips as its create_training_example does, example i of a seed
// computed when a batch asks for it (10 s of audio and its 5511 x 101
// spectrogram: ~2.2 MB each as float32, so a set is not held in memory).
//
//   graph-run trigger_word synth [--seed S] [--index I] -o ex.wav   one example and its labels
//   graph-run trigger_word summary                                  the layers and their parameters
//
// In progress (issue 12): the training defaults, detection, plots.
#include "graph/random.hpp"
#include "models/data/spectrogram.hpp"
#include "models/data/trigger_synth.hpp"
#include "models/model.hpp"
#include "models/train/fit_model.hpp"
#include "ops/keras.hpp"

#include <filesystem>
#include <fmt/format.h>
#include <memory>

namespace sg::trigger_word {

namespace {

using namespace layers;

constexpr int64_t kTx = 5511, kFreq = 101;

void trigger_model(fit::Net& n) {
  Value X = n.in("X");
  X = Conv1D(196, 15, {.strides = 4})(X);
  X = BatchNormalization()(X);
  X = Activation("relu")(X);
  X = Dropout(0.8)(X);
  X = GRU(128, {.return_sequences = true})(X);
  X = Dropout(0.8)(X);
  X = BatchNormalization()(X);
  X = GRU(128, {.return_sequences = true})(X);
  X = Dropout(0.8)(X);
  X = BatchNormalization()(X);
  X = Dropout(0.8)(X);
  const Value z = TimeDistributed(Dense(1))(X).named("z"); // the logits; the sigmoid below
  n.outputs["y_hat"] = Activation("sigmoid")(z).named("y_hat");
  if (n.mode == fit::Mode::predict) return;
  const Value Y = n.in("Y");
  n.loss = mean(sigmoid_cross_entropy(z, Y)).named("loss");
  // a step is right when the logit's sign agrees with the label (0 or 1)
  n.metrics["accuracy"] = mean(in_range(step(z) - Y, -0.5, 0.5));
}

const fit::Spec trigger_spec{
    .name = "trigger_word",
    .dtype = DType::f32,
    .inputs = {{"X", {fit::batch, fit::dim(kTx), fit::dim(kFreq)}}},
    .targets = {{"Y", {fit::batch, fit::dim(trigger::kTy), fit::dim(1)}}},
    .build = trigger_model,
    .optimizer = fit::adam({.lr = 0.001, .beta1 = 0.9, .beta2 = 0.999}),
    .metrics = {"accuracy"},
};

// The spectrogram of an example's channel 0 as the model's input rows (Tx, 101).
void put_spectrogram(const audio::Clip& c, float* out) {
  const audio::Spectrogram s = audio::specgram(c.channel(0));
  if (s.frames != kTx || s.bins != kFreq)
    throw std::runtime_error(fmt::format("spectrogram of {} x {}, expected {} x {}", s.frames, s.bins, kTx, kFreq));
  for (size_t i = 0; i < s.values.size(); ++i) out[i] = float(s.values[i]);
}

// m examples of a seed, synthesized when a batch asks for them.
class SynthSet : public fit::Dataset {
public:
  SynthSet(std::shared_ptr<const trigger::RawData> raw, int64_t m, uint64_t seed)
      : raw_(std::move(raw)), m_(m), seed_(seed) {}
  int64_t size() const override { return m_; }
  uint64_t fingerprint() const override { return rng::hash(seed_, rng::hash_name("trigger_word/set"), uint64_t(m_)); }
  fit::Feeds batch(std::span<const int64_t> indices) const override {
    const int64_t b = int64_t(indices.size());
    Tensor X({b, kTx, kFreq}, DType::f32), Y({b, trigger::kTy, 1}, DType::f32);
    for (int64_t k = 0; k < b; ++k) {
      const trigger::Example e = trigger::create_training_example(*raw_, seed_, uint64_t(indices[size_t(k)]));
      put_spectrogram(e.audio, X.data<float>() + k * kTx * kFreq);
      std::copy(e.y.begin(), e.y.end(), Y.data<float>() + k * trigger::kTy);
    }
    return {{"X", std::move(X)}, {"Y", std::move(Y)}};
  }

private:
  std::shared_ptr<const trigger::RawData> raw_;
  int64_t m_;
  uint64_t seed_;
};

std::string raw_dir(const RunArgs& a) {
  return (std::filesystem::path(data_dir(a.data_dir)) / "trigger_word" / "raw_data").string();
}


fit::Data data(const RunArgs& a) {
  auto raw = std::make_shared<const trigger::RawData>(trigger::load_raw_data(raw_dir(a)));
  auto train = std::make_shared<SynthSet>(raw, a.get_int("m"), a.seed);
  auto dev = std::make_shared<SynthSet>(raw, a.get_int("dev-size"), rng::derive(a.seed, "trigger_word/dev"));
  return {.train = train,
          .validation = dev,
          .notes = {fmt::format("trigger_word: {} synthesized training examples (--seed {}), {} dev examples "
                                "(another stream), from {} activates, {} negatives, {} backgrounds",
                                train->size(), a.seed, dev->size(), raw->activates.size(),
                                raw->negatives.size(), raw->backgrounds.size())}};
}

std::string intervals(const std::vector<float>& y) {
  std::string s;
  for (int64_t i = 0; i < int64_t(y.size()); ++i)
    if (y[size_t(i)] > 0 && (i == 0 || y[size_t(i - 1)] == 0)) {
      int64_t j = i;
      while (j + 1 < int64_t(y.size()) && y[size_t(j + 1)] > 0) ++j;
      s += fmt::format("{}{}..{}", s.empty() ? "" : ", ", i, j);
    }
  return s.empty() ? "none" : s;
}

int synth_command(const RunArgs& a) {
  const trigger::RawData raw = trigger::load_raw_data(raw_dir(a));
  const uint64_t index = uint64_t(a.get_int("index"));
  const trigger::Example e = trigger::create_training_example(raw, a.seed, index);
  const std::string out = a.get_text("o");
  audio::write_wav(out, e.audio);
  fmt::print("example {} of seed {}: background {}, {:.1f} dBFS -> {}\n", index, a.seed,
             raw.background_names[size_t(e.background_id)], trigger::dbfs(e.audio), out);
  for (size_t k = 0; k < e.activates.size(); ++k)
    fmt::print("  activate  {:>5} .. {:>5} ms  ({})\n", e.activates[k].start_ms, e.activates[k].end_ms,
               raw.activate_names[size_t(e.activate_ids[k])]);
  for (size_t k = 0; k < e.negatives.size(); ++k)
    fmt::print("  negative  {:>5} .. {:>5} ms  ({})\n", e.negatives[k].start_ms, e.negatives[k].end_ms,
               raw.negative_names[size_t(e.negative_ids[k])]);
  fmt::print("labels (output steps of {:.2f} ms) at 1: {}\n", 10000.0 / trigger::kTy, intervals(e.y));
  return 0;
}

std::vector<ModelOption> options() {
  return {
      {.name = "m", .help = "Synthesized training examples (example i of --seed is made when a batch needs it)",
       .type = OptionType::integer, .default_value = "1000", .min = at_least(1), .max = at_most(10'000'000),
       .commands = {"train"}},
      {.name = "dev-size", .help = "Synthesized dev examples (another stream of --seed): val_loss and "
                                   "val_accuracy every epoch",
       .type = OptionType::integer, .default_value = "100", .min = at_least(1), .max = at_most(1'000'000),
       .commands = {"train"}},
      {.name = "index", .help = "Which example of --seed", .type = OptionType::integer, .default_value = "0",
       .min = at_least(0), .max = at_most(1'000'000'000), .commands = {"synth"}},
      {.name = "o", .help = "The example's audio (WAV, 16-bit, 44.1 kHz)", .type = OptionType::output_file,
       .default_value = "example.wav", .commands = {"synth"}},
  };
}

const Model& registered() {
  static const Model m = fit::model({
      .name = "trigger_word",
      .summary = "Trigger word detection: 'activate' in 10 s of audio (Conv1D, BatchNorm, 2 GRUs) [in progress]",
      .spec = [](const OptionValues&) -> const fit::Spec& { return trigger_spec; },
      .data = data,
      .fit = [](const OptionValues&) { return fit::FitOptions{.batch_size = 16, .report_every = 1}; },
      .epochs_default = "1",
      .save_every = "1",
      .graphs = {{"train", &trigger_spec, {{"batch", 2}}}},
      .options = options(),
      .commands = {{.name = "synth",
                    .summary = "one synthesized training example: its audio (-o) and where its clips and labels are",
                    .usage = "",
                    .min_args = 0,
                    .max_args = 0,
                    .run = synth_command,
                    .checkpoint = false}},
  });
  return m;
}

const ModelRegistrar registrar(registered());

} // namespace

} // namespace sg::trigger_word
