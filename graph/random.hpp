// Counter-based random numbers: every draw is a pure function of
// (seed, stream, counter), so results never depend on the order in which
// nodes run, on the thread count, or on how many draws came before.
#pragma once

#include <cmath>
#include <cstdint>
#include <string_view>

namespace sg::rng {

// SplitMix64 finaliser: a fast, well-mixed 64-bit hash.
constexpr uint64_t mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr uint64_t hash(uint64_t seed, uint64_t stream, uint64_t counter) {
  return mix(mix(mix(seed) ^ stream) ^ counter);
}

// FNV-1a of a name, to derive a stream from a parameter or node name.
constexpr uint64_t hash_name(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  return h;
}

// A seed of its own for the stream named `name` of `seed` (a model's
// validation set, a layer's dropout masks, ...).
constexpr uint64_t derive(uint64_t seed, std::string_view name) { return mix(seed ^ hash_name(name)); }

// Uniform in [0, 1) with 53 random bits.
constexpr double uniform(uint64_t seed, uint64_t stream, uint64_t counter) {
  return static_cast<double>(hash(seed, stream, counter) >> 11) * 0x1.0p-53;
}

// Standard normal by Box-Muller from two uniform draws (2*counter, 2*counter+1).
inline double normal(uint64_t seed, uint64_t stream, uint64_t counter) {
  double u1 = uniform(seed, stream, 2 * counter);
  double u2 = uniform(seed, stream, 2 * counter + 1);
  if (u1 < 1e-300) u1 = 1e-300;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

// A sequential generator over one (seed, stream): next() draws counter 0, 1, 2, ...
struct Stream {
  uint64_t seed, stream, counter = 0;
  double uniform() { return rng::uniform(seed, stream, counter++); }
  double normal() { return rng::normal(seed, stream, counter++); }
};

} // namespace sg::rng
