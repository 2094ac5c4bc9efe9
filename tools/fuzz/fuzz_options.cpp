// libFuzzer target: graph-run's option parsing, tools/graph-run/cli.cpp's
// parse_command (what graph-run runs on the words after `<command> <model>`),
// over the registered models' own declarations and graph-run's built-in
// options. The input is split into argv-like words at every space, tab,
// newline or NUL (so two separators in a row give an empty word, as '' on a
// shell line would); the first word picks the model (its name, else one by
// the word's bytes), the second the command (one of the model's, likewise),
// the rest is the command line parsed. It parses only: no command runs and
// nothing is written (an output file's directory is only looked at).
//
// graph_run::UsageError is the one exception parse_command may throw on any
// words (exit status 2 in graph-run); a line it accepts must give every
// option a value of its declared type, within its bounds or choices. Anything
// else (another exception, a crash, a leak) is a finding.
#include "tools/graph-run/cli.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace {

std::vector<std::string> words_of(std::string_view bytes) {
  std::vector<std::string> w(1);
  for (char c : bytes) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\0')
      w.emplace_back();
    else
      w.back() += c;
  }
  return w;
}

size_t pick(const std::string& word, size_t n) {
  size_t h = 0;
  for (unsigned char c : word) h = h * 31 + c;
  return h % n;
}

bool within(const sg::ModelOption& o, double v) {
  if (o.min && !(o.min->inclusive ? v >= o.min->value : v > o.min->value)) return false;
  if (o.max && !(o.max->inclusive ? v <= o.max->value : v < o.max->value)) return false;
  return true;
}

// The value `v` parse_command gave option `o` is one `o` allows.
void check_value(const sg::ModelOption& o, const sg::OptionValue& v) {
  using T = sg::OptionType;
  switch (o.type) {
  case T::integer:
    if (const int64_t* i = std::get_if<int64_t>(&v)) {
      if (!within(o, double(*i))) std::abort();
    } else if (!std::holds_alternative<std::monostate>(v) || !o.default_value.empty()) {
      std::abort();
    }
    break;
  case T::number:
    if (const double* d = std::get_if<double>(&v)) {
      if (!std::isfinite(*d) || !within(o, *d)) std::abort();
    } else if (!std::holds_alternative<std::monostate>(v) || !o.default_value.empty()) {
      std::abort();
    }
    break;
  case T::flag:
    if (!std::holds_alternative<bool>(v)) std::abort();
    break;
  case T::choice: {
    const std::string* s = std::get_if<std::string>(&v);
    if (!s) std::abort();
    // no value (no default, not given) or one of the choices
    if (!s->empty() && std::find(o.choices.begin(), o.choices.end(), *s) == o.choices.end()) std::abort();
    if (s->empty() && !o.default_value.empty()) std::abort();
    break;
  }
  default: {
    const std::string* s = std::get_if<std::string>(&v);
    if (!s || (o.required && s->empty())) std::abort();
  }
  }
}

void check(const sg::Model& m, const std::string& cmd, const graph_run::Parsed& p) {
  if (p.help) {
    if (p.help->empty()) std::abort();
    return;
  }
  const graph_run::CliArgs& a = p.args;
  if (a.command != cmd || a.model != m.name || a.threads < 1 || a.threads > 4096) std::abort();
  if (!graph_run::runs_model(m, cmd)) {
    if (!a.options.all().empty()) std::abort(); // eval, dot, summary, gradcheck: no model options
    if (!a.graph.empty() && std::find(m.graphs.begin(), m.graphs.end(), a.graph) == m.graphs.end()) std::abort();
    return;
  }
  for (const sg::ModelOption& o : m.options) {
    if (!o.applies_to(cmd)) continue;
    const auto it = a.options.all().find(o.name);
    if (it == a.options.all().end()) std::abort(); // every option of the command has its value
    check_value(o, it->second);
  }
  for (const auto& [name, v] : a.options.all()) { // and only those
    const auto o = std::find_if(m.options.begin(), m.options.end(), [&](auto& x) { return x.name == name; });
    if (o == m.options.end() || !o->applies_to(cmd)) std::abort();
  }
  const sg::ModelCommand* own = m.find_command(cmd);
  if (own) {
    const auto n = int64_t(a.args.size());
    if (own->max_args == 0 && n != 0) std::abort();
  } else if (!a.args.empty()) {
    std::abort();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> w = words_of(std::string_view(reinterpret_cast<const char*>(data), size));
  const auto& models = sg::models();
  if (models.empty()) std::abort();
  const sg::Model* m = sg::find_model(w[0]);
  if (!m) m = &models[pick(w[0], models.size())];
  const std::vector<std::string> commands = graph_run::commands_of(*m);
  const std::string second = w.size() > 1 ? w[1] : std::string();
  std::string cmd = second;
  if (!commands.empty() && std::find(commands.begin(), commands.end(), cmd) == commands.end())
    cmd = commands[pick(second, commands.size())];
  const std::vector<std::string> rest(w.begin() + std::min<ptrdiff_t>(2, ptrdiff_t(w.size())), w.end());
  try {
    check(*m, cmd, graph_run::parse_command(*m, cmd, rest));
  } catch (const graph_run::UsageError&) {
  }
  return 0;
}
