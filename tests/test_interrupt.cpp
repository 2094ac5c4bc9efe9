// Ctrl-C during training, as a user presses it: graph-run finishes the step,
// writes the checkpoint, says how to resume and exits 130; the resumed run
// ends where an uninterrupted one does, bit for bit (same shapes, same machine).
#include "graph/checkpoint.hpp"
#include "tests/cli_helpers.hpp"

#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <thread>

extern char** environ;

using namespace sg;
using namespace sg::test;

namespace {

int64_t line_count(const std::string& path) {
  const std::string s = read_file(path);
  return int64_t(std::count(s.begin(), s.end(), '\n'));
}

// Runs graph-run with `args`, output into `log`; once `history` has more than
// `rows` data rows, sends SIGINT. Returns the exit status (128 + signal if killed).
int run_and_interrupt(const std::vector<std::string>& args, const std::string& log, const std::string& history,
                      int64_t rows) {
  std::vector<std::string> argv_s{SEQGRAPH_GRAPH_RUN};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = 0;
  REQUIRE(posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) == 0);
  posix_spawn_file_actions_destroy(&fa);
  int status = 0;
  bool sent = false;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (!sent && line_count(history) > rows + 1) { // + the header
      ::kill(pid, SIGINT);
      sent = true;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  REQUIRE(sent);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

} // namespace

TEST_CASE("Train.CtrlCSavesTheRunAndResumes") {
  TempDir dir;
  const std::string ck = dir / "part.ckpt", hist = dir / "part.csv", log = dir / "log.txt";
  const int rc = run_and_interrupt({"jazz", "train", "--epochs", "60", "--checkpoint", ck, "--history", hist},
                                   log, hist, 2);
  const std::string out = read_file(log);
  INFO(out);
  CHECK(rc == 130);
  CHECK(has(out, "graph-run: interrupted: finishing this batch, then saving the checkpoint"));
  // at the end of an epoch, or within one (2 batches of 32 and 28 an epoch)
  CHECK((has(out, "jazz: interrupted after ") || has(out, " of 2 batches; checkpoint")));
  CHECK(has(out, fmt::format("checkpoint {} holds it. Continue with:", ck)));
  CHECK(has(out, "--resume"));
  const Checkpoint part = load_checkpoint(ck, "jazz");
  const int64_t done = std::stoll(part.meta.at("step"));
  CHECK(done >= 3);
  CHECK(done < 60);
  CHECK(line_count(hist) == done + 1); // every finished epoch, and no more

  // the printed command continues the run; it ends where an uninterrupted run ends
  Result r = graph_run(fmt::format("jazz train --epochs 60 --checkpoint '{}' --history '{}' --resume --quiet", ck, hist));
  REQUIRE(r.rc == 0);
  const std::string full = dir / "full.ckpt", full_hist = dir / "full.csv";
  r = graph_run(fmt::format("jazz train --epochs 60 --checkpoint '{}' --history '{}' --quiet", full, full_hist));
  REQUIRE(r.rc == 0);
  CHECK(read_file(ck) == read_file(full));
  CHECK(read_file(hist) == read_file(full_hist));
}
