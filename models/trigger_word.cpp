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
//   graph-run trigger_word train                                    loss, accuracy, dev F1 per epoch
//   graph-run trigger_word detect clip.wav... [-o chimed.wav]       detection times (ms), chimes mixed in
//   graph-run trigger_word plot clip.wav -o plot.png                spectrogram, probability, detections
//   graph-run trigger_word summary                                  the layers and their parameters
//
// Detection (models/data/trigger_detect.hpp): a chime when more than 20
// consecutive output steps are at or above the threshold; the dev set's F1
// counts a chime within 1 s after an activate's end as its detection.
#include "graph/random.hpp"
#include "models/data/spectrogram.hpp"
#include "models/trigger_word.hpp"
#include "models/model.hpp"
#include "models/train/fit_model.hpp"
#include "models/plot/spectrogram_plot.hpp"
#include "models/plot/canvas.hpp"
#include "ops/keras.hpp"

#include <chrono>
#include <filesystem>
#include <fmt/format.h>
#include <memory>
#include <tbb/parallel_for.h>

namespace sg::trigger_word {

namespace {

using namespace layers;

const Model& registered();

// The drop rate of every Dropout (the course writes Dropout(0.8): see kDropout).
void trigger_model(fit::Net& n, double rate) {
  Value X = n.in("X");
  X = Conv1D(196, 15, {.strides = 4})(X);
  X = BatchNormalization()(X);
  X = Activation("relu")(X);
  X = Dropout(rate)(X);
  X = GRU(128, {.return_sequences = true})(X);
  X = Dropout(rate)(X);
  X = BatchNormalization()(X);
  X = GRU(128, {.return_sequences = true})(X);
  X = Dropout(rate)(X);
  X = BatchNormalization()(X);
  X = Dropout(rate)(X);
  const Value z = TimeDistributed(Dense(1))(X); // the logits; the sigmoid below
  n.outputs["y_hat"] = Activation("sigmoid")(z).named("y_hat");
  if (n.mode == fit::Mode::predict) return;
  const Value Y = n.in("Y");
  n.loss = mean(sigmoid_cross_entropy(z, Y)).named("loss");
  // a step is right when the logit's sign agrees with the label (0 or 1)
  n.metrics["accuracy"] = mean(in_range(step(z) - Y, -0.5, 0.5));
}

// The spectrogram of 10 s of samples (a clip's channel 0) as the model's input rows (Tx, 101).
void put_spectrogram(std::span<const int16_t> x, float* out) {
  const audio::Spectrogram s = audio::specgram(x);
  if (s.frames != kTx || s.bins != kFreq)
    throw std::runtime_error(fmt::format("spectrogram of {} x {}, expected {} x {}", s.frames, s.bins, kTx, kFreq));
  for (size_t i = 0; i < s.values.size(); ++i) out[i] = float(s.values[i]);
}

} // namespace

const fit::Spec trigger_spec = spec();

fit::Spec spec(double rate, double lr) {
  return {
      .name = "trigger_word",
      .dtype = DType::f32,
      .inputs = {{"X", {fit::batch, fit::dim(kTx), fit::dim(kFreq)}}},
      .targets = {{"Y", {fit::batch, fit::dim(trigger::kTy), fit::dim(1)}}},
      .build = [rate](fit::Net& n) { trigger_model(n, rate); },
      .optimizer = fit::adam({.lr = lr, .beta1 = 0.9, .beta2 = 0.999,
                              .schedule = exponential_decay(0.5, double(kHalvingSteps))}),
      .metrics = {"accuracy"},
  };
}

uint64_t SynthSet::fingerprint() const { return rng::hash(seed_, rng::hash_name("trigger_word/set"), uint64_t(m_)); }

Batch SynthSet::examples(std::span<const int64_t> indices) const {
  const int64_t b = int64_t(indices.size());
  Tensor X({b, kTx, kFreq}, DType::f32), Y({b, trigger::kTy, 1}, DType::f32);
  Batch r;
  r.activate_ends_ms.resize(size_t(b));
  // each example a pure function of (seed, index): made on TBB's threads
  tbb::parallel_for(int64_t(0), b, [&](int64_t k) {
    const trigger::Example e = trigger::create_training_example(*raw_, seed_, uint64_t(indices[size_t(k)]));
    put_spectrogram(e.audio.channel(0), X.data<float>() + k * kTx * kFreq);
    std::copy(e.y.begin(), e.y.end(), Y.data<float>() + k * trigger::kTy);
    for (const trigger::Segment& s : e.activates) r.activate_ends_ms[size_t(k)].push_back(double(s.end_ms));
  });
  r.feeds = {{"X", std::move(X)}, {"Y", std::move(Y)}};
  return r;
}

std::vector<std::vector<float>> predict_tracks(fit::Network& net, const Tensor& X) {
  const Tensor y = net.predict({{"X", X}}).at("y_hat");
  const int64_t b = y.shape()[0];
  std::vector<std::vector<float>> t(static_cast<size_t>(b));
  for (int64_t k = 0; k < b; ++k) t[size_t(k)].assign(y.data<float>() + k * trigger::kTy, y.data<float>() + (k + 1) * trigger::kTy);
  return t;
}

trigger::Detections detections(fit::Network& net, const fit::Dataset& data, const trigger::ChimeRule& rule) {
  const auto* set = dynamic_cast<const SynthSet*>(&data);
  if (!set) throw std::logic_error("trigger_word: detection F1 is computed on synthesized examples only");
  trigger::Detections d;
  std::vector<int64_t> idx;
  for (int64_t lo = 0; lo < set->size(); lo += kBatch) {
    idx.clear();
    for (int64_t i = lo; i < std::min(set->size(), lo + kBatch); ++i) idx.push_back(i);
    const Batch b = set->examples(idx);
    const std::vector<std::vector<float>> tracks = predict_tracks(net, b.feeds.at("X"));
    for (size_t k = 0; k < tracks.size(); ++k) {
      std::vector<double> chimes;
      for (int64_t s : trigger::chime_steps(tracks[k], rule))
        chimes.push_back(trigger::step_ms(s, trigger::kTy, double(trigger::kClipMs)));
      d += trigger::score(chimes, b.activate_ends_ms[k]);
    }
  }
  return d;
}

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

const fit::DataMetric f1_metric{"f1", [](fit::Network& net, const fit::Dataset& d) { return detections(net, d).f1(); }};

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

// A clip of any length through the model: windows of 10 s every 5 s (the
// last one ending with the clip; a shorter clip padded with silence), each
// predicted alone, their tracks stitched (each moment from the window whose
// centre is nearest), the chime rule on the whole track.
constexpr int64_t kWindow = trigger::kClipMs * audio::kRate / 1000; // 441,000 frames
constexpr int64_t kHop = kWindow / 2;

struct Heard {
  trigger::Track track;
  std::vector<double> chimes_ms;
  int64_t windows = 0;
};

Heard listen(fit::Network& net, const audio::Clip& clip, const trigger::ChimeRule& rule) {
  const std::vector<int16_t> x = clip.channel(0);
  const int64_t frames = int64_t(x.size());
  const std::vector<int64_t> starts = trigger::window_starts(frames, kWindow, kHop);
  std::vector<std::vector<float>> tracks;
  Tensor X({1, kTx, kFreq}, DType::f32);
  std::vector<int16_t> w(static_cast<size_t>(kWindow));
  for (int64_t s : starts) {
    std::fill(w.begin(), w.end(), int16_t(0));
    std::copy(x.begin() + s, x.begin() + std::min(frames, s + kWindow), w.begin());
    put_spectrogram(w, X.data<float>());
    tracks.push_back(predict_tracks(net, X).at(0));
  }
  Heard h{trigger::stitch(starts, tracks, kWindow, frames, clip.rate), {}, int64_t(starts.size())};
  for (int64_t i : trigger::chime_steps(h.track.p, rule)) h.chimes_ms.push_back(h.track.ms[size_t(i)]);
  return h;
}

// The checkpoint's model, ready to predict: its plan compiled on a window of silence.
struct Listener {
  fit::FromCheckpoint c;
  fit::Network net;
  double ready_s = 0;
  explicit Listener(const RunArgs& a)
      : c(fit::from_checkpoint("trigger_word", registered().options, a)), net(trigger_spec, c.params, 0) {
    c.require(net);
    const auto t0 = std::chrono::steady_clock::now();
    (void)predict_tracks(net, Tensor({1, kTx, kFreq}, DType::f32));
    ready_s = seconds_since(t0);
  }
};

std::string ms_list(const std::vector<double>& ms) {
  std::string s;
  for (double t : ms) s += fmt::format("{}{:.0f}", s.empty() ? "" : ", ", t);
  return s;
}

std::string clip_note(const audio::Clip& c) {
  std::string s = fmt::format("{:.2f} s", c.seconds());
  if (c.channels == 2) s += ", stereo (channel 0 heard)";
  if (c.resampled_from) s += fmt::format(", resampled from {} Hz", c.resampled_from);
  if (c.frames() < kWindow) s += ", padded to 10 s";
  return s;
}

trigger::ChimeRule rule_of(const RunArgs& a) { return {.threshold = a.get_number("threshold")}; }

int detect_command(const RunArgs& a) {
  const std::string out = a.get_text("o");
  if (!out.empty() && a.args.size() != 1)
    throw OptionError(fmt::format("-o writes one chimed clip: give one clip, not {}", a.args.size()));
  const std::vector<audio::Clip> clips = [&] {
    std::vector<audio::Clip> v;
    for (const std::string& p : a.args) v.push_back(audio::read_wav(p)); // every file checked before the work
    return v;
  }();
  const audio::Clip chime =
      out.empty() ? audio::Clip{} : audio::read_wav((std::filesystem::path(data_dir(a.data_dir)) / "trigger_word" / "chime.wav").string());
  Listener l(a);
  if (!a.quiet) fmt::print("model ready in {:.2f} s ({}, plan compiled)\n", l.ready_s, l.c.path);
  double heard_s = 0, took_s = 0;
  for (size_t k = 0; k < clips.size(); ++k) {
    const auto t0 = std::chrono::steady_clock::now();
    const Heard h = listen(l.net, clips[k], rule_of(a));
    const double took = seconds_since(t0);
    heard_s += clips[k].seconds(), took_s += took;
    if (a.quiet) fmt::print("{}\t{}\n", a.args[k], ms_list(h.chimes_ms));
    else
      fmt::print("{} ({}): {}  [{:.2f} s for {} window{}]\n", a.args[k], clip_note(clips[k]),
                 h.chimes_ms.empty() ? std::string("no detection")
                                     : fmt::format("{} at {} ms", h.chimes_ms.size() == 1 ? "1 detection" : fmt::format("{} detections", h.chimes_ms.size()), ms_list(h.chimes_ms)),
                 took, h.windows, h.windows == 1 ? "" : "s");
    if (!out.empty()) {
      audio::Clip mixed = clips[k];
      for (double ms : h.chimes_ms) mixed = trigger::overlay(mixed, chime, int64_t(ms));
      audio::write_wav(out, mixed);
      if (!a.quiet) fmt::print("the clip with a chime at each detection -> {}\n", out);
    }
  }
  if (!a.quiet && heard_s > 0)
    fmt::print("{:.1f} s of audio in {:.2f} s at {} thread{}: real-time factor {:.3f} ({:.0f}x faster than real time)\n",
               heard_s, took_s, a.threads, a.threads == 1 ? "" : "s", took_s / heard_s, heard_s / took_s);
  return 0;
}

int plot_command(const RunArgs& a) {
  const std::string path = a.get_text("o");
  try {
    plot::check_format(path, "a spectrogram plot");
  } catch (const std::invalid_argument& e) {
    throw OptionError(fmt::format("-o: {}", e.what()));
  }
  const audio::Clip clip = audio::read_wav(a.args.at(0));
  Listener l(a);
  const Heard h = listen(l.net, clip, rule_of(a));
  const audio::Spectrogram s = audio::specgram(clip.channel(0));
  plot::SpectrogramPlot p{.title = fmt::format("{}: {}", std::filesystem::path(a.args[0]).filename().string(),
                                               h.chimes_ms.empty() ? std::string("no detection")
                                                                   : fmt::format("chimes at {} ms", ms_list(h.chimes_ms))),
                          .frames = s.frames,
                          .bins = s.bins,
                          .power = s.values,
                          .max_hz = audio::SpecgramOptions{}.fs / 2,
                          .duration_ms = clip.seconds() * 1000,
                          .track_ms = h.track.ms,
                          .track_p = h.track.p,
                          .threshold = rule_of(a).threshold,
                          .chimes_ms = h.chimes_ms};
  plot::write_spectrogram_plot(path, p);
  if (!a.quiet) fmt::print("{} ({}): {} -> {}\n", a.args[0], clip_note(clip), p.title, path);
  return 0;
}

// The course's two real recordings (raw_data/dev/*.wav), as detect prints them.
void print_recordings(const RunArgs& a, fit::Network& net) {
  const std::filesystem::path dir = std::filesystem::path(raw_dir(a)) / "dev";
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.path().extension() == ".wav") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    fmt::print("the course's dev recordings: none in {}\n", dir.string());
    return;
  }
  fmt::print("the course's dev recordings (threshold 0.5):\n");
  for (const auto& f : files) {
    const Heard h = listen(net, audio::read_wav(f.string()), {});
    fmt::print("  {}: {}\n", f.filename().string(),
               h.chimes_ms.empty() ? std::string("no detection") : fmt::format("detections at {} ms", ms_list(h.chimes_ms)));
  }
}

