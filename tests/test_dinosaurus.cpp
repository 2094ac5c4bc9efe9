// Dinosaurus Island (models/dinosaurus.cpp): the data pipeline in process,
// then training, sampling, checkpoints and resume through graph-run, as a
// user runs them, on a small names file the tests write (so they need no
// course data and take a fraction of a second).
#include "graph/checkpoint.hpp"
#include "models/dinosaurus.hpp"
#include "models/train/sampling.hpp"
#include "tests/cli_helpers.hpp"
#include "tests/helpers.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fstream>
#include <set>
#include <sstream>

using namespace sg;
using sg::test::graph_run;
using sg::test::has;
using sg::test::lines_of;
using sg::test::read_file;
using sg::test::Result;
using sg::test::TempDir;

namespace {

// Twelve six-letter names: seven steps each, so an untrained model's loss is
// about 7 ln 27 = 23.07, the smoothed loss's starting value.
const std::vector<std::string> kNames = {"Raptor", "Saurus", "Tricer", "Stegos", "Allosa", "Brachi",
                                         "Diplod", "Iguano", "Megalo", "Pteros", "Velaci", "Ankylo"};

std::string write_names(const TempDir& dir, const std::vector<std::string>& names = kNames,
                        const std::string& file = "names.txt") {
  std::string path = dir / file;
  std::ofstream out(path);
  for (auto& n : names) out << n << "\n";
  return path;
}

// The loss column of a history CSV, by iteration.
std::vector<double> losses(const std::string& csv) {
  auto rows = lines_of(read_file(csv));
  REQUIRE(!rows.empty());
  CHECK(rows[0] == "iteration,loss");
  std::vector<double> r;
  for (size_t i = 1; i < rows.size(); ++i) {
    auto comma = rows[i].find(',');
    REQUIRE(comma != std::string::npos);
    CHECK(std::stoll(rows[i].substr(0, comma)) == int64_t(i - 1));
    r.push_back(std::stod(rows[i].substr(comma + 1)));
  }
  return r;
}

std::vector<int> encode(const std::string& name) {
  std::vector<int> r;
  for (char c : name) r.push_back(std::tolower(c) - 'a' + 1);
  return r;
}

template <class F> std::string io_error_of(F&& f) { return sg::test::error_of<IoError>(f); }

} // namespace

TEST_CASE("Dinosaurus.Vocabulary") {
  const auto& v = dinosaurus::vocab();
  CHECK(v.size() == dinosaurus::n_x);
  CHECK(v.index('\n') == 0);
  for (char c = 'a'; c <= 'z'; ++c) CHECK(v.index(c) == c - 'a' + 1);
}

TEST_CASE("Dinosaurus.DataPipeline") {
  TempDir dir;
  const std::string path = write_names(dir);
  const auto names = dinosaurus::load_names(path, 0);
  REQUIRE(names.size() == kNames.size());

  // shuffled once with the seed: the file's names, lower-cased, in the order
  // Fisher-Yates gives with the model's shuffle stream
  std::vector<std::vector<int>> in_file;
  for (auto& n : kNames) in_file.push_back(encode(n));
  std::vector<std::vector<int>> expected = in_file;
  train::shuffle(expected, 0, rng::hash_name("dinosaurus/shuffle"));
  CHECK(names == expected);
  CHECK(names != in_file);
  CHECK(dinosaurus::load_names(path, 0) == names);
  CHECK(dinosaurus::load_names(path, 1) != names);
  CHECK(dinosaurus::fingerprint(dinosaurus::load_names(path, 1)) != dinosaurus::fingerprint(names));

  // step j: X = [None, c1..cn], Y = [c1..cn, '\n'], name j mod N
  for (int64_t j : {0, 1, 13}) {
    const auto& name = names[size_t(j % 12)];
    const dinosaurus::Example e = dinosaurus::example(names, j);
    REQUIRE(e.X.size() == name.size() + 1);
    REQUIRE(e.Y.size() == name.size() + 1);
    CHECK(e.X[0] == -1); // the zero vector
    CHECK(std::equal(name.begin(), name.end(), e.X.begin() + 1));
    CHECK(std::equal(name.begin(), name.end(), e.Y.begin()));
    CHECK(e.Y.back() == 0); // '\n'
  }
  // the first example, spelled out: one of the file's names, lower-cased
  const dinosaurus::Example e0 = dinosaurus::example(names, 0);
  const std::string first = dinosaurus::vocab().decode(e0.Y);
  CHECK(first.back() == '\n');
  CHECK(std::find_if(kNames.begin(), kNames.end(), [&](const std::string& n) {
          std::string lower = n;
          for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
          return lower + "\n" == first;
        }) != kNames.end());
}

