// Tests for .npy reading/writing and parameter checkpoints.
#include "graph/checkpoint.hpp"
#include "graph/npy.hpp"

#include "tests/helpers.hpp"

#include <atomic>
#include <cstring>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace sg;

using sg::test::TempDir;

namespace {

// Writes raw bytes to a file.
void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

// Reads a whole file as bytes.
std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// An npy file by the format spec: magic, version, little-endian header length,
// the dict padded with spaces and ended by '\n' to a multiple of 64, then data.
std::string npy_bytes(const std::string& dict, const std::string& data, int major = 1) {
  const size_t pre = major == 1 ? 10 : 12;
  std::string header = dict;
  while ((pre + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string b = "\x93NUMPY";
  b += char(major);
  b += char(0);
  for (size_t i = 0; i < pre - 8; ++i) b += char((header.size() >> (8 * i)) & 0xff);
  return b + header + data;
}

// An npy header dict.
std::string dict(const std::string& descr, const std::string& order, const std::string& shape) {
  return "{'descr': '" + descr + "', 'fortran_order': " + order + ", 'shape': " + shape + ", }";
}

// Little-endian bytes of a value.
template <class T> std::string le(T v) {
  std::string s(sizeof(T), '\0');
  std::memcpy(s.data(), &v, sizeof(T));
  return s;
}

// Tensor with values 0.5 * i - 3 for i = 0, 1, ...
Tensor ramp(Shape shape, DType dtype) {
  Tensor t(std::move(shape), dtype);
  for (int64_t i = 0; i < t.size(); ++i) t.set(i, 0.5 * double(i) - 3.0);
  return t;
}

// Same shape, dtype and bitwise-equal values.
void check_same(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  REQUIRE(a.dtype() == b.dtype());
  CHECK(std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0);
}

} // namespace

TEST_CASE("Io.NpyRoundTrip") {
  TempDir tmp;
  const Tensor cases[] = {ramp({3, 4}, DType::f32), ramp({3, 4}, DType::f64),
                          ramp({2, 3, 5}, DType::f32), ramp({2, 3, 5}, DType::f64),
                          Tensor::scalar(2.5, DType::f32), Tensor::scalar(-7.25, DType::f64),
                          ramp({7}, DType::f64), Tensor({0, 3}, DType::f32)};
  int k = 0;
  for (const Tensor& t : cases) {
    CAPTURE(k);
    const std::string p = tmp / ("a" + std::to_string(k++) + ".npy");
    save_npy(p, t);
    check_same(load_npy(p), t);
    // Layout as numpy writes it: version 1.0, data at a multiple of 64, '\n'-ended header.
    const std::string b = read_bytes(p);
    REQUIRE(b.size() >= t.nbytes() + 64);
    const size_t data_at = b.size() - t.nbytes();
    CHECK(data_at % 64 == 0);
    CHECK(b.compare(0, 8, std::string("\x93NUMPY\x01\x00", 8)) == 0);
    CHECK(size_t(uint8_t(b[8]) | uint8_t(b[9]) << 8) == data_at - 10);
    CHECK(b[data_at - 1] == '\n');
    const std::string descr = t.dtype() == DType::f32 ? "<f4" : "<f8";
    CHECK(b.find("{'descr': '" + descr + "', 'fortran_order': False, 'shape': ") == 10);
  }
  const std::string b0 = read_bytes(tmp / "a4.npy");
  CHECK(b0.find("'shape': (), }") != std::string::npos);
  CHECK(read_bytes(tmp / "a6.npy").find("'shape': (7,), }") != std::string::npos);
  CHECK(read_bytes(tmp / "a2.npy").find("'shape': (2, 3, 5), }") != std::string::npos);
}

TEST_CASE("Io.NpyReadHandAssembled") {
  TempDir tmp;
  // '<f8' shape (2, 3): 1, 2, -0.5 / 0.25, 3, 100 as IEEE 754 little-endian bytes.
  const std::string data("\x00\x00\x00\x00\x00\x00\xf0\x3f"  // 1.0
                         "\x00\x00\x00\x00\x00\x00\x00\x40"  // 2.0
                         "\x00\x00\x00\x00\x00\x00\xe0\xbf"  // -0.5
                         "\x00\x00\x00\x00\x00\x00\xd0\x3f"  // 0.25
                         "\x00\x00\x00\x00\x00\x00\x08\x40"  // 3.0
                         "\x00\x00\x00\x00\x00\x00\x59\x40", // 100.0
                         48);
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
  header += std::string(128 - 10 - header.size() - 1, ' ') + "\n"; // data at byte 128
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8) + char(header.size()) + '\0' + header;
  REQUIRE(bytes.size() == 128);
  write_bytes(tmp / "hand.npy", bytes + data);
  Tensor t = load_npy(tmp / "hand.npy");
  CHECK(t.dtype() == DType::f64);
  CHECK(t.shape() == Shape{2, 3});
  CHECK(t.values() == std::vector<double>{1, 2, -0.5, 0.25, 3, 100});
  CHECK(t({1, 2}) == 100.0);

  SUBCASE("version 2.0 and 3.0, other spellings of the dict") {
    for (int major : {2, 3}) {
      write_bytes(tmp / "v.npy", npy_bytes("{\"shape\":(2,3),\"fortran_order\":False,\"descr\":\"<f8\"}",
                                           data, major));
      CHECK(load_npy(tmp / "v.npy").values() == t.values());
    }
    write_bytes(tmp / "py2.npy",
                npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2L, 3L), }", data));
    CHECK(load_npy(tmp / "py2.npy").shape() == Shape{2, 3});
    // Rank 1 in Fortran order is the same layout.
    write_bytes(tmp / "f1.npy",
                npy_bytes("{'descr': '<f8', 'fortran_order': True, 'shape': (6,), }", data));
    CHECK(load_npy(tmp / "f1.npy").values() == t.values());
  }
  SUBCASE("float32") {
    write_bytes(tmp / "f4.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
                                          le(1.5f) + le(-2.0f)));
    Tensor f = load_npy(tmp / "f4.npy");
    CHECK(f.dtype() == DType::f32);
    CHECK(f.values() == std::vector<double>{1.5, -2.0});
  }
  SUBCASE("integer and boolean arrays load as float64") {
    auto load = [&](const std::string& descr, const std::string& bytes, const std::string& shape) {
      write_bytes(tmp / "i.npy",
                  npy_bytes("{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape +
                                ", }",
                            bytes));
      Tensor r = load_npy(tmp / "i.npy");
      CHECK(r.dtype() == DType::f64);
      return r.values();
    };
    CHECK(load("<i4", le<int32_t>(7) + le<int32_t>(-3), "(2,)") == std::vector<double>{7, -3});
    CHECK(load("<i8", le<int64_t>(1), "()") == std::vector<double>{1});
    CHECK(load("<i8", le<int64_t>(-40000000000), "(1,)") == std::vector<double>{-4e10});
    CHECK(load("|u1", std::string("\x00\x05\xff", 3), "(3,)") == std::vector<double>{0, 5, 255});
    CHECK(load("<u1", "\x09", "(1, 1)") == std::vector<double>{9});
    CHECK(load("|b1", std::string("\x01\x00\x01", 3), "(3,)") == std::vector<double>{1, 0, 1});
  }
}

