// Emojify's data: the labelled sentences of train_emoji.csv and tesss.csv,
// their words, and the words' GloVe vectors (with the words that have none
// counted, never dropped silently), for models/emojify.cpp.
#pragma once

#include "models/data/glove.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sg::emojify {

inline constexpr int n_classes = 5; // the labels 0..4

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

} // namespace sg::emojify
