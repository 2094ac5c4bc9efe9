#include "models/data/sentences.hpp"

#include "graph/errors.hpp"
#include "models/data/csv.hpp"

#include <cctype>
#include <charconv>
#include <fmt/format.h>
#include <sstream>

namespace sg::emojify {

std::vector<Example> read_examples(const std::string& path) {
  std::vector<Example> out;
  for (const data::CsvRow& row : data::read_csv(path)) {
    auto bad = [&](const std::string& why) {
      return IoError(fmt::format("{}:{}: {} (expected `sentence,label` with a label 0..4)", path, row.line, why));
    };
    if (row.fields.size() < 2) throw bad(fmt::format("{} field(s)", row.fields.size()));
    Example e;
    e.sentence = data::trim(row.fields[0]);
    e.line = row.line;
    if (e.sentence.empty()) throw bad("empty sentence");
    const std::string label = data::trim(row.fields[1]);
    int v = -1;
    auto [ptr, ec] = std::from_chars(label.data(), label.data() + label.size(), v);
    if (label.empty() || ec != std::errc() || ptr != label.data() + label.size() || v < 0 || v >= n_classes)
      throw bad(fmt::format("label '{}' is not 0..4", label));
    e.label = v;
    out.push_back(std::move(e));
  }
  if (out.empty()) throw IoError(fmt::format("'{}' holds no sentences", path));
  return out;
}

std::vector<std::string> words(const std::string& sentence) {
  std::vector<std::string> w;
  std::istringstream in(sentence);
  for (std::string s; in >> s;) {
    for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    w.push_back(std::move(s));
  }
  return w;
}

int lookup(const WordVectors& v, const std::string& w) {
  auto i = v.find(w);
  return i ? int(*i) : -1;
}

std::string OovReport::summary() const {
  std::string s = fmt::format("{} of {} words ({} distinct) have no vector", oov, words, missing.size());
  if (sentences_without_vectors)
    s += fmt::format(", {} sentence(s) have none at all", sentences_without_vectors);
  if (!missing.empty()) {
    s += ":";
    int k = 0;
    for (auto& [w, n] : missing) {
      if (k++ == 12) {
        s += " ...";
        break;
      }
      s += " " + w + (n > 1 ? fmt::format(" ({})", n) : "");
    }
  }
  return s;
}

OovReport count_oov(const std::vector<Example>& examples, const WordVectors& v) {
  OovReport r;
  for (auto& e : examples) {
    bool any = false;
    for (auto& w : words(e.sentence)) {
      ++r.words;
      if (lookup(v, w) < 0) {
        ++r.oov;
        ++r.missing[w];
      } else {
        any = true;
      }
    }
    if (!any) ++r.sentences_without_vectors;
  }
  return r;
}

std::vector<double> average(const std::string& sentence, const WordVectors& v) {
  std::vector<double> avg(size_t(v.dim), 0.0);
  int n = 0;
  for (auto& w : words(sentence))
    if (int i = lookup(v, w); i >= 0) {
      const double* x = v.row(i);
      for (int64_t k = 0; k < v.dim; ++k) avg[size_t(k)] += x[k];
      ++n;
    }
  if (n > 0)
    for (double& a : avg) a /= double(n);
  return avg;
}

} // namespace sg::emojify
