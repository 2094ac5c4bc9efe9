// Keras' compile / fit / evaluate / predict, written once for every model.
//
// A model declares what it computes and nothing else:
//
//   const fit::Spec spec{
//       .name = "jazz", .dtype = DType::f32,
//       .inputs = {{"X", {fit::batch, 30, fit::dim("n_values")}}},
//       .targets = {{"Y", {30, fit::batch, fit::dim("n_values")}}},
//       .build = [](fit::Net& n) {          // the graph for one set of sizes
//         ... layers on n.in("X") ...
//         n.outputs["y_hat"] = y_hat;       // what predict returns
//         n.loss = ...;                     // a scalar, from n.in("Y")
//       },
//       .optimizer = fit::adam({.lr = 0.01, .decay = 0.01}),
//   };
//
// and the framework builds a graph per concrete size on first use (a size
// is a symbolic dimension of the declared inputs: the batch, the time steps,
// the vocabulary), compiles it, caches the plan, feeds it by name, and
// trains it with Keras' fit semantics (fit(), below) through train::Trainer
// (progress, history, checkpoints, resume, Ctrl-C). Dropout plans' run
// counters are saved and restored with the run, so a resumed run is bitwise
// the uninterrupted one.
#pragma once

#include "autodiff/optimizers.hpp"
#include "graph/dist.hpp"
#include "graph/graph.hpp"
#include "graph/plan.hpp"
#include "models/options.hpp"
#include "models/train/shapes.hpp"
#include "models/train/trainer.hpp"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace sg::fit {

enum class Mode : uint8_t { train, evaluate, predict };

// What a model's build function fills for one set of sizes.
struct Net {
  std::unique_ptr<Graph> g = std::make_unique<Graph>();
  Sizes sizes;
  Mode mode = Mode::predict;
  uint64_t seed = 0;                   // the run's --seed (for the graph's random ops)
  std::map<std::string, Value> inputs; // the declared inputs (and targets, unless predicting)
  // filled by the model:
  std::map<std::string, Value> outputs; // what predict returns, by name
  Value loss;                           // a scalar (train, evaluate)
  std::map<std::string, Value> metrics; // scalars: means over the batch, e.g. accuracy

  Value in(const std::string& name) const; // throws naming the declared inputs
  int64_t size(const std::string& symbol) const;
  bool training() const { return mode == Mode::train; }
};

// A model's optimizer: minimize() on the loss; `schedule`, when given (the
// command line's --lr-schedule), replaces the optimizer's own learning-rate
// schedule (and Adam's legacy decay).
using Optimizer = std::function<TrainOps(Value loss, const std::vector<Value>& params,
                                         const std::optional<LRSchedule>& schedule)>;
Optimizer adam(Adam a);
Optimizer sgd(SGD s);
Optimizer adagrad(AdaGrad a);

struct Spec {
  std::string name = {};
  DType dtype = DType::f32;
  std::vector<InputDecl> inputs = {};  // fed to every graph
  std::vector<InputDecl> targets = {}; // fed in training and evaluation only
  std::function<void(Net&)> build = {};
  Optimizer optimizer = {};
  std::vector<std::string> metrics = {}; // names build() sets in Net::metrics, in report order
  // Of `metrics`, those kept for the history file (--history) and left off
  // the progress bar, the report lines and the summaries (ten per-position
  // accuracies would drown the line); a model's report can print them.
  std::vector<std::string> history_only = {};
  // A stateful model's (input, output) pairs: the output of one training or
  // evaluation step is fed as the input of the next (zeros at first), as
  // Keras' stateful RNNs carry their state from batch to batch; saved with
  // the run. The inputs are declared in `inputs` but not fed by datasets.
  std::vector<std::pair<std::string, std::string>> carried = {};
};

// The sizes of `feeds` under `decls` (each declared input must be fed; a
// fixed axis must match; a symbol must have one value across inputs; a sum
// axis binds its one symbol no other axis shows, and must add up):
// std::invalid_argument naming the input, axis and sizes otherwise.
Sizes sizes_of(const std::vector<InputDecl>& decls, const Feeds& feeds);

// The graph of `spec` for these sizes (every symbolic dimension of its
// inputs, and of its targets unless predicting), built by spec.build; its
// random ops' streams from `seed`. Network compiles these; a sampling loop
// runs the predict graph of a one-step spec in a Plan of its own. A
// declared input in `constants` is a constant of the graph, of that value
// (its shape must be the declared one), instead of an input.
// A data-parallel rank's part of a global batch: rows [offset, offset +
// rows) of `global` (global 0: no shard, the whole batch; rows 0: no
// example, one run with weight 0; Graph::shard_rows).
struct Shard {
  int64_t offset = 0, rows = 0, global = 0;
};
// With a `shard`, the graph of that rank's part of the batch whose "batch"
// size is shard.global: its random ops draw what that graph's would, on
// the shard's rows (Graph::shard_rows).
Net build(const Spec& spec, const Sizes& sizes, Mode mode = Mode::predict, uint64_t seed = 0,
          const Feeds& constants = {}, const Shard& shard = {});

