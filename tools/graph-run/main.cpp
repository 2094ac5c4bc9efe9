// graph-run: the runner CLI. This file only parses the command line (CLI11
// is slow to compile, so it stays here); tools/graph-run/commands.cpp does
// the work on a plain CliArgs.
//
//   graph-run list
//   graph-run <command> <model> [options]   (or graph-run <model> <command> [options])
//   graph-run <model> --help
//   graph-run <command> <model> --help
//
// Every error ends as "graph-run: error: <message>" on stderr: exit status 2
// for command-line mistakes, 1 for everything else.
#include "models/train/trainer.hpp"
#include "tools/graph-run/commands.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <fmt/format.h>
#include <set>

namespace {

using graph_run::CliArgs;
using graph_run::UsageError;

bool is_help(const std::string& s) { return s == "-h" || s == "--help" || s == "help"; }

bool is_command(const std::string& s) { return graph_run::is_known_command(s); }

std::string join(const std::vector<std::string>& v) {
  std::string r;
  for (size_t i = 0; i < v.size(); ++i) r += (i ? ", " : "") + v[i];
  return r;
}

// Parses the options of `graph-run <command> <model> ...` (rest = what follows the model).
int run_command(const sg::Model& m, const std::string& cmd, const std::vector<std::string>& rest) {
  graph_run::check_command(m, cmd);
  const bool model_cmd = graph_run::runs_model(m, cmd);
  const sg::ModelCommand* own = m.find_command(cmd);
  CliArgs a;
  a.command = cmd;
  a.model = m.name;

  CLI::App app{fmt::format("{}: {}\n\n{}: {}{}", m.name, m.summary, cmd, graph_run::command_summary(m, cmd),
                           own ? "\nusage: " + graph_run::usage_line(m, cmd) : std::string()),
               fmt::format("graph-run {} {}", cmd, m.name)};
  app.set_help_flag("-h,--help", "Print this help and exit");
  app.get_formatter()->column_width(34);
  std::string footer;
  if (!model_cmd) {
    footer += "Graphs: ";
    for (size_t i = 0; i < m.graphs.size(); ++i)
      footer += (i ? ", " : "") + m.graphs[i] + (i == 0 ? " (default)" : "");
    footer += "\n";
  }
  footer += fmt::format("Commands of {}: {}\nAll of {}: graph-run {} --help",
                        m.name, join(graph_run::commands_of(m)), m.name, m.name);
  app.footer(footer);

  // Options by command; each appears only where it does something.
  // (A model's own command named like a built-in one takes none of the built-in's options.)
  const bool eval = !model_cmd && cmd == "eval", dot = !model_cmd && cmd == "dot",
             gc = !model_cmd && cmd == "gradcheck", summary = !model_cmd && cmd == "summary";
  if (own && own->max_args != 0)
    app.add_option("args", a.args, own->usage.empty() ? "Arguments" : own->usage)->type_name("");
  if (!model_cmd)
    app.add_option("--graph", a.graph, "Which graph to build")
        ->check(CLI::IsMember(m.graphs))
        ->default_str(m.graphs.empty() ? "" : m.graphs.front());
  if (!dot && !summary)
    app.add_option("--threads", a.threads, "Worker threads (results do not depend on it)")
        ->capture_default_str()
        ->check(CLI::Range(1, 4096));
  if (!dot && !summary)
    app.add_option("--seed", a.seed,
                   gc ? "Seed of the random inputs, parameters and cotangents"
                      : eval ? "Seed of --random-inputs and of parameters not in --checkpoint or --input"
                             : "Random seed")
        ->capture_default_str();
  if (!dot && !model_cmd && !summary)
    app.add_option("--checkpoint", a.checkpoint,
                   eval ? "Parameters to load (a graph-run checkpoint)"
                        : "Check gradients at these parameters (else random ones)");
  if (model_cmd && (!own || own->checkpoint))
    app.add_option("--checkpoint", a.checkpoint,
                   own ? "The parameters to use"
                   : cmd == "train" ? "Where to save the parameters (with --resume: the run to continue)"
                                    : "The trained parameters to sample from")
        ->default_str(graph_run::default_checkpoint(m));
  if (model_cmd) app.add_option("--data-dir", a.data_dir, "Course data directory (default: ./data, then ../shared/data)");
  app.add_flag("--quiet", a.quiet, gc ? "Print the table only if a check fails" : "Print less");
  if (dot)
    app.add_option("-o,--output", a.output, "Output file: .dot, .svg, .png or .pdf (these need Graphviz)")
        ->required();
  if (eval)
    app.add_option("--output-dir", a.output_dir, "Directory for the <output>.npy files (created if missing)")
        ->capture_default_str();
  if (!gc && !model_cmd)
    app.add_option("--input", a.inputs,
                   eval ? "An input (or parameter) of the graph from a .npy file; repeat for each"
                        : "An input from a .npy file (sets its shape); repeatable")
        ->type_name("NAME=FILE.npy")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->expected(1);
  if (eval) {
    app.add_option("--dtype", a.dtype, "Compute in f32 or f64 (default: f64 if every --input is float64, else f32)")
        ->check(CLI::IsMember({"f32", "f64"}));
    app.add_flag("--random-inputs", a.random_inputs,
                 "Draw every input not given from N(0, 1) (float64, from --seed) and save the draws "
                 "in <output-dir>/inputs/");
  }
  if (dot) {
    app.add_flag("--backward", a.backward, "Include the gradient nodes");
    app.add_flag_callback("--ops", [&a] { a.view = "ops"; },
                          "One box per op (the default for graphs of up to 150 nodes)");
    app.add_flag_callback("--layers", [&a] { a.view = "layers"; },
                          "One box per layer and time step, as Keras' plot_model (the default above 150 nodes)");
    app.add_flag_callback("--no-clusters", [&a] { a.clusters = false; }, "Do not draw name scopes as clusters");
    app.add_flag_callback("--no-legend", [&a] { a.legend = false; }, "Leave out the legend");
  }
  if (gc) {
    app.add_option("--tolerance", a.tolerance, "Largest max relative error that passes")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("--eps", a.eps, "Finite-difference step")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--max-elements", a.max_elements, "Elements checked per value (spread evenly)")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
  }
  if (model_cmd) {
    static const std::set<std::string> taken{"threads", "seed", "checkpoint", "data-dir", "quiet",
                                             "help", "h", "args"};
    for (auto& o : m.options) {
      if (taken.count(o.name))
        throw std::logic_error(fmt::format(
            "model {} declares option {}, which graph-run already defines", m.name, o.spelling()));
      if (!o.applies_to(cmd)) continue;
      std::string& target = a.options[o.name];
      target = o.flag ? "false" : o.default_value;
      CLI::Option* opt =
          o.flag ? app.add_flag_callback(o.spelling(), [&target] { target = "true"; }, o.help)
                 : app.add_option(o.spelling(), target, o.help);
      opt->group("Model options");
      if (!o.flag && !o.default_value.empty()) opt->default_str(o.default_value);
      if (!o.choices.empty()) opt->check(CLI::IsMember(o.choices));
    }
  }

  std::vector<const char*> argv{"graph-run"};
  for (auto& s : rest) argv.push_back(s.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    throw UsageError(fmt::format("{}\nRun 'graph-run {} {} --help' for the options.", e.what(), cmd,
                                 m.name));
  }
  return graph_run::run(m, a);
}

const sg::Model& model_or_throw(const std::string& name) {
  const sg::Model* m = sg::find_model(name);
  if (!m) graph_run::unknown_model(name);
  return *m;
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
  if (first == "list") {
    if (args.size() > 1 && !is_help(args[1]))
      throw UsageError(fmt::format("list takes no arguments (got '{}')", args[1]));
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
    if (args.size() == 1)
      throw UsageError(fmt::format("no command given for model {}; its commands: {} "
                                   "(graph-run {} --help for more)",
                                   m->name, join(graph_run::commands_of(*m)), m->name));
    throw UsageError(fmt::format("'{}' is not a command; model {} has: {}", args[1], m->name,
                                 join(graph_run::commands_of(*m))));
  }
  const std::string cmd = args[0];
  if (!is_command(cmd))
    throw UsageError(fmt::format("unknown command or model '{}'; commands: list, {}; models: {}", cmd,
                                 join(graph_run::all_commands()), graph_run::model_names()));
  if (args.size() == 1 || args[1].starts_with("-") || !sg::find_model(args[1])) {
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
  const sg::Model& m = model_or_throw(args[1]);
  return run_command(m, cmd, std::vector<std::string>(args.begin() + 2, args.end()));
}

} // namespace

int main(int argc, char** argv) {
  try {
    sg::train::set_command_line(std::vector<std::string>(argv, argv + argc));
    return dispatch(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const sg::train::Interrupted& e) { // Ctrl-C during training: saved, exit as SIGINT would
    std::fflush(stdout);
    fmt::print(stderr, "graph-run: {}\n", e.what());
    return 130;
  } catch (const UsageError& e) {
    std::fflush(stdout);
    fmt::print(stderr, "graph-run: error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    fmt::print(stderr, "graph-run: error: {}\n", e.what());
    return 1;
  } catch (...) {
    std::fflush(stdout);
    fmt::print(stderr, "graph-run: error: unknown exception\n");
    return 1;
  }
}
