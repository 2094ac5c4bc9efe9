#include "graph/npy.hpp"

#include "graph/file.hpp"

#include <bit>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

namespace sg {

static_assert(std::endian::native == std::endian::little,
              "npy I/O copies little-endian data as is; a big-endian host needs byte swapping");

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

// Element types the reader understands, by dtype string without byte order.
struct ElemType {
  std::string_view code; // "f4", "f8", "i4", "i8", "u1", "b1"
  size_t size;
};
constexpr ElemType kTypes[] = {{"f4", 4}, {"f8", 8}, {"i4", 4}, {"i8", 8}, {"u1", 1}, {"b1", 1}};
constexpr const char* kSupported = "'<f4', '<f8', '<i4', '<i8', '|u1', '|b1'";

// The three entries of an npy header dict.
struct Header {
  std::string descr;
  bool fortran_order = false;
  Shape shape;
};

// Recursive-descent parser for the Python-literal header dict, e.g.
// {'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }
class HeaderParser {
public:
  HeaderParser(std::string_view text, const std::string& path) : s_(text), path_(path) {}

  // Parses the whole dict; all three keys must be present.
  Header parse() {
    Header h;
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (true) {
      ws();
      if (peek() == '}') break;
      std::string key = str();
      expect(':');
      if (key == "descr") h.descr = str(), have_descr = true;
      else if (key == "fortran_order") h.fortran_order = boolean(), have_order = true;
      else if (key == "shape") h.shape = tuple(), have_shape = true;
      else fail(fmt::format("unexpected key '{}'", key));
      ws();
      if (peek() == ',') ++i_;
      else if (peek() != '}') fail("expected ',' or '}'");
    }
    ++i_;
    ws();
    if (i_ != s_.size()) fail("text after the closing '}'");
    if (!have_descr || !have_order || !have_shape)
      fail("it must have the keys 'descr', 'fortran_order' and 'shape'");
    return h;
  }

private:
  [[noreturn]] void fail(const std::string& what) const {
    std::string_view shown = s_.substr(0, s_.find_last_not_of(" \n") + 1);
    throw IoError(fmt::format("npy file '{}': unparseable header dict ({}, at column {}): {}", path_,
                              what, i_, shown));
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }
  void expect(char c) {
    ws();
    if (peek() != c) fail(fmt::format("expected '{}'", c));
    ++i_;
  }
  // A quoted string literal without escapes ('...' or "...").
  std::string str() {
    ws();
    char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string");
    size_t end = s_.find(q, i_ + 1);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string r(s_.substr(i_ + 1, end - i_ - 1));
    i_ = end + 1;
    return r;
  }
  bool boolean() {
    ws();
    if (s_.substr(i_, 4) == "True") return i_ += 4, true;
    if (s_.substr(i_, 5) == "False") return i_ += 5, false;
    fail("expected True or False");
  }
  // A tuple of non-negative integers: (), (3,), (2, 3), (2L, 3L) from Python 2.
  Shape tuple() {
    Shape shape;
    expect('(');
    while (true) {
      ws();
      if (peek() == ')') break;
      if (peek() < '0' || peek() > '9') fail("expected a non-negative integer dimension");
      int64_t d = 0;
      while (peek() >= '0' && peek() <= '9') {
        if (d > (std::numeric_limits<int64_t>::max() - 9) / 10) fail("dimension too large");
        d = d * 10 + (s_[i_++] - '0');
      }
      if (peek() == 'L') ++i_;
      if (shape.size() == 64) fail("more than 64 dimensions");
      shape.push_back(d);
      ws();
      if (peek() == ',') ++i_;
      else if (peek() != ')') fail("expected ',' or ')'");
    }
    ++i_;
    return shape;
  }

  std::string_view s_;
  const std::string& path_;
  size_t i_ = 0;
};

// Little-endian unsigned integer of `n` bytes at p.
uint32_t read_le(const unsigned char* p, size_t n) {
  uint32_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= uint32_t(p[i]) << (8 * i);
  return v;
}

// Python repr of a shape tuple: (), (3,), (2, 3).
std::string shape_repr(const Shape& s) {
  std::string r = "(";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  if (s.size() == 1) r += ",";
  return r + ")";
}

} // namespace

Tensor load_npy(const std::string& path) { return parse_npy(read_file(path, "npy file"), path); }