TEST_CASE("Io.NpyErrors") {
  TempDir tmp;
  const std::string p = tmp / "bad.npy";
  const std::string d6(48, '\0');

  CHECK_THROWS_WITH_AS(load_npy(tmp / "missing.npy"), doctest::Contains("cannot read npy file"), IoError);
  CHECK_THROWS_WITH_AS(load_npy(tmp / "missing.npy"), doctest::Contains("missing.npy"), IoError);

  write_bytes(p, "PK\x03\x04 this is a zip file, not an npy file");
  CHECK_THROWS_WITH_AS(load_npy(p), doctest::Contains("not an npy file (bad magic)"), IoError);
  CHECK_THROWS_WITH_AS(load_npy(p), doctest::Contains("bad.npy"), IoError);
  write_bytes(p, "");
  CHECK_THROWS_WITH_AS(load_npy(p), doctest::Contains("bad magic"), IoError);

  const std::string good = npy_bytes(dict("<f8", "False", "(2, 3)"), d6);
  write_bytes(p, good.substr(0, 9));
  CHECK_THROWS_WITH_AS(load_npy(p), doctest::Contains("truncated header"), IoError);
  write_bytes(p, good.substr(0, 40));
  CHECK_THROWS_WITH_AS(load_npy(p), doctest::Contains("truncated header"), IoError);

  write_bytes(p, good.substr(0, good.size() - 8));
  CHECK_THROWS_WITH_AS(load_npy(p), doctest::Contains("data truncated (shape (2, 3) needs 48 bytes, the file has 40)"),
                       IoError);
  // A huge shape must not allocate: it is bounded, then checked against the file's size.
  write_bytes(p, npy_bytes(dict("<f8", "False", "(4000000000, 4000000000, 4000000000)"), d6));
  CHECK_THROWS_WITH_AS(load_npy(p), doctest::Contains("shape (4000000000, 4000000000, 4000000000) is too large"),
                       IoError);
  write_bytes(p, npy_bytes(dict("<f8", "False", "(100000, 100000)"), d6));
  CHECK_THROWS_WITH_AS(load_npy(p), doctest::Contains("data truncated (shape (100000, 100000) needs 80000000000 bytes"),
                       IoError);

  write_bytes(p, npy_bytes(dict("<f8", "True", "(2, 3)"), d6));
  CHECK_THROWS_WITH_AS(load_npy(p), doctest::Contains("fortran_order True is not supported"), IoError);

  write_bytes(p, npy_bytes(dict(">f8", "False", "(2, 3)"), d6));
  CHECK_THROWS_WITH_AS(load_npy(p), doctest::Contains("big-endian dtype '>f8'"), IoError);

  write_bytes(p, npy_bytes(dict("<c8", "False", "(2, 3)"), d6));
  CHECK_THROWS_WITH_AS(load_npy(p), doctest::Contains("unsupported dtype '<c8' (supported: '<f4', '<f8'"),
                       IoError);
  write_bytes(p, npy_bytes(dict("<U5", "False", "(2,)"), d6));
  CHECK_THROWS_WITH_AS(load_npy(p), doctest::Contains("unsupported dtype '<U5'"), IoError);

  for (const std::string& bad : {std::string("{'descr': '<f8', 'fortran_order': False}"),
                                 std::string("{'descr': '<f8', 'fortran_order': Maybe, 'shape': (2,)}"),
                                 std::string("{'descr': '<f8', 'fortran_order': False, 'shape': (-2,)}"),
                                 std::string("{'descr': '<f8' 'fortran_order': False, 'shape': (2,)}"),
                                 std::string("{'descr': '<f8', 'fortran_order': False, 'shape': (2,"),
                                 std::string("not a dict at all")}) {
    CAPTURE(bad);
    write_bytes(p, npy_bytes(bad, d6));
    CHECK_THROWS_WITH_AS(load_npy(p), doctest::Contains("unparseable header dict"), IoError);
  }

  std::string v9 = good;
  v9[6] = 9;
  write_bytes(p, v9);
  CHECK_THROWS_WITH_AS(load_npy(p), doctest::Contains("unsupported format version 9.0"), IoError);
}

