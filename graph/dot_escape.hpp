// Internal to the DOT export (dot.cpp, dot_layers.cpp): text inside a
// double-quoted DOT string.
#pragma once

#include <string_view>

namespace sg {

// Quotes and backslashes escaped (so that Graphviz's own escapes like \N or
// \l cannot be triggered by a name), newlines as \n, carriage returns dropped.
// `Out`: std::string or fmt::memory_buffer.
template <class Out> void dot_escape(Out& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
    case '"': out.append(std::string_view("\\\"")); break;
    case '\\': out.append(std::string_view("\\\\")); break;
    case '\n': out.append(std::string_view("\\n")); break;
    case '\r': break;
    default: out.push_back(c);
    }
  }
}

} // namespace sg
