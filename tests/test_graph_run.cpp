// The graph-run binary, run as a user would (its path comes from meson as
// SEQGRAPH_GRAPH_RUN), mostly against the example_affine model.
#include "graph/npy.hpp"
#include "graph/tensor.hpp"
#include "graph/dist.hpp"
#include "tests/cli_helpers.hpp"

#include <cmath>
#include <cstdio>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

using namespace sg;
namespace fs = std::filesystem;

namespace {

using namespace sg::test;

Tensor iota(Shape s, double scale, double offset) {
  Tensor t(s, DType::f64);
  for (int64_t i = 0; i < t.size(); ++i) t.set(i, scale * double(i) + offset);
  return t;
}

} // namespace

TEST_CASE("GraphRun.List") {
  Result r = graph_run("list");
  CHECK(r.rc == 0);
  CHECK(has(r.out, "rnn_step_by_step"));
  CHECK(has(r.out, "example_affine"));
  CHECK(has(r.out, "forward, backward"));
  CHECK(has(r.out, "eval, dot, gradcheck"));
}

TEST_CASE("GraphRun.UnknownModelListsModels") {
  Result r = graph_run("eval no_such_model");
  CHECK(r.rc == 2);
  CHECK(has(r.out, "graph-run: error: unknown model 'no_such_model'"));
  CHECK(has(r.out, "example_affine"));

  r = graph_run("no_such_model eval");
  CHECK(r.rc == 2);
  CHECK(has(r.out, "example_affine"));

  r = graph_run("");
  CHECK(r.rc == 2);
  CHECK(has(r.out, "graph-run: error:"));
}

TEST_CASE("GraphRun.Help") {
  Result r = graph_run("eval example_affine --help");
  CHECK(r.rc == 0);
  CHECK(has(r.out, "--threads"));
  CHECK(has(r.out, "--input"));
  CHECK(has(r.out, "--graph"));
  CHECK(has(r.out, "y = tanh(W x + b)"));
  CHECK(!has(r.out, "--tolerance")); // gradcheck's, not eval's

  // Both orders work.
  Result r2 = graph_run("example_affine eval --help");
  CHECK(r2.rc == 0);
  CHECK(r2.out == r.out);

  r = graph_run("example_affine --help");
  CHECK(r.rc == 0);
  CHECK(has(r.out, "forward"));
  CHECK(has(r.out, "backward"));
  CHECK(has(r.out, "gradcheck"));
  CHECK(has(r.out, "--threads"));

  r = graph_run("--help");
  CHECK(r.rc == 0);
  CHECK(has(r.out, "graph-run list"));
  CHECK(has(r.out, "example_affine"));
  // each model's own command once, with the models that have it
  CHECK(has(r.out, "\nmodels' own commands:\n"));
  CHECK(has(r.out, "\n  translate  nmt_attention\n"));
  CHECK(has(r.out, "\n  evaluate   emojify, glove, jazz, nmt_attention, trigger_word\n"));
  CHECK(graph_run("help").out == r.out);

  r = graph_run("gradcheck example_affine --help");
  CHECK(r.rc == 0);
  CHECK(has(r.out, "--tolerance"));
}

TEST_CASE("GraphRun.UsageErrors") {
  Result r = graph_run("sample example_affine");
  CHECK(r.rc == 2);
  CHECK(has(r.out, "model example_affine has no sample command; it has: summary, eval, dot, gradcheck"));

  r = graph_run("eval example_affine --threads 0");
  CHECK(r.rc == 2);
  CHECK(has(r.out, "graph-run: error:"));
  CHECK(has(r.out, "--threads"));

  r = graph_run("eval example_affine --no-such-option");
  CHECK(r.rc == 2);
  CHECK(has(r.out, "--no-such-option"));

  r = graph_run("eval example_affine --graph sideways");
  CHECK(r.rc == 2);
  CHECK(has(r.out, "sideways"));

  r = graph_run("eval example_affine --input W");
  CHECK(r.rc == 2);
  CHECK(has(r.out, "NAME=FILE.npy"));

  r = graph_run("dot example_affine");
  CHECK(r.rc == 2);
  CHECK(has(r.out, "--output"));
}

