#include "models/train/trainer.hpp"

#include "graph/dist.hpp"

#include "graph/errors.hpp"
#include "graph/op.hpp"

#include <cctype>
#include <csignal>
#include <cstring>
#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <set>
#include <stdexcept>
#include <string_view>

namespace sg::train {

namespace {

constexpr std::string_view kLoopPrefix = "loop/"; // loop tensors among the parameters
constexpr std::string_view kValuePrefix = "loop."; // loop values among the metadata

std::string capitalised(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

constexpr std::string_view kOptionPrefix = "option."; // run options among the metadata

// Ctrl-C: the handler only sets a flag and says, with write(2) (async-signal
// safe), what happens next; the second Ctrl-C gets the default action.
volatile std::sig_atomic_t g_interrupt = 0;
char g_interrupt_msg[160] = {};

extern "C" void on_sigint(int) {
  g_interrupt = 1;
  std::signal(SIGINT, SIG_DFL);
  [[maybe_unused]] auto n = ::write(STDERR_FILENO, g_interrupt_msg, std::strlen(g_interrupt_msg));
}

std::vector<std::string>& command_line() {
  static std::vector<std::string> argv;
  return argv;
}

// The command to continue an interrupted run: this one with --resume.
std::string resume_command() {
  const auto& argv = command_line();
  if (argv.empty()) return "the same train command with --resume";
  std::string s;
  bool has_resume = false;
  for (const auto& a : argv) {
    has_resume = has_resume || a == "--resume";
    const bool plain = !a.empty() && a.find_first_of(" \t'\"$`\\*?&;|<>()") == std::string::npos;
    s += (s.empty() ? "" : " ") + (plain ? a : "'" + a + "'");
  }
  return has_resume ? s : s + " --resume";
}

const std::string& meta_at(const std::map<std::string, std::string>& m, const std::string& key,
                           const char* what) {
  auto it = m.find(key);
  if (it == m.end())
    throw IoError(fmt::format("the checkpoint holds no {} '{}' to resume from", what, key));
  return it->second;
}

} // namespace

std::vector<ModelOption> loop_model_options(const std::string& steps_name, const std::string& unit,
                                            const std::string& steps, const std::string& save_every) {
  return {
      {.name = steps_name,
       .help = fmt::format("Train until this many {}s are done (a resumed run counts those before it)",
                           unit),
       .type = OptionType::integer,
       .default_value = steps,
       .min = at_least(1),
       .commands = {"train"}},
      {.name = "history",
       .help = fmt::format("Write the loss after every {} to this CSV file ({},loss)", unit, unit),
       .type = OptionType::output_file,
       .commands = {"train"}},
      {.name = "save-every",
       .help = fmt::format("Save the checkpoint every N {}s too (0: only at the end)", unit),
       .type = OptionType::integer,
       .default_value = save_every,
       .min = at_least(0),
       .commands = {"train"}},
      {.name = "resume",
       .help = "Continue the run saved in --checkpoint: same result as not stopping",
       .type = OptionType::flag,
       .commands = {"train"}},
  };
}

void set_command_line(std::vector<std::string> argv) { command_line() = std::move(argv); }

std::FILE* no_output() {
  static std::FILE* f = std::fopen("/dev/null", "w");
  return f;
}

struct Trainer::SigintGuard {
  struct sigaction saved {}, saved_term {}, saved_usr1 {};
  bool parallel = false;
  explicit SigintGuard(const std::string& unit, bool data_parallel) : parallel(data_parallel) {
    g_interrupt = 0;
    fmt::format_to_n(g_interrupt_msg, sizeof g_interrupt_msg - 1,
                     "\ngraph-run: interrupted: finishing this {}, then saving the checkpoint "
                     "(Ctrl-C again quits without saving)\n", unit);
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &saved);
    // A data-parallel rank: mpirun turns Ctrl-C into SIGTERM for every rank
    // (then SIGKILL a second later), and forwards SIGUSR1 (`kill -USR1
    // <mpirun>`: stop after this batch with a checkpoint, however long it takes)
    if (parallel) {
      sigaction(SIGTERM, &sa, &saved_term);
      sigaction(SIGUSR1, &sa, &saved_usr1);
    }
  }
  ~SigintGuard() {
    sigaction(SIGINT, &saved, nullptr);
    if (parallel) {
      sigaction(SIGTERM, &saved_term, nullptr);
      sigaction(SIGUSR1, &saved_usr1, nullptr);
    }
  }
};

LoopOptions LoopOptions::from(const RunArgs& a, const std::string& model, const std::string& unit,
                              const std::string& steps_name, bool data_parallel) {
  if (!data_parallel && dist::launched_size() > 1)
    throw OptionError(fmt::format(
        "{} trains one example per step in a loop of its own (stochastic gradient descent per {}): data "
        "parallelism does not apply. Run it without mpirun",
        model, unit));
  LoopOptions o;
  o.model = model;
  o.unit = unit;
  o.steps = a.get_int(steps_name);
  o.save_every = a.get_int("save-every");
  o.checkpoint = a.checkpoint;
  o.history = a.get_text("history");
  o.resume = a.get_flag("resume");
  o.quiet = a.quiet;
  o.seed = a.seed;
  // Everything but what a resumed run may change; output files by name (the
  // values do not carry their declared type).
  static const std::set<std::string> may_change{"history", "save-every", "resume", "patience", "save-best",
                                                "output", "o"};
  for (const auto& [name, value] : a.all())
    if (name != steps_name && !may_change.count(name)) o.run_options[name] = option_text(value);
  if (o.resume && o.checkpoint.empty())
    throw std::invalid_argument("--resume needs --checkpoint PATH, the run to continue");
  return o;
}

void LoopState::set(const std::string& key, double v) { values[key] = fmt::format("{:a}", v); }
void LoopState::set_u64(const std::string& key, uint64_t v) { values[key] = std::to_string(v); }

double LoopState::get_double(const std::string& key) const {
  const std::string& s = meta_at(values, key, "value");
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0')
    throw IoError(fmt::format("the checkpoint's loop value '{}' is '{}', not a number", key, s));
  return v;
}

uint64_t LoopState::get_u64(const std::string& key) const {
  const std::string& s = meta_at(values, key, "value");
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || s[0] == '-')
    throw IoError(fmt::format("the checkpoint's loop value '{}' is '{}', not a count", key, s));
  return v;
}

