// Bad input everywhere (issue 10): every parser over every truncation of a
// good file, UTF-8 checks of the text readers, and the regression cases the
// fuzzers (tools/fuzz) found. The graph-run matrix of bad files and options
// is tests/test_bad_inputs_cli.cpp.
#include "graph/checkpoint.hpp"
#include "graph/file.hpp"
#include "graph/npy.hpp"
#include "models/data/csv.hpp"
#include "models/data/glove.hpp"
#include "models/data/jazz_values.hpp"
#include "models/data/midi.hpp"
#include "models/data/sentences.hpp"
#include "models/data/text.hpp"
#include "tests/helpers.hpp"

#include <doctest/doctest.h>
#include <fstream>
#include <functional>
#include <string>

using namespace sg;
using sg::test::TempDir;

namespace {

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string head_lines(const std::string& path, int n) {
  std::ifstream in(path, std::ios::binary);
  std::string s, line;
  for (int i = 0; i < n && std::getline(in, line); ++i) s += line + "\n";
  return s;
}

// What parsing `bytes` gave: 'ok', 'io' (an IoError, the only error a parser
// may throw for bad bytes) or the text of any other exception.
std::string outcome(const std::function<void(std::string_view)>& parse, std::string_view bytes) {
  try {
    parse(bytes);
    return "ok";
  } catch (const IoError&) {
    return "io";
  } catch (const std::exception& e) {
    return std::string("other: ") + e.what();
  }
}

struct Kind {
  std::string name;
  std::string good;                                // a well-formed file's bytes
  std::function<void(std::string_view)> parse;
  bool binary;                                     // a prefix of a binary file is never well-formed
  size_t stride = 1;                               // every byte up to `dense`, then every stride-th
  size_t dense = 512;
};

} // namespace

TEST_CASE("BadInputs.EveryParserOnEveryTruncation") {
  TempDir tmp;
  const std::string data = SEQGRAPH_DATA_DIR;
  Tensor t = Tensor::from({2, 3}, {1, 2, 3, 4, 5, 6}, DType::f32);
  save_npy(tmp / "t.npy", t);
  ParamStore ps;
  ps.set("W", t);
  ps.set("b", Tensor::from({3}, {0.5, -1, 2}, DType::f64));
  save_checkpoint(tmp / "c.ckpt", "m", ps, {{"option.lr", "0.01"}, {"loop.step", "3"}});
  write_midi(tmp / "m.mid", std::vector<MidiNote>{{0, 0, 60, 90, 0, 96}, {0, 0, 64, 90, 96, 192}});
  const data::CharVocab vocab = data::newline_and_lowercase();

  const std::vector<Kind> kinds = {
      {"npy", bytes_of(tmp / "t.npy"), [](std::string_view b) { parse_npy(b, "t.npy"); }, true},
      {"checkpoint", bytes_of(tmp / "c.ckpt"), [](std::string_view b) { parse_checkpoint(b, "c.ckpt"); }, true},
      {"midi (written)", bytes_of(tmp / "m.mid"), [](std::string_view b) { parse_midi(b, "m.mid"); }, true},
      {"midi (the course's)", bytes_of(data + "/jazz/original_metheny.mid"),
       [](std::string_view b) { build_corpus(parse_midi(b, "metheny.mid")); }, false, 1009, 64},
      {"csv (train)", head_lines(data + "/emojify/train_emoji.csv", 40),
       [](std::string_view b) { emojify::parse_examples(b, "train.csv"); }, false},
      {"csv (test, tabs)", head_lines(data + "/emojify/tesss.csv", 40),
       [](std::string_view b) { emojify::parse_examples(b, "test.csv"); }, false},
      {"glove", head_lines(data + "/glove/glove.6B.50d.5k.txt", 6),
       [](std::string_view b) { parse_glove(b, "g.txt"); }, false},
      {"names", head_lines(data + "/dinos.txt", 80),
       [&](std::string_view b) { data::parse_lines(b, "dinos.txt", vocab); }, false},
  };
  for (const Kind& k : kinds) {
    INFO(k.name);
    REQUIRE(k.good.size() > 20);
    CHECK(outcome(k.parse, k.good) == "ok");
    int64_t refused = 0, tried = 0;
    for (size_t n = 0; n < k.good.size(); n += n < k.dense ? 1 : k.stride) {
      const std::string got = outcome(k.parse, std::string_view(k.good).substr(0, n));
      INFO("truncated to " << n << " bytes");
      if (k.binary) CHECK(got == "io");
      else CHECK((got == "ok" || got == "io"));
      refused += got == "io";
      ++tried;
    }
    CHECK(refused > 0);
    CHECK(tried > 90);
    // one byte flipped at every position: still only 'ok' or 'io'
    std::string flipped = k.good;
    for (size_t i = 0; i < flipped.size(); i += i < k.dense ? 1 : k.stride) {
      flipped[i] ^= char(0x5a);
      const std::string got = outcome(k.parse, flipped);
      INFO("byte " << i << " flipped");
      CHECK((got == "ok" || got == "io"));
      flipped[i] ^= char(0x5a);
    }
  }
}

