#include "tools/graph-run/commands.hpp"

#include "autodiff/gradcheck.hpp"
#include "graph/summary.hpp"
#include "graph/checkpoint.hpp"
#include "graph/dot.hpp"
#include "graph/npy.hpp"
#include "graph/plan.hpp"
#include "graph/random.hpp"
#include "models/suggest.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <limits>
#include <set>
#include <thread>

namespace graph_run {

namespace fs = std::filesystem;
using sg::DType;
using sg::Graph;
using sg::Model;
using sg::Node;
using sg::NodeId;
using sg::Op;
using sg::Tensor;

namespace {

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string r;
  for (size_t i = 0; i < v.size(); ++i) r += (i ? sep : "") + v[i];
  return r;
}

const std::string& graph_or_default(const Model& m, const std::string& g) {
  if (!g.empty()) {
    if (std::find(m.graphs.begin(), m.graphs.end(), g) == m.graphs.end())
      throw UsageError(fmt::format("model {} has no graph '{}'; it has: {}", m.name, g,
                                   join(m.graphs)));
    return g;
  }
  if (m.graphs.empty()) throw std::logic_error(fmt::format("model {} declares no graphs", m.name));
  return m.graphs.front();
}

// --input NAME=FILE.npy, loaded.
std::map<std::string, Tensor> load_inputs(const std::vector<std::string>& specs) {
  std::map<std::string, Tensor> r;
  for (const std::string& s : specs) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == s.size())
      throw UsageError(fmt::format("--input '{}': expected NAME=FILE.npy", s));
    std::string name = s.substr(0, eq), path = s.substr(eq + 1);
    if (r.count(name)) throw UsageError(fmt::format("--input {} is given twice", name));
    try {
      r.emplace(name, sg::load_npy(path));
    } catch (const std::exception& e) {
      throw sg::IoError(fmt::format("--input {}: {}", name, e.what()));
    }
  }
  return r;
}

void check_input_names(const Model& m, const std::string& graph, const Graph& g,
                       const std::map<std::string, Tensor>& inputs) {
  std::vector<std::string> unknown;
  for (auto& [name, t] : inputs) {
    auto id = g.find(name);
    if (!id || (g.node(*id).op != Op::Input && g.node(*id).op != Op::Variable))
      unknown.push_back(name);
  }
  if (unknown.empty()) return;
  std::vector<std::string> ins, params;
  for (NodeId id = 0; id < g.size(); ++id) {
    const Node& n = g.node(id);
    if (n.op == Op::Input) ins.push_back(fmt::format("{} {}", n.name, sg::to_string(n.shape)));
    if (n.op == Op::Variable) params.push_back(fmt::format("{} {}", n.name, sg::to_string(n.shape)));
  }
  throw UsageError(fmt::format(
      "graph '{}' of {} has no input named {}; it accepts --input for its inputs: {}{}{}",
      graph, m.name, join(unknown), ins.empty() ? "(none)" : join(ins),
      params.empty() ? "" : "; and its parameters: ", join(params)));
}

struct Stats {
  double mean = 0, min = 0, max = 0;
  int64_t nonfinite = 0;
};

Stats stats_of(const Tensor& t) {
  Stats s;
  const int64_t n = t.size();
  if (n == 0) return s;
  double sum = 0;
  s.min = std::numeric_limits<double>::infinity();
  s.max = -s.min;
  int64_t finite = 0;
  for (int64_t i = 0; i < n; ++i) {
    double v = t.at(i);
    if (!std::isfinite(v)) {
      ++s.nonfinite;
      continue;
    }
    ++finite;
    sum += v;
    s.min = std::min(s.min, v);
    s.max = std::max(s.max, v);
  }
  if (finite == 0) {
    s.min = s.max = s.mean = std::numeric_limits<double>::quiet_NaN();
    return s;
  }
  s.mean = sum / double(finite);
  return s;
}

