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
// both LSTMs' (h, c) as they were, h⟨t⟩ = m⟨t⟩ h_new + (1 − m⟨t⟩) h⟨t−1⟩, so
// the scores do not depend on how far a sentence is padded (bitwise).
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
#include "models/train/plan_cache.hpp"
#include "models/train/sampling.hpp"
#include "models/train/trainer.hpp"
#include "ops/layers.hpp"
#include "ops/ops.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
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

std::vector<Example> read_examples(const std::string& path) {
  std::vector<Example> out;
  for (const data::CsvRow& row : data::read_csv(path)) {
    auto bad = [&](const std::string& why) {
      return IoError(fmt::format("{}:{}: {} (expected `sentence,label` with a label 0..4)", path, row.line, why));
    };
    if (row.fields.size() < 2) throw bad(fmt::format("{} field(s)", row.fields.size()));
    Example e;
    e.sentence = data::trim(row.fields[0]);
    e.line = row.line;
    if (e.sentence.empty()) throw bad("empty sentence");
    const std::string label = data::trim(row.fields[1]);
    int v = -1;
    auto [ptr, ec] = std::from_chars(label.data(), label.data() + label.size(), v);
    if (label.empty() || ec != std::errc() || ptr != label.data() + label.size() || v < 0 || v >= n_classes)
      throw bad(fmt::format("label '{}' is not 0..4", label));
    e.label = v;
    out.push_back(std::move(e));
  }
  if (out.empty()) throw IoError(fmt::format("'{}' holds no sentences", path));
  return out;
}

std::vector<std::string> words(const std::string& sentence) {
  std::vector<std::string> w;
  std::istringstream in(sentence);
  for (std::string s; in >> s;) {
    for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    w.push_back(std::move(s));
  }
  return w;
}

int lookup(const WordVectors& v, const std::string& w) {
  auto i = v.find(w);
  return i ? int(*i) : -1;
}

std::string OovReport::summary() const {
  std::string s = fmt::format("{} of {} words ({} distinct) have no vector", oov, words, missing.size());
  if (sentences_without_vectors)
    s += fmt::format(", {} sentence(s) have none at all", sentences_without_vectors);
  if (!missing.empty()) {
    s += ":";
    int k = 0;
    for (auto& [w, n] : missing) {
      if (k++ == 12) {
        s += " ...";
        break;
      }
      s += " " + w + (n > 1 ? fmt::format(" ({})", n) : "");
    }
  }
  return s;
}

OovReport count_oov(const std::vector<Example>& examples, const WordVectors& v) {
  OovReport r;
  for (auto& e : examples) {
    bool any = false;
    for (auto& w : words(e.sentence)) {
      ++r.words;
      if (lookup(v, w) < 0) {
        ++r.oov;
        ++r.missing[w];
      } else {
        any = true;
      }
    }
    if (!any) ++r.sentences_without_vectors;
  }
  return r;
}

std::vector<double> average(const std::string& sentence, const WordVectors& v) {
  std::vector<double> avg(size_t(v.dim), 0.0);
  int n = 0;
  for (auto& w : words(sentence))
    if (int i = lookup(v, w); i >= 0) {
      const double* x = v.row(i);
      for (int64_t k = 0; k < v.dim; ++k) avg[size_t(k)] += x[k];
      ++n;
    }
  if (n > 0)
    for (double& a : avg) a /= double(n);
  return avg;
}

