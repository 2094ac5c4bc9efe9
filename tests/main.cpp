// The doctest runner of the whole suite; `seqgraph-tests --child NAME ARGS...`
// runs a test's child process instead (tests/child.hpp).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "tests/child.hpp"

#include <cstdio>
#include <cstring>

int sg::test::run_child(const std::string& name, const std::vector<std::string>& args) {
  auto it = children().find(name);
  if (it == children().end()) {
    std::fprintf(stderr, "seqgraph-tests: no child '%s'\n", name.c_str());
    return 2;
  }
  return it->second(args);
}

int main(int argc, char** argv) {
  if (argc >= 3 && std::strcmp(argv[1], "--child") == 0)
    return sg::test::run_child(argv[2], std::vector<std::string>(argv + 3, argv + argc));
  doctest::Context context(argc, argv);
  return context.run();
}
