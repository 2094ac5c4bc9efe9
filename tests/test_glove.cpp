// GloVe trained by seqgraph (models/glove.cpp): tokenising, the
// co-occurrence counts (window, 1/distance, symmetric) against hand counts,
// the weighting f, the loss graph against a hand computation, the loss
// falling under AdaGrad, and `graph-run glove train` writing vectors in the
// GloVe text format; all on tiny corpora the tests write (no dict-gcide).
#include "graph/checkpoint.hpp"
#include "graph/errors.hpp"
#include "graph/plan.hpp"
#include "models/glove.hpp"
#include "tests/cli_helpers.hpp"
#include "tests/helpers.hpp"

#include <cmath>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <sys/wait.h>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fstream>
#include <map>
#include <sstream>

using namespace sg;
using sg::test::graph_run;
using sg::test::TempDir;

namespace {

std::string write_text(const TempDir& dir, const std::string& text, const std::string& file = "corpus.txt") {
  std::string path = dir / file;
  std::ofstream(path) << text;
  return path;
}

// X as a map (word_i, word_j) -> X_ij.
std::map<std::pair<std::string, std::string>, double> as_map(const glove::Vocab& v,
                                                            const std::vector<glove::Pair>& pairs) {
  std::map<std::pair<std::string, std::string>, double> m;
  for (auto& p : pairs) m[{v.words[size_t(p.i)], v.words[size_t(p.j)]}] = p.x;
  return m;
}

// A corpus with structure: animals with animal words, food with food words.
std::string toy_corpus() {
  const std::vector<std::string> a = {"cat", "dog", "horse"}, af = {"barks", "runs", "sleeps"},
                                 b = {"bread", "cheese", "apple"}, bf = {"tasty", "eaten", "sweet"};
  std::string s;
  for (int k = 0; k < 120; ++k) {
    s += fmt::format("the {} {} and the {} {}\n", a[size_t(k % 3)], af[size_t(k / 3 % 3)],
                     a[size_t((k + 1) % 3)], af[size_t((k + 2) % 3)]);
    s += fmt::format("some {} is {} and {}\n\n", b[size_t(k % 3)], bf[size_t(k / 3 % 3)], bf[size_t((k + 1) % 3)]);
  }
  return s;
}

} // namespace

TEST_CASE("GloveTrain.Tokenize") {
  CHECK(glove::tokenize("The cat's 'mat', [1913 Webster] ON-line 42x")
        == std::vector<std::string>{"the", "cat's", "mat", "on", "line", "x"});
  CHECK(glove::tokenize("  [Obs.]  ").empty());
  CHECK(glove::tokenize("errors. \"Magic I here abjure.\" --Shak. more")
        == std::vector<std::string>{"errors", "magic", "i", "here", "abjure"});
  CHECK(glove::tokenize("a-b - c") == std::vector<std::string>{"a", "b", "c"});
  CHECK(glove::tokenize("Abjure \\Ab*jure\"\\, v. t.") == std::vector<std::string>{"abjure", "v", "t"});
}

TEST_CASE("GloveTrain.Vocab") {
  TempDir dir;
  auto path = write_text(dir, "b a c a\nb a d\n");
  auto v = glove::build_vocab(path, 2, 0);
  CHECK(v.words == std::vector<std::string>{"a", "b"}); // a 3 times, b twice; c, d once
  CHECK(v.counts == std::vector<int64_t>{3, 2});
  CHECK(v.find("b") == 1);
  CHECK(v.find("c") == -1);
  CHECK(glove::build_vocab(path, 1, 3).words == std::vector<std::string>{"a", "b", "c"});
  // --keep-words: kept if seen at all; unseen ones are not invented.
  CHECK(glove::build_vocab(path, 2, 0, {"d", "zz"}).words == std::vector<std::string>{"a", "b", "d"});
  CHECK(glove::build_vocab(path, 2, 1, {"d"}).words == std::vector<std::string>{"a", "d"});
  auto list = write_text(dir, "Happy dog,1\nsad day,2\n", "words.csv");
  CHECK(glove::words_of(list + "," + path) == std::unordered_set<std::string>{"happy", "dog", "sad", "day", "a", "b", "c", "d"});
  CHECK_THROWS_AS(glove::words_of(dir / "missing.csv"), IoError);
  CHECK_THROWS_AS(glove::build_vocab(path, 4, 0), IoError);
  CHECK_THROWS_AS(glove::build_vocab(dir / "missing.txt", 1, 0), IoError);
}