namespace {

// A small store with both dtypes, a scalar and a rank-3 tensor.
ParamStore sample_params() {
  ParamStore ps;
  ps.set("dense/W", ramp({3, 2}, DType::f32));
  ps.set("dense/b", ramp({2}, DType::f64));
  ps.set("lstm/kernel", ramp({2, 2, 3}, DType::f32));
  ps.set("step", Tensor::scalar(42, DType::f64));
  ps.set("empty", Tensor({0, 4}, DType::f32));
  return ps;
}

} // namespace

TEST_CASE("Io.Crc32") {
  CHECK(crc32("123456789", 9) == 0xCBF43926u);
  CHECK(crc32("", 0) == 0u);
  CHECK(crc32("56789", 5, crc32("1234", 4)) == 0xCBF43926u);
}

TEST_CASE("Io.CheckpointRoundTrip") {
  TempDir tmp;
  const std::string p = tmp / "model.ckpt";
  const ParamStore ps = sample_params();
  const std::map<std::string, std::string> meta{{"epoch", "12"}, {"loss", "0.125"}, {"note", ""}};
  save_checkpoint(p, "dinosaurus", ps, meta);
  CHECK_FALSE(fs::exists(p + ".tmp"));
  CHECK(read_bytes(p).compare(0, 13, "SEQGRAPH-CKPT") == 0);

  Checkpoint ck = load_checkpoint(p, "dinosaurus");
  CHECK(ck.model == "dinosaurus");
  CHECK(ck.meta == meta);
  REQUIRE(ck.params.size() == ps.size());
  for (const auto& [name, t] : ps.all()) {
    CAPTURE(name);
    REQUIRE(ck.params.contains(name));
    check_same(ck.params.at(name), t);
  }

  // Overwriting an existing checkpoint replaces it; the result is byte-for-byte deterministic.
  const std::string first = read_bytes(p);
  save_checkpoint(p, "dinosaurus", ps, meta);
  CHECK(read_bytes(p) == first);
  save_checkpoint(p, "jazz", ParamStore{});
  Checkpoint empty = load_checkpoint(p);
  CHECK(empty.model == "jazz");
  CHECK(empty.meta.empty());
  CHECK(empty.params.size() == 0);
}

