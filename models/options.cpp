#include "models/options.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>

namespace sg {

namespace fs = std::filesystem;

namespace {

bool numeric(OptionType t) { return t == OptionType::integer || t == OptionType::number; }

std::string choice_list(const ModelOption& o) {
  std::string s = "{";
  for (size_t i = 0; i < o.choices.size(); ++i) s += (i ? "," : "") + o.choices[i];
  return s + "}";
}

// ">= 1", "> 0, <= 1", "1 to 4096" (both ends inclusive; `from`: "from 1 to 4096"); "" without bounds.
std::string range(const ModelOption& o, const char* from = "") {
  if (o.min && o.max && o.min->inclusive && o.max->inclusive)
    return fmt::format("{}{} to {}", from, o.min->value, o.max->value);
  std::string s;
  if (o.min) s = fmt::format("{} {}", o.min->inclusive ? ">=" : ">", o.min->value);
  if (o.max) s += fmt::format("{}{} {}", s.empty() ? "" : ", ", o.max->inclusive ? "<=" : "<", o.max->value);
  return s;
}

bool in_range(const ModelOption& o, double v) {
  if (o.min && !(o.min->inclusive ? v >= o.min->value : v > o.min->value)) return false;
  if (o.max && !(o.max->inclusive ? v <= o.max->value : v < o.max->value)) return false;
  return true;
}

// The whole of `s` as a T (from_chars, with an optional leading '+'); errc::invalid_argument
// if it is not one, errc::result_out_of_range if it is one too large for a T.
template <class T>
std::errc whole(const std::string& s, T& v) {
  const char *first = s.data(), *last = s.data() + s.size();
  if (first != last && *first == '+') ++first;
  auto [end, ec] = std::from_chars(first, last, v);
  if (ec == std::errc() && (end != last || first == last)) return std::errc::invalid_argument;
  return ec;
}

// The file system part of the checks: an output file's directory exists, ...
void check_path(const ModelOption& o, const std::string& path) {
  if (path.empty()) return;
  const fs::path p(path);
  std::error_code ec;
  const auto fail = [&](const std::string& why) {
    throw OptionError(fmt::format("{}: cannot use '{}': {}", o.spelling(), path, why));
  };
  if (o.type == OptionType::output_file) {
    if (fs::is_directory(p, ec)) fail("it is a directory, not a file");
    const fs::path dir = p.parent_path();
    if (!dir.empty() && !fs::is_directory(dir, ec))
      fail(fmt::format("there is no directory '{}' to write it in", dir.string()));
  } else if (o.type == OptionType::input_dir) {
    if (!fs::is_directory(p, ec)) fail("there is no such directory");
  } else if (o.type == OptionType::output_dir) {
    if (fs::exists(p, ec) && !fs::is_directory(p, ec)) fail("it is a file, not a directory");
  }
}

} // namespace

bool ModelOption::applies_to(const std::string& command) const {
  return commands.empty() || std::find(commands.begin(), commands.end(), command) != commands.end();
}

std::string option_rule(const ModelOption& o) {
  const std::string r = range(o, "from ");
  switch (o.type) {
  case OptionType::integer: return r.empty() ? "an integer" : "an integer " + r;
  case OptionType::number: return r.empty() ? "a number" : "a number " + r;
  case OptionType::flag: return "no value";
  case OptionType::choice: return "one of " + choice_list(o);
  case OptionType::input_file: return "a file";
  case OptionType::output_file: return "a file to write";
  case OptionType::input_dir: return "a directory";
  case OptionType::output_dir: return "a directory to write in";
  case OptionType::text: break;
  }
  return "a text";
}

std::string option_synopsis(const ModelOption& o) {
  std::string value;
  switch (o.type) {
  case OptionType::flag: return "";
  case OptionType::integer: value = "INT"; break;
  case OptionType::number: value = "NUMBER"; break;
  case OptionType::choice: value = choice_list(o); break;
  case OptionType::input_file:
  case OptionType::output_file: value = "FILE"; break;
  case OptionType::input_dir:
  case OptionType::output_dir: value = "DIR"; break;
  case OptionType::text: value = "TEXT"; break;
  }
  std::vector<std::string> notes;
  if (numeric(o.type) && (o.min || o.max)) notes.push_back(range(o));
  if (o.required) notes.push_back("required");
  if (!o.default_value.empty()) notes.push_back("default " + o.default_value);
  std::string s;
  for (auto& n : notes) s += (s.empty() ? "" : ", ") + n;
  return s.empty() ? value : value + " (" + s + ")";
}

OptionValue parse_option(const ModelOption& o, const std::string& text, bool check_paths) {
  const auto bad = [&](std::errc ec = std::errc()) {
    return OptionError(fmt::format("{} must be {}, got '{}'{}", o.spelling(), option_rule(o), text,
                                   ec == std::errc::result_out_of_range ? " (out of range)" : ""));
  };
  if (o.required && text.empty())
    throw OptionError(fmt::format("{} needs a value ({})", o.spelling(), option_rule(o)));
  switch (o.type) {
  case OptionType::integer: {
    int64_t v = 0;
    if (auto ec = whole(text, v); ec != std::errc() || !in_range(o, double(v))) throw bad(ec);
    return v;
  }
  case OptionType::number: {
    double v = 0;
    if (auto ec = whole(text, v); ec != std::errc() || !std::isfinite(v) || !in_range(o, v)) throw bad(ec);
    return v;
  }
  case OptionType::flag:
    if (text != "true" && text != "false") throw bad();
    return text == "true";
  case OptionType::choice:
    if (std::find(o.choices.begin(), o.choices.end(), text) == o.choices.end()) throw bad();
    return text;
  default:
    if (check_paths) check_path(o, text);
    return text;
  }
}

OptionValue default_option(const ModelOption& o) {
  if (!o.default_value.empty()) return parse_option(o, o.default_value, false);
  if (o.type == OptionType::flag) return false;
  if (numeric(o.type)) return std::monostate{};
  return std::string();
}

void check_declaration(const ModelOption& o, const std::string& owner) {
  const auto wrong = [&](const std::string& why) {
    throw std::logic_error(fmt::format("{} declares option {} wrongly: {}", owner, o.spelling(), why));
  };
  if (o.name.empty() || o.name.starts_with("-")) wrong("a name is given without dashes");
  if ((o.min || o.max) && !numeric(o.type)) wrong("bounds on an option that is not a number");
  if ((o.type == OptionType::choice) == o.choices.empty()) wrong("choices go with the choice type");
  if (o.required && (o.type == OptionType::flag || !o.default_value.empty()))
    wrong("a required option has a value and no default");
  if (o.type == OptionType::flag && !o.default_value.empty()) wrong("a flag has no default (it is off)");
  try {
    (void)default_option(o);
  } catch (const OptionError& e) {
    wrong(fmt::format("its default: {}", e.what()));
  }
}

bool OptionValues::has(const std::string& name) const {
  auto it = values_.find(name);
  return it != values_.end() && !std::holds_alternative<std::monostate>(it->second);
}

template <class T>
const T& OptionValues::get(const std::string& name, const char* type) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw std::logic_error("no option --" + name + " is declared for this command");
  if (const T* v = std::get_if<T>(&it->second)) return *v;
  throw std::logic_error(fmt::format("option --{} is read as {}, which it is not{}", name, type,
                                     std::holds_alternative<std::monostate>(it->second)
                                         ? " (it has no value: neither given nor defaulted)"
                                         : ""));
}

int64_t OptionValues::get_int(const std::string& name) const { return get<int64_t>(name, "an integer"); }
double OptionValues::get_number(const std::string& name) const { return get<double>(name, "a number"); }
const std::string& OptionValues::get_text(const std::string& name) const {
  return get<std::string>(name, "a text");
}
bool OptionValues::get_flag(const std::string& name) const { return get<bool>(name, "a flag"); }

std::string option_text(const OptionValue& v) {
  struct Text {
    std::string operator()(std::monostate) const { return ""; }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return fmt::format("{}", d); }
    std::string operator()(const std::string& s) const { return s; }
  };
  return std::visit(Text{}, v);
}

} // namespace sg
