#include "models/data/emojify_csv.hpp"

#include "graph/errors.hpp"
#include "graph/file.hpp"
#include "models/data/csv.hpp"

#include <cctype>
#include <charconv>
#include <fmt/format.h>
#include <sstream>
#include <stdexcept>

namespace sg::emojify {

const std::vector<std::string>& emojis() {
  static const std::vector<std::string> e = {"\u2764\ufe0f", "\u26be", "\U0001F604", "\U0001F61E", "\U0001F374"};
  return e;
}

const char* emoji(int label) {
  if (label < 0 || label >= n_classes) throw std::out_of_range(fmt::format("emoji label {}", label));
  return emojis()[size_t(label)].c_str();
}

std::vector<Example> read_examples(const std::string& path) {
  return parse_examples(read_file(path, "CSV file", data::kMaxCsvBytes), path);
}

std::vector<Example> parse_examples(std::string_view bytes, const std::string& path) {
  std::vector<Example> out;
  for (const data::CsvRow& row : data::parse_csv(bytes, path)) {
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

std::vector<std::string> sentences_of(const std::vector<Example>& examples) {
  std::vector<std::string> s;
  for (auto& e : examples) s.push_back(e.sentence);
  return s;
}

std::vector<int> labels_of(const std::vector<Example>& examples) {
  std::vector<int> l;
  for (auto& e : examples) l.push_back(e.label);
  return l;
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

} // namespace sg::emojify
