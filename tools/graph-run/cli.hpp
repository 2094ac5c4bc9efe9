// graph-run's parsing of one command line for one model (tools/graph-run/cli.cpp):
// what main.cpp runs once it has picked the command and the model, and what
// tools/fuzz/fuzz_options.cpp feeds with arbitrary words. It parses only: no
// command runs, nothing is written (an output file's directory is looked at).
#pragma once

#include "tools/graph-run/commands.hpp"

#include <optional>
#include <string>
#include <vector>

namespace graph_run {

struct Parsed {
  CliArgs args;                    // every option checked, defaults filled in
  std::optional<std::string> help; // -h / --help was given: print this, exit 0 (args incomplete)
};

// Parses `rest`, the words after `graph-run <cmd> <model>`: graph-run's own
// options for `cmd`, --input, a model command's positional arguments and the
// model's options that apply to `cmd`, each value checked against its
// declaration. Every mistake in `rest` is a UsageError naming the option (an
// unknown option, a bad or missing value, an option given twice, a required one
// not given, an argument too many; a value's sg::OptionError becomes one);
// UsageError too if `m` has no command `cmd`. std::logic_error only for a
// wrong declaration (a model option that graph-run defines itself).
Parsed parse_command(const sg::Model& m, const std::string& cmd, const std::vector<std::string>& rest);

} // namespace graph_run
