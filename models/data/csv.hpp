// A small CSV reader (RFC 4180 on one line per record): comma-separated
// fields, a field may be quoted ("...", with "" for a quote inside) and then
// holds commas and tabs as they are. Lines end in LF or CRLF; blank lines are
// skipped. Errors name the file and the line.
#pragma once

#include "graph/errors.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sg::data {

struct CsvRow {
  int line = 0; // 1-based line number in the file
  std::vector<std::string> fields;
};

// The fields of one line (without its line end). Throws std::invalid_argument
// on an unterminated quote or text between a closing quote and the next comma.
std::vector<std::string> parse_csv_line(std::string_view line);

// Every non-blank line of `path` (a UTF-8 byte-order mark at the start is
// skipped). Throws IoError "<path>:<line>: <problem>" on a malformed line, and
// IoError on a missing or unreadable file.
std::vector<CsvRow> read_csv(const std::string& path);
// The same from the file's bytes (`name` is the file named in errors).
std::vector<CsvRow> parse_csv(std::string_view bytes, const std::string& name);

// Bounds a file (and a record) must keep: read_csv refuses larger ones before
// reading them.
inline constexpr uint64_t kMaxCsvBytes = uint64_t(64) << 20;
inline constexpr size_t kMaxCsvLine = size_t(1) << 20;

// `s` without leading and trailing spaces, tabs, CRs and LFs.
std::string trim(std::string_view s);

} // namespace sg::data