TEST_CASE("GraphRun.UnderAnMpiLauncherRefusesWhatIsNotDataParallel") {
  // mpirun -np 2 graph-run ...: each process sees its world in the
  // environment; refused before MPI starts (so a fake world does here)
  test::TempDir d;
  const std::string train = "dinosaurus train --iterations 10 --quiet --checkpoint " + (d / "d.ckpt");
  for (const char* env : {"OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=1", "PMI_SIZE=3 PMI_RANK=0"}) {
    CAPTURE(env);
    const Result r = graph_run(train, false, env);
    CHECK(r.rc == 2);
    if (sg::dist::built_with_mpi()) { // Dinosaurus: SGD per example
      CHECK(has(r.out, "graph-run: error: dinosaurus trains one example per step"));
      CHECK(has(r.out, "data parallelism does not apply. Run it without mpirun"));
      const Result s = graph_run("sample dinosaurus --checkpoint " + (d / "d.ckpt"), false, env);
      CHECK(s.rc == 2);
      CHECK(has(s.out, "sample: started by an MPI launcher as process"));
      CHECK(has(s.out, "only train runs data-parallel"));
    } else {
      CHECK(has(r.out, "graph-run: error: train: started by an MPI launcher as process"));
      CHECK(has(r.out, "this graph-run has no MPI support"));
    }
    CHECK_FALSE(std::filesystem::exists(d / "d.ckpt")); // nothing trained
  }
  if (!sg::dist::built_with_mpi())
    CHECK(has(graph_run(train, false, "OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=1").out, "process 1 of 2"));
  // Emojify V1 trains with fit on batches of one: refused too (before MPI starts)
  if (sg::dist::built_with_mpi()) {
    const Result r = graph_run("emojify train --version 1 --epochs 1 --quiet", false,
                               "OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=0");
    CHECK(r.rc == 2);
    CHECK(has(r.out, "emojify trains on one example per step (batch size 1"));
  }
  // one process (mpirun -np 1) is a plain run; help still answers
  CHECK(graph_run(train, false, "OMPI_COMM_WORLD_SIZE=1 OMPI_COMM_WORLD_RANK=0").rc == 0);
  CHECK(std::filesystem::exists(d / "d.ckpt"));
  CHECK(graph_run("train dinosaurus --help", true, "OMPI_COMM_WORLD_SIZE=2").rc == 0);
}

TEST_CASE("GraphRun.EvalMissingAndUnknownInputs") {
  TempDir d;
  save_npy(d / "W.npy", iota({3, 4}, 0.1, -0.5));
  Result r = graph_run("eval example_affine --input W=" + d / "W.npy");
  CHECK(r.rc == 2);
  // All the missing inputs at once, with their expected shapes.
  CHECK(has(r.out, "b (3, 1)"));
  CHECK(has(r.out, "x (4, 5)"));
  CHECK(has(r.out, "--input"));

  r = graph_run("eval example_affine --input W=" + d / "W.npy" + " --input Wx=" + d / "W.npy");
  CHECK(r.rc == 2);
  CHECK(has(r.out, "Wx"));
  CHECK(has(r.out, "W (3, 4)")); // the accepted names
  CHECK(has(r.out, "x (4, 5)"));

  r = graph_run("eval example_affine --input x=" + d / "missing.npy");
  CHECK(r.rc == 1);
  CHECK(has(r.out, "missing.npy"));
}

