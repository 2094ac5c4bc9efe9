// "Neural Machine Translation with Attention" (Sequence Models, week 3): the
// model of models/nmt_attention.cpp, for its tests and commands. The dates,
// vocabularies and encodings are models/data/dates.hpp.
#pragma once

#include "models/data/dates.hpp"
#include "models/train/fit.hpp"
#include "ops/keras.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sg::nmt {

inline constexpr int64_t n_a = 32; // the encoder's units per direction
inline constexpr int64_t n_s = 64; // the post-attention LSTM's units

// The course's model: input "X" (batch, Tx, 37), target "Y" (batch, Ty, 11);
// outputs "y_hat" (batch, Ty, 11), the softmax of every output step, and
// "attention" (batch, Ty, Tx), the weights each output step gave the input
// characters. Metrics: "accuracy" (per character, over the Ty positions),
// "exact" (all Ty right) and "position_1" .. "position_10" (history only).
const fit::Spec& spec();

// The course's one_step_attention, as an object: its layers (the course's
// globals repeator, concatenator, densor1, densor2, activator, dotor) are
// shared by every call. a (batch, Tx, 2 n_a), s_prev (batch, n_s) -> the
// context (batch, 1, 2 n_a); alphas() keeps each call's weights (batch, Tx, 1).
class OneStepAttention {
public:
  explicit OneStepAttention(int64_t Tx);
  Value operator()(Value a, Value s_prev);
  const std::vector<Value>& alphas() const { return alphas_; }

private:
  layers::RepeatVector repeator;
  layers::Concatenate concatenator;
  layers::Dense densor1, densor2;
  layers::Activation activator;
  layers::Dot dotor;
  std::vector<Value> alphas_;
};

// The course's own test strings (its notebook's EXAMPLES and the ones its
// text translates): never in a training set of ours (DateSet leaves them out).
inline constexpr std::array<std::string_view, 8> course_examples = {
    "3 may 1979",          "5 april 09",   "21th of august 2016", "tue 10 jul 2007",
    "saturday may 9 2018", "march 3 2001", "march 3rd 2001",      "1 march 2001"};
// Their ISO dates, in the same order.
inline constexpr std::array<std::string_view, 8> course_answers = {
    "1979-05-03", "2009-04-05", "2016-08-21", "2007-07-10",
    "2018-05-09", "2001-03-03", "2001-03-03", "2001-03-01"};

// m generated examples of `seed` (dates::example 0, 1, ... up to `last`),
// skipping any whose human form is one of course_examples; the one-hot
// batches X and Y of the spec.
class DateSet : public fit::Dataset {
public:
  DateSet(int64_t m, uint64_t seed, dates::Date last);
  int64_t size() const override { return int64_t(examples_.size()); }
  fit::Feeds batch(std::span<const int64_t> indices) const override;
  uint64_t fingerprint() const override { return fingerprint_; }
  const std::vector<dates::Example>& examples() const { return examples_; }
  int64_t skipped() const { return skipped_; } // course examples left out

private:
  std::vector<dates::Example> examples_;
  int64_t skipped_ = 0;
  uint64_t fingerprint_ = 0;
};

// What the model makes of human date strings.
struct Translation {
  std::string text;  // the ISO date the model writes (Ty characters of "-0123456789")
  std::vector<std::vector<double>> attention; // Ty rows of Tx weights
  std::vector<double> confidence;             // the chosen character's probability, per output step
};
// The trained model as a translator of encoded date strings.
class Translator {
public:
  explicit Translator(ParamStore& params);
  ~Translator();
  // Its network (to require the parameters from a checkpoint: FromCheckpoint::require).
  fit::Network& network() { return *net_; }
  // Each input is Tx ids (dates::encode_human); run in batches of 100.
  std::vector<Translation> operator()(const std::vector<std::vector<int>>& inputs);

private:
  std::unique_ptr<fit::Network> net_;
};

} // namespace sg::nmt
