// Emojify: the CSV reader on both files' formats, out-of-vocabulary counting,
// V1 training, V2's padding invariance (masking) and training, and the
// commands.
#include "graph/checkpoint.hpp"
#include "models/data/csv.hpp"
#include "models/emojify.hpp"
#include "models/model.hpp"
#include "models/train/trainer.hpp"
#include "tests/cli_helpers.hpp"

#include <cstring>
#include <doctest/doctest.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <set>
#include <sstream>

using namespace sg;
using namespace sg::test;
namespace fs = std::filesystem;

namespace {

std::string data_file(const std::string& rel) { return (fs::path(data_dir("")) / rel).string(); }

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string io_error(const std::string& path) {
  try {
    emojify::read_examples(path);
  } catch (const IoError& e) {
    return e.what();
  }
  return "";
}

const WordVectors& subset() {
  static const WordVectors v = read_glove(data_file("glove/glove.6B.50d.5k.txt"));
  return v;
}

} // namespace

TEST_CASE("Emojify.CsvLine") {
  using data::parse_csv_line;
  CHECK(parse_csv_line("never talk to me again,3,,") == std::vector<std::string>{"never talk to me again", "3", "", ""});
  CHECK(parse_csv_line("Miss you so much,0,, [0]") == std::vector<std::string>{"Miss you so much", "0", "", " [0]"});
  CHECK(parse_csv_line("\"I want to eat\t\",4") == std::vector<std::string>{"I want to eat\t", "4"});
  CHECK(parse_csv_line("\"a, \"\"b\"\"\",1") == std::vector<std::string>{"a, \"b\"", "1"});
  CHECK(parse_csv_line("") == std::vector<std::string>{""});
  CHECK_THROWS_AS(parse_csv_line("\"open,1"), std::invalid_argument);
  CHECK_THROWS_AS(parse_csv_line("\"closed\"x,1"), std::invalid_argument);
  CHECK_THROWS_AS(parse_csv_line("a\"b,1"), std::invalid_argument);
}

TEST_CASE("Emojify.CsvFiles") {
  const auto train = emojify::read_examples(data_file("emojify/train_emoji.csv"));
  const auto test = emojify::read_examples(data_file("emojify/tesss.csv"));
  REQUIRE(train.size() == 132);
  REQUIRE(test.size() == 56);
  // train: `sentence,label,,` and trailing fields (`,, [0]`), CRLF
  CHECK(train[0].sentence == "never talk to me again");
  CHECK(train[0].label == 3);
  CHECK(train[3].sentence == "Miss you so much");
  CHECK(train[3].label == 0);
  CHECK(train[3].line == 4);
  // test: `"sentence<TAB>",label`: the tab is stripped
  CHECK(test[0].sentence == "I want to eat");
  CHECK(test[0].label == 4);
  for (auto& e : train) CHECK(e.sentence.find_first_of("\t\r\"") == std::string::npos);
  for (auto& e : test) CHECK(e.sentence.find_first_of("\t\r\"") == std::string::npos);
  // every label occurs; the longest training sentence is the course's maxLen
  std::set<int> labels;
  size_t longest = 0;
  for (auto& e : train) labels.insert(e.label), longest = std::max(longest, emojify::words(e.sentence).size());
  CHECK(labels.size() == 5);
  CHECK(int64_t(longest) == emojify::max_len);
  CHECK(std::string(emojify::emoji(0)) == "\u2764\ufe0f");
  CHECK(std::string(emojify::emoji(4)) == "\U0001F374");
  CHECK(emojify::words("  I Love\tyou ") == std::vector<std::string>{"i", "love", "you"});
}

