// Typed options (models/options.hpp), "did you mean" (models/suggest.hpp), and
// graph-run's command line as a user meets them: bad values, missing values,
// misspellings, output paths checked before any work, --threads above the
// cores, --version, the typed help.
#include "models/options.hpp"
#include "models/suggest.hpp"
#include "tests/cli_helpers.hpp"

#include <doctest/doctest.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#ifndef SEQGRAPH_VERSION
#error "SEQGRAPH_VERSION (meson's project version) must be defined by the build"
#endif

using namespace sg;
using namespace sg::test;
namespace fs = std::filesystem;

TEST_CASE("Options.EditDistance") {
  struct Case {
    const char *a, *b;
    size_t d;
  };
  for (const Case& c : std::vector<Case>{{"", "", 0},
                                         {"", "abc", 3},
                                         {"train", "train", 0},
                                         {"trian", "train", 1},       // one swap
                                         {"dinosuarus", "dinosaurus", 1},
                                         {"iteration", "iterations", 1},
                                         {"kitten", "sitting", 3},
                                         {"ca", "abc", 3},            // optimal string alignment, not 2
                                         {"eval", "dot", 4}}) {
    CAPTURE(c.a);
    CAPTURE(c.b);
    CHECK(edit_distance(c.a, c.b) == c.d);
    CHECK(edit_distance(c.b, c.a) == c.d);
  }
}

TEST_CASE("Options.CloseMatches") {
  const std::vector<std::string> commands{"list", "eval", "dot", "gradcheck", "train", "sample"};
  const std::vector<std::string> options{"iterations", "history", "save-every", "resume", "seed", "threads", "x-max"};
  const std::vector<std::string> prefixed{"seeds-all", "seed"};
  struct Case {
    std::string word;
    const std::vector<std::string>& candidates;
    std::vector<std::string> want;
  };
  for (const Case& c : std::vector<Case>{
           {"trian", commands, {"train"}},
           {"sampel", commands, {"sample"}},
           {"gradchek", commands, {"gradcheck"}},
           {"grad", commands, {"gradcheck"}},          // a prefix
           {"tarin", commands, {"train"}},             // one swap
           {"fly", commands, {}},
           {"iteration", options, {"iterations"}},
           {"iter", options, {"iterations"}},
           {"s", options, {"save-every", "seed"}},     // prefixes, in the candidates' order
           {"seeds", prefixed, {"seed", "seeds-all"}}, // distance 1 before a prefix
           {"x", options, {"x-max"}},                  // not "distance 1" to every one-letter name
           {"resmue", options, {"resume"}},
           {"nothing-like-it", options, {}},
           {"", options, {}},
       }) {
    CAPTURE(c.word);
    CHECK(close_matches(c.word, c.candidates) == c.want);
  }
}

TEST_CASE("Options.ParseAndDescribe") {
  const ModelOption epochs{.name = "epochs", .help = "", .type = OptionType::integer, .default_value = "50",
                           .min = at_least(1)};
  CHECK(std::get<int64_t>(parse_option(epochs, "7")) == 7);
  CHECK(std::get<int64_t>(parse_option(epochs, "+7")) == 7);
  CHECK(std::get<int64_t>(default_option(epochs)) == 50);
  CHECK(option_synopsis(epochs) == "INT (>= 1, default 50)");
  CHECK(error_of<OptionError>([&] { parse_option(epochs, "0"); }) == "--epochs must be an integer >= 1, got '0'");
  CHECK(error_of<OptionError>([&] { parse_option(epochs, "2.5"); }) == "--epochs must be an integer >= 1, got '2.5'");
  CHECK(error_of<OptionError>([&] { parse_option(epochs, ""); }) == "--epochs must be an integer >= 1, got ''");
  CHECK(error_of<OptionError>([&] { parse_option(epochs, "99999999999999999999"); }) ==
        "--epochs must be an integer >= 1, got '99999999999999999999' (out of range)");

  const ModelOption lr{.name = "lr", .help = "", .type = OptionType::number, .default_value = "0.05",
                       .min = above(0), .max = at_most(1)};
  CHECK(std::get<double>(parse_option(lr, "1e-3")) == 1e-3);
  CHECK(std::get<double>(parse_option(lr, "1")) == 1.0);
  CHECK(option_synopsis(lr) == "NUMBER (> 0, <= 1, default 0.05)");
  for (const char* bad : {"0", "1.5", "abc", "nan", "inf", "1e999"}) {
    CAPTURE(bad);
    CHECK(has(error_of<OptionError>([&] { parse_option(lr, bad); }), "--lr must be a number > 0, <= 1, got '"));
  }
  const ModelOption threads{.name = "threads", .help = "", .type = OptionType::integer, .default_value = "1",
                            .min = at_least(1), .max = at_most(4096)};
  CHECK(option_rule(threads) == "an integer from 1 to 4096");
  CHECK(option_synopsis(threads) == "INT (1 to 4096, default 1)");

  const ModelOption version{.name = "version", .help = "", .type = OptionType::choice, .default_value = "1",
                            .choices = {"1", "2"}};
  CHECK(option_synopsis(version) == "{1,2} (default 1)");
  CHECK(error_of<OptionError>([&] { parse_option(version, "3"); }) == "--version must be one of {1,2}, got '3'");

  const ModelOption k{.name = "k", .help = "", .type = OptionType::integer, .min = at_least(1)};
  CHECK(std::holds_alternative<std::monostate>(default_option(k))); // no default: none
  OptionValues v;
  v.set("k", default_option(k));
  v.set("data", std::string("x.txt"));
  CHECK(!v.has("k"));
  CHECK(v.get_text("data") == "x.txt");
  CHECK_THROWS_AS(v.get_int("k"), std::logic_error);    // read without asking has()
  CHECK_THROWS_AS(v.get_int("data"), std::logic_error); // another type
  CHECK_THROWS_AS(v.get_flag("nope"), std::logic_error); // not declared
}

