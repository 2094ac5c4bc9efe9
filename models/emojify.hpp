// "Emojify" (Sequence Models, week 2): the data pipeline and the two
// classifiers of models/emojify.cpp, for its tests.
//
//   V1: the average of a sentence's word vectors -> Dense(5) -> softmax
//   V2: Embedding (frozen GloVe, mask_zero) -> LSTM(128, return sequences) ->
//       Dropout(0.5) -> LSTM(128) -> Dropout(0.5) -> Dense(5) -> softmax,
//       masked so that padding steps leave both LSTMs' states unchanged.
#pragma once

#include "graph/params.hpp"
#include "models/data/glove.hpp"
#include "models/data/sentences.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sg::emojify {

inline constexpr int64_t n_a = 128; // V2's LSTM units

// The model of version 1 or 2 (its symbolic sizes: batch, steps, and the
// embedding's vocab (words + 1) and dim).
const fit::Spec& spec(int version);

// ❤️ ⚾ 😄 😞 🍴 for labels 0..4.
const char* emoji(int label);

// A trained (or freshly initialised) classifier over `store`: version 1 or 2.
// Graphs are compiled on first use per batch size and length; parameters
// missing from `store` are created from `seed`.
class Classifier {
public:
  Classifier(ParamStore& store, int version, const WordVectors& v, uint64_t seed = 0);
  ~Classifier();
  Classifier(const Classifier&) = delete;
  Classifier& operator=(const Classifier&) = delete;
  // The softmax of each sentence. V2 pads every sentence to
  // max(pad_to, max_len, the longest one's words) steps.
  std::vector<std::array<double, n_classes>> probabilities(const std::vector<std::string>& sentences,
                                                           int64_t pad_to = 0);
  std::vector<int> predict(const std::vector<std::string>& sentences);
  double accuracy(const std::vector<Example>& examples);

private:
  struct Impl;
  Impl* p_;
};

// The training of graph-run emojify train, for tests: `epochs` epochs of V1
// (SGD, one example at a time, lr 0.01) or V2 (Adam, batches of 32, shuffled
// every epoch); returns each epoch's mean loss.
std::vector<double> train_for_test(ParamStore& store, int version, const std::vector<Example>& train,
                                   const WordVectors& v, int64_t epochs, uint64_t seed);

// What `evaluate` prints after the accuracies: the test confusion matrix and
// the misclassified test sentences.
std::string test_report(Classifier& c, const std::vector<Example>& test);
// `predict`'s lines: each sentence, its label and emoji, its words without a vector.
std::string predict_lines(Classifier& c, const WordVectors& v, const std::vector<std::string>& sentences);

} // namespace sg::emojify
