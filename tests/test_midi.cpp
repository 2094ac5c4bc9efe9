// Tests for the Standard MIDI File reader/writer and the Jazz values.
#include "models/data/jazz_values.hpp"
#include "models/data/midi.hpp"

#include "tests/helpers.hpp"

#include <algorithm>
#include <atomic>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace sg;

using sg::test::TempDir;

namespace {

const std::string kMetheny = std::string(SEQGRAPH_DATA_DIR) + "/jazz/original_metheny.mid";

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Bytes from a list of byte values.
std::string B(std::initializer_list<int> v) {
  std::string s;
  for (int c : v) s += char(c);
  return s;
}

std::string be32(uint32_t v) { return B({int(v >> 24), int((v >> 16) & 255), int((v >> 8) & 255), int(v & 255)}); }

// MThd with the given fields.
std::string header(int format, int ntracks, int division) {
  return "MThd" + be32(6) + B({format >> 8, format & 255, ntracks >> 8, ntracks & 255, division >> 8, division & 255});
}

// An MTrk chunk around `body` (which should end with an end-of-track event).
std::string track(const std::string& body) { return "MTrk" + be32(uint32_t(body.size())) + body; }

const std::string kEot = B({0x00, 0xFF, 0x2F, 0x00});

// Parses, expecting an IoError whose message contains every fragment.
void expect_error(const std::string& bytes, std::initializer_list<const char*> fragments) {
  try {
    parse_midi(bytes, "t.mid");
    FAIL("no IoError");
  } catch (const IoError& e) {
    const std::string msg = e.what();
    INFO(msg);
    for (const char* f : fragments) CHECK(msg.find(f) != std::string::npos);
  }
}

// A small file using most features: two tracks, tempo, time and key
// signatures, a marker, a name, a program change, notes on two channels.
MidiFile small_file() {
  MidiFile f;
  f.format = 1;
  f.ticks_per_quarter = 480;
  f.tracks = {MidiTrack{"conductor", 0, 0}, MidiTrack{"lead", 0, 0}};
  f.tempos = {{0, 600000}, {960, 400000}};
  f.time_signatures = {{0, 3, 4, 24, 8}};
  f.key_signatures = {{0, -2, true}};
  f.markers = {{480, "verse"}};
  f.events = {{1, 0, ChannelEvent::program_change, 0, 26, 0}};
  f.notes = {{1, 0, 60, 100, 0, 480}, {1, 0, 64, 80, 240, 720}, {1, 9, 38, 127, 480, 500}};
  return f;
}

// Notes sorted as the reader sorts them.
std::vector<MidiNote> sorted(std::vector<MidiNote> v) {
  std::stable_sort(v.begin(), v.end(), [](const MidiNote& a, const MidiNote& b) {
    return std::tie(a.start_tick, a.track, a.channel, a.pitch, a.end_tick, a.velocity) <
           std::tie(b.start_tick, b.track, b.channel, b.pitch, b.end_tick, b.velocity);
  });
  return v;
}

} // namespace

TEST_CASE("Midi.RoundTripNotes") {
  TempDir tmp;
  // Overlaps, chords, a repeated pitch ending where the next starts, a
  // zero-length note, two channels, velocities 1..127, pitches 0..127.
  std::vector<MidiNote> notes = {
      {0, 0, 60, 100, 0, 96},  {0, 0, 64, 90, 0, 96},    {0, 0, 67, 1, 0, 192},  {0, 0, 60, 127, 96, 144},
      {0, 0, 60, 64, 144, 145}, {0, 0, 72, 50, 150, 150}, {0, 3, 0, 33, 200, 400}, {0, 3, 127, 99, 200, 260},
      {0, 0, 62, 70, 300, 5000}, {0, 0, 62, 71, 400, 6000}};
  const std::string path = tmp / "notes.mid";
  write_midi(path, notes, 96, 137.5, "round trip", 26);
  const MidiFile f = read_midi(path);
  CHECK(f.format == 1);
  CHECK(f.ticks_per_quarter == 96);
  REQUIRE(f.tracks.size() == 2);
  CHECK(f.tracks[0].name == "round trip");
  REQUIRE(f.tempos.size() == 1);
  CHECK(f.tempos[0].us_per_quarter == 436364); // 60e6 / 137.5, rounded
  CHECK(f.tempos[0].bpm() == doctest::Approx(137.5).epsilon(1e-5));
  REQUIRE(f.time_signatures.size() == 1);
  CHECK(f.time_signatures[0] == TimeSignature{});
  for (auto& n : notes) n.track = 1;
  CHECK(f.notes == sorted(notes));
  CHECK(f.tracks[1].note_count == int64_t(notes.size()));
  CHECK(f.tracks[1].end_tick == 6000);
  // Program 26 on both channels used (a program change is not sent on drums).
  REQUIRE(f.events.size() == 2);
  CHECK(f.events[0] == ChannelEvent{1, 0, ChannelEvent::program_change, 0, 26, 0});
  CHECK(f.events[1] == ChannelEvent{1, 0, ChannelEvent::program_change, 3, 26, 0});
  CHECK(f.seconds_at(96) == doctest::Approx(60.0 / 137.5).epsilon(1e-5));
  CHECK(f.end_tick() == 6000);
}