Tensor parse_npy(std::string_view bytes, const std::string& path) {
  const uint64_t file_size = bytes.size();
  const auto* pre = reinterpret_cast<const unsigned char*>(bytes.data());

  // Preamble: magic, version, header length (u16 in 1.0, u32 in 2.0 and 3.0).
  const size_t have = std::min<uint64_t>(file_size, 12);
  if (have == 0 || std::memcmp(pre, kMagic, std::min(have, kMagicLen)) != 0)
    throw IoError(fmt::format("'{}' is not an npy file (bad magic)", path));
  if (have < 10) throw IoError(fmt::format("npy file '{}': truncated header ({} bytes)", path, have));
  const int major = pre[6], minor = pre[7];
  if (major < 1 || major > 3 || minor != 0)
    throw IoError(fmt::format("npy file '{}': unsupported format version {}.{} (supported: 1.0, "
                              "2.0, 3.0)",
                              path, major, minor));
  const size_t len_bytes = major == 1 ? 2 : 4;
  const uint64_t pre_len = 8 + len_bytes;
  if (have < pre_len)
    throw IoError(fmt::format("npy file '{}': truncated header ({} bytes)", path, have));
  const uint64_t header_len = read_le(pre + 8, len_bytes);
  if (pre_len + header_len > file_size)
    throw IoError(fmt::format("npy file '{}': truncated header (header says {} bytes, file has {} "
                              "after the preamble)",
                              path, header_len, file_size - pre_len));
  Header h = HeaderParser(bytes.substr(pre_len, header_len), path).parse();

  // dtype: byte order, then one of the known element types.
  const std::string& d = h.descr;
  const ElemType* type = nullptr;
  if (d.size() == 3 && (d[0] == '<' || d[0] == '>' || d[0] == '|' || d[0] == '='))
    for (const auto& t : kTypes)
      if (d.substr(1) == t.code) type = &t;
  if (!type)
    throw IoError(fmt::format("npy file '{}': unsupported dtype '{}' (supported: {})", path, d,
                              kSupported));
  if (d[0] == '>' && type->size > 1)
    throw IoError(fmt::format("npy file '{}': big-endian dtype '{}' is not supported (save it "
                              "little-endian, e.g. a.astype('<{}'))",
                              path, d, type->code));
  if (h.fortran_order && h.shape.size() >= 2)
    throw IoError(fmt::format("npy file '{}': fortran_order True is not supported (save a C-order "
                              "array, e.g. np.ascontiguousarray(a))",
                              path));

  // Size checks before allocating: a bounded shape, and the file must hold all the data.
  const int64_t count = checked_numel(h.shape);
  if (count < 0)
    throw IoError(fmt::format("npy file '{}': shape {} is too large (more than 2^40 elements, or a "
                              "dimension above 2^40)",
                              path, shape_repr(h.shape)));
  const uint64_t n = uint64_t(count);
  const uint64_t avail = file_size - pre_len - header_len;
  const uint64_t nbytes = n * type->size;
  if (nbytes > avail)
    throw IoError(fmt::format("npy file '{}': data truncated (shape {} needs {} bytes, the file has {})",
                              path, shape_repr(h.shape), nbytes, avail));

  const unsigned char* data = pre + pre_len + header_len;
  const bool is_f32 = type->code == "f4";
  Tensor t(h.shape, is_f32 ? DType::f32 : DType::f64);
  if (is_f32 || type->code == "f8") {
    if (nbytes) std::memcpy(t.raw(), data, nbytes);
  } else {
    double* out = t.data<double>();
    for (uint64_t i = 0; i < n; ++i) {
      const unsigned char* p = data + i * type->size;
      if (type->code == "i4") {
        int32_t v;
        std::memcpy(&v, p, 4);
        out[i] = v;
      } else if (type->code == "i8") {
        int64_t v;
        std::memcpy(&v, p, 8);
        out[i] = static_cast<double>(v);
      } else if (type->code == "u1") {
        out[i] = p[0];
      } else { // b1
        out[i] = p[0] ? 1.0 : 0.0;
      }
    }
  }
  return t;
}

void save_npy(const std::string& path, const Tensor& t) {
  if (t.empty()) throw IoError(fmt::format("save_npy '{}': the tensor has no storage", path));
  std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                                 t.dtype() == DType::f32 ? "<f4" : "<f8", shape_repr(t.shape()));
  // Pad with spaces so that preamble + header (ending in '\n') is a multiple of 64.
  auto padded = [&](size_t pre_len) {
    size_t total = pre_len + dict.size() + 1;
    return dict + std::string((64 - total % 64) % 64, ' ') + '\n';
  };
  std::string header = padded(10);
  const bool v2 = header.size() > 0xffff;
  if (v2) header = padded(12);

  std::string pre(kMagic, kMagicLen);
  pre += char(v2 ? 2 : 1);
  pre += char(0);
  const size_t len_bytes = v2 ? 4 : 2;
  for (size_t i = 0; i < len_bytes; ++i) pre += char((header.size() >> (8 * i)) & 0xff);

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw IoError(fmt::format("cannot open '{}' for writing", path));
  out.write(pre.data(), std::streamsize(pre.size()));
  out.write(header.data(), std::streamsize(header.size()));
  out.write(static_cast<const char*>(t.raw()), std::streamsize(t.nbytes()));
  out.close();
  if (!out) throw IoError(fmt::format("error writing npy file '{}'", path));
}

} // namespace sg
