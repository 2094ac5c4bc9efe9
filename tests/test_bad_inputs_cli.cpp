// Bad input everywhere, as a user meets it (issue 10): graph-run over every
// command and file type with missing, empty, directory, unreadable, truncated,
// foreign, wrong-dtype, huge, non-UTF-8 and other models' files, bad option
// values and output paths that cannot be written. Every case must end with
// exit 1 (bad data) or 2 (bad usage) and a one-line message that names the file
// (or the option) and the problem: never a signal, a hang, a raw library
// message or a silent result. With SEQGRAPH_BAD_INPUTS_TABLE=FILE set, the
// test also writes the table of cases (the README's) to FILE.
#include "graph/checkpoint.hpp"
#include "graph/npy.hpp"
#include "tests/cli_helpers.hpp"

#include <cstdlib>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using namespace sg;
using namespace sg::test;

namespace {

void write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}
std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// An npy file's bytes: the v1.0 preamble, `dict` padded to 64, then `data`.
std::string npy_file(const std::string& dict, const std::string& data) {
  std::string h = dict;
  while ((10 + h.size() + 1) % 64 != 0) h += ' ';
  h += '\n';
  return std::string("\x93NUMPY\x01\x00", 8) + char(h.size() & 0xff) + char(h.size() >> 8) + h + data;
}

struct Case {
  std::string command; // graph-run's arguments; {} is the bad input
  std::string input;   // what the bad input is, for the table
  std::string bad;     // the bad file / value put in for {}
  int rc;              // the exit status it must give
  std::string names;   // what the message must contain (the file, the option)
};

// Text a message must never hold: raw library or runtime output.
const char* const kRaw[] = {"basic_filebuf", "basic_ios", "std::", "what()", "terminate called", "Aborted",
                            "Segmentation", "bad_alloc", "-nan", "CLI11", "stoi", "stod"};

std::string escape(std::string s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

} // namespace