// After training: where the trained model chimes on the real recordings.
void trained(const RunArgs& a, const fit::Data&, const ParamStore& trained_params) {
  ParamStore params = trained_params;
  fit::Network net(trigger_spec, params, 0);
  print_recordings(a, net);
}

// evaluate's lines after the loss and metrics: the dev set's detections in
// full, then the real recordings.
void report(const RunArgs& a, const fit::Data& d, ParamStore& params) {
  fit::Network net(trigger_spec, params, 0);
  if (d.validation) {
    const trigger::Detections x = detections(net, *d.validation);
    fmt::print("dev detections ({} clips, threshold 0.5): {} activates, {} chimes; {} detected, {} missed, {} false "
               "chimes; precision {:.4f}, recall {:.4f}, F1 {:.4f}\n",
               d.validation->size(), x.activates, x.chimes, x.hits, x.misses(), x.false_chimes(), x.precision(),
               x.recall(), x.f1());
  }
  print_recordings(a, net);
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
      {.name = "dev-size", .help = "Synthesized dev examples (another stream of --seed): val_loss, "
                                   "val_accuracy and val_f1 (detections) every epoch",
       .type = OptionType::integer, .default_value = "200", .min = at_least(1), .max = at_most(1'000'000),
       .commands = {"train"}},
      {.name = "dropout", .help = "The drop rate of every Dropout layer (the course's Dropout(0.8) is Keras' rate "
                                  "0.8; see the README)",
       .type = OptionType::number, .default_value = fmt::format("{}", kDropout), .min = at_least(0), .max = below(1),
       .commands = {"train"}},
      {.name = "lr", .help = "Adam's learning rate (halved every 252 batches unless --lr-schedule says otherwise)",
       .type = OptionType::number,
       .default_value = fmt::format("{}", kLr), .min = above(0), .max = at_most(1), .commands = {"train"}},
      {.name = "index", .help = "Which example of --seed", .type = OptionType::integer, .default_value = "0",
       .min = at_least(0), .max = at_most(1'000'000'000), .commands = {"synth"}},
      {.name = "o", .help = "The example's audio (WAV, 16-bit, 44.1 kHz)", .type = OptionType::output_file,
       .default_value = "example.wav", .commands = {"synth"}},
      {.name = "o", .help = "Also write the clip with a chime mixed in at each detection (WAV; one clip only)",
       .type = OptionType::output_file, .commands = {"detect"}},
      {.name = "o", .help = "The plot to write: .png, .svg or .pdf", .type = OptionType::output_file,
       .commands = {"plot"}, .required = true},
      {.name = "threshold", .help = "A chime when more than 20 consecutive output steps are at or above this "
                                    "probability",
       .type = OptionType::number, .default_value = "0.5", .min = above(0), .max = below(1),
       .commands = {"detect", "plot"}},
  };
}

const Model& registered() {
  static const Model m = fit::model({
      .name = "trigger_word",
      .summary = "Trigger word detection: 'activate' in 10 s of audio (Conv1D, BatchNorm, 2 GRUs)",
      .spec = [](const OptionValues& o) { return spec(o.get_number("dropout"), o.get_number("lr")); },
      .data = data,
      .fit = [](const OptionValues&) {
        return fit::FitOptions{.batch_size = kBatch, .report_every = 1, .data_metrics = {f1_metric}};
      },
      .epochs_default = fmt::format("{}", kEpochs),
      .save_every = "1",
      .graphs = {{"train", &trigger_spec, {{"batch", 2}}}},
      .options = options(),
      .commands = {{.name = "synth",
                    .summary = "one synthesized training example: its audio (-o) and where its clips and labels are",
                    .usage = "",
                    .min_args = 0,
                    .max_args = 0,
                    .run = synth_command,
                    .checkpoint = false},
                   {.name = "detect",
                    .summary = "the times (ms) the trained model hears 'activate' in each clip; -o: the clip "
                               "with a chime there",
                    .usage = "CLIP.wav...",
                    .min_args = 1,
                    .max_args = -1,
                    .run = detect_command},
                   {.name = "plot",
                    .summary = "a clip's spectrogram above the model's probability track and its detections",
                    .usage = "CLIP.wav",
                    .min_args = 1,
                    .max_args = 1,
                    .run = plot_command}},
      .trained = trained,
      .report = report,
  });
  return m;
}

const ModelRegistrar registrar(registered());

} // namespace

} // namespace sg::trigger_word