TEST_CASE("Dinosaurus.MalformedNames") {
  TempDir dir;
  CHECK(has(io_error_of([&] { dinosaurus::load_names(dir / "nope.txt", 0); }),
            "cannot read text file '" + (dir / "nope.txt") + "': no such file"));
  std::ofstream(dir / "empty.txt") << "\n\n";
  CHECK(has(io_error_of([&] { dinosaurus::load_names(dir / "empty.txt", 0); }),
            "is empty: expected one name per line"));
  std::ofstream(dir / "bad.txt") << "Aachenosaurus\nAardonyx\nT-Rex\n";
  CHECK(has(io_error_of([&] { dinosaurus::load_names(dir / "bad.txt", 0); }),
            "bad.txt:3: '-' (column 2) in name 't-rex' is not in the vocabulary ('\\n', a-z)"));

  // graph-run says the same, exit status 1
  Result r = graph_run(fmt::format("dinosaurus train --data '{}' --checkpoint '{}'", dir / "bad.txt",
                                   dir / "x.ckpt"));
  CHECK(r.rc == 1);
  CHECK(has(r.out, "graph-run: error: "));
  CHECK(has(r.out, "bad.txt:3: '-'"));
}

TEST_CASE("Dinosaurus.TrainingLowersTheLoss") {
  TempDir dir;
  const std::string names = write_names(dir);
  Result r = graph_run(fmt::format("dinosaurus train --data '{}' --iterations 3000 --checkpoint '{}' "
                                   "--history '{}'",
                                   names, dir / "d.ckpt", dir / "h.csv"));
  REQUIRE(r.rc == 0);
  // not a terminal: the reports as plain lines, no bar
  CHECK(!has(r.out, "\r"));
  CHECK(has(r.out, "Iteration: 0, Loss: 23.0"));
  CHECK(has(r.out, "Iteration: 2000, Loss: "));
  CHECK(has(r.out, "dinosaurus: 3000 iterations in "));

  // the smoothed loss: 0.999 smoothed + 0.001 loss from 7 ln 27, going down
  const std::vector<double> l = losses(dir / "h.csv");
  REQUIRE(l.size() == 3000);
  const double start = -std::log(1.0 / 27) * 7;
  CHECK(std::abs(l[0] - start) < 0.01); // one step away from the start
  CHECK(l[1000] < l[0] - 1);
  CHECK(l[2999] < l[1000] - 1);
  CHECK(l[2999] < 17);
  for (size_t i = 1; i < l.size(); ++i) {
    // one step moves it by 0.001 (loss - smoothed): never far
    INFO("iteration ", i);
    CHECK(std::abs(l[i] - l[i - 1]) < 0.05);
  }
}

