// "Emojify" (Sequence Models, week 2): the data pipeline and the two
// classifiers of models/emojify.cpp, for its tests.
//
//   V1: the average of a sentence's word vectors -> Dense(5) -> softmax
//   V2: word vectors (a frozen embedding) -> LSTM(128, return sequences) ->
//       Dropout(0.5) -> LSTM(128) -> Dropout(0.5) -> Dense(5) -> softmax,
//       masked so that padding steps leave both LSTMs' states unchanged.
#pragma once

#include "graph/params.hpp"
#include "models/data/glove.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sg::emojify {

inline constexpr int n_classes = 5;
inline constexpr int64_t max_len = 10; // the course's maxLen: the longest training sentence
inline constexpr int64_t n_a = 128;    // V2's LSTM units

// ❤️ ⚾ 😄 😞 🍴 for labels 0..4.
const char* emoji(int label);

struct Example {
  std::string sentence; // as in the file, surrounding whitespace (the test set's tab) removed
  int label = 0;
  int line = 0;
};

// train_emoji.csv (`sentence,label,,` with optional trailing fields) and
// tesss.csv (`"sentence<TAB>",label`): fields 1 and 2 are the sentence and the
// label 0..4, later fields are ignored. IoError "<path>:<line>: ..." on a row
// with fewer than two fields, an empty sentence, or a label that is not 0..4.
std::vector<Example> read_examples(const std::string& path);

// The course's X.lower().split().
std::vector<std::string> words(const std::string& sentence);

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

// V1's input: the mean of the vectors of the sentence's words THAT HAVE ONE
// (the zero vector if none has), as `dim` doubles.
std::vector<double> average(const std::string& sentence, const WordVectors& v);

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

// The commands, callable directly: the report `eval` prints and `predict`'s lines.
std::string eval_report(const std::string& checkpoint, const std::string& vectors,
                        const std::string& data_dir);
std::string predict_lines(const std::string& checkpoint, const std::string& vectors,
                          const std::vector<std::string>& sentences);

} // namespace sg::emojify
