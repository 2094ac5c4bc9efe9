#include "models/data/dino_names.hpp"

#include "graph/random.hpp"
#include "models/train/sampling.hpp"

namespace sg::dinosaurus {

const data::CharVocab& vocab() {
  static const data::CharVocab v = data::newline_and_lowercase();
  return v;
}

std::vector<std::vector<int>> load_names(const std::string& path, uint64_t seed) {
  auto names = data::read_lines(path, vocab(), {.lower = true, .what = "name"});
  train::shuffle(names, seed, rng::hash_name("dinosaurus/shuffle"));
  return names;
}

uint64_t fingerprint(const std::vector<std::vector<int>>& names) {
  uint64_t h = rng::hash_name("dinosaurus/names");
  for (auto& name : names) {
    for (int c : name) h = rng::mix(h ^ uint64_t(c));
    h = rng::mix(h ^ 0xffu); // the end of a name
  }
  return h;
}

Example example(const std::vector<std::vector<int>>& names, int64_t j) {
  const auto& name = names[size_t(j % int64_t(names.size()))];
  Example e;
  e.X.push_back(-1); // None: x⟨1⟩ is the zero vector
  e.X.insert(e.X.end(), name.begin(), name.end());
  e.Y.assign(name.begin(), name.end());
  e.Y.push_back(vocab().index('\n'));
  return e;
}

} // namespace sg::dinosaurus