TEST_CASE("Midi.RoundTripFile") {
  MidiFile f = small_file();
  f.tracks.push_back({"third", 2000, 0});
  f.events.push_back({2, 10, ChannelEvent::pitch_bend, 5, 16383, 0});
  f.events.push_back({2, 10, ChannelEvent::control_change, 5, 64, 127});
  f.events.push_back({2, 11, ChannelEvent::channel_aftertouch, 5, 3, 0});
  f.events.push_back({2, 12, ChannelEvent::poly_aftertouch, 5, 60, 9});
  f.notes.push_back({2, 5, 61, 10, 100, 1999});
  const MidiFile g = parse_midi(encode_midi(f));
  CHECK(g.format == 1);
  CHECK(g.ticks_per_quarter == 480);
  REQUIRE(g.tracks.size() == 3);
  CHECK(g.tracks[0].name == "conductor");
  CHECK(g.tracks[1].name == "lead");
  CHECK(g.tracks[2].name == "third");
  CHECK(g.tracks[2].end_tick == 2000);
  CHECK(g.tracks[1].note_count == 3);
  CHECK(g.notes == sorted(f.notes));
  CHECK(g.tempos == f.tempos);
  CHECK(g.time_signatures == f.time_signatures);
  CHECK(g.key_signatures == f.key_signatures);
  CHECK(g.markers == f.markers);
  CHECK(g.events == f.events);
  // Tempo map: 2 quarters at 0.6 s, then 0.4 s per quarter.
  CHECK(g.us_per_quarter_at(959) == 600000);
  CHECK(g.us_per_quarter_at(960) == 400000);
  CHECK(g.seconds_at(960) == doctest::Approx(1.2));
  CHECK(g.seconds_at(1440) == doctest::Approx(1.6));

  // Format 0: one track, the same events, every track index 0.
  f.format = 0;
  const MidiFile h = parse_midi(encode_midi(f));
  CHECK(h.format == 0);
  REQUIRE(h.tracks.size() == 1);
  CHECK(h.tracks[0].name == "conductor");
  CHECK(h.notes.size() == f.notes.size());
  for (const auto& n : h.notes) CHECK(n.track == 0);
  CHECK(h.tempos == f.tempos);
  CHECK(h.events.size() == f.events.size());

  // Out-of-range values are refused by the writer.
  MidiFile bad = small_file();
  bad.notes[0].pitch = 128;
  CHECK_THROWS_AS(encode_midi(bad), std::invalid_argument);
  bad = small_file();
  bad.notes[0].velocity = 0;
  CHECK_THROWS_AS(encode_midi(bad), std::invalid_argument);
  bad = small_file();
  bad.notes[0].end_tick = -1;
  CHECK_THROWS_AS(encode_midi(bad), std::invalid_argument);
  bad = small_file();
  bad.time_signatures[0].denominator = 3;
  CHECK_THROWS_AS(encode_midi(bad), std::invalid_argument);
  bad = small_file();
  bad.format = 2;
  CHECK_THROWS_AS(encode_midi(bad), std::invalid_argument);
}

