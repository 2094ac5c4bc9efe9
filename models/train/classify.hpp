// A classifier's predictions and their report, written once: the class
// probabilities a predict graph gives each example, the class it picks
// (Keras' model.predict, then argmax), the accuracy, and what evaluate
// prints after the metrics of a classifier: sklearn's confusion matrix and
// the examples it gets wrong.
//
//   fit::Classifier c(spec, params, {{"vocab", V + 1}, {"dim", 50}});
//   const std::vector<int> predicted = c.predict(inputs);     // the argmax of "probs"
//   fmt::print("{}{}", fit::confusion_matrix(labels, predicted, names, "test"),
//              fit::misclassified(texts, labels, predicted, names, "test sentences"));
#pragma once

#include "models/train/fit.hpp"

#include <string>
#include <vector>

namespace sg::fit {

// Each example's class probabilities in `p`, a predict graph's output: (B,
// K), a row per example, or (K, B), a column per example, with class_axis 0
// (the course's column vectors).
std::vector<std::vector<double>> class_probabilities(const Tensor& p, int64_t class_axis = -1);
// Each example's most probable class (the first of equals, as numpy's argmax).
std::vector<int> argmax(const std::vector<std::vector<double>>& probabilities);
// The fraction of `predicted` that equal `labels` (0 if there are none).
double accuracy(const std::vector<int>& labels, const std::vector<int>& predicted);

// The classes a model's predict graph gives: its output `output` holds the
// class probabilities along `class_axis` (class_probabilities); the graphs
// are compiled on first use per size; parameters not in `params` start from
// their initializers (seed). `sizes`: the sizes no input shows (Network::set_sizes).
class Classifier {
public:
  Classifier(const Spec& spec, ParamStore& params, Sizes sizes, uint64_t seed = 0, std::string output = "probs",
             int64_t class_axis = -1);
  std::vector<std::vector<double>> probabilities(const Feeds& inputs);
  std::vector<int> predict(const Feeds& inputs) { return argmax(probabilities(inputs)); }
  Network& network() { return net_; }

private:
  Network net_;
  std::string output_;
  int64_t class_axis_;
};

// sklearn's confusion_matrix as text: a row per true label, a column per
// predicted one, the rows headed by the class's index and name:
//
//   confusion matrix (test; rows: true label, columns: predicted)
//            0   1
//     0 cat  12   1
//     1 dog   3   9
//
// std::out_of_range for a label or prediction that is not an index of `names`.
std::string confusion_matrix(const std::vector<int>& labels, const std::vector<int>& predicted,
                             const std::vector<std::string>& names, const std::string& split);

// The examples predicted wrongly, a line each after a count ("misclassified
// <what> (3 of 56):"): the example's text, the predicted and the true class
// (index and name).
std::string misclassified(const std::vector<std::string>& texts, const std::vector<int>& labels,
                          const std::vector<int>& predicted, const std::vector<std::string>& names,
                          const std::string& what);

} // namespace sg::fit