namespace {

constexpr DType kV2DType = DType::f32; // Keras' float32
constexpr int64_t kBatch = 32;
const uint64_t kShuffleStream = rng::hash_name("emojify/shuffle");

// ---- V1: (d, B) averages as columns -> (5, B)

struct V1Net {
  std::unique_ptr<Graph> g = std::make_unique<Graph>();
  Value X, Y, probs, loss;
  TrainOps sgd;
};

V1Net v1_net(int64_t B, int64_t dim, bool training) {
  V1Net n;
  Graph& g = *n.g;
  n.X = input(g, "avg", {dim, B});
  // the course's initialize: W = randn(n_y, n_h) / sqrt(n_h), b = 0
  Value W = param(g, "W", {n_classes, dim}, Initializer::normal(0, 1.0 / std::sqrt(double(dim))));
  Value b = param(g, "b", {n_classes, 1});
  Value z = (matmul(W, n.X) + b).named("z");
  n.probs = softmax(z, 0).named("probs");
  if (training) {
    n.Y = input(g, "Y", {n_classes, B});
    n.loss = sum(softmax_cross_entropy(z, n.Y, 0)).named("loss");
    n.sgd = minimize(n.loss, {W, b}, SGD{.lr = 0.01});
  }
  return n;
}

// ---- V2: X (B, T, d) word vectors, mask (B, T) 1 at words, 0 at padding -> (B, 5)

struct V2Net {
  std::unique_ptr<Graph> g = std::make_unique<Graph>();
  Value X, mask, Y, probs, loss;
  TrainOps adam;
};

V2Net v2_net(int64_t B, int64_t T, int64_t dim, bool training, uint64_t seed) {
  V2Net n;
  Graph& g = *n.g;
  g.seed = rng::mix(seed ^ rng::hash_name("emojify/dropout") ^ uint64_t(B) << 32 ^ uint64_t(T));
  n.X = input(g, "X", {B, T, dim});
  n.mask = input(g, "mask", {B, T});
  const LSTMWeights l1 = lstm_weights(g, "lstm", dim, n_a);
  const LSTMWeights l2 = lstm_weights(g, "lstm_1", n_a, n_a);
  const DenseWeights d = dense_weights(g, "dense", n_a, n_classes);
  const Value zero = zeros(g, {B, n_a});
  LSTMState s1{zero, zero}, s2{zero, zero};
  // the first layer's input side for all steps at once (one product)
  const std::vector<Value> zx1 = lstm_project(n.X, l1);
  for (int64_t t = 0; t < T; ++t) {
    auto scope = g.scope(fmt::format("t{}", t + 1));
    const Value m = slice(n.mask, 1, t, t + 1).named("m"); // (B, 1)
    const Value keep = (1.0 - m).named("keep");
    auto masked = [&](LSTMState now, LSTMState before, const char* layer) {
      return LSTMState{(m * now.h + keep * before.h).named(fmt::format("{}_h_masked", layer)),
                       (m * now.c + keep * before.c).named(fmt::format("{}_c_masked", layer))};
    };
    // step 1 starts from the zero state: no recurrent product (the same numbers)
    s1 = masked(lstm_step(zx1[size_t(t)], t ? s1 : LSTMState{}, l1), s1, "lstm");
    const Value h1 = training ? dropout(s1.h, 0.5) : s1.h;
    s2 = masked(lstm_cell(h1, t ? s2 : LSTMState{}, l2), s2, "lstm_1");
  }
  const Value h = training ? dropout(s2.h, 0.5) : s2.h;
  const Value z = dense(h, d).named("z");
  n.probs = softmax(z, -1).named("probs");
  if (training) {
    n.Y = input(g, "Y", {B, n_classes});
    n.loss = (sum(softmax_cross_entropy(z, n.Y, -1)) * (1.0 / double(B))).named("loss");
    n.adam = minimize(n.loss, {l1.kernel, l1.recurrent_kernel, l1.bias, l2.kernel, l2.recurrent_kernel, l2.bias,
                               d.kernel, d.bias},
                      Adam{});
  }
  return n;
}

int64_t padded_length(const std::vector<std::vector<std::string>>& ws, int64_t pad_to) {
  int64_t T = std::max(pad_to, max_len);
  for (auto& w : ws) T = std::max(T, int64_t(w.size()));
  return T;
}

// X and mask for V2: sentence b's words at steps 0..len-1, zeros after.
void fill_v2(const std::vector<std::vector<std::string>>& ws, const WordVectors& v, int64_t T, Tensor& X,
             Tensor& mask) {
  const int64_t B = int64_t(ws.size()), d = v.dim;
  X = Tensor({B, T, d}, kV2DType);
  mask = Tensor({B, T}, kV2DType);
  float* x = X.data<float>();
  float* m = mask.data<float>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < int64_t(ws[size_t(b)].size()); ++t) {
      m[b * T + t] = 1;
      if (int i = lookup(v, ws[size_t(b)][size_t(t)]); i >= 0)
        for (int64_t k = 0; k < d; ++k) x[(b * T + t) * d + k] = float(v.row(i)[k]);
    }
}