// Two columns, "  head  text", the text column after the widest head up to 34
// characters; a longer head has its text on the next line.
using Rows = std::vector<std::pair<std::string, std::string>>;
std::string two_columns(const Rows& rows) {
  constexpr size_t kMax = 34;
  size_t w = 10;
  for (auto& [head, text] : rows)
    if (head.size() <= kMax) w = std::max(w, head.size());
  std::string s;
  for (auto& [head, text] : rows)
    s += head.size() <= w ? fmt::format("  {:<{}}  {}\n", head, w, text)
                          : fmt::format("  {}\n  {:<{}}  {}\n", head, "", w, text);
  return s;
}

// "--epochs INT (>= 1, default 50)", "--resume".
std::string option_head(const sg::ModelOption& o) {
  const std::string value = sg::option_synopsis(o);
  return value.empty() ? o.spelling() : o.spelling() + " " + value;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// --- eval --------------------------------------------------------------------

int cmd_eval(const Model& m, const CliArgs& a) {
  const std::string& graph = graph_or_default(m, a.graph);
  std::map<std::string, Tensor> inputs = load_inputs(a.inputs);

  sg::BuiltGraph built = m.build(graph, inputs, false);
  if (!built.graph) throw std::logic_error(fmt::format("model {} built no graph", m.name));
  const Graph& g = *built.graph;
  if (built.outputs.empty())
    throw std::runtime_error(fmt::format("graph '{}' of {} has no outputs to evaluate", graph, m.name));
  check_input_names(m, graph, g, inputs);

  std::vector<NodeId> fetch;
  for (auto& [name, v] : built.outputs) fetch.push_back(v.id());
  const std::vector<char> need = g.needed_by(fetch);

  // Every input the outputs need must be given; say all that are missing at once.
  std::vector<std::string> missing;
  for (NodeId id = 0; id < g.size(); ++id) {
    const Node& n = g.node(id);
    if (n.op == Op::Input && need[id] && !inputs.count(n.name))
      missing.push_back(fmt::format("{} {}", n.name, sg::to_string(n.shape)));
  }
  // --random-inputs: draw what was not given, N(0, 1) float64 from (seed, name),
  // and save the draws beside the outputs so the run can be repeated elsewhere.
  fs::path dir = a.output_dir.empty() ? fs::path(".") : fs::path(a.output_dir);
  if (a.random_inputs && !missing.empty()) {
    missing.clear();
    for (NodeId id = 0; id < g.size(); ++id) {
      const Node& n = g.node(id);
      if (n.op != Op::Input || !need[id] || inputs.count(n.name)) continue;
      Tensor t(n.shape, DType::f64);
      sg::rng::Stream r{a.seed, sg::rng::hash_name(n.name)};
      for (int64_t i = 0; i < t.size(); ++i) t.set(i, r.normal());
      fs::path file = dir / "inputs" / (n.name + ".npy");
      fs::create_directories(file.parent_path());
      sg::save_npy(file.string(), t);
      inputs[n.name] = std::move(t);
    }
    if (!a.quiet)
      fmt::print("eval: drew the inputs not given from N(0, 1) with seed {}; saved in {}\n", a.seed,
                 (dir / "inputs").string());
  }
  if (!missing.empty())
    throw UsageError(fmt::format(
        "graph '{}' of {} needs {} more input(s): {}; give each with --input NAME=FILE.npy "
        "(or --random-inputs)", graph,
        m.name, missing.size(), join(missing)));
  for (auto& [name, t] : inputs) {
    const Node& n = g.node(*g.find(name));
    if (t.shape() != n.shape)
      throw UsageError(fmt::format("--input {} has shape {}, but graph '{}' of {} expects {}", name,
                                   sg::to_string(t.shape()), graph, m.name, sg::to_string(n.shape)));
  }

  DType dtype = DType::f32;
  if (a.dtype == "f64" ||
      (a.dtype.empty() && !inputs.empty() &&
       std::all_of(inputs.begin(), inputs.end(),
                   [](const auto& kv) { return kv.second.dtype() == DType::f64; })))
    dtype = DType::f64;

  // Parameters: from the checkpoint, then from --input (by parameter name).
  sg::ParamStore params;
  if (!a.checkpoint.empty()) {
    sg::Checkpoint ck = sg::load_checkpoint(a.checkpoint, m.name);
    sg::restore_params(ck, params, false);
  }
  for (auto& [name, t] : inputs)
    if (g.node(*g.find(name)).op == Op::Variable) params.set(name, t);
  for (auto& [name, t] : params.all())
    if (t.dtype() != dtype) t = t.to(dtype);

  auto t0 = std::chrono::steady_clock::now();
  sg::Plan plan(g, params, fetch, {}, {dtype, a.seed});
  const double compile_ms = ms_since(t0);
  for (auto& [name, t] : inputs) {
    NodeId id = *g.find(name);
    if (g.node(id).op == Op::Input) plan.feed(id, t);
  }
  t0 = std::chrono::steady_clock::now();
  plan.run();
  const double run_ms = ms_since(t0);

  size_t w = 0;
  for (auto& [name, v] : built.outputs) w = std::max(w, name.size());
  for (auto& [name, v] : built.outputs) {
    Tensor t = plan.fetch(v);
    fs::path file = dir / (name + ".npy");
    fs::create_directories(file.parent_path());
    sg::save_npy(file.string(), t);
    if (a.quiet) continue;
    Stats s = stats_of(t);
    std::string nonfinite = s.nonfinite ? fmt::format("  non-finite {}", s.nonfinite) : "";
    fmt::print("{:<{}}  {:<14} mean {:<12.6g} min {:<12.6g} max {:<12.6g}{}  -> {}\n", name, w,
               sg::to_string(t.shape()), s.mean, s.min, s.max, nonfinite, file.string());
  }
  if (!a.quiet)
    fmt::print("eval: {} graph '{}', {} nodes run, {}, {} thread(s): compile {:.3g} ms, run {:.3g} ms\n",
               m.name, graph, plan.stats().nodes, sg::to_string(dtype), sg::threads(), compile_ms,
               run_ms);
  return 0;
}

// --- dot ---------------------------------------------------------------------

int cmd_dot(const Model& m, const CliArgs& a) {
  const std::string& graph = graph_or_default(m, a.graph);
  if (a.output.empty())
    throw UsageError("dot needs -o FILE (.dot, .svg, .png or .pdf)");
  { // the output path, before any work
    const fs::path out(a.output);
    std::string ext = out.extension().string();
    for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
    if (ext != ".dot" && ext != ".gv" && ext != ".svg" && ext != ".png" && ext != ".pdf")
      throw UsageError(fmt::format("-o: cannot write a graph as '{}': the extension must be .dot, .gv, .svg, .png "
                                   "or .pdf", a.output));
    std::error_code ec;
    if (fs::is_directory(out, ec)) throw UsageError(fmt::format("-o: cannot use '{}': it is a directory", a.output));
    if (!out.parent_path().empty() && !fs::is_directory(out.parent_path(), ec))
      throw UsageError(fmt::format("-o: cannot use '{}': there is no directory '{}' to write it in", a.output,
                                   out.parent_path().string()));
  }
  std::map<std::string, Tensor> inputs = load_inputs(a.inputs);
  sg::BuiltGraph built = m.build(graph, inputs, a.backward);
  if (!built.graph) throw std::logic_error(fmt::format("model {} built no graph", m.name));
  const Graph& g = *built.graph;
  check_input_names(m, graph, g, inputs);

  sg::DotOptions opt;
  opt.title = fmt::format("{}: graph '{}'{}", m.name, graph, a.backward ? " with gradients" : "");
  opt.clusters = a.clusters;
  opt.legend = a.legend;
  size_t drawn = 0;
  for (NodeId id = 0; id < g.size(); ++id) drawn += !g.node(id).superseded;
  opt.layers = a.view == "layers" || (a.view.empty() && drawn > sg::kLayerViewAbove);
  auto t0 = std::chrono::steady_clock::now();
  sg::write_graph_image(g, a.output, opt);
  const double ms = ms_since(t0);

  size_t by_kind[3] = {0, 0, 0};
  for (NodeId id = 0; id < g.size(); ++id)
    if (!g.node(id).superseded) ++by_kind[static_cast<int>(g.node(id).kind)];
  if (!a.quiet)
    fmt::print("dot: wrote {} ({:.3g} ms): {} nodes: {} forward, {} gradient, {} update; {} edges{}\n",
               a.output, ms, by_kind[0] + by_kind[1] + by_kind[2], by_kind[0], by_kind[1], by_kind[2],
               boost::num_edges(g.boost()),
               opt.layers ? a.view.empty() ? fmt::format("; drawn by layer (over {} nodes; --ops draws every op)",
                                                         sg::kLayerViewAbove)
                                           : "; drawn by layer"
                          : "");
  return 0;
}

// --- summary -------------------------------------------------------------------

int cmd_summary(const Model& m, const CliArgs& a) {
  const std::string& graph = graph_or_default(m, a.graph);
  std::map<std::string, Tensor> inputs = load_inputs(a.inputs);
  sg::BuiltGraph built = m.build(graph, inputs, false); // no optimizer: its slots are no parameters
  if (!built.graph) throw std::logic_error(fmt::format("model {} built no graph", m.name));
  check_input_names(m, graph, *built.graph, inputs);
  fmt::print("{}: graph '{}'\n{}", m.name, graph, sg::summarize(*built.graph).table());
  return 0;
}

// --- gradcheck -----------------------------------------------------------------

int cmd_gradcheck(const Model& m, const CliArgs& a) {
  const std::string& graph = graph_or_default(m, a.graph);
  sg::BuiltGraph built = m.build(graph, {}, false);
  if (!built.graph) throw std::logic_error(fmt::format("model {} built no graph", m.name));
  Graph& g = *built.graph;
  if (built.differentiable.empty())
    throw UsageError(fmt::format("graph '{}' of {} declares no values to differentiate", graph,
                                 m.name));
  if (built.outputs.empty())
    throw UsageError(fmt::format("graph '{}' of {} has no outputs", graph, m.name));

  std::map<std::string, Tensor> values;
  if (!a.checkpoint.empty()) {
    sg::Checkpoint ck = sg::load_checkpoint(a.checkpoint, m.name);
    for (auto& [name, t] : ck.params.all()) values.emplace(name, t.to(DType::f64));
  }
  sg::GradCheckOptions opt;
  opt.eps = a.eps;
  opt.seed = a.seed;
  opt.max_elements = a.max_elements;

  struct Row {
    std::string output, wrt, abs, rel, status;
  };
  std::vector<Row> rows;
  int failed = 0, checked = 0, errors = 0;
  for (auto& [name, v] : built.outputs) {
    try {
      auto res = sg::gradcheck(g, v, built.differentiable, values, opt);
      for (auto& r : res) {
        ++checked;
        bool bad = !(r.max_rel <= a.tolerance); // NaN fails
        failed += bad;
        rows.push_back({name, r.name, fmt::format("{:.3e}", r.max_abs), fmt::format("{:.3e}", r.max_rel),
                        bad ? fmt::format("FAIL (worst at [{}]: analytic {:.6g}, numeric {:.6g})",
                                          r.worst, r.analytic, r.numeric)
                            : "ok"});
      }
    } catch (const std::exception& e) {
      ++errors;
      rows.push_back({name, "-", "-", "-", fmt::format("error: {}", e.what())});
    }
  }
  const bool ok = failed == 0 && errors == 0;
  if (!a.quiet || !ok) {
    size_t w[4] = {6, 3, 11, 11};
    for (auto& r : rows) {
      w[0] = std::max(w[0], r.output.size());
      w[1] = std::max(w[1], r.wrt.size());
    }
    fmt::print("{:<{}}  {:<{}}  {:>{}}  {:>{}}  {}\n", "output", w[0], "wrt", w[1], "max abs err",
               w[2], "max rel err", w[3], "status");
    for (auto& r : rows)
      fmt::print("{:<{}}  {:<{}}  {:>{}}  {:>{}}  {}\n", r.output, w[0], r.wrt, w[1], r.abs, w[2],
                 r.rel, w[3], r.status);
    if (ok)
      fmt::print("gradcheck: {} graph '{}': all {} checks within tolerance {:g}\n", m.name, graph,
                 checked, a.tolerance);
    else
      fmt::print("gradcheck: {} graph '{}': FAILED: {} of {} checks above tolerance {:g}{}\n", m.name,
                 graph, failed, checked, a.tolerance,
                 errors ? fmt::format(", {} output(s) could not be checked", errors) : "");
  }
  return ok ? 0 : 1;
}

// --- train / sample --------------------------------------------------------------

int cmd_model(const Model& m, const CliArgs& a) {
  const sg::ModelCommand* own = m.find_command(a.command);
  if (own) {
    const auto n = static_cast<long long>(a.args.size());
    if (n < own->min_args || (own->max_args >= 0 && n > own->max_args)) {
      std::string want = own->max_args < 0 ? fmt::format("at least {}", own->min_args)
                         : own->min_args == own->max_args
                             ? fmt::format("{}", own->min_args)
                             : fmt::format("{} to {}", own->min_args, own->max_args);
      throw UsageError(fmt::format("{} takes {} argument(s), got {}\nusage: {}", a.command, want, n,
                                   usage_line(m, a.command)));
    }
  }
  sg::RunArgs r;
  static_cast<sg::OptionValues&>(r) = a.options;
  r.command = a.command;
  r.args = a.args;
  r.checkpoint = a.checkpoint.empty() ? default_checkpoint(m) : a.checkpoint;
  r.data_dir = a.data_dir;
  r.seed = a.seed;
  r.threads = a.threads;
  r.quiet = a.quiet;
  if (own) return own->run(r);
  return a.command == "train" ? m.train(r) : m.sample(r);
}

} // namespace

