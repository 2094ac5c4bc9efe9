// Graphviz export: clusters for name scopes, labels with op and shape,
// gradient / update nodes styled apart from forward ones, rendering via `dot`.
#include "graph/dot.hpp"
#include "ops/layers.hpp"
#include "ops/ops.hpp"
#include "tests/cli_helpers.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace sg;
using namespace sg::test;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The DOT line declaring the node named `name` (full name), or "".
std::string node_line(const std::string& dot, const Graph& g, const std::string& name) {
  std::string key = "n" + std::to_string(g.at(name)) + " [";
  std::istringstream in(dot);
  for (std::string line; std::getline(in, line);)
    if (line.find(key) != std::string::npos && line.find("->") == std::string::npos) return line;
  return {};
}

// A small graph: an "lstm" scope with a nested "gate" scope, an input, a
// parameter, a scalar constant and hand-made gradient and update nodes.
struct Small {
  Graph g;
  Small() {
    Value x = input(g, "x", {5, 3});
    Value W, y;
    {
      auto s = g.scope("lstm");
      W = param(g, "Wf", {5, 3});
      auto s2 = g.scope("gate");
      y = tanh(W * x * 0.5).named("act");
    }
    {
      Graph::KindGuard k(g, NodeKind::gradient);
      auto s = g.scope("grad");
      Value d = (1.0 - square(y)).named("dact");
      (void)d;
    }
    Graph::KindGuard k(g, NodeKind::update);
    Value u = exp(y).named("upd");
    g.add_order(g.at("grad/dact"), u.id());
  }
};

} // namespace

TEST_CASE("Dot.ClustersLabelsAndStyles") {
  Small s;
  Graph& g = s.g;
  const std::string dot = to_dot(g);
  CHECK(dot.starts_with("digraph"));
  CHECK(dot.find("subgraph cluster_") != std::string::npos);
  CHECK(dot.find("label=\"lstm\"") != std::string::npos);
  CHECK(dot.find("label=\"gate\"") != std::string::npos);
  CHECK(dot.find("cluster_legend") != std::string::npos);

  // Short name within the cluster, op, shape.
  std::string wf = node_line(dot, g, "lstm/Wf");
  CHECK(wf.find("label=\"Wf\\nvariable\\n(5, 3)\"") != std::string::npos);
  CHECK(wf.find("bold") != std::string::npos);
  std::string act = node_line(dot, g, "lstm/gate/act");
  CHECK(act.find("act\\ntanh\\n(5, 3)") != std::string::npos);
  CHECK(node_line(dot, g, "x").find("shape=ellipse") != std::string::npos);

  // Gradient and update nodes are filled differently from forward ones.
  std::string dact = node_line(dot, g, "grad/dact");
  std::string upd = node_line(dot, g, "upd");
  REQUIRE(!dact.empty());
  REQUIRE(!upd.empty());
  CHECK(act.find("fillcolor") == std::string::npos); // forward: the default white
  CHECK(dact.find("fillcolor=\"#ffd8a8\"") != std::string::npos);
  CHECK(upd.find("fillcolor=\"#ffc9d6\"") != std::string::npos);

  // Ordering-only edge dashed; data edges solid.
  std::string order = "n" + std::to_string(g.at("grad/dact")) + " -> n" + std::to_string(g.at("upd")) +
                      " [style=dashed";
  CHECK(dot.find(order) != std::string::npos);
  std::string data = "n" + std::to_string(g.at("x")) + " -> n";
  CHECK(dot.find(data) != std::string::npos);

  // Scalar constants are folded into their consumer's label.
  CHECK(dot.find("arg 1 = 0.5") != std::string::npos);
  DotOptions unfolded;
  unfolded.fold_scalar_constants = false;
  unfolded.legend = false;
  const std::string dot2 = to_dot(g, unfolded);
  CHECK(dot2.find("arg 1 = 0.5") == std::string::npos);
  CHECK(dot2.find("plaintext") != std::string::npos);
  CHECK(dot2.find("cluster_legend") == std::string::npos);

  DotOptions flat;
  flat.clusters = false;
  const std::string dot3 = to_dot(g, flat);
  CHECK(dot3.find("cluster_0") == std::string::npos);
  CHECK(dot3.find("label=\"lstm/Wf\\nvariable") != std::string::npos);
}

TEST_CASE("Dot.EscapesQuotes") {
  Graph g;
  DotOptions o;
  o.title = "a \"quoted\" title \\ with backslash";
  Value x = input(g, "say \"hi\"", {2});
  (void)exp(x);
  const std::string dot = to_dot(g, o);
  CHECK(dot.find("say \\\"hi\\\"") != std::string::npos);
  CHECK(dot.find("a \\\"quoted\\\" title \\\\ with") != std::string::npos);
  CHECK(dot.find("say \"hi\"") == std::string::npos);
}

