// Finite-difference gradient checking, in float64: the autodiff gradient of
// L = sum(output * R) (R a fixed random cotangent) against central
// differences (L(x + eps) - L(x - eps)) / 2eps, element by element.
#pragma once

#include "graph/graph.hpp"
#include "graph/params.hpp"

#include <map>
#include <string>
#include <vector>

namespace sg {

struct GradCheckResult {
  std::string name;       // the wrt value
  double max_abs = 0;     // max |analytic - numeric|
  double max_rel = 0;     // max |analytic - numeric| / max(1, |numeric|)
  int64_t worst = -1;     // flat index of the worst element
  double analytic = 0, numeric = 0; // at the worst element
};

struct GradCheckOptions {
  double eps = 1e-6;
  uint64_t seed = 1; // for R and for inputs not given
  int64_t max_elements = 64; // per wrt value: check at most this many (spread evenly)
};

// `values`: tensors for the graph's inputs and parameters (by node name).
// Inputs or parameters missing from `values` are drawn N(0, 1) with the seed.
// Appends the loss and gradient nodes to `g`.
std::vector<GradCheckResult> gradcheck(Graph& g, Value output, const std::vector<Value>& wrt,
                                       const std::map<std::string, Tensor>& values = {},
                                       GradCheckOptions opt = {});

} // namespace sg