const char* command_summary(const std::string& c) {
  if (c == "list") return "the registered models, their graphs and commands";
  if (c == "eval") return "run a graph on --input .npy files; write each output as <name>.npy";
  if (c == "dot") return "export a graph (optionally with its gradient nodes) as .dot/.svg/.png/.pdf";
  if (c == "gradcheck") return "check the graph's gradients against finite differences";
  if (c == "summary") return "the model's layers and parameter counts, as Keras' model.summary()";
  if (c == "train") return "train the model (models that have it)";
  if (c == "sample") return "sample from a trained model (models that have it)";
  return "";
}

std::string default_checkpoint(const Model& m) { return m.name + ".ckpt"; }

bool is_known_command(const std::string& command) {
  if (std::find(all_commands().begin(), all_commands().end(), command) != all_commands().end())
    return true;
  for (auto& m : sg::models())
    if (m.find_command(command)) return true;
  return false;
}

std::vector<std::string> commands_of(const Model& m) {
  std::vector<std::string> c;
  if (m.build && !m.graphs.empty()) c = {"summary", "eval", "dot", "gradcheck"};
  if (m.train) c.push_back("train");
  if (m.sample) c.push_back("sample");
  for (auto& own : m.commands)
    if (std::find(c.begin(), c.end(), own.name) == c.end()) c.push_back(own.name);
  return c;
}

