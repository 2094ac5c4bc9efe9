// Optimizers as graph transforms: minimize() differentiates a loss, clips the
// gradients if asked, and appends one update node per parameter (plus the
// optimizer's slot variables) to the same graph. Nothing runs here; a plan
// runs the updates as side effects:
//
//   TrainOps train = minimize(loss, all_params(g), Adam{.lr = 0.01});
//   Plan plan(g, store, {loss}, train.updates);
//   for (...) { plan.feed("x", x); plan.run(); }   // fetch(loss): pre-update loss
//
// Update nodes run after every other reader of what they update, so a run
// sees the old parameters everywhere (loss, gradients, other layers) and
// leaves the new ones in the ParamStore.
#pragma once

#include "graph/graph.hpp"

#include <vector>

namespace sg {

// Gradient clipping (0 = off), applied in Keras' order: global norm first,
// then by value.
struct Clip {
  double value = 0;       // each gradient elementwise into [-value, value]
  double global_norm = 0; // all gradients times c / max(||g||, c), ||g|| over all of them
                          // (TF clip_by_global_norm)
};

// A learning-rate schedule of the optimizer's step count (Keras'
// InverseTimeDecay, ExponentialDecay, step decay = exponential staircase):
// LRSchedule in ops/attrs.hpp. Helpers:
inline LRSchedule inverse_time_decay(double rate, double steps = 1, bool staircase = false) {
  return {ScheduleKind::inverse_time, rate, steps, staircase};
}
inline LRSchedule exponential_decay(double rate, double steps, bool staircase = false) {
  return {ScheduleKind::exponential, rate, steps, staircase};
}

// p -= lr_t * g. With a schedule, one scalar slot "sgd/iterations" counts the steps.
struct SGD {
  double lr = 0.01;
  Clip clip{};
  LRSchedule schedule = {};
};

// Keras 2 Adam: bias correction folded into the step size, the learning rate
// on `schedule`, or Keras' legacy decay: lr / (1 + decay * iterations) (the
// same as inverse_time_decay(decay); giving both is an error). Slots
// "<param>/adam_m", "<param>/adam_v" and one scalar "adam/iterations", all zeros.
struct Adam {
  double lr = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7, decay = 0;
  Clip clip{};
  LRSchedule schedule = {};
};

// a += g^2; p -= lr_t g / (sqrt(a) + epsilon), lr_t = schedule.at(lr, t) at
// step t (lr without a schedule). The GloVe paper trains with AdaGrad at lr
// 0.05; its reference code starts the accumulator at 1 (TF's default is 0.1,
// Keras' 0). Slot "<param>/adagrad_accum"; with a schedule, one scalar slot
// "adagrad/iterations" counts the steps, as SGD's.
//
// Row-sparse (sparse_rows, on by default): a parameter whose gradient is an
// embedding gather's (gather_grad(dy, indices), or add_n of several, after
// clipping) is updated by sparse_apply_adagrad, on the rows the batch names
// only: the same values bit for bit (a row no index names has a zero
// gradient, which leaves it unchanged), at a cost proportional to the batch,
// not the table. The dense (V, d) gradient in TrainOps::grads is then not
// computed unless fetched. With clipping on, a clipped gradient is no longer
// a gather_grad node, and the update is dense.
struct AdaGrad {
  double lr = 0.05, epsilon = 1e-8, initial_accumulator = 0;
  Clip clip{};
  bool sparse_rows = true;
  LRSchedule schedule = {};
};

struct TrainOps {
  std::vector<Value> grads;   // the gradients the updates apply (after clipping), per param
  std::vector<Value> updates; // update nodes: pass them to Plan as effects
  Value global_norm;          // ||g|| before clipping, when Clip::global_norm is on
};

// A non-scalar loss is summed (as tf.gradients does). `params` must be
// distinct Variables. Update and slot nodes are of kind `update`, in scope
// "sgd", "adam" or "adagrad" ("adam_1", ... for a second optimizer of a kind);
// clipping nodes are gradient nodes in scope "clip".
TrainOps minimize(Value loss, const std::vector<Value>& params, const SGD& opt);
TrainOps minimize(Value loss, const std::vector<Value>& params, const Adam& opt);
TrainOps minimize(Value loss, const std::vector<Value>& params, const AdaGrad& opt);

// The trainable parameters: every Variable except state created while a
// KindGuard(update) was live (optimizer slots, batch-norm moving statistics).
std::vector<Value> all_params(Graph& g);

// Clips `grads` as `clip` says (a no-op when both are 0); `norm`, if given,
// receives the global norm before clipping when that clipping is on.
std::vector<Value> clip_gradients(const std::vector<Value>& grads, const Clip& clip,
                                  Value* norm = nullptr);

} // namespace sg
