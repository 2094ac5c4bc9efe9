#include "models/suggest.hpp"

#include <algorithm>

namespace sg {

size_t edit_distance(std::string_view a, std::string_view b) {
  // d[i][j]: the distance of a[0, i) and b[0, j); three rows suffice for the swap.
  const size_t n = b.size();
  std::vector<size_t> before(n + 1), prev(n + 1), cur(n + 1);
  for (size_t j = 0; j <= n; ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= n; ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        cur[j] = std::min(cur[j], before[j - 2] + 1);
    }
    std::swap(before, prev);
    std::swap(prev, cur);
  }
  return prev[n];
}

std::vector<std::string> close_matches(std::string_view word, const std::vector<std::string>& candidates) {
  constexpr size_t kMaxDistance = 2, kPrefix = kMaxDistance + 1; // a prefix ranks after a near spelling
  std::vector<std::pair<size_t, size_t>> near; // (rank, index in candidates)
  for (size_t k = 0; k < candidates.size(); ++k) {
    const std::string& c = candidates[k];
    if (word.empty()) continue;
    const size_t d = edit_distance(word, c);
    if (d <= kMaxDistance && d < word.size())
      near.emplace_back(d, k);
    else if (c.starts_with(word))
      near.emplace_back(kPrefix, k);
  }
  std::stable_sort(near.begin(), near.end(), [](auto& x, auto& y) { return x.first < y.first; });
  std::vector<std::string> r;
  for (auto& [rank, k] : near)
    if (std::find(r.begin(), r.end(), candidates[k]) == r.end()) r.push_back(candidates[k]);
  return r;
}

} // namespace sg
