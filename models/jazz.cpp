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
#include "models/model.hpp"
#include "models/train/plan_cache.hpp"
#include "models/train/sampling.hpp"
#include "models/train/trainer.hpp"
#include "ops/layers.hpp"
#include "ops/ops.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <numeric>
#include <spawn.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace sg::jazz {

namespace fs = std::filesystem;

JazzCorpus load_corpus(const std::string& path) {
  const MidiFile file = read_midi(path); // its errors name the file
  try {
    return build_corpus(file);
  } catch (const IoError& e) {
    throw IoError(fmt::format("{}: {}", path, e.what()));
  }
}

JazzWindows training_windows(const JazzCorpus& corpus, int m, uint64_t seed) {
  return windows(corpus, m, kTx, seed);
}

uint64_t vocab_fingerprint(const JazzVocab& vocab) {
  uint64_t h = rng::mix(rng::hash_name("jazz/vocab") ^ uint64_t(vocab.steps_per_quarter));
  for (const JazzValue& v : vocab.values)
    h = rng::mix(h ^ (uint64_t(v.rest) | uint64_t(uint32_t(v.interval)) << 1 | uint64_t(v.steps) << 40));
  return h;
}

uint64_t windows_fingerprint(const JazzWindows& w) {
  uint64_t h = rng::mix(rng::hash_name("jazz/windows") ^ uint64_t(w.m) ^ uint64_t(w.Tx) << 20 ^
                        uint64_t(w.n_values) << 40);
  for (int v : w.x) h = rng::mix(h ^ uint64_t(uint32_t(v)));
  for (int v : w.y) h = rng::mix(h ^ uint64_t(uint32_t(v)) << 1);
  return h;
}

std::vector<std::vector<int>> epoch_batches(int m, int batch_size, uint64_t seed, int64_t epoch) {
  if (m < 1 || batch_size < 1)
    throw std::invalid_argument(fmt::format("jazz batches: m = {}, batch size = {}", m, batch_size));
  std::vector<int> order(size_t(m), 0);
  std::iota(order.begin(), order.end(), 0);
  train::shuffle(order, seed, rng::hash_name("jazz/shuffle") + uint64_t(epoch));
  std::vector<std::vector<int>> batches;
  for (int i = 0; i < m; i += batch_size)
    batches.emplace_back(order.begin() + i, order.begin() + std::min(m, i + batch_size));
  return batches;
}