std::string command_summary(const Model& m, const std::string& command) {
  const sg::ModelCommand* own = m.find_command(command);
  if (!own) return command_summary(command);
  const auto& b = all_commands();
  if (std::find(b.begin(), b.end(), command) != b.end())
    return own->summary + " (this model's own " + command + ", in place of the built-in one)";
  return own->summary;
}

bool runs_model(const Model& m, const std::string& command) {
  return command == "train" || command == "sample" || m.find_command(command) != nullptr;
}

std::string usage_line(const Model& m, const std::string& command) {
  const sg::ModelCommand* own = m.find_command(command);
  std::string pos = own && !own->usage.empty() ? " " + own->usage : "";
  return fmt::format("graph-run {} {}{} [options]", m.name, command, pos);
}

void check_command(const Model& m, const std::string& command) {
  auto c = commands_of(m);
  if (std::find(c.begin(), c.end(), command) == c.end())
    throw UsageError(fmt::format("model {} has no {} command; it has: {}{}", m.name, command, join(c),
                                 did_you_mean(command, c)));
}

std::string model_names() {
  std::vector<std::string> n;
  for (auto& m : sg::models()) n.push_back(m.name);
  return n.empty() ? "(none registered)" : join(n);
}

void unknown_model(const std::string& name) {
  std::vector<std::string> n;
  for (auto& m : sg::models()) n.push_back(m.name);
  throw UsageError(fmt::format("unknown model '{}'; known models: {}{}", name, model_names(),
                               did_you_mean(name, n)));
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  const auto bare = [](const std::string& s) { return s.substr(std::min(s.find_first_not_of('-'), s.size())); };
  const bool options = word.starts_with("-");
  std::vector<std::string> names;
  for (auto& c : candidates) names.push_back(options ? bare(c) : c);
  const std::vector<std::string> near = sg::close_matches(options ? bare(word) : word, names);
  std::vector<std::string> shown;
  for (size_t i = 0; i < near.size() && i < 3; ++i) {
    const size_t k = size_t(std::find(names.begin(), names.end(), near[i]) - names.begin());
    shown.push_back(options ? candidates[k] : "'" + candidates[k] + "'");
  }
  if (shown.empty()) return "";
  std::string s = shown[0];
  for (size_t i = 1; i < shown.size(); ++i) s += (i + 1 == shown.size() ? " or " : ", ") + shown[i];
  return "; did you mean " + s + "?";
}