TEST_CASE("Io.CheckpointErrors") {
  TempDir tmp;
  const std::string p = tmp / "x.ckpt", q = tmp / "cut.ckpt";
  ParamStore ps;
  ps.set("W", ramp({2, 3}, DType::f32));
  ps.set("b", ramp({3}, DType::f64));
  save_checkpoint(p, "jazz", ps, {{"epoch", "3"}});
  const std::string good = read_bytes(p);

  CHECK_THROWS_WITH_AS(load_checkpoint(tmp / "nope.ckpt"), doctest::Contains("cannot read checkpoint"),
                       IoError);
  CHECK_THROWS_WITH_AS(load_checkpoint(p, "dinosaurus"),
                       doctest::Contains(("checkpoint '" + p + "' was written by model 'jazz', not "
                                          "'dinosaurus'").c_str()),
                       IoError);

  write_bytes(q, "\x93NUMPY\x01\x00 an npy file");
  CHECK_THROWS_WITH_AS(load_checkpoint(q), doctest::Contains("is not a seqgraph checkpoint (bad magic)"),
                       IoError);

  SUBCASE("truncated at every offset") {
    for (size_t n = 0; n < good.size(); ++n) {
      CAPTURE(n);
      write_bytes(q, good.substr(0, n));
      CHECK_THROWS_WITH_AS(load_checkpoint(q), doctest::Contains("truncated"), IoError);
    }
    write_bytes(q, good.substr(0, 50));
    CHECK_THROWS_WITH_AS(load_checkpoint(q), doctest::Contains("cut.ckpt"), IoError);
    write_bytes(q, good.substr(0, good.size() - 10));
    CHECK_THROWS_WITH_AS(load_checkpoint(q), doctest::Contains("reading the data of tensor 'b'"),
                         IoError);
  }
  SUBCASE("a flipped byte in the data fails the checksum") {
    std::string bad = good;
    bad[good.size() - 4 - 3] ^= 0x01; // inside the last tensor's data
    write_bytes(q, bad);
    CHECK_THROWS_WITH_AS(load_checkpoint(q), doctest::Contains("corrupt: checksum mismatch"), IoError);
    // Any single corrupted byte anywhere is an IoError, never a crash.
    for (size_t i = 0; i < good.size(); ++i) {
      CAPTURE(i);
      std::string b = good;
      b[i] = char(b[i] ^ 0xA5);
      write_bytes(q, b);
      CHECK_THROWS_AS(load_checkpoint(q), IoError);
    }
    write_bytes(q, good + "x");
    CHECK_THROWS_WITH_AS(load_checkpoint(q), doctest::Contains("corrupt"), IoError);
  }
  SUBCASE("implausible fields") {
    // Offsets in this file: magic 0..12, version 13, model len 17 + "jazz" 21,
    // n_meta 25, "epoch" 29+4, "3" 38+4, n_tensors 43, name "W" 47+4, dtype 52, rank 53, dims 57.
    auto patched = [&](size_t at, const std::string& bytes) {
      std::string b = good;
      b.replace(at, bytes.size(), bytes);
      write_bytes(q, b);
    };
    REQUIRE(good.substr(51, 1) == "W");
    patched(13, le<uint32_t>(7));
    CHECK_THROWS_WITH_AS(load_checkpoint(q), doctest::Contains("unsupported format version 7"), IoError);
    patched(52, le<uint8_t>(9));
    CHECK_THROWS_WITH_AS(load_checkpoint(q), doctest::Contains("implausible dtype code 9"), IoError);
    patched(53, le<uint32_t>(1000000));
    CHECK_THROWS_WITH_AS(load_checkpoint(q), doctest::Contains("implausible rank 1000000 for tensor 'W'"),
                         IoError);
    patched(57, le<int64_t>(-2));
    CHECK_THROWS_WITH_AS(load_checkpoint(q), doctest::Contains("implausible negative dimension -2"),
                         IoError);
    patched(57, le<int64_t>(int64_t(1) << 62)); // a huge tensor: refused before allocating
    CHECK_THROWS_WITH_AS(load_checkpoint(q), doctest::Contains("implausible shape (4611686018427387904, 3) for tensor 'W'"),
                         IoError);
    patched(57, le<int64_t>(int64_t(1) << 40)); // 3 * 2^40 elements: above the bound (kMaxElements)
    CHECK_THROWS_WITH_AS(load_checkpoint(q), doctest::Contains("implausible shape (1099511627776, 3) for tensor 'W'"),
                         IoError);
    patched(57, le<int64_t>(int64_t(1) << 36)); // large but representable: needs more than is left
    CHECK_THROWS_WITH_AS(load_checkpoint(q),
                         doctest::Contains("truncated at byte 73 reading the data of tensor 'W' "
                                           "(needs 824633720832 bytes"),
                         IoError);
    patched(17, le<uint32_t>(0xFFFFFFF0u)); // a huge model-name length
    CHECK_THROWS_WITH_AS(load_checkpoint(q), doctest::Contains("reading the model name"), IoError);
  }
}

