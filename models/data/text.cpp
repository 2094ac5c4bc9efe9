#include "models/data/text.hpp"

#include "graph/file.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <stdexcept>

namespace sg::data {

namespace {

// "'x'" for a printable character, else its escape.
std::string quoted(char c) {
  switch (c) {
  case '\n': return "'\\n'";
  case '\t': return "'\\t'";
  case '\r': return "'\\r'";
  default:
    if (std::isprint(static_cast<unsigned char>(c))) return fmt::format("'{}'", c);
    return fmt::format("byte 0x{:02X}", static_cast<unsigned char>(c));
  }
}

} // namespace

CharVocab::CharVocab(std::string chars) : chars_(std::move(chars)) {
  index_.fill(-1);
  for (size_t i = 0; i < chars_.size(); ++i) {
    int& slot = index_[static_cast<unsigned char>(chars_[i])];
    if (slot >= 0)
      throw std::invalid_argument(fmt::format("vocabulary: {} appears twice", quoted(chars_[i])));
    slot = static_cast<int>(i);
  }
}

std::string CharVocab::decode(std::span<const int> indices) const {
  std::string s;
  s.reserve(indices.size());
  for (int i : indices) s += at(i);
  return s;
}

std::string CharVocab::describe() const {
  std::string s;
  for (size_t i = 0; i < chars_.size();) {
    size_t j = i + 1;
    while (j < chars_.size() && std::isalnum(static_cast<unsigned char>(chars_[j])) &&
           chars_[j] == chars_[j - 1] + 1)
      ++j;
    if (!s.empty()) s += ", ";
    if (j - i >= 3)
      s += fmt::format("{}-{}", chars_[i], chars_[j - 1]);
    else
      for (size_t k = i; k < j; ++k) s += (k > i ? ", " : "") + quoted(chars_[k]);
    i = j;
  }
  return s;
}

CharVocab newline_and_lowercase() { return CharVocab("\nabcdefghijklmnopqrstuvwxyz"); }

std::vector<std::vector<int>> read_lines(const std::string& path, const CharVocab& vocab,
                                         const LinesOptions& opt) {
  return parse_lines(read_file(path, "text file", kMaxTextBytes), path, vocab, opt);
}

std::vector<std::vector<int>> parse_lines(std::string_view bytes, const std::string& path, const CharVocab& vocab,
                                          const LinesOptions& opt) {
  std::vector<std::vector<int>> out;
  for (int64_t number = 1; !bytes.empty(); ++number) {
    const size_t eol = bytes.find('\n');
    const std::string_view line = bytes.substr(0, eol);
    bytes.remove_prefix(eol == std::string_view::npos ? bytes.size() : eol + 1);
    require_utf8(line, path, number);
    size_t b = 0, e = line.size();
    while (b < e && std::isspace(static_cast<unsigned char>(line[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(line[e - 1]))) --e;
    if (b == e) continue;
    std::string text(line.substr(b, e - b));
    if (opt.lower)
      for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::vector<int> ex;
    ex.reserve(text.size());
    for (size_t k = 0; k < text.size(); ++k) {
      const int i = vocab.index(text[k]);
      if (i < 0)
        throw IoError(fmt::format("{}:{}: {} (column {}) in {} '{}' is not in the vocabulary ({})",
                                  path, number, quoted(text[k]), b + k + 1, opt.what, text,
                                  vocab.describe()));
      ex.push_back(i);
    }
    out.push_back(std::move(ex));
  }
  if (out.empty())
    throw IoError(fmt::format("'{}' is empty: expected one {} per line", path, opt.what));
  return out;
}

Tensor one_hot_columns(std::span<const int> indices, int depth, DType dtype) {
  const auto n = static_cast<int64_t>(indices.size());
  Tensor t({depth, n}, dtype);
  for (int64_t c = 0; c < n; ++c) {
    const int i = indices[static_cast<size_t>(c)];
    if (i >= depth)
      throw std::out_of_range(fmt::format("one_hot_columns: index {} >= depth {}", i, depth));
    if (i >= 0) t.set(i * n + c, 1.0);
  }
  return t;
}

} // namespace sg::data