TEST_CASE("Emojify.CsvMalformed") {
  TempDir dir;
  const std::string f = dir / "bad.csv";
  write_file(f, "food is life,4,,\r\n\r\nI love you,0\r\n\"unterminated,1\r\n");
  CHECK(has(io_error(f), "bad.csv:4: the quote that opens field 1"));
  write_file(f, "food is life,4,,\nno label here\n");
  CHECK(has(io_error(f), "bad.csv:2: 1 field(s)"));
  write_file(f, "food is life,4,,\nhi,7\n");
  CHECK(has(io_error(f), "bad.csv:2: label '7' is not 0..4"));
  write_file(f, "a,1\nb,2\n\"c\t\",x\n");
  CHECK(has(io_error(f), "bad.csv:3: label 'x' is not 0..4"));
  write_file(f, "\"\t\",2\n");
  CHECK(has(io_error(f), "bad.csv:1: empty sentence"));
  write_file(f, "\n\n");
  CHECK(has(io_error(f), "holds no sentences"));
  CHECK(has(io_error(dir / "missing.csv"), "cannot read CSV file '" + (dir / "missing.csv") + "': no such file"));
  // both formats in one file are fine
  write_file(f, "\xEF\xBB\xBFi love you,0,, [1]\n\"lets eat\t\",4\n");
  const auto ok = emojify::read_examples(f);
  REQUIRE(ok.size() == 2);
  CHECK(ok[0].sentence == "i love you");
  CHECK(ok[1].sentence == "lets eat");
  CHECK(ok[1].label == 4);
}

TEST_CASE("Emojify.Oov") {
  TempDir dir;
  write_file(dir / "v.txt", "i 1 2\nlove 3 4\nyou 5 6\n");
  const WordVectors v = read_glove(dir / "v.txt");
  const std::vector<emojify::Example> ex = {{"I love you", 0, 1}, {"i adore you", 0, 2}, {"xyzzy plugh", 2, 3}};
  const auto r = emojify::count_oov(ex, v);
  CHECK(r.words == 8);
  CHECK(r.oov == 3);
  CHECK(r.missing.size() == 3);
  CHECK(r.missing.at("adore") == 1);
  CHECK(r.sentences_without_vectors == 1);
  CHECK(has(r.summary(), "3 of 8 words (3 distinct) have no vector"));
  CHECK(has(r.summary(), "adore"));
  // V1 averages over the words that have a vector; none: the zero vector
  CHECK(emojify::average("i adore you", v) == std::vector<double>{3, 4});
  CHECK(emojify::average("I love you", v) == std::vector<double>{3, 4});
  CHECK(emojify::average("xyzzy", v) == std::vector<double>{0, 0});

  // the subset: 84 of the 312 distinct Emojify words have no vector
  std::vector<emojify::Example> all = emojify::read_examples(data_file("emojify/train_emoji.csv"));
  for (auto& e : emojify::read_examples(data_file("emojify/tesss.csv"))) all.push_back(e);
  std::set<std::string> distinct;
  for (auto& e : all)
    for (auto& w : emojify::words(e.sentence)) distinct.insert(w);
  const auto s = emojify::count_oov(all, subset());
  CHECK(distinct.size() == 312);
  CHECK(s.missing.size() == 84);
}

TEST_CASE("Emojify.V1TrainingRaisesAccuracy") {
  const auto train = emojify::read_examples(data_file("emojify/train_emoji.csv"));
  ParamStore store;
  emojify::Classifier c(store, 1, subset(), 1);
  const double before = c.accuracy(train);
  const auto losses = emojify::train_for_test(store, 1, train, subset(), 30, 1);
  const double after = c.accuracy(train);
  INFO("accuracy ", before, " -> ", after);
  CHECK(after > before + 0.15);
  CHECK(losses.back() < losses.front());
  CHECK(store.at("W").shape() == Shape{5, 50});
}

// Bitwise, on any CPU: V2's real steps see only per-step products of one
// shape whatever the padded length (the padding is masked, see v2_net), so
// this compares runs of equal shapes for everything a real step computes.
TEST_CASE("Emojify.V2PaddingInvariance") {
  const std::vector<std::string> s = {"i love you", "lets play baseball", "she got me a nice present",
                                      "xyzzy adore", "this joke is killing me haha"};
  ParamStore store;
  emojify::Classifier c(store, 2, subset(), 3);
  auto check_same = [&] {
    const auto p10 = c.probabilities(s, 10), p20 = c.probabilities(s, 20), p13 = c.probabilities(s, 13);
    for (size_t i = 0; i < s.size(); ++i) {
      double total = 0;
      for (int k = 0; k < emojify::n_classes; ++k) {
        INFO(s[i], " class ", k);
        CHECK(p10[i][size_t(k)] == p20[i][size_t(k)]); // bitwise
        CHECK(p10[i][size_t(k)] == p13[i][size_t(k)]);
        total += p10[i][size_t(k)];
      }
      CHECK(std::abs(total - 1) < 1e-5);
    }
    // the scores differ from sentence to sentence: the mask does not hide the words
    CHECK(p10[0][0] != p10[1][0]);
  };
  check_same(); // fresh weights
  const auto train = emojify::read_examples(data_file("emojify/train_emoji.csv"));
  const std::vector<emojify::Example> few(train.begin(), train.begin() + 40);
  emojify::train_for_test(store, 2, few, subset(), 1, 3);
  check_same(); // after a little training
  // a sentence longer than max_len gets a longer graph
  const auto p = c.probabilities({"a b c d e f g h i j k l m"});
  CHECK(std::abs(p[0][0] + p[0][1] + p[0][2] + p[0][3] + p[0][4] - 1) < 1e-5);
}