struct Data; // below

// A model's compiled graphs over one parameter store: a plan per (mode, sizes),
// built on first use.
class Network {
public:
  Network(const Spec& spec, ParamStore& params, uint64_t seed);
  ~Network();
  // Sizes no input shows (the vocabulary of a frozen embedding): given to
  // every graph beside those read off the feeds.
  void set_sizes(Sizes fixed) { fixed_ = std::move(fixed); }
  // Parameters come from this checkpoint: a graph needing one it lacks, or
  // holds in another shape, is an IoError naming it (and its sizes, then
  // `why`), not a fresh random initialisation (evaluate, predict).
  void require_checkpoint(std::string path, std::string why = {}) {
    checkpoint_ = std::move(path);
    checkpoint_why_ = std::move(why);
  }
  // The data's sizes (set_sizes) and the weights they give (Data::weights)
  // where the parameters lack them, in the spec's dtype.
  void set_data(const Data& data);
  // A learning-rate schedule in place of the optimizer's own (before the first step).
  void set_schedule(std::optional<LRSchedule> s) { schedule_ = s; }
  // Data-parallel training over `group` (before the first step; a group of
  // one process changes nothing): every training graph sums its gradients
  // across the ranks (allreduce_gradients, in buckets of `bucket_bytes`),
  // each rank's weighted by set_shard_weight's share, before the optimizer.
  void set_data_parallel(dist::Group& group, int64_t bucket_bytes = kBucketBytes);
  bool data_parallel() const { return group_ != nullptr; }
  dist::Group* group() const { return group_; }
  // The part of a global batch the next train_step trains on (its rows
  // and their offset in the batch), and its weight in the gradients' sum
  // (its examples over the batch's; 1 for a summed loss).
  void set_shard(Shard s, double weight) {
    shard_ = s;
    shard_weight_ = weight;
  }
  static constexpr int64_t kBucketBytes = 1 << 20;
  ParamStore& params() { return params_; }

  struct Result {
    double loss = 0;
    std::vector<double> metrics; // in Spec::metrics order
  };
  Result train_step(const Feeds& batch);    // one optimizer step; the loss before it
  Result evaluate_step(const Feeds& batch); // no update, inference behaviour
  Feeds predict(const Feeds& inputs);
  // Compiles the plan of `mode` for the sizes of `feeds` now (creating the
  // parameters it lacks), without running it: a benchmark's untimed set-up,
  // a command's warm-up. Returns its statistics.
  PlanStats prepare(Mode mode, const Feeds& feeds);

  // A graph for these sizes (graph-run's dot, eval, summary, gradcheck).
  Net build(const Sizes& sizes, Mode mode) const;
  // The run counters of the training plans (their dropout draws), for the loop state.
  std::map<std::string, uint64_t> runs() const;
  void set_runs(const std::map<std::string, uint64_t>& runs); // applied as plans are compiled

  const Spec& spec() const { return spec_; }
  // The numeric watchdog. A training step whose loss, metrics or gradients
  // are not finite stops before its updates (a check_finite guard in every
  // training plan: the parameters stay as the step found them), and so does
  // an evaluation step whose loss or metrics are not; with --check-numerics
  // (sg::set_check_numerics), a step any of whose values is not. The step is
  // then run again node by node (Plan::first_non_finite) and a NumericError
  // names the first node that computed a non-finite value; it goes to this
  // handler (fit::track makes it the Trainer's stop_non_finite: the step
  // and the checkpoint left as it was), then is thrown.
  void on_non_finite(std::function<void(const NumericError&)> f) { on_non_finite_ = std::move(f); }
  // The carried state (Spec::carried), by input name; empty until the first step.
  const Feeds& carried() const { return carried_; }
  void set_carried(Feeds state) { carried_ = std::move(state); }

private:
  struct Compiled;
  Compiled& compiled(Mode mode, const Feeds& feeds);
  void feed(Compiled& c, const Feeds& feeds) const;
  Result run(Mode mode, const Feeds& feeds);
  [[noreturn]] void non_finite(Compiled& c, const NumericError& e);