TEST_CASE("BadInputs.EveryCommandAndFileType") {
  TempDir dir;
  const std::string D = dir.path.string();
  const std::string data = SEQGRAPH_DATA_DIR;
  // good files to cut, patch or mismatch
  ParamStore aff;
  aff.set("W", Tensor::from({3, 2}, {1, 2, 3, 4, 5, 6}, DType::f64));
  save_npy(dir / "W.npy", aff.at("W"));
  save_npy(dir / "b.npy", Tensor::from({3, 1}, {0, 0, 0}, DType::f64));
  save_npy(dir / "x.npy", Tensor::from({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8}, DType::f64));
  REQUIRE(graph_run(fmt::format("dinosaurus train --iterations 3 --checkpoint {}/d.ckpt --quiet", D)).rc == 0);
  const std::string ckpt = read(dir / "d.ckpt"), npy = read(dir / "x.npy");
  const std::string mid = read(data + "/jazz/original_metheny.mid");
  write(dir / "empty", "");
  write(dir / "text.txt", "just some text\n");
  write(dir / "half.ckpt", ckpt.substr(0, ckpt.size() / 2));
  write(dir / "half.npy", npy.substr(0, npy.size() - 5));
  write(dir / "half.mid", mid.substr(0, mid.size() / 2));
  std::string v2 = ckpt;
  v2[13] = 2; // the format version
  write(dir / "v2.ckpt", v2);
  write(dir / "c16.npy", npy_file("{'descr': '<c16', 'fortran_order': False, 'shape': (2,), }", std::string(32, '\0')));
  write(dir / "huge.npy", npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000), }", ""));
  write(dir / "latin1.txt", "rex\nd\xe9sir\n");
  write(dir / "latin1.csv", "i love caf\xe9,0\n");
  write(dir / "latin1.vec", "caf\xe9 1 2\n");
  write(dir / "ragged.vec", "a 1 2\nb 1\n");
  write(dir / "bad.csv", "\"never closed,1\n");
  // an emojify checkpoint whose W is not the model's shape (another version of it)
  ParamStore other;
  other.set("W", Tensor::from({5, 7}, std::vector<double>(35, 0.0), DType::f64));
  other.set("b", Tensor::from({5, 1}, std::vector<double>(5, 0.0), DType::f64));
  save_checkpoint(dir / "other.ckpt", "emojify", other, {{"option.version", "1"}});
  // unreadable: as root nothing is, except a file the kernel refuses to read
  std::string unreadable = "/proc/self/mem";
  if (::geteuid() != 0) {
    write(dir / "locked", "x");
    ::chmod((dir / "locked").c_str(), 0);
    unreadable = dir / "locked";
  }
  const std::string emo_data = fmt::format("--data-dir {}/emo", D);
  std::filesystem::create_directories(dir.path / "emo" / "emojify");
  std::filesystem::create_directories(dir.path / "emo" / "glove");
  write(dir / "emo/emojify/train_emoji.csv", "\"never closed,1\n");
  write(dir / "emo/emojify/tesss.csv", read(data + "/emojify/tesss.csv"));
  std::filesystem::copy(data + "/glove/glove.6B.50d.5k.txt", dir.path / "emo" / "glove" / "glove.6B.50d.5k.txt");

  const std::string M = D + "/missing.file";
  const std::string E = D + "/empty";
  const std::vector<Case> cases = {
      // .npy inputs (eval, gradcheck, predict)
      {"eval example_affine --input x={} --input W=" + D + "/W.npy --input b=" + D + "/b.npy", "missing", M, 1, M},
      {"eval example_affine --input x={} --input W=" + D + "/W.npy --input b=" + D + "/b.npy", "empty", E, 1, E},
      {"eval example_affine --input x={}", "a directory", D, 1, D},
      {"eval example_affine --input x={}", "unreadable", unreadable, 1, unreadable},
      {"eval example_affine --input x={}", "truncated", D + "/half.npy", 1, "half.npy"},
      {"eval example_affine --input x={}", "wrong magic (text)", D + "/text.txt", 1, "text.txt"},
      {"eval example_affine --input x={}", "wrong dtype (complex128)", D + "/c16.npy", 1, "c16.npy"},
      {"eval example_affine --input x={}", "huge dimensions (100000, 100000)", D + "/huge.npy", 1, "huge.npy"},
      {"eval example_affine --input x=" + D + "/x.npy --input W={} --input b=" + D + "/b.npy",
       "shapes that do not fit together", D + "/x.npy", 2, "--input"},
      {"eval example_affine --input {}", "not NAME=FILE", "x.npy", 2, "--input"},
      {"dot example_affine -o " + D + "/g.dot --input x={}", "missing", M, 1, M},
      {"jazz predict X={} --checkpoint " + D + "/d.ckpt", "a checkpoint of another model", D + "/x.npy", 1,
       "dinosaurus"},
      // checkpoints (sample, evaluate, predict, eval --checkpoint, train --resume)
      {"dinosaurus sample --checkpoint {}", "missing", M, 1, M},
      {"dinosaurus sample --checkpoint {}", "empty", E, 1, E},
      {"dinosaurus sample --checkpoint {}", "a directory", D, 1, D},
      {"dinosaurus sample --checkpoint {}", "unreadable", unreadable, 1, unreadable},
      {"dinosaurus sample --checkpoint {}", "truncated", D + "/half.ckpt", 1, "half.ckpt"},
      {"dinosaurus sample --checkpoint {}", "wrong magic (text)", D + "/text.txt", 1, "text.txt"},
      {"dinosaurus sample --checkpoint {}", "another format version", D + "/v2.ckpt", 1, "v2.ckpt"},
      {"jazz sample --checkpoint {}", "another model's (dinosaurus)", D + "/d.ckpt", 1, "d.ckpt"},
      {"emojify evaluate --checkpoint {}", "another version of the model (W (5, 7))", D + "/other.ckpt", 1,
       "other.ckpt"},
      {"eval example_affine --random-inputs --output-dir " + D + "/ev --checkpoint {}", "truncated",
       D + "/half.ckpt", 1, "half.ckpt"},
      {"dinosaurus train --iterations 5 --resume --checkpoint {}", "missing (--resume)", M, 1, M},
      // text data: names, CSV, word vectors, corpus, MIDI
      {"dinosaurus train --iterations 1 --checkpoint " + D + "/o.ckpt --data {}", "missing", M, 1, M},
      {"dinosaurus train --iterations 1 --checkpoint " + D + "/o.ckpt --data {}", "empty", E, 1, E},
      {"dinosaurus train --iterations 1 --checkpoint " + D + "/o.ckpt --data {}", "a directory", D, 1, D},
      {"dinosaurus train --iterations 1 --checkpoint " + D + "/o.ckpt --data {}", "unreadable", unreadable, 1,
       unreadable},
      {"dinosaurus train --iterations 1 --checkpoint " + D + "/o.ckpt --data {}", "non-UTF-8 (Latin-1)",
       D + "/latin1.txt", 1, "latin1.txt"},
      {"emojify train --epochs 1 --checkpoint " + D + "/o.ckpt " + emo_data + "{}", "malformed CSV (open quote)",
       "", 1, "train_emoji.csv"},
      {"emojify train --epochs 1 --checkpoint " + D + "/o.ckpt --vectors {}", "missing", M, 1, M},
      {"emojify train --epochs 1 --checkpoint " + D + "/o.ckpt --vectors {}", "empty", E, 1, E},
      {"emojify train --epochs 1 --checkpoint " + D + "/o.ckpt --vectors {}", "ragged", D + "/ragged.vec", 1,
       "ragged.vec"},
      {"emojify train --epochs 1 --checkpoint " + D + "/o.ckpt --vectors {}", "non-UTF-8 (Latin-1)",
       D + "/latin1.vec", 1, "latin1.vec"},
      {"word_vectors similarity a b --vectors {}", "a directory", D, 1, D},
      {"word_vectors similarity a b --vectors {}", "wrong format (a MIDI file)", data + "/jazz/original_metheny.mid",
       1, "original_metheny.mid"},
      {"glove train --epochs 1 --checkpoint " + D + "/o.ckpt --corpus {}", "missing", M, 1, M},
      {"glove train --epochs 1 --checkpoint " + D + "/o.ckpt --corpus {}", "empty", E, 1, E},
      {"glove train --epochs 1 --checkpoint " + D + "/o.ckpt --corpus {}", "non-UTF-8 (Latin-1)",
       D + "/latin1.txt", 1, "latin1.txt"},
      {"jazz train --epochs 1 --checkpoint " + D + "/o.ckpt --data {}", "missing", M, 1, M},
      {"jazz train --epochs 1 --checkpoint " + D + "/o.ckpt --data {}", "truncated", D + "/half.mid", 1,
       "half.mid"},
      {"jazz train --epochs 1 --checkpoint " + D + "/o.ckpt --data {}", "wrong magic (text)", D + "/text.txt", 1,
       "text.txt"},
      // outputs that cannot be written: refused before the work starts
      {"dinosaurus train --iterations 1 --checkpoint {}", "no such directory", D + "/nodir/o.ckpt", 2, "nodir"},
      {"dinosaurus train --iterations 1 --checkpoint {}", "a directory", D, 2, D},
      {"dinosaurus train --iterations 1 --checkpoint " + D + "/o.ckpt --history {}", "no such directory",
       D + "/nodir/h.csv", 2, "nodir"},
      {"glove train --epochs 1 --corpus " + data + "/dinos.txt --checkpoint " + D + "/o.ckpt --output {}",
       "a directory", D, 2, D},
      {"dot dinosaurus -o {}", "no such directory", D + "/nodir/g.svg", 2, "nodir"},
      {"dot dinosaurus -o {}", "unknown extension", D + "/g.jpeg", 2, "g.jpeg"},
      {"jazz predict X=" + D + "/x.npy --output-dir {}", "a file, not a directory", D + "/empty", 2, "empty"},
      {"emojify predict {}", "a sentence without words", " ", 2, "sentence 1"},
      // option values
      {"dinosaurus train --iterations {}", "negative", "-1", 2, "--iterations"},
      {"dinosaurus train --seed {}", "not a number", "abc", 2, "--seed"},
      {"emojify train --version {}", "not a choice", "3", 2, "--version"},
      {"jazz sample --temperature {}", "not a number (nan)", "nan", 2, "--temperature"},
      {"dinosaurus train --iterations 1 --threads {}", "zero", "0", 2, "--threads"},
      {"dinosaurus {}", "a misspelled command", "trian", 2, "train"},
      {"{} train", "a misspelled model", "dinosaurs", 2, "dinosaurus"},
      {"dinosaurus train --iteratons {}", "a misspelled option", "3", 2, "--iterations"},
  };
  std::string table = "| command | input | exit | message |\n|---|---|---|---|\n";
  for (const Case& c : cases) {
    std::string args = c.command;
    args.replace(args.find("{}"), 2, c.bad.empty() ? "" : "'" + c.bad + "'");
    INFO("graph-run " << args);
    const Result r = graph_run(args + " </dev/null");
    CHECK(r.rc == c.rc);
    CHECK(has(r.out, c.names));
    CHECK(has(r.out, "graph-run: error: "));
    for (const char* raw : kRaw) {
      INFO("raw text: " << raw);
      CHECK(!has(r.out, raw));
    }
    CHECK(!std::filesystem::exists(dir / "o.ckpt")); // nothing trained or written
    std::string msg = r.out.substr(r.out.rfind("graph-run: error: ") == std::string::npos ? 0 : r.out.rfind("graph-run: error: "));
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    std::string shown = "graph-run " + c.command;
    shown.replace(shown.find("{}"), 2, c.bad.empty() ? "" : c.bad);
    for (const auto& [from, to] : {std::pair{D, std::string("D")}, {data, std::string("DATA")}})
      for (size_t at; (at = shown.find(from)) != std::string::npos || (at = msg.find(from)) != std::string::npos;)
        (shown.find(from) != std::string::npos ? shown : msg).replace(at, from.size(), to);
    table += fmt::format("| `{}` | {} | {} | {} |\n", escape(shown), c.input, r.rc, escape(msg));
  }
  if (const char* out = std::getenv("SEQGRAPH_BAD_INPUTS_TABLE")) write(out, table);
}
