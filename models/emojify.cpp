// "Emojify" (Sequence Models, week 2): a sentence -> one of five emoji.
//
//   V1 (the course's model): avg = the mean of the sentence's word vectors,
//      z = W avg + b, ŷ = softmax(z); SGD one example at a time, lr 0.01,
//      400 epochs, W ~ N(0, 1/d), b = 0.
//   V2 (the course's Emojify_V2 in Keras): the word vectors of a sentence
//      padded to max_len = 10 (a frozen pre-trained Embedding: looked up on
//      the host and fed in) -> LSTM(128, return_sequences) -> Dropout(0.5) ->
//      LSTM(128) -> Dropout(0.5) -> Dense(5) -> softmax; categorical
//      cross-entropy, Adam (Keras defaults), 50 epochs, batches of 32
//      shuffled every epoch.
//
// V2 is masked: the course's Keras model has no mask (padding is the zero
// vector of index 0 and runs through the LSTMs). Here a padding step keeps
// both LSTMs' (h, c) as they were, h⟨t⟩ = m⟨t⟩ h_new + (1 − m⟨t⟩) h⟨t−1⟩, and
// every product is per step, so the scores do not depend on how far a
// sentence is padded (bitwise, on any CPU: see v2_net).
//
// Words without a vector (84 of the 312 Emojify words have none in the
// 5,050-word subset of ../shared/data) are counted and reported per split;
// V1 averages over the words that have a vector (the zero vector when none
// has), V2 feeds the zero vector at their step (a real, unmasked step).
//
//   graph-run emojify train --version 1|2 [--epochs N] [--vectors FILE]
//   graph-run emojify eval [--checkpoint emojify.ckpt]
//   graph-run emojify predict "i adore you" "lets play ball"
#include "models/emojify.hpp"

#include "autodiff/optimizers.hpp"
#include "graph/checkpoint.hpp"
#include "graph/plan.hpp"
#include "graph/random.hpp"
#include "models/data/csv.hpp"
#include "models/model.hpp"
#include "models/train/fit.hpp"
#include "models/train/sampling.hpp"
#include "models/train/trainer.hpp"
#include "ops/layers.hpp"
#include "ops/ops.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <numeric>
#include <sstream>

namespace fs = std::filesystem;