  const Spec& spec_;
  ParamStore& params_;
  uint64_t seed_;
  std::map<std::string, std::unique_ptr<Compiled>> plans_; // by "<mode>:<sizes>"
  std::map<std::string, uint64_t> restored_runs_;
  Feeds carried_;
  Sizes fixed_;
  std::optional<LRSchedule> schedule_;
  std::string checkpoint_, checkpoint_why_;
  std::function<void(const NumericError&)> on_non_finite_;
  dist::Group* group_ = nullptr;
  int64_t bucket_bytes_ = kBucketBytes;
  Shard shard_;
  double shard_weight_ = 1;
};

// Examples by index; a batch of them as feeds (padded and masked as the model needs).
struct Dataset {
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  virtual Feeds batch(std::span<const int64_t> indices) const = 0;
  // Identifies the examples, for resume (a resumed run must see the same data).
  virtual uint64_t fingerprint() const = 0;
  // Example i's length in steps, for FitOptions::bucket (0: lengths do not vary).
  virtual int64_t length(int64_t i) const {
    (void)i;
    return 0;
  }
};

// A metric of a dataset that no graph computes: trigger word's detection F1
// reads whole predicted tracks. fit reports it on the validation data every
// epoch (the column val_<name>, after the graph's val_ metrics), and train and
// evaluate on every split after the loss and metrics.
struct DataMetric {
  std::string name;
  std::function<double(Network&, const Dataset&)> compute;
};

struct FitOptions {
  int64_t epochs = 10;                   // when the command line does not say (fit::model's train)
  int64_t batch_size = 32;               // as Keras: the last batch of an epoch may be smaller
  bool shuffle = true;                   // each epoch's order from (seed, model, epoch)
  const Dataset* validation = nullptr;   // its loss and metrics every epoch (val_loss, val_<metric>)
  int64_t report_every = 10;             // a report line after epoch 1 and every N epochs
  // The loss is a sum over the batch's examples (GloVe's cost), not a mean:
  // the epoch's loss is then the batches' sum over the number of examples.
  bool summed_loss = false;
  // Called after each epoch with its loss and metrics (fit_columns order), as a Keras callback.
  std::function<void(int64_t epoch, const Network::Result&)> on_epoch = {};
  // Keras' callbacks, on val_loss when there is validation data, else on the loss:
  int64_t patience = 0;    // EarlyStopping(patience): stop after this many epochs without a better one (0: off)
  std::string save_best = {}; // ModelCheckpoint(save_best_only): the best epoch's checkpoint, here ("": off)
  // Keras' validation_split: the last fraction of the examples (before any
  // shuffling) held out as validation data (fit::train only; 0: none).
  double validation_split = 0;
  std::vector<DataMetric> data_metrics = {};
  // Batches of similar length (tf.data's bucket_by_sequence_length,
  // torchtext's BucketIterator): each epoch's order is cut into pools of
  // `bucket` batches, each pool sorted by Dataset::length (stable: ties keep
  // the drawn order) and cut into batches, and the epoch's batches are
  // shuffled (with shuffle). A dataset that pads a batch to its longest
  // example then computes about its real steps. 0: Keras' batches.
  int64_t bucket = 0;
  // Data-parallel runs (Network::set_data_parallel): compare every rank's
  // parameter checksum after every this many batches (0: after every epoch
  // only); a difference stops the run naming the ranks.
  int64_t check_replicas_every = 0;
};

// Rank `rank` of `ranks`' part of a global batch: a contiguous slice, the
// first (size % ranks) ranks one example more (may be empty).
std::span<const int64_t> shard(std::span<const int64_t> batch, int rank, int ranks);

// The train options of a fit model, for its Model::options: --validation-split,
// --patience, --save-best, --lr-schedule, --lr-decay-rate, --lr-decay-steps
// (fit::train reads them).
std::vector<ModelOption> fit_options();

// Keras' fit(shuffle, batch_size): the order of the n examples in `epoch`
// (with shuffle, a permutation drawn from (seed, "<model>/shuffle", epoch)
// alone, so a resumed run draws what an uninterrupted one draws), cut into
// batches of batch_size, the last one smaller (60 -> 32 + 28).
std::vector<int64_t> epoch_order(int64_t n, bool shuffle, uint64_t seed, const std::string& model, int64_t epoch);
std::vector<std::vector<int64_t>> epoch_batches(int64_t n, int64_t batch_size, bool shuffle, uint64_t seed,
                                                const std::string& model, int64_t epoch);
// The batches fit trains `data` on in `epoch`: those above, or with
// opt.bucket, batches of similar length (FitOptions::bucket); a function of
// (seed, model, epoch) and the lengths alone.
std::vector<std::vector<int64_t>> epoch_batches(const Dataset& data, const FitOptions& opt, uint64_t seed,
                                                const std::string& model, int64_t epoch);

// The metric columns fit reports: the spec's metrics, then val_loss and
// val_<metric> when there is validation data (then val_<name> of each data metric).
std::vector<std::string> fit_columns(const Spec& spec, bool validation, const std::vector<DataMetric>& data = {});