namespace {

constexpr DType kDType = DType::f32; // Keras' float32
constexpr int64_t kDrawSteps = 5;    // the unrolled length graph-run draws and checks
constexpr int64_t kDrawBatch = 4;
constexpr int kReportEvery = 10;     // epochs between report lines (and the first)
const uint64_t kSampleStream = rng::hash_name("jazz/sample");

// ---- the model

struct Layers {
  LSTMWeights lstm;   // "lstm/kernel" (n_values, 4 n_a), "lstm/recurrent_kernel", "lstm/bias"
  DenseWeights dense; // "dense/kernel" (n_a, n_values), "dense/bias"
  std::vector<Value> all() const {
    return {lstm.kernel, lstm.recurrent_kernel, lstm.bias, dense.kernel, dense.bias};
  }
};

Layers layers(Graph& g, int64_t n_values) {
  return {lstm_weights(g, "lstm", n_values, n_a), dense_weights(g, "dense", n_a, n_values)};
}

// The course's djmodel over a batch of B windows, unrolled over Tx steps.
// X (B, Tx, n_values) as the course's X; Y (Tx, B, n_values) as its Y.
struct Training {
  std::unique_ptr<Graph> g = std::make_unique<Graph>();
  Layers p;
  Value X, Y;
  Value y_hat; // (Tx, B, n_values): every step's softmax
  Value loss;  // Σ_t mean over the batch of the cross-entropy of step t
  TrainOps adam;
};

Training training(int64_t B, int64_t Tx, int64_t n_values, bool optimize) {
  Training n;
  Graph& g = *n.g;
  n.X = input(g, "X", {B, Tx, n_values});
  n.Y = input(g, "Y", {Tx, B, n_values});
  n.p = layers(g, n_values);
  LSTMState s; // a0 = c0 = 0 (Keras' default initial state)
  std::vector<Value> a;
  for (int64_t t = 0; t < Tx; ++t) {
    auto scope = g.scope(fmt::format("t{}", t + 1));
    s = lstm_cell(take(n.X, 1, t).named("x"), s, n.p.lstm);
    a.push_back(s.h);
  }
  // The shared Dense on every step's a⟨t⟩ at once: row t·B + i is step t of example i.
  Value z = dense(concat(a, 0), n.p.dense).named("z");
  n.y_hat = reshape(softmax(z, -1), {Tx, B, n_values}).named("y_hat");
  Value ce = softmax_cross_entropy(z, reshape(n.Y, {Tx * B, n_values}), -1).named("cross_entropy");
  // Keras: each output's loss is its mean over the batch; the loss reported and
  // minimized is their sum over the Tx outputs.
  n.loss = (sum(ce) * (1.0 / double(B))).named("loss");
  if (optimize)
    n.adam = minimize(n.loss, n.p.all(), Adam{.lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .decay = 0.01});
  return n;
}

// One step of the inference model: (x⟨t⟩, a⟨t−1⟩, c⟨t−1⟩) -> (a⟨t⟩, c⟨t⟩, ŷ⟨t⟩), batch 1.
struct OneStep {
  std::unique_ptr<Graph> g = std::make_unique<Graph>();
  Layers p;
  Value x, a_prev, c_prev, a, c, y_hat;
};

OneStep one_step(int64_t n_values) {
  OneStep n;
  Graph& g = *n.g;
  n.x = input(g, "x", {1, n_values});
  n.a_prev = input(g, "a_prev", {1, n_a});
  n.c_prev = input(g, "c_prev", {1, n_a});
  n.p = layers(g, n_values);
  LSTMState s = lstm_cell(n.x, {n.a_prev, n.c_prev}, n.p.lstm);
  n.a = s.h.named("a");
  n.c = s.c.named("c");
  n.y_hat = dense(n.a, n.p.dense, "softmax").named("y_hat");
  return n;
}

// ---- training

// A compiled training step per batch size (32 and 28 for the course's 60
// windows), built on first use; all of them share the parameters and Adam's
// slots (by name) in one ParamStore.
class Steps {
public:
  Steps(ParamStore& store, const JazzWindows& w, uint64_t seed) : store_(store), w_(w), seed_(seed) {}

  // One Adam step on the windows `batch`; returns the loss before the update.
  double run(const std::vector<int>& batch) {
    const int64_t B = int64_t(batch.size()), Tx = w_.Tx, V = w_.n_values;
    auto& c = compiled(B);
    Tensor X({B, Tx, V}, kDType), Y({Tx, B, V}, kDType);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < Tx; ++t) {
        const int i = batch[size_t(b)];
        if (int v = w_.x_at(i, int(t)); v >= 0) X.set((b * Tx + t) * V + v, 1.0);
        if (int v = w_.y_at(i, int(t)); v >= 0) Y.set((t * B + b) * V + v, 1.0);
      }
    c.plan.feed(c.net.X.id(), X);
    c.plan.feed(c.net.Y.id(), Y);
    c.plan.run();
    return c.plan.fetch(c.net.loss).at(0);
  }

private:
  train::Compiled<Training>& compiled(int64_t B) {
    return cache_.get(B, [&](int64_t batch) {
      Training net = training(batch, w_.Tx, w_.n_values, true);
      Plan plan(*net.g, store_, {net.loss}, net.adam.updates, {kDType, seed_});
      return train::Compiled<Training>{std::move(net), std::move(plan)};
    });
  }
  ParamStore& store_;
  const JazzWindows& w_;
  uint64_t seed_;
  train::PlanCache<int64_t, Training> cache_;
};

std::string midi_file(const RunArgs& args) {
  const std::string& given = args.get_text("data");
  if (!given.empty()) return given;
  return (fs::path(data_dir(args.data_dir)) / "jazz" / "original_metheny.mid").string();
}

