// "Emojify" (Sequence Models, week 2): a sentence -> one of five emoji.
//
//   V1 (the course's model): avg = the mean of the sentence's word vectors,
//      z = W avg + b, ŷ = softmax(z); SGD one example at a time, lr 0.01,
//      400 epochs, W ~ N(0, 1/d), b = 0.
//   V2 (the course's Emojify_V2 in Keras): the word ids of a sentence padded
//      to max_len = 10 -> the frozen pre-trained Embedding -> LSTM(128,
//      return_sequences) -> Dropout(0.5) -> LSTM(128) -> Dropout(0.5) ->
//      Dense(5) -> softmax; categorical cross-entropy, Adam (Keras
//      defaults), 50 epochs, batches of 32 shuffled every epoch.
//
// V2 is masked (Embedding(mask_zero)), where the course's Keras model is not:
// a padding step keeps both LSTMs' states, and every product is per step, so
// the scores do not depend on how far a sentence is padded (bitwise, on any
// CPU). Words without a vector (84 of the 312 Emojify words have none in the
// 5,050-word subset of ../shared/data) are counted and reported per split;
// V1 averages over the words that have one, V2 masks them like padding.
//
//   graph-run emojify train --version 1|2 [--epochs N] [--vectors FILE]
//   graph-run emojify evaluate [--checkpoint emojify.ckpt]
//   graph-run emojify predict "i adore you" "lets play ball"
#include "models/emojify.hpp"

#include "models/train/fit_model.hpp"
#include "ops/keras.hpp"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>

