#include "graph/checkpoint.hpp"

#include "graph/file.hpp"

#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fcntl.h>
#include <fmt/format.h>
#include <fstream>
#include <optional>
#include <string_view>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace sg {

static_assert(std::endian::native == std::endian::little,
              "checkpoint I/O copies little-endian data as is; a big-endian host needs byte swapping");

namespace {

constexpr std::string_view kMagic = "SEQGRAPH-CKPT";
constexpr uint32_t kVersion = 1;
constexpr uint32_t kMaxRank = 16;

// The 256-entry table of the reflected IEEE polynomial 0xEDB88320.
constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kCrcTable = make_crc_table();

// Appends little-endian values and strings to a byte buffer.
struct Writer {
  std::string buf;
  template <class T> void put(T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    buf.append(b, sizeof(T));
  }
  void str(const std::string& s) {
    put(static_cast<uint32_t>(s.size()));
    buf += s;
  }
};

// Bounds-checked reader over the file's bytes; every failure names the file,
// the byte offset and what was being read.
struct Reader {
  std::string_view data; // the whole file
  size_t end;            // where the payload ends (before the CRC)
  const std::string& path;
  size_t pos = 0;

  [[noreturn]] void fail(const std::string& what) const {
    throw IoError(fmt::format("checkpoint '{}': {}", path, what));
  }
  // Throws unless `n` more bytes are there for `what`.
  void need(size_t n, const std::string& what) const {
    if (n > end - pos)
      fail(fmt::format("truncated at byte {} reading {} (needs {} bytes, {} left)", pos, what, n,
                       end - pos));
  }
  template <class T> T get(const std::string& what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data.data() + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }
  std::string str(const std::string& what) {
    auto n = get<uint32_t>(what + " length");
    need(n, what);
    std::string s(data.substr(pos, n));
    pos += n;
    return s;
  }
};

// A fresh temporary file beside `path` (`path` + ".tmp-<pid>-<n>"), open for
// writing and locked (flock, exclusive) until it is closed, so that
// remove_stray_temps() leaves it alone. The lock is taken after the file is
// created: should a cleaner remove the name in between, we start over.
struct TempFile {
  int fd = -1;
  std::string name;
};

TempFile open_temp(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  for (int attempt = 0;; ++attempt) {
    TempFile t{-1, fmt::format("{}.tmp-{}-{}", path, ::getpid(), counter++)};
    t.fd = ::open(t.name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (t.fd < 0) {
      if (errno == EEXIST && attempt < 1000) continue; // a dead writer's, whose pid was ours
      throw IoError(fmt::format("cannot save checkpoint '{}': cannot create '{}': {}", path, t.name,
                                std::strerror(errno)));
    }
    // No flock on this file system (EINVAL, ENOLCK, EOPNOTSUPP): unlocked;
    // the cleaner then goes by the pid in the name.
    int r;
    while ((r = ::flock(t.fd, LOCK_EX)) != 0 && errno == EINTR) {}
    struct stat mine {}, named {};
    if (r != 0 || (::fstat(t.fd, &mine) == 0 && ::stat(t.name.c_str(), &named) == 0 &&
                   mine.st_ino == named.st_ino && mine.st_dev == named.st_dev))
      return t;
    ::close(t.fd); // removed by a cleaner before we held the lock
    if (attempt >= 1000)
      throw IoError(fmt::format("cannot save checkpoint '{}': '{}' keeps disappearing", path, t.name));
  }
}

// Writes all of `bytes` to `fd` and flushes them to disk; throws IoError on failure.
void write_synced(int fd, const std::string& name, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0)
      throw IoError(fmt::format("error writing '{}': {}", name, std::strerror(w < 0 ? errno : ENOSPC)));
    done += size_t(w);
  }
  if (::fsync(fd) != 0) throw IoError(fmt::format("error flushing '{}': {}", name, std::strerror(errno)));
}

// Flushes a directory entry change (the rename) to disk; best effort.
void sync_dir(const std::filesystem::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)::fsync(fd);
    ::close(fd);
  }
}