const Tensor& LoopState::tensor(const std::string& name) const {
  auto it = tensors.find(name);
  if (it == tensors.end())
    throw IoError(fmt::format("the checkpoint holds no loop tensor '{}{}' to resume from",
                              kLoopPrefix, name));
  return it->second;
}

Trainer::Trainer(LoopOptions opt, ParamStore& params) : opt_(std::move(opt)), params_(params) {
  // Say now, not after hours of training, that the checkpoint cannot be written there.
  if (!opt_.checkpoint.empty()) {
    const auto dir = std::filesystem::path(opt_.checkpoint).parent_path();
    if (!dir.empty() && !std::filesystem::is_directory(dir))
      throw IoError(fmt::format("cannot save the checkpoint '{}': there is no directory '{}'",
                                opt_.checkpoint, dir.string()));
    // A run that crashed while saving (kill -9, power cut) may have left its
    // temporary file: gone now, not at this run's first save (which may be hours away).
    remove_stray_temps(opt_.checkpoint);
  }
  if (opt_.resume) {
    if (!std::filesystem::exists(opt_.checkpoint))
      throw IoError(fmt::format("--resume: there is no checkpoint '{}' to continue", opt_.checkpoint));
    Checkpoint ck = load_checkpoint(opt_.checkpoint, opt_.model);
    auto where = [&](const std::string& what) {
      return fmt::format("--resume: checkpoint '{}' {}", opt_.checkpoint, what);
    };
    const auto& meta = ck.meta;
    if (!meta.count("step") || !meta.count("seed"))
      throw IoError(where("has no loop state (step, seed): it was not saved by a training run"));
    try {
      state_.step = std::stoll(meta.at("step"));
    } catch (const std::exception&) {
      throw IoError(where(fmt::format("has a malformed step '{}'", meta.at("step"))));
    }
    if (meta.at("seed") != std::to_string(opt_.seed))
      throw IoError(where(fmt::format("comes from a run with --seed {}; resume it with that seed "
                                      "(this run has --seed {})", meta.at("seed"), opt_.seed)));
    if (state_.step < 0 || state_.step > opt_.steps)
      throw IoError(where(fmt::format("is at {} {}, past the {} this run is to do", opt_.unit,
                                      state_.step, opt_.steps)));
    for (auto& [name, value] : opt_.run_options) // (a checkpoint older than run options has none)
      if (auto it = meta.find(std::string(kOptionPrefix) + name); it != meta.end() && it->second != value)
        throw IoError(where(fmt::format(
            "was trained with {0} {1}; this run has {0} {2}. A resumed run must repeat the options of "
            "the run it continues", (name.size() == 1 ? "-" : "--") + name,
            it->second.empty() ? "''" : it->second, value.empty() ? "''" : value)));
    for (auto& [k, v] : meta)
      if (k.starts_with(kValuePrefix)) state_.values[k.substr(kValuePrefix.size())] = v;
    ParamStore restored;
    for (auto& [name, t] : ck.params.all()) {
      if (name.starts_with(kLoopPrefix))
        state_.tensors[name.substr(kLoopPrefix.size())] = t;
      else
        restored.set(name, t);
    }
    ck.params = std::move(restored);
    restore_params(ck, params_, false);
    resumed_ = true;
    saved_ = state_.step;
  }
  next_ = state_.step;
  progress_ = std::make_unique<Progress>(opt_.steps, state_.step,
                                         progress_mode(opt_.quiet, opt_.out), opt_.out);
  if (!opt_.history.empty())
    history_ = std::make_unique<History>(opt_.history, opt_.unit, state_.step, opt_.metrics);
  sigint_ = std::make_unique<SigintGuard>(opt_.part.empty() ? opt_.unit : opt_.part, bool(opt_.agree));
}