TEST_CASE("GloveTrain.Cooccurrences") {
  TempDir dir;
  // Paragraph 1: the cat sat (a line break does not end it) the; paragraph 2: cat the.
  // "zz" is out of the vocabulary (min count 2): dropped before distances are taken.
  auto path = write_text(dir, "the cat zz sat\nthe\n\ncat the sat\n");
  auto v = glove::build_vocab(path, 2, 0); // the 3, cat 2, sat 2
  REQUIRE(v.words == std::vector<std::string>{"the", "cat", "sat"});
  auto X = as_map(v, glove::cooccurrences(path, v, 10));
  // Paragraph 1 "the cat sat the": (the,cat) 1, (cat,sat) 1, (the,sat) 1/2,
  // (sat,the) 1, (cat,the) 1/2, (the,the) at distance 3: 2 * 1/3.
  // Paragraph 2 "cat the sat": (cat,the) 1, (the,sat) 1, (cat,sat) 1/2.
  using P = std::pair<std::string, std::string>;
  CHECK(X.size() == 7); // 3 off-diagonal entries, both ways, + (the, the)
  CHECK(X[P{"the", "cat"}] == doctest::Approx(1 + 0.5 + 1));
  CHECK(X[P{"cat", "the"}] == doctest::Approx(2.5));
  CHECK(X[P{"cat", "sat"}] == doctest::Approx(1 + 0.5));
  CHECK(X[P{"sat", "cat"}] == doctest::Approx(1.5));
  CHECK(X[P{"the", "sat"}] == doctest::Approx(0.5 + 1 + 1));
  CHECK(X[P{"sat", "the"}] == doctest::Approx(2.5));
  CHECK(X[P{"the", "the"}] == doctest::Approx(2.0 / 3));

  // Window 1: only neighbours. Paragraph 1: the-cat, cat-sat, sat-the; paragraph 2: cat-the, the-sat.
  auto X1 = as_map(v, glove::cooccurrences(path, v, 1));
  CHECK(X1.size() == 6);
  CHECK(X1[P{"the", "cat"}] == doctest::Approx(2));
  CHECK(X1[P{"cat", "sat"}] == doctest::Approx(1));
  CHECK(X1[P{"the", "sat"}] == doctest::Approx(2));

  // Sorted by (i, j).
  auto pairs = glove::cooccurrences(path, v, 10);
  for (size_t k = 1; k < pairs.size(); ++k)
    CHECK(std::pair(pairs[k - 1].i, pairs[k - 1].j) < std::pair(pairs[k].i, pairs[k].j));
}

TEST_CASE("GloveTrain.Weighting") {
  CHECK(glove::weight(100) == 1.0);
  CHECK(glove::weight(250) == 1.0);
  CHECK(glove::weight(1) == doctest::Approx(std::pow(0.01, 0.75)));
  CHECK(glove::weight(50) == doctest::Approx(std::pow(0.5, 0.75)));
  CHECK(glove::weight(2, 4, 0.5) == doctest::Approx(std::sqrt(0.5)));
}

