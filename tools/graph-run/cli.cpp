// graph-run's command line for one model: CLI11 reads `graph-run <command>
// <model> [options]` into a CliArgs, every option checked against its
// declaration (sg::ModelOption). Kept in this one file: CLI11 is slow to
// compile. tools/fuzz/fuzz_options.cpp drives parse_command directly.
#include "tools/graph-run/cli.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <fmt/format.h>
#include <list>
#include <set>

namespace graph_run {

namespace {

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
  return fmt::format("unknown option {} for {}{}", word, where, did_you_mean(word, spellings(app)));
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
  const bool model_cmd = runs_model(m, cmd);
  const sg::ModelCommand* own = m.find_command(cmd);
  if (own && own->max_args != 0)
    app.add_option("args", a.args, own->usage.empty() ? "Arguments" : own->usage)->type_name("");
  std::set<std::string> taken{"help", "h", "args", "checkpoint"}; // RunArgs has a checkpoint always
  for (auto& o : builtin_options(m, cmd)) {
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

} // namespace

Parsed parse_command(const sg::Model& m, const std::string& cmd, const std::vector<std::string>& rest) {
  check_command(m, cmd);
  const sg::ModelCommand* own = m.find_command(cmd);
  Parsed r;
  CliArgs& a = r.args;
  a.command = cmd;
  a.model = m.name;

  CLI::App app{fmt::format("{}: {}\n\n{}: {}{}", m.name, m.summary, cmd, command_summary(m, cmd),
                           own ? "\nusage: " + usage_line(m, cmd) : std::string()),
               fmt::format("graph-run {} {}", cmd, m.name)};
  app.set_help_flag("-h,--help", "Print this help and exit");
  app.get_formatter()->column_width(42);
  app.allow_extras(); // unexpected() says what they are
  std::string footer;
  if (!runs_model(m, cmd)) {
    footer += "Graphs: ";
    for (size_t i = 0; i < m.graphs.size(); ++i)
      footer += (i ? ", " : "") + m.graphs[i] + (i == 0 ? " (default)" : "");
    footer += "\n";
  }
  footer += fmt::format("Commands of {}: {}\nAll of {}: graph-run {} --help",
                        m.name, join(commands_of(m)), m.name, m.name);
  app.footer(footer);
  TypedOptions typed(app);
  add_options(app, typed, a, m, cmd);

  std::vector<const char*> argv{"graph-run"};
  for (auto& s : rest) argv.push_back(s.c_str());
  const std::string more = fmt::format("\nRun 'graph-run {} {} --help' for the options.", cmd, m.name);
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::CallForHelp&) {
    r.help = app.help();
    return r;
  } catch (const CLI::CallForAllHelp&) {
    r.help = app.help("", CLI::AppFormatMode::All);
    return r;
  } catch (const CLI::ParseError& e) {
    throw UsageError(parse_error(app, typed, e) + more);
  }
  if (!app.remaining().empty()) throw UsageError(unexpected(app, m, cmd, app.remaining().front()) + more);
  a.set_builtins(typed.values(kBuiltin));
  a.options = typed.values(kModel);
  return r;
}

} // namespace graph_run