Trainer::~Trainer() = default;

void Trainer::end_step(int64_t step, double loss, const std::vector<double>& metrics) {
  const int64_t done = step + 1;
  if (metrics.size() != opt_.metrics.size())
    throw std::logic_error(fmt::format("{}: {} metric values for {} metrics", opt_.model, metrics.size(),
                                       opt_.metrics.size()));
  metrics_ = metrics;
  next_ = done;
  parts_ = 0;
  part_what_ = "";
  if (history_) history_->add(step, loss, metrics);
  progress_->update(done, loss, metrics_text(" - "));
  const bool stop = opt_.agree ? opt_.agree(g_interrupt != 0) : g_interrupt != 0;
  if (stop && done < opt_.steps)
    interrupted(done, fmt::format("{}: interrupted after {} of {} {}s", opt_.model, done, opt_.steps, opt_.unit));
  if (opt_.save_every > 0 && done % opt_.save_every == 0 && done < opt_.steps) save(done);
}

bool Trainer::interrupt_requested() const { return g_interrupt != 0; }

void Trainer::interrupt_within(int64_t done, const std::string& where) {
  interrupted(done, fmt::format("{}: interrupted {}", opt_.model, where));
}

void Trainer::interrupted(int64_t done, const std::string& msg) {
  save(done);
  progress_->finish();
  if (opt_.checkpoint.empty()) throw Interrupted(msg + " (no --checkpoint: nothing saved)");
  throw Interrupted(
      fmt::format("{}; checkpoint {} holds it. Continue with:\n  {}", msg, opt_.checkpoint, resume_command()));
}

std::string Trainer::position() const {
  std::string s = fmt::format("{} {} of {}", opt_.unit, next_ + 1, opt_.steps);
  if (*part_what_) s += fmt::format(", {}", part_what_);
  if (parts_ > 0)
    s += fmt::format("{}{} {} of {}", *part_what_ ? " " : ", ", opt_.part.empty() ? "part" : opt_.part, part_ + 1, parts_);
  return s;
}

void Trainer::in_part(int64_t part, int64_t parts, const char* what) {
  part_ = part;
  parts_ = parts;
  part_what_ = what;
}

std::string Trainer::checkpoint_left() const {
  if (opt_.checkpoint.empty()) return "no --checkpoint: nothing was saved";
  if (saved_ < 0) return fmt::format("the checkpoint '{}' was not written", opt_.checkpoint);
  return fmt::format("the checkpoint '{}' is left as it was: {} {}{} done, the last good state", opt_.checkpoint,
                     saved_, opt_.unit, saved_ == 1 ? "" : "s");
}

void Trainer::stop_non_finite(const NumericError& e) {
  progress_->finish();
  throw e.with(fmt::format("{}: {}: ", opt_.model, position()), "\n  training stopped; " + checkpoint_left());
}

void Trainer::report(int64_t step, double loss, const std::string& more) {
  if (progress_->mode() == ProgressMode::quiet) return;
  std::string s = fmt::format("{}: {}, Loss: {:.6f}{} ({:.1f} s)\n", capitalised(opt_.unit), step, loss,
                              metrics_.empty() ? "" : ", " + metrics_text(", "), progress_->elapsed());
  progress_->print(s + more);
}

void Trainer::finish(double loss) { finish_at(opt_.steps, loss, {}); }

void Trainer::stop(int64_t done, double loss, const std::string& why) { finish_at(done, loss, why); }

void Trainer::save_copy(const std::string& path, int64_t done) { save(done, path); }