TEST_CASE("Emojify.V2TrainingLowersTheLoss") {
  const auto train = emojify::read_examples(data_file("emojify/train_emoji.csv"));
  ParamStore store;
  const auto losses = emojify::train_for_test(store, 2, train, subset(), 6, 5);
  REQUIRE(losses.size() == 6);
  CHECK(std::abs(losses[0] - std::log(5.0)) < 0.2); // an untrained softmax over 5
  CHECK(losses[5] < losses[0] - 0.05);
  CHECK(store.at("lstm/kernel").shape() == Shape{50, 4 * emojify::n_a});
  CHECK(store.at("lstm_1/kernel").shape() == Shape{emojify::n_a, 4 * emojify::n_a});
  CHECK(store.at("dense/kernel").shape() == Shape{emojify::n_a, 5});
  CHECK(store.at("adam/iterations").at(0) == 6 * 5); // batches of 32: 4 of 32 and one of 4
}

TEST_CASE("Emojify.Commands") {
  TempDir dir;
  const std::string ck = dir / "e1.ckpt";
  Result r = graph_run(fmt::format("emojify train --version 1 --epochs 40 --checkpoint '{}'", ck));
  INFO(r.out);
  REQUIRE(r.rc == 0);
  CHECK(has(r.out, "emojify V1: 132 training sentences"));
  CHECK(has(r.out, "have no vector"));
  CHECK(has(r.out, "train: loss "));
  CHECK(has(r.out, "test: loss "));
  const Checkpoint c = load_checkpoint(ck, "emojify");
  CHECK(c.meta.at("option.version") == "1");
  CHECK(c.meta.at("step") == "40");

  // evaluate: the run's options from the checkpoint; its accuracy metric (in
  // the graph) against the classifier's argmax on the host
  r = graph_run(fmt::format("emojify evaluate --checkpoint '{}'", ck));
  INFO(r.out);
  REQUIRE(r.rc == 0);
  CHECK(has(r.out, "emojify V1: 132 training sentences"));
  CHECK(has(r.out, "confusion matrix"));
  CHECK(has(r.out, "misclassified test sentences"));
  ParamStore params;
  train::load_params(ck, "emojify", params);
  emojify::Classifier cl(params, 1, subset());
  const auto test = emojify::read_examples(data_file("emojify/tesss.csv"));
  const auto train = emojify::read_examples(data_file("emojify/train_emoji.csv"));
  CHECK(has(r.out, fmt::format("test: loss ")));
  CHECK(has(r.out, fmt::format(", accuracy {:.4f}\n", cl.accuracy(test))));
  CHECK(has(r.out, fmt::format(", accuracy {:.4f}\n", cl.accuracy(train))));
  const std::string lines = emojify::predict_lines(cl, subset(), {"i adore you", "lets play ball"});
  CHECK(has(lines, "i adore you\t"));
  CHECK(has(lines, "(no vector: adore)"));
  CHECK(has(lines, "lets play ball\t"));
  r = graph_run(fmt::format("emojify predict --checkpoint '{}' 'i adore you' 'food is life'", ck));
  CHECK(r.rc == 0);
  CHECK(has(r.out, "food is life\t"));

  // a checkpoint without one of the model's parameters: evaluate says so
  // (rather than starting that parameter at random)
  Checkpoint cut = load_checkpoint(ck, "emojify");
  ParamStore kept;
  for (auto& [name, t] : cut.params.all())
    if (name != "b") kept.set(name, t);
  save_checkpoint(dir / "cut.ckpt", "emojify", kept, cut.meta);
  r = graph_run(fmt::format("emojify evaluate --checkpoint '{}'", dir / "cut.ckpt"));
  CHECK(r.rc == 1);
  CHECK(has(r.out, "lacks the parameter(s) b"));

  // a wrong version on --resume, a bad version
  r = graph_run(fmt::format("emojify train --version 2 --epochs 41 --resume --checkpoint '{}'", ck));
  CHECK(r.rc != 0);
  CHECK(has(r.out, "was trained with --version 1; this run has --version 2"));
}

