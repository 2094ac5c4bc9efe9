// "Neural Machine Translation with Attention" (Sequence Models, week 3): human
// dates ("tuesday july 10 2007", "3 may 1979", "10.07.07") -> ISO dates
// ("2007-07-10"), the course's model exactly (its Keras code, below as ours):
//
//   X (Tx = 30, 37 one-hot) -> Bidirectional(LSTM(n_a = 32, return_sequences)) -> a (Tx, 64)
//   for each of the Ty = 10 output steps, with s⟨0⟩ = c⟨0⟩ = 0:
//     context⟨t⟩ = one_step_attention(a, s⟨t−1⟩)            (1, 64)
//     s⟨t⟩, c⟨t⟩ = post-attention LSTM(n_s = 64)(context⟨t⟩, [s⟨t−1⟩, c⟨t−1⟩])
//     ŷ⟨t⟩ = Dense(11, softmax)(s⟨t⟩)
//   one_step_attention: [a, RepeatVector(Tx)(s_prev)] (Tx, 128) -> Dense(10, tanh)
//     -> Dense(1, relu) -> softmax over the Tx axis: α (Tx, 1) -> context = Dot(axes 1)(α, a)
//
// Every layer is one object called at every step (Keras' shared layers: one
// set of weights). The loss is Keras' categorical cross-entropy of each of
// the Ty outputs, averaged over the batch, summed over the outputs; Adam (lr
// 0.005, β1 0.9, β2 0.999), batches of 100, 30 epochs. The encoder's two
// directions are independent branches of the graph, and so is the work of a
// step that does not wait for s⟨t−1⟩. The attention's first Dense meets the
// concatenation [a, RepeatVector(s)] and, as ops/keras.hpp's Dense does on
// any concatenation, multiplies each part by its rows of the kernel: s's
// before the repeat, a's once for all Ty steps (the same function as Keras'
// product per step, rounded a little differently).
//
// One departure: Keras' legacy `decay` 0.01 divides the learning rate by
// 1 + 0.01 t at batch t, which leaves it at 1/21 of its start by epoch 20;
// trained that way (--lr-schedule inverse-time --lr-decay-rate 0.01
// --lr-decay-steps 1) the model reaches 46 % exact matches on the
// validation dates after 20 epochs and 67 % after 38, still creeping. Here t
// counts epochs of the course's m (100 batches): lr / (1 + 0.01 epoch), and
// 30 epochs reach 99 %+ (README, "Date translation").
//
// The data (models/data/dates): m = 10,000 examples of --seed (course
// examples left out), a validation set of another stream (per-position
// accuracy every epoch), a test set of a third (evaluate).
//
//   graph-run nmt_attention data [-n 10] [--seed S]      what it learns from
//   graph-run nmt_attention train [--epochs N] [-m 10000]
//   graph-run nmt_attention evaluate                     exact match, per position, the course's examples
//   graph-run nmt_attention translate "3 may 1979" ... | translate - < dates.txt
//   graph-run nmt_attention attention "tuesday april 08 1993" -o map.png
#include "models/nmt_attention.hpp"

#include "graph/errors.hpp"
#include "graph/file.hpp"
#include "graph/random.hpp"
#include "models/plot/heatmap.hpp"
#include "models/train/fit_model.hpp"
#include "ops/keras.hpp"

#include <algorithm>
#include <cstdio>
#include <fmt/format.h>
#include <iostream>
#include <iterator>
#include <set>