std::vector<sg::ModelOption> builtin_options(const Model& m, const std::string& cmd) {
  using T = sg::OptionType;
  const bool model_cmd = runs_model(m, cmd);
  const sg::ModelCommand* own = m.find_command(cmd);
  // A model's own command named like a built-in one takes none of the built-in's options.
  const bool eval = !model_cmd && cmd == "eval", dot = !model_cmd && cmd == "dot",
             gc = !model_cmd && cmd == "gradcheck", summary = !model_cmd && cmd == "summary";
  std::vector<sg::ModelOption> o;
  if (!model_cmd)
    o.push_back({.name = "graph", .help = "Which graph to build", .type = T::choice,
                 .default_value = m.graphs.empty() ? "" : m.graphs.front(), .choices = m.graphs});
  if (!dot && !summary) {
    o.push_back({.name = "threads", .help = "Worker threads (results do not depend on it)", .type = T::integer,
                 .default_value = "1", .min = sg::at_least(1), .max = sg::at_most(4096)});
    o.push_back({.name = "seed",
                 .help = gc     ? "Seed of the random inputs, parameters and cotangents"
                         : eval ? "Seed of --random-inputs and of parameters not in --checkpoint or --input"
                                : "Random seed",
                 .type = T::integer, .default_value = "0", .min = sg::at_least(0)});
  }
  if (!dot && !model_cmd && !summary)
    o.push_back({.name = "checkpoint",
                 .help = eval ? "Parameters to load (a graph-run checkpoint)"
                              : "Check gradients at these parameters (else random ones)",
                 .type = T::input_file});
  if (model_cmd && (!own || own->checkpoint))
    o.push_back({.name = "checkpoint",
                 .help = own ? "The parameters to use"
                         : cmd == "train" ? "Where to save the parameters (with --resume: the run to continue)"
                                          : "The trained parameters to sample from",
                 .type = !own && cmd == "train" ? T::output_file : T::input_file,
                 .default_value = default_checkpoint(m)});
  if (model_cmd)
    o.push_back({.name = "data-dir", .help = "Course data directory (default: ./data, then ../shared/data)",
                 .type = T::input_dir});
  if (model_cmd && !own && cmd == "train")
    o.push_back({.name = "check-numerics",
                 .help = "Check every node's value for NaN and inf as soon as it is computed, every step (slower; "
                         "without it, each step's loss and gradients are checked): the first stops the run, named",
                 .type = T::flag});
  o.push_back({.name = "quiet", .help = gc ? "Print the table only if a check fails" : "Print less",
               .type = T::flag});
  if (dot) {
    o.push_back({.name = "output", .help = "Output file: .dot, .svg, .png or .pdf (these need Graphviz)",
                 .type = T::output_file, .required = true, .alias = "o"});
    o.push_back({.name = "backward", .help = "Include the gradient nodes", .type = T::flag});
    o.push_back({.name = "ops", .help = "One box per op (the default for graphs of up to 150 nodes)",
                 .type = T::flag});
    o.push_back({.name = "layers",
                 .help = "One box per layer and time step, as Keras' plot_model (the default above 150 nodes)",
                 .type = T::flag});
    o.push_back({.name = "no-clusters", .help = "Do not draw name scopes as clusters", .type = T::flag});
    o.push_back({.name = "no-legend", .help = "Leave out the legend", .type = T::flag});
  }
  if (eval) {
    o.push_back({.name = "output-dir", .help = "Directory for the <output>.npy files (created if missing)",
                 .type = T::output_dir, .default_value = "."});
    o.push_back({.name = "dtype", .help = "Compute in f32 or f64 (default: f64 if every --input is float64, else f32)",
                 .type = T::choice, .choices = {"f32", "f64"}});
    o.push_back({.name = "random-inputs",
                 .help = "Draw every input not given from N(0, 1) (float64, from --seed) and save the draws "
                         "in <output-dir>/inputs/",
                 .type = T::flag});
  }
  if (gc) {
    o.push_back({.name = "tolerance", .help = "Largest max relative error that passes", .type = T::number,
                 .default_value = "1e-5", .min = sg::above(0)});
    o.push_back({.name = "eps", .help = "Finite-difference step", .type = T::number, .default_value = "1e-6",
                 .min = sg::above(0)});
    o.push_back({.name = "max-elements", .help = "Elements checked per value (spread evenly)", .type = T::integer,
                 .default_value = "64", .min = sg::at_least(1)});
  }
  return o;
}