TEST_CASE("Midi.CourseFile") {
  const MidiFile f = read_midi(kMetheny);
  CHECK(f.format == 1);
  CHECK(f.ticks_per_quarter == 96);
  REQUIRE(f.tracks.size() == 25);
  REQUIRE(f.tempos.size() == 1);
  CHECK(f.tempos[0].bpm() == doctest::Approx(112.0).epsilon(1e-5));
  REQUIRE(f.time_signatures.size() == 1);
  CHECK(f.time_signatures[0].numerator == 4);
  CHECK(f.time_signatures[0].denominator == 4);
  REQUIRE(f.key_signatures.size() == 1);
  CHECK(f.key_signatures[0].sharps == 1); // G major
  CHECK(f.tracks[1].name == "AND THEN I KNEW");
  CHECK(f.tracks[2].name == "Pat Metheny");
  CHECK(f.tracks[6].name == "Piano");
  CHECK(f.tracks[7].name == "Bass");
  CHECK(f.tracks[11].name == "Guitar");
  // The solo is marked in the conductor track; it is where JazzOptions points.
  bool solo = false;
  for (const auto& m : f.markers) {
    if (m.text.find("Guit. solo") != std::string::npos) {
      solo = true;
      CHECK(m.tick == JazzOptions{}.start_tick);
    }
    if (m.text.find("A  4:18") != std::string::npos) CHECK(m.tick == JazzOptions{}.end_tick);
  }
  CHECK(solo);
  CHECK(f.notes.size() == 12962);
  CHECK(f.tracks[11].note_count == 1330);
  int64_t in_solo = 0;
  std::set<int> channels;
  for (const auto& n : f.track_notes(11)) {
    channels.insert(n.channel);
    CHECK(n.end_tick >= n.start_tick);
    if (n.start_tick >= 25728 && n.start_tick < 47232) ++in_solo;
  }
  CHECK(in_solo == 435);
  CHECK(channels == std::set<int>{5});
  int64_t sum = 0;
  for (const auto& t : f.tracks) sum += t.note_count;
  CHECK(sum == int64_t(f.notes.size()));
  CHECK(f.seconds_at(f.end_tick()) == doctest::Approx(83331 / 96.0 * 60 / 112.0).epsilon(1e-4));

  // Re-encoded and read again, everything is the same.
  const MidiFile g = parse_midi(encode_midi(f));
  CHECK(g.notes == f.notes);
  CHECK(g.tempos == f.tempos);
  CHECK(g.time_signatures == f.time_signatures);
  CHECK(g.key_signatures == f.key_signatures);
  CHECK(g.markers == f.markers);
  CHECK(g.events == f.events);
  REQUIRE(g.tracks.size() == f.tracks.size());
  for (size_t i = 0; i < f.tracks.size(); ++i) {
    CHECK(g.tracks[i].name == f.tracks[i].name);
    CHECK(g.tracks[i].note_count == f.tracks[i].note_count);
  }
}

