// What a model file provides to graph-run: its name, the graphs it builds,
// its options, and (where it has them) train / sample commands. Model files
// register themselves with a static `ModelRegistrar`.
#pragma once

#include "graph/graph.hpp"
#include "graph/tensor.hpp"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sg {

struct ModelOption {
  std::string name;          // without dashes: "graph", "iterations"
  std::string help;
  std::string default_value; // "" = no default
  std::vector<std::string> choices = {}; // empty = free text
};

// A built graph and what graph-run does with it.
struct BuiltGraph {
  std::unique_ptr<Graph> graph;
  // Values written by `eval` as <name>.npy, each named as the file.
  std::vector<std::pair<std::string, Value>> outputs;
  // Values `gradcheck` differentiates w.r.t. (inputs or parameters).
  std::vector<Value> differentiable;
};

// The command line as a model sees it.
struct RunArgs {
  std::string command;                          // train | sample | eval | gradcheck | dot
  std::map<std::string, std::string> options;   // model options, defaults filled in
  std::map<std::string, Tensor> inputs;         // --input name=file.npy, loaded
  std::string checkpoint, output, output_dir, data_dir;
  uint64_t seed = 0;
  int threads = 1;
  bool quiet = false;
  const std::string& opt(const std::string& name) const;
  long long opt_int(const std::string& name) const;
  double opt_double(const std::string& name) const;
};

struct Model {
  std::string name;
  std::string summary;
  std::vector<ModelOption> options;
  std::vector<std::string> graphs; // names for --graph; the first is the default
  // Builds graph `graph_name`. Shapes come from the given inputs where the
  // model can read them off, otherwise from defaults. `backward` adds the
  // gradient nodes (for `dot --backward`).
  std::function<BuiltGraph(const std::string& graph_name, const std::map<std::string, Tensor>& inputs,
                           bool backward)>
      build;
  // Optional commands; graph-run offers only those a model has.
  std::function<int(const RunArgs&)> train, sample;
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