// Removes `file`, a temporary file of a save (of the writer with `pid`, if
// its name says), if that save is over: nobody holds its lock (or, where
// there are no locks, no process `pid` runs here). True if removed.
bool remove_if_stray(const std::string& file, std::optional<pid_t> pid) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  bool stray = false;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0)
      stray = true; // held until we close it: no writer can take the name meanwhile
    else if (errno != EWOULDBLOCK) // no locks here
      stray = pid && ::kill(*pid, 0) != 0 && errno == ESRCH;
  }
  bool removed = false;
  struct stat now {};
  if (stray && ::stat(file.c_str(), &now) == 0 && now.st_ino == st.st_ino && now.st_dev == st.st_dev)
    removed = ::unlink(file.c_str()) == 0; // (still the file we locked, not a new one of that name)
  ::close(fd);
  return removed;
}

} // namespace

uint32_t crc32(const void* data, size_t n, uint32_t crc) {
  auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) crc = kCrcTable[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

void save_checkpoint(const std::string& path, const std::string& model, const ParamStore& params,
                     const std::map<std::string, std::string>& meta) {
  Writer w;
  w.buf.reserve(64 + size_t(params.count()) * 8);
  w.buf += kMagic;
  w.put(kVersion);
  w.str(model);
  w.put(static_cast<uint32_t>(meta.size()));
  for (const auto& [k, v] : meta) w.str(k), w.str(v);
  w.put(static_cast<uint32_t>(params.size()));
  for (const auto& [name, t] : params.all()) {
    if (t.empty())
      throw IoError(fmt::format("cannot save checkpoint '{}': parameter '{}' has no storage", path,
                                name));
    w.str(name);
    w.put(static_cast<uint8_t>(t.dtype() == DType::f32 ? 0 : 1));
    w.put(static_cast<uint32_t>(t.rank()));
    for (int64_t d : t.shape()) w.put(d);
    w.buf.append(static_cast<const char*>(t.raw()), t.nbytes());
  }
  w.put(crc32(w.buf.data(), w.buf.size()));

  remove_stray_temps(path);
  TempFile t = open_temp(path);
  try {
    write_synced(t.fd, t.name, w.buf);
    if (::rename(t.name.c_str(), path.c_str()) != 0)
      throw IoError(fmt::format("cannot write checkpoint '{}': renaming '{}' to it: {}", path, t.name,
                                std::strerror(errno)));
  } catch (...) {
    ::unlink(t.name.c_str());
    ::close(t.fd);
    throw;
  }
  ::close(t.fd); // (after the rename: the lock covers the temporary file's whole life)
  sync_dir(std::filesystem::path(path).parent_path());
}

int remove_stray_temps(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  const std::string prefix = p.filename().string() + ".tmp";
  if (prefix == ".tmp") return 0;
  int removed = 0;
  std::error_code ec;
  for (fs::directory_iterator it(p.parent_path().empty() ? fs::path(".") : p.parent_path(), ec), end;
       !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with(prefix)) continue;
    // "<name>.tmp" (older versions) or "<name>.tmp-<pid>-<n>"
    const std::string rest = name.substr(prefix.size());
    std::optional<pid_t> pid;
    if (!rest.empty()) {
      const size_t dash = rest.find('-', 1);
      if (rest[0] != '-' || dash == std::string::npos || dash == 1 || dash + 1 == rest.size() ||
          rest.find_first_not_of("0123456789-", 1) != std::string::npos ||
          rest.find('-', dash + 1) != std::string::npos)
        continue;
      pid = pid_t(std::strtol(rest.c_str() + 1, nullptr, 10));
    }
    removed += remove_if_stray(it->path().string(), pid);
  }
  return removed;
}

Checkpoint load_checkpoint(const std::string& path) { return parse_checkpoint(read_file(path, "checkpoint"), path); }

