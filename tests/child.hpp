// Child processes of tests. A test that needs a process to kill spawns this
// test binary again as `seqgraph-tests --child NAME ARGS...` (tests/main.cpp
// then runs the function registered as NAME instead of the tests): a fresh
// process, unlike a bare fork() of the test process, which would inherit
// oneTBB's pool in whatever state its worker threads were (fork does not
// copy them).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace sg::test {

using ChildMain = int (*)(const std::vector<std::string>& args);

inline std::map<std::string, ChildMain>& children() {
  static std::map<std::string, ChildMain> c;
  return c;
}

struct ChildRegistrar {
  ChildRegistrar(const char* name, ChildMain f) { children()[name] = f; }
};

// main()'s --child: the exit status of child `name` (2 if there is none).
int run_child(const std::string& name, const std::vector<std::string>& args);

} // namespace sg::test
