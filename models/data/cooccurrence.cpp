#include "models/data/cooccurrence.hpp"

#include "graph/file.hpp"

#include "graph/errors.hpp"
#include "graph/random.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <iterator>
#include <sstream>

namespace sg::glove {

std::vector<std::string> tokenize(std::string_view line) {
  std::vector<std::string> words;
  std::string w;
  auto flush = [&] {
    size_t a = w.find_first_not_of('\''), e = w.find_last_not_of('\'');
    if (a != std::string::npos) words.push_back(w.substr(a, e - a + 1));
    w.clear();
  };
  int depth = 0;        // inside [...]
  bool escaped = false; // inside \...\ (gcide's pronunciations: \Ab*jure"\)
  char prev = 0;
  for (char c : line) {
    if (c == '-' && prev == '-' && depth == 0 && !escaped) break; // "--Shak.": a citation, to the line's end
    prev = c;
    if (c == '[') { flush(); ++depth; continue; }
    if (c == ']') { flush(); depth = std::max(0, depth - 1); continue; }
    if (c == '\\') { flush(); escaped = !escaped; continue; }
    if (depth > 0 || escaped) continue;
    if ((c >= 'a' && c <= 'z') || c == '\'') w += c;
    else if (c >= 'A' && c <= 'Z') w += char(c - 'A' + 'a');
    else flush();
  }
  flush();
  return words;
}

int32_t Vocab::find(const std::string& w) const {
  auto it = index.find(w);
  return it == index.end() ? -1 : it->second;
}

namespace {

std::ifstream open(const std::string& path, std::string_view what = "corpus") {
  check_readable(path, what);
  std::ifstream in(path);
  if (!in) throw IoError(fmt::format("cannot read the {} '{}'", what, path));
  return in;
}

bool blank(const std::string& line) {
  return line.find_first_not_of(" \t\r") == std::string::npos;
}

} // namespace

Vocab build_vocab(const std::string& corpus, int64_t min_count, int64_t max_vocab,
                  const std::unordered_set<std::string>& keep) {
  std::unordered_map<std::string, int64_t> counts;
  auto in = open(corpus);
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    require_utf8(line, corpus, number); // checked once, on this first pass over the corpus
    for (auto& w : tokenize(line)) ++counts[w];
  }
  std::vector<std::pair<std::string, int64_t>> kept;
  for (auto& [w, c] : counts)
    if (c >= min_count) kept.emplace_back(w, c);
  auto order = [](auto& a, auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; };
  std::sort(kept.begin(), kept.end(), order);
  if (max_vocab > 0 && int64_t(kept.size()) > max_vocab) kept.resize(size_t(max_vocab));
  if (!keep.empty()) {
    std::unordered_set<std::string> in(kept.size());
    for (auto& wc : kept) in.insert(wc.first);
    for (auto& w : keep)
      if (auto it = counts.find(w); it != counts.end() && !in.count(w)) kept.emplace_back(w, it->second);
    std::sort(kept.begin(), kept.end(), order);
  }
  if (kept.empty())
    throw IoError(fmt::format("the corpus '{}' has no word seen {} times or more", corpus, min_count));
  Vocab v;
  for (auto& [w, c] : kept) {
    v.index.emplace(w, int32_t(v.words.size()));
    v.words.push_back(w);
    v.counts.push_back(c);
  }
  return v;
}

std::unordered_set<std::string> words_of(const std::string& files) {
  std::unordered_set<std::string> words;
  std::stringstream list(files);
  std::string path, line;
  while (std::getline(list, path, ',')) {
    if (path.empty()) continue;
    std::ifstream in = open(path, "word list");
    while (std::getline(in, line))
      for (auto& w : tokenize(line)) words.insert(w);
  }
  return words;
}

