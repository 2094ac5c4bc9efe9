// Running the graph-run binary as a user would (its path comes from meson as
// SEQGRAPH_GRAPH_RUN), and a temporary directory for the files it writes.
#pragma once

#include "tests/helpers.hpp"

#include <cstdio>
#include <doctest/doctest.h>
#include <filesystem>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SEQGRAPH_GRAPH_RUN
#error "SEQGRAPH_GRAPH_RUN (the path of the graph-run binary) must be defined by the build"
#endif

namespace sg::test {

struct Result {
  int rc = -1;
  std::string out; // stdout, and stderr too unless asked not to
};

// A shell command line's output (stdout; redirect stderr to keep it) and exit status.
inline Result run_shell(const std::string& cmd) {
  Result r;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = ::pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  return r;
}

// `graph-run <args>` through the shell; stderr joins stdout unless `stdout_only`.
// `env`: assignments for its environment, e.g. "PATH=" (run with PATH empty).
inline Result graph_run(const std::string& args, bool stdout_only = false, const std::string& env = "") {
  return run_shell((env.empty() ? "" : env + " ") + "'" + SEQGRAPH_GRAPH_RUN + "' " + args +
                   (stdout_only ? " 2>/dev/null" : " 2>&1"));
}

inline bool has(const std::string& s, const std::string& what) {
  return s.find(what) != std::string::npos;
}


} // namespace sg::test
