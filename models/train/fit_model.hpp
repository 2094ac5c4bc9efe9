// A fit model's declaration, and the graph-run model it makes: a model file
// that trains with fit() declares its Spec, its data and its fit options,
// and its train, evaluate and predict commands (and summary, dot, eval,
// gradcheck of its graphs) are the framework's:
//
//   const ModelRegistrar registrar(fit::model({
//       .name = "jazz", .summary = "...",
//       .spec = [](const OptionValues&) { return spec; },
//       .data = [](const RunArgs& a) { return fit::Data{.train = std::make_shared<Windows>(...)}; },
//       .fit = [](const OptionValues&) { return fit::FitOptions{.epochs = 100, .batch_size = 60}; },
//       .graphs = {{"train", &spec, {{"batch", 2}}}},
//   }));
//
//   graph-run jazz train [--epochs N] [--validation-split F] [--patience N] ...
//       fit() on data.train, then the loss and metrics on every split of data.splits
//   graph-run jazz evaluate [--checkpoint jazz.ckpt]
//       the checkpoint's loss and metrics on data.train and every split; the
//       options of the run (data files, --version, ...) come from the checkpoint
//   graph-run jazz predict X=x.npy [--output-dir DIR]
//       every output of the prediction graph as DIR/<output>.npy
//
// A command the model declares itself (Declaration::commands) replaces the
// framework's of the same name (Emojify's `predict` reads sentences).
#pragma once

#include "models/model.hpp"
#include "models/train/fit.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sg::fit {

// One graph of the model for graph-run's summary, dot, eval and gradcheck:
// its Spec and the sizes of its symbolic dimensions unless given inputs say
// (a Spec without targets and optimizer is an inference graph: built_graph).
struct GraphDecl {
  std::string name;
  const Spec* spec = nullptr;
  Sizes sizes = {};
  // Inputs as constants of the graph unless the command gives one of them
  // (GloVe's pairs: random values are neither indices nor counts).
  Feeds constants = {};
  // Instead of spec: a graph of the model's own (rnn_step_by_step's).
  std::function<BuiltGraph(const Feeds& given, bool backward)> build = {};
};

struct Declaration {
  std::string name, summary;
  // The model; the run's options may choose it (Emojify's --version) or
  // shape it (GloVe's --dim, --lr).
  std::function<Spec(const OptionValues&)> spec = {};
  std::function<Data(const RunArgs&)> data = {};
  // Keras' fit arguments (epochs when --epochs is not given, batch size, ...).
  std::function<FitOptions(const OptionValues&)> fit = {};
  // The default of --epochs: a number is the option's default (FitOptions::epochs
  // is then not used); a text says in --help what FitOptions::epochs will be.
  std::string epochs_default = "10";
  std::string save_every = "0"; // the default of --save-every
  std::vector<GraphDecl> graphs = {}; // the first is the default
  std::vector<ModelOption> options = {}; // the model's own (those of `train` are run options)
  std::vector<ModelCommand> commands = {};
  std::function<int(const RunArgs&)> sample = {};
  // Runs when the Trainer exists (a header line, loop state of the model's own).
  std::function<void(const RunArgs&, const Data&, train::Trainer&)> start = {};
  // After training, with the trained parameters (GloVe writes its vectors).
  std::function<void(const RunArgs&, const Data&, const ParamStore&)> trained = {};
  // evaluate's lines after the loss and metrics (a confusion matrix, say).
  std::function<void(const RunArgs&, const Data&, ParamStore&)> report = {};
};

// The graph-run model of a declaration.
Model model(Declaration d);

// `m` with graph-run's view of these graphs (its graphs and build, as
// fit::model gives them), for a model with a loop of its own (Dinosaurus).
Model with_graphs(Model m, std::vector<GraphDecl> graphs);

// The options a checkpoint's run was trained with, as `args` would hold
// them for `train`: each model option of `train` that `args` does not give
// takes the checkpoint's value (LoopOptions::run_options), else its default.
// `meta` is the checkpoint's metadata.
RunArgs run_args_of(const std::vector<ModelOption>& options, const RunArgs& args,
                    const std::map<std::string, std::string>& meta);

// A trained run, read back from its checkpoint (given.checkpoint) for
// evaluate, predict, or a command of the model's own: its parameters, the
// options it was trained with (run_args_of), and the data's fixed sizes it saved.
struct FromCheckpoint {
  RunArgs args;
  ParamStore params;
  std::optional<Sizes> sizes; // none in a checkpoint older than saving them
  std::string path;
  // What an IoError says when a graph's parameter is not in the checkpoint's
  // shape: the checkpoint's sizes, the run options given that are not the
  // checkpoint's, and what to do.
  std::string why;
  // `net` runs on these parameters: it requires each from the checkpoint
  // (Network::require_checkpoint), in the checkpoint's shape.
  void require(Network& net) const { net.require_checkpoint(path, why); }
};
// IoError if there is no checkpoint (saying how to make one) or it is another
// model's. `options`: the model's (those of `train` are run options).
FromCheckpoint from_checkpoint(const std::string& model, const std::vector<ModelOption>& options,
                               const RunArgs& given);

// Keras' categorical_accuracy: the fraction of rows whose argmax along `axis`
// is the same in y_true and y_pred (a scalar, for Net::metrics).
Value categorical_accuracy(Value y_true, Value y_pred, int64_t axis = -1);

} // namespace sg::fit