namespace sg::emojify {

const char* emoji(int label) {
  static const char* const e[n_classes] = {"\u2764\ufe0f", "\u26be", "\U0001F604", "\U0001F61E",
                                           "\U0001F374"};
  if (label < 0 || label >= n_classes) throw std::out_of_range(fmt::format("emoji label {}", label));
  return e[label];
}

namespace {

constexpr DType kV2DType = DType::f32; // Keras' float32

// ---- V1: the model, the average of the word vectors -> softmax. avg (d, B) as
// columns, Y (5, B); SGD one example at a time, in order (the course)

void v1_model(fit::Net& n) {
  Graph& g = *n.g;
  const int64_t d = n.size("dim");
  // the course's initialize: W = randn(n_y, n_h) / sqrt(n_h), b = 0
  const Value W = param(g, "W", {n_classes, d}, Initializer::normal(0, 1.0 / std::sqrt(double(d))));
  const Value b = param(g, "b", {n_classes, 1});
  const Value z = (matmul(W, n.in("avg")) + b).named("z");
  n.outputs["probs"] = softmax(z, 0).named("probs");
  if (n.mode != fit::Mode::predict) n.loss = sum(softmax_cross_entropy(z, n.in("Y"), 0)).named("loss");
}

// ---- V2: X (B, T, d) word vectors, mask (B, T) 1 at words, 0 at padding -> (B, 5)

void v2_model(fit::Net& n) {
  Graph& g = *n.g;
  const int64_t B = n.size("batch"), T = n.size("steps"), d = n.size("dim");
  g.seed = rng::mix(n.seed ^ rng::hash_name("emojify/dropout") ^ uint64_t(B) << 32 ^ uint64_t(T));
  const Value X = n.in("X"), mask = n.in("mask");
  const LSTMWeights l1 = lstm_weights(g, "lstm", d, n_a);
  const LSTMWeights l2 = lstm_weights(g, "lstm_1", n_a, n_a);
  const DenseWeights dense_w = dense_weights(g, "dense", n_a, n_classes);
  const Value zero = zeros(g, {B, n_a});
  LSTMState s1{zero, zero}, s2{zero, zero};
  for (int64_t t = 0; t < T; ++t) {
    auto scope = g.scope(fmt::format("t{}", t + 1));
    const Value m = slice(mask, 1, t, t + 1).named("m"); // (B, 1)
    const Value keep = (1.0 - m).named("keep");
    auto masked = [&](LSTMState now, LSTMState before, const char* layer) {
      return LSTMState{(m * now.h + keep * before.h).named(fmt::format("{}_h_masked", layer)),
                       (m * now.c + keep * before.c).named(fmt::format("{}_c_masked", layer))};
    };
    // Every product is per step, (B, in) x (in, 4 n_a): no shape that depends
    // on T feeds a real step, so the scores are bitwise the same however far
    // a batch is padded, on any CPU (one (B T, in) product of all steps would
    // round a row differently for another T on some BLAS kernels). Step 1
    // starts from the zero state: no recurrent product (the same numbers).
    s1 = masked(lstm_cell(take(X, 1, t), t ? s1 : LSTMState{}, l1), s1, "lstm");
    const Value h1 = n.training() ? dropout(s1.h, 0.5) : s1.h;
    s2 = masked(lstm_cell(h1, t ? s2 : LSTMState{}, l2), s2, "lstm_1");
  }
  const Value h = n.training() ? dropout(s2.h, 0.5) : s2.h;
  const Value z = dense(h, dense_w).named("z");
  n.outputs["probs"] = softmax(z, -1).named("probs");
  if (n.mode != fit::Mode::predict)
    n.loss = (sum(softmax_cross_entropy(z, n.in("Y"), -1)) * (1.0 / double(B))).named("loss");
}

const fit::Spec& spec(int version) {
  static const fit::Spec v1{
      .name = "emojify",
      .dtype = DType::f64,
      .inputs = {{"avg", {fit::dim("dim"), fit::batch}}},
      .targets = {{"Y", {fit::dim(n_classes), fit::batch}}},
      .build = v1_model,
      .optimizer = fit::sgd({.lr = 0.01}),
  };
  static const fit::Spec v2{
      .name = "emojify",
      .dtype = kV2DType,
      .inputs = {{"X", {fit::batch, fit::steps, fit::dim("dim")}}, {"mask", {fit::batch, fit::steps}}},
      .targets = {{"Y", {fit::batch, fit::dim(n_classes)}}},
      .build = v2_model,
      .optimizer = fit::adam({}), // Keras' defaults
  };
  if (version != 1 && version != 2)
    throw std::invalid_argument(fmt::format("Emojify has versions 1 and 2, not {}", version));
  return version == 1 ? v1 : v2;
}

// ---- the data: sentences as model inputs

int64_t padded_length(const std::vector<std::vector<std::string>>& ws, int64_t pad_to) {
  int64_t T = std::max(pad_to, max_len);
  for (auto& w : ws) T = std::max(T, int64_t(w.size()));
  return T;
}

// The model inputs of sentences: V1 their averages as columns; V2 the word
// vectors of sentence b at steps 0..len-1 and zeros after, with the mask.
fit::Feeds inputs(int version, const std::vector<std::string>& sentences, const WordVectors& v, int64_t pad_to = 0) {
  const int64_t B = int64_t(sentences.size()), d = v.dim;
  if (version == 1) {
    Tensor X({d, B}, DType::f64);
    double* x = X.data<double>();
    for (int64_t b = 0; b < B; ++b) {
      const auto avg = average(sentences[size_t(b)], v);
      for (int64_t k = 0; k < d; ++k) x[k * B + b] = avg[size_t(k)];
    }
    return {{"avg", std::move(X)}};
  }
  std::vector<std::vector<std::string>> ws;
  for (auto& s : sentences) ws.push_back(words(s));
  const int64_t T = padded_length(ws, pad_to);
  Tensor X({B, T, d}, kV2DType), mask({B, T}, kV2DType);
  float* x = X.data<float>();
  float* m = mask.data<float>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < int64_t(ws[size_t(b)].size()); ++t) {
      m[b * T + t] = 1;
      if (int i = lookup(v, ws[size_t(b)][size_t(t)]); i >= 0)
        for (int64_t k = 0; k < d; ++k) x[(b * T + t) * d + k] = float(v.row(i)[k]);
    }
  return {{"X", std::move(X)}, {"mask", std::move(mask)}};
}

// Labelled sentences as fit batches: the inputs, and Y one-hot.
class Sentences : public fit::Dataset {
public:
  Sentences(int version, const std::vector<Example>& ex, const WordVectors& v) : version_(version), ex_(ex), v_(v) {}
  int64_t size() const override { return int64_t(ex_.size()); }
  uint64_t fingerprint() const override {
    uint64_t h = rng::hash_name("emojify/sentences");
    for (auto& e : ex_) h = rng::mix(h ^ rng::hash_name(e.sentence) ^ uint64_t(e.label));
    return h;
  }
  fit::Feeds batch(std::span<const int64_t> idx) const override {
    const int64_t B = int64_t(idx.size());
    std::vector<std::string> s;
    for (int64_t i : idx) s.push_back(ex_[size_t(i)].sentence);
    fit::Feeds f = inputs(version_, s, v_);
    Tensor Y = version_ == 1 ? Tensor({n_classes, B}, DType::f64) : Tensor({B, n_classes}, kV2DType);
    for (int64_t b = 0; b < B; ++b) {
      const int64_t label = ex_[size_t(idx[size_t(b)])].label;
      Y.set(version_ == 1 ? label * B + b : b * n_classes + label, 1.0);
    }
    f["Y"] = std::move(Y);
    return f;
  }

private:
  int version_;
  const std::vector<Example>& ex_;
  const WordVectors& v_;
};

// ---- training and loading

fit::FitOptions fit_options(int version) {
  // V1: the course's loop, one example at a time in order; V2: Keras' fit, batches of 32 shuffled
  return version == 1 ? fit::FitOptions{.batch_size = 1, .shuffle = false, .report_every = 100}
                      : fit::FitOptions{.batch_size = 32, .shuffle = true, .report_every = 10};
}

std::string default_vectors(const std::string& data_dir_given) {
  return (fs::path(data_dir(data_dir_given)) / "glove" / "glove.6B.50d.5k.txt").string();
}

std::string split_file(const std::string& data_dir_given, const char* name) {
  return (fs::path(data_dir(data_dir_given)) / "emojify" / name).string();
}

std::vector<std::string> sentences_of(const std::vector<Example>& ex) {
  std::vector<std::string> s;
  for (auto& e : ex) s.push_back(e.sentence);
  return s;
}

// A trained model from a checkpoint: its version, vectors and parameters.
struct Loaded {
  int version = 0;
  std::string vectors_path;
  WordVectors vectors;
  ParamStore store;
};

Loaded load(const std::string& checkpoint, const std::string& vectors_given) {
  Loaded l;
  const Checkpoint ck = load_checkpoint(checkpoint, "emojify");
  auto it = ck.meta.find("loop.version");
  if (it == ck.meta.end() || (it->second != "1" && it->second != "2"))
    throw IoError(fmt::format("checkpoint '{}' does not say which Emojify version it holds", checkpoint));
  l.version = std::stoi(it->second);
  l.vectors_path = vectors_given;
  if (l.vectors_path.empty())
    if (auto v = ck.meta.find("loop.vectors"); v != ck.meta.end()) l.vectors_path = v->second;
  if (l.vectors_path.empty()) l.vectors_path = default_vectors("");
  l.vectors = read_glove(l.vectors_path);
  const fit::Net net = fit::Network(spec(l.version), l.store, 0).build({{"batch", 1}, {"steps", max_len}, {"dim", l.vectors.dim}}, fit::Mode::predict);
  l.store = train::load_for(checkpoint, "emojify", *net.g);
  return l;
}

} // namespace

