// graph-run: the runner CLI. This file only parses the command line (CLI11
// is slow to compile, so it stays here); tools/graph-run/commands.cpp does
// the work on a plain CliArgs.
//
//   graph-run list
//   graph-run <command> <model> [options]   (or graph-run <model> <command> [options])
//   graph-run <model> --help
//   graph-run <command> <model> --help
//   graph-run --version
//
// Every error ends as "graph-run: error: <message>" on stderr: exit status 2
// for command-line mistakes, 1 for everything else.
#include "models/train/trainer.hpp"
#include "tools/graph-run/commands.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <list>
#include <optional>
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

// The help's groups of options: graph-run's own, and the model's.
const std::string kBuiltin = "Options", kModel = "Model options";

// The options of one command line, declared as sg::ModelOption: CLI11 reads
// each as text (its help shows the declared type, range and default), and
// values() checks and converts them all once the line is parsed.
class TypedOptions {
public:
  explicit TypedOptions(CLI::App& app) : app_(app) {}

  void add(const sg::ModelOption& o, const std::string& group) {
    Entry& e = entries_.emplace_back(Entry{o, group});
    const std::string names = o.alias.empty() ? o.spelling() : "-" + o.alias + "," + o.spelling();
    if (o.type == sg::OptionType::flag)
      e.cli = app_.add_flag_callback(names, [&e] { e.flag = true; }, o.help);
    else
      e.cli = app_.add_option(names, e.text, o.help)->type_name(sg::option_synopsis(o));
    e.cli->group(group);
  }

  // The value of every option of `group`: as given (checked: UsageError naming the option
  // and its rule), else its default; then UsageError if a required option is not given.
  sg::OptionValues values(const std::string& group) const {
    sg::OptionValues v;
    const sg::ModelOption* missing = nullptr;
    for (const Entry& e : entries_) {
      if (e.group != group) continue;
      const sg::ModelOption& o = e.spec;
      if (o.type == sg::OptionType::flag) {
        v.set(o.name, e.flag);
      } else if (e.cli->count() == 0) {
        if (o.required && !missing) missing = &o;
        v.set(o.name, sg::default_option(o));
      } else {
        try {
          v.set(o.name, sg::parse_option(o, e.text));
        } catch (const sg::OptionError& err) {
          throw UsageError(err.what());
        }
      }
    }
    if (missing)
      throw UsageError(fmt::format("{} is required ({})", missing->spelling(), sg::option_rule(*missing)));
    return v;
  }

  // The declaration of the CLI11 option `cli`, if it is one of these.
  const sg::ModelOption* spec_of(const CLI::Option* cli) const {
    for (const Entry& e : entries_)
      if (e.cli == cli) return &e.spec;
    return nullptr;
  }

private:
  struct Entry {
    sg::ModelOption spec;
    std::string group;
    std::string text = {};
    bool flag = false;
    CLI::Option* cli = nullptr;
  };
  CLI::App& app_;
  std::list<Entry> entries_; // stable addresses: CLI11 writes into them
};

// Every spelling of `app`'s options: "--iterations", "-n", ...
std::vector<std::string> spellings(const CLI::App& app) {
  std::vector<std::string> r;
  for (const CLI::Option* o : app.get_options()) {
    for (auto& l : o->get_lnames()) r.push_back("--" + l);
    for (auto& s : o->get_snames()) r.push_back("-" + s);
  }
  return r;
}

bool is_number(const std::string& s) {
  char* end = nullptr;
  (void)std::strtod(s.c_str(), &end);
  return !s.empty() && *end == '\0';
}

// What to say of `token`, left over by CLI11: an unknown option (did you mean?), an
// option of another of the model's commands, or an argument the command does not take.
std::string unexpected(const CLI::App& app, const sg::Model& m, const std::string& cmd, const std::string& token) {
  const std::string where = fmt::format("graph-run {} {}", cmd, m.name);
  if (!token.starts_with("-") || is_number(token))
    return fmt::format("unexpected argument '{}': {} takes no more arguments", token, where);
  const std::string word = token.substr(0, token.find('='));
  const std::string name = word.substr(std::min(word.find_first_not_of('-'), word.size()));
  for (auto& o : m.options)
    if (o.name == name && !o.applies_to(cmd))
      return fmt::format("{} is an option of {} {}, not of {}", o.spelling(), m.name, join(o.commands), cmd);
  return fmt::format("unknown option {} for {}{}", word, where, graph_run::did_you_mean(word, spellings(app)));
}

