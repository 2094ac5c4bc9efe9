// Reverse-mode automatic differentiation as a graph-to-graph transform.
//
// gradients() appends to the graph the nodes that compute the vector-Jacobian
// product of `outputs` (weighted by their cotangents `seeds`) with respect to
// each of `wrt`. Only nodes on a path from a wrt value to an output get
// gradient nodes; a value used several times (a shared RNN weight) gets the
// sum of its contributions through one explicit add_n node. The new nodes are
// ordinary graph nodes (kind `gradient`), so they are scheduled, planned and
// exported like the forward pass, and can be differentiated again.
#pragma once

#include "graph/graph.hpp"

#include <vector>

namespace sg {

// seeds[i]: cotangent of outputs[i], same shape; an empty Value means ones.
// Returns d/d(wrt[j]) of sum_i <seeds[i], outputs[i]>. A wrt value that no
// output depends on gets a zeros constant of its shape.
std::vector<Value> gradients(const std::vector<Value>& outputs, const std::vector<Value>& seeds,
                             const std::vector<Value>& wrt);

// d(loss)/d(wrt) for a scalar loss.
std::vector<Value> gradients(Value loss, const std::vector<Value>& wrt);

} // namespace sg