TEST_CASE("GloveTrain.Loss") {
  // V = 3, d = 2, B = 3 pairs, against ½ Σ f(x) (w_iᵀ w̃_j + b_i + b̃_j − log x)²,
  // with the paper's x_max = 100 and with --x-max 10.
  for (double x_max : {100.0, 10.0}) {
  CAPTURE(x_max);
  auto n = glove::net(3, 2, 3, false, 0.05, true, x_max);
  ParamStore store;
  const std::vector<double> W = {0.1, -0.2, 0.3, 0.4, -0.5, 0.6}, Wt = {0.7, 0.1, -0.3, 0.2, 0.05, -0.4},
                            b = {0.01, -0.02, 0.03}, bt = {-0.1, 0.2, 0.15};
  store.set("W", test::vals({3, 2}, W));
  store.set("W_tilde", test::vals({3, 2}, Wt));
  store.set("b", test::vals({3}, b));
  store.set("b_tilde", test::vals({3}, bt));
  Plan plan(*n.g, store, {n.loss}, {}, {DType::f64});
  const std::vector<int> I = {0, 2, 1}, J = {1, 0, 2};
  const std::vector<double> x = {3.0, 150.0, 0.5};
  plan.feed("i", test::vals({3}, {0, 2, 1}));
  plan.feed("j", test::vals({3}, {1, 0, 2}));
  plan.feed("x", test::vals({3}, x));
  plan.run();
  double want = 0;
  for (size_t k = 0; k < 3; ++k) {
    const auto i = size_t(I[k]), j = size_t(J[k]);
    const double dot = W[2 * i] * Wt[2 * j] + W[2 * i + 1] * Wt[2 * j + 1];
    const double diff = dot + b[i] + bt[j] - std::log(x[k]);
    want += 0.5 * glove::weight(x[k], x_max) * diff * diff;
  }
  CHECK(plan.fetch(n.loss).at(0) == doctest::Approx(want).epsilon(1e-12));
  }
}

TEST_CASE("GloveTrain.LossFalls") {
  TempDir dir;
  auto path = write_text(dir, toy_corpus());
  auto v = glove::build_vocab(path, 1, 0);
  auto pairs = glove::cooccurrences(path, v, 10);
  const auto B = int64_t(pairs.size());
  auto n = glove::net(int64_t(v.words.size()), 8, B, true, 0.5); // full batch, a larger step
  ParamStore store;
  Plan plan(*n.g, store, {n.loss}, n.opt.updates, {DType::f32, 1});
  Tensor i({B}, DType::f64), j({B}, DType::f64), x({B}, DType::f64);
  for (int64_t k = 0; k < B; ++k) {
    i.set(k, pairs[size_t(k)].i);
    j.set(k, pairs[size_t(k)].j);
    x.set(k, pairs[size_t(k)].x);
  }
  plan.feed("i", i);
  plan.feed("j", j);
  plan.feed("x", x);
  std::vector<double> losses;
  for (int s = 0; s < 60; ++s) {
    plan.run();
    losses.push_back(plan.fetch(n.loss).at(0));
  }
  INFO(fmt::format("losses {}", fmt::join(losses, " ")));
  CHECK(losses[20] < 0.02 * losses[0]); // about 560 -> 5.6 (the first steps overshoot)
  CHECK(losses.back() < 0.75 * losses[20]);
  for (size_t s = 6; s < losses.size(); ++s) CHECK(losses[s] < losses[s - 1]);
}

