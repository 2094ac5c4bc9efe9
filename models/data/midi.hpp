// Standard MIDI Files (SMF), read and written by hand.
//
// Reading (format 0 and 1; format 2 and SMPTE time division are refused):
//   - the header chunk MThd (length >= 6, extra header bytes skipped), then the
//     track chunks MTrk; chunks of any other type are skipped by their length;
//     bytes after the last declared track are ignored;
//   - events: delta times as variable-length quantities (at most 4 bytes),
//     running status (kept across meta and sysex events, as most readers do),
//     channel messages (note off/on, polyphonic and channel aftertouch, control
//     change, program change, pitch bend), meta events (tempo 0x51, time
//     signature 0x58, key signature 0x59, track name 0x03, marker 0x06, end of
//     track 0x2F; the others are skipped by their length), sysex F0/F7 skipped
//     by their length;
//   - times become absolute ticks; note on/off pairs become MidiNote (a note-on
//     with velocity 0 is a note-off; the ons of one (channel, pitch) are closed
//     first in, first out; a note-off with no open note is ignored; a note
//     still on at the end of its track ends at the end-of-track tick);
//   - every malformed or truncated input throws sg::IoError naming the file,
//     the track (0-based chunk index; "header" before the first track) and the
//     byte offset in the file, e.g.
//     "jazz.mid: track 3 at byte 1234: truncated variable-length quantity (delta time)".
//     Lengths are checked against the bytes that remain before anything is
//     allocated or skipped, and every event consumes at least one byte, so a
//     corrupt file can neither allocate hugely nor loop forever. A track must
//     end with an end-of-track meta event; bytes after it in the chunk are
//     ignored.
//
// Writing (format 1 or 0): a conductor part with the tempo map, time and key
// signatures and markers; per track a name, its channel events (program and
// control changes, bends, aftertouch), its notes as note-on / note-off
// (velocity 64) events sorted by tick: at one tick channel events first, then
// note-offs, then note-ons (the off of a zero-length note follows its own on);
// then an end-of-track event. Running status is not used. read(write(f)) gives
// back f's notes, tempo map, time and key signatures, markers, track names and
// channel events (only for overlapping notes of one channel and pitch, the
// later-starting one ending first, FIFO pairing gives other pairs). Within one
// tick, notes are written in pitch order, not in the order of the file read.
#pragma once

#include "graph/errors.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sg {

// One note: a note-on paired with its note-off. Ticks are absolute.
struct MidiNote {
  int track = 0;        // index of the MTrk chunk it came from (0-based)
  int channel = 0;      // 0..15
  int pitch = 60;       // MIDI key 0..127 (60 = C4, middle C)
  int velocity = 100;   // note-on velocity 1..127
  int64_t start_tick = 0;
  int64_t end_tick = 0; // >= start_tick
  bool operator==(const MidiNote&) const = default;
};

// A tempo change (meta 0x51): microseconds per quarter note from `tick` on.
struct TempoChange {
  int64_t tick = 0;
  uint32_t us_per_quarter = 500000; // 120 bpm
  double bpm() const { return 60e6 / us_per_quarter; }
  bool operator==(const TempoChange&) const = default;
};

// A time signature (meta 0x58): numerator / 2^denominator_pow2.
struct TimeSignature {
  int64_t tick = 0;
  int numerator = 4;
  int denominator = 4;            // the actual denominator (4 for x/4)
  int clocks_per_click = 24;      // MIDI clocks per metronome click
  int thirty_seconds_per_quarter = 8;
  bool operator==(const TimeSignature&) const = default;
};

// A key signature (meta 0x59): -7..7 flats (<0) or sharps (>0), major/minor.
struct KeySignature {
  int64_t tick = 0;
  int sharps = 0;
  bool minor = false;
  bool operator==(const KeySignature&) const = default;
};

// A marker (meta 0x06): a named point in the song, e.g. "Guit. solo  2:20".
struct Marker {
  int64_t tick = 0;
  std::string text;
  bool operator==(const Marker&) const = default;
};