// ---- the classifier (inference graphs)

struct Classifier::Impl {
  int version;
  const WordVectors& v;
  fit::Network net;
};

Classifier::Classifier(ParamStore& store, int version, const WordVectors& v, uint64_t seed)
    : p_(new Impl{version, v, fit::Network(spec(version), store, seed)}) {}
Classifier::~Classifier() { delete p_; }

std::vector<std::array<double, n_classes>> Classifier::probabilities(const std::vector<std::string>& sentences,
                                                                     int64_t pad_to) {
  std::vector<std::array<double, n_classes>> out(sentences.size());
  if (sentences.empty()) return out;
  const int64_t B = int64_t(sentences.size());
  const Tensor P = p_->net.predict(inputs(p_->version, sentences, p_->v, pad_to)).at("probs"); // V1 (5, B), V2 (B, 5)
  for (int64_t b = 0; b < B; ++b)
    for (int k = 0; k < n_classes; ++k) out[size_t(b)][size_t(k)] = P.at(p_->version == 1 ? k * B + b : b * n_classes + k);
  return out;
}

std::vector<int> Classifier::predict(const std::vector<std::string>& sentences) {
  std::vector<int> labels;
  for (auto& p : probabilities(sentences))
    labels.push_back(int(std::max_element(p.begin(), p.end()) - p.begin()));
  return labels;
}