TEST_CASE("Midi.HandAssembled") {
  SUBCASE("running status, note-on velocity 0, controller, program, bend") {
    const std::string body = B({0x00, 0xC2, 0x05,             // program 5, channel 2
                                0x00, 0x92, 0x3C, 0x64,       // note on C4 vel 100
                                0x10, 0x40, 0x50,             // running status: on E4 vel 80 at 16
                                0x10, 0x3C, 0x00,             // running: C4 vel 0 = off at 32
                                0x08, 0x82, 0x40, 0x11,       // note off E4 at 40
                                0x00, 0xB2, 0x07, 0x64,       // CC 7 = 100
                                0x00, 0x0A, 0x20,             // running CC 10 = 32
                                0x81, 0x00, 0xE2, 0x00, 0x40}) + // bend centre at 40 + 128
                             kEot;
    const MidiFile f = parse_midi(header(0, 1, 96) + track(body));
    CHECK(f.format == 0);
    REQUIRE(f.notes.size() == 2);
    CHECK(f.notes[0] == MidiNote{0, 2, 60, 100, 0, 32});
    CHECK(f.notes[1] == MidiNote{0, 2, 64, 80, 16, 40});
    REQUIRE(f.events.size() == 4);
    CHECK(f.events[0] == ChannelEvent{0, 0, ChannelEvent::program_change, 2, 5, 0});
    CHECK(f.events[1] == ChannelEvent{0, 40, ChannelEvent::control_change, 2, 7, 100});
    CHECK(f.events[2] == ChannelEvent{0, 40, ChannelEvent::control_change, 2, 10, 32});
    CHECK(f.events[3] == ChannelEvent{0, 168, ChannelEvent::pitch_bend, 2, 8192, 0});
    CHECK(f.tracks[0].end_tick == 168);
  }
  SUBCASE("meta events") {
    const std::string body = B({0x00, 0xFF, 0x03, 0x04, 'L', 'e', 'a', 'd',       // track name
                                0x00, 0xFF, 0x03, 0x03, 'T', 'w', 'o',            // a second name: ignored
                                0x00, 0xFF, 0x01, 0x02, 'h', 'i',                 // text: skipped
                                0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20,         // tempo 500000
                                0x00, 0xFF, 0x58, 0x04, 0x06, 0x03, 0x24, 0x08,   // 6/8
                                0x00, 0xFF, 0x59, 0x02, 0xFD, 0x01,               // 3 flats, minor
                                0x83, 0x60, 0xFF, 0x06, 0x01, 'X',                // marker at 480
                                0x00, 0xFF, 0x7F, 0x03, 0x01, 0x02, 0x03,         // sequencer-specific
                                0x00, 0xFF, 0x20, 0x01, 0x00,                     // channel prefix
                                0x00, 0xFF, 0x51, 0x03, 0x0F, 0x42, 0x40}) +      // tempo 1000000 at 480
                             kEot + B({0x12, 0x34});                              // after EOT: ignored
    const MidiFile f = parse_midi(header(1, 1, 480) + track(body));
    CHECK(f.tracks[0].name == "Lead");
    REQUIRE(f.tempos.size() == 2);
    CHECK(f.tempos[0] == TempoChange{0, 500000});
    CHECK(f.tempos[1] == TempoChange{480, 1000000});
    REQUIRE(f.time_signatures.size() == 1);
    CHECK(f.time_signatures[0] == TimeSignature{0, 6, 8, 36, 8});
    REQUIRE(f.key_signatures.size() == 1);
    CHECK(f.key_signatures[0] == KeySignature{0, -3, true});
    REQUIRE(f.markers.size() == 1);
    CHECK(f.markers[0] == Marker{480, "X"});
    CHECK(f.tracks[0].end_tick == 480);
    CHECK(f.seconds_at(960) == doctest::Approx(1.5));
  }
  SUBCASE("sysex, unknown chunks, longer header") {
    const std::string body = B({0x00, 0x90, 0x3C, 0x40,                     // on
                                0x00, 0xF0, 0x05, 0x7E, 0x7F, 0x09, 0x01, 0xF7, // GM on sysex
                                0x00, 0xF7, 0x02, 0xF3, 0x01,               // escape
                                0x60, 0x3C, 0x00})                          // running status kept: off at 96
                             + kEot;
    std::string hdr = "MThd" + be32(8) + B({0, 1, 0, 2, 0, 96, 0xAA, 0xBB}); // 2 extra header bytes
    const std::string bytes = hdr + "XFIH" + be32(3) + "abc" + track(B({0x00, 0xFF, 0x03, 0x01, 'A'}) + kEot) +
                              "junk" + be32(0) + track(body);
    const MidiFile f = parse_midi(bytes);
    REQUIRE(f.tracks.size() == 2);
    CHECK(f.tracks[0].name == "A");
    REQUIRE(f.notes.size() == 1);
    CHECK(f.notes[0] == MidiNote{1, 0, 60, 64, 0, 96});
  }
  SUBCASE("unmatched note-offs, notes open at the end, repeated notes") {
    const std::string body = B({0x00, 0x80, 0x30, 0x40,  // off with no on: ignored
                                0x00, 0x90, 0x3C, 0x40,  // C4 on at 0
                                0x0A, 0x90, 0x3C, 0x50,  // C4 on again at 10
                                0x0A, 0x80, 0x3C, 0x00,  // off at 20: closes the first (FIFO)
                                0x00, 0x91, 0x3E, 0x40,  // D4 on channel 1 at 20, never closed
                                0x0A, 0x90, 0x3C, 0x00}) // off at 30: closes the second
                             + B({0x14, 0xFF, 0x2F, 0x00}); // end of track at 50
    const MidiFile f = parse_midi(header(0, 1, 96) + track(body));
    REQUIRE(f.notes.size() == 3);
    CHECK(f.notes[0] == MidiNote{0, 0, 60, 64, 0, 20});
    CHECK(f.notes[1] == MidiNote{0, 0, 60, 80, 10, 30});
    CHECK(f.notes[2] == MidiNote{0, 1, 62, 64, 20, 50});
  }
  SUBCASE("an empty file of no tracks, a track with nothing but its end") {
    CHECK(parse_midi(header(1, 0, 96)).tracks.empty());
    const MidiFile f = parse_midi(header(1, 1, 96) + track(kEot));
    REQUIRE(f.tracks.size() == 1);
    CHECK(f.notes.empty());
  }
}