Tensor v1_columns(const std::vector<std::string>& sentences, const WordVectors& v) {
  const int64_t B = int64_t(sentences.size());
  Tensor X({v.dim, B}, DType::f64);
  double* x = X.data<double>();
  for (int64_t b = 0; b < B; ++b) {
    const auto avg = average(sentences[size_t(b)], v);
    for (int64_t k = 0; k < v.dim; ++k) x[k * B + b] = avg[size_t(k)];
  }
  return X;
}

std::vector<std::string> sentences_of(const std::vector<Example>& ex) {
  std::vector<std::string> s;
  for (auto& e : ex) s.push_back(e.sentence);
  return s;
}

// The training steps of either version: a plan per batch shape, built on first use.
class Trainer {
public:
  Trainer(ParamStore& store, int version, const WordVectors& v, uint64_t seed,
          const std::map<std::string, std::string>* restored = nullptr)
      : store_(store), version_(version), v_(v), seed_(seed), restored_(restored) {}

  // One optimizer step on `batch`; the loss before it (V1: summed, V2: mean over the batch).
  double step(const std::vector<const Example*>& batch) {
    const int64_t B = int64_t(batch.size());
    std::vector<std::string> s;
    for (auto* e : batch) s.push_back(e->sentence);
    if (version_ == 1) {
      auto& c = v1(B);
      Tensor Y({n_classes, B}, DType::f64);
      for (int64_t b = 0; b < B; ++b) Y.set(int64_t(batch[size_t(b)]->label) * B + b, 1.0);
      c.plan.feed(c.net.X.id(), v1_columns(s, v_));
      c.plan.feed(c.net.Y.id(), Y);
      c.plan.run();
      return c.plan.fetch(c.net.loss).at(0);
    }
    std::vector<std::vector<std::string>> ws;
    for (auto& x : s) ws.push_back(words(x));
    const int64_t T = padded_length(ws, 0);
    auto& c = v2(B, T);
    Tensor X, mask, Y({B, n_classes}, kV2DType);
    fill_v2(ws, v_, T, X, mask);
    for (int64_t b = 0; b < B; ++b) Y.set(b * n_classes + batch[size_t(b)]->label, 1.0);
    c.plan.feed(c.net.X.id(), X);
    c.plan.feed(c.net.mask.id(), mask);
    c.plan.feed(c.net.Y.id(), Y);
    c.plan.run();
    return c.plan.fetch(c.net.loss).at(0);
  }

  // The run counters of the V2 plans (their dropout draws), for the loop state.
  std::map<std::string, uint64_t> runs() const {
    std::map<std::string, uint64_t> r;
    for (auto& [k, c] : v2_) r[fmt::format("runs_{}_{}", k.first, k.second)] = c.plan.runs();
    return r;
  }

private:
  train::Compiled<V1Net>& v1(int64_t B) {
    return v1_.get(B, [&](int64_t batch) {
      V1Net net = v1_net(batch, v_.dim, true);
      Plan plan(*net.g, store_, {net.loss}, net.sgd.updates, {DType::f64, seed_});
      return train::Compiled<V1Net>{std::move(net), std::move(plan)};
    });
  }
  train::Compiled<V2Net>& v2(int64_t B, int64_t T) {
    return v2_.get({B, T}, [&](const std::pair<int64_t, int64_t>&) {
      V2Net net = v2_net(B, T, v_.dim, true, seed_);
      Plan plan(*net.g, store_, {net.loss}, net.adam.updates, {kV2DType, seed_});
      if (restored_)
        if (auto r = restored_->find(fmt::format("runs_{}_{}", B, T)); r != restored_->end())
          plan.set_runs(std::stoull(r->second));
      return train::Compiled<V2Net>{std::move(net), std::move(plan)};
    });
  }
  ParamStore& store_;
  int version_;
  const WordVectors& v_;
  uint64_t seed_;
  const std::map<std::string, std::string>* restored_;
  train::PlanCache<int64_t, V1Net> v1_;
  train::PlanCache<std::pair<int64_t, int64_t>, V2Net> v2_;
};

