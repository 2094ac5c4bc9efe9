#include "models/train/classify.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <stdexcept>

namespace sg::fit {

std::vector<std::vector<double>> class_probabilities(const Tensor& p, int64_t class_axis) {
  if (p.rank() != 2 || (class_axis != 0 && class_axis != 1 && class_axis != -1))
    throw std::invalid_argument(fmt::format("class probabilities: {} with the classes along axis {}; expected a "
                                            "(B, K) or (K, B) tensor", to_string(p.shape()), class_axis));
  const bool columns = class_axis == 0;
  const int64_t B = p.dim(columns ? 1 : 0), K = p.dim(columns ? 0 : 1);
  std::vector<std::vector<double>> out(size_t(B), std::vector<double>(size_t(K), 0.0));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t k = 0; k < K; ++k) out[size_t(b)][size_t(k)] = p.at(columns ? k * B + b : b * K + k);
  return out;
}

std::vector<int> argmax(const std::vector<std::vector<double>>& probabilities) {
  std::vector<int> classes;
  for (auto& p : probabilities) classes.push_back(int(std::max_element(p.begin(), p.end()) - p.begin()));
  return classes;
}

double accuracy(const std::vector<int>& labels, const std::vector<int>& predicted) {
  if (labels.size() != predicted.size())
    throw std::invalid_argument(fmt::format("accuracy: {} labels, {} predictions", labels.size(), predicted.size()));
  int64_t right = 0;
  for (size_t i = 0; i < labels.size(); ++i) right += labels[i] == predicted[i];
  return labels.empty() ? 0.0 : double(right) / double(labels.size());
}

Classifier::Classifier(const Spec& spec, ParamStore& params, Sizes sizes, uint64_t seed, std::string output,
                       int64_t class_axis)
    : net_(spec, params, seed), output_(std::move(output)), class_axis_(class_axis) {
  net_.set_sizes(std::move(sizes));
}

std::vector<std::vector<double>> Classifier::probabilities(const Feeds& inputs) {
  const Feeds out = net_.predict(inputs);
  auto it = out.find(output_);
  if (it == out.end())
    throw std::invalid_argument(fmt::format("model {} has no output '{}' of class probabilities", net_.spec().name,
                                            output_));
  return class_probabilities(it->second, class_axis_);
}

namespace {

// The labels and predictions, checked against the classes.
void check_classes(const std::vector<int>& labels, const std::vector<int>& predicted, size_t classes) {
  if (labels.size() != predicted.size())
    throw std::invalid_argument(fmt::format("{} labels, {} predictions", labels.size(), predicted.size()));
  for (const auto* v : {&labels, &predicted})
    for (int c : *v)
      if (c < 0 || size_t(c) >= classes)
        throw std::out_of_range(fmt::format("class {} of {} classes (0..{})", c, classes, int64_t(classes) - 1));
}

} // namespace

std::string confusion_matrix(const std::vector<int>& labels, const std::vector<int>& predicted,
                             const std::vector<std::string>& names, const std::string& split) {
  check_classes(labels, predicted, names.size());
  const size_t K = names.size();
  std::vector<int64_t> counts(K * K, 0);
  for (size_t i = 0; i < labels.size(); ++i) ++counts[size_t(labels[i]) * K + size_t(predicted[i])];
  std::string out = fmt::format("confusion matrix ({}; rows: true label, columns: predicted)\n      ", split);
  for (size_t k = 0; k < K; ++k) out += fmt::format("{:>4}", k);
  for (size_t t = 0; t < K; ++t) {
    out += fmt::format("\n  {} {}", t, names[t]);
    for (size_t k = 0; k < K; ++k) out += fmt::format("{:>4}", counts[t * K + k]);
  }
  return out + "\n";
}

std::string misclassified(const std::vector<std::string>& texts, const std::vector<int>& labels,
                          const std::vector<int>& predicted, const std::vector<std::string>& names,
                          const std::string& what) {
  check_classes(labels, predicted, names.size());
  if (texts.size() != labels.size())
    throw std::invalid_argument(fmt::format("misclassified: {} texts, {} labels", texts.size(), labels.size()));
  std::string wrong;
  int64_t n = 0;
  for (size_t i = 0; i < texts.size(); ++i)
    if (predicted[i] != labels[i] && ++n)
      wrong += fmt::format("  {:<40} predicted {} {}  true {} {}\n", texts[i], predicted[i], names[size_t(predicted[i])],
                           labels[i], names[size_t(labels[i])]);
  return fmt::format("misclassified {} ({} of {}):\n", what, n, texts.size()) + wrong;
}

} // namespace sg::fit
