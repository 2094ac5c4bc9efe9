// The trigger-word model (models/trigger_word.cpp): its spec, its
// synthesized examples as a dataset, and the detections of a trained
// network on them (what the dev set's F1 is made of).
#pragma once

#include "models/data/trigger_detect.hpp"
#include "models/data/trigger_synth.hpp"
#include "models/train/fit.hpp"

#include <memory>
#include <span>
#include <vector>

namespace sg::trigger_word {

constexpr int64_t kTx = 5511, kFreq = 101; // the model's input: spectrogram frames x frequencies
constexpr int64_t kBatch = 16;             // training, evaluation and F1 batches
// The training defaults: every Dropout's drop rate (the course writes
// Dropout(0.8), a drop rate of 0.8 in Keras; README "Trigger word
// detection" says why not), Adam's learning rate, halved every
// kHalvingSteps batches (4 epochs of the default 1,000 examples), and the
// epochs that reach the course's target in about 20 minutes here.
constexpr double kDropout = 0.2, kLr = 0.005;
constexpr int64_t kHalvingSteps = 252, kEpochs = 16;

// The course's model (Conv1D, BatchNorm, 2 GRUs, TimeDistributed Dense),
// binary cross-entropy per output step, Adam.
fit::Spec spec(double rate = kDropout, double lr = kLr);

// A batch of examples: the model's inputs and targets, and where each
// example's activates end (ms), for scoring detections.
struct Batch {
  fit::Feeds feeds;
  std::vector<std::vector<double>> activate_ends_ms;
};

// m examples of a seed (trigger::create_training_example), each synthesized
// when a batch asks for it: the batch's examples on TBB's threads.
class SynthSet : public fit::Dataset {
public:
  SynthSet(std::shared_ptr<const trigger::RawData> raw, int64_t m, uint64_t seed)
      : raw_(std::move(raw)), m_(m), seed_(seed) {}
  int64_t size() const override { return m_; }
  uint64_t fingerprint() const override;
  fit::Feeds batch(std::span<const int64_t> indices) const override { return examples(indices).feeds; }
  Batch examples(std::span<const int64_t> indices) const;

private:
  std::shared_ptr<const trigger::RawData> raw_;
  int64_t m_;
  uint64_t seed_;
};

// The output tracks y_hat[b, :, 0] of inputs X (b, Tx, 101).
std::vector<std::vector<float>> predict_tracks(fit::Network& net, const Tensor& X);

// The chimes of `net` on every example of `data` (a SynthSet; std::logic_error
// otherwise) by the chime rule on its predicted track, in batches of kBatch,
// scored against where the example's activates end.
trigger::Detections detections(fit::Network& net, const fit::Dataset& data, const trigger::ChimeRule& rule = {});

} // namespace sg::trigger_word