TEST_CASE("Options.OutputPaths") {
  TempDir d;
  const ModelOption out{.name = "output", .help = "", .type = OptionType::output_file};
  CHECK(std::get<std::string>(parse_option(out, d / "g.txt")) == d / "g.txt");
  CHECK(std::get<std::string>(parse_option(out, "")) == ""); // not given
  CHECK(error_of<OptionError>([&] { parse_option(out, d / "nodir/g.txt"); }) ==
        "--output: cannot use '" + d / "nodir/g.txt" + "': there is no directory '" + d / "nodir" +
            "' to write it in");
  CHECK(has(error_of<OptionError>([&] { parse_option(out, d.path.string()); }), "it is a directory"));
  CHECK(std::get<std::string>(parse_option(out, d / "nodir/g.txt", false)) == d / "nodir/g.txt"); // a default

  const ModelOption dir{.name = "data-dir", .help = "", .type = OptionType::input_dir};
  CHECK(has(error_of<OptionError>([&] { parse_option(dir, d / "none"); }), "there is no such directory"));
}

TEST_CASE("Options.WrongDeclarations") {
  const auto wrong = [](const ModelOption& o) { return error_of<std::logic_error>([&] { check_declaration(o, "model m"); }); };
  CHECK(has(wrong({.name = "n", .help = "", .type = OptionType::integer, .default_value = "0", .min = at_least(1)}),
            "its default: -n must be an integer >= 1, got '0'"));
  CHECK(has(wrong({.name = "t", .help = "", .type = OptionType::text, .min = at_least(1)}), "bounds"));
  CHECK(has(wrong({.name = "c", .help = "", .type = OptionType::choice}), "choices"));
  CHECK(has(wrong({.name = "f", .help = "", .type = OptionType::flag, .default_value = "true"}), "a flag"));
  CHECK_NOTHROW(check_declaration({.name = "n", .help = "", .type = OptionType::integer, .default_value = "1",
                                   .min = at_least(1)},
                                  "model m"));
}

