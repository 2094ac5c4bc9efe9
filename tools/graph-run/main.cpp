// graph-run: the runner CLI. This file picks the command and the model;
// tools/graph-run/cli.cpp parses the rest of the line (CLI11, slow to compile,
// only there) into a plain CliArgs; tools/graph-run/commands.cpp does the work.
//
//   graph-run list
//   graph-run <command> <model> [options]   (or graph-run <model> <command> [options])
//   graph-run <model> --help
//   graph-run <command> <model> --help
//   graph-run --version
//
// Every error ends as "graph-run: error: <message>" on stderr: exit status 2
// for command-line mistakes, 1 for everything else.
#include "graph/dist.hpp"
#include "models/train/trainer.hpp"
#include "tools/graph-run/cli.hpp"
#include "tools/graph-run/commands.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>

namespace {

using graph_run::UsageError;

bool is_help(const std::string& s) { return s == "-h" || s == "--help" || s == "help"; }

bool is_command(const std::string& s) { return graph_run::is_known_command(s); }

std::string join(const std::vector<std::string>& v) {
  std::string r;
  for (size_t i = 0; i < v.size(); ++i) r += (i ? ", " : "") + v[i];
  return r;
}

// This process's rank among `launched_size()` (OMPI_COMM_WORLD_RANK, PMI_RANK), 0 if none.
int launched_rank() {
  for (const char* var : {"OMPI_COMM_WORLD_RANK", "PMI_RANK"})
    if (const char* v = std::getenv(var)) return std::atoi(v);
  return 0;
}

// Started by mpirun (OpenMPI's OMPI_COMM_WORLD_SIZE, or PMI_SIZE of MPICH's
// and Slurm's launchers) as one of N > 1 processes: `train` of a model that
// trains on minibatches runs data-parallel (fit::train) when this graph-run
// has MPI support. Anything else would be N copies each running the whole
// command on its own (N trainings overwriting one checkpoint): refused,
// saying so. Rank 0 alone prints (the others' stdout goes to /dev/null;
// their errors still reach stderr).
void check_mpi_world(const std::string& cmd) {
  const int size = sg::dist::launched_size();
  if (size <= 1) return;
  const int rank = launched_rank();
  if (!sg::dist::built_with_mpi())
    throw UsageError(fmt::format(
        "{}: started by an MPI launcher as process {} of {}, but this graph-run has no MPI support "
        "(data-parallel training is not built in: meson -Dmpi=enabled, apt-get install libopenmpi-dev): each "
        "process would run the whole command on its own. Run graph-run without mpirun",
        cmd, rank, size));
  if (cmd != "train")
    throw UsageError(fmt::format("{}: started by an MPI launcher as process {} of {}: only train runs "
                                 "data-parallel; run {} without mpirun",
                                 cmd, rank, size, cmd));
  if (rank != 0 && !std::freopen("/dev/null", "w", stdout))
    throw std::runtime_error("cannot send rank " + std::to_string(rank) + "'s output to /dev/null");
}

// Parses the options of `graph-run <command> <model> ...` (rest = what follows the model)
// and runs the command, or prints its help.
int run_command(const sg::Model& m, const std::string& cmd, const std::vector<std::string>& rest) {
  const graph_run::Parsed p = graph_run::parse_command(m, cmd, rest);
  if (p.help) {
    std::fputs(p.help->c_str(), stdout);
    return 0;
  }
  check_mpi_world(cmd);
  return graph_run::run(m, p.args);
}

const sg::Model& model_or_throw(const std::string& name) {
  const sg::Model* m = sg::find_model(name);
  if (!m) graph_run::unknown_model(name);
  return *m;
}

// `graph-run <cmd> ...` where no model follows the command: its help, or what is wrong.
int without_model(const std::string& cmd, const std::vector<std::string>& args) {
  // The models that have `cmd` (a built-in every model with graphs has, or a model's own).
  std::vector<std::string> with;
  for (auto& m : sg::models()) {
    auto c = graph_run::commands_of(m);
    if (std::find(c.begin(), c.end(), cmd) != c.end()) with.push_back(m.name);
  }
  const std::string models = with.empty() ? graph_run::model_names() : join(with);
  if (args.size() > 1 && is_help(args[1])) {
    std::fputs(fmt::format("usage: graph-run {} <model> [options]\n{}\n\nmodels: {}\n"
                           "The options depend on the model: graph-run {} <model> --help\n",
                           cmd, with.size() == 1 ? graph_run::command_summary(*sg::find_model(with[0]), cmd)
                                                 : std::string(graph_run::command_summary(cmd)),
                           models, cmd)
                   .c_str(),
               stdout);
    return 0;
  }
  if (args.size() > 1 && !args[1].starts_with("-")) graph_run::unknown_model(args[1]);
  throw UsageError(fmt::format("{} needs a model: graph-run {} <model> [options]; models: {}", cmd,
                               cmd, models));
}

// What the first word can be: list, a command (built-in or a model's own) or a model.
std::vector<std::string> first_words() {
  std::vector<std::string> w{"list"};
  w.insert(w.end(), graph_run::all_commands().begin(), graph_run::all_commands().end());
  for (auto& m : sg::models()) {
    w.push_back(m.name);
    for (auto& c : m.commands) w.push_back(c.name);
  }
  return w;
}

int dispatch(std::vector<std::string> args) {
  if (args.empty()) {
    std::fputs(graph_run::general_help().c_str(), stderr);
    throw UsageError("no command given");
  }
  const std::string first = args[0];
  if (is_help(first)) {
    if (args.size() > 1 && sg::find_model(args[1]))
      std::fputs(graph_run::model_help(*sg::find_model(args[1])).c_str(), stdout);
    else
      std::fputs(graph_run::general_help().c_str(), stdout);
    return 0;
  }
  if (first == "--version" || first == "list") {
    if (args.size() > 1 && !is_help(args[1]))
      throw UsageError(fmt::format("{} takes no arguments (got '{}')", first, args[1]));
    if (first == "--version") {
      fmt::print("graph-run {}\n", SEQGRAPH_VERSION);
      return 0;
    }
    if (args.size() > 1) {
      std::fputs(fmt::format("usage: graph-run list\n{}\n", graph_run::command_summary("list")).c_str(),
                 stdout);
      return 0;
    }
    return graph_run::list_models();
  }
  // graph-run <model> <command> ... is graph-run <command> <model> ... (a built-in
  // command or a model's own; if args[1] is a model, args[0] is the command)
  if (args.size() > 1 && sg::find_model(first) && !sg::find_model(args[1]) && is_command(args[1]))
    std::swap(args[0], args[1]);

  if (const sg::Model* m = sg::find_model(args[0])) {
    if (args.size() > 1 && is_help(args[1])) {
      std::fputs(graph_run::model_help(*m).c_str(), stdout);
      return 0;
    }
    const auto commands = graph_run::commands_of(*m);
    if (args.size() == 1)
      throw UsageError(fmt::format("no command given for model {}; its commands: {} "
                                   "(graph-run {} --help for more)",
                                   m->name, join(commands), m->name));
    throw UsageError(fmt::format("'{}' is not a command; model {} has: {}{}", args[1], m->name, join(commands),
                                 graph_run::did_you_mean(args[1], commands)));
  }
  const std::string cmd = args[0];
  if (!is_command(cmd))
    throw UsageError(fmt::format("unknown command or model '{}'; commands: list, {}; models: {}{}", cmd,
                                 join(graph_run::all_commands()), graph_run::model_names(),
                                 graph_run::did_you_mean(cmd, first_words())));
  if (args.size() == 1 || args[1].starts_with("-") || !sg::find_model(args[1])) return without_model(cmd, args);
  const sg::Model& m = model_or_throw(args[1]);
  return run_command(m, cmd, std::vector<std::string>(args.begin() + 2, args.end()));
}

} // namespace

