// Parameter checkpoints: a model name, string metadata and a ParamStore in
// one self-checking binary file.
//
// File format, version 1. All integers little-endian; a "str" is a u32 byte
// length followed by that many bytes (UTF-8, no terminator).
//
//   magic      13 bytes  "SEQGRAPH-CKPT"
//   version    u32       1
//   model      str       name of the model that wrote the file
//   n_meta     u32       then n_meta times: key str, value str (sorted by key)
//   n_tensors  u32       then n_tensors times (sorted by name):
//     name     str
//     dtype    u8        0 = float32, 1 = float64
//     rank     u32       at most 16
//     dims     i64[rank] each >= 0
//     data     numel * (4 or 8) bytes, row-major, little-endian IEEE 754
//   crc        u32       CRC-32 (IEEE 802.3, as zlib's crc32) of every byte before it
//
// Saving writes a temporary file beside `path`, flushes it to disk, renames
// it over `path` and flushes the directory, so a crash (even SIGKILL or a
// power cut mid-write) leaves either the old checkpoint or the new one.
// The temporary file is `path + ".tmp-<pid>-<n>"`, created exclusively and
// held under an exclusive flock(2) until it is renamed: two processes (or
// threads) saving the same path each write their own file, and the last
// rename wins with a complete checkpoint. A crash can leave such a file
// behind (a "stray" temporary file). Loading never reads one: it is
// ignored. It is removed by the next save of the same path and when a
// training run starts (train::Trainer), by remove_stray_temps(): a file
// whose lock nobody holds is a dead writer's (locks die with the process),
// one whose lock is held is a live save's and is left alone. (Not by
// loading: evaluate and predict only read, and may run on a read-only
// directory.)
// Loading reads the file into memory (bounded by the file's size) and checks
// every length against the bytes that remain before using it, then the CRC:
// a truncated or corrupt file gives an IoError, never a crash or a huge
// allocation.
#pragma once

#include "graph/errors.hpp"
#include "graph/params.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace sg {

struct Checkpoint {
  std::string model;
  std::map<std::string, std::string> meta;
  ParamStore params;
};

// Writes a checkpoint of `params` for `model` (atomically, see above).
void save_checkpoint(const std::string& path, const std::string& model, const ParamStore& params,
                     const std::map<std::string, std::string>& meta = {});

// Removes the temporary files earlier saves of `path` left behind when they
// crashed (see above; also the plain `path + ".tmp"` of older versions);
// never one a live save holds. Best effort: errors are ignored. Returns
// how many it removed.
int remove_stray_temps(const std::string& path);

// Reads and verifies a checkpoint; throws IoError naming the file and the problem.
Checkpoint load_checkpoint(const std::string& path);
// The same from the file's bytes (`name` is the file named in errors).
Checkpoint parse_checkpoint(std::string_view bytes, const std::string& name);
// As above, and throws IoError if it was written by a model other than `expected_model`.
Checkpoint load_checkpoint(const std::string& path, const std::string& expected_model);

// Copies every checkpoint tensor into `into`. A name `into` already holds must
// have the same shape; the value is converted to the dtype `into` holds. With
// `strict`, every parameter of `into` must be in the checkpoint. All checks
// run before anything is copied: on IoError, `into` is unchanged.
void restore_params(const Checkpoint& ckpt, ParamStore& into, bool strict);

// CRC-32 (IEEE polynomial, reflected, as zlib): crc32("123456789") == 0xCBF43926.
// Pass a previous result as `crc` to continue over more bytes.
uint32_t crc32(const void* data, size_t n, uint32_t crc = 0);

} // namespace sg