TEST_CASE("GloveTrain.SparseUpdateEqualsDense") {
  // The training step updates only the rows a batch names (sparse_apply_adagrad
  // for W, W_tilde, b, b_tilde; no dense (V, d) gradient is computed), and
  // leaves exactly what the dense AdaGrad of every row leaves, bit for bit:
  // batches of 64 pairs of the toy corpus (16 words: every batch repeats rows).
  TempDir dir;
  auto path = write_text(dir, toy_corpus());
  auto v = glove::build_vocab(path, 1, 0);
  auto pairs = glove::cooccurrences(path, v, 10);
  const auto V = int64_t(v.words.size());
  constexpr int64_t B = 64;
  REQUIRE(pairs.size() > size_t(2 * B)); // 236
  for (DType dt : {DType::f64, DType::f32}) {
    CAPTURE(to_string(dt));
    auto sparse = glove::net(V, 5, B, true, 0.05, true), dense = glove::net(V, 5, B, true, 0.05, false);
    CHECK(sparse.g->nodes_of(Op::SparseApplyAdaGrad).size() == 4);
    CHECK(sparse.g->nodes_of(Op::ApplyAdaGrad).empty());
    CHECK(dense.g->nodes_of(Op::ApplyAdaGrad).size() == 4);
    ParamStore s1, s2;
    Plan p1(*sparse.g, s1, {sparse.loss}, sparse.opt.updates, {dt, 3});
    Plan p2(*dense.g, s2, {dense.loss}, dense.opt.updates, {dt, 3});
    for (NodeId id : p1.order()) CHECK(sparse.g->node(id).op != Op::GatherGrad);
    for (int64_t step = 0; step < 4; ++step) {
      Tensor i({B}, DType::f64), j({B}, DType::f64), x({B}, DType::f64);
      for (int64_t k = 0; k < B; ++k) { // a stride through the sorted pairs: many rows, repeated
        const auto& p = pairs[size_t((step * B + k) * 7 % int64_t(pairs.size()))];
        i.set(k, p.i);
        j.set(k, p.j);
        x.set(k, p.x);
      }
      for (Plan* p : {&p1, &p2}) {
        p->feed("i", i);
        p->feed("j", j);
        p->feed("x", x);
        p->run();
      }
      CHECK(p1.fetch(sparse.loss).at(0) == p2.fetch(dense.loss).at(0));
    }
    for (const char* name : {"W", "W_tilde", "b", "b_tilde", "W/adagrad_accum", "W_tilde/adagrad_accum",
                             "b/adagrad_accum", "b_tilde/adagrad_accum"}) {
      CAPTURE(name);
      const Tensor &a = s1.at(name), &b = s2.at(name);
      REQUIRE(a.nbytes() == b.nbytes());
      CHECK(std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0);
    }
  }
}

TEST_CASE("GloveTrain.GraphRunWritesVectors") {
  TempDir dir;
  auto corpus = write_text(dir, toy_corpus());
  const std::string out = dir / "vectors.txt", hist = dir / "loss.csv";
  auto r = graph_run(fmt::format("glove train --corpus {} --output {} --dim 6 --epochs 4 --min-count 1 "
                                 "--batch-size 64 --history {} --checkpoint {}",
                                 corpus, out, hist, dir / "glove.ckpt"));
  INFO(r.out);
  REQUIRE(r.rc == 0);
  CHECK(test::has(r.out, "examples/s"));
  // The GloVe text format: every word of the vocabulary, then d numbers.
  std::ifstream in(out);
  std::string line;
  std::map<std::string, int> words;
  while (std::getline(in, line)) {
    std::istringstream s(line);
    std::string w;
    s >> w;
    int count = 0;
    double value;
    while (s >> value) {
      CHECK(std::isfinite(value));
      ++count;
    }
    CHECK(s.eof());
    CHECK(count == 6);
    ++words[w];
  }
  CHECK(words.size() == 16);
  CHECK(words.count("cheese") == 1);
  // The epoch losses fall.
  std::ifstream h(hist);
  std::getline(h, line);
  CHECK(line == "epoch,loss");
  std::vector<double> losses;
  while (std::getline(h, line)) losses.push_back(std::stod(line.substr(line.find(',') + 1)));
  REQUIRE(losses.size() == 4);
  CHECK(losses.back() < losses.front());

  // word_vectors reads what glove wrote.
  auto nb = graph_run(fmt::format("word_vectors neighbors cheese --vectors {} -k 3", out));
  INFO(nb.out);
  CHECK(nb.rc == 0);
  CHECK(test::has(nb.out, "nearest to cheese"));
  auto unknown = graph_run(fmt::format("word_vectors neighbors nosuchword --vectors {}", out));
  CHECK(unknown.rc == 1);
  CHECK(test::has(unknown.out, "unknown word 'nosuchword'"));
}