double Classifier::accuracy(const std::vector<Example>& examples) {
  const auto pred = predict(sentences_of(examples));
  int right = 0;
  for (size_t i = 0; i < examples.size(); ++i) right += pred[i] == examples[i].label;
  return examples.empty() ? 0.0 : double(right) / double(examples.size());
}

std::vector<double> train_for_test(ParamStore& store, int version, const std::vector<Example>& train,
                                   const WordVectors& v, int64_t epochs, uint64_t seed) {
  train::Trainer tr(
      {.model = "emojify", .unit = "epoch", .steps = epochs, .quiet = true, .seed = seed, .out = train::no_output()},
      store);
  fit::Network net(spec(version), store, seed);
  std::vector<double> losses;
  fit::FitOptions opt = fit_options(version);
  opt.on_epoch = [&](int64_t, const fit::Network::Result& r) { losses.push_back(r.loss); };
  fit::fit(net, Sentences(version, train, v), tr, seed, opt);
  return losses;
}

std::string eval_report(const std::string& checkpoint, const std::string& vectors, const std::string& data_dir_given) {
  Loaded l = load(checkpoint, vectors);
  const auto train = read_examples(split_file(data_dir_given, "train_emoji.csv"));
  const auto test = read_examples(split_file(data_dir_given, "tesss.csv"));
  Classifier c(l.store, l.version, l.vectors);
  std::string out = fmt::format("emojify V{} from '{}'; vectors '{}' ({} words, d = {})\n", l.version, checkpoint,
                                l.vectors_path, l.vectors.words.size(), l.vectors.dim);
  out += fmt::format("train: {} sentences; {}\n", train.size(), count_oov(train, l.vectors).summary());
  out += fmt::format("test: {} sentences; {}\n", test.size(), count_oov(test, l.vectors).summary());
  out += fmt::format("train accuracy: {:.3f}\n", c.accuracy(train));
  const auto pred = c.predict(sentences_of(test));
  int right = 0;
  int confusion[n_classes][n_classes] = {};
  for (size_t i = 0; i < test.size(); ++i) {
    right += pred[i] == test[i].label;
    ++confusion[test[i].label][pred[i]];
  }
  out += fmt::format("test accuracy: {:.3f}\n", double(right) / double(test.size()));
  out += "confusion matrix (test; rows: true label, columns: predicted)\n      ";
  for (int k = 0; k < n_classes; ++k) out += fmt::format("{:>4}", k);
  out += "\n";
  for (int t = 0; t < n_classes; ++t) {
    out += fmt::format("  {} {}", t, emoji(t));
    for (int k = 0; k < n_classes; ++k) out += fmt::format("{:>4}", confusion[t][k]);
    out += "\n";
  }
  out += fmt::format("misclassified test sentences ({} of {}):\n", int(test.size()) - right, test.size());
  for (size_t i = 0; i < test.size(); ++i)
    if (pred[i] != test[i].label)
      out += fmt::format("  {:<40} predicted {} {}  true {} {}\n", test[i].sentence, pred[i], emoji(pred[i]),
                         test[i].label, emoji(test[i].label));
  return out;
}

std::string predict_lines(const std::string& checkpoint, const std::string& vectors,
                          const std::vector<std::string>& sentences) {
  Loaded l = load(checkpoint, vectors);
  Classifier c(l.store, l.version, l.vectors);
  const auto pred = c.predict(sentences);
  std::string out;
  for (size_t i = 0; i < sentences.size(); ++i) {
    std::string missing;
    for (auto& w : words(sentences[i]))
      if (lookup(l.vectors, w) < 0) missing += (missing.empty() ? "" : ", ") + w;
    out += fmt::format("{}\t{} {}{}\n", sentences[i], pred[i], emoji(pred[i]),
                       missing.empty() ? "" : "\t(no vector: " + missing + ")");
  }
  return out;
}