TEST_CASE("BadInputs.Utf8") {
  CHECK(invalid_utf8_at("plain ascii") == std::string_view::npos);
  CHECK(invalid_utf8_at("caf\xc3\xa9 \xe2\x9d\xa4 \xf0\x9f\x98\x80") == std::string_view::npos); // é ❤ 😀
  CHECK(invalid_utf8_at("ab\xff") == 2);                 // never in UTF-8
  CHECK(invalid_utf8_at("\xc0\xaf") == 0);               // overlong '/'
  CHECK(invalid_utf8_at("x\xe0\x80\xaf") == 1);          // overlong, 3 bytes
  CHECK(invalid_utf8_at("\xed\xa0\x80") == 0);           // a UTF-16 surrogate
  CHECK(invalid_utf8_at("\xf4\x90\x80\x80") == 0);       // above U+10FFFF
  CHECK(invalid_utf8_at("ok\xe2\x82") == 2);             // cut short
  CHECK(invalid_utf8_at("\xc3(") == 0);                  // a bad continuation byte
  CHECK(invalid_utf8_at(std::string_view("a\0b", 3)) == std::string_view::npos);

  // the text readers name the file, the line and the byte
  const std::string latin1 = "i love caf\xe9,0\n";
  CHECK_THROWS_WITH_AS(emojify::parse_examples("ok,1\n" + latin1, "t.csv"),
                       doctest::Contains("t.csv:2: not UTF-8 text (byte 0xe9 at column 11)"), IoError);
  CHECK_THROWS_WITH_AS(parse_glove("caf\xe9 1 2\n", "g.txt"), doctest::Contains("g.txt:1: not UTF-8 text"), IoError);
  CHECK_THROWS_WITH_AS(data::parse_lines("rex\n\xff\xfe\n", "n.txt", data::newline_and_lowercase()),
                       doctest::Contains("n.txt:2: not UTF-8 text (byte 0xff at column 1)"), IoError);
}

TEST_CASE("BadInputs.ResourceLimits") {
  // refused before the bytes are read or the numbers stored
  TempDir tmp;
  {
    std::ofstream big(tmp / "big.csv", std::ios::binary);
    big.seekp(std::streamoff(data::kMaxCsvBytes)); // a sparse file one byte over the bound
    big.put('x');
  }
  CHECK_THROWS_WITH_AS(data::read_csv(tmp / "big.csv"), doctest::Contains("more than the 67108864 a CSV file may have"),
                       IoError);
  const std::string line(data::kMaxCsvLine + 1, 'a');
  CHECK_THROWS_WITH_AS(data::parse_csv(line + ",1\n", "l.csv"), doctest::Contains("l.csv:1: a line of 1048579 bytes"),
                       IoError);
  std::string wide = "w";
  for (size_t i = 0; i <= kMaxGloveDim; ++i) wide += " 1";
  CHECK_THROWS_WITH_AS(parse_glove(wide + "\n", "wide.txt"), doctest::Contains("has more than 65536 numbers"),
                       IoError);
}