TEST_CASE("GloveTrain.CorpusScript") {
  // models/data/glove_corpus.sh on tiny stand-ins for the four Debian sources.
  namespace fs = std::filesystem;
  const fs::path script = fs::path(__FILE__).parent_path().parent_path() / "models" / "data" / "glove_corpus.sh";
  REQUIRE_MESSAGE(fs::exists(script), script.string()); // __FILE__ is relative to the build directory
  TempDir dir;
  fs::create_directories(dir / "wn");
  fs::create_directories(dir / "fortunes");
  write_text(dir, "Apple \\Ap\"ple\\, n. [AS. aeppel.] The fruit of a tree. --Shak.\n", "gcide.txt");
  write_text(dir, "  1 This software and database is being provided\n"
                  "03952576 06 n 03 pizzeria 0 pizza_shop 0 pizza_parlor 0 001 @ 04202417 n 0000 | a shop "
                  "where pizzas are made and sold  \n"
                  "00000001 03 n 0c w1 0 w2 0 w3 0 w4 0 w5 0 w6 0 w7 0 w8 0 w9 0 w10 0 w11 0 w12 0 000 | twelve "
                  "words\n", "wn/data.noun");
  write_text(dir, "00021110 00 s 02 complaisant(a) 0 obliging 0 001 & 00020787 a 0000 | showing a cheerful "
                  "willingness; \"the obliging waiter\"\n", "wn/data.adj");
  write_text(dir, "", "wn/data.verb");
  write_text(dir, "", "wn/data.adv");
  write_text(dir, "UTF-8\nfunny|2\n(adj)|amusing|comic|humorous (similar term)|serious (antonym)\n"
                  "(noun)|funny story|joke (generic term)\nfunny farm|1\n(noun)|madhouse|nuthouse\n", "th.dat");
  write_text(dir, "Love is all you need.\n%\nA second cookie\n%\n", "fortunes/love");
  write_text(dir, "index", "fortunes/love.dat");
  fs::create_symlink("love", dir / "fortunes/love.u8");
  write_text(dir, "ASCII ART WORDS\n", "fortunes/ascii-art");
  const std::string env = fmt::format("GCIDE={} WORDNET={} THESAURUS={} FORTUNES={}", dir / "gcide.txt.gz",
                                      dir / "wn", dir / "th.dat", dir / "fortunes");
  auto run = [&](const std::string& env_) {
    std::string cmd = fmt::format("gzip -c {} > {} && {} sh {} {} 2>&1", dir / "gcide.txt", dir / "gcide.txt.gz",
                                  env_, script.string(), dir / "corpus.txt");
    test::Result r;
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    const int status = ::pclose(p);
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
  };
  auto r = run(env);
  INFO(r.out);
  REQUIRE(r.rc == 0);
  CHECK(test::has(r.out, "wrote"));
  const std::string text = test::read_file(dir / "corpus.txt");
  INFO(text);
  CHECK(test::has(text, "Apple \\Ap\"ple\\, n. [AS. aeppel.] The fruit of a tree. --Shak.\n\n"));
  CHECK(test::has(text, "\npizzeria pizza shop pizza parlor | a shop where pizzas are made and sold  \n\n"));
  CHECK(test::has(text, "\nw1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12 | twelve words\n\n")); // w_cnt is hex
  CHECK(test::has(text, "\ncomplaisant obliging | showing a cheerful willingness; \"the obliging waiter\"\n\n"));
  CHECK_FALSE(test::has(text, "This software"));
  CHECK(test::has(text, "\nfunny amusing comic humorous\n\n")); // the antonym left out
  CHECK(test::has(text, "\nfunny funny story joke\n\n"));
  CHECK_FALSE(test::has(text, "madhouse")); // a phrase headword's senses
  CHECK(test::has(text, "\nLove is all you need.\n\nA second cookie\n\n"));
  CHECK(text.find("Love is all") == text.rfind("Love is all")); // love.u8 is the same file
  CHECK_FALSE(test::has(text, "ASCII ART"));
  CHECK_FALSE(test::has(text, "index"));
  CHECK_FALSE(test::has(text, "%"));
  // what glove counts from it
  auto v = glove::build_vocab(dir / "corpus.txt", 1, 0);
  for (std::string w : {"apple", "fruit", "pizza", "pizzas", "obliging", "humorous", "love", "cookie"}) {
    CAPTURE(w);
    CHECK(v.find(w) >= 0);
  }
  CHECK(v.find("serious") < 0);
  CHECK(v.find("shak") < 0);
  // a missing source is named
  auto missing = run(env + " THESAURUS=" + (dir / "nothere.dat"));
  CHECK(missing.rc != 0);
  CHECK(test::has(missing.out, "nothere.dat is missing"));
}