namespace {

// (i, j) as one sortable key, weights summed: events are buffered, sorted and
// reduced in chunks, then merged into the running sum.
class Accumulator {
public:
  void add(int32_t a, int32_t b, double w) {
    const auto lo = uint64_t(std::min(a, b)), hi = uint64_t(std::max(a, b));
    buf_.emplace_back((lo << 32) | hi, w);
    if (buf_.size() >= kChunk) flush();
  }
  std::vector<std::pair<uint64_t, double>> take() {
    flush();
    return std::move(sum_);
  }

private:
  static constexpr size_t kChunk = size_t(1) << 23;
  static void reduce(std::vector<std::pair<uint64_t, double>>& v) {
    size_t o = 0;
    for (size_t k = 0; k < v.size(); ++k) {
      if (o > 0 && v[o - 1].first == v[k].first) v[o - 1].second += v[k].second;
      else v[o++] = v[k];
    }
    v.resize(o);
  }
  void flush() {
    if (buf_.empty()) return;
    std::sort(buf_.begin(), buf_.end(), [](auto& a, auto& b) { return a.first < b.first; });
    reduce(buf_);
    std::vector<std::pair<uint64_t, double>> merged;
    merged.reserve(sum_.size() + buf_.size());
    std::merge(sum_.begin(), sum_.end(), buf_.begin(), buf_.end(), std::back_inserter(merged),
               [](auto& a, auto& b) { return a.first < b.first; });
    reduce(merged);
    sum_ = std::move(merged);
    buf_.clear();
  }
  std::vector<std::pair<uint64_t, double>> buf_, sum_;
};

} // namespace

std::vector<Pair> cooccurrences(const std::string& corpus, const Vocab& vocab, int window) {
  Accumulator acc;
  auto in = open(corpus);
  std::string line;
  std::vector<int32_t> para; // the paragraph's in-vocabulary words so far
  while (std::getline(in, line)) {
    if (blank(line)) { para.clear(); continue; }
    for (auto& w : tokenize(line)) {
      const int32_t id = vocab.find(w);
      if (id < 0) continue;
      const size_t p = para.size();
      for (size_t k = 1; k <= size_t(window) && k <= p; ++k) acc.add(para[p - k], id, 1.0 / double(k));
      para.push_back(id);
    }
  }
  const auto sums = acc.take();
  std::vector<Pair> pairs;
  pairs.reserve(2 * sums.size());
  for (auto& [key, x] : sums) {
    const auto i = int32_t(key >> 32), j = int32_t(key & 0xffffffffu);
    if (i == j) pairs.push_back({i, i, 2 * x});
    else {
      pairs.push_back({i, j, x});
      pairs.push_back({j, i, x});
    }
  }
  std::sort(pairs.begin(), pairs.end(), [](auto& a, auto& b) { return a.i != b.i ? a.i < b.i : a.j < b.j; });
  return pairs;
}

namespace {

uint64_t pairs_fingerprint(const Vocab& v, const std::vector<Pair>& pairs) {
  uint64_t h = rng::hash_name("glove/cooccurrences");
  for (auto& w : v.words) h = rng::mix(h ^ rng::hash_name(w));
  h = rng::mix(h ^ uint64_t(pairs.size()));
  for (size_t k = 0; k < pairs.size(); k += 997) {
    double x = pairs[k].x;
    uint64_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    h = rng::mix(h ^ bits ^ (uint64_t(uint32_t(pairs[k].i)) << 32) ^ uint64_t(uint32_t(pairs[k].j)));
  }
  return h;
}

} // namespace

Pairs::Pairs(Vocab vocab, std::vector<Pair> pairs)
    : vocab_(std::move(vocab)), pairs_(std::move(pairs)), fingerprint_(pairs_fingerprint(vocab_, pairs_)) {}

fit::Feeds Pairs::batch(std::span<const int64_t> idx) const {
  const int64_t B = int64_t(idx.size());
  Tensor i({B}, DType::f32), j({B}, DType::f32), x({B}, DType::f32);
  float *pi = i.data<float>(), *pj = j.data<float>(), *px = x.data<float>();
  for (int64_t k = 0; k < B; ++k) {
    const Pair& p = pairs_[size_t(idx[size_t(k)])];
    pi[k] = float(p.i);
    pj[k] = float(p.j);
    px[k] = float(p.x);
  }
  return {{"i", std::move(i)}, {"j", std::move(j)}, {"x", std::move(x)}};
}

} // namespace sg::glove