// The examples [begin, end) of `data`, as a dataset.
class Subset : public Dataset {
public:
  Subset(const Dataset& data, int64_t begin, int64_t end);
  int64_t size() const override { return end_ - begin_; }
  Feeds batch(std::span<const int64_t> indices) const override;
  uint64_t fingerprint() const override;
  int64_t length(int64_t i) const override { return data_.length(begin_ + i); }

private:
  const Dataset& data_;
  int64_t begin_, end_;
};

// What a model trains and evaluates on (read from its files by the model).
struct Data {
  std::shared_ptr<const Dataset> train;
  // Evaluated after training and by `evaluate`, by name ("test", ...).
  std::vector<std::pair<std::string, std::shared_ptr<const Dataset>>> splits = {};
  // Keras' validation_data: evaluated after every epoch (val_loss,
  // val_<metric>) and after training; --validation-split cannot be given with it.
  std::shared_ptr<const Dataset> validation = {};
  std::vector<std::string> notes = {}; // a line each, printed before training and by evaluate
  Sizes sizes = {};   // sizes the data fix and no input shows (Network::set_sizes)
  // Keras' layer.set_weights before fit: parameters the model starts from
  // (a pre-trained embedding), by name; a resumed run keeps the checkpoint's.
  Feeds weights = {};
};

// Keras' fit over the Trainer's epochs (its first_step() .. steps()): each
// epoch the examples in a seeded order, cut into batches; the epoch's loss
// and metrics are the batches' weighted by their sizes (Keras' epoch
// averages). Saves the data fingerprint and the plans' run counters in the
// loop state, and checks the fingerprint on resume. Stops early (patience)
// and saves the best epoch (save_best) as FitOptions says; finishes the
// Trainer (its last checkpoint and summary line). Returns the last epoch's
// loss. The Trainer must have been made with metrics = fit_columns(...).
double fit(Network& net, const Dataset& data, train::Trainer& tr, uint64_t seed, const FitOptions& opt = {});

// Keras' model.fit(verbose=0) on `data` (its sizes and weights), away from
// the command line: `epochs` epochs of fit() with no checkpoint, history or
// output; `params` keeps the trained parameters and the optimizer's slots.
// Returns each epoch's loss (for tests).
std::vector<double> fit_quietly(const Spec& spec, ParamStore& params, const Data& data, FitOptions opt,
                                int64_t epochs, uint64_t seed);

// Saves what a resumed run of `net` needs beyond the parameters in the
// Trainer's loop state (the training plans' run counters, the carried
// state) and restores it when the Trainer resumed. fit() calls it; a model
// with a loop of its own (Dinosaurus) calls it before its first step.
void track(Network& net, train::Trainer& tr);

// Loss and metrics over a whole dataset, in batches (example-weighted means;
// with summed_loss, the batches' summed losses over the number of examples).
Network::Result evaluate(Network& net, const Dataset& data, int64_t batch_size = 32, bool summed_loss = false);

// graph-run's train command for a fit model: the loop options of
// train::loop_model_options("epochs", ...) and --checkpoint, --seed, --quiet
// from `args`, on data.train (its sizes and weights); `start` runs once the
// Trainer exists (a header line, more loop state); the trained parameters
// and the last epoch's loss are returned.
// The --lr-schedule of `args` (none if not given): std::invalid_argument
// naming the option when a schedule lacks its --lr-decay-rate.
std::optional<LRSchedule> schedule_option(const OptionValues& args);

struct TrainRun {
  ParamStore params;
  double loss = 0;
  int64_t examples = 0; // trained on in this run (epochs run x examples)
  double seconds = 0;   // fit's time
};
TrainRun train(const RunArgs& args, const Spec& spec, const Data& data, const FitOptions& opt,
               const std::function<void(train::Trainer&)>& start = {});

// graph-run's view of a fit model's training graph (eval, dot, gradcheck,
// summary): sizes read off the `given` inputs where they are declared, else
// `defaults`; inputs and targets, the outputs, the loss and metrics,
// differentiable w.r.t. the parameters and the carried inputs (states); with
// `backward`, the gradients and the optimizer's updates too. A Spec without
// targets and optimizer is an inference graph (a sampling step): its
// predict graph, the outputs alone, differentiable w.r.t. its parameters and
// inputs (`backward` adds nothing). Unless one of them is given, the inputs
// in `constants` are those constants (their sizes read off them): GloVe's
// pairs, which random inputs cannot stand for.
BuiltGraph built_graph(const Spec& spec, const Feeds& given, const Sizes& defaults, bool backward,
                       const Feeds& constants = {});

} // namespace sg::fit