TEST_CASE("Midi.Malformed") {
  const std::string good = header(1, 1, 96) + track(B({0x00, 0x90, 0x3C, 0x40, 0x60, 0x80, 0x3C, 0x40}) + kEot);
  CHECK(parse_midi(good).notes.size() == 1);

  SUBCASE("truncated at every byte") {
    const std::string bytes = encode_midi(small_file());
    REQUIRE(parse_midi(bytes).notes.size() == 3);
    for (size_t n = 0; n < bytes.size(); ++n) {
      CAPTURE(n);
      CHECK_THROWS_AS(parse_midi(bytes.substr(0, n), "cut.mid"), IoError);
    }
    expect_error(good.substr(0, good.size() - 1), {"t.mid: track 0 at byte 14: ", "runs past the end of the file"});
    expect_error(good.substr(0, 10), {"t.mid: header at byte 4:", "runs past the end"});
    expect_error(header(1, 2, 96) + track(kEot), {"t.mid: track 1 at byte 26:", "declares 2 tracks", "after 1"});
  }
  SUBCASE("header") {
    expect_error("", {"t.mid: header at byte 0: truncated header"});
    expect_error("RIFF....", {"not a Standard MIDI File"});
    expect_error("MThd" + be32(4) + B({0, 1, 0, 1}), {"header chunk of 4 bytes"});
    expect_error(header(2, 1, 96) + track(kEot), {"t.mid: header at byte 8: format 2", "not supported"});
    expect_error(header(7, 1, 96) + track(kEot), {"unknown format 7"});
    expect_error(header(1, 1, 0xE728) + track(kEot), {"header at byte 12: SMPTE time division"});
    expect_error(header(1, 1, 0) + track(kEot), {"0 ticks per quarter"});
  }
  SUBCASE("chunk lengths") {
    expect_error(header(1, 1, 96) + "MTrk" + be32(1000) + kEot,
                 {"t.mid: track 0 at byte 14: chunk 'MTrk' of 1000 bytes runs past the end of the file "
                  "(4 bytes remain)"});
    expect_error(header(1, 1, 96) + "MTrk" + be32(0xFFFFFFFF) + kEot, {"4294967295 bytes runs past the end"});
    expect_error(header(1, 1, 96) + "XXXX" + be32(0xFFFFFFF0) + track(kEot), {"chunk 'XXXX'"});
    expect_error(header(1, 1, 96) + "MTr", {"truncated chunk header (3 of 8 bytes)"});
    // A meta event or sysex claiming 2^28 - 1 bytes inside a small track.
    expect_error(header(1, 1, 96) + track(B({0x00, 0xFF, 0x01, 0xFF, 0xFF, 0xFF, 0x7F}) + kEot),
                 {"track 0 at byte 23: meta event 0x01 of 268435455 bytes runs past the end of the track"});
    expect_error(header(1, 1, 96) + track(B({0x00, 0xF0, 0xFF, 0xFF, 0xFF, 0x7F}) + kEot),
                 {"sysex event of 268435455 bytes runs past the end of the track"});
  }
  SUBCASE("events") {
    auto with = [](const std::string& body) { return header(1, 1, 96) + track(body); };
    expect_error(with(B({0x00, 0x90, 0x3C, 0x40})),
                 {"track 0 at byte 26: the track ends without an end-of-track event"});
    expect_error(with(B({0x81, 0x80})), {"track 0 at byte 22: truncated variable-length quantity (delta time)"});
    expect_error(with(B({0x81, 0x80, 0x80, 0x80, 0x00}) + kEot), {"longer than 4 bytes"});
    expect_error(with(B({0x00})), {"track 0 at byte 23: truncated event"});
    expect_error(with(B({0x00, 0x3C, 0x40}) + kEot), {"byte 23: data byte 0x3c with no running status"});
    expect_error(with(B({0x00, 0xF8}) + kEot), {"unexpected status byte 0xf8"});
    expect_error(with(B({0x00, 0x90, 0x3C, 0x90}) + kEot), {"byte 25: data byte 0x90", "high bit"});
    expect_error(with(B({0x00, 0x90, 0x3C})), {"truncated channel message (status 0x90)"});
    expect_error(with(B({0x00, 0xFF})), {"truncated meta event"});
    expect_error(with(B({0x00, 0xFF, 0x51, 0x02, 0x07, 0xA1}) + kEot), {"tempo meta event of 2 bytes (3 expected)"});
    expect_error(with(B({0x00, 0xFF, 0x51, 0x03, 0, 0, 0}) + kEot), {"tempo of 0 microseconds"});
    expect_error(with(B({0x00, 0xFF, 0x58, 0x04, 4, 40, 24, 8}) + kEot), {"invalid time signature"});
    expect_error(with(B({0x00, 0xFF, 0x59, 0x01, 0}) + kEot), {"key signature meta event of 1 bytes"});
  }
  SUBCASE("files") {
    CHECK_THROWS_WITH_AS(read_midi("/nonexistent/x.mid"), "cannot read MIDI file '/nonexistent/x.mid': no such file",
                         IoError);
    TempDir tmp;
    CHECK_THROWS_AS(write_midi(tmp / "no/such/dir/x.mid", small_file()), IoError);
    std::ofstream(tmp / "bad.mid", std::ios::binary) << "MThd";
    CHECK_THROWS_WITH_AS(read_midi(tmp / "bad.mid"), doctest::Contains("bad.mid: header at byte 4"), IoError);
  }
}

