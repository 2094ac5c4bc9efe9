// graph-run's commands on plain structs: cli.cpp parses the command line
// with CLI11 (slow to compile, so only there) and fills a CliArgs; the
// commands here do the work.
#pragma once

#include "models/model.hpp"

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace graph_run {

// A mistake on the command line: reported as "graph-run: error: ..." with exit status 2.
struct UsageError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// graph-run's built-in commands, in the order help lists them. Models add
// commands of their own (sg::ModelCommand).
inline const std::vector<std::string>& all_commands() {
  static const std::vector<std::string> c{"summary", "eval", "dot", "gradcheck", "train", "sample"};
  return c;
}
// One line on what each built-in command does.
const char* command_summary(const std::string& command);
// A built-in command, or a command of some registered model.
bool is_known_command(const std::string& command);
// The commands `m` offers: eval, dot, gradcheck (where it has graphs), train / sample
// where it has them, then its own commands (one named like a built-in replaces it).
std::vector<std::string> commands_of(const sg::Model& m);
// What `command` does for `m` (its own command's summary, else the built-in's).
std::string command_summary(const sg::Model& m, const std::string& command);
// `command` runs a model function (train, sample or a model command), with model options.
bool runs_model(const sg::Model& m, const std::string& command);
// "graph-run <model> <command> USAGE [options]".
std::string usage_line(const sg::Model& m, const std::string& command);
// Throws UsageError if `m` does not have `command`.
void check_command(const sg::Model& m, const std::string& command);
// Throws UsageError listing the known models (and the one `name` is probably a misspelling of).
[[noreturn]] void unknown_model(const std::string& name);
std::string model_names();
// "; did you mean 'train'?" (or "'a' or 'b'", at most three) when `word` is close to some of
// `candidates` (sg::close_matches), else "". Options (candidates "--name" or "-n") are compared
// without their dashes and shown unquoted: "; did you mean --iterations?".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

// graph-run's own options of `command` for `m` (--threads, --seed, --checkpoint, ...;
// not --input, which cli.cpp reads as it is), declared like a model's options.
std::vector<sg::ModelOption> builtin_options(const sg::Model& m, const std::string& command);

struct CliArgs {
  std::string command; // eval | dot | gradcheck | train | sample | a model's own
  std::string model;
  std::string graph;   // eval, dot, gradcheck: "" = the model's first graph
  int threads = 1;
  uint64_t seed = 0;
  std::string checkpoint, data_dir, output, output_dir = "."; // output: dot; output_dir: eval
  bool quiet = false;
  bool check_numerics = false;     // train: every node's value checked (sg::set_check_numerics)
  std::vector<std::string> inputs; // "name=file.npy"
  std::string dtype;               // eval: "f32", "f64" or "" (from the inputs)
  bool random_inputs = false;      // eval: draw inputs not given, N(0, 1) from --seed
  bool backward = false;           // dot
  bool clusters = true, legend = true; // dot
  std::string view;                    // dot: "ops", "layers" or "" (by the graph's size)
  double tolerance = 1e-5, eps = 1e-6; // gradcheck
  long long max_elements = 64;         // gradcheck
  sg::OptionValues options;      // train / sample / model commands: the model options' values
  std::vector<std::string> args; // a model command's positional arguments

  // The fields above from the checked values of builtin_options() (those the command has).
  void set_builtins(const sg::OptionValues& v);
};

// train / sample without --checkpoint: "<model>.ckpt" in the current directory.
std::string default_checkpoint(const sg::Model& m);

int list_models();                             // `graph-run list`
std::string general_help();                    // `graph-run --help`
std::string model_help(const sg::Model& m);    // `graph-run <model> --help`
int run(const sg::Model& m, const CliArgs& a); // one command; returns the exit status
                                               // (UsageError on a wrong positional count)

} // namespace graph_run