void Trainer::finish_at(int64_t done, double loss, const std::string& why) {
  const int64_t ran = done - first_step();
  const double t = progress_->elapsed();
  if (!opt_.checkpoint.empty()) save(done);
  std::string s = fmt::format("{}: {} {}s in {:.2f} s", opt_.model, ran, opt_.unit, t);
  if (ran > 0) s += fmt::format(" ({:.3g} ms/{})", 1e3 * t / double(ran), opt_.unit);
  if (!why.empty()) s += fmt::format(", stopped at {} {} of {}: {}", opt_.unit, done, opt_.steps, why);
  if (first_step() > 0) s += fmt::format(", resumed at {} {}", opt_.unit, first_step());
  s += fmt::format("; loss {:.4f}", loss);
  if (!opt_.checkpoint.empty()) s += "; checkpoint " + opt_.checkpoint;
  if (history_) s += "; history " + history_->path();
  progress_->finish(s);
}

std::string Trainer::metrics_text(const char* sep) const {
  std::string s;
  for (size_t i = 0; i < metrics_.size(); ++i)
    if (!opt_.history_only.count(opt_.metrics[i]))
      s += fmt::format("{}{}: {:.4f}", s.empty() ? "" : sep, opt_.metrics[i], metrics_[i]);
  return s;
}

void Trainer::save(int64_t done, const std::string& to) {
  const std::string& path = to.empty() ? opt_.checkpoint : to;
  if (path.empty() || !opt_.writes) return;
  LoopState s;
  s.step = done;
  for (auto& fill : fills_) fill(s);
  ParamStore out = params_;
  for (auto& [name, t] : s.tensors) out.set(std::string(kLoopPrefix) + name, t);
  // Never a checkpoint of NaN or inf: the watchdog checks each step's loss
  // and gradients, not what the updates make of them (an overflow).
  for (const auto& [name, t] : out.all()) {
    const int64_t at = t.dtype() == DType::f32 ? first_non_finite(static_cast<const float*>(t.raw()), t.size())
                                               : first_non_finite(static_cast<const double*>(t.raw()), t.size());
    if (at < 0) continue;
    progress_->finish();
    throw NumericError(
        fmt::format("{}: after {} {}, '{}' {} is {} at element {}: an update made it so (the loss and gradients "
                    "were finite); not saved to '{}'. --check-numerics finds the step and the node\n"
                    "  training stopped; {}",
                    opt_.model, opt_.unit, done, name, to_string(t.shape()), t.at(at), at, path, checkpoint_left()),
        0, name, op_name(Op::Variable));
  }
  std::map<std::string, std::string> meta{{"step", std::to_string(done)},
                                          {"seed", std::to_string(opt_.seed)},
                                          {"unit", opt_.unit}};
  for (auto& [k, v] : s.values) meta[std::string(kValuePrefix) + k] = v;
  for (auto& [k, v] : opt_.run_options) meta[std::string(kOptionPrefix) + k] = v;
  save_checkpoint(path, opt_.model, out, meta);
  if (to.empty()) saved_ = done;
}

void load_params(const std::string& path, const std::string& model, ParamStore& into,
                 std::map<std::string, std::string>* meta) {
  if (!std::filesystem::exists(path))
    throw IoError(fmt::format("there is no checkpoint '{}': train first (graph-run {} train "
                              "--checkpoint {})", path, model, path));
  Checkpoint ck = load_checkpoint(path, model);
  ParamStore params;
  for (auto& [name, t] : ck.params.all())
    if (!name.starts_with(kLoopPrefix)) params.set(name, t);
  ck.params = std::move(params);
  restore_params(ck, into, false);
  if (meta) *meta = ck.meta;
}

ParamStore load_for(const std::string& path, const std::string& model, const Graph& g,
                    std::map<std::string, std::string>* meta) {
  ParamStore store;
  load_params(path, model, store, meta);
  require_params(g, store, path);
  return store;
}

void require_params(const Graph& g, const ParamStore& params, const std::string& path) {
  std::vector<std::string> missing;
  for (NodeId id : g.nodes_of(Op::Variable))
    if (!params.contains(g.node(id).name)) missing.push_back(g.node(id).name);
  if (!missing.empty())
    throw IoError(fmt::format("checkpoint '{}' lacks the parameter(s) {}", path,
                              fmt::join(missing, ", ")));
}

void require_shapes(const Graph& g, const ParamStore& params, const std::string& path, const std::string& why) {
  std::vector<std::string> reshaped;
  for (NodeId id : g.nodes_of(Op::Variable)) {
    const Node& n = g.node(id);
    if (params.contains(n.name) && params.at(n.name).shape() != n.shape)
      reshaped.push_back(fmt::format("{} as {} where the graph needs {}", n.name, to_string(params.at(n.name).shape()),
                                     to_string(n.shape)));
  }
  if (!reshaped.empty())
    throw IoError(fmt::format("checkpoint '{}' holds {}{}", path, fmt::join(reshaped, ", "), why));
}

} // namespace sg::train
