// Error types shared across seqgraph.
#pragma once

#include <stdexcept>

namespace sg {

// A file could not be read or written, or its contents are not what they
// should be (bad magic, truncation, corruption, unsupported format). The
// message names the file and the problem.
struct IoError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

} // namespace sg