TEST_CASE("GraphRun.Eval") {
  TempDir d;
  Tensor W = iota({3, 4}, 0.1, -0.5), b = iota({3, 1}, 0.2, -0.1), x = iota({4, 2}, -0.15, 0.6);
  save_npy(d / "W.npy", W);
  save_npy(d / "b.npy", b);
  save_npy(d / "x.npy", x);
  Result r = graph_run("example_affine eval --input W=" + d / "W.npy" + " --input b=" + d / "b.npy" +
                       " --input x=" + d / "x.npy" + " --output-dir " + d / "out");
  INFO(r.out);
  REQUIRE(r.rc == 0);
  CHECK(has(r.out, "y "));
  CHECK(has(r.out, "(3, 2)"));
  CHECK(has(r.out, "mean"));
  Tensor y = load_npy(d / "out/y.npy");
  REQUIRE(y.shape() == Shape{3, 2});
  CHECK(y.dtype() == DType::f64); // every input was float64
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 2; ++j) {
      double z = b({i, 0});
      for (int64_t k = 0; k < 4; ++k) z += W({i, k}) * x({k, j});
      CHECK(y({i, j}) == doctest::Approx(std::tanh(z)).epsilon(1e-12));
    }

  // --dtype f32 overrides; the backward graph writes all its outputs.
  save_npy(d / "dy.npy", iota({3, 2}, 0.3, -0.7));
  r = graph_run("eval example_affine --graph backward --dtype f32 --quiet --input W=" + d / "W.npy" +
                " --input b=" + d / "b.npy" + " --input x=" + d / "x.npy" + " --input dy=" +
                d / "dy.npy" + " --output-dir " + d / "bw");
  INFO(r.out);
  REQUIRE(r.rc == 0);
  CHECK(r.out.empty());
  for (const char* f : {"y", "dW", "db", "dx"}) CHECK(fs::exists(d / (std::string("bw/") + f + ".npy")));
  CHECK(load_npy(d / "bw/dW.npy").shape() == Shape{3, 4});
  CHECK(load_npy(d / "bw/dW.npy").dtype() == DType::f32);
}

TEST_CASE("GraphRun.EvalRandomInputs") {
  // Inputs not given are drawn, saved beside the outputs, and are what was used.
  TempDir d;
  save_npy(d / "x.npy", iota({4, 2}, -0.15, 0.6));
  Result r = graph_run("eval example_affine --random-inputs --seed 5 --input x=" + d / "x.npy" +
                       " --output-dir " + d / "out");
  INFO(r.out);
  REQUIRE(r.rc == 0);
  CHECK(has(r.out, "drew the inputs not given"));
  CHECK(!fs::exists(d / "out/inputs/x.npy")); // given, not drawn
  Tensor W = load_npy(d / "out/inputs/W.npy"), b = load_npy(d / "out/inputs/b.npy");
  Tensor x = load_npy(d / "x.npy"), y = load_npy(d / "out/y.npy");
  REQUIRE(W.shape() == Shape{3, 4});
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 2; ++j) {
      double z = b({i, 0});
      for (int64_t k = 0; k < 4; ++k) z += W({i, k}) * x({k, j});
      CHECK(y({i, j}) == doctest::Approx(std::tanh(z)).epsilon(1e-12));
    }
  // The same seed draws the same inputs; another seed, others.
  Result again = graph_run("eval example_affine --quiet --random-inputs --seed 5 --output-dir " + d / "again");
  REQUIRE(again.rc == 0);
  CHECK(max_abs_diff(W, load_npy(d / "again/inputs/W.npy")) == 0);
  Result other = graph_run("eval example_affine --quiet --random-inputs --seed 6 --output-dir " + d / "other");
  REQUIRE(other.rc == 0);
  CHECK(max_abs_diff(W, load_npy(d / "other/inputs/W.npy")) > 0);
}

TEST_CASE("GraphRun.Dot") {
  TempDir d;
  Result r = graph_run("dot example_affine --backward -o " + d / "a.dot");
  INFO(r.out);
  REQUIRE(r.rc == 0);
  CHECK(has(r.out, "gradient"));
  std::ifstream in(d / "a.dot");
  std::stringstream ss;
  ss << in.rdbuf();
  CHECK(has(ss.str(), "subgraph cluster_"));
  CHECK(has(ss.str(), "#ffd8a8")); // gradient nodes

  r = graph_run("dot example_affine -o " + d / "a.svg");
  if (std::system("command -v dot >/dev/null 2>&1") == 0) {
    CHECK(r.rc == 0);
    CHECK(fs::exists(d / "a.svg"));
  } else {
    CHECK(r.rc == 1);
    CHECK(has(r.out, "graphviz"));
  }
}

TEST_CASE("GraphRun.Gradcheck") {
  Result r = graph_run("gradcheck example_affine --graph backward");
  INFO(r.out);
  CHECK(r.rc == 0);
  CHECK(has(r.out, "max rel err"));
  CHECK(has(r.out, "dW"));
  CHECK(has(r.out, "all 16 checks within tolerance"));

  // An impossible tolerance fails with exit status 1.
  r = graph_run("gradcheck example_affine --tolerance 1e-300");
  CHECK(r.rc == 1);
  CHECK(has(r.out, "FAIL"));
}
