// Whole-file reading for every loader: each one is parse_X(bytes, name) over
// read_file(path, ...), so that the parsers can be fuzzed in memory
// (tools/fuzz) and every file error reads the same way.
#pragma once

#include "graph/errors.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace sg {

// The bytes of `path`. Throws IoError naming `what` and the file when it is
// missing, a directory (or not a regular file), unreadable (the system's reason,
// e.g. "Permission denied"), or larger than `max_bytes` (checked before reading).
std::string read_file(const std::string& path, std::string_view what, uint64_t max_bytes = UINT64_MAX);

// The same checks for a reader that streams the file itself (a corpus too big
// to hold): throws IoError unless `path` can be opened for reading.
void check_readable(const std::string& path, std::string_view what);

} // namespace sg