TEST_CASE("Midi.CorruptedCourseFile") {
  // Random byte changes anywhere in the course's file: each read either
  // succeeds or throws IoError, never crashes, hangs or allocates hugely.
  const std::string good = read_bytes(kMetheny);
  REQUIRE(good.size() > 1000);
  uint64_t state = 12345;
  auto next = [&] { return state = state * 6364136223846793005ULL + 1442695040888963407ULL, state >> 33; };
  int failures = 0;
  for (int k = 0; k < 300; ++k) {
    std::string bytes = good;
    const int changes = 1 + int(next() % 4);
    for (int c = 0; c < changes; ++c) bytes[next() % bytes.size()] = char(next() & 255);
    // Also cut the file at a random point in every third case.
    if (k % 3 == 0) bytes.resize(next() % bytes.size());
    try {
      parse_midi(bytes, "fuzz.mid");
    } catch (const IoError& e) {
      ++failures;
      CHECK(std::string(e.what()).rfind("fuzz.mid: ", 0) == 0);
    }
  }
  CHECK(failures >= 100); // every cut file fails
}

TEST_CASE("Midi.PitchNames") {
  CHECK(pitch_name(60) == "C4");
  CHECK(pitch_name(61) == "C#4");
  CHECK(pitch_name(21) == "A0");
  CHECK(pitch_name(0) == "C-1");
  CHECK(pitch_name(127) == "G9");
  for (int p = 0; p < 128; ++p) CHECK(parse_pitch_name(pitch_name(p)) == p);
  CHECK(parse_pitch_name("Db4") == 61);
  CHECK(parse_pitch_name("H4") == -1);
  CHECK(parse_pitch_name("C") == -1);
  CHECK(parse_pitch_name("G#9") == -1);
  CHECK(parse_pitch_name("C4x") == -1);
}

