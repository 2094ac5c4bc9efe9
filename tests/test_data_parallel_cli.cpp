// Data-parallel graph-run under a real `mpirun -np 2` (2 processes of one
// thread each): a rank that fails or dies stops the job within seconds,
// never a hang, with a message naming the rank, and the last checkpoint
// stays loadable. (The training's own properties, replica identity and
// agreement with one process, are tests/test_data_parallel.cpp's.)
#include "graph/dist.hpp"
#include "tests/cli_helpers.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <filesystem>

using namespace sg;
using namespace sg::test;

namespace {

Result shell(const std::string& cmd) { return run_shell(cmd + " 2>&1"); }

// mpirun as root on a 2-core machine, every rank on one thread; bounded by
// `timeout` so that a hang fails the test instead of the suite
std::string mpirun(int np, const std::string& args) {
  return fmt::format("timeout -k 5 120 mpirun -np {} --oversubscribe --allow-run-as-root --bind-to none '{}' {}", np,
                     SEQGRAPH_GRAPH_RUN, args);
}

bool have_mpirun() { return shell("command -v mpirun").rc == 0; }

} // namespace

// Runs `script` (bash) from a file in `d`; its output.
static Result script_in(const TempDir& d, const std::string& script) {
  const std::string file = d / "script.sh";
  FILE* f = std::fopen(file.c_str(), "w");
  REQUIRE(f != nullptr);
  std::fputs(script.c_str(), f);
  std::fclose(f);
  return shell("bash " + file);
}

// mpirun in the background, training with a checkpoint every epoch; once
// the first is written, `act` (shell lines), then the job's exit status and
// the milliseconds from `act` to the job's end: "rc=N after M ms".
static std::string after_first_checkpoint(const std::string& args, const std::string& ckpt, const std::string& out,
                                   const std::string& act) {
  return fmt::format("{} > {} 2>&1 & mp=$!\n"
                     "for i in $(seq 600); do [ -f {} ] && break; sleep 0.1; done\n"
                     "t0=$(date +%s%N)\n{}\n"
                     "wait $mp; rc=$?; echo \"rc=$rc after $(( ($(date +%s%N) - t0) / 1000000 )) ms\"\n",
                     mpirun(2, args), out, ckpt, act);
}

static double seconds_after(const std::string& report) {
  const size_t at = report.find(" after ");
  return at == std::string::npos ? 1e9 : std::stod(report.substr(at + 7)) / 1000;
}

TEST_CASE("DataParallelCli.AnErrorOnOneRankStopsEveryRank") {
  if (!dist::built_with_mpi()) return; // GraphRun.UnderAnMpiLauncherRefusesWhatIsNotDataParallel covers that build
  REQUIRE(have_mpirun());
  TempDir d;
  // Rank 0 alone writes checkpoints: its directory removed during the run
  // fails rank 0's next save, while rank 1 goes on into the next epoch's
  // collectives. Every rank must stop, the message naming rank 0.
  const std::string dir = d / "ck";
  std::filesystem::create_directories(dir);
  const Result k = script_in(d, after_first_checkpoint(
      "nmt_attention train --epochs 40 --save-every 1 --threads 1 --quiet --checkpoint " + dir + "/n.ckpt",
      dir + "/n.ckpt", d / "out.txt", "rm -rf " + dir));
  const Result out = shell("cat " + (d / "out.txt"));
  CAPTURE(k.out);
  CAPTURE(out.out);
  CHECK(has(k.out, "rc="));
  CHECK_FALSE(has(k.out, "rc=0 "));
  CHECK_FALSE(has(k.out, "rc=124 ")); // not the timeout: no hang
  CHECK(seconds_after(k.out) < 30);
  CHECK(has(out.out, "graph-run: error (rank 0 of 2): "));
  CHECK(has(out.out, "graph-run: rank 0 of 2 failed (the error above): stopping every rank"));
}

TEST_CASE("DataParallelCli.AKilledRankStopsTheJobAndTheCheckpointStays") {
  if (!dist::built_with_mpi()) return;
  REQUIRE(have_mpirun());
  TempDir d;
  const std::string ckpt = d / "n.ckpt";
  // once the first checkpoint is written, kill -9 rank 1 (the graph-run
  // whose environment says OMPI_COMM_WORLD_RANK=1)
  const Result k = script_in(d, after_first_checkpoint(
      "nmt_attention train --epochs 40 --save-every 1 --threads 1 --quiet --checkpoint " + ckpt, ckpt,
      d / "out.txt",
      "for p in $(pgrep -f 'graph-run.* nmt_attention train'); do\n"
      "  tr '\\0' '\\n' < /proc/$p/environ 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=1 && kill -9 $p\n"
      "done"));
  const Result out = shell("cat " + (d / "out.txt"));
  CAPTURE(k.out);
  CAPTURE(out.out);
  CHECK(has(k.out, "rc="));
  CHECK_FALSE(has(k.out, "rc=0 "));
  CHECK_FALSE(has(k.out, "rc=124 ")); // not the timeout: mpirun ended the job
  CHECK(seconds_after(k.out) < 30);
  CHECK(has(out.out, "rank 1")); // mpirun's message names the rank that died
  CHECK(has(out.out, "signal 9"));
  // the checkpoint written before the kill loads and evaluates
  const Result e = graph_run("evaluate nmt_attention --threads 1 --checkpoint " + ckpt);
  CAPTURE(e.out);
  CHECK(e.rc == 0);
  CHECK(has(e.out, "test: loss"));
}