void CliArgs::set_builtins(const sg::OptionValues& v) {
  const auto text = [&](const char* name, std::string& to) {
    if (v.has(name)) to = v.get_text(name);
  };
  const auto flag = [&](const char* name) { return v.has(name) && v.get_flag(name); };
  text("graph", graph);
  text("checkpoint", checkpoint);
  text("data-dir", data_dir);
  text("output", output);
  text("output-dir", output_dir);
  text("dtype", dtype);
  if (v.has("threads")) threads = int(v.get_int("threads"));
  if (v.has("seed")) seed = uint64_t(v.get_int("seed"));
  if (v.has("tolerance")) tolerance = v.get_number("tolerance");
  if (v.has("eps")) eps = v.get_number("eps");
  if (v.has("max-elements")) max_elements = v.get_int("max-elements");
  quiet = flag("quiet");
  check_numerics = flag("check-numerics");
  random_inputs = flag("random-inputs");
  backward = flag("backward");
  if (flag("ops") && flag("layers"))
    throw UsageError("--ops and --layers are two views of the graph: give one (without either, graphs of up to "
                     "150 nodes are drawn --ops, larger ones --layers)");
  view = flag("ops") ? "ops" : flag("layers") ? "layers" : "";
  clusters = !flag("no-clusters");
  legend = !flag("no-legend");
}

