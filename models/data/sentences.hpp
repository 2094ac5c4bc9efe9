// Emojify's data: the labelled sentences of train_emoji.csv and tesss.csv,
// their words, and the words' GloVe vectors (with the words that have none
// counted, never dropped silently), for models/emojify.cpp; sentences as
// model inputs, and a classifier's predictions of them.
#pragma once

#include "models/data/emojify_csv.hpp"
#include "models/data/glove.hpp"
#include "models/train/classify.hpp"
#include "models/train/fit.hpp"

#include <memory>
#include <span>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sg::emojify {

// Word vectors: sg::WordVectors, read by sg::read_glove (models/data/glove.hpp).
// The row of `w`, or -1 if it has none.
int lookup(const WordVectors& v, const std::string& w);

// Words without a vector: counted over a split, never dropped silently.
struct OovReport {
  int64_t words = 0;                  // word occurrences
  int64_t oov = 0;                    // of which have no vector
  std::map<std::string, int> missing; // distinct missing words and their counts
  int64_t sentences_without_vectors = 0; // sentences none of whose words has a vector
  std::string summary() const;        // "12 of 540 words (9 distinct) have no vector: ..."
};
OovReport count_oov(const std::vector<Example>& examples, const WordVectors& v);
// The words of `sentence` without a vector, as "lets, adore" ("" if none).
std::string without_vector(const std::string& sentence, const WordVectors& v);

// V1's input: the mean of the vectors of the sentence's words THAT HAVE ONE
// (the zero vector if none has), as `dim` doubles.
std::vector<double> average(const std::string& sentence, const WordVectors& v);

// ---- as model inputs

inline constexpr int64_t max_len = 10; // the course's maxLen: the longest training sentence

// The word ids of Emojify V2's embedding: word w of the vectors is id row(w) + 1;
// a word without a vector is 0, the padding id (masked like padding).
std::vector<int64_t> word_ids(const std::string& sentence, const WordVectors& v);
// The course's pretrained_embedding_layer weights: (V + 1, d) float32, row 0
// zeros (padding), row i + 1 the vector of word i.
Tensor embedding_matrix(const WordVectors& v);

// The sizes of that embedding: vocab (V + 1) and dim (d).
fit::Sizes embedding_sizes(const WordVectors& v);

// The model inputs of sentences. V1: "avg" (d, B) float64, their averages as
// columns. V2: "ids" (B, T) float32, word_ids then 0 (padding), T = max(pad_to,
// the longest sentence, 1).
fit::Feeds sentence_inputs(int version, const std::vector<std::string>& sentences, const WordVectors& v,
                           int64_t pad_to = max_len);

// Labelled sentences as fit batches: sentence_inputs and "Y" one-hot, (5, B)
// float64 for V1, (B, 5) float32 for V2. A V2 batch is padded to its longest
// sentence (the scores do not depend on the padding, see models/emojify.cpp),
// and length() is a sentence's words, so that fit's buckets
// (FitOptions::bucket) compute about the real steps.
class Sentences : public fit::Dataset {
public:
  Sentences(int version, std::vector<Example> ex, std::shared_ptr<const WordVectors> v)
      : version_(version), ex_(std::move(ex)), v_(std::move(v)) {}
  int64_t size() const override { return int64_t(ex_.size()); }
  uint64_t fingerprint() const override;
  fit::Feeds batch(std::span<const int64_t> idx) const override;
  int64_t length(int64_t i) const override;
  const std::vector<Example>& examples() const { return ex_; }
  const WordVectors& vectors() const { return *v_; }

private:
  int version_;
  std::vector<Example> ex_;
  std::shared_ptr<const WordVectors> v_;
};

// A classifier of sentences: fit::Classifier on the "probs" of a model
// (`spec`) whose inputs are sentence_inputs(version, ...): (5, B) for V1,
// (B, 5) for V2.
class SentenceClassifier {
public:
  SentenceClassifier(const fit::Spec& spec, int version, ParamStore& store, const WordVectors& v, uint64_t seed = 0);
  // The softmax of each sentence. V2 pads every sentence to
  // max(pad_to, max_len, the longest one's words) steps.
  std::vector<std::vector<double>> probabilities(const std::vector<std::string>& sentences, int64_t pad_to = 0);
  std::vector<int> predict(const std::vector<std::string>& sentences);
  double accuracy(const std::vector<Example>& examples);
  fit::Network& network() { return c_.network(); }

private:
  int version_;
  const WordVectors& v_;
  fit::Classifier c_;
};

// `predict`'s lines: each sentence, its label and emoji, its words without a vector.
std::string predict_lines(SentenceClassifier& c, const WordVectors& v, const std::vector<std::string>& sentences);

} // namespace sg::emojify