namespace {

// ---- graph-run's commands

int train_command(const RunArgs& args) {
  const int version = args.get_text("version") == "2" ? 2 : 1; // a choice of {1,2}
  const std::string& given = args.get_text("vectors");
  const std::string vectors_path = given.empty() ? default_vectors(args.data_dir) : given;
  const auto train = read_examples(split_file(args.data_dir, "train_emoji.csv"));
  const auto test = read_examples(split_file(args.data_dir, "tesss.csv"));
  const WordVectors v = read_glove(vectors_path);

  RunArgs a = args;
  if (!a.has("epochs")) a.set("epochs", int64_t{version == 1 ? 400 : 50});
  fit::TrainRun run = fit::train(a, spec(version), Sentences(version, train, v), fit_options(version),
                                 [&](train::Trainer& tr) {
    tr.on_save([&](train::LoopState& s) {
      s.set_u64("version", uint64_t(version));
      s.values["vectors"] = vectors_path;
    });
    if (tr.first_step() == 0 && tr.progress().mode() != train::ProgressMode::quiet) {
      tr.progress().print(fmt::format("emojify V{}: {} training sentences; vectors '{}' ({} words, d = {})", version,
                                      train.size(), vectors_path, v.words.size(), v.dim));
      tr.progress().print(fmt::format("train: {}", count_oov(train, v).summary()));
      tr.progress().print(fmt::format("test: {}", count_oov(test, v).summary()));
    }
  });
  Classifier c(run.params, version, v, args.seed);
  fmt::print("train accuracy: {:.3f}\ntest accuracy: {:.3f}\n", c.accuracy(train), c.accuracy(test));
  return 0;
}

int eval_command(const RunArgs& args) {
  fmt::print("{}", eval_report(args.checkpoint, args.get_text("vectors"), args.data_dir));
  return 0;
}

int predict_command(const RunArgs& args) {
  fmt::print("{}", predict_lines(args.checkpoint, args.get_text("vectors"), args.args));
  return 0;
}

BuiltGraph build(const std::string& graph, const std::map<std::string, Tensor>& given, bool backward) {
  if (graph == "v1") return fit::built_graph(spec(1), given, {{"batch", 1}, {"dim", 50}}, backward);
  if (graph == "v2")
    return fit::built_graph(spec(2), given, {{"batch", 2}, {"steps", max_len}, {"dim", 50}}, backward);
  throw std::invalid_argument(fmt::format("emojify has no graph '{}'; it has: v1, v2", graph));
}

std::vector<ModelOption> options() {
  auto o = train::loop_model_options("epochs", "epoch", "", "0");
  for (auto& f : fit::fit_options()) o.push_back(f);
  o[0].help += " (default: the course's 400 for V1, 50 for V2)";
  o.push_back({.name = "version",
               .help = "1: averaged word vectors -> softmax; 2: two LSTM layers",
               .type = OptionType::choice,
               .default_value = "1",
               .choices = {"1", "2"},
               .commands = {"train"}});
  o.push_back({.name = "vectors",
               .help = "GloVe word vectors (train default: glove/glove.6B.50d.5k.txt in --data-dir, ./data or "
                       "../shared/data; eval/predict default: those the checkpoint was trained with)",
               .type = OptionType::input_file,
               .commands = {"train", "eval", "predict"}});
  return o;
}

const ModelRegistrar registrar(Model{
    .name = "emojify",
    .summary = "Emojify: a sentence -> one of five emoji, from averaged GloVe vectors (V1) or two LSTMs (V2)",
    .options = options(),
    .graphs = {"v1", "v2"},
    .build = build,
    .train = train_command,
    .sample = {},
    .commands = {{.name = "eval",
                  .summary = "Train and test accuracy, the test confusion matrix and the misclassified test "
                             "sentences",
                  .usage = "",
                  .min_args = 0,
                  .max_args = 0,
                  .run = eval_command},
                 {.name = "predict",
                  .summary = "The emoji of each sentence",
                  .usage = "SENTENCE...",
                  .min_args = 1,
                  .max_args = -1,
                  .run = predict_command}},
});

} // namespace
} // namespace sg::emojify