// evaluate / predict with --vectors whose sizes are not the checkpoint's:
// the error names the parameter, both shapes, both runs' sizes, the
// --vectors given and the checkpoint's, and what to do.
TEST_CASE("Emojify.VectorsOfAnotherSize") {
  TempDir dir;
  std::ifstream in(data_file("glove/glove.6B.50d.5k.txt"));
  std::ofstream fewer(dir / "fewer.txt"), narrower(dir / "narrower.txt");
  std::string line;
  for (int n = 0; std::getline(in, line); ++n) {
    if (n < 3000) fewer << line << "\n";
    std::istringstream words(line);
    std::string w;
    for (int k = 0; k <= 25 && words >> w; ++k) narrower << (k ? " " : "") << w;
    narrower << "\n";
  }
  fewer.close();
  narrower.close();
  const std::string v1 = dir / "e1.ckpt", v2 = dir / "e2.ckpt";
  REQUIRE(graph_run(fmt::format("emojify train --version 1 --epochs 2 --quiet --checkpoint '{}'", v1)).rc == 0);
  REQUIRE(graph_run(fmt::format("emojify train --version 2 --epochs 1 --quiet --checkpoint '{}'", v2)).rc == 0);
  Result r = graph_run(fmt::format("emojify predict 'i love you' --checkpoint '{}' --vectors '{}'", v2, dir / "fewer.txt"));
  INFO(r.out);
  CHECK(r.rc == 1);
  CHECK(has(r.out, "holds embedding/embeddings as (5051, 50) where the graph needs (3001, 50)"));
  CHECK(has(r.out, "this run's sizes: dim = 50, vocab = 3001); the checkpoint's sizes: dim = 50, vocab = 5051"));
  CHECK(has(r.out, fmt::format("This run gives --vectors '{}'; the checkpoint was trained with no --vectors "
                               "(the default): leave out --vectors", dir / "fewer.txt")));
  r = graph_run(fmt::format("emojify evaluate --checkpoint '{}' --vectors '{}'", v1, dir / "narrower.txt"));
  INFO(r.out);
  CHECK(r.rc == 1);
  CHECK(has(r.out, "holds W as (5, 50) where the graph needs (5, 25) (this run's sizes: dim = 25"));
  CHECK(has(r.out, "or train a new checkpoint with --vectors"));
  // V1 reads no vocabulary-sized parameter: fewer words are fine (more of them have no vector)
  r = graph_run(fmt::format("emojify predict 'i love you' --checkpoint '{}' --vectors '{}'", v1, dir / "fewer.txt"));
  CHECK(r.rc == 0);
  CHECK(has(r.out, "i love you\t"));
}

TEST_CASE("Emojify.V2ResumeEqualsUninterruptedRun") {
  TempDir dir;
  REQUIRE(graph_run(fmt::format("emojify train --version 2 --epochs 2 --quiet --checkpoint '{}'", dir / "a.ckpt")).rc == 0);
  REQUIRE(graph_run(fmt::format("emojify train --version 2 --epochs 1 --quiet --checkpoint '{}'", dir / "b.ckpt")).rc == 0);
  Result r = graph_run(fmt::format("emojify train --version 2 --epochs 2 --quiet --resume --checkpoint '{}'", dir / "b.ckpt"));
  INFO(r.out);
  REQUIRE(r.rc == 0);
  const Checkpoint a = load_checkpoint(dir / "a.ckpt"), b = load_checkpoint(dir / "b.ckpt");
  for (const char* name : {"lstm/kernel", "lstm_1/recurrent_kernel", "dense/kernel"}) {
    const Tensor& x = a.params.at(name);
    const Tensor& y = b.params.at(name);
    REQUIRE(x.nbytes() == y.nbytes());
    CHECK(std::memcmp(x.raw(), y.raw(), x.nbytes()) == 0);
  }
}