TEST_CASE("Midi.JazzCorpus") {
  const JazzCorpus c = build_corpus(read_midi(kMetheny));
  // The course has 78 values; this encoding gives 82 on the Guitar solo.
  CHECK(c.vocab.size() == 82);
  CHECK(c.values.size() == 437);
  CHECK(c.melody.size() == 413); // 435 notes, 22 fall on a step already taken
  CHECK(c.low_pitch == 47);
  CHECK(c.high_pitch == 84);
  CHECK(c.bpm == doctest::Approx(112.0).epsilon(1e-5));
  std::set<std::string> labels;
  for (int i = 0; i < c.vocab.size(); ++i) {
    labels.insert(c.vocab.label(i));
    CHECK(c.vocab.index_of(c.vocab.label(i)) == i);
    CHECK(c.vocab.index_of(c.vocab.at(i)) == i);
    const JazzValue& v = c.vocab.at(i);
    CHECK(v.steps >= 1);
    CHECK(v.steps <= 8);
    if (i > 0) CHECK(c.vocab.at(i - 1) < v);
  }
  CHECK(labels.size() == size_t(c.vocab.size()));
  std::vector<int> used(size_t(c.vocab.size()), 0);
  for (int v : c.values) {
    REQUIRE(v >= 0);
    REQUIRE(v < c.vocab.size());
    ++used[size_t(v)];
  }
  CHECK(std::count(used.begin(), used.end(), 0) == 0);
  CHECK(c.vocab.index_of("-2:0.25") >= 0);
  CHECK(c.vocab.index_of("rest:0.5") >= 0);
  CHECK(c.vocab.label(c.values[0]) == "+2:0.5"); // A4 after the G4 reference, an eighth
  CHECK(c.melody[0].pitch == 69);
  CHECK_THROWS_AS(c.vocab.at(82), std::out_of_range);
  CHECK_THROWS_AS(build_corpus(read_midi(kMetheny), JazzOptions{.melody_track = 25}), IoError);
  CHECK_THROWS_AS(build_corpus(read_midi(kMetheny), JazzOptions{.melody_track = 1}), IoError);
  // Other encodings of the same solo stay in the same order of size.
  const JazzCorpus c8 = build_corpus(read_midi(kMetheny), JazzOptions{.max_steps = 4});
  CHECK(c8.vocab.size() < c.vocab.size());
}

TEST_CASE("Midi.JazzValuesOfNotes") {
  // Quarter = 96 ticks, steps of a sixteenth (24 ticks).
  const std::vector<MidiNote> notes = {
      {0, 0, 67, 90, 2, 40},      // G4, 2 steps played, next onset 2 steps on: +0:0.5
      {0, 0, 64, 90, 47, 50},     // E4 1 step; 1 step of silence (< 2) belongs to it: -3:0.5
      {0, 0, 72, 90, 95, 100},    // C5 1 step, then 3 steps silence: +8:0.25, rest:0.75
      {0, 0, 60, 90, 97, 120},    // chord with C5 on the same step: the lower note is dropped
      {0, 0, 74, 90, 190, 500},   // D5, 13 steps, capped at 8: +2:2 (the last: no rest after it)
  };
  const auto v = melody_values(notes, 96);
  const std::vector<JazzValue> want = {{false, 0, 2}, {false, -3, 2}, {false, 8, 1}, {true, 0, 3},
                                       {false, 2, 8}};
  CHECK(v == want);
  CHECK(want[3].label(4) == "rest:0.75");
  CHECK(want[1].label(4) == "-3:0.5");
  CHECK(want[0].label(4) == "+0:0.5");
  CHECK(JazzValue{false, 5, 1}.label(12) == "+5:0.083");
  // Back to notes: legato from tick 0, intervals from the reference pitch.
  const auto n = notes_from_values(v, 4);
  REQUIRE(n.size() == 4);
  CHECK(n[0] == MidiNote{1, 0, 67, 90, 0, 48});
  CHECK(n[1] == MidiNote{1, 0, 64, 90, 48, 96});
  CHECK(n[2] == MidiNote{1, 0, 72, 90, 96, 120});
  CHECK(n[3] == MidiNote{1, 0, 74, 90, 192, 384});
  CHECK(melody_values(n, 96) == v);
  // Pitches leaving the range move by octaves into it.
  JazzRender r;
  r.low_pitch = 60, r.high_pitch = 72;
  const auto folded = notes_from_values({{false, 30, 1}, {false, -40, 1}, {false, 1000000, 1}}, 4, r);
  REQUIRE(folded.size() == 3);
  CHECK(folded[0].pitch == 61); // 67 + 30 = 97 -> 61
  CHECK(folded[1].pitch == 69); // 61 - 40 = 21 -> 69
  CHECK(folded[2].pitch >= 60);
  CHECK(folded[2].pitch <= 72);
  CHECK_THROWS_AS(notes_from_values({{false, 0, 0}}, 4), std::invalid_argument);
  CHECK_THROWS_AS(melody_values(notes, 96, JazzOptions{.steps_per_quarter = 0}), std::invalid_argument);
}