TEST_CASE("Dinosaurus.CheckpointAndSampling") {
  TempDir dir;
  const std::string names = write_names(dir);
  const std::string ckpt = dir / "d.ckpt";
  REQUIRE(graph_run(fmt::format("dinosaurus train --data '{}' --iterations 3000 --checkpoint '{}' "
                                "--quiet",
                                names, ckpt))
              .rc == 0);

  // the parameters as the course names and shapes them, and the loop state
  Checkpoint ck = load_checkpoint(ckpt, "dinosaurus");
  CHECK(ck.params.at("Wax").shape() == Shape{50, 27});
  CHECK(ck.params.at("Waa").shape() == Shape{50, 50});
  CHECK(ck.params.at("Wya").shape() == Shape{27, 50});
  CHECK(ck.params.at("b").shape() == Shape{50, 1});
  CHECK(ck.params.at("by").shape() == Shape{27, 1});
  CHECK(ck.params.at("loop/a_prev").shape() == Shape{50, 1});
  CHECK(ck.params.size() == 6);
  CHECK(ck.meta.at("step") == "3000");

  // sampling: -n names, capitalised, a-z after the capital, at most 50
  // characters; the same seed gives the same names
  Result s = graph_run(fmt::format("dinosaurus sample --checkpoint '{}' -n 12 --seed 4", ckpt), true);
  REQUIRE(s.rc == 0);
  const auto sampled = lines_of(s.out);
  REQUIRE(sampled.size() == 12);
  for (auto& n : sampled) {
    INFO(n);
    CHECK(n.size() <= 50);
    if (n.empty()) continue;
    CHECK(std::isupper(static_cast<unsigned char>(n[0])));
    CHECK(std::all_of(n.begin() + 1, n.end(), [](char c) { return c >= 'a' && c <= 'z'; }));
  }
  CHECK(graph_run(fmt::format("sample dinosaurus --checkpoint '{}' -n 12 --seed 4", ckpt), true).out ==
        s.out);
  Result other = graph_run(fmt::format("dinosaurus sample --checkpoint '{}' -n 12 --seed 5", ckpt), true);
  CHECK(other.out != s.out);
  // trained on six-letter names, it ends its names early; untrained, '\n' is
  // one draw in 27 and names run to about 26 characters (often to the 50 cap)
  auto mean_length = [](const std::vector<std::string>& ns) {
    double total = 0;
    for (auto& n : ns) total += double(n.size());
    return total / double(ns.size());
  };
  CHECK(mean_length(sampled) < 10);

  // temperature 0: the likeliest character every time, so every name is the same
  Result greedy = graph_run(fmt::format("dinosaurus sample --checkpoint '{}' -n 3 --temperature 0", ckpt), true);
  REQUIRE(greedy.rc == 0);
  const auto g = lines_of(greedy.out);
  REQUIRE(g.size() == 3);
  CHECK(g[0] == g[1]);
  CHECK(g[1] == g[2]);
  CHECK(!g[0].empty());

  // the report samples during training are what `sample -n 7` gives from the
  // checkpoint of that iteration (same seed): here the one at iteration 0 ...
  Result at0 = graph_run(fmt::format("dinosaurus train --data '{}' --iterations 1 --checkpoint '{}'",
                                     names, dir / "one.ckpt"));
  Result s0 = graph_run(fmt::format("dinosaurus sample --checkpoint '{}' -n 7", dir / "one.ckpt"), true);
  REQUIRE(at0.rc == 0);
  REQUIRE(s0.rc == 0);
  CHECK(lines_of(s0.out).size() == 7);
  CHECK(has(at0.out, "Iteration: 0, Loss: "));
  CHECK(has(at0.out, s0.out));
  CHECK(mean_length(lines_of(s0.out)) > 15);

  // errors a user can make
  Result e = graph_run(fmt::format("dinosaurus sample --checkpoint '{}'", dir / "none.ckpt"));
  CHECK(e.rc == 1);
  CHECK(has(e.out, "there is no checkpoint '" + (dir / "none.ckpt") + "': train first"));
  e = graph_run(fmt::format("dinosaurus sample --checkpoint '{}' -n -1", ckpt));
  CHECK(e.rc == 2);
  CHECK(has(e.out, "-n must be an integer >= 0, got '-1'"));
  e = graph_run(fmt::format("dinosaurus sample --checkpoint '{}' --temperature -0.5", ckpt));
  CHECK(e.rc == 2);
  CHECK(has(e.out, "--temperature must be a number >= 0, got '-0.5'"));
  e = graph_run(fmt::format("dinosaurus sample --checkpoint '{}' --iterations 5", ckpt));
  CHECK(e.rc == 2); // a train option
  CHECK(has(e.out, "--iterations"));
}

