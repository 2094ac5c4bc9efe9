// The mechanics of a model's training loop, shared by every model that
// trains: the loop options graph-run offers (--iterations or --epochs,
// --history, --save-every, --resume), the progress display, the loss history,
// and checkpoints that hold the parameters AND the loop's state, so that a
// resumed run gives bitwise what an uninterrupted run gives.
//
// A model's train command reads:
//
//   train::Trainer tr(train::LoopOptions::from(args, "dinosaurus", "iteration", "iterations"), store);
//   // ... build graphs and compile plans now: they find the restored parameters
//   double smooth = tr.resumed() ? tr.state().get_double("smooth_loss") : initial;
//   tr.on_save([&](train::LoopState& s) { s.set("smooth_loss", smooth); s.tensors["a_prev"] = a; });
//   for (int64_t j = tr.first_step(); j < tr.steps(); ++j) {
//     ... run one step ...
//     tr.end_step(j, loss);                        // history, bar, --save-every
//     if (j % 2000 == 0) tr.report(j, loss, text);  // a permanent line (and samples)
//   }
//   tr.finish(loss);                               // checkpoint, summary line
//
// What a step draws at random must come from (seed, step) (graph/random.hpp,
// sampling.hpp) or from plans whose run counters the model saves in the loop
// state (Plan::runs / set_runs).
#pragma once

#include "graph/checkpoint.hpp"
#include "graph/graph.hpp"
#include "graph/params.hpp"
#include "graph/plan.hpp"
#include "models/model.hpp"
#include "models/train/history.hpp"
#include "models/train/progress.hpp"

#include <cstdio>
#include <stdexcept>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

namespace sg::train {

// The model options of the loop, for a Model's option list (train only):
//   --<steps_name> INT >= 1 (default `steps`), --history FILE (to write),
//   --save-every INT >= 0 (default `save_every`, 0 = only at the end),
//   --resume (a flag). graph-run checks the bounds when it parses the line.
std::vector<ModelOption> loop_model_options(const std::string& steps_name, const std::string& unit,
                                            const std::string& steps, const std::string& save_every);

struct LoopOptions {
  std::string model = {};         // written in checkpoints, checked when resuming
  std::string unit = "iteration"; // what a step is: "iteration" or "epoch"
  int64_t steps = 0;              // the run ends when this many steps are done
  int64_t save_every = 0;         // a checkpoint every this many steps (0: only at the end)
  std::string checkpoint = {};    // "" = none written
  std::string history = {};       // CSV file, "" = none
  bool resume = false;            // continue from `checkpoint`
  bool quiet = false;
  uint64_t seed = 0;              // a resumed run must use the seed of the checkpoint's run
  // The options that make the run what it is (data files, sizes, learning
  // rate...), saved in the checkpoint; a resume with another value of one is
  // refused, naming it. from() takes every model option of the train command
  // but those a resumed run may change (the step count, --history,
  // --save-every, --resume, --patience, output files such as --save-best).
  std::map<std::string, std::string> run_options = {};
  std::vector<std::string> metrics = {}; // names of the values end_step gets beside the loss
  // Of `metrics`, those written to the history only, not shown on the bar
  // and the report lines (the date translator's ten per-position accuracies).
  std::set<std::string> history_only = {};
  // What Ctrl-C waits for, if a step has parts the loop checks between
  // (fit: "batch", see Trainer::interrupt_within); "" = the step.
  std::string part = {};
  std::FILE* out = stdout;        // where the progress, the reports and the summary go
  // A data-parallel run (fit::train over several processes): `writes`
  // false on every rank but 0, which alone writes checkpoints; `agree`
  // turns this rank's Ctrl-C flag into the job's (whether any rank's is
  // set: a collective, called by every rank at every end_step), so that
  // every rank stops after the same step. Set, the Trainer also takes
  // SIGTERM and SIGUSR1 as Ctrl-C (mpirun's Ctrl-C and its forwarded signal).
  bool writes = true;
  std::function<bool(bool)> agree = {};

  // From a train command's arguments: --checkpoint, --quiet, --seed, and the
  // options of loop_model_options(steps_name, ...).
  // Under an MPI launcher with more than one process (dist::launched_size),
  // a loop that is not data-parallel (every loop but fit's) is refused:
  // OptionError saying so (graph-run exits 2).
  static LoopOptions from(const RunArgs& a, const std::string& model, const std::string& unit,
                          const std::string& steps_name, bool data_parallel = false);
};

// A run's state beyond its parameters: values saved as checkpoint metadata
// (doubles exactly, in hex) and tensors saved beside the parameters as
// "loop/<name>" (a hidden state carried from one step to the next).
struct LoopState {
  int64_t step = 0; // steps done
  std::map<std::string, std::string> values;
  std::map<std::string, Tensor> tensors;

  void set(const std::string& key, double v);
  void set_u64(const std::string& key, uint64_t v);
  // Throw IoError naming the key if it is missing or malformed.
  double get_double(const std::string& key) const;
  uint64_t get_u64(const std::string& key) const;
  const Tensor& tensor(const std::string& name) const;
};

// Thrown by Trainer::end_step after Ctrl-C (SIGINT): the step was finished
// and the checkpoint written; what() says how to resume. graph-run exits 130.
struct Interrupted : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// /dev/null, for LoopOptions::out of runs nobody watches (tests, library callers).
std::FILE* no_output();

// graph-run's command line, so that an interrupted run can say how to resume it.
void set_command_line(std::vector<std::string> argv);

// While a Trainer lives, Ctrl-C (SIGINT) asks it to stop after the current
// step: end_step then writes the checkpoint and throws Interrupted. A second
// Ctrl-C ends the process at once (the default action), without saving.
class Trainer {
public:
  // With opt.resume, reads the checkpoint into `params` and state(): IoError
  // if it is missing, of another model, from a run with another --seed, or
  // already past opt.steps. Construct the Trainer before compiling plans, so
  // that they find the restored parameters instead of initialising new ones.
  Trainer(LoopOptions opt, ParamStore& params);
  ~Trainer();

