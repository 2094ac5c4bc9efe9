// What a model file provides to graph-run: its name, the graphs it builds,
// its options, and (where it has them) train / sample commands. Model files
// register themselves with a static `ModelRegistrar`.
#pragma once

#include "graph/graph.hpp"
#include "graph/tensor.hpp"
#include "models/options.hpp"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sg {

// A built graph and what graph-run does with it.
struct BuiltGraph {
  std::unique_ptr<Graph> graph;
  // Values written by `eval` as <name>.npy, each named as the file.
  std::vector<std::pair<std::string, Value>> outputs;
  // Values `gradcheck` differentiates w.r.t. (inputs or parameters).
  std::vector<Value> differentiable;
};

// The command line of train / sample / a model command as a model sees it:
// the values of the command's model options (checked against their
// declarations when graph-run parsed the line; defaults filled in), read with
// get_int / get_number / get_text / get_flag, and graph-run's own options.
// Files a model reads or writes besides the checkpoint are model options of its own.
struct RunArgs : OptionValues {
  std::string command;           // train | sample | a ModelCommand's name
  std::vector<std::string> args; // a model command's positional arguments
  std::string checkpoint;        // default: <model>.ckpt
  std::string data_dir;          // --data-dir as given ("" = look, see data_dir())
  uint64_t seed = 0;
  int threads = 1;
  bool quiet = false;
};

// A command of the model's own: `graph-run <model> <name> ARGS... [options]`
// (or `graph-run <name> <model> ...`). Its options are the model's options that
// apply to it (ModelOption::commands names it, or is empty), plus --data-dir,
// --seed, --threads, --quiet and, where `checkpoint` is set, --checkpoint.
// A command named like a built-in one (eval, dot, gradcheck, train, sample)
// replaces the built-in for this model.
struct ModelCommand {
  std::string name, summary;
  std::string usage;    // the positional part, e.g. "W1 W2" or "SENTENCE..."
  int min_args = 0, max_args = 0; // positional count; max_args -1 = unbounded
  std::function<int(const RunArgs&)> run = {};
  bool checkpoint = true; // takes --checkpoint (default <model>.ckpt)
};

struct Model {
  std::string name;
  std::string summary;
  std::vector<ModelOption> options = {};
  std::vector<std::string> graphs = {}; // names for --graph; the first is the default
  // Builds graph `graph_name`. Shapes come from the given inputs where the
  // model can read them off, otherwise from defaults. `backward` adds the
  // gradient nodes (for `dot --backward`).
  std::function<BuiltGraph(const std::string& graph_name, const std::map<std::string, Tensor>& inputs,
                           bool backward)>
      build = {};
  // Optional commands; graph-run offers only those a model has.
  std::function<int(const RunArgs&)> train = {}, sample = {};
  // The model's own commands (see ModelCommand).
  std::vector<ModelCommand> commands = {};
  const ModelCommand* find_command(const std::string& name) const;
};

void register_model(Model m);
const std::vector<Model>& models();
const Model* find_model(const std::string& name);

struct ModelRegistrar {
  explicit ModelRegistrar(Model m) { register_model(std::move(m)); }
};

// Where the course's data files are: --data-dir, else ./data, else ../shared/data.
std::string data_dir(const std::string& given);

} // namespace sg