namespace sg::emojify {

namespace {

// ---- the model

void v1_model(fit::Net& n) {
  // the course's initialize: W = randn(n_y, n_h) / sqrt(n_h), b = 0
  const int64_t d = n.size("dim");
  const Value W = param(*n.g, "W", {n_classes, d}, Initializer::normal(0, 1.0 / std::sqrt(double(d))));
  const Value b = param(*n.g, "b", {n_classes, 1});
  const Value z = (matmul(W, n.in("avg")) + b).named("z");
  n.outputs["probs"] = softmax(z, 0).named("probs");
  if (n.mode == fit::Mode::predict) return;
  n.loss = sum(softmax_cross_entropy(z, n.in("Y"), 0)).named("loss");
  n.metrics["accuracy"] = fit::categorical_accuracy(n.in("Y"), z, 0);
}

void v2_model(fit::Net& n) {
  using namespace layers;
  Value X = Embedding(n.size("vocab"), n.size("dim"), {.mask_zero = true, .trainable = false})(n.in("ids"));
  X = LSTM(n_a, {.return_sequences = true})(X);
  X = Dropout(0.5)(X);
  X = LSTM(n_a)(X);
  X = Dropout(0.5)(X);
  const Value z = Dense(n_classes)(X);
  n.outputs["probs"] = Activation("softmax")(z);
  if (n.mode == fit::Mode::predict) return;
  n.loss = mean(softmax_cross_entropy(z, n.in("Y"), -1)).named("loss");
  n.metrics["accuracy"] = fit::categorical_accuracy(n.in("Y"), z);
}

const fit::Spec v1{.name = "emojify",
                   .dtype = DType::f64,
                   .inputs = {{"avg", {fit::dim("dim"), fit::batch}}},
                   .targets = {{"Y", {fit::dim(n_classes), fit::batch}}},
                   .build = v1_model,
                   .optimizer = fit::sgd({.lr = 0.01}),
                   .metrics = {"accuracy"}};
const fit::Spec v2{.name = "emojify",
                   .dtype = DType::f32, // Keras' float32
                   .inputs = {{"ids", {fit::batch, fit::steps}}},
                   .targets = {{"Y", {fit::batch, fit::dim(n_classes)}}},
                   .build = v2_model,
                   .optimizer = fit::adam({}), // Keras' defaults
                   .metrics = {"accuracy"}};

int version_of(const OptionValues& o) { return o.get_text("version") == "2" ? 2 : 1; }

// V1: the course's loop, one example at a time in order; V2: Keras' fit, batches of 32 shuffled
fit::FitOptions fit_options(int version) {
  return version == 1 ? fit::FitOptions{.epochs = 400, .batch_size = 1, .shuffle = false, .report_every = 100}
                      : fit::FitOptions{.epochs = 50, .batch_size = 32, .shuffle = true, .report_every = 10};
}

} // namespace

const fit::Spec& spec(int version) { return version == 1 ? v1 : v2; }

const char* emoji(int label) {
  static const char* const e[n_classes] = {"\u2764\ufe0f", "\u26be", "\U0001F604", "\U0001F61E", "\U0001F374"};
  if (label < 0 || label >= n_classes) throw std::out_of_range(fmt::format("emoji label {}", label));
  return e[label];
}

namespace {

// ---- the data: the two CSV files and the vectors (defaults in --data-dir)

struct Files {
  std::shared_ptr<const WordVectors> v;
  std::vector<Example> train, test;
};

Files read_files(const RunArgs& a) {
  namespace fs = std::filesystem;
  const fs::path dir = data_dir(a.data_dir);
  const std::string& given = a.get_text("vectors");
  Files f{std::make_shared<const WordVectors>(
              read_glove(given.empty() ? (dir / "glove" / "glove.6B.50d.5k.txt").string() : given)),
          read_examples((dir / "emojify" / "train_emoji.csv").string()),
          read_examples((dir / "emojify" / "tesss.csv").string())};
  return f;
}

fit::Data data(const RunArgs& a) {
  const int version = version_of(a);
  Files f = read_files(a);
  fit::Data d{.train = std::make_shared<Sentences>(version, f.train, f.v),
              .splits = {{"test", std::make_shared<Sentences>(version, f.test, f.v)}},
              .notes = {fmt::format("emojify V{}: {} training sentences; vectors '{}' ({} words, d = {})", version,
                                    f.train.size(), f.v->source, f.v->words.size(), f.v->dim),
                        fmt::format("train: {}", count_oov(f.train, *f.v).summary()),
                        fmt::format("test: {}", count_oov(f.test, *f.v).summary())},
              .sizes = {{"vocab", f.v->size() + 1}, {"dim", f.v->dim}}};
  if (version == 2) d.weights["embedding/embeddings"] = embedding_matrix(*f.v);
  return d;
}

} // namespace

// ---- the classifier (inference graphs), for predict, the report and the tests

struct Classifier::Impl {
  int version;
  const WordVectors& v;
  fit::Network net;
};

Classifier::Classifier(ParamStore& store, int version, const WordVectors& v, uint64_t seed)
    : p_(new Impl{version, v, fit::Network(spec(version), store, seed)}) {
  p_->net.set_sizes({{"vocab", v.size() + 1}, {"dim", v.dim}});
  if (version == 2 && !store.contains("embedding/embeddings")) store.set("embedding/embeddings", embedding_matrix(v));
}
Classifier::~Classifier() { delete p_; }

std::vector<std::array<double, n_classes>> Classifier::probabilities(const std::vector<std::string>& sentences,
                                                                     int64_t pad_to) {
  std::vector<std::array<double, n_classes>> out(sentences.size());
  if (sentences.empty()) return out;
  const int64_t B = int64_t(sentences.size());
  const Tensor P = p_->net.predict(sentence_inputs(p_->version, sentences, p_->v, pad_to)).at("probs");
  for (int64_t b = 0; b < B; ++b) // V1 (5, B), V2 (B, 5)
    for (int k = 0; k < n_classes; ++k) out[size_t(b)][size_t(k)] = P.at(p_->version == 1 ? k * B + b : b * n_classes + k);
  return out;
}

std::vector<int> Classifier::predict(const std::vector<std::string>& sentences) {
  std::vector<int> labels;
  for (auto& p : probabilities(sentences)) labels.push_back(int(std::max_element(p.begin(), p.end()) - p.begin()));
  return labels;
}

double Classifier::accuracy(const std::vector<Example>& examples) {
  std::vector<std::string> s;
  for (auto& e : examples) s.push_back(e.sentence);
  const auto pred = predict(s);
  int right = 0;
  for (size_t i = 0; i < examples.size(); ++i) right += pred[i] == examples[i].label;
  return examples.empty() ? 0.0 : double(right) / double(examples.size());
}

std::vector<double> train_for_test(ParamStore& store, int version, const std::vector<Example>& train,
                                   const WordVectors& v, int64_t epochs, uint64_t seed) {
  train::Trainer tr({.model = "emojify", .unit = "epoch", .steps = epochs, .quiet = true, .seed = seed,
                     .metrics = fit::fit_columns(spec(version), false), .out = train::no_output()},
                    store);
  Classifier c(store, version, v, seed); // the embedding into the store
  fit::Network net(spec(version), store, seed);
  net.set_sizes({{"vocab", v.size() + 1}, {"dim", v.dim}});
  std::vector<double> losses;
  fit::FitOptions opt = fit_options(version);
  opt.on_epoch = [&](int64_t, const fit::Network::Result& r) { losses.push_back(r.loss); };
  fit::fit(net, Sentences(version, train, std::shared_ptr<const WordVectors>(&v, [](auto*) {})), tr, seed, opt);
  return losses;
}

std::string test_report(Classifier& c, const std::vector<Example>& test) {
  std::vector<std::string> s;
  for (auto& e : test) s.push_back(e.sentence);
  const auto pred = c.predict(s);
  int confusion[n_classes][n_classes] = {};
  for (size_t i = 0; i < test.size(); ++i) ++confusion[test[i].label][pred[i]];
  std::string out = "confusion matrix (test; rows: true label, columns: predicted)\n      ";
  for (int k = 0; k < n_classes; ++k) out += fmt::format("{:>4}", k);
  for (int t = 0; t < n_classes; ++t) {
    out += fmt::format("\n  {} {}", t, emoji(t));
    for (int k = 0; k < n_classes; ++k) out += fmt::format("{:>4}", confusion[t][k]);
  }
  std::string wrong;
  int n = 0;
  for (size_t i = 0; i < test.size(); ++i)
    if (pred[i] != test[i].label && ++n)
      wrong += fmt::format("  {:<40} predicted {} {}  true {} {}\n", test[i].sentence, pred[i], emoji(pred[i]),
                           test[i].label, emoji(test[i].label));
  return out + fmt::format("\nmisclassified test sentences ({} of {}):\n", n, test.size()) + wrong;
}

std::string predict_lines(Classifier& c, const WordVectors& v, const std::vector<std::string>& sentences) {
  const auto pred = c.predict(sentences);
  std::string out;
  for (size_t i = 0; i < sentences.size(); ++i) {
    std::string missing;
    for (auto& w : words(sentences[i]))
      if (lookup(v, w) < 0) missing += (missing.empty() ? "" : ", ") + w;
    out += fmt::format("{}\t{} {}{}\n", sentences[i], pred[i], emoji(pred[i]),
                       missing.empty() ? "" : "\t(no vector: " + missing + ")");
  }
  return out;
}

namespace {

// ---- graph-run's commands beyond train / evaluate

const Model& registered();

void report(const RunArgs& a, const fit::Data& d, ParamStore& params) {
  const auto& test = static_cast<const Sentences&>(*d.splits.at(0).second);
  Classifier c(params, version_of(a), test.vectors());
  fmt::print("{}", test_report(c, test.examples()));
}

int predict_command(const RunArgs& given) {
  ParamStore params;
  std::map<std::string, std::string> meta;
  train::load_params(given.checkpoint, "emojify", params, &meta);
  const RunArgs a = fit::run_args_of(registered().options, given, meta);
  const Files f = read_files(a);
  Classifier c(params, version_of(a), *f.v);
  fmt::print("{}", predict_lines(c, *f.v, given.args));
  return 0;
}

std::vector<ModelOption> options() {
  return {{.name = "version",
           .help = "1: averaged word vectors -> softmax; 2: two LSTM layers",
           .type = OptionType::choice,
           .default_value = "1",
           .choices = {"1", "2"},
           .commands = {"train"}},
          {.name = "vectors",
           .help = "GloVe word vectors (train default: glove/glove.6B.50d.5k.txt in --data-dir, ./data or "
                   "../shared/data; evaluate/predict default: those the checkpoint was trained with)",
           .type = OptionType::input_file,
           .commands = {"train", "evaluate", "predict"}}};
}

const Model& registered() {
  static const Model m = fit::model({
      .name = "emojify",
      .summary = "Emojify: a sentence -> one of five emoji, from averaged GloVe vectors (V1) or two LSTMs (V2)",
      .spec = [](const OptionValues& o) { return spec(version_of(o)); },
      .data = data,
      .fit = [](const OptionValues& o) { return fit_options(version_of(o)); },
      .epochs_default = "the course's 400 for V1, 50 for V2",
      .graphs = {{"v1", &v1, {{"batch", 1}, {"dim", 50}}},
                 {"v2", &v2, {{"batch", 2}, {"steps", max_len}, {"vocab", 5051}, {"dim", 50}}}},
      .options = options(),
      .commands = {{.name = "predict",
                    .summary = "the emoji of each sentence",
                    .usage = "SENTENCE...",
                    .min_args = 1,
                    .max_args = -1,
                    .run = predict_command}},
      .report = report,
  });
  return m;
}

const ModelRegistrar registrar(registered());

} // namespace

} // namespace sg::emojify
