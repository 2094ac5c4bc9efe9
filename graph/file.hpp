// Whole-file reading for every loader: each one is parse_X(bytes, name) over
// read_file(path, ...), so that the parsers can be fuzzed in memory
// (tools/fuzz) and every file error reads the same way.
#pragma once

#include "graph/errors.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sg {

// The bytes of `path`. Throws IoError naming `what` and the file when it is
// missing, a directory (or not a regular file), unreadable (the system's reason,
// e.g. "Permission denied"), or larger than `max_bytes` (checked before reading).
std::string read_file(const std::string& path, std::string_view what, uint64_t max_bytes = UINT64_MAX);

// Writes `bytes` to `path` (created or truncated). Throws IoError naming the
// file and the system's reason when it cannot be opened or written whole.
void write_file(const std::string& path, std::string_view bytes);

// The same checks for a reader that streams the file itself (a corpus too big
// to hold): throws IoError unless `path` can be opened for reading.
void check_readable(const std::string& path, std::string_view what);

// The offset of the first byte of `text` that is not part of well-formed
// UTF-8 (overlong forms, surrogates and code points above U+10FFFF included),
// or std::string_view::npos when it is all well-formed.
size_t invalid_utf8_at(std::string_view text) noexcept;

// Throws IoError "<name>:<line>: not UTF-8 text (byte 0x.. at column ..)"
// unless `text`, line `line` of the file `name`, is well-formed UTF-8.
void require_utf8(std::string_view text, const std::string& name, int64_t line);

} // namespace sg