  const LoopOptions& options() const { return opt_; }
  int64_t first_step() const { return state_.step; }
  int64_t steps() const { return opt_.steps; }
  bool resumed() const { return resumed_; }
  const LoopState& state() const { return state_; }
  // Fills the model's part of the loop state before each checkpoint.
  // (Each call adds one: the model's and the framework's parts of the state.)
  void on_save(std::function<void(LoopState&)> fill) { fills_.push_back(std::move(fill)); }

  // Step `step` (0-based) is done with this loss (and options().metrics'
  // values): a history row, the bar, and a checkpoint if --save-every says so.
  void end_step(int64_t step, double loss, const std::vector<double>& metrics = {});
  // A permanent line "Iteration: 2000, Loss: 27.884160 (0.3 s)", then `more`.
  void report(int64_t step, double loss, const std::string& more = {});
  // After the last step: the final checkpoint and a summary line (printed
  // even when quiet), e.g. "dinosaurus: 22001 iterations in 9.4 s (0.43
  // ms/iteration), loss 22.7311; checkpoint dinosaurus.ckpt".
  void finish(double loss);
  // Within a step: after Ctrl-C, a loop whose steps have parts (fit's
  // batches) saves at the end of the current part: interrupt_within(done,
  // where) writes the checkpoint after `done` whole steps (the loop's
  // on_save fills say how far into the next one it got) and throws
  // Interrupted, "<model>: interrupted <where>; ...".
  bool interrupt_requested() const;
  [[noreturn]] void interrupt_within(int64_t done, const std::string& where);
  // Where the run is, for messages: "epoch 3 of 25, batch 2 of 12",
  // "iteration 1235 of 22001" (1-based, as the Ctrl-C messages count). A
  // loop whose steps have parts says which part runs: in_part(part
  // (0-based), parts, what: "" for "batch 2 of 12", or e.g. "validation").
  std::string position() const;
  void in_part(int64_t part, int64_t parts, const char* what = "");
  // A step's values were not finite (fit::Network's watchdog): throws `e`
  // with the model, the position and what became of the checkpoint (left
  // as it was: the last good one) in its message. graph-run exits 1.
  [[noreturn]] void stop_non_finite(const NumericError& e);
  // Ends the run after `done` steps, short of steps() (early stopping): the
  // checkpoint holds them, the summary says `why`.
  void stop(int64_t done, double loss, const std::string& why);
  // A checkpoint of the run as it is after `done` steps, written to `path`
  // (the best epoch so far, say); the run's own checkpoint is untouched.
  void save_copy(const std::string& path, int64_t done);
  Progress& progress() { return *progress_; }

private:
  void save(int64_t done, const std::string& to = {}); // to: another path than the checkpoint
  void finish_at(int64_t done, double loss, const std::string& why);
  [[noreturn]] void interrupted(int64_t done, const std::string& msg);
  std::string metrics_text(const char* sep) const; // "accuracy: 0.8750, val_loss: 0.5119"
  std::string checkpoint_left() const; // what a stopped run left: "the checkpoint 'x' is left as it was: ..."

  LoopOptions opt_;
  ParamStore& params_;
  LoopState state_;
  bool resumed_ = false;
  int64_t next_ = 0;   // the step running (0-based): position()
  int64_t part_ = 0, parts_ = 0;
  const char* part_what_ = "";
  int64_t saved_ = -1; // the steps the checkpoint holds, if this run wrote or resumed it
  std::vector<std::function<void(LoopState&)>> fills_;
  std::vector<double> metrics_; // the last step's
  std::unique_ptr<Progress> progress_;
  std::unique_ptr<History> history_;
  struct SigintGuard;
  std::unique_ptr<SigintGuard> sigint_;
};

// Reads a checkpoint of `model` into `into` (its parameters, not the loop
// state): for sampling and evaluation.
void load_params(const std::string& path, const std::string& model, ParamStore& into,
                 std::map<std::string, std::string>* meta = nullptr);
// The parameters of inference graph `g` from a checkpoint of `model`
// (load_params, then require_params): for sampling, evaluation, prediction.
// `meta`, if given, receives the checkpoint's metadata.
ParamStore load_for(const std::string& path, const std::string& model, const Graph& g,
                    std::map<std::string, std::string>* meta = nullptr);
// Throws IoError if a parameter of `g` is not in `params`, i.e. the
// checkpoint `path` they came from lacks it (a plan would otherwise
// initialise it at random).
void require_params(const Graph& g, const ParamStore& params, const std::string& path);
// Throws IoError if `params` (from the checkpoint `path`) hold a parameter of
// `g` in another shape than `g`'s: naming each such parameter and both
// shapes, then saying `why` (the sizes, the options that made them).
void require_shapes(const Graph& g, const ParamStore& params, const std::string& path, const std::string& why);

} // namespace sg::train