// " (rank r of N)" in a data-parallel run's messages, else nothing.
std::string rank_note() {
  const sg::dist::Group* g = sg::dist::Group::started();
  return g && g->parallel() ? fmt::format(" (rank {} of {})", g->rank(), g->size()) : std::string();
}

// The command's exit status, its error (if any) printed on stderr.
int run_main(int argc, char** argv) {
  try {
    sg::train::set_command_line(std::vector<std::string>(argv, argv + argc));
    return dispatch(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const sg::train::Interrupted& e) { // Ctrl-C during training: saved, exit as SIGINT would
    std::fflush(stdout);
    const sg::dist::Group* g = sg::dist::Group::started();
    if (!g || g->rank() == 0) fmt::print(stderr, "graph-run: {}\n", e.what()); // every rank stopped alike
    return 130;
  } catch (const UsageError& e) {
    std::fflush(stdout);
    fmt::print(stderr, "graph-run: error: {}\n", e.what());
    return 2;
  } catch (const sg::OptionError& e) { // a combination of options a command refuses
    std::fflush(stdout);
    fmt::print(stderr, "graph-run: error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    fmt::print(stderr, "graph-run: error{}: {}\n", rank_note(), e.what());
    return 1;
  } catch (...) {
    std::fflush(stdout);
    fmt::print(stderr, "graph-run: error: unknown exception\n");
    return 1;
  }
}

// A data-parallel run (MPI started by fit::train): success and Ctrl-C (every
// rank stopped after the same step) end with MPI_Finalize; an error on one
// rank ends every rank at once (MPI_Abort: the others may be waiting for it
// in a collective), the message naming the rank.
int main(int argc, char** argv) {
  const int rc = run_main(argc, argv);
  if (sg::dist::Group* g = sg::dist::Group::started(); g && g->parallel()) {
    std::fflush(stdout);
    if (rc != 0 && rc != 130)
      g->abort(rc, fmt::format("graph-run: rank {} of {} failed (the error above): stopping every rank",
                               g->rank(), g->size()));
    g->finalize();
  }
  return rc;
}