// CLI11's messages in graph-run's words: "--x: 1 required TEXT missing" as "--x needs a
// value (an integer >= 1)", "--x: At Most 1 required but received 2" as "--x is given 2
// times", "Could not convert: --flag = v" as "--flag takes no value"; others as they are.
std::string parse_error(const CLI::App& app, const TypedOptions& typed, const CLI::ParseError& e) {
  const std::string msg = e.what();
  for (const CLI::Option* o : app.get_options()) {
    const std::string name = o->get_name();
    const sg::ModelOption* spec = typed.spec_of(o);
    if (spec && spec->type == sg::OptionType::flag && msg.starts_with("Could not convert: " + name + " = "))
      return fmt::format("{} is a flag: it takes no value (got '{}')", name, msg.substr(msg.find(" = ") + 3));
    if (!msg.starts_with(name + ":")) continue;
    if (msg.find(" required ") != std::string::npos && msg.ends_with(" missing"))
      return fmt::format("{} needs a value ({})", name, spec ? sg::option_rule(*spec) : o->get_type_name());
    if (msg.find(": At Most ") != std::string::npos)
      return fmt::format("{} is given {} times; give it once", name, msg.substr(msg.rfind(' ') + 1));
  }
  return msg;
}

// The options of `graph-run <cmd> <model>`: graph-run's own, --input, the positional
// arguments of a model's command, and the model's options that apply to `cmd`.
void add_options(CLI::App& app, TypedOptions& typed, CliArgs& a, const sg::Model& m, const std::string& cmd) {
  const bool model_cmd = graph_run::runs_model(m, cmd);
  const sg::ModelCommand* own = m.find_command(cmd);
  if (own && own->max_args != 0)
    app.add_option("args", a.args, own->usage.empty() ? "Arguments" : own->usage)->type_name("");
  std::set<std::string> taken{"help", "h", "args", "checkpoint"}; // RunArgs has a checkpoint always
  for (auto& o : graph_run::builtin_options(m, cmd)) {
    typed.add(o, kBuiltin);
    taken.insert(o.name);
  }
  if (!model_cmd && (cmd == "eval" || cmd == "dot" || cmd == "summary"))
    app.add_option("--input", a.inputs,
                   cmd == "eval" ? "An input (or parameter) of the graph from a .npy file; repeat for each"
                                 : "An input from a .npy file (sets its shape); repeatable")
        ->type_name("NAME=FILE.npy")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->expected(1);
  if (!model_cmd) return;
  for (auto& o : m.options) {
    if (taken.count(o.name) || (!o.alias.empty() && taken.count(o.alias)))
      throw std::logic_error(fmt::format(
          "model {} declares option {}, which graph-run already defines", m.name, o.spelling()));
    if (o.applies_to(cmd)) typed.add(o, kModel);
  }
}

// Parses the options of `graph-run <command> <model> ...` (rest = what follows the model).
int run_command(const sg::Model& m, const std::string& cmd, const std::vector<std::string>& rest) {
  graph_run::check_command(m, cmd);
  const sg::ModelCommand* own = m.find_command(cmd);
  CliArgs a;
  a.command = cmd;
  a.model = m.name;

  CLI::App app{fmt::format("{}: {}\n\n{}: {}{}", m.name, m.summary, cmd, graph_run::command_summary(m, cmd),
                           own ? "\nusage: " + graph_run::usage_line(m, cmd) : std::string()),
               fmt::format("graph-run {} {}", cmd, m.name)};
  app.set_help_flag("-h,--help", "Print this help and exit");
  app.get_formatter()->column_width(42);
  app.allow_extras(); // unexpected() says what they are
  std::string footer;
  if (!graph_run::runs_model(m, cmd)) {
    footer += "Graphs: ";
    for (size_t i = 0; i < m.graphs.size(); ++i)
      footer += (i ? ", " : "") + m.graphs[i] + (i == 0 ? " (default)" : "");
    footer += "\n";
  }
  footer += fmt::format("Commands of {}: {}\nAll of {}: graph-run {} --help",
                        m.name, join(graph_run::commands_of(m)), m.name, m.name);
  app.footer(footer);
  TypedOptions typed(app);
  add_options(app, typed, a, m, cmd);

  std::vector<const char*> argv{"graph-run"};
  for (auto& s : rest) argv.push_back(s.c_str());
  const std::string more = fmt::format("\nRun 'graph-run {} {} --help' for the options.", cmd, m.name);
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    throw UsageError(parse_error(app, typed, e) + more);
  }
  if (!app.remaining().empty()) throw UsageError(unexpected(app, m, cmd, app.remaining().front()) + more);
  a.set_builtins(typed.values(kBuiltin));
  a.options = typed.values(kModel);
  return graph_run::run(m, a);
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
  } catch (const sg::OptionError& e) { // a combination of options a command refuses
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
