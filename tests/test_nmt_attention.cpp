// Date translation with attention (models/nmt_attention.cpp): the course's
// parameter counts, attention weights that sum to 1, gradients of
// one_step_attention and of the whole model against finite differences,
// bitwise results at 1 and 2 threads, a short training whose loss falls,
// and the commands (data, translate, attention, evaluate) through graph-run
// with bad inputs, as a user runs them.
#include "autodiff/gradcheck.hpp"
#include "autodiff/optimizers.hpp"
#include "graph/random.hpp"
#include "graph/plan.hpp"
#include "models/nmt_attention.hpp"
#include "models/plot/heatmap.hpp"
#include "tests/cli_helpers.hpp"
#include "tests/helpers.hpp"

#include <cmath>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fstream>
#include <set>
#include <sstream>

using namespace sg;
using sg::test::graph_run;
using sg::test::has;
using sg::test::lines_of;
using sg::test::Result;
using sg::test::TempDir;

namespace {

constexpr dates::Date kLast{2024, 6, 1};

int64_t params_under(const Graph& g, const std::string& prefix) {
  int64_t n = 0;
  for (NodeId id : g.nodes_of(Op::Variable))
    if (g.node(id).name.starts_with(prefix)) n += numel(g.node(id).shape);
  return n;
}

// A trained-for-a-moment checkpoint in `dir` (shared by the command tests).
std::string small_checkpoint(const TempDir& dir) {
  const std::string ck = dir / "n.ckpt";
  const Result r = graph_run(fmt::format("nmt_attention train -m 300 --validation-size 100 --test-size 100 --epochs 1 "
                                         "--quiet --checkpoint '{}'", ck));
  INFO(r.out);
  REQUIRE(r.rc == 0);
  return ck;
}

} // namespace

