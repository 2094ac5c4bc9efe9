// Command-line options declared once: name, type, default, bounds and the
// commands they apply to. graph-run reads every option through these
// declarations (a model's own and graph-run's built-in ones alike): it checks
// each value when it parses the command line (exit status 2, naming the option
// and its rule), so a model reads typed values that cannot be wrong.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace sg {

enum class OptionType {
  text,        // any text
  integer,     // a whole number (int64), within the bounds
  number,      // a finite number (double), within the bounds
  flag,        // no value: given or not
  choice,      // one of ModelOption::choices
  input_file,  // a file to read (the command says if it is missing, in context)
  output_file, // a file to write: its directory must exist, before any work starts
  input_dir,   // a directory that must exist
  output_dir,  // a directory to write into (created if missing; not an existing file)
};

// One end of an option's range: value <= x (inclusive) or value < x.
struct Bound {
  double value = 0;
  bool inclusive = true;
};
inline Bound at_least(double v) { return {v, true}; }
inline Bound above(double v) { return {v, false}; }
inline Bound at_most(double v) { return {v, true}; }
inline Bound below(double v) { return {v, false}; }

// An option of train / sample / a model's own command: `--name VALUE`, or
// `-n VALUE` for a one-letter name; a flag takes no value.
struct ModelOption {
  std::string name; // without dashes: "graph", "iterations", "n"
  std::string help;
  OptionType type = OptionType::text;
  std::string default_value = {};         // "" = no default
  std::optional<Bound> min = {}, max = {}; // integer and number only
  std::vector<std::string> choices = {};  // choice only
  std::vector<std::string> commands = {}; // where it applies ("train", "sample", a ModelCommand's
                                          // name); empty = all of train, sample and the model's commands
  bool required = false;                  // must be given, not empty (and has no default)
  std::string alias = {};                 // another name, e.g. "o" beside "output": -o, --output

  bool applies_to(const std::string& command) const;
  std::string spelling() const { return (name.size() == 1 ? "-" : "--") + name; }
};

// A bad value of an option: graph-run reports it with exit status 2.
struct OptionError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// What a value of `o` must be: "an integer >= 1", "a number > 0", "one of {1,2}", "a file".
std::string option_rule(const ModelOption& o);
// The value part of `o` in help: "INT (>= 1, default 50)", "NUMBER (>= 0, default 1)",
// "FILE", "{1,2} (default 1)"; "" for a flag.
std::string option_synopsis(const ModelOption& o);

using OptionValue = std::variant<std::monostate, bool, int64_t, double, std::string>;

// The value `text` gives option `o`, or OptionError naming the option and its rule.
// `check_paths`: also check an output file's directory (an input or output
// directory's existence); defaults are not checked against the file system.
OptionValue parse_option(const ModelOption& o, const std::string& text, bool check_paths = true);
// The value of `o` when it is not given: its default, else false, "" or none.
OptionValue default_option(const ModelOption& o);
// std::logic_error if `o` is declared wrongly (a default outside its bounds,
// bounds on a text, a choice without choices, a required flag, ...).
void check_declaration(const ModelOption& o, const std::string& owner);

// A value as text, as it would be given: "50", "0.005", "true", "" for none.
std::string option_text(const OptionValue& v);

// Options' values by name, each of its declared type. The getters throw
// std::logic_error only on a programming error: an option not declared for
// the command, read as another type, or an integer / number with no value
// (neither given nor defaulted: ask has() first).
class OptionValues {
public:
  void set(const std::string& name, OptionValue v) { values_[name] = std::move(v); }
  bool has(const std::string& name) const; // declared, and given or defaulted
  int64_t get_int(const std::string& name) const;
  double get_number(const std::string& name) const;
  const std::string& get_text(const std::string& name) const; // text, choice, file, directory
  bool get_flag(const std::string& name) const;
  const std::map<std::string, OptionValue>& all() const { return values_; }

private:
  template <class T>
  const T& get(const std::string& name, const char* type) const;
  std::map<std::string, OptionValue> values_;
};

} // namespace sg