TEST_CASE("Midi.JazzWindows") {
  const JazzCorpus c = build_corpus(read_midi(kMetheny));
  const JazzWindows w = windows(c, 60, 30, 0);
  CHECK(w.m == 60);
  CHECK(w.Tx == 30);
  CHECK(w.n_values == 82);
  REQUIRE(w.x.size() == 60 * 30);
  REQUIRE(w.y.size() == 60 * 30);
  REQUIRE(w.starts.size() == 60);
  std::set<int64_t> distinct_starts;
  for (int i = 0; i < w.m; ++i) {
    const int64_t s = w.starts[size_t(i)];
    CHECK(s >= 0);
    CHECK(s < int64_t(c.values.size()) - 30);
    distinct_starts.insert(s);
    CHECK(w.x_at(i, 0) == -1);       // the course's zero first input
    CHECK(w.y_at(i, w.Tx - 1) == -1); // and zero last target
    for (int t = 1; t < w.Tx; ++t) CHECK(w.x_at(i, t) == c.values[size_t(s + t)]);
    for (int t = 0; t + 1 < w.Tx; ++t) CHECK(w.y_at(i, t) == w.x_at(i, t + 1));
  }
  CHECK(distinct_starts.size() > 40);
  // Deterministic by seed.
  CHECK(windows(c, 60, 30, 0).x == w.x);
  CHECK(windows(c, 60, 30, 1).x != w.x);
  // One-hot in the course's layout.
  const auto [X, Y] = one_hot(w);
  CHECK(X.shape() == Shape{60, 30, 82});
  CHECK(Y.shape() == Shape{30, 60, 82});
  CHECK(X({0, 0, 0}) == 0.0);
  CHECK(X({3, 5, w.x_at(3, 5)}) == 1.0);
  CHECK(Y({5, 3, w.y_at(3, 5)}) == 1.0);
  double sx = 0, sy = 0;
  for (int64_t k = 0; k < X.size(); ++k) sx += X.at(k), sy += Y.at(k);
  CHECK(sx == 60 * 29);
  CHECK(sy == 60 * 29);
  CHECK_THROWS_AS(windows(c, 60, 1000, 0), std::invalid_argument);
  CHECK_THROWS_AS(windows(c, 0, 30, 0), std::invalid_argument);
}

TEST_CASE("Midi.JazzRoundTrip") {
  const JazzCorpus c = build_corpus(read_midi(kMetheny));
  // values -> notes: the melody's pitches, in order, on the grid.
  const auto notes = notes_from_values(c.values, c.vocab, render_options(c));
  REQUIRE(notes.size() == c.melody.size());
  for (size_t i = 0; i < notes.size(); ++i) CHECK(notes[i].pitch == c.melody[i].pitch);
  // notes -> values gives the same values back...
  std::vector<int> back;
  for (const auto& v : melody_values(notes, 96, c.options)) back.push_back(c.vocab.index_of(v));
  CHECK(back == c.values);
  // ... and so does the way through a MIDI file.
  TempDir tmp;
  write_midi(tmp / "jazz.mid", jazz_midi(c.values, c));
  const MidiFile f = read_midi(tmp / "jazz.mid");
  CHECK(f.tempos.at(0).bpm() == doctest::Approx(112.0).epsilon(1e-5));
  JazzOptions all = c.options;
  all.melody_track = 1, all.start_tick = 0, all.end_tick = f.end_tick() + 1;
  const JazzCorpus again = build_corpus(f, all);
  REQUIRE(again.values.size() == c.values.size());
  for (size_t i = 0; i < c.values.size(); ++i) CHECK(again.vocab.label(again.values[i]) == c.vocab.label(c.values[i]));
  // A generated sequence (here: a window) renders to a playable file.
  const JazzWindows w = windows(c, 1, 30, 7);
  std::vector<int> gen(w.x.begin() + 1, w.x.end());
  const MidiFile g = parse_midi(encode_midi(jazz_midi(gen, c)));
  CHECK(!g.notes.empty());
  CHECK_THROWS_AS(notes_from_values(std::vector<int>{0, 82}, c.vocab), std::out_of_range);
}