TEST_CASE("GraphRun.BadValuesExitTwo") {
  // Each is refused when the line is parsed (exit 2), naming the option and its rule.
  struct Case {
    std::string args, message;
  };
  for (const Case& c : std::vector<Case>{
           {"jazz train --epochs -1", "graph-run: error: --epochs must be an integer >= 1, got '-1'"},
           {"dinosaurus train --iterations 0", "--iterations must be an integer >= 1, got '0'"},
           {"dinosaurus train --seed -1", "--seed must be an integer >= 0, got '-1'"},
           {"eval example_affine --seed -1", "--seed must be an integer >= 0, got '-1'"},
           {"eval example_affine --seed 18446744073709551615",
            "--seed must be an integer >= 0, got '18446744073709551615' (out of range)"},
           {"glove train --lr abc", "--lr must be a number > 0, got 'abc'"},
           {"glove train --x-max 0", "--x-max must be a number > 0, got '0'"},
           {"eval example_affine --threads 0", "--threads must be an integer from 1 to 4096, got '0'"},
           {"dinosaurus train --threads two", "--threads must be an integer from 1 to 4096, got 'two'"},
           {"emojify train --version 3", "--version must be one of {1,2}, got '3'"},
           {"word_vectors neighbors king -k 0", "-k must be an integer >= 1, got '0'"},
           {"gradcheck example_affine --tolerance 0", "--tolerance must be a number > 0, got '0'"},
           {"eval example_affine --graph sideways", "--graph must be one of {forward,backward}, got 'sideways'"},
           {"dinosaurus train --resume=maybe", "--resume is a flag: it takes no value (got 'maybe')"},
           {"dinosaurus train --iterations 5 --iterations 6", "--iterations is given 2 times; give it once"},
       }) {
    CAPTURE(c.args);
    Result r = graph_run(c.args);
    CHECK(r.rc == 2);
    CHECK(has(r.out, c.message));
  }
}

TEST_CASE("GraphRun.MissingValue") {
  Result r = graph_run("dinosaurus train --iterations");
  CHECK(r.rc == 2);
  CHECK(has(r.out, "graph-run: error: --iterations needs a value (an integer >= 1)"));
  CHECK(!has(r.out, "required TEXT missing"));
  r = graph_run("dinosaurus sample -n");
  CHECK(r.rc == 2);
  CHECK(has(r.out, "-n needs a value (an integer >= 0)"));
  r = graph_run("dinosaurus train --history");
  CHECK(r.rc == 2);
  CHECK(has(r.out, "--history needs a value (a file to write)"));
  r = graph_run("eval example_affine --input");
  CHECK(r.rc == 2);
  CHECK(has(r.out, "--input needs a value (NAME=FILE.npy)"));
  r = graph_run("dot example_affine");
  CHECK(r.rc == 2);
  CHECK(has(r.out, "--output is required (a file to write)"));
  r = graph_run("glove train --epochs 2");
  CHECK(r.rc == 2);
  CHECK(has(r.out, "--corpus is required (a file)"));
  r = graph_run("glove train --corpus ''");
  CHECK(r.rc == 2);
  CHECK(has(r.out, "--corpus needs a value (a file)"));
}

TEST_CASE("GraphRun.UnknownOptionsAndArguments") {
  struct Case {
    std::string args, message;
  };
  for (const Case& c : std::vector<Case>{
           {"dinosaurus train --zzzzzz 5", "unknown option --zzzzzz for graph-run train dinosaurus"},
           {"dinosaurus sample --iterations 5", "--iterations is an option of dinosaurus train, not of sample"},
           {"word_vectors similarity a b -k 3", "-k is an option of word_vectors analogy, neighbors, not of similarity"},
           {"dinosaurus train stray", "unexpected argument 'stray': graph-run train dinosaurus takes no more"},
       }) {
    CAPTURE(c.args);
    Result r = graph_run(c.args);
    CHECK(r.rc == 2);
    CHECK(has(r.out, c.message));
  }
}

TEST_CASE("GraphRun.DidYouMean") {
  struct Case {
    std::string args, message;
  };
  for (const Case& c : std::vector<Case>{
           {"dinosaurus trian", "'trian' is not a command; model dinosaurus has: summary, eval, dot, gradcheck, train, "
                                "sample; did you mean 'train'?"},
           {"trian dinosaurus", "unknown command or model 'trian'"},
           {"trian dinosaurus", "did you mean 'train'?"},
           {"train dinosuarus", "unknown model 'dinosuarus'"},
           {"train dinosuarus", "did you mean 'dinosaurus'?"},
           {"dinosuarus train", "did you mean 'dinosaurus'?"},
           {"dinosaurus train --iteration 5", "unknown option --iteration for graph-run train dinosaurus; did you "
                                              "mean --iterations?"},
           {"dinosaurus train --iteration=5", "did you mean --iterations?"},
           {"jazz sample --temprature 1", "did you mean --temperature?"},
       }) {
    CAPTURE(c.args);
    Result r = graph_run(c.args);
    CHECK(r.rc == 2);
    CHECK(has(r.out, c.message));
  }
  // nothing close: no suggestion
  Result r = graph_run("dinosaurus train --zzzzzz 5");
  CHECK(r.rc == 2);
  CHECK(has(r.out, "unknown option --zzzzzz"));
  CHECK(!has(r.out, "did you mean"));
}