int list_models() {
  if (sg::models().empty()) {
    fmt::print("no models are registered\n");
    return 0;
  }
  size_t w = 0;
  for (auto& m : sg::models()) w = std::max(w, m.name.size());
  for (auto& m : sg::models()) {
    fmt::print("{:<{}}  {}\n", m.name, w, m.summary);
    if (!m.graphs.empty()) fmt::print("{:<{}}  graphs:   {}\n", "", w, join(m.graphs));
    fmt::print("{:<{}}  commands: {}\n", "", w, join(commands_of(m)));
  }
  return 0;
}

std::string general_help() {
  std::string s =
      "graph-run: build, evaluate, check, export, train and sample seqgraph models\n\n"
      "usage:\n"
      "  graph-run list\n"
      "  graph-run <command> <model> [options]    (or: graph-run <model> <command> [options])\n"
      "  graph-run <model> --help                 a model's graphs, commands and options\n"
      "  graph-run <command> <model> --help       a command's options\n"
      "  graph-run --version                      graph-run's version\n\n"
      "commands:\n";
  s += fmt::format("  {:<10} {}\n", "list", command_summary("list"));
  for (auto& c : all_commands()) s += fmt::format("  {:<10} {}\n", c, command_summary(c));
  // models' own commands, each with the models that have it, in first-seen order
  std::vector<std::pair<std::string, std::vector<std::string>>> own;
  for (auto& m : sg::models())
    for (auto& c : m.commands) {
      auto it = std::find_if(own.begin(), own.end(), [&](auto& o) { return o.first == c.name; });
      if (it == own.end()) it = own.insert(own.end(), {c.name, {}});
      it->second.push_back(m.name);
    }
  if (!own.empty()) {
    s += "\nmodels' own commands:\n";
    for (auto& [name, ms] : own) s += fmt::format("  {:<10} {}\n", name, join(ms));
  }
  s += "\nmodels: " + model_names() + "\n";
  s += "\nexit status: 0 success, 1 failure (or a failed gradcheck), 2 command-line error (a bad option "
       "value, a missing value, an unknown option, command or model)\n";
  return s;
}

