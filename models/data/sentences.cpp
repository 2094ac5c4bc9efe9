#include "models/data/sentences.hpp"

#include "graph/random.hpp"

#include "graph/errors.hpp"
#include "graph/file.hpp"
#include "models/data/csv.hpp"

#include <cctype>
#include <charconv>
#include <fmt/format.h>
#include <sstream>
#include <stdexcept>

namespace sg::emojify {


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

std::string without_vector(const std::string& sentence, const WordVectors& v) {
  std::string missing;
  for (auto& w : words(sentence))
    if (lookup(v, w) < 0) missing += (missing.empty() ? "" : ", ") + w;
  return missing;
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

// ---- as model inputs

std::vector<int64_t> word_ids(const std::string& sentence, const WordVectors& v) {
  std::vector<int64_t> ids;
  for (auto& w : words(sentence)) ids.push_back(lookup(v, w) + 1);
  return ids;
}

Tensor embedding_matrix(const WordVectors& v) {
  Tensor t({int64_t(v.size()) + 1, v.dim}, DType::f32);
  float* p = t.data<float>();
  for (size_t k = 0; k < v.data.size(); ++k) p[size_t(v.dim) + k] = float(v.data[k]);
  return t;
}

fit::Sizes embedding_sizes(const WordVectors& v) { return {{"vocab", v.size() + 1}, {"dim", v.dim}}; }

fit::Feeds sentence_inputs(int version, const std::vector<std::string>& sentences, const WordVectors& v,
                           int64_t pad_to) {
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
  std::vector<std::vector<int64_t>> ids;
  int64_t T = std::max<int64_t>(pad_to, 1);
  for (auto& s : sentences) T = std::max(T, int64_t(ids.emplace_back(word_ids(s, v)).size()));
  Tensor X({B, T}, DType::f32);
  for (int64_t b = 0; b < B; ++b)
    for (size_t t = 0; t < ids[size_t(b)].size(); ++t) X.set(b * T + int64_t(t), double(ids[size_t(b)][t]));
  return {{"ids", std::move(X)}};
}

int64_t Sentences::length(int64_t i) const {
  return version_ == 1 ? 0 : int64_t(words(ex_[size_t(i)].sentence).size());
}

uint64_t Sentences::fingerprint() const {
  uint64_t h = rng::hash_name("emojify/sentences");
  for (auto& e : ex_) h = rng::mix(h ^ rng::hash_name(e.sentence) ^ uint64_t(e.label));
  return h;
}

fit::Feeds Sentences::batch(std::span<const int64_t> idx) const {
  const int64_t B = int64_t(idx.size());
  std::vector<std::string> s;
  for (int64_t i : idx) s.push_back(ex_[size_t(i)].sentence);
  fit::Feeds f = sentence_inputs(version_, s, *v_, 0);
  Tensor Y = version_ == 1 ? Tensor({n_classes, B}, DType::f64) : Tensor({B, n_classes}, DType::f32);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t label = ex_[size_t(idx[size_t(b)])].label;
    Y.set(version_ == 1 ? label * B + b : b * n_classes + label, 1.0);
  }
  f["Y"] = std::move(Y);
  return f;
}

// ---- a classifier's predictions

SentenceClassifier::SentenceClassifier(const fit::Spec& spec, int version, ParamStore& store, const WordVectors& v,
                                       uint64_t seed)
    : version_(version), v_(v), c_(spec, store, embedding_sizes(v), seed, "probs", version == 1 ? 0 : -1) {}

std::vector<std::vector<double>> SentenceClassifier::probabilities(const std::vector<std::string>& sentences,
                                                                   int64_t pad_to) {
  if (sentences.empty()) return {};
  return c_.probabilities(sentence_inputs(version_, sentences, v_, std::max(pad_to, max_len)));
}

std::vector<int> SentenceClassifier::predict(const std::vector<std::string>& sentences) {
  return fit::argmax(probabilities(sentences));
}

double SentenceClassifier::accuracy(const std::vector<Example>& examples) {
  return fit::accuracy(labels_of(examples), predict(sentences_of(examples)));
}

std::string predict_lines(SentenceClassifier& c, const WordVectors& v, const std::vector<std::string>& sentences) {
  const auto pred = c.predict(sentences);
  std::string out;
  for (size_t i = 0; i < sentences.size(); ++i) {
    const std::string missing = without_vector(sentences[i], v);
    out += fmt::format("{}\t{} {}{}\n", sentences[i], pred[i], emoji(pred[i]),
                       missing.empty() ? "" : "\t(no vector: " + missing + ")");
  }
  return out;
}

} // namespace sg::emojify