// V2's batches of an epoch: a shuffle of 0..m-1 from (seed, epoch), cut in 32s.
std::vector<std::vector<int>> epoch_batches(int m, uint64_t seed, int64_t epoch) {
  std::vector<int> order(static_cast<size_t>(m), 0);
  std::iota(order.begin(), order.end(), 0);
  train::shuffle(order, seed, kShuffleStream + uint64_t(epoch));
  std::vector<std::vector<int>> batches;
  for (int i = 0; i < m; i += int(kBatch))
    batches.emplace_back(order.begin() + i, order.begin() + std::min(m, i + int(kBatch)));
  return batches;
}

// One epoch; its mean loss per example.
double run_epoch(Trainer& t, int version, const std::vector<Example>& train, uint64_t seed, int64_t epoch) {
  double total = 0;
  if (version == 1) {
    for (auto& e : train) total += t.step({&e}); // the course: in order, one at a time
  } else {
    for (auto& batch : epoch_batches(int(train.size()), seed, epoch)) {
      std::vector<const Example*> b;
      for (int i : batch) b.push_back(&train[size_t(i)]);
      total += t.step(b) * double(b.size());
    }
  }
  return total / double(train.size());
}

std::string default_vectors(const std::string& data_dir_given) {
  return (fs::path(data_dir(data_dir_given)) / "glove" / "glove.6B.50d.5k.txt").string();
}

std::string split_file(const std::string& data_dir_given, const char* name) {
  return (fs::path(data_dir(data_dir_given)) / "emojify" / name).string();
}

const std::vector<std::string>& param_names(int version) {
  static const std::vector<std::string> v1 = {"W", "b"};
  static const std::vector<std::string> v2 = {"lstm/kernel",   "lstm/recurrent_kernel",   "lstm/bias",
                                              "lstm_1/kernel", "lstm_1/recurrent_kernel", "lstm_1/bias",
                                              "dense/kernel",  "dense/bias"};
  return version == 1 ? v1 : v2;
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
  train::load_params(checkpoint, "emojify", l.store);
  for (auto& name : param_names(l.version))
    if (!l.store.contains(name))
      throw IoError(fmt::format("checkpoint '{}' lacks parameter '{}' of Emojify V{}", checkpoint, name, l.version));
  return l;
}

} // namespace

// ---- the classifier (inference graphs)

struct Classifier::Impl {
  ParamStore& store;
  int version;
  const WordVectors& v;
  uint64_t seed;
  train::PlanCache<int64_t, V1Net> v1;
  train::PlanCache<std::pair<int64_t, int64_t>, V2Net> v2;
};

Classifier::Classifier(ParamStore& store, int version, const WordVectors& v, uint64_t seed)
    : p_(new Impl{store, version, v, seed, {}, {}}) {
  if (version != 1 && version != 2)
    throw std::invalid_argument(fmt::format("Emojify has versions 1 and 2, not {}", version));
}
Classifier::~Classifier() { delete p_; }

