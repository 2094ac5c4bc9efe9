#include "models/data/midi.hpp"

#include "graph/file.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <deque>
#include <fmt/format.h>
#include <iterator>
#include <map>
#include <stdexcept>
#include <tuple>
#include <utility>

namespace sg {

// ---------------------------------------------------------------------------
// MidiFile helpers
// ---------------------------------------------------------------------------

uint32_t MidiFile::us_per_quarter_at(int64_t tick) const {
  uint32_t us = 500000;
  for (const auto& t : tempos) {
    if (t.tick > tick) break;
    us = t.us_per_quarter;
  }
  return us;
}

double MidiFile::seconds_at(int64_t tick) const {
  double seconds = 0;
  int64_t at = 0;
  uint32_t us = 500000;
  for (const auto& t : tempos) {
    if (t.tick >= tick) break;
    seconds += double(t.tick - at) * us / (1e6 * ticks_per_quarter);
    at = t.tick;
    us = t.us_per_quarter;
  }
  return seconds + double(tick - at) * us / (1e6 * ticks_per_quarter);
}

std::vector<MidiNote> MidiFile::track_notes(int track) const {
  std::vector<MidiNote> out;
  for (const auto& n : notes)
    if (n.track == track) out.push_back(n);
  return out;
}

int64_t MidiFile::end_tick() const {
  int64_t end = 0;
  for (const auto& t : tracks) end = std::max(end, t.end_tick);
  for (const auto& n : notes) end = std::max(end, n.end_tick);
  return end;
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

namespace {

class Parser {
public:
  Parser(std::string_view bytes, const std::string& name) : b_(bytes), name_(name) {}

  MidiFile parse() {
    MidiFile f;
    header(f);
    int found = 0;
    while (found < declared_tracks_) {
      track_ = found;
      if (pos_ == b_.size())
        fail(pos_, fmt::format("the header declares {} tracks but the file ends after {}",
                               declared_tracks_, found));
      if (b_.size() - pos_ < 8)
        fail(pos_, fmt::format("truncated chunk header ({} of 8 bytes)", b_.size() - pos_));
      const std::string_view type = b_.substr(pos_, 4);
      const size_t at = pos_;
      const uint32_t len = be32(pos_ + 4);
      pos_ += 8;
      if (len > b_.size() - pos_)
        fail(at, fmt::format("chunk '{}' of {} bytes runs past the end of the file ({} bytes remain)",
                             printable(type), len, b_.size() - pos_));
      if (type == "MTrk") {
        read_track(f, pos_, pos_ + len);
        ++found;
      }
      pos_ += len; // an unknown chunk is skipped by its length
    }
    auto note_less = [](const MidiNote& a, const MidiNote& b) {
      return std::tie(a.start_tick, a.track, a.channel, a.pitch, a.end_tick, a.velocity) <
             std::tie(b.start_tick, b.track, b.channel, b.pitch, b.end_tick, b.velocity);
    };
    std::stable_sort(f.notes.begin(), f.notes.end(), note_less);
    auto by_tick = [](const auto& a, const auto& b) { return a.tick < b.tick; };
    std::stable_sort(f.tempos.begin(), f.tempos.end(), by_tick);
    std::stable_sort(f.time_signatures.begin(), f.time_signatures.end(), by_tick);
    std::stable_sort(f.key_signatures.begin(), f.key_signatures.end(), by_tick);
    std::stable_sort(f.markers.begin(), f.markers.end(), by_tick);
    std::stable_sort(f.events.begin(), f.events.end(), by_tick);
    return f;
  }

private:
  std::string_view b_;
  const std::string& name_;
  size_t pos_ = 0;
  int track_ = -1; // -1 while reading the header
  int declared_tracks_ = 0;

  [[noreturn]] void fail(size_t at, const std::string& msg) const {
    if (track_ < 0) throw IoError(fmt::format("{}: header at byte {}: {}", name_, at, msg));
    throw IoError(fmt::format("{}: track {} at byte {}: {}", name_, track_, at, msg));
  }

  static std::string printable(std::string_view s) {
    std::string out;
    for (unsigned char c : s) out += (c >= 0x20 && c < 0x7f) ? std::string(1, char(c)) : fmt::format("\\x{:02x}", c);
    return out;
  }

  uint8_t byte(size_t at) const { return static_cast<uint8_t>(b_[at]); }
  uint32_t be32(size_t at) const {
    return uint32_t(byte(at)) << 24 | uint32_t(byte(at + 1)) << 16 | uint32_t(byte(at + 2)) << 8 | byte(at + 3);
  }
  uint16_t be16(size_t at) const { return uint16_t(byte(at) << 8 | byte(at + 1)); }

  void header(MidiFile& f) {
    if (b_.size() < 4 && b_ == std::string_view("MThd").substr(0, b_.size()))
      fail(0, fmt::format("truncated header ({} bytes)", b_.size()));
    if (b_.substr(0, 4) != "MThd") fail(0, "not a Standard MIDI File (it does not start with 'MThd')");
    if (b_.size() < 8) fail(4, "truncated header chunk length");
    const uint32_t len = be32(4);
    if (len < 6) fail(4, fmt::format("header chunk of {} bytes (at least 6 expected)", len));
    if (len > b_.size() - 8)
      fail(4, fmt::format("header chunk of {} bytes runs past the end of the file ({} bytes remain)",
                          len, b_.size() - 8));
    const int format = be16(8);
    if (format == 2)
      fail(8, "format 2 (independent sequences) is not supported; only formats 0 and 1 are");
    if (format > 2) fail(8, fmt::format("unknown format {} (only formats 0 and 1 are supported)", format));
    declared_tracks_ = be16(10);
    const uint16_t division = be16(12);
    if (division & 0x8000)
      fail(12, fmt::format("SMPTE time division (0x{:04x}) is not supported; only ticks per quarter note",
                           division));
    if (division == 0) fail(12, "time division of 0 ticks per quarter note");
    f.format = format;
    f.ticks_per_quarter = division;
    pos_ = 8 + size_t(len); // extra header bytes are skipped
  }

  // A variable-length quantity of at most 4 bytes ending before `end`.
  uint32_t vlq(size_t& p, size_t end, const char* what) const {
    const size_t start = p;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      if (p >= end) fail(start, fmt::format("truncated variable-length quantity ({})", what));
      const uint8_t c = byte(p++);
      v = (v << 7) | (c & 0x7f);
      if (!(c & 0x80)) return v;
    }
    fail(start, fmt::format("variable-length quantity ({}) longer than 4 bytes", what));
  }

  void read_track(MidiFile& f, size_t p, const size_t end) {
    MidiTrack tr;
    int64_t tick = 0;
    uint8_t running = 0;
    bool have_name = false;
    // Open notes per (channel, pitch): (start tick, velocity), first in first out.
    std::map<int, std::deque<std::pair<int64_t, int>>> open;
    const size_t first_note = f.notes.size();
    auto close_all = [&](int64_t at) {
      for (auto& [key, q] : open)
        for (auto& [start, vel] : q) f.notes.push_back({track_, key >> 7, key & 127, vel, start, at});
      open.clear();
    };
    while (true) {
      if (p >= end) fail(p, "the track ends without an end-of-track event");
      tick += vlq(p, end, "delta time");
      const size_t ev = p;
      if (p >= end) fail(p, "truncated event: a delta time with no event after it");
      const uint8_t s = byte(p);
      if (s == 0xFF) { // meta event
        ++p;
        if (p >= end) fail(ev, "truncated meta event (no type byte)");
        const uint8_t type = byte(p++);
        const uint32_t len = vlq(p, end, "meta event length");
        if (len > end - p)
          fail(ev, fmt::format("meta event 0x{:02x} of {} bytes runs past the end of the track ({} bytes remain)",
                               type, len, end - p));
        auto need = [&](uint32_t want, const char* what) {
          if (len != want)
            fail(ev, fmt::format("{} meta event of {} bytes ({} expected)", what, len, want));
        };
        switch (type) {
        case 0x51: {
          need(3, "tempo");
          const uint32_t us = uint32_t(byte(p)) << 16 | uint32_t(byte(p + 1)) << 8 | byte(p + 2);
          if (us == 0) fail(ev, "tempo of 0 microseconds per quarter note");
          f.tempos.push_back({tick, us});
          break;
        }
        case 0x58: {
          need(4, "time signature");
          const int dd = byte(p + 1);
          if (byte(p) == 0 || dd > 16)
            fail(ev, fmt::format("invalid time signature {}/2^{}", byte(p), dd));
          f.time_signatures.push_back({tick, byte(p), 1 << dd, byte(p + 2), byte(p + 3)});
          break;
        }
        case 0x59: {
          need(2, "key signature");
          f.key_signatures.push_back({tick, static_cast<int8_t>(byte(p)), byte(p + 1) != 0});
          break;
        }
        case 0x06: f.markers.push_back({tick, std::string(b_.substr(p, len))}); break;
        case 0x03:
          if (!have_name) tr.name = std::string(b_.substr(p, len)), have_name = true;
          break;
        case 0x2F:
          tr.end_tick = tick;
          close_all(tick);
          tr.note_count = int64_t(f.notes.size() - first_note);
          f.tracks.push_back(std::move(tr));
          return; // bytes after the end of track are ignored
        default: break; // other meta events are skipped
        }
        p += len;
      } else if (s == 0xF0 || s == 0xF7) { // sysex (or escape), skipped
        ++p;
        const uint32_t len = vlq(p, end, "sysex length");
        if (len > end - p)
          fail(ev, fmt::format("sysex event of {} bytes runs past the end of the track ({} bytes remain)",
                               len, end - p));
        p += len;
      } else if (s > 0xF0) {
        fail(ev, fmt::format("unexpected status byte 0x{:02x} (a system message, not allowed in a file)", s));
      } else { // channel message
        uint8_t status = s;
        if (s & 0x80) {
          running = s;
          ++p;
        } else if (running == 0) {
          fail(ev, fmt::format("data byte 0x{:02x} with no running status", s));
        } else {
          status = running;
        }
        const int kind = status & 0xF0, channel = status & 0x0F;
        const int n = (kind == 0xC0 || kind == 0xD0) ? 1 : 2;
        int data[2] = {0, 0};
        for (int i = 0; i < n; ++i) {
          if (p >= end) fail(ev, fmt::format("truncated channel message (status 0x{:02x})", status));
          const uint8_t d = byte(p);
          if (d & 0x80)
            fail(p, fmt::format("data byte 0x{:02x} of a channel message (status 0x{:02x}) has the high bit set",
                                d, status));
          data[i] = d;
          ++p;
        }
        const int key = channel << 7 | data[0];
        if (kind == 0x90 && data[1] > 0) {
          open[key].emplace_back(tick, data[1]);
        } else if (kind == 0x80 || kind == 0x90) {
          auto it = open.find(key);
          if (it != open.end()) { // an unmatched note-off is ignored
            auto [start, vel] = it->second.front();
            it->second.pop_front();
            if (it->second.empty()) open.erase(it);
            f.notes.push_back({track_, channel, data[0], vel, start, tick});
          }
        } else {
          ChannelEvent e{track_, tick, static_cast<ChannelEvent::Kind>(kind), channel, data[0], data[1]};
          if (kind == 0xE0) e.data1 = data[0] | data[1] << 7, e.data2 = 0;
          f.events.push_back(e);
        }
      }
    }
  }
};

} // namespace

MidiFile parse_midi(std::string_view bytes, const std::string& name) { return Parser(bytes, name).parse(); }

MidiFile read_midi(const std::string& path) {
  return parse_midi(read_file(path, "MIDI file", uint64_t(64) << 20), path);
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

namespace {

// One event to write: sorted by (tick, rank, sequence).
struct OutEvent {
  int64_t tick;
  int rank; // 0 meta, 1 channel event, 2 note-off, 3 note-on, 4 off of a zero-length note
  size_t seq;
  std::string bytes;
};

void put_vlq(std::string& out, uint64_t v) {
  if (v > 0x0FFFFFFF) throw std::invalid_argument(fmt::format("MIDI writer: delta time {} exceeds 2^28-1", v));
  char buf[4];
  int n = 0;
  buf[n++] = char(v & 0x7f);
  while (v >>= 7) buf[n++] = char(0x80 | (v & 0x7f));
  while (n) out += buf[--n];
}

void put_be(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out += char((v >> (8 * i)) & 0xff);
}

std::string meta(uint8_t type, std::string_view data) {
  std::string s{char(0xFF), char(type)};
  put_vlq(s, data.size());
  s += data;
  return s;
}

void check(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("MIDI writer: " + what);
}

std::string track_chunk(std::vector<OutEvent>& evs, const std::string& name, int64_t end_tick) {
  std::stable_sort(evs.begin(), evs.end(), [](const OutEvent& a, const OutEvent& b) {
    return std::tie(a.tick, a.rank, a.seq) < std::tie(b.tick, b.rank, b.seq);
  });
  std::string body;
  int64_t at = 0;
  if (!name.empty()) {
    put_vlq(body, 0);
    body += meta(0x03, name);
  }
  for (const auto& e : evs) {
    put_vlq(body, uint64_t(e.tick - at));
    body += e.bytes;
    at = e.tick;
  }
  put_vlq(body, uint64_t(std::max(end_tick, at) - at));
  body += meta(0x2F, "");
  std::string chunk = "MTrk";
  put_be(chunk, body.size(), 4);
  return chunk + body;
}

} // namespace

std::string encode_midi(const MidiFile& f) {
  check(f.format == 0 || f.format == 1, fmt::format("format {} (0 or 1 expected)", f.format));
  check(f.ticks_per_quarter >= 1 && f.ticks_per_quarter <= 0x7fff,
        fmt::format("ticks per quarter {} (1..32767 expected)", f.ticks_per_quarter));
  int ntracks = std::max<int>(1, int(f.tracks.size()));
  for (const auto& n : f.notes) ntracks = std::max(ntracks, n.track + 1);
  for (const auto& e : f.events) ntracks = std::max(ntracks, e.track + 1);
  if (f.format == 0) ntracks = 1;
  check(ntracks <= 0xffff, "more than 65535 tracks");
  std::vector<std::vector<OutEvent>> evs(static_cast<size_t>(ntracks));
  std::vector<int64_t> ends(static_cast<size_t>(ntracks), 0);
  for (size_t i = 0; i < f.tracks.size(); ++i)
    ends[f.format == 0 ? 0 : i] = std::max(ends[f.format == 0 ? 0 : i], f.tracks[i].end_tick);
  size_t seq = 0;
  auto add = [&](int track, int64_t tick, int rank, std::string bytes) {
    check(track >= 0, fmt::format("negative track index {}", track));
    check(tick >= 0, fmt::format("negative tick {}", tick));
    const size_t t = f.format == 0 ? 0 : size_t(track);
    evs[t].push_back({tick, rank, seq++, std::move(bytes)});
  };
  for (const auto& t : f.tempos) {
    check(t.us_per_quarter > 0 && t.us_per_quarter < (1u << 24),
          fmt::format("tempo of {} microseconds per quarter", t.us_per_quarter));
    std::string d;
    put_be(d, t.us_per_quarter, 3);
    add(0, t.tick, 0, meta(0x51, d));
  }
  for (const auto& t : f.time_signatures) {
    const int dd = std::countr_zero(unsigned(t.denominator));
    check(t.numerator >= 1 && t.numerator <= 255 && t.denominator >= 1 && (1 << dd) == t.denominator,
          fmt::format("time signature {}/{}", t.numerator, t.denominator));
    check(t.clocks_per_click >= 0 && t.clocks_per_click <= 255 && t.thirty_seconds_per_quarter >= 0 &&
              t.thirty_seconds_per_quarter <= 255,
          "time signature clocks out of 0..255");
    add(0, t.tick, 0, meta(0x58, std::string{char(t.numerator), char(dd), char(t.clocks_per_click),
                                              char(t.thirty_seconds_per_quarter)}));
  }
  for (const auto& k : f.key_signatures) {
    check(k.sharps >= -7 && k.sharps <= 7, fmt::format("key signature of {} sharps", k.sharps));
    add(0, k.tick, 0, meta(0x59, std::string{char(int8_t(k.sharps)), char(k.minor ? 1 : 0)}));
  }
  for (const auto& m : f.markers) add(0, m.tick, 0, meta(0x06, m.text));
  for (const auto& e : f.events) {
    check(e.channel >= 0 && e.channel < 16, fmt::format("channel {}", e.channel));
    const char status = char(uint8_t(e.kind) | e.channel);
    if (e.kind == ChannelEvent::pitch_bend) {
      check(e.data1 >= 0 && e.data1 < 16384, fmt::format("pitch bend {}", e.data1));
      add(e.track, e.tick, 1, std::string{status, char(e.data1 & 0x7f), char(e.data1 >> 7)});
    } else if (e.kind == ChannelEvent::program_change || e.kind == ChannelEvent::channel_aftertouch) {
      check(e.data1 >= 0 && e.data1 < 128, fmt::format("data byte {}", e.data1));
      add(e.track, e.tick, 1, std::string{status, char(e.data1)});
    } else {
      check(e.kind == ChannelEvent::control_change || e.kind == ChannelEvent::poly_aftertouch,
            fmt::format("channel event kind 0x{:02x}", int(e.kind)));
      check(e.data1 >= 0 && e.data1 < 128 && e.data2 >= 0 && e.data2 < 128,
            fmt::format("data bytes {} {}", e.data1, e.data2));
      add(e.track, e.tick, 1, std::string{status, char(e.data1), char(e.data2)});
    }
  }
  for (const auto& n : f.notes) {
    check(n.channel >= 0 && n.channel < 16, fmt::format("note channel {}", n.channel));
    check(n.pitch >= 0 && n.pitch < 128, fmt::format("note pitch {}", n.pitch));
    check(n.velocity >= 1 && n.velocity < 128, fmt::format("note velocity {} (1..127 expected)", n.velocity));
    check(n.end_tick >= n.start_tick, fmt::format("note ends at tick {} before it starts at {}",
                                                  n.end_tick, n.start_tick));
    add(n.track, n.start_tick, 3, std::string{char(0x90 | n.channel), char(n.pitch), char(n.velocity)});
    add(n.track, n.end_tick, n.end_tick == n.start_tick ? 4 : 2,
        std::string{char(0x80 | n.channel), char(n.pitch), char(64)});
  }
  std::string out = "MThd";
  put_be(out, 6, 4);
  put_be(out, uint64_t(f.format), 2);
  put_be(out, uint64_t(ntracks), 2);
  put_be(out, uint64_t(f.ticks_per_quarter), 2);
  for (int t = 0; t < ntracks; ++t) {
    const std::string name = size_t(t) < f.tracks.size() ? f.tracks[size_t(t)].name : "";
    out += track_chunk(evs[size_t(t)], name, ends[size_t(t)]);
  }
  return out;
}

void write_midi(const std::string& path, const MidiFile& file) {
  write_file(path, encode_midi(file));
}

MidiFile make_midi(const std::vector<MidiNote>& notes, int ticks_per_quarter, double bpm,
                   const std::string& name, int program) {
  check(bpm > 0 && std::isfinite(bpm), fmt::format("tempo of {} bpm", bpm));
  check(program >= 0 && program < 128, fmt::format("program {}", program));
  MidiFile f;
  f.format = 1;
  f.ticks_per_quarter = ticks_per_quarter;
  f.tracks = {MidiTrack{name, 0, 0}, MidiTrack{name, 0, 0}};
  f.tempos = {{0, uint32_t(std::lround(60e6 / bpm))}};
  f.time_signatures = {TimeSignature{}};
  std::array<bool, 16> used{};
  for (auto n : notes) {
    n.track = 1;
    f.notes.push_back(n);
    if (n.channel >= 0 && n.channel < 16) used[size_t(n.channel)] = true;
  }
  for (int c = 0; c < 16; ++c)
    if (used[size_t(c)] && c != 9) f.events.push_back({1, 0, ChannelEvent::program_change, c, program, 0});
  return f;
}

void write_midi(const std::string& path, const std::vector<MidiNote>& notes, int ticks_per_quarter,
                double bpm, const std::string& name, int program) {
  write_midi(path, make_midi(notes, ticks_per_quarter, bpm, name, program));
}

// ---------------------------------------------------------------------------
// Pitch names
// ---------------------------------------------------------------------------

std::string pitch_name(int pitch) {
  static constexpr const char* kNames[] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};
  const int octave = pitch >= 0 ? pitch / 12 - 1 : (pitch - 11) / 12 - 1;
  return fmt::format("{}{}", kNames[((pitch % 12) + 12) % 12], octave);
}

int parse_pitch_name(std::string_view s) {
  static constexpr int kBase[] = {9, 11, 0, 2, 4, 5, 7}; // A..G
  if (s.empty() || s[0] < 'A' || s[0] > 'G') return -1;
  int pc = kBase[s[0] - 'A'];
  size_t i = 1;
  if (i < s.size() && s[i] == '#') ++pc, ++i;
  else if (i < s.size() && s[i] == 'b') --pc, ++i;
  if (i >= s.size()) return -1;
  bool neg = false;
  if (s[i] == '-') neg = true, ++i;
  if (i >= s.size() || i + 2 < s.size()) return -1;
  int octave = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    octave = octave * 10 + (s[i] - '0');
  }
  if (neg) octave = -octave;
  const int pitch = (octave + 1) * 12 + pc;
  return pitch >= 0 && pitch < 128 ? pitch : -1;
}

} // namespace sg