// A channel message other than note on/off, kept so that files survive a
// read/write round trip (instrument choice, volume, pedal, bends).
struct ChannelEvent {
  enum Kind : uint8_t {
    poly_aftertouch = 0xA0, // data1 = key, data2 = pressure
    control_change = 0xB0,  // data1 = controller, data2 = value
    program_change = 0xC0,  // data1 = program
    channel_aftertouch = 0xD0, // data1 = pressure
    pitch_bend = 0xE0,      // data1 = 14-bit value 0..16383 (8192 = centre)
  };
  int track = 0;
  int64_t tick = 0;
  Kind kind = control_change;
  int channel = 0;
  int data1 = 0;
  int data2 = 0;
  bool operator==(const ChannelEvent&) const = default;
};

// What one MTrk chunk held besides its notes.
struct MidiTrack {
  std::string name;          // first track-name meta event (0x03), or ""
  int64_t end_tick = 0;      // tick of its end-of-track event
  int64_t note_count = 0;    // notes (paired on/off) read from it
};

struct MidiFile {
  int format = 1;                // 0 or 1
  int ticks_per_quarter = 96;    // the header's division
  std::vector<MidiTrack> tracks; // one per MTrk chunk, in file order
  std::vector<MidiNote> notes;   // all tracks, sorted by (start, track, channel, pitch, end)
  std::vector<TempoChange> tempos;             // by tick; empty means 120 bpm
  std::vector<TimeSignature> time_signatures;  // by tick; empty means 4/4
  std::vector<KeySignature> key_signatures;    // by tick
  std::vector<Marker> markers;                 // by tick
  std::vector<ChannelEvent> events;            // by (tick, track), file order within

  // Microseconds per quarter at `tick` (500000 if the file sets no tempo).
  uint32_t us_per_quarter_at(int64_t tick) const;
  // Seconds from tick 0 to `tick`, through the tempo map.
  double seconds_at(int64_t tick) const;
  // The notes of one track, in `notes` order.
  std::vector<MidiNote> track_notes(int track) const;
  // The last tick of the file: the largest end-of-track or note-end tick.
  int64_t end_tick() const;
};

// Reads a Standard MIDI File; throws IoError naming the file, track and byte.
MidiFile read_midi(const std::string& path);
// Parses SMF bytes; `name` stands for the file in error messages.
MidiFile parse_midi(std::string_view bytes, const std::string& name = "<memory>");

// Encodes `file` as SMF bytes. Format 1 (the default): the conductor part
// (tempos, time and key signatures, markers) goes to track 0, each note and channel
// event to the track its `track` field names; the number of tracks written is
// max(tracks.size(), 1 + the largest track index used), names from `tracks`.
// Format 0 (file.format == 0): everything merged into one track named by
// tracks[0] (read back, every track field is 0). Throws std::invalid_argument
// on a value out of MIDI range (channel, pitch, velocity, negative or reversed
// ticks, ticks_per_quarter outside 1..32767, tempo 0 or >= 2^24).
std::string encode_midi(const MidiFile& file);
// Writes encode_midi(file) to `path`; throws IoError if it cannot be written.
void write_midi(const std::string& path, const MidiFile& file);

// A one-track file (format 1: conductor track 0 named `name` with the tempo
// and a 4/4 time signature, the notes on track 1 with an optional program
// change) for notes whose track field is ignored.
MidiFile make_midi(const std::vector<MidiNote>& notes, int ticks_per_quarter = 96,
                   double bpm = 120.0, const std::string& name = "seqgraph",
                   int program = 0);
// write_midi(path, make_midi(notes, ...)).
void write_midi(const std::string& path, const std::vector<MidiNote>& notes,
                int ticks_per_quarter = 96, double bpm = 120.0,
                const std::string& name = "seqgraph", int program = 0);

// The conventional name of a MIDI pitch: 60 -> "C4", 61 -> "C#4", 21 -> "A0".
std::string pitch_name(int pitch);
// The inverse of pitch_name (also accepts flats "Db4"); -1 if not a pitch.
int parse_pitch_name(std::string_view name);

} // namespace sg
