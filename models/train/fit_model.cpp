#include "models/train/fit_model.hpp"

#include "graph/npy.hpp"
#include "ops/ops.hpp"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <fmt/format.h>
#include <stdexcept>

namespace sg::fit {

namespace fs = std::filesystem;

Value categorical_accuracy(Value y_true, Value y_pred, int64_t axis) {
  // 1 where the argmaxes agree: their difference is an integer, 0 or not
  return mean(in_range(argmax(y_pred, axis) - argmax(y_true, axis), -0.5, 0.5));
}

RunArgs run_args_of(const std::vector<ModelOption>& options, const RunArgs& args,
                    const std::map<std::string, std::string>& meta) {
  RunArgs r = args;
  for (const ModelOption& o : options) {
    if (!o.applies_to("train") || args.has(o.name)) continue;
    auto it = meta.find("option." + o.name);
    r.set(o.name, it != meta.end() && !it->second.empty() ? parse_option(o, it->second, false) : default_option(o));
  }
  return r;
}

namespace {

// What to say when a graph's parameter is not in the checkpoint's shape: the
// checkpoint's sizes, the run options given that are not the checkpoint's
// (the likely cause), and what to do.
std::string reshape_advice(const std::string& path, const std::vector<ModelOption>& options, const RunArgs& given,
                           const std::map<std::string, std::string>& meta) {
  std::string sizes, spellings, given_text, trained_text;
  for (auto& [key, value] : meta)
    if (key.starts_with("loop.size.")) sizes += fmt::format("{}{} = {}", sizes.empty() ? "" : ", ", key.substr(10), value);
  auto quoted = [](const std::string& v) { return "'" + v + "'"; };
  for (const ModelOption& o : options) {
    auto it = meta.find("option." + o.name);
    if (!o.applies_to("train") || !given.has(o.name) || it == meta.end()) continue;
    const std::string value = option_text(given.all().at(o.name));
    if (value == it->second) continue;
    const char* sep = given_text.empty() ? "" : ", ";
    spellings += sep + o.spelling();
    given_text += fmt::format("{}{} {}", sep, o.spelling(), quoted(value));
    trained_text += sep + (it->second.empty() ? "no " + o.spelling() + " (the default)"
                                              : o.spelling() + " " + quoted(it->second));
  }
  std::string why = sizes.empty() ? "" : fmt::format("; the checkpoint's sizes: {}", sizes);
  if (given_text.empty())
    return why + fmt::format(". This run gives no option the checkpoint's run did not, so the data files have changed "
                             "since '{}' was trained: train a new checkpoint on them", path);
  return why + fmt::format(". This run gives {}; the checkpoint was trained with {}: leave out {} to use what it "
                           "was trained with, or train a new checkpoint with {}", given_text, trained_text, spellings,
                           given_text);
}

} // namespace

FromCheckpoint from_checkpoint(const std::string& model, const std::vector<ModelOption>& options,
                               const RunArgs& given) {
  FromCheckpoint c; // load_params says when there is no checkpoint, and how to make one
  std::map<std::string, std::string> meta;
  train::load_params(given.checkpoint, model, c.params, &meta);
  c.args = run_args_of(options, given, meta);
  c.path = given.checkpoint;
  for (auto& [key, value] : meta) // the data's fixed sizes, as fit::train saved them
    if (key.starts_with("loop.size.")) {
      if (!c.sizes) c.sizes = Sizes{};
      (*c.sizes)[key.substr(10)] = std::stoll(value);
    }
  c.why = reshape_advice(c.path, options, given, meta);
  return c;
}

namespace {

// "loss 0.4521, accuracy 0.8750"
std::string result_text(const Spec& spec, const Network::Result& r) {
  std::string s = fmt::format("loss {:.6g}", r.loss);
  for (size_t i = 0; i < spec.metrics.size() && i < r.metrics.size(); ++i)
    if (std::find(spec.history_only.begin(), spec.history_only.end(), spec.metrics[i]) == spec.history_only.end())
      s += fmt::format(", {} {:.4f}", spec.metrics[i], r.metrics[i]);
  return s;
}

void print_splits(const Spec& spec, Network& net, const Data& data, const FitOptions& o) {
  auto line = [&](const std::string& name, const Dataset& d) {
    std::string s = result_text(spec, evaluate(net, d, o.batch_size, o.summed_loss));
    for (const DataMetric& m : o.data_metrics) s += fmt::format(", {} {:.4f}", m.name, m.compute(net, d));
    fmt::print("{}: {}\n", name, s);
    std::fflush(stdout); // each split as it is done: a large one takes a while
  };
  line("train", *data.train);
  if (data.validation) line("validation", *data.validation);
  for (auto& [name, d] : data.splits) line(name, *d);
}

FitOptions fit_options_of(const Declaration& d, const OptionValues& o) { return d.fit ? d.fit(o) : FitOptions{}; }

int train_command(const Declaration& d, const RunArgs& given) {
  RunArgs args = given;
  const FitOptions opt = fit_options_of(d, args);
  if (!args.has("epochs")) args.set("epochs", opt.epochs);
  const Spec spec = d.spec(args);
  const Data data = d.data(args);
  TrainRun run = train(args, spec, data, opt, [&](train::Trainer& tr) {
    if (tr.first_step() == 0 && tr.progress().mode() != train::ProgressMode::quiet)
      for (auto& line : data.notes) tr.progress().print(line);
    if (d.start) d.start(args, data, tr);
  });
  if (!args.quiet && run.seconds > 0)
    fmt::print("{}: {} examples in {:.2f} s: {:.0f} examples/s ({} thread{}, batches of {})\n", d.name, run.examples,
               run.seconds, double(run.examples) / run.seconds, threads(), threads() == 1 ? "" : "s", opt.batch_size);
  Network net(spec, run.params, args.seed);
  net.set_sizes(data.sizes);
  print_splits(spec, net, data, opt);
  if (d.trained) d.trained(args, data, run.params);
  return 0;
}

int evaluate_command(const Declaration& d, const RunArgs& given) {
  FromCheckpoint c = from_checkpoint(d.name, d.options, given);
  const Spec spec = d.spec(c.args);
  const Data data = d.data(c.args);
  Network net(spec, c.params, c.args.seed);
  c.require(net);
  net.set_sizes(data.sizes);
  if (!c.args.quiet) {
    fmt::print("{} from '{}'\n", d.name, given.checkpoint);
    for (auto& line : data.notes) fmt::print("{}\n", line);
  }
  print_splits(spec, net, data, fit_options_of(d, c.args));
  if (d.report) d.report(c.args, data, c.params);
  return 0;
}

int predict_command(const Declaration& d, const RunArgs& given) {
  FromCheckpoint c = from_checkpoint(d.name, d.options, given);
  const Spec spec = d.spec(c.args);
  Feeds feeds;
  for (const std::string& a : given.args) {
    const auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == a.size())
      throw std::invalid_argument(fmt::format("predict: '{}' is not NAME=FILE.npy", a));
    const std::string name = a.substr(0, eq);
    bool declared = false;
    for (const InputDecl& in : spec.inputs) declared = declared || in.name == name;
    if (!declared) {
      std::string names;
      for (const InputDecl& in : spec.inputs) names += (names.empty() ? "" : ", ") + in.name;
      throw std::invalid_argument(fmt::format("predict: {} has no input '{}'; its inputs: {}", d.name, name, names));
    }
    feeds[name] = load_npy(a.substr(eq + 1)).to(spec.dtype);
  }
  for (const InputDecl& in : spec.inputs)
    if (!feeds.count(in.name) && !std::any_of(spec.carried.begin(), spec.carried.end(),
                                              [&](auto& p) { return p.first == in.name; }))
      throw std::invalid_argument(fmt::format("predict: give the input {} as {}=FILE.npy", in.name, in.name));
  Network net(spec, c.params, c.args.seed);
  c.require(net);
  net.set_sizes(c.sizes ? *c.sizes : d.data(c.args).sizes); // the data are read only if the checkpoint lacks them
  const Feeds out = net.predict(feeds);
  if (out.empty()) throw std::invalid_argument(fmt::format("{} has no outputs to predict (only a loss)", d.name));
  const std::string dir = given.get_text("output-dir");
  fs::create_directories(dir);
  for (auto& [name, t] : out) {
    const std::string file = (fs::path(dir) / (name + ".npy")).string();
    save_npy(file, t);
    if (!given.quiet) fmt::print("{}  {}  -> {}\n", name, to_string(t.shape()), file);
  }
  return 0;
}

} // namespace