TEST_CASE("Io.RestoreParams") {
  TempDir tmp;
  const std::string p = tmp / "r.ckpt";
  save_checkpoint(p, "emojify", sample_params());
  const Checkpoint ck = load_checkpoint(p);

  SUBCASE("into an empty store copies everything") {
    ParamStore into;
    restore_params(ck, into, true);
    CHECK(into.size() == ck.params.size());
    check_same(into.at("lstm/kernel"), ck.params.at("lstm/kernel"));
  }
  SUBCASE("converts to the dtype the store holds; non-strict keeps extra parameters") {
    ParamStore into;
    into.set("dense/W", Tensor({3, 2}, DType::f64));
    into.set("only/in/model", Tensor::scalar(5));
    restore_params(ck, into, false);
    CHECK(into.at("dense/W").dtype() == DType::f64);
    CHECK(into.at("dense/W").values() == ck.params.at("dense/W").values());
    CHECK(into.at("only/in/model").at(0) == 5.0);
  }
  SUBCASE("strict: names the store holds but the checkpoint lacks") {
    ParamStore into;
    into.set("dense/W", Tensor({3, 2}));
    into.set("extra_a", Tensor({1}));
    into.set("extra_b", Tensor({1}));
    CHECK_THROWS_WITH_AS(restore_params(ck, into, true),
                         doctest::Contains("lacks parameters the model holds: 'extra_a', 'extra_b'"),
                         IoError);
    CHECK(into.at("dense/W").values() == std::vector<double>(6, 0.0)); // unchanged
    CHECK(into.size() == 3);
  }
  SUBCASE("shape mismatch") {
    ParamStore into;
    into.set("dense/W", Tensor({2, 3}));
    CHECK_THROWS_WITH_AS(restore_params(ck, into, false),
                         doctest::Contains("parameter 'dense/W' has shape (3, 2) in the checkpoint "
                                           "but (2, 3) in the model"),
                         IoError);
    CHECK(into.size() == 1);
  }
}

// Issue 10's findings: a shape with a 0 beside a huge dimension, and numpy's
// empty arrays of either orientation.
TEST_CASE("Io.NpyEmptyArraysAndBoundedShapes") {
  TempDir tmp;
  const std::string p = tmp / "e.npy";
  // numpy's np.save(f, np.zeros((3, 0))) and np.zeros((0, 3)): no data bytes
  for (const char* shape : {"(3, 0)", "(0, 3)", "(0,)"}) {
    INFO(shape);
    write_bytes(p, npy_bytes(dict("<f8", "False", shape), ""));
    const Tensor t = load_npy(p);
    CHECK(t.size() == 0);
    CHECK(to_string(t.shape()) == shape);
    save_npy(tmp / "back.npy", t); // and back, to the same shape
    CHECK(load_npy(tmp / "back.npy").shape() == t.shape());
  }
  // (0, 2^62) holds nothing, but a product with it would: refused at load
  write_bytes(p, npy_bytes(dict("<f8", "False", "(0, 4611686018427387904)"), ""));
  CHECK_THROWS_WITH_AS(load_npy(p), doctest::Contains("shape (0, 4611686018427387904) is too large"), IoError);
  // a directory and an empty path name the problem
  CHECK_THROWS_WITH_AS(load_npy(tmp.path.string()), doctest::Contains("it is a directory"), IoError);
  CHECK_THROWS_WITH_AS(load_npy(""), doctest::Contains("no npy file given"), IoError);
}