Checkpoint parse_checkpoint(std::string_view bytes, const std::string& path) {
  // Magic: a file shorter than it that matches its start is truncated, not foreign.
  const size_t m = std::min(bytes.size(), kMagic.size());
  if (bytes.compare(0, m, kMagic.substr(0, m)) != 0)
    throw IoError(fmt::format("'{}' is not a seqgraph checkpoint (bad magic)", path));
  Reader r{bytes, bytes.size() >= kMagic.size() + 4 ? bytes.size() - 4 : bytes.size(), path};
  r.need(kMagic.size(), "the magic");
  r.pos = kMagic.size();
  const auto version = r.get<uint32_t>("the format version");
  if (version != kVersion)
    r.fail(fmt::format("unsupported format version {} (this build reads version {})", version,
                       kVersion));

  Checkpoint ck;
  ck.model = r.str("the model name");
  const auto n_meta = r.get<uint32_t>("the metadata count");
  for (uint32_t i = 0; i < n_meta; ++i) {
    std::string key = r.str(fmt::format("metadata key {}", i));
    ck.meta[key] = r.str(fmt::format("metadata value '{}'", key));
  }
  const auto n_tensors = r.get<uint32_t>("the tensor count");
  for (uint32_t i = 0; i < n_tensors; ++i) {
    const size_t at = r.pos;
    std::string name = r.str(fmt::format("the name of tensor {}", i));
    const std::string what = fmt::format("tensor '{}'", name);
    if (ck.params.contains(name)) r.fail(fmt::format("duplicate {} at byte {}", what, at));
    const auto code = r.get<uint8_t>("the dtype of " + what);
    if (code > 1) r.fail(fmt::format("implausible dtype code {} for {}", code, what));
    const DType dtype = code == 0 ? DType::f32 : DType::f64;
    const auto rank = r.get<uint32_t>("the rank of " + what);
    if (rank > kMaxRank)
      r.fail(fmt::format("implausible rank {} for {} (at most {})", rank, what, kMaxRank));
    Shape shape(rank);
    for (auto& d : shape) {
      d = r.get<int64_t>("the dims of " + what);
      if (d < 0) r.fail(fmt::format("implausible negative dimension {} for {}", d, what));
    }
    // Element count without overflow, checked against the bytes left before allocating.
    const int64_t n = checked_numel(shape);
    if (n < 0) r.fail(fmt::format("implausible shape {} for {}", to_string(shape), what));
    r.need(uint64_t(n) * dtype_size(dtype), "the data of " + what);
    Tensor t(std::move(shape), dtype);
    std::memcpy(t.raw(), bytes.data() + r.pos, t.nbytes());
    r.pos += t.nbytes();
    ck.params.set(name, std::move(t));
  }

  if (bytes.size() < r.pos + 4)
    r.fail(fmt::format("truncated at byte {} reading the checksum (needs 4 bytes, {} left)", r.pos,
                       bytes.size() - r.pos));
  if (bytes.size() > r.pos + 4)
    r.fail(fmt::format("corrupt: {} unexpected bytes after the last tensor",
                       bytes.size() - r.pos - 4));
  uint32_t stored;
  std::memcpy(&stored, bytes.data() + r.pos, 4);
  const uint32_t actual = crc32(bytes.data(), r.pos);
  if (stored != actual)
    r.fail(fmt::format("corrupt: checksum mismatch (stored {:08x}, computed {:08x})", stored,
                       actual));
  return ck;
}

Checkpoint load_checkpoint(const std::string& path, const std::string& expected_model) {
  Checkpoint ck = load_checkpoint(path);
  if (ck.model != expected_model)
    throw IoError(fmt::format("checkpoint '{}' was written by model '{}', not '{}'", path, ck.model,
                              expected_model));
  return ck;
}

void restore_params(const Checkpoint& ckpt, ParamStore& into, bool strict) {
  const std::string from = fmt::format("checkpoint of model '{}'", ckpt.model);
  for (const auto& [name, t] : ckpt.params.all())
    if (into.contains(name) && into.at(name).shape() != t.shape())
      throw IoError(fmt::format("restoring {}: parameter '{}' has shape {} in the checkpoint but {} "
                                "in the model",
                                from, name, to_string(t.shape()), to_string(into.at(name).shape())));
  if (strict) {
    std::string missing;
    for (const auto& [name, t] : into.all())
      if (!ckpt.params.contains(name)) missing += (missing.empty() ? "'" : ", '") + name + "'";
    if (!missing.empty())
      throw IoError(fmt::format("restoring {}: the checkpoint lacks parameters the model holds: {}",
                                from, missing));
  }
  for (const auto& [name, t] : ckpt.params.all())
    into.set(name, into.contains(name) ? t.to(into.at(name).dtype()) : t);
}

} // namespace sg