std::string model_help(const Model& m) {
  std::string s = fmt::format("{}: {}\n\n", m.name, m.summary);
  s += fmt::format("usage: graph-run <command> {} [options]    (or: graph-run {} <command> ...)\n", m.name,
                   m.name);
  s += fmt::format("       graph-run <command> {} --help    (the command's options)\n\n", m.name);
  s += "commands:\n";
  const std::vector<std::string> cmds = commands_of(m);
  Rows commands;
  for (auto& c : cmds) {
    const sg::ModelCommand* own = m.find_command(c);
    commands.push_back({own && !own->usage.empty() ? c + " " + own->usage : c, command_summary(m, c)});
  }
  s += two_columns(commands);
  if (!m.graphs.empty()) {
    s += "\ngraphs (--graph, for eval, dot and gradcheck):\n";
    for (size_t i = 0; i < m.graphs.size(); ++i)
      s += fmt::format("  {}{}\n", m.graphs[i], i == 0 ? "  (default)" : "");
  }
  std::vector<std::string> model_cmds;
  for (auto& c : cmds)
    if (runs_model(m, c)) model_cmds.push_back(c);
  bool any_checkpoint = false;
  for (auto& c : model_cmds) {
    const sg::ModelCommand* own = m.find_command(c);
    any_checkpoint = any_checkpoint || !own || own->checkpoint;
  }
  if (!model_cmds.empty()) {
    s += fmt::format("\nmodel options ({}):\n", join(model_cmds));
    if (m.options.empty()) s += "  (none)\n";
    Rows options;
    for (auto& o : m.options)
      options.push_back({option_head(o), o.help + (o.commands.empty() ? "" : " (" + join(o.commands) + " only)")});
    const std::string ckpt = fmt::format("--checkpoint FILE (default {})", default_checkpoint(m));
    if (m.train || m.sample)
      options.push_back({ckpt, "train writes it; the other commands read it"});
    else if (any_checkpoint)
      options.push_back({ckpt, "the parameters to use"});
    s += two_columns(options);
  } else if (!m.options.empty()) {
    s += "\nmodel options: (none used by its commands)\n";
  }
  if (m.graphs.empty())
    s += "\ncommon options: --data-dir DIR, --seed INT (>= 0, default 0), --threads INT (1 to 4096, default 1),\n"
         "  --quiet; which a command takes: graph-run <command> " + m.name + " --help\n";
  else
    s += "\ncommon options: --threads INT (1 to 4096, default 1), --seed INT (>= 0, default 0), --quiet,\n"
         "  --checkpoint FILE, --data-dir DIR (train, sample); --check-numerics (train);\n"
         "  --input NAME=FILE.npy (eval, dot);\n"
         "  -o/--output FILE (dot); --output-dir DIR (eval);\n"
         "  which a command takes: graph-run <command> " + m.name + " --help\n";
  return s;
}

int run(const Model& m, const CliArgs& a) {
  check_command(m, a.command);
  if (const unsigned cores = std::thread::hardware_concurrency(); cores > 0 && unsigned(a.threads) > cores)
    fmt::print(stderr, "graph-run: warning: --threads {} is more than the {} core{} of this machine; it will be "
                       "slower, not faster\n", a.threads, cores, cores == 1 ? "" : "s");
  sg::set_threads(a.threads);
  sg::set_check_numerics(a.check_numerics);
  if (runs_model(m, a.command)) return cmd_model(m, a); // a model command replaces a built-in one
  if (a.command == "eval") return cmd_eval(m, a);
  if (a.command == "dot") return cmd_dot(m, a);
  if (a.command == "gradcheck") return cmd_gradcheck(m, a);
  if (a.command == "summary") return cmd_summary(m, a);
  throw UsageError(fmt::format("unknown command '{}'", a.command));
}

} // namespace graph_run