int train(const RunArgs& args) {
  const int64_t m = args.get_int("m"), batch_opt = args.get_int("batch-size");
  const int batch_size = batch_opt == 0 ? int(m) : int(std::min(batch_opt, m));

  const std::string file = midi_file(args);
  const JazzCorpus corpus = load_corpus(file);
  JazzWindows w;
  try {
    w = training_windows(corpus, int(m), args.seed);
  } catch (const std::invalid_argument& e) {
    throw IoError(fmt::format("{}: {}", file, e.what()));
  }

  ParamStore store;
  train::Trainer tr(train::LoopOptions::from(args, "jazz", "epoch", "epochs"), store);
  if (tr.resumed()) {
    const auto& s = tr.state();
    if (s.get_u64("windows") != windows_fingerprint(w))
      throw IoError(fmt::format("--resume: the windows of '{}' (-m {}) are not those the checkpoint "
                                "was trained on", file, m));
    if (s.get_u64("batch_size") != uint64_t(batch_size))
      throw IoError(fmt::format("--resume: the checkpoint was trained with --batch-size {}, this run "
                                "has {}", s.get_u64("batch_size"), batch_size));
  }
  tr.on_save([&](train::LoopState& s) {
    s.set_u64("vocab", vocab_fingerprint(corpus.vocab));
    s.set_u64("windows", windows_fingerprint(w));
    s.set_u64("batch_size", uint64_t(batch_size));
  });
  if (tr.first_step() == 0 && tr.progress().mode() != train::ProgressMode::quiet)
    tr.progress().print(fmt::format(
        "jazz: {} values over a vocabulary of {} from '{}'; {} windows of Tx = {}, batches of {}",
        corpus.values.size(), corpus.vocab.size(), file, w.m, w.Tx, batch_size));

  Steps steps(store, w, args.seed);
  double loss = 0;
  for (int64_t epoch = tr.first_step(); epoch < tr.steps(); ++epoch) {
    // Keras' epoch loss: the batches' losses weighted by their sizes
    double total = 0;
    for (const auto& batch : epoch_batches(w.m, batch_size, args.seed, epoch))
      total += steps.run(batch) * double(batch.size());
    loss = total / double(w.m);
    tr.end_step(epoch, loss);
    if (epoch == 0 || (epoch + 1) % kReportEvery == 0) tr.report(epoch + 1, loss);
  }
  tr.finish(loss);
  return 0;
}

// ---- generation

class Generator {
public:
  Generator(ParamStore& store, int64_t n_values, uint64_t seed)
      : V_(n_values), net_(one_step(n_values)),
        plan_(*net_.g, store, {net_.a, net_.c, net_.y_hat}, {}, {kDType, seed}) {}
  const Graph& graph() const { return *net_.g; }

  // `length` values: x⟨1⟩ = a⟨0⟩ = c⟨0⟩ = 0, each value chosen from ŷ⟨t⟩
  // (temperature 0: the argmax, as the course) and fed back as x⟨t+1⟩.
  std::vector<int> generate(int64_t length, double temperature, uint64_t seed) {
    train::Sampler draw{seed, kSampleStream};
    Tensor x({1, V_}, kDType), a({1, n_a}, kDType), c({1, n_a}, kDType);
    std::vector<double> p(size_t(V_), 0.0);
    std::vector<int> values;
    for (int64_t t = 0; t < length; ++t) {
      plan_.feed(net_.x.id(), x);
      plan_.feed(net_.a_prev.id(), a);
      plan_.feed(net_.c_prev.id(), c);
      plan_.run();
      const Tensor y = plan_.fetch(net_.y_hat);
      for (int64_t i = 0; i < V_; ++i) p[size_t(i)] = y.at(i);
      const int64_t v = draw.draw(p, temperature);
      values.push_back(int(v));
      x = Tensor({1, V_}, kDType);
      x.set(v, 1.0);
      a = plan_.fetch(net_.a);
      c = plan_.fetch(net_.c);
    }
    return values;
  }

private:
  int64_t V_;
  OneStep net_;
  Plan plan_;
};

int render_wav(const std::string& mid, const std::string& wav, bool quiet) {
  const char* path = std::getenv("PATH");
  const Renderer r = find_renderer(mid, wav, path ? path : "");
  if (r.program.empty()) throw IoError(no_renderer_message(mid, wav));
  std::vector<std::string> argv_s{r.program};
  argv_s.insert(argv_s.end(), r.args.begin(), r.args.end());
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::fflush(stdout);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  // the renderer's chatter goes away; its errors stay on stderr
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int err = posix_spawn(&pid, r.program.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (err != 0)
    throw IoError(fmt::format("cannot run {}: {}", r.program, std::strerror(err)));
  int status = 0;
  if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
      !fs::exists(wav))
    throw IoError(fmt::format("{} failed to render '{}' to '{}' (exit status {})",
                              fs::path(r.program).filename().string(), mid, wav,
                              WIFEXITED(status) ? WEXITSTATUS(status) : -1));
  if (!quiet)
    fmt::print("jazz: rendered {} with {} ({} bytes)\n", wav, fs::path(r.program).filename().string(),
               fs::file_size(wav));
  return 0;
}

