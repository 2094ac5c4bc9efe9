#include "models/data/word_terms.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fmt/format.h>
#include <stdexcept>

namespace sg::word_vectors {

namespace {

using Vec = std::vector<double>;

// Host-side sums of vectors, for the inputs (word+word, the mean of pair differences).
Vec operator+(Vec u, const Vec& v) {
  for (size_t i = 0; i < u.size(); ++i) u[i] += v[i];
  return u;
}
Vec operator-(Vec u, const Vec& v) {
  for (size_t i = 0; i < u.size(); ++i) u[i] -= v[i];
  return u;
}
Vec operator*(double a, Vec u) {
  for (double& x : u) x *= a;
  return u;
}

Vec row(const WordVectors& v, const std::string& w) {
  const double* r = v.row(lookup(v, w));
  return Vec(r, r + v.dim);
}

Tensor tensor(const Vec& e) { return Tensor::from({static_cast<int64_t>(e.size())}, e, DType::f64); }

} // namespace

int32_t lookup(const WordVectors& v, const std::string& w) {
  if (auto i = v.find(w)) return *i;
  std::string lower = w;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (auto i = v.find(lower)) return *i;
  return v.at(w); // throws, with the closest spellings
}

Tensor vec(const WordVectors& v, const std::string& w) { return tensor(row(v, w)); }

Tensor table(const WordVectors& v) { return Tensor::from({v.size(), v.dim}, v.data, DType::f64); }

Term expression(const WordVectors& v, const std::string& e) {
  if (v.find(e) || e.find_first_of("+-") == std::string::npos || e.size() == 1) return {vec(v, e), e};
  Vec sum(static_cast<size_t>(v.dim), 0.0);
  std::string shown;
  size_t i = 0;
  char sign = '+';
  while (i <= e.size()) {
    size_t j = e.find_first_of("+-", i);
    if (j == std::string::npos) j = e.size();
    const std::string w = e.substr(i, j - i);
    if (w.empty()) throw std::invalid_argument(fmt::format("'{}': expected word+word or word-word", e));
    sum = sign == '+' ? sum + row(v, w) : sum - row(v, w);
    shown += (shown.empty() ? (sign == '-' ? "-" : "") : sign == '-' ? " - " : " + ") + w;
    if (j == e.size()) break;
    sign = e[j];
    i = j + 1;
  }
  return {tensor(sum), shown};
}

Term gender_direction(const WordVectors& v, const std::string& pairs) {
  if (pairs.empty()) return {tensor(row(v, "woman") - row(v, "man")), "woman - man"};
  Vec g(static_cast<size_t>(v.dim), 0.0);
  int n = 0;
  size_t i = 0;
  while (i <= pairs.size()) {
    size_t j = pairs.find(',', i);
    if (j == std::string::npos) j = pairs.size();
    const std::string p = pairs.substr(i, j - i);
    const size_t c = p.find(':');
    if (c == std::string::npos || c == 0 || c + 1 == p.size())
      throw std::invalid_argument(fmt::format("--pairs: '{}' is not a pair a:b (e.g. woman:man,girl:boy)", p));
    g = g + (row(v, p.substr(0, c)) - row(v, p.substr(c + 1)));
    ++n;
    i = j + 1;
  }
  Term t{tensor((1.0 / n) * g), fmt::format("the mean of {} pair difference(s)", n)};
  direction(t, fmt::format("the gender direction g of --pairs '{}'", pairs));
  return t;
}

const Tensor& direction(const Term& t, const std::string& of) {
  for (int64_t i = 0; i < t.e.size(); ++i)
    if (t.e.at(i) != 0) return t.e;
  throw std::invalid_argument(
      fmt::format("{} is the zero vector, and a zero vector has no direction: {} is undefined (0 / 0)", t.shown, of));
}

std::vector<std::pair<std::string, double>> best(const WordVectors& v, const Tensor& scores,
                                                 const std::vector<int32_t>& skip, long long k) {
  std::vector<std::pair<double, int32_t>> s;
  s.reserve(static_cast<size_t>(v.size()));
  for (int32_t i = 0; i < v.size(); ++i)
    if (std::find(skip.begin(), skip.end(), i) == skip.end()) {
      if (std::isnan(scores.at(i))) // (a NaN would also break the sort's ordering)
        throw std::invalid_argument(fmt::format(
            "the cosine for '{}' is not a number: one of its vectors is zero (a word's, or a difference of two "
            "words' that are equal), and a zero vector has no direction", v.words[static_cast<size_t>(i)]));
      s.emplace_back(scores.at(i), i);
    }
  const size_t n = std::min(s.size(), static_cast<size_t>(k));
  std::partial_sort(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(n), s.end(),
                    [](auto& x, auto& y) { return x.first > y.first; });
  std::vector<std::pair<std::string, double>> top;
  for (size_t i = 0; i < n; ++i) top.emplace_back(v.words[static_cast<size_t>(s[i].second)], s[i].first);
  return top;
}

} // namespace sg::word_vectors