Model with_graphs(Model m, std::vector<GraphDecl> graphs) {
  m.graphs.clear();
  for (const GraphDecl& g : graphs) m.graphs.push_back(g.name);
  m.build = [name = m.name, graphs = std::move(graphs)](const std::string& graph, const Feeds& given, bool backward) {
    for (const GraphDecl& g : graphs)
      if (g.name == graph)
        return g.build ? g.build(given, backward) : built_graph(*g.spec, given, g.sizes, backward, g.constants);
    std::string names;
    for (const GraphDecl& g : graphs) names += (names.empty() ? "" : ", ") + g.name;
    throw std::invalid_argument(fmt::format("{} has no graph '{}'; it has: {}", name, graph, names));
  };
  return m;
}

Model model(Declaration d) {
  if (!d.spec || !d.data || d.graphs.empty())
    throw std::logic_error(fmt::format("fit model {}: a declaration needs spec, data and graphs", d.name));
  auto decl = std::make_shared<Declaration>(d);
  const bool number = !d.epochs_default.empty() && std::all_of(d.epochs_default.begin(), d.epochs_default.end(),
                                                               [](char c) { return c >= '0' && c <= '9'; });
  std::vector<ModelOption> options =
      train::loop_model_options("epochs", "epoch", number ? d.epochs_default : "", d.save_every);
  if (!number) options[0].help += fmt::format(" (default: {})", d.epochs_default);
  for (auto& o : fit_options()) options.push_back(o);
  options.insert(options.end(), d.options.begin(), d.options.end());
  decl->options = options;
  const bool own_predict = std::any_of(d.commands.begin(), d.commands.end(), [](auto& c) { return c.name == "predict"; });
  if (!own_predict)
    options.push_back({.name = "output-dir",
                       .help = "Where predict writes <output>.npy",
                       .type = OptionType::output_dir,
                       .default_value = ".",
                       .commands = {"predict"}});
  Model m = with_graphs({.name = d.name, .summary = d.summary, .options = options}, d.graphs);
  m.train = [decl](const RunArgs& a) { return train_command(*decl, a); };
  m.sample = d.sample;
  m.commands = d.commands;
  auto add = [&](ModelCommand c) {
    if (!m.find_command(c.name)) m.commands.push_back(std::move(c));
  };
  add({.name = "evaluate",
       .summary = "the loss and metrics of a trained model (--checkpoint) on its training data and every split",
       .usage = "",
       .run = [decl](const RunArgs& a) { return evaluate_command(*decl, a); }});
  add({.name = "predict",
       .summary = "the outputs of a trained model for inputs given as .npy files, written as <output>.npy",
       .usage = "NAME=FILE.npy...",
       .min_args = 1,
       .max_args = -1,
       .run = [decl](const RunArgs& a) { return predict_command(*decl, a); }});
  return m;
}

} // namespace sg::fit