int sample(const RunArgs& args) {
  const int64_t length = args.get_int("length");
  const double temperature = args.get_number("temperature");
  const std::string out = args.get_text("o"), wav = args.get_text("wav");
  if (out.empty()) throw std::invalid_argument("-o: the MIDI file to write is needed");

  const std::string file = midi_file(args);
  const JazzCorpus corpus = load_corpus(file);
  ParamStore store;
  train::load_params(args.checkpoint, "jazz", store);
  const Checkpoint ck = load_checkpoint(args.checkpoint, "jazz");
  if (auto it = ck.meta.find("loop.vocab");
      it != ck.meta.end() && it->second != std::to_string(vocab_fingerprint(corpus.vocab)))
    throw IoError(fmt::format("checkpoint '{}' was trained on another vocabulary than the {} values "
                              "of '{}' (pass the --data it was trained on)",
                              args.checkpoint, corpus.vocab.size(), file));
  const ParamStore loaded = store;
  Generator gen(store, corpus.vocab.size(), args.seed);
  train::require_params(gen.graph(), loaded, args.checkpoint);

  const std::vector<int> values = gen.generate(length, temperature, args.seed);
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
  if (!wav.empty()) return render_wav(out, wav, args.quiet);
  return 0;
}

// ---- graph-run's view: the unrolled training graph and the generation step

BuiltGraph build(const std::string& graph, const std::map<std::string, Tensor>& given, bool backward) {
  if (graph == "train") {
    int64_t B = kDrawBatch, Tx = kDrawSteps, V = kCourseValues;
    if (auto it = given.find("X"); it != given.end() && it->second.rank() == 3)
      B = it->second.dim(0), Tx = it->second.dim(1), V = it->second.dim(2);
    else if (auto y = given.find("Y"); y != given.end() && y->second.rank() == 3)
      Tx = y->second.dim(0), B = y->second.dim(1), V = y->second.dim(2);
    Training n = training(B, Tx, V, backward);
    return {std::move(n.g), {{"loss", n.loss}, {"y_hat", n.y_hat}}, n.p.all()};
  }
  if (graph == "sample_step") {
    int64_t V = kCourseValues;
    if (auto it = given.find("x"); it != given.end() && it->second.rank() == 2) V = it->second.dim(1);
    OneStep n = one_step(V);
    std::vector<Value> wrt = n.p.all();
    wrt.insert(wrt.end(), {n.x, n.a_prev, n.c_prev});
    return {std::move(n.g), {{"a", n.a}, {"c", n.c}, {"y_hat", n.y_hat}}, wrt};
  }
  throw std::invalid_argument(fmt::format("jazz has no graph '{}'; it has: train, sample_step", graph));
}

std::vector<ModelOption> options() {
  auto o = train::loop_model_options("epochs", "epoch", "100", "10");
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

bool executable(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

} // namespace

Renderer find_renderer(const std::string& mid, const std::string& wav, const std::string& path_env) {
  std::vector<fs::path> dirs;
  std::stringstream ss(path_env);
  for (std::string d; std::getline(ss, d, ':');)
    if (!d.empty()) dirs.emplace_back(d);
  auto find = [&](const char* name) -> std::string {
    for (auto& d : dirs)
      if (executable(d / name)) return (d / name).string();
    return {};
  };
  if (std::string t = find("timidity"); !t.empty()) return {t, {"-Ow", "-o", wav, mid}};
  if (std::string f = find("fluidsynth"); !f.empty())
    for (const char* sf : {"/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/default-GM.sf2",
                           "/usr/share/soundfonts/default.sf2", "/usr/share/soundfonts/FluidR3_GM.sf2"})
      if (fs::exists(sf)) return {f, {"-ni", "-F", wav, sf, mid}};
  return {};
}

std::string no_renderer_message(const std::string& mid, const std::string& wav) {
  return fmt::format("cannot render '{}': neither timidity nor fluidsynth (with a SoundFont) is on "
                     "PATH. Install one (apt-get install timidity), then run: timidity -Ow -o {} {} "
                     "('{}' is written)",
                     wav, wav, mid, mid);
}

} // namespace sg::jazz
