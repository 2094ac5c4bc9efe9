#include "models/train/sampling.hpp"

#include <cmath>
#include <fmt/format.h>
#include <stdexcept>

namespace sg::train {

int64_t sample_index(std::span<const double> p, double temperature, double u) {
  if (!(temperature >= 0))
    throw std::invalid_argument(fmt::format("sampling temperature must be >= 0, got {}", temperature));
  const auto n = static_cast<int64_t>(p.size());
  int64_t best = -1;
  for (int64_t i = 0; i < n; ++i)
    if (p[size_t(i)] > 0 && (best < 0 || p[size_t(i)] > p[size_t(best)])) best = i;
  if (best < 0)
    throw std::invalid_argument(
        fmt::format("sampling: no positive probability among {} entries", n));
  if (temperature == 0) return best;

  // w_i = p_i^(1/T), computed as (p_i / p_max)^(1/T): the largest weight is 1,
  // so a low temperature cannot underflow every weight to 0.
  const double inv_t = 1.0 / temperature, pmax = p[size_t(best)];
  auto weight = [&](double pi) {
    if (!(pi > 0)) return 0.0;
    return temperature == 1 ? pi : std::pow(pi / pmax, inv_t);
  };
  double total = 0;
  for (double pi : p) total += weight(pi);
  const double target = u * total;
  double cum = 0;
  int64_t last = best;
  for (int64_t i = 0; i < n; ++i) {
    const double w = weight(p[size_t(i)]);
    if (w <= 0) continue;
    cum += w;
    last = i;
    if (cum > target) return i;
  }
  return last;
}

std::vector<int64_t> sample_sequence(Plan& plan, const Autoregressive& io, Sampler& draw, double temperature,
                                     int64_t max_steps, int64_t stop) {
  auto zeros_like = [&](const Value& v) { return Tensor(v.shape(), plan.dtype()); };
  Tensor x = zeros_like(io.x);
  std::vector<Tensor> state;
  for (auto& [in, out] : io.state) state.push_back(zeros_like(in));
  std::vector<int64_t> drawn;
  std::vector<double> p;
  while (int64_t(drawn.size()) < max_steps) {
    plan.feed(io.x.id(), x);
    for (size_t k = 0; k < state.size(); ++k) plan.feed(io.state[k].first.id(), state[k]);
    plan.run();
    const Tensor probs = plan.fetch(io.probs);
    p.resize(size_t(probs.size()));
    for (int64_t i = 0; i < probs.size(); ++i) p[size_t(i)] = probs.at(i);
    const int64_t i = draw.draw(p, temperature);
    if (i == stop) break;
    drawn.push_back(i);
    x = zeros_like(io.x);
    x.set(i, 1.0);
    for (size_t k = 0; k < state.size(); ++k) state[k] = plan.fetch(io.state[k].second);
  }
  return drawn;
}

ModelOption temperature_option(const std::string& default_value) {
  return {.name = "temperature",
          .help = "Draw each step from p^(1/T): T < 1 sharpens, T > 1 flattens, 0 takes the likeliest",
          .type = OptionType::number,
          .default_value = default_value,
          .min = at_least(0),
          .commands = {"sample"}};
}

} // namespace sg::train