TEST_CASE("GraphRun.Version") {
  Result r = graph_run("--version");
  CHECK(r.rc == 0);
  CHECK(r.out == "graph-run " SEQGRAPH_VERSION "\n");
  r = graph_run("--version now");
  CHECK(r.rc == 2);
  CHECK(has(graph_run("--help").out, "graph-run --version"));
}

TEST_CASE("GraphRun.OutputPathsCheckedFirst") {
  // An output file whose directory does not exist is refused before any work: exit 2, naming the option.
  TempDir d;
  const std::string corpus = d / "corpus.txt";
  std::ofstream(corpus) << "the cat sat on the mat\nthe dog sat on the log\n";
  struct Case {
    std::string args, option;
  };
  for (const Case& c : std::vector<Case>{
           {fmt::format("glove train --corpus '{}' --min-count 1 --dim 4 --epochs 2 --output '{}'", corpus,
                        d / "nodir/g.txt"),
            "--output"},
           {fmt::format("jazz sample -o '{}' --checkpoint '{}'", d / "nodir/solo.mid", d / "none.ckpt"), "-o"},
           {fmt::format("jazz sample --wav '{}' --checkpoint '{}'", d / "nodir/solo.wav", d / "none.ckpt"), "--wav"},
           {fmt::format("dot example_affine -o '{}'", d / "nodir/a.dot"), "--output"},
           {fmt::format("dinosaurus train --iterations 1 --history '{}' --checkpoint '{}'", d / "nodir/h.csv",
                        d / "x.ckpt"),
            "--history"},
           {fmt::format("dinosaurus train --iterations 1 --checkpoint '{}'", d / "nodir/x.ckpt"), "--checkpoint"},
           {fmt::format("eval example_affine --random-inputs --output-dir '{}'", corpus), "--output-dir"},
       }) {
    CAPTURE(c.args);
    Result r = graph_run(c.args);
    CHECK(r.rc == 2);
    CHECK(has(r.out, "graph-run: error: " + c.option + ": cannot use '"));
    CHECK(!has(r.out, "epochs in")); // nothing was trained
  }
  // nothing was written: the corpus is all there is
  CHECK(std::distance(fs::directory_iterator(d.path), fs::directory_iterator()) == 1);
}

TEST_CASE("GraphRun.ThreadsAboveCores") {
  const unsigned cores = std::thread::hardware_concurrency();
  REQUIRE(cores > 0);
  TempDir d;
  const std::string run = "eval example_affine --random-inputs --quiet --output-dir '" + d / "out" + "' --threads ";
  Result r = graph_run(run + std::to_string(cores + 1));
  CHECK(r.rc == 0);
  CHECK(r.out == fmt::format("graph-run: warning: --threads {} is more than the {} core{} of this machine; it "
                             "will be slower, not faster\n",
                             cores + 1, cores, cores == 1 ? "" : "s"));
  r = graph_run(run + std::to_string(cores));
  CHECK(r.rc == 0);
  CHECK(r.out.empty());
}

TEST_CASE("GraphRun.TypedHelp") {
  Result r = graph_run("train dinosaurus --help");
  CHECK(r.rc == 0);
  CHECK(has(r.out, "--iterations INT (>= 1, default 22001)"));
  CHECK(has(r.out, "--save-every INT (>= 0, default 2000)"));
  CHECK(has(r.out, "--history FILE "));
  CHECK(has(r.out, "--checkpoint FILE (default dinosaurus.ckpt)"));
  CHECK(has(r.out, "--threads INT (1 to 4096, default 1)"));
  CHECK(has(r.out, "--seed INT (>= 0, default 0)"));
  CHECK(!has(r.out, "TEXT"));
  r = graph_run("sample dinosaurus --help");
  CHECK(has(r.out, "--temperature NUMBER (>= 0, default 1)"));
  r = graph_run("train emojify --help");
  CHECK(has(r.out, "--version {1,2} (default 1)"));
  CHECK(has(r.out, "--epochs INT (>= 1) "));
  r = graph_run("glove --help");
  CHECK(has(r.out, "--lr NUMBER (> 0, default 0.05)"));
  CHECK(has(r.out, "--output FILE "));
}
