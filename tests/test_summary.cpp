// graph-run <model> summary: Keras' parameter counts, read off the graphs,
// with the arithmetic written out (Keras: LSTM 4 (u (in + u) + u), Dense
// units (in + 1), BatchNormalization 4 C of which 2 C are statistics).
#include "graph/summary.hpp"
#include "models/emojify.hpp"
#include "models/model.hpp"
#include "models/train/fit.hpp"
#include "ops/layers.hpp"
#include "tests/cli_helpers.hpp"

#include <doctest/doctest.h>

using namespace sg;
using namespace sg::test;

namespace {

Summary of_model(const std::string& model, const std::string& graph, const std::map<std::string, Tensor>& in = {}) {
  const Model* m = find_model(model);
  REQUIRE(m != nullptr);
  BuiltGraph b = m->build(graph, in, false);
  return summarize(*b.graph);
}

int64_t row(const Summary& s, const std::string& layer) {
  for (auto& r : s.rows)
    if (r.layer == layer) return r.total();
  FAIL("no layer ", layer);
  return -1;
}

} // namespace

TEST_CASE("Summary.KerasCountsOfTheCourseModels") {
  // Emojify V2: LSTM(128) on 50-d, LSTM(128) on 128-d, Dense(5)
  const Summary e = of_model("emojify", "v2");
  CHECK(row(e, "lstm") == 4 * (128 * (50 + 128) + 128));    // 91,648
  CHECK(row(e, "lstm_1") == 4 * (128 * (128 + 128) + 128)); // 131,584
  CHECK(row(e, "dense") == 5 * (128 + 1));                  // 645
  CHECK(e.trainable == 223877);
  // output shapes, batch 2 and 10 steps: the embedded words, the first LSTM's
  // sequence (return_sequences), the second's last state, the scores
  auto output = [&](const std::string& layer) {
    for (auto& r : e.rows)
      if (r.layer == layer) return r.output;
    return Shape{};
  };
  CHECK(output("embedding") == Shape{2, 10, 50});
  CHECK(output("lstm") == Shape{2, 10, 128});
  CHECK(output("lstm_1") == Shape{2, 128});
  CHECK(output("dense") == Shape{2, 5});
  // the frozen Embedding of our 5,050-word vectors: (5,050 + 1 padding row) x 50
  CHECK(row(e, "embedding") == (5050 + 1) * 50);
  CHECK(e.non_trainable == 252550);
  // the course's: 400,000 words + 1, 50-d: 20,000,050 non-trainable
  const BuiltGraph course =
      fit::built_graph(emojify::spec(2), {}, {{"batch", 1}, {"steps", 10}, {"vocab", 400001}, {"dim", 50}}, false);
  const Summary c = summarize(*course.graph);
  CHECK(c.non_trainable == 400001 * 50);
  CHECK(c.non_trainable == 20000050);
  CHECK(c.trainable == 223877);

  // Jazz: LSTM(64) on n_values, Dense(n_values): 82 values here, 90 in the course
  auto jazz = [&](int64_t V) {
    return of_model("jazz", "train", {{"X", Tensor({4, 5, V}, DType::f32)}}).trainable;
  };
  CHECK(jazz(82) == 4 * (64 * (82 + 64) + 64) + 82 * (64 + 1)); // 42,962
  CHECK(jazz(90) == 4 * (64 * (90 + 64) + 64) + 90 * (64 + 1)); // 45,530
  CHECK(jazz(90) == 45530);

  // Dinosaurus: Wax (50, 27), Waa (50, 50), Wya (27, 50), b (50, 1), by (27, 1)
  CHECK(of_model("dinosaurus", "train").trainable == 50 * 27 + 50 * 50 + 27 * 50 + 50 + 27); // 5,277
}

TEST_CASE("Summary.StateIsNonTrainable") {
  Graph g;
  Value x = input(g, "x", {8, 196});
  std::vector<Value> updates;
  Value y = batch_norm(dense(x, 196, "dense"), "batch_normalization", true, 0.99, 1e-3, &updates);
  (void)y;
  const Summary s = summarize(g);
  REQUIRE(s.rows.size() == 2);
  CHECK(s.rows[0].layer == "dense"); // in the order the graph created them
  CHECK(s.rows[1].layer == "batch_normalization");
  CHECK(s.rows[1].trainable == 2 * 196);     // gamma, beta
  CHECK(s.rows[1].non_trainable == 2 * 196); // moving_mean, moving_variance
  CHECK(s.trainable == 196 * 197 + 392);
  CHECK(s.non_trainable == 392);
  const std::string t = s.table();
  CHECK(has(t, "Total params: 39,396"));
  CHECK(has(t, "Non-trainable params: 392"));
  CHECK(has(t, "784 (392 frozen)"));
}

TEST_CASE("Summary.Command") {
  Result r = graph_run("jazz summary");
  INFO(r.out);
  REQUIRE(r.rc == 0);
  CHECK(has(r.out, "lstm   (4, 64)       kernel (82, 256), recurrent_kernel (64, 256), bias (256,)  37,632"));
  CHECK(has(r.out, "Total params: 42,962"));
  r = graph_run("summary rnn_step_by_step");
  CHECK(r.rc == 0);
  CHECK(has(r.out, "No parameters"));
  r = graph_run("emojify summary --graph v3");
  CHECK(r.rc == 2);
}
