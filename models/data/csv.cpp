#include "models/data/csv.hpp"

#include "graph/file.hpp"

#include <fmt/format.h>
#include <stdexcept>

namespace sg::data {

std::string trim(std::string_view s) {
  const char* ws = " \t\r\n";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  const size_t e = s.find_last_not_of(ws);
  return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> parse_csv_line(std::string_view line) {
  std::vector<std::string> fields;
  size_t i = 0;
  const size_t n = line.size();
  while (true) {
    std::string field;
    if (i < n && line[i] == '"') {
      const size_t open = i++;
      bool closed = false;
      while (i < n) {
        if (line[i] == '"') {
          if (i + 1 < n && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        field += line[i++];
      }
      if (!closed)
        throw std::invalid_argument(
            fmt::format("the quote that opens field {} (column {}) is never closed", fields.size() + 1, open + 1));
      if (i < n && line[i] != ',')
        throw std::invalid_argument(fmt::format("text after the closing quote of field {} (column {})",
                                                fields.size() + 1, i + 1));
    } else {
      while (i < n && line[i] != ',') {
        if (line[i] == '"')
          throw std::invalid_argument(
              fmt::format("a quote inside unquoted field {} (column {})", fields.size() + 1, i + 1));
        field += line[i++];
      }
    }
    fields.push_back(std::move(field));
    if (i >= n) break;
    ++i; // the comma
  }
  return fields;
}

std::vector<CsvRow> read_csv(const std::string& path) {
  return parse_csv(read_file(path, "CSV file", kMaxCsvBytes), path);
}

std::vector<CsvRow> parse_csv(std::string_view bytes, const std::string& path) {
  std::vector<CsvRow> rows;
  if (bytes.starts_with("\xEF\xBB\xBF")) bytes.remove_prefix(3);
  int number = 0;
  while (!bytes.empty()) {
    ++number;
    const size_t eol = bytes.find('\n');
    std::string_view line = bytes.substr(0, eol);
    bytes.remove_prefix(eol == std::string_view::npos ? bytes.size() : eol + 1);
    if (line.size() > kMaxCsvLine)
      throw IoError(fmt::format("{}:{}: a line of {} bytes, more than the {} a record may have", path, number,
                                line.size(), kMaxCsvLine));
    if (line.ends_with('\r')) line.remove_suffix(1);
    require_utf8(line, path, number);
    if (trim(line).empty()) continue;
    try {
      rows.push_back({number, parse_csv_line(line)});
    } catch (const std::invalid_argument& e) {
      throw IoError(fmt::format("{}:{}: {}", path, number, e.what()));
    }
  }
  return rows;
}

} // namespace sg::data
