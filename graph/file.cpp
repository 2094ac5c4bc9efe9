#include "graph/file.hpp"

#include <cerrno>
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

} // namespace sg