TEST_CASE("Nmt.ParameterCountsAreTheCourses") {
  fit::Net n = fit::build(nmt::spec(), {{"batch", 2}}, fit::Mode::evaluate);
  int64_t total = 0;
  for (NodeId id : n.g->nodes_of(Op::Variable)) total += numel(n.g->node(id).shape);
  CHECK(total == 52'960);
  CHECK(params_under(*n.g, "bidirectional/") == 17'920);
  CHECK(params_under(*n.g, "dense/") == 1'290);   // densor1: Dense(10, tanh) on 128
  CHECK(params_under(*n.g, "dense_1/") == 11);    // densor2: Dense(1, relu)
  CHECK(params_under(*n.g, "lstm_1/") == 33'024); // the post-attention LSTM(64) on the 64-wide context
  CHECK(params_under(*n.g, "dense_2/") == 715);   // Dense(11) on s
}

TEST_CASE("Nmt.AttentionWeightsSumToOneOverTheInputForEveryOutputStep") {
  ParamStore params; // a fresh (random) model: the softmax's property, whatever the weights
  nmt::Translator translate(params);
  const std::vector<nmt::Translation> out =
      translate({dates::encode_human("tuesday april 08 1993"), dates::encode_human(""),
                 dates::encode_human(std::string(200, 'x')), dates::encode_human("\xff\xfe")});
  REQUIRE(out.size() == 4);
  for (const nmt::Translation& t : out) {
    CHECK(t.text.size() == size_t(dates::Ty));
    REQUIRE(t.attention.size() == size_t(dates::Ty));
    for (const auto& row : t.attention) {
      REQUIRE(row.size() == size_t(dates::Tx));
      double s = 0;
      for (double w : row) {
        CHECK(w >= 0);
        s += w;
      }
      CHECK(s == doctest::Approx(1).epsilon(1e-5));
    }
  }
}

TEST_CASE("Nmt.OneStepAttentionGradientsMatchFiniteDifferences") {
  Graph g;
  const Value a = input(g, "a", {2, 5, 6}), s_prev = input(g, "s_prev", {2, 4});
  nmt::OneStepAttention attend(5);
  const Value context = attend(a, s_prev);
  CHECK(context.shape() == Shape{2, 1, 6});
  std::vector<Value> wrt = {a, s_prev};
  for (Value p : all_params(g)) wrt.push_back(p);
  CHECK(wrt.size() == 6); // a, s_prev and the kernels and biases of densor1 and densor2
  // densor2's relu: inputs drawn so that no energy sits at the kink (seeded)
  const auto res = gradcheck(g, context, wrt, {}, {.eps = 1e-6, .seed = 3});
  REQUIRE(res.size() == wrt.size());
  for (const auto& r : res) {
    INFO("d/d", r.name, ": analytic ", r.analytic, " numeric ", r.numeric);
    CHECK(r.max_rel < 1e-6);
  }
}

TEST_CASE("Nmt.WholeModelGradientsMatchFiniteDifferences") {
  // the training graph's loss (batch 2) w.r.t. every parameter, in float64, on two real examples
  fit::Net n = fit::build(nmt::spec(), {{"batch", 2}}, fit::Mode::evaluate);
  const nmt::DateSet data(2, 9, kLast);
  const std::vector<int64_t> both = {0, 1};
  const fit::Feeds f = data.batch(both);
  const std::vector<Value> wrt = all_params(*n.g);
  CHECK(wrt.size() == 15);
  // weights of the scale training gives them (N(0, 1) ones saturate every gate: a curvature
  // that central differences cannot follow at any eps)
  std::map<std::string, Tensor> values = {{"X", f.at("X")}, {"Y", f.at("Y")}};
  rng::Stream draw{13, rng::hash_name("nmt/gradcheck")};
  for (const Value& p : wrt) {
    Tensor t(p.shape(), DType::f64);
    for (int64_t i = 0; i < t.size(); ++i) t.set(i, 0.3 * draw.normal());
    values[p.node().name] = std::move(t);
  }
  const auto res = gradcheck(*n.g, n.loss, wrt, values, {.max_elements = 16});
  REQUIRE(res.size() == wrt.size());
  for (const auto& r : res) {
    INFO("d/d", r.name, ": analytic ", r.analytic, " numeric ", r.numeric);
    CHECK(r.max_rel < 1e-6);
  }
}

TEST_CASE("Nmt.TrainingIsBitwiseTheSameAtOneAndTwoThreads") {
  const nmt::DateSet data(64, 5, kLast);
  const auto run = [&](int threads) {
    set_threads(threads);
    ParamStore params;
    const fit::Data d{.train = std::shared_ptr<const fit::Dataset>(&data, [](auto*) {})};
    const auto losses = fit::fit_quietly(nmt::spec(), params, d, {.batch_size = 32}, 2, 7);
    set_threads(1);
    return std::pair{losses, params.at("lstm_1/kernel")};
  };
  const auto [l1, k1] = run(1);
  const auto [l2, k2] = run(2);
  CHECK(l1 == l2);
  CHECK(max_abs_diff(k1, k2) == 0);
}

TEST_CASE("Nmt.AShortTrainingLowersTheLoss") {
  const nmt::DateSet data(500, 11, kLast);
  ParamStore params;
  const fit::Data d{.train = std::shared_ptr<const fit::Dataset>(&data, [](auto*) {})};
  const std::vector<double> losses = fit::fit_quietly(nmt::spec(), params, d, {.batch_size = 100}, 3, 1);
  REQUIRE(losses.size() == 3);
  INFO(losses[0], " ", losses[1], " ", losses[2]);
  // The first epoch starts near Ty ln 11 = 24.0 (uniform guesses) and falls within it.
  CHECK(losses[0] < 10 * std::log(11.0));
  CHECK(losses[1] < losses[0]);
  CHECK(losses[2] < losses[1]);
}

TEST_CASE("Nmt.TheDataLeaveOutTheCourseExamplesAndTheSetsDiffer") {
  // Find a seed whose first examples include a course string, by searching: then it must be skipped.
  const std::set<std::string_view> course(nmt::course_examples.begin(), nmt::course_examples.end());
  const nmt::DateSet big(20'000, 1, kLast);
  CHECK(big.size() == 20'000);
  for (const dates::Example& e : big.examples()) CHECK_FALSE(course.count(e.human));
  int64_t found = 0; // how many of the first 20,000 + skipped were course strings
  for (int64_t i = 0; i < big.size() + big.skipped(); ++i) found += course.count(dates::example(1, i, kLast).human);
  CHECK(found == big.skipped());
  // the same seed, the same examples; another seed, others
  const nmt::DateSet a(50, 2, kLast), b(50, 2, kLast), c(50, 3, kLast);
  CHECK(a.fingerprint() == b.fingerprint());
  CHECK(a.fingerprint() != c.fingerprint());
  // a batch is the course's one-hot X (B, Tx, 37) and Y (B, Ty, 11)
  const std::vector<int64_t> idx = {3, 0};
  const fit::Feeds f = a.batch(idx);
  CHECK(f.at("X").shape() == Shape{2, dates::Tx, dates::human_size});
  CHECK(f.at("Y").shape() == Shape{2, dates::Ty, dates::machine_size});
  const std::vector<int> want = dates::encode_machine(a.examples()[3].machine);
  for (int t = 0; t < dates::Ty; ++t) CHECK(f.at("Y")({0, t, want[size_t(t)]}) == 1);
}

TEST_CASE("Nmt.HeatMapsRenderAsPngSvgAndPdf") {
  TempDir dir;
  plot::Heatmap m{.title = "t", .x_title = "in", .y_title = "out", .values = {{0, 0.5, 1}, {1, NAN, 0.25}},
                  .x_labels = {"a", "<pad>", "\u2423"}, .y_labels = {"1", "2"}};
  for (const char* ext : {".png", ".svg", ".pdf"}) {
    const std::string path = dir / (std::string("m") + ext);
    plot::write_heatmap(path, m);
    std::ifstream in(path, std::ios::binary);
    std::string head(8, '\0');
    in.read(head.data(), 8);
    if (std::string(ext) == ".png") CHECK(head == "\x89PNG\r\n\x1a\n");
    if (std::string(ext) == ".svg") CHECK(head.starts_with("<?xml"));
    if (std::string(ext) == ".pdf") CHECK(head.starts_with("%PDF"));
  }
  CHECK_THROWS_WITH_AS(plot::write_heatmap(dir / "m.jpg", m), doctest::Contains("must be .png, .svg or .pdf"),
                       std::invalid_argument);
  m.x_labels.pop_back();
  CHECK_THROWS_AS(plot::write_heatmap(dir / "m.png", m), std::invalid_argument);
  // the colour map's ends are matplotlib's Blues'
  CHECK(plot::blues(0).r == doctest::Approx(0xf7 / 255.0));
  CHECK(plot::blues(1).b == doctest::Approx(0x6b / 255.0));
  CHECK(plot::blues(2).b == plot::blues(1).b);
  CHECK(plot::blues(NAN).r == plot::blues(0).r);
}

TEST_CASE("Nmt.ParseIso") {
  CHECK(dates::parse_iso("2007-07-10") == dates::Date{2007, 7, 10});
  CHECK(dates::parse_iso("2000-02-29") == dates::Date{2000, 2, 29});
  CHECK_FALSE(dates::parse_iso("1900-02-29"));
  CHECK_FALSE(dates::parse_iso("2007-7-10"));
  CHECK_FALSE(dates::parse_iso("2007-13-01"));
  CHECK_FALSE(dates::parse_iso("2007-07-1x"));
  CHECK_FALSE(dates::parse_iso(""));
}

TEST_CASE("Nmt.CommandsAsAUserRunsThem") {
  TempDir dir;
  SUBCASE("data prints the pairs a seed gives") {
    const Result r = graph_run("nmt_attention data -n 5 --seed 4 --last-date 2024-06-01");
    INFO(r.out);
    REQUIRE(r.rc == 0);
    const auto lines = lines_of(r.out);
    REQUIRE(lines.size() == 5);
    for (int i = 0; i < 5; ++i) {
      const dates::Example e = dates::example(4, i, kLast);
      CHECK(lines[size_t(i)].starts_with(e.human));
      CHECK(has(lines[size_t(i)], e.machine));
    }
    CHECK(graph_run("nmt_attention data --last-date 2024-02-30").rc == 2);
    CHECK(has(graph_run("nmt_attention data --last-date 1969-12-31").out, "start on 1970-01-01"));
  }
  const std::string ck = small_checkpoint(dir);
  SUBCASE("translate: arguments, standard input, unknown characters, long and bad inputs") {
    Result r = graph_run(fmt::format("nmt_attention translate --checkpoint '{}' '3 may 1979' 'tue 10 jul 2007'", ck));
    INFO(r.out);
    REQUIRE(r.rc == 0);
    auto lines = lines_of(r.out);
    REQUIRE(lines.size() == 2);
    for (const auto& l : lines) CHECK(l.size() == size_t(dates::Tx + 2 + dates::Ty)); // text padded, date
    // standard input: one date per line, blank lines skipped; --quiet prints the dates alone
    std::ofstream(dir / "in.txt") << "3 may 1979\n\n5 april 09\r\n";
    r = graph_run(fmt::format("nmt_attention translate --quiet --checkpoint '{}' - < '{}'", ck, dir / "in.txt"));
    REQUIRE(r.rc == 0);
    lines = lines_of(r.out);
    REQUIRE(lines.size() == 2);
    for (const auto& l : lines) CHECK(l.size() == size_t(dates::Ty));
    // an unknown character: a warning, and a translation
    r = graph_run(fmt::format("nmt_attention translate --checkpoint '{}' '3 may 1979 \u20ac'", ck));
    CHECK(r.rc == 0);
    CHECK(has(r.out, "1 character outside the vocabulary, read as <unk>"));
    // longer than Tx: truncated, with a warning
    r = graph_run(fmt::format("nmt_attention translate --checkpoint '{}' '{}'", ck, std::string(200, '1')));
    CHECK(r.rc == 0);
    CHECK(has(r.out, "has 200 characters; the model reads the first 30"));
    // empty, blank: an error naming the argument
    r = graph_run(fmt::format("nmt_attention translate --checkpoint '{}' '3 may 1979' '  '", ck));
    CHECK(r.rc == 1);
    CHECK(has(r.out, "argument 2: empty date string"));
    // binary bytes on standard input
    std::ofstream(dir / "bin", std::ios::binary) << std::string("\x00\xff\xfe\x01", 4);
    r = graph_run(fmt::format("nmt_attention translate --checkpoint '{}' - < '{}'", ck, dir / "bin"));
    CHECK(r.rc == 1);
    CHECK(has(r.out, "standard input:1: not UTF-8 text"));
    r = graph_run(fmt::format("nmt_attention translate --checkpoint '{}' - < /dev/null", ck));
    CHECK(r.rc == 1);
    CHECK(has(r.out, "no date strings"));
    // no checkpoint
    r = graph_run(fmt::format("nmt_attention translate --checkpoint '{}' '3 may 1979'", dir / "none.ckpt"));
    CHECK(r.rc == 1);
  }
  SUBCASE("attention writes a map for any input") {
    for (const std::string& text : {std::string("tuesday april 08 1993"), std::string("x"), std::string(40, 'z')}) {
      const std::string png = dir / "map.png";
      const Result r = graph_run(fmt::format("nmt_attention attention --checkpoint '{}' '{}' -o '{}'", ck, text, png));
      INFO(r.out);
      CHECK(r.rc == 0);
      CHECK(std::filesystem::file_size(png) > 1000);
    }
    Result r = graph_run(fmt::format("nmt_attention attention --checkpoint '{}' 'x' -o '{}'", ck, dir / "m.svg"));
    CHECK(r.rc == 0);
    r = graph_run(fmt::format("nmt_attention attention --checkpoint '{}' 'x' -o '{}'", ck, dir / "m.gif"));
    CHECK(r.rc == 2);
    CHECK(has(r.out, "must be .png, .svg or .pdf"));
    r = graph_run(fmt::format("nmt_attention attention --checkpoint '{}' 'a' 'b'", ck));
    CHECK(r.rc == 2);
  }
  SUBCASE("evaluate reports exact match, per-position accuracy and the course's examples") {
    const Result r = graph_run(fmt::format("nmt_attention evaluate --checkpoint '{}'", ck));
    INFO(r.out);
    REQUIRE(r.rc == 0);
    CHECK(has(r.out, "test: exact match "));
    CHECK(has(r.out, "test: accuracy per position (YYYY-MM-DD):"));
    CHECK(has(r.out, "the course's examples: "));
    CHECK(has(r.out, "validation: loss"));
  }
}

TEST_CASE("Nmt.ResumeIsBitwiseTheUninterruptedRun") {
  TempDir dir;
  const std::string common = "nmt_attention train -m 200 --validation-size 50 --test-size 50 --quiet";
  Result r = graph_run(fmt::format("{} --epochs 2 --checkpoint '{}' --history '{}'", common, dir / "a.ckpt",
                                   dir / "a.csv"));
  REQUIRE(r.rc == 0);
  r = graph_run(fmt::format("{} --epochs 1 --checkpoint '{}' --history '{}'", common, dir / "b.ckpt", dir / "b1.csv"));
  REQUIRE(r.rc == 0);
  r = graph_run(fmt::format("{} --epochs 2 --resume --checkpoint '{}' --history '{}'", common, dir / "b.ckpt",
                            dir / "b2.csv"));
  INFO(r.out);
  REQUIRE(r.rc == 0);
  const auto a = lines_of(sg::test::read_file(dir / "a.csv")), b = lines_of(sg::test::read_file(dir / "b2.csv"));
  REQUIRE(a.size() == 3);
  REQUIRE(!b.empty());
  CHECK(b.back() == a.back()); // epoch 2's loss, metrics and validation figures, every digit
  // another --m is another data set: refused
  r = graph_run(fmt::format("nmt_attention train -m 300 --validation-size 50 --test-size 50 --epochs 3 --resume "
                            "--checkpoint '{}'", dir / "b.ckpt"));
  CHECK(r.rc == 1);
  CHECK(has(r.out, "-m"));
}