TEST_CASE("GloveTrain.GraphRunGradcheck") {
  // graph-run's view of the objective: eight fixed pairs over V = 10, d = 4.
  auto r = graph_run("gradcheck glove");
  INFO(r.out);
  CHECK(r.rc == 0);
  CHECK(test::has(r.out, "W_tilde"));
}

TEST_CASE("GloveTrain.LearningRateSchedule") {
  // --lr-schedule decays AdaGrad's learning rate by its step count (a slot in
  // the checkpoint): 236 pairs in batches of 64, 4 steps an epoch
  TempDir dir;
  auto corpus = write_text(dir, toy_corpus());
  const std::string common = fmt::format("glove train --corpus {} --dim 6 --min-count 1 --batch-size 64 --epochs 2 "
                                         "--quiet", corpus);
  auto r = graph_run(fmt::format("{} --checkpoint {} --lr-schedule step --lr-decay-rate 0.5 --lr-decay-steps 2",
                                 common, dir / "s.ckpt"));
  INFO(r.out);
  REQUIRE(r.rc == 0);
  REQUIRE(graph_run(fmt::format("{} --checkpoint {}", common, dir / "c.ckpt")).rc == 0);
  const Checkpoint s = load_checkpoint(dir / "s.ckpt", "glove"), c = load_checkpoint(dir / "c.ckpt", "glove");
  CHECK(s.params.at("adagrad/iterations").at(0) == 8);
  CHECK_FALSE(c.params.contains("adagrad/iterations")); // no schedule, no step counter
  CHECK(s.params.at("W").at(0) != c.params.at("W").at(0));
}

TEST_CASE("GloveTrain.Resume") {
  // 2 epochs, then --resume to 4: the vectors of 4 uninterrupted epochs, bitwise
  // (the AdaGrad accumulators are in the checkpoint; each epoch's shuffle is (seed, epoch)).
  TempDir dir;
  auto corpus = write_text(dir, toy_corpus());
  const std::string common = fmt::format("glove train --corpus {} --dim 6 --min-count 1 --batch-size 64 --quiet", corpus);
  auto full = graph_run(fmt::format("{} --epochs 4 --checkpoint {} --output {}", common, dir / "a.ckpt", dir / "a.txt"));
  INFO(full.out);
  REQUIRE(full.rc == 0);
  auto half = graph_run(fmt::format("{} --epochs 2 --checkpoint {}", common, dir / "b.ckpt"));
  REQUIRE(half.rc == 0);
  auto rest = graph_run(fmt::format("{} --epochs 4 --resume --checkpoint {} --output {}", common, dir / "b.ckpt",
                                    dir / "b.txt"));
  INFO(rest.out);
  REQUIRE(rest.rc == 0);
  CHECK(test::read_file(dir / "a.txt") == test::read_file(dir / "b.txt"));
}
