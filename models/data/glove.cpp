#include "models/data/glove.hpp"

#include "graph/file.hpp"

#include "models/suggest.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <memory>
#include <stdexcept>
#include <string_view>

namespace sg {

int32_t WordVectors::at(const std::string& word) const {
  if (auto i = find(word)) return *i;
  // The closest spellings (edit distance <= 2), most frequent (earliest) first.
  std::vector<std::pair<size_t, int32_t>> near;
  for (int32_t i = 0; i < size(); ++i) {
    const std::string& w = words[static_cast<size_t>(i)];
    if (w.size() + 2 < word.size() || word.size() + 2 < w.size()) continue;
    size_t d = edit_distance(word, w);
    if (d <= 2) near.emplace_back(d, i);
  }
  std::stable_sort(near.begin(), near.end(), [](auto& x, auto& y) { return x.first < y.first; });
  std::string hint;
  for (size_t k = 0; k < near.size() && k < 5; ++k)
    hint += (k ? ", " : "; did you mean: ") + words[static_cast<size_t>(near[k].second)];
  throw std::invalid_argument(fmt::format("unknown word '{}': not among the {} words of {}{}", word,
                                          size(), source.empty() ? "the vectors" : source, hint));
}

std::vector<double> WordVectors::vec(const std::string& word) const {
  const double* r = row(at(word));
  return std::vector<double>(r, r + dim);
}

WordVectors read_vectors(const std::string& path, const std::string& dir) {
  return read_glove(path.empty() ? (std::filesystem::path(dir) / kCourseVectors).string() : path);
}

ModelOption vectors_option(std::vector<std::string> commands, const std::string& more) {
  return {.name = "vectors",
          .help = fmt::format("Word vectors in the GloVe text format (default: {} in --data-dir, ./data or "
                              "../shared/data{})", kCourseVectors, more),
          .type = OptionType::input_file,
          .commands = std::move(commands)};
}

WordVectors read_glove(const std::string& path) { return parse_glove(read_file(path, "word-vector file"), path); }

WordVectors parse_glove(std::string_view text, const std::string& path) {
  WordVectors v;
  v.source = path;
  const char* p = text.data();
  const char* const end = p + text.size();
  if (text.size() >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0) p += 3; // UTF-8 BOM
  int64_t line = 0;
  std::vector<double> row;
  std::vector<int64_t> line_of; // each word's line, for the duplicate message
  while (p < end) {
    ++line;
    const char* eol = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    if (!eol) eol = end;
    const char* const line_start = p;
    const char* le = eol;
    if (le > p && le[-1] == '\r') --le;
    p = eol + 1;
    require_utf8(std::string_view(line_start, size_t(le - line_start)), path, line);
    while (le > line_start && (le[-1] == ' ' || le[-1] == '\t')) --le; // trailing blanks
    if (le == line_start) continue;                                     // blank line
    const char* q = line_start;
    while (q < le && *q != ' ' && *q != '\t') ++q;
    std::string word(line_start, q);
    row.clear();
    while (q < le) {
      while (q < le && (*q == ' ' || *q == '\t')) ++q;
      if (q == le) break;
      const char* tok = q;
      while (q < le && *q != ' ' && *q != '\t') ++q;
      double x = 0;
      auto [ptr, ec] = std::from_chars(tok, q, x);
      if (ec != std::errc() || ptr != q)
        throw IoError(fmt::format("{}:{}:{}: '{}' is not a number (word '{}')", path, line,
                                  tok - line_start + 1, std::string(tok, q), word));
      if (row.size() == kMaxGloveDim)
        throw IoError(fmt::format("{}:{}: the word '{}' has more than {} numbers (a word vector's most)", path,
                                  line, word, kMaxGloveDim));
      row.push_back(x);
    }
    if (row.empty())
      throw IoError(fmt::format("{}:{}: the word '{}' has no numbers after it", path, line, word));
    if (v.dim == 0) {
      v.dim = static_cast<int64_t>(row.size());
      v.data.reserve(text.size() / (static_cast<size_t>(v.dim) * 8 + 8) * static_cast<size_t>(v.dim));
    } else if (static_cast<int64_t>(row.size()) != v.dim) {
      throw IoError(fmt::format("{}:{}: ragged line: expected {} numbers after '{}' (as on line 1), got {}",
                                path, line, v.dim, word, row.size()));
    }
    auto [it, fresh] = v.index.emplace(word, v.size());
    if (!fresh)
      throw IoError(fmt::format("{}:{}: duplicate word '{}' (first on line {})", path, line, word,
                                line_of[static_cast<size_t>(it->second)]));
    line_of.push_back(line);
    v.words.push_back(std::move(word));
    v.data.insert(v.data.end(), row.begin(), row.end());
  }
  if (v.words.empty()) throw IoError(fmt::format("{}: empty file: no word vectors in it", path));
  return v;
}

void write_glove(const std::string& path, const std::vector<std::string>& words, const Tensor& vectors) {
  if (vectors.rank() != 2 || vectors.dim(0) != static_cast<int64_t>(words.size()))
    throw std::invalid_argument(fmt::format("write_glove: {} words but vectors of shape {}", words.size(),
                                            to_string(vectors.shape())));
  const int64_t d = vectors.dim(1);
  if (d == 0) throw std::invalid_argument("write_glove: vectors of dimension 0");
  const bool f32 = vectors.dtype() == DType::f32;
  std::string out;
  char num[64];
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w.empty() || w.find_first_of(" \t\r\n") != std::string::npos)
      throw std::invalid_argument(fmt::format("write_glove: word {} ('{}') is empty or holds whitespace", i, w));
    out += w;
    for (int64_t j = 0; j < d; ++j) {
      const double x = vectors.at(static_cast<int64_t>(i) * d + j);
      auto r = f32 ? std::to_chars(num, num + sizeof num, static_cast<float>(x))
                   : std::to_chars(num, num + sizeof num, x);
      out += ' ';
      out.append(num, r.ptr);
    }
    out += '\n';
  }
  write_file(path, out);
}

void write_glove(const std::string& path, const WordVectors& v) {
  write_glove(path, v.words, Tensor::from({v.size(), v.dim}, v.data, DType::f64));
}

} // namespace sg
