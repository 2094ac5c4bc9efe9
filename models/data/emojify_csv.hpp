// Emojify's two CSV files, train_emoji.csv and tesss.csv: labelled sentences,
// the five emoji and the course's tokenizer. Apart from the rest of
// sentences.hpp (vectors, datasets, classifiers) so that the parser builds
// alone (tools/fuzz).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sg::emojify {

inline constexpr int n_classes = 5; // the labels 0..4

// ❤️ ⚾ 😄 😞 🍴: the emoji of labels 0..4 (std::out_of_range for another label).
const char* emoji(int label);
const std::vector<std::string>& emojis();

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
// The same from the file's bytes (`name` is the file named in errors).
std::vector<Example> parse_examples(std::string_view bytes, const std::string& name);

// Their sentences and their labels, in order.
std::vector<std::string> sentences_of(const std::vector<Example>& examples);
std::vector<int> labels_of(const std::vector<Example>& examples);

// The course's X.lower().split().
std::vector<std::string> words(const std::string& sentence);

} // namespace sg::emojify
