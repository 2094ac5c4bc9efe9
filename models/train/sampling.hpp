// Host-side randomness for training and sampling loops, from the
// counter-based generator (graph/random.hpp): every draw is a function of
// (seed, stream, counter), so a resumed run draws what an uninterrupted one
// would have, and a sampled sequence can be repeated from its seed alone.
#pragma once

#include "graph/graph.hpp"
#include "graph/plan.hpp"
#include "graph/random.hpp"
#include "models/options.hpp"

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace sg::train {

// The index drawn from the weights `p` (any scale; entries <= 0 or NaN are
// never drawn) at `temperature`, with u uniform in [0, 1):
//   temperature > 0: w_i = p_i^(1/T) (T = 1: w = p); the smallest i with
//                    w_0 + ... + w_i > u * sum(w) (the inverse CDF; if
//                    rounding leaves none, the last positive entry);
//   temperature = 0: the greedy choice, argmax p (the first of equal maxima).
// At T = 1 this is the rule of the sample_categorical op. Throws
// std::invalid_argument if no entry is positive or the temperature is < 0.
int64_t sample_index(std::span<const double> p, double temperature, double u);

// `sample`'s --temperature NUMBER (>= 0): sample_index's temperature, its
// default the model's (the course's Dinosaurus draws at 1, Jazz takes the
// argmax, 0).
ModelOption temperature_option(const std::string& default_value);

// Draws of one sequence: the k-th draw uses u = rng::uniform(seed, stream, k).
struct Sampler {
  uint64_t seed = 0, stream = 0, counter = 0;
  int64_t draw(std::span<const double> p, double temperature = 1.0) {
    return sample_index(p, temperature, rng::uniform(seed, stream, counter++));
  }
};

// An autoregressive generator's wiring in a one-step plan: the input fed
// the one-hot of the previous draw (zeros at the first step), the
// distribution drawn from, and the (input, output) pairs of the state
// carried from one step to the next (zeros at the first step).
struct Autoregressive {
  Value x, probs;
  std::vector<std::pair<Value, Value>> state;
};

// Runs `plan` step by step: each step draws an index from `probs` at
// `temperature` (sample_index) and feeds it back as the next x; stops after
// `max_steps` draws or when `stop` is drawn (not included). Dinosaurus'
// names and Jazz's solos both come from here.
std::vector<int64_t> sample_sequence(Plan& plan, const Autoregressive& io, Sampler& draw, double temperature,
                                     int64_t max_steps, int64_t stop = -1);

// Fisher-Yates: for i = n-1 down to 1, swap v[i] with v[j], j = floor(u (i + 1)),
// u = rng::uniform(seed, stream, i).
template <class T> void shuffle(std::vector<T>& v, uint64_t seed, uint64_t stream) {
  for (size_t i = v.size(); i-- > 1;) {
    auto j = static_cast<size_t>(rng::uniform(seed, stream, i) * static_cast<double>(i + 1));
    if (j > i) j = i;
    std::swap(v[i], v[j]);
  }
}

} // namespace sg::train
