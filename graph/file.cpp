#include "graph/file.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sg {

namespace {

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Opens `path` for reading and checks what it is; throws IoError saying why not.
Fd open_checked(const std::string& path, std::string_view what, struct stat& st) {
  if (path.empty()) throw IoError(fmt::format("no {} given (an empty path)", what));
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) {
    const int e = errno;
    throw IoError(fmt::format("cannot read {} '{}': {}", what, path,
                              e == ENOENT ? "no such file" : std::strerror(e)));
  }
  if (::fstat(f.fd, &st) != 0)
    throw IoError(fmt::format("cannot read {} '{}': {}", what, path, std::strerror(errno)));
  if (S_ISDIR(st.st_mode)) throw IoError(fmt::format("cannot read {} '{}': it is a directory", what, path));
  return f;
}

} // namespace

void write_file(const std::string& path, std::string_view bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw IoError(fmt::format("{}: cannot open for writing: {}", path, std::strerror(errno)));
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size() && std::fflush(f) == 0;
  const int err = errno;
  if (std::fclose(f) != 0 || !ok) throw IoError(fmt::format("{}: write error: {}", path, std::strerror(ok ? errno : err)));
}

std::string read_file(const std::string& path, std::string_view what, uint64_t max_bytes) {
  struct stat st {};
  Fd f = open_checked(path, what, st);
  const bool regular = S_ISREG(st.st_mode);
  if (regular && uint64_t(st.st_size) > max_bytes)
    throw IoError(fmt::format("cannot read {} '{}': it has {} bytes, more than the {} a {} may have", what, path,
                              st.st_size, max_bytes, what));
  std::string bytes;
  if (regular) bytes.reserve(size_t(st.st_size));
  char buf[1 << 16];
  while (true) {
    const ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw IoError(fmt::format("error reading {} '{}': {}", what, path, std::strerror(errno)));
    if (n == 0) break;
    if (bytes.size() + size_t(n) > max_bytes) // a pipe or a file that grows while we read
      throw IoError(fmt::format("cannot read {} '{}': it has more than the {} bytes a {} may have", what, path,
                                max_bytes, what));
    bytes.append(buf, size_t(n));
  }
  return bytes;
}

void check_readable(const std::string& path, std::string_view what) {
  struct stat st {};
  open_checked(path, what, st);
}

size_t invalid_utf8_at(std::string_view t) noexcept {
  const auto* s = reinterpret_cast<const unsigned char*>(t.data());
  const size_t n = t.size();
  for (size_t i = 0; i < n;) {
    const unsigned c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    // the length of the sequence and the range its second byte must be in (Unicode 15, table 3-7)
    size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c == 0xE0) len = 3, lo = 0xA0;
    else if (c == 0xED) len = 3, hi = 0x9F; // no surrogates
    else if (c >= 0xE1 && c <= 0xEF) len = 3;
    else if (c == 0xF0) len = 4, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) len = 4;
    else if (c == 0xF4) len = 4, hi = 0x8F; // nothing above U+10FFFF
    else return i;
    if (n - i < len || s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k)
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
    i += len;
  }
  return std::string_view::npos;
}

void require_utf8(std::string_view text, const std::string& name, int64_t line) {
  const size_t at = invalid_utf8_at(text);
  if (at != std::string_view::npos)
    throw IoError(fmt::format("{}:{}: not UTF-8 text (byte 0x{:02x} at column {})", name, line,
                              static_cast<unsigned char>(text[at]), at + 1));
}

} // namespace sg