std::vector<std::array<double, n_classes>> Classifier::probabilities(const std::vector<std::string>& sentences,
                                                                     int64_t pad_to) {
  std::vector<std::array<double, n_classes>> out(sentences.size());
  if (sentences.empty()) return out;
  const int64_t B = int64_t(sentences.size());
  Tensor P;
  if (p_->version == 1) {
    auto& c = p_->v1.get(B, [&](int64_t batch) {
      V1Net net = v1_net(batch, p_->v.dim, false);
      Plan plan(*net.g, p_->store, {net.probs}, {}, {DType::f64, p_->seed});
      return train::Compiled<V1Net>{std::move(net), std::move(plan)};
    });
    c.plan.feed(c.net.X.id(), v1_columns(sentences, p_->v));
    c.plan.run();
    P = c.plan.fetch(c.net.probs); // (5, B)
    for (int64_t b = 0; b < B; ++b)
      for (int k = 0; k < n_classes; ++k) out[size_t(b)][size_t(k)] = P.at(k * B + b);
    return out;
  }
  std::vector<std::vector<std::string>> ws;
  for (auto& s : sentences) ws.push_back(words(s));
  const int64_t T = padded_length(ws, pad_to);
  auto& c = p_->v2.get({B, T}, [&](const std::pair<int64_t, int64_t>&) {
    V2Net net = v2_net(B, T, p_->v.dim, false, p_->seed);
    Plan plan(*net.g, p_->store, {net.probs}, {}, {kV2DType, p_->seed});
    return train::Compiled<V2Net>{std::move(net), std::move(plan)};
  });
  Tensor X, mask;
  fill_v2(ws, p_->v, T, X, mask);
  c.plan.feed(c.net.X.id(), X);
  c.plan.feed(c.net.mask.id(), mask);
  c.plan.run();
  P = c.plan.fetch(c.net.probs); // (B, 5)
  for (int64_t b = 0; b < B; ++b)
    for (int k = 0; k < n_classes; ++k) out[size_t(b)][size_t(k)] = P.at(b * n_classes + k);
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
  Trainer t(store, version, v, seed);
  std::vector<double> losses;
  for (int64_t e = 0; e < epochs; ++e) losses.push_back(run_epoch(t, version, train, seed, e));
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
  auto lo = train::LoopOptions::from(a, "emojify", "epoch", "epochs");
  ParamStore store;
  train::Trainer tr(lo, store);
  if (tr.resumed() && tr.state().get_u64("version") != uint64_t(version))
    throw IoError(fmt::format("--resume: the checkpoint holds Emojify V{}, not V{}", tr.state().get_u64("version"),
                              version));
  Trainer steps(store, int(version), v, args.seed, tr.resumed() ? &tr.state().values : nullptr);
  tr.on_save([&](train::LoopState& s) {
    s.set_u64("version", uint64_t(version));
    s.values["vectors"] = vectors_path;
    for (auto& [k, r] : steps.runs()) s.set_u64(k, r);
  });
  if (tr.first_step() == 0 && tr.progress().mode() != train::ProgressMode::quiet) {
    tr.progress().print(fmt::format("emojify V{}: {} training sentences; vectors '{}' ({} words, d = {})", version,
                                    train.size(), vectors_path, v.words.size(), v.dim));
    tr.progress().print(fmt::format("train: {}", count_oov(train, v).summary()));
    tr.progress().print(fmt::format("test: {}", count_oov(test, v).summary()));
  }
  const int64_t report_every = version == 1 ? 100 : 10;
  double loss = 0;
  for (int64_t epoch = tr.first_step(); epoch < tr.steps(); ++epoch) {
    loss = run_epoch(steps, int(version), train, args.seed, epoch);
    tr.end_step(epoch, loss);
    if (epoch == 0 || (epoch + 1) % report_every == 0) tr.report(epoch + 1, loss);
  }
  tr.finish(loss);
  Classifier c(store, int(version), v, args.seed);
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
  if (graph == "v1") {
    int64_t d = 50, B = 1;
    if (auto it = given.find("avg"); it != given.end() && it->second.rank() == 2)
      d = it->second.dim(0), B = it->second.dim(1);
    V1Net n = v1_net(B, d, backward);
    std::vector<std::pair<std::string, Value>> outs = {{"probs", n.probs}};
    if (backward) outs.push_back({"loss", n.loss});
    return {std::move(n.g), outs, {n.X}};
  }
  if (graph == "v2") {
    int64_t B = 2, T = max_len, d = 50;
    if (auto it = given.find("X"); it != given.end() && it->second.rank() == 3)
      B = it->second.dim(0), T = it->second.dim(1), d = it->second.dim(2);
    V2Net n = v2_net(B, T, d, backward, 0);
    std::vector<std::pair<std::string, Value>> outs = {{"probs", n.probs}};
    if (backward) outs.push_back({"loss", n.loss});
    return {std::move(n.g), outs, {n.X}};
  }
  throw std::invalid_argument(fmt::format("emojify has no graph '{}'; it has: v1, v2", graph));
}

std::vector<ModelOption> options() {
  auto o = train::loop_model_options("epochs", "epoch", "", "0");
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
