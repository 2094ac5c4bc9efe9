// Compiled graphs by size. A model whose graphs depend on a size (the
// sequence length, the batch size) builds each the first time it is needed
// and keeps it: a net (its graph and the Values the model feeds and reads)
// beside the plan compiled from it (DESIGN.md: "graphs for different
// sequence lengths are built on demand and cached").
#pragma once

#include "graph/plan.hpp"

#include <map>
#include <utility>

namespace sg::train {

template <class Net> struct Compiled {
  Net net; // owns the graph (a unique_ptr, so the plan's pointer to it stays valid)
  Plan plan;
};

template <class Key, class Net> class PlanCache {
public:
  // The entry for `key`, made by `make(key)` -> Compiled<Net> the first time.
  template <class Make> Compiled<Net>& get(const Key& key, Make&& make) {
    auto it = map_.find(key);
    if (it == map_.end()) it = map_.emplace(key, make(key)).first;
    return it->second;
  }
  auto begin() const { return map_.begin(); }
  auto end() const { return map_.end(); }

private:
  std::map<Key, Compiled<Net>> map_;
};

} // namespace sg::train
