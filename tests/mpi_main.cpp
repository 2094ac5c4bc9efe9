// The runner of the data-parallel tests (tests/test_data_parallel.cpp):
// `mpirun -np N seqgraph-mpi-tests` (meson test runs it with N = 2 and 3).
// Every rank runs every case; the run fails if a case failed on any rank.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "graph/dist.hpp"

#include <cstdio>

int main(int argc, char** argv) {
  if (sg::dist::launched_size() < 2) {
    std::fprintf(stderr, "seqgraph-mpi-tests: run it under an MPI launcher with 2 or more processes, e.g. "
                         "mpirun -np 2 --oversubscribe build/seqgraph-mpi-tests (as root: --allow-run-as-root)\n");
    return 2;
  }
  sg::dist::Group& world = sg::dist::Group::world();
  doctest::Context context(argc, argv);
  const int rc = context.run();
  const bool failed = world.sum({rc != 0 ? 1.0 : 0.0})[0] > 0;
  world.finalize();
  return failed ? 1 : 0;
}