TEST_CASE("Dinosaurus.ResumeEqualsUninterruptedRun") {
  TempDir dir;
  const std::string names = write_names(dir);
  auto train = [&](const std::string& ckpt, const std::string& csv, int iterations,
                   const std::string& extra = "") {
    return graph_run(fmt::format("dinosaurus train --data '{}' --iterations {} --checkpoint '{}' "
                                 "--history '{}' --seed 3 --save-every 250 --quiet {}",
                                 names, iterations, dir / ckpt, dir / csv, extra));
  };
  REQUIRE(train("whole.ckpt", "whole.csv", 1200).rc == 0);
  REQUIRE(train("part.ckpt", "part.csv", 600).rc == 0);
  // as if the first run had gone on past its checkpoint before stopping:
  // the resumed run drops those rows
  std::ofstream(dir / "part.csv", std::ios::app) << "600,1.5\n601,1.25\n";
  Result r = train("part.ckpt", "part.csv", 1200, "--resume");
  REQUIRE(r.rc == 0);
  CHECK(has(r.out, "resumed at iteration 600"));

  CHECK(read_file(dir / "part.csv") == read_file(dir / "whole.csv"));
  Checkpoint a = load_checkpoint(dir / "whole.ckpt"), b = load_checkpoint(dir / "part.ckpt");
  CHECK(a.meta == b.meta);
  REQUIRE(a.params.size() == b.params.size());
  for (auto& [name, t] : a.params.all()) {
    INFO(name);
    const Tensor& u = b.params.at(name);
    REQUIRE(u.shape() == t.shape());
    REQUIRE(u.dtype() == t.dtype());
    CHECK(std::memcmp(t.raw(), u.raw(), t.nbytes()) == 0); // bitwise
  }

  // resuming needs the same seed and names, and a checkpoint to resume
  Result e = graph_run(fmt::format("dinosaurus train --data '{}' --checkpoint '{}' --resume --seed 4",
                                   names, dir / "part.ckpt"));
  CHECK(e.rc == 1);
  CHECK(has(e.out, "comes from a run with --seed 3"));
  // another names file, named: refused by the option; the same file with other names: by content
  e = graph_run(fmt::format("dinosaurus train --data '{}' --checkpoint '{}' --resume --seed 3",
                            write_names(dir, {"Raptor", "Trex"}, "other.txt"), dir / "part.ckpt"));
  CHECK(e.rc == 1);
  CHECK(has(e.out, fmt::format("was trained with --data {}; this run has --data {}", names,
                               dir / "other.txt")));
  const std::string renamed = dir / "names_again.txt";
  std::filesystem::rename(names, renamed);
  write_names(dir, {"Raptor", "Trex"}, std::filesystem::path(names).filename().string());
  e = graph_run(fmt::format("dinosaurus train --data '{}' --checkpoint '{}' --resume --seed 3", names,
                            dir / "part.ckpt"));
  CHECK(e.rc == 1);
  CHECK(has(e.out, "are not those the checkpoint was trained on"));
  std::filesystem::rename(renamed, names);
  e = train("missing.ckpt", "m.csv", 10, "--resume");
  CHECK(has(e.out, "there is no checkpoint"));
  e = train("part.ckpt", "part.csv", 10, "--resume");
  CHECK(has(e.out, "is at iteration 1200, past the 10"));
  e = train("part.ckpt", "part.csv", 10, "--resume=maybe");
  CHECK(e.rc == 2); // a flag takes no value
}

TEST_CASE("Dinosaurus.Graphs") {
  TempDir dir;
  // the unrolled training graph: seven steps by default, with the gradient,
  // clipping and update nodes when asked
  Result r = graph_run(fmt::format("dot dinosaurus --backward -o '{}'", dir / "train.dot"));
  REQUIRE(r.rc == 0);
  const std::string dot = read_file(dir / "train.dot");
  CHECK(has(dot, "t7/a"));
  CHECK(!has(dot, "t8/"));
  CHECK(has(dot, "clip/"));
  CHECK(has(dot, "sgd/"));
  CHECK(has(r.out, "5 update"));
  r = graph_run(fmt::format("dot dinosaurus --graph sample_step -o '{}'", dir / "step.dot"));
  REQUIRE(r.rc == 0);
  CHECK(has(read_file(dir / "step.dot"), "y_hat"));
  // every gradient of both graphs against finite differences
  r = graph_run("gradcheck dinosaurus --quiet");
  CHECK(r.rc == 0);
  r = graph_run("gradcheck dinosaurus --graph sample_step --quiet");
  CHECK(r.rc == 0);
}

TEST_CASE("Dinosaurus.Help") {
  Result r = graph_run("dinosaurus --help");
  CHECK(r.rc == 0);
  CHECK(has(r.out, "--iterations"));
  CHECK(has(r.out, "--iterations INT (>= 1, default 22001)"));
  CHECK(has(r.out, "(train only)"));
  CHECK(has(r.out, "\n  -n INT (>= 0, default 10)  How many names to sample (sample only)"));
  CHECK(has(r.out, "--checkpoint FILE (default dinosaurus.ckpt)"));

  r = graph_run("train dinosaurus --help");
  CHECK(r.rc == 0);
  CHECK(has(r.out, "--iterations"));
  CHECK(has(r.out, "--resume"));
  CHECK(has(r.out, "--history"));
  CHECK(has(r.out, "--checkpoint FILE (default dinosaurus.ckpt)"));
  CHECK(!has(r.out, "--temperature")); // sample's
  CHECK(!has(r.out, "--input"));       // eval's and dot's

  r = graph_run("sample dinosaurus --help");
  CHECK(r.rc == 0);
  CHECK(has(r.out, "-n "));
  CHECK(has(r.out, "--temperature"));
  CHECK(!has(r.out, "--iterations"));
}