TEST_CASE("Dot.BigGraph") {
  // 1,000 steps over 50 reused scopes: every node drawn, one cluster per scope.
  Graph g;
  Value h = input(g, "h0", {4, 4});
  for (int t = 0; t < 1000; ++t) {
    auto s = g.scope("step_" + std::to_string(t % 50));
    h = tanh(h * h + 1.0);
  }
  REQUIRE(g.size() > 4000);
  const std::string dot = to_dot(g);
  size_t clusters = 0;
  for (size_t p = dot.find("subgraph cluster_"); p != std::string::npos;
       p = dot.find("subgraph cluster_", p + 1))
    ++clusters;
  CHECK(clusters == 50 + 1); // the scopes and the legend
  CHECK(dot.find("step_49") != std::string::npos);
  CHECK(dot.size() > g.size() * 20);
}

TEST_CASE("Dot.WritesDotAndRendersSvg") {
  namespace fs = std::filesystem;
  Small s;
  fs::path dir = fs::temp_directory_path() / ("seqgraph-test-dot-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string dotfile = (dir / "g.dot").string(), svg = (dir / "g.svg").string();

  write_graph_image(s.g, dotfile, {});
  CHECK(slurp(dotfile) == to_dot(s.g));

  CHECK_THROWS_WITH_AS(write_graph_image(s.g, (dir / "g.txt").string(), {}),
                       doctest::Contains(".dot"), std::invalid_argument);

  if (std::system("command -v dot >/dev/null 2>&1") == 0) {
    CHECK(have_graphviz());
    write_graph_image(s.g, svg, {});
    std::string out = slurp(svg);
    CHECK((out.starts_with("<?xml") || out.find("<svg") != std::string::npos));
  } else {
    CHECK(!have_graphviz());
    CHECK_THROWS_WITH(write_graph_image(s.g, svg, {}), doctest::Contains("graphviz"));
  }

  // Without `dot` on PATH the error says what to install, whatever this machine has.
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  ::setenv("PATH", "/nonexistent-seqgraph-dir", 1);
  bool found = have_graphviz();
  std::string msg;
  try {
    write_graph_image(s.g, (dir / "g2.svg").string(), {});
  } catch (const std::exception& e) {
    msg = e.what();
  }
  ::setenv("PATH", path.c_str(), 1);
  CHECK(!found);
  CHECK(msg.find("graphviz") != std::string::npos);
  CHECK(msg.find("`dot`") != std::string::npos);
  CHECK(!fs::exists(dir / "g2.svg"));
  fs::remove_all(dir);
}

TEST_CASE("Dot.LayerView") {
  // two steps of one shared LSTM cell, then a Dense: boxes per (layer, step)
  Graph g;
  Value x = input(g, "x", {2, 3, 4});
  const LSTMWeights w = lstm_weights(g, "lstm", 4, 5);
  LSTMState s;
  for (int64_t t = 0; t < 3; ++t) {
    auto scope = g.scope(fmt::format("t{}", t + 1));
    s = lstm_cell(take(x, 1, t), s, w);
  }
  Value y = dense(s.h, 2, "dense").named("y");
  (void)y;
  const std::string d = layer_dot(g);
  CHECK(d.find("lstm ⟨t1⟩") != std::string::npos);
  CHECK(d.find("lstm ⟨t3⟩") != std::string::npos);
  CHECK(d.find("lstm ⟨t4⟩") == std::string::npos);
  CHECK(d.find("\"dense\\n") != std::string::npos);
  CHECK(d.find("recurrent_kernel") == std::string::npos); // parameters are inside their layer's box
  CHECK(d.find("rankdir=LR") != std::string::npos);        // time steps left to right
  // one box per (layer, step): t1 -> t2 -> t3 -> dense, each edge once
  size_t boxes = 0, edges = 0;
  for (size_t p = d.find("  b"); p != std::string::npos; p = d.find("\n  b", p + 1)) {
    const size_t eol = d.find('\n', p + 1);
    (d.substr(p, eol - p).find("->") != std::string::npos ? edges : boxes)++;
  }
  // x; the takes at t1..t3; lstm (its parameters); lstm at t1..t3; dense; y (named outside dense's scope)
  INFO(d);
  CHECK(boxes == 10);
  CHECK(edges < size_t(g.size()));
}

TEST_CASE("Dot.BigGraphsAreDrawnByLayer") {
  TempDir dir;
  Result r = graph_run(fmt::format("dot jazz --backward -o '{}'", dir / "j.dot"));
  REQUIRE(r.rc == 0);
  CHECK(has(r.out, "drawn by layer (over 150 nodes; --ops draws every op)"));
  CHECK(has(read_file(dir / "j.dot"), "lstm ⟨t3⟩"));
  r = graph_run(fmt::format("dot jazz --backward --ops -o '{}'", dir / "o.dot"));
  REQUIRE(r.rc == 0);
  CHECK(!has(r.out, "by layer"));
  CHECK(!has(read_file(dir / "o.dot"), "lstm ⟨t3⟩"));
  r = graph_run(fmt::format("dot dinosaurus -o '{}'", dir / "d.dot")); // small: every op
  CHECK(!has(r.out, "by layer"));
  r = graph_run(fmt::format("dot jazz --ops --layers -o '{}'", dir / "both.dot")); // one view or the other
  CHECK(r.rc == 2);
  CHECK(has(r.out, "--ops and --layers are two views of the graph: give one"));
  CHECK(!std::filesystem::exists(dir / "both.dot"));
}