namespace sg::nmt {

namespace {

using namespace layers;
using dates::Tx;
using dates::Ty;

// ---- the model (the course's `model(Tx, Ty, n_a, n_s, ...)`)

void nmt_model(fit::Net& n) {
  OneStepAttention one_step_attention(Tx);
  LSTM post_activation_LSTM_cell(n_s, {.return_state = true});
  Dense output_layer(dates::machine_size); // softmax below, the loss from the logits

  const int64_t B = n.size("batch");
  Value s = zeros(*n.g, {B, n_s}), c = zeros(*n.g, {B, n_s}); // s0, c0
  const Value a = Bidirectional(LSTM(n_a, {.return_sequences = true}))(n.in("X"));
  std::vector<Value> outputs;
  for (int t = 0; t < Ty; ++t) {
    auto scope = n.g->scope(fmt::format("t{}", t + 1));
    const Value context = one_step_attention(a, s);
    const RecurrentOutput r = post_activation_LSTM_cell.call(context, {s, c});
    s = r.state[0];
    c = r.state[1];
    outputs.push_back(output_layer(s));
  }
  const Value z = stack(outputs, 1).named("z"); // (batch, Ty, 11)
  n.outputs["y_hat"] = Activation("softmax")(z).named("y_hat");
  n.outputs["attention"] = reshape(stack(one_step_attention.alphas(), 1), {B, Ty, Tx}).named("attention");
  if (n.mode == fit::Mode::predict) return;
  const Value Y = n.in("Y");
  n.loss = (sum(softmax_cross_entropy(z, Y, -1)) * (1.0 / double(B))).named("loss");
  // per character: 1 where the argmaxes agree (their difference is an integer)
  const Value right = in_range(argmax(z, -1) - argmax(Y, -1), -0.5, 0.5).named("right"); // (batch, Ty)
  n.metrics["accuracy"] = mean(right);
  n.metrics["exact"] = mean(step(sum(right, {1}) - (Ty - 0.5))); // all Ty right
  for (int t = 0; t < Ty; ++t) n.metrics[fmt::format("position_{}", t + 1)] = mean(take(right, 1, t));
}

std::vector<std::string> position_metrics() {
  std::vector<std::string> p;
  for (int t = 0; t < Ty; ++t) p.push_back(fmt::format("position_{}", t + 1));
  return p;
}

std::vector<std::string> all_metrics() {
  std::vector<std::string> m = {"accuracy", "exact"};
  for (auto& p : position_metrics()) m.push_back(p);
  return m;
}

const fit::Spec nmt_spec{
    .name = "nmt_attention",
    .dtype = DType::f32, // Keras' float32
    .inputs = {{"X", {fit::batch, fit::dim(Tx), fit::dim(dates::human_size)}}},
    .targets = {{"Y", {fit::batch, fit::dim(Ty), fit::dim(dates::machine_size)}}},
    .build = nmt_model,
    // The course's Adam, its decay 0.01 counted per 100 batches (an epoch of the course's m)
    // instead of per batch: see the top of the file.
    .optimizer = fit::adam({.lr = 0.005, .beta1 = 0.9, .beta2 = 0.999,
                            .schedule = {.kind = ScheduleKind::inverse_time, .rate = 0.01, .steps = 100}}),
    .metrics = all_metrics(),
    .history_only = position_metrics(),
};

// ---- the data

constexpr int64_t kBatch = 100;
// The three sets' streams: the training set is --seed's, the others are derived.

dates::Date last_date(const OptionValues& o) {
  const std::string& text = o.get_text("last-date");
  if (text == "today") return dates::today();
  if (const auto d = dates::parse_iso(text)) {
    if (*d < dates::first_date)
      throw OptionError(fmt::format("--last-date {}: the dates start on 1970-01-01", text));
    return *d;
  }
  throw OptionError(fmt::format("--last-date '{}': a date YYYY-MM-DD (1970-01-01 or later), or 'today'", text));
}

fit::Data data(const RunArgs& a) {
  const dates::Date last = last_date(a);
  auto train = std::make_shared<DateSet>(a.get_int("m"), a.seed, last);
  auto val = std::make_shared<DateSet>(a.get_int("validation-size"), rng::derive(a.seed, "nmt/validation"), last);
  auto test = std::make_shared<DateSet>(a.get_int("test-size"), rng::derive(a.seed, "nmt/test"), last);
  std::string note = fmt::format("nmt_attention: {} training dates from 1970-01-01 to {} (--seed {}), {} validation, "
                                 "{} test dates (other streams)", train->size(), dates::iso(last), a.seed,
                                 val->size(), test->size());
  if (train->skipped() > 0) note += fmt::format("; {} course examples left out", train->skipped());
  return {.train = train, .splits = {{"test", test}}, .validation = val, .notes = {note}};
}

// ---- translating

// The date strings of a command's arguments ("-": standard input's lines).
std::vector<dates::HumanInput> inputs_of(const RunArgs& a) {
  std::vector<dates::HumanInput> in;
  for (size_t i = 0; i < a.args.size(); ++i) {
    if (a.args[i] == "-") {
      std::string bytes;
      std::cin >> std::noskipws;
      std::copy(std::istream_iterator<char>(std::cin), std::istream_iterator<char>(), std::back_inserter(bytes));
      for (auto& h : dates::parse_human_lines(bytes, "standard input")) in.push_back(std::move(h));
    } else {
      in.push_back(dates::parse_human(a.args[i], fmt::format("argument {}", i + 1)));
    }
  }
  return in;
}

// A warning on standard error for what an input loses: characters past Tx, characters outside the vocabulary.
void warn_about(const dates::HumanInput& h, const std::string& where) {
  if (h.truncated())
    fmt::print(stderr, "nmt_attention: warning: {} ('{}') has {} characters; the model reads the first {}\n", where,
               h.text, h.length, Tx);
  if (h.unknown > 0)
    fmt::print(stderr, "nmt_attention: warning: {} ('{}') has {} character{} outside the vocabulary, read as <unk>\n",
               where, h.text, h.unknown, h.unknown == 1 ? "" : "s");
}

std::string where_of(const dates::HumanInput& h, const RunArgs& a, size_t i) {
  return a.args.size() == 1 && a.args[0] == "-" ? fmt::format("line {}", h.line) : fmt::format("input {}", i + 1);
}

const Model& registered();

int translate_command(const RunArgs& a) {
  const std::vector<dates::HumanInput> in = inputs_of(a);
  fit::FromCheckpoint c = fit::from_checkpoint("nmt_attention", registered().options, a);
  Translator translate(c.params);
  c.require(translate.network());
  std::vector<std::vector<int>> ids;
  for (size_t i = 0; i < in.size(); ++i) {
    warn_about(in[i], where_of(in[i], a, i));
    ids.push_back(in[i].ids);
  }
  const std::vector<Translation> out = translate(ids);
  for (size_t i = 0; i < in.size(); ++i)
    if (a.quiet) fmt::print("{}\n", out[i].text);
    else fmt::print("{:<{}}  {}\n", in[i].text, Tx, out[i].text);
  return 0;
}

int attention_command(const RunArgs& a) {
  const std::string path = a.get_text("o");
  try {
    plot::check_format(path);
  } catch (const std::invalid_argument& e) {
    throw OptionError(fmt::format("-o: {}", e.what()));
  }
  const dates::HumanInput h = dates::parse_human(a.args.at(0), "the date string");
  warn_about(h, "the date string");
  fit::FromCheckpoint c = fit::from_checkpoint("nmt_attention", registered().options, a);
  Translator translate(c.params);
  c.require(translate.network());
  const Translation t = translate({h.ids}).at(0);
  plot::Heatmap m;
  m.title = fmt::format("Attention map: \"{}\" -> {}", h.text, t.text);
  m.x_title = "Input sequence";
  m.y_title = "Output sequence";
  m.values = t.attention;
  for (int id : h.ids) m.x_labels.push_back(id == 0 ? "\u2423" : dates::human_token(id)); // 0: ' ', shown as ␣
  for (char ch : t.text) m.y_labels.push_back(std::string(1, ch));
  plot::write_heatmap(path, m);
  if (!a.quiet) fmt::print("{} -> {}; attention map ({} x {}) -> {}\n", h.text, t.text, Ty, Tx, path);
  return 0;
}

int data_command(const RunArgs& a) {
  const DateSet d(a.get_int("n"), a.seed, last_date(a));
  for (const dates::Example& e : d.examples())
    fmt::print("{:<{}}  {}   ({})\n", e.human, Tx, e.machine, dates::formats[size_t(e.format)]);
  return 0;
}

// evaluate's report: per-position accuracy and exact match on the test set
// (and on its dates the training set does not hold), then the course's examples.
void report(const RunArgs& a, const fit::Data& d, ParamStore& params) {
  const auto& test = static_cast<const DateSet&>(*d.splits.at(0).second);
  const auto& train = static_cast<const DateSet&>(*d.train);
  std::set<std::string> seen;
  for (const dates::Example& e : train.examples()) seen.insert(e.human);
  std::vector<std::vector<int>> ids;
  for (const dates::Example& e : test.examples()) ids.push_back(dates::encode_human(e.human));
  Translator translate(params);
  const std::vector<Translation> out = translate(ids);
  std::vector<int64_t> right(Ty, 0);
  int64_t exact = 0, unseen = 0, unseen_exact = 0;
  std::vector<std::string> wrong;
  for (size_t i = 0; i < out.size(); ++i) {
    const std::string& want = test.examples()[i].machine;
    int n = 0;
    for (int t = 0; t < Ty; ++t) n += out[i].text[size_t(t)] == want[size_t(t)];
    for (int t = 0; t < Ty; ++t) right[size_t(t)] += out[i].text[size_t(t)] == want[size_t(t)];
    const bool ok = n == Ty, is_new = !seen.count(test.examples()[i].human);
    exact += ok;
    unseen += is_new;
    unseen_exact += ok && is_new;
    if (!ok && wrong.size() < 10)
      wrong.push_back(fmt::format("  {:<{}}  {}  (want {})", test.examples()[i].human, Tx, out[i].text, want));
  }
  const auto pct = [](int64_t k, int64_t n) { return n ? 100.0 * double(k) / double(n) : 0.0; };
  const int64_t n = int64_t(out.size());
  fmt::print("test: exact match {} of {} ({:.1f} %); on the {} test dates that are not training dates: {} ({:.1f} %)\n",
             exact, n, pct(exact, n), unseen, unseen_exact, pct(unseen_exact, unseen));
  std::string per;
  for (int t = 0; t < Ty; ++t) per += fmt::format(" {:.3f}", double(right[size_t(t)]) / double(std::max<int64_t>(n, 1)));
  fmt::print("test: accuracy per position (YYYY-MM-DD):{}\n", per);
  if (!wrong.empty()) fmt::print("test: mistakes (the first {}):\n{}\n", wrong.size(), fmt::join(wrong, "\n"));
  std::vector<std::vector<int>> course;
  for (auto s : course_examples) course.push_back(dates::encode_human(s));
  const std::vector<Translation> c = translate(course);
  int good = 0;
  std::string lines;
  for (size_t i = 0; i < c.size(); ++i) {
    const bool ok = c[i].text == course_answers[i];
    good += ok;
    lines += fmt::format("  {:<{}}  {}  {}\n", course_examples[i], Tx, c[i].text,
                         ok ? "right" : fmt::format("WRONG (want {})", course_answers[i]));
  }
  fmt::print("the course's examples: {} of {} right\n{}", good, c.size(), lines);
  (void)a;
}

std::vector<ModelOption> options() {
  return {
      {.name = "m", .help = "Training examples (the course's m); the course's own test strings are left out",
       .type = OptionType::integer, .default_value = "10000", .min = at_least(1), .max = at_most(10'000'000),
       .commands = {"train"}},
      {.name = "validation-size", .help = "Validation examples (another stream of --seed): val_loss, val_accuracy "
                                          "and per-position accuracy every epoch",
       .type = OptionType::integer, .default_value = "1000", .min = at_least(1), .max = at_most(10'000'000),
       .commands = {"train"}},
      {.name = "test-size", .help = "Held-out test examples (a third stream), evaluated after training and by evaluate",
       .type = OptionType::integer, .default_value = "1000", .min = at_least(1), .max = at_most(10'000'000),
       .commands = {"train"}},
      {.name = "last-date",
       .help = "The latest date generated, YYYY-MM-DD, or 'today' (the course's Faker: 1970 to now). Fixed by "
               "default, so that a run gives the same data on any day",
       .type = OptionType::text, .default_value = "2026-12-01", .commands = {"train", "data"}},
      {.name = "n", .help = "How many examples to print", .type = OptionType::integer, .default_value = "10",
       .min = at_least(1), .max = at_most(1'000'000), .commands = {"data"}},
      {.name = "o", .help = "The attention map to write: .png, .svg or .pdf", .type = OptionType::output_file,
       .default_value = "attention.png", .commands = {"attention"}},
  };
}

const Model& registered() {
  static const Model m = fit::model({
      .name = "nmt_attention",
      .summary = "Date translation with attention: human dates -> ISO dates (Bi-LSTM, one-step attention, LSTM)",
      .spec = [](const OptionValues&) -> const fit::Spec& { return nmt_spec; },
      .data = data,
      .fit = [](const OptionValues&) { return fit::FitOptions{.batch_size = kBatch, .report_every = 1}; },
      .epochs_default = "40",
      .save_every = "1",
      .graphs = {{"train", &nmt_spec, {{"batch", 2}}}},
      .options = options(),
      .commands = {{.name = "translate",
                    .summary = "the ISO date of each date string ('-': one per line of standard input)",
                    .usage = "DATE... | -",
                    .min_args = 1,
                    .max_args = -1,
                    .run = translate_command},
                   {.name = "attention",
                    .summary = "the attention weights of one translation as a heat map (-o map.png|.svg|.pdf)",
                    .usage = "DATE",
                    .min_args = 1,
                    .max_args = 1,
                    .run = attention_command},
                   {.name = "data",
                    .summary = "generated examples: human date, ISO date, format",
                    .usage = "",
                    .min_args = 0,
                    .max_args = 0,
                    .run = data_command,
                    .checkpoint = false}},
      .report = report,
  });
  return m;
}

const ModelRegistrar registrar(registered());

} // namespace

const fit::Spec& spec() { return nmt_spec; }

OneStepAttention::OneStepAttention(int64_t Tx)
    : repeator(Tx), concatenator({.axis = -1}), densor1(10, {.activation = "tanh"}),
      densor2(1, {.activation = "relu"}), activator("softmax", {.axis = 1, .name = "attention_weights"}), dotor(1) {}

Value OneStepAttention::operator()(Value a, Value s_prev) {
  s_prev = repeator(s_prev);
  const Value concat = concatenator({a, s_prev});
  const Value e = densor1(concat);
  const Value energies = densor2(e);
  const Value alphas = activator(energies);
  alphas_.push_back(alphas);
  return dotor({alphas, a});
}

DateSet::DateSet(int64_t m, uint64_t seed, dates::Date last) {
  const std::set<std::string_view> course(course_examples.begin(), course_examples.end());
  uint64_t h = rng::hash_name("nmt/dates");
  for (int64_t i = 0; int64_t(examples_.size()) < m; ++i) {
    dates::Example e = dates::example(seed, i, last);
    if (course.count(e.human)) {
      ++skipped_;
      continue;
    }
    h = rng::mix(h ^ rng::hash_name(e.human)) ^ rng::hash_name(e.machine);
    examples_.push_back(std::move(e));
  }
  fingerprint_ = h;
}

fit::Feeds DateSet::batch(std::span<const int64_t> indices) const {
  std::vector<dates::Example> picked;
  picked.reserve(indices.size());
  for (int64_t i : indices) picked.push_back(examples_.at(size_t(i)));
  dates::Batch b = dates::one_hot_batch(picked);
  return {{"X", std::move(b.X)}, {"Y", std::move(b.Y)}};
}

Translator::Translator(ParamStore& params) : net_(std::make_unique<fit::Network>(nmt_spec, params, 0)) {}
Translator::~Translator() = default;

std::vector<Translation> Translator::operator()(const std::vector<std::vector<int>>& inputs) {
  std::vector<Translation> out;
  for (size_t lo = 0; lo < inputs.size(); lo += size_t(kBatch)) {
    const size_t hi = std::min(inputs.size(), lo + size_t(kBatch));
    const std::vector<std::vector<int>> part(inputs.begin() + std::ptrdiff_t(lo), inputs.begin() + std::ptrdiff_t(hi));
    const fit::Feeds r = net_->predict({{"X", dates::one_hot(part, dates::human_size)}});
    const Tensor& y = r.at("y_hat");
    const Tensor& att = r.at("attention");
    for (size_t b = 0; b < part.size(); ++b) {
      Translation t;
      std::vector<int> ids;
      for (int s = 0; s < Ty; ++s) {
        int best = 0;
        for (int k = 1; k < dates::machine_size; ++k)
          if (y({int64_t(b), s, k}) > y({int64_t(b), s, best})) best = k;
        ids.push_back(best);
        t.confidence.push_back(y({int64_t(b), s, best}));
        std::vector<double> row;
        for (int x = 0; x < Tx; ++x) row.push_back(att({int64_t(b), s, x}));
        t.attention.push_back(std::move(row));
      }
      t.text = dates::decode_machine(ids);
      out.push_back(std::move(t));
    }
  }
  return out;
}

} // namespace sg::nmt
