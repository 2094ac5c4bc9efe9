// "Emojify" (Sequence Models, week 2): the two models of models/emojify.cpp
// and their classifier, for its tests (the data pipeline, sentences as
// inputs and predictions as lines: models/data/sentences.hpp).
//
//   V1: the average of a sentence's word vectors -> Dense(5) -> softmax
//   V2: Embedding (frozen GloVe, mask_zero) -> LSTM(128, return sequences) ->
//       Dropout(0.5) -> LSTM(128) -> Dropout(0.5) -> Dense(5) -> softmax,
//       masked so that padding steps leave both LSTMs' states unchanged.
#pragma once

#include "graph/params.hpp"
#include "models/data/glove.hpp"
#include "models/data/sentences.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace sg::emojify {

inline constexpr int64_t n_a = 128; // V2's LSTM units

// The model of version 1 or 2 (its symbolic sizes: batch, steps, and the
// embedding's vocab (words + 1) and dim).
const fit::Spec& spec(int version);

// A trained (or freshly initialised) classifier over `store`: version 1 or 2
// (V2's frozen embedding from `v` unless `store` has one). Graphs are
// compiled on first use per batch size and length; parameters missing from
// `store` are created from `seed`.
class Classifier : public SentenceClassifier {
public:
  Classifier(ParamStore& store, int version, const WordVectors& v, uint64_t seed = 0);
};

// The training of graph-run emojify train, for tests: `epochs` epochs of V1
// (SGD, one example at a time, lr 0.01) or V2 (Adam, batches of 32, shuffled
// every epoch); returns each epoch's mean loss.
std::vector<double> train_for_test(ParamStore& store, int version, const std::vector<Example>& train,
                                   const WordVectors& v, int64_t epochs, uint64_t seed);

} // namespace sg::emojify
