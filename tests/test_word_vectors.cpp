// Word-vector operations and debiasing (models/word_vectors.cpp) and the GloVe
// reader/writer (models/data/glove.cpp): the course's figures from the
// 5,050-word subset of glove.6B.50d in ../shared/data.
#include "models/data/glove.hpp"
#include "tests/cli_helpers.hpp"

#include <cmath>
#include <doctest/doctest.h>
#include <fstream>
#include <numeric>

using namespace sg;
using sg::test::graph_run;
using sg::test::has;
using sg::test::TempDir;

namespace {

const std::string kSubset = std::string(SEQGRAPH_DATA_DIR) + "/glove/glove.6B.50d.5k.txt";

const WordVectors& subset() {
  static const WordVectors v = read_glove(kSubset);
  return v;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string error_of(const std::string& path) {
  try {
    read_glove(path);
  } catch (const IoError& e) {
    return e.what();
  }
  return "(no error)";
}

// The number the CLI prints after " = " on the line that contains `key`.
double value_after(const std::string& out, const std::string& key) {
  auto p = out.find(key);
  REQUIRE(p != std::string::npos);
  p = out.find_first_of("=:", p + key.size());
  REQUIRE(p != std::string::npos);
  return std::stod(out.substr(p + 1));
}

} // namespace

TEST_CASE("Glove.ReadsTheSubset") {
  const WordVectors& v = subset();
  CHECK(v.size() == 5050);
  CHECK(v.dim == 50);
  CHECK(v.data.size() == 5050u * 50u);
  CHECK(v.words[0] == "the");
  CHECK(v.row(0)[0] == 0.418);
  for (const char* w : {"father", "mother", "france", "paris", "rome", "italy", "man", "woman", "boy", "girl",
                        "receptionist"})
    CHECK_MESSAGE(v.find(w).has_value(), w);
  CHECK(!v.find("no-such-word-xyz"));
}

TEST_CASE("Glove.ReaderErrors") {
  TempDir d;
  CHECK(has(error_of(d / "missing.txt"), "cannot read word-vector file '" + (d / "missing.txt") + "': no such file"));
  write_file(d / "empty.txt", "");
  CHECK(has(error_of(d / "empty.txt"), "empty file"));
  write_file(d / "ragged.txt", "a 1 2 3\nb 4 5 6\nc 7 8\n");
  CHECK(has(error_of(d / "ragged.txt"), "ragged.txt:3: ragged line: expected 3 numbers after 'c' (as on line 1), got 2"));
  write_file(d / "nan.txt", "a 1 2 3\nb 4 x5 6\n");
  CHECK(has(error_of(d / "nan.txt"), "nan.txt:2:5: 'x5' is not a number"));
  write_file(d / "dup.txt", "a 1 2\nb 3 4\na 5 6\n");
  CHECK(has(error_of(d / "dup.txt"), "dup.txt:3: duplicate word 'a' (first on line 1)"));
  write_file(d / "bare.txt", "a 1 2\nb\n");
  CHECK(has(error_of(d / "bare.txt"), "bare.txt:2: the word 'b' has no numbers"));
}

TEST_CASE("Glove.LenientOnLineEnds") {
  TempDir d;
  write_file(d / "crlf.txt", "\xEF\xBB\xBF" "caf\xC3\xA9 1 -2.5e-1\r\n\r\nb 3 4 \r\n");
  WordVectors v = read_glove(d / "crlf.txt");
  REQUIRE(v.size() == 2);
  CHECK(v.words[0] == "caf\xC3\xA9");
  CHECK(v.row(0)[1] == -0.25);
  CHECK(v.row(1)[1] == 4);
}

TEST_CASE("Glove.WriteReadRoundTrip") {
  TempDir d;
  const std::vector<std::string> words{"alpha", "beta", "\xC3\xA9t\xC3\xA9"};
  std::vector<double> x{0.1, -2.5, 1e-7, 3.0, 0.3333333333333333, -0.0, 12345.678, 2, 1.0 / 3};
  for (DType t : {DType::f32, DType::f64}) {
    Tensor vecs = Tensor::from({3, 3}, x, t);
    write_glove(d / "w.txt", words, vecs);
    WordVectors v = read_glove(d / "w.txt");
    CHECK(v.words == words);
    CHECK(v.dim == 3);
    for (int64_t i = 0; i < 9; ++i) { // exact (f32: the shortest decimal of the float, read back as float)
      const double back = v.data[static_cast<size_t>(i)];
      if (t == DType::f32)
        CHECK(static_cast<float>(back) == static_cast<float>(vecs.at(i)));
      else
        CHECK(back == vecs.at(i));
    }
  }
  CHECK_THROWS_AS(write_glove(d / "bad.txt", {"a b"}, Tensor::from({1, 1}, {1.0})), std::invalid_argument);
  CHECK_THROWS_AS(write_glove(d / "bad.txt", {"a"}, Tensor::from({2, 1}, {1.0, 2.0})), std::invalid_argument);
  CHECK_THROWS_AS(write_glove(d / "no/such/dir/w.txt", {"a"}, Tensor::from({1, 1}, {1.0})), IoError);
}

TEST_CASE("Glove.LargeFile") {
  // 40k words x 50: the reader's path for the course's 400k-word file (no timing asserted).
  TempDir d;
  const int n = 40000, dim = 50;
  {
    std::string s;
    s.reserve(size_t(n) * 400);
    char buf[32];
    for (int i = 0; i < n; ++i) {
      s += "w" + std::to_string(i);
      for (int j = 0; j < dim; ++j) {
        int len = std::snprintf(buf, sizeof buf, " %.5f", std::sin(i * 0.37 + j) * 0.8);
        s.append(buf, size_t(len));
      }
      s += '\n';
    }
    write_file(d / "big.txt", s);
  }
  WordVectors v = read_glove(d / "big.txt");
  CHECK(v.size() == n);
  CHECK(v.dim == dim);
  CHECK(*v.find("w39999") == 39999);
  CHECK(v.row(39999)[49] == doctest::Approx(std::sin(39999 * 0.37 + 49) * 0.8).epsilon(1e-4));
}

// The course prints 0.890903844289, -0.675147930817, 0.330779417506, -0.117110957653,
// 0.356666188463 and -/+0.700436428931. The subset's vectors (the original
// glove.6B.50d values) give, in float64, 0.890903833829, -0.675147931044,
// 0.33077942538, -0.11711095568, 0.356666187899 and -/+0.700436428934: the same
// to 1e-8, so the course's figures are asserted to that.
constexpr double kCourse = 3e-8; // relative

TEST_CASE("WordVectors.CourseFigures") {
  auto sim = graph_run("word_vectors similarity father mother");
  REQUIRE(sim.rc == 0);
  CHECK(has(sim.out, "cosine_similarity(father, mother) = 0.8909038"));
  CHECK(value_after(sim.out, "(father, mother)") == doctest::Approx(0.890903844289).epsilon(kCourse));

  auto fr = graph_run("word_vectors similarity france-paris rome-italy");
  REQUIRE(fr.rc == 0);
  CHECK(value_after(fr.out, "cosine_similarity(france - paris, rome - italy)") ==
        doctest::Approx(-0.675147930817).epsilon(kCourse));

  auto an = graph_run("word_vectors analogy man woman boy");
  REQUIRE(an.rc == 0);
  CHECK(has(an.out, "man -> woman :: boy -> girl"));

  auto ne = graph_run("word_vectors neutralize receptionist");
  REQUIRE(ne.rc == 0);
  CHECK(value_after(ne.out, "before neutralizing") == doctest::Approx(0.330779417506).epsilon(kCourse));
  CHECK(std::abs(value_after(ne.out, "after neutralizing")) < 1e-6);

  auto eq = graph_run("word_vectors equalize man woman");
  REQUIRE(eq.rc == 0);
  const auto after = eq.out.find("after equalizing");
  REQUIRE(after != std::string::npos);
  const std::string tail = eq.out.substr(after);
  CHECK(value_after(tail, "(e_man, g)") == doctest::Approx(-0.700436428931).epsilon(kCourse));
  CHECK(value_after(tail, "(e_woman, g)") == doctest::Approx(0.700436428931).epsilon(kCourse));
  // Before: the raw vectors' own cosines.
  CHECK(value_after(eq.out, "(e_man, g)") == doctest::Approx(-0.117110957653).epsilon(kCourse));
  CHECK(value_after(eq.out, "(e_woman, g)") == doctest::Approx(0.356666188463).epsilon(kCourse));
}

TEST_CASE("WordVectors.AnalogyTopK") {
  auto r = graph_run("analogy word_vectors italy italian spain -k 3");
  REQUIRE(r.rc == 0);
  CHECK(has(r.out, "italy -> italian :: spain -> ?"));
  CHECK(has(r.out, "  1. spanish"));
  CHECK(has(r.out, "  3. "));
}

TEST_CASE("WordVectors.NeighborsAndBias") {
  auto r = graph_run("word_vectors neighbors king -k 5");
  REQUIRE(r.rc == 0);
  CHECK(has(r.out, "nearest to king"));
  CHECK(has(r.out, "  5. "));
  CHECK(!has(r.out, "  6. "));
  CHECK(!has(r.out, ". king "));

  auto b = graph_run("word_vectors bias receptionist engineer");
  REQUIRE(b.rc == 0);
  CHECK(value_after(b.out, "cosine_similarity(receptionist, g)") == doctest::Approx(0.330779417506).epsilon(kCourse));
  CHECK(value_after(b.out, "cosine_similarity(engineer, g)") < 0);

  auto p = graph_run("word_vectors bias receptionist --pairs woman:man,mother:father,girl:boy");
  REQUIRE(p.rc == 0);
  CHECK(has(p.out, "mean of 3 pair"));
  CHECK(value_after(p.out, "cosine_similarity(receptionist, g)") > 0);
}

TEST_CASE("WordVectors.Errors") {
  auto u = graph_run("word_vectors similarity father mothr");
  CHECK(u.rc == 1);
  CHECK(has(u.out, "graph-run: error: unknown word 'mothr'"));
  CHECK(has(u.out, "mother")); // the closest spelling

  auto n = graph_run("word_vectors similarity father");
  CHECK(n.rc == 2);
  CHECK(has(n.out, "similarity takes 2 argument(s), got 1"));
  CHECK(has(n.out, "usage: graph-run word_vectors similarity W1 W2 [options]"));
  CHECK(graph_run("word_vectors equalize a b c").rc == 2);
  CHECK(graph_run("word_vectors bias").rc == 2);

  auto f = graph_run("word_vectors similarity a b --vectors /no/such/file.txt");
  CHECK(f.rc == 1);
  CHECK(has(f.out, "/no/such/file.txt"));

  CHECK(graph_run("word_vectors similarity a b -k 3").rc == 2); // -k is analogy's and neighbors'
  CHECK(graph_run("word_vectors eval").rc == 2);                // no graphs: no eval
}

TEST_CASE("WordVectors.Help") {
  auto h = graph_run("word_vectors --help", true);
  CHECK(h.rc == 0);
  for (const char* s : {"similarity W1 W2", "analogy A B C", "neighbors W...", "bias W...", "neutralize W",
                        "equalize W1 W2", "--vectors", "--pairs", "-k"})
    CHECK_MESSAGE(has(h.out, s), s);
  CHECK(!has(h.out, "gradcheck"));
  CHECK(!has(h.out, "--checkpoint"));

  auto c = graph_run("analogy word_vectors --help", true);
  CHECK(c.rc == 0);
  CHECK(has(c.out, "usage: graph-run word_vectors analogy A B C [options]"));
  CHECK(has(c.out, "-k"));
  CHECK(!has(c.out, "--pairs"));
  CHECK(!has(c.out, "--checkpoint"));

  auto l = graph_run("list", true);
  CHECK(has(l.out, "word_vectors"));
  CHECK(has(l.out, "similarity, analogy, neighbors, bias, neutralize, equalize"));
}
