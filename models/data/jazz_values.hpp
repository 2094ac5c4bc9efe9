// The musical "values" of the Jazz improvisation assignment: a melody turned
// into a sequence of tokens from a small vocabulary, the course's training
// windows (X, Y) of those tokens, and the way back from tokens to notes (and
// through models/data/midi.hpp to a MIDI file).
//
// The melody. The course's file, original_metheny.mid (Pat Metheny, "And Then
// I Knew", format 1, 25 tracks, 96 ticks per quarter, 112 bpm, 4/4, one sharp),
// has a conductor track 0 with section markers, five text-only tracks (1-5),
// then one track per instrument: 6 Piano, 7 Bass, 8 Organ, 9 String, 10 Piano
// Elec., 11 Guitar, 12 Trumpet, ... 24 Woodblock. The lead voice is track 11,
// "Guitar" (Metheny's guitar synth, program 26; it is also the course's choice:
// deepjazz, which the course's preprocessing comes from, takes music21 part 5,
// the sixth part with notes, which is this track). Its solo runs from the
// marker "Guit. solo 2:20" (tick 25728, quarter 268) to the marker "A 4:18"
// (tick 47232, quarter 492), where the theme comes back: 56 bars, 435 notes,
// strictly one note at a time (outside the solo the track also plays chords).
// JazzOptions' defaults select exactly that (the course itself takes quarters
// 476..548, the last bars of the solo and the theme after it).
//
// The values. Time is quantized to a grid of `steps_per_quarter` steps
// (default 4: sixteenth notes; the performance is played, not sequenced, so
// onsets are snapped to the nearest step). The melody is made monophonic (of
// notes starting on the same step the highest is kept). Each note becomes
//   (interval from the previous note in semitones, length in steps)
// where the length is its sounding length, extended to the next onset when the
// silence after it is shorter than `min_rest_steps` (default 2, an eighth);
// otherwise a rest value (rest, length in steps) follows it. Lengths above
// `max_steps` (default 8, a half note) are capped: the excess of a note
// becomes rest, a long rest is split into several rest values; nothing
// follows the last note (no trailing rest). The first note's interval is
// taken from `reference_pitch` (default 67, G4: the piece is in G).
// Intervals make the vocabulary small and the model transposition-invariant,
// as the course's grammar (which also encodes intervals) does; generated
// intervals that would leave the melody's range are folded back by octaves
// when rendered (JazzRender).
// Labels: "+3:0.5" (up a minor third, an eighth), "-2:0.25", "+0:1.5",
// "rest:0.75"; the length is in quarter notes.
//
// On the course's file with the defaults (checked in tests/test_midi.cpp):
// 435 solo notes -> 413 monophonic notes on the grid (22 grace/fast notes
// share a sixteenth with another) -> a corpus of 437 values over a
// vocabulary of 82 values (the course's has 78): 75 notes with 22 intervals
// in -12..+12 and 8 lengths 0.25..2 quarters, and 7 rests.
// Other settings, for comparison: max_steps 4 -> 65 values; min_rest_steps 1
// -> 76; a grid of 12 steps per quarter (triplets) -> 132..149; the course's
// range of quarters 476..548 alone -> 184 values, vocabulary 41.
//
// Windows follow the course's data_processing(corpus, values_indices, m=60,
// Tx=30): for each of m examples a random start s in [0, len - Tx), then
//   X[i][0] = the zero vector, X[i][t] = corpus[s + t] for t = 1..Tx-1,
//   Y[i][t] = X[i][t+1] for t = 0..Tx-2, Y[i][Tx-1] = the zero vector.
// Here as value indices, -1 standing for the zero vector.
#pragma once

#include "graph/tensor.hpp"
#include "models/data/midi.hpp"
#include "models/train/fit.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace sg {

// One value: a note (interval, steps) or a rest (steps).
struct JazzValue {
  bool rest = false;
  int interval = 0; // semitones from the previous note (0 for a rest)
  int steps = 1;    // length in grid steps, 1..max_steps
  auto operator<=>(const JazzValue&) const = default;
  // "+3:0.5", "-2:0.25", "rest:1"
  std::string label(int steps_per_quarter) const;
};

// The vocabulary: value index <-> value, sorted (notes by interval then
// length, rests last), built from the data.
struct JazzVocab {
  int steps_per_quarter = 4;
  std::vector<JazzValue> values;
  int size() const { return static_cast<int>(values.size()); }
  const JazzValue& at(int index) const;  // throws std::out_of_range
  std::string label(int index) const;    // throws std::out_of_range
  int index_of(const JazzValue& v) const; // -1 if absent
  int index_of(const std::string& label) const; // -1 if absent
};

struct JazzOptions {
  int melody_track = 11;       // "Guitar" in original_metheny.mid
  int64_t start_tick = 25728;  // marker "Guit. solo 2:20"
  int64_t end_tick = 47232;    // marker "A 4:18" (notes starting before it)
  int steps_per_quarter = 4;   // the grid: 4 = sixteenths, 12 = with triplets
  int max_steps = 8;           // cap on one value's length (8 = a half note)
  int min_rest_steps = 2;      // shorter silences lengthen the note before them
  int reference_pitch = 67;    // the first note's interval is taken from it
};

struct JazzCorpus {
  std::vector<int> values;        // indices into vocab
  JazzVocab vocab;
  JazzOptions options;
  std::vector<MidiNote> melody;   // the monophonic melody the values came from
  int low_pitch = 0, high_pitch = 127; // the melody's pitch range
  double bpm = 120;               // the file's tempo at start_tick
  int ticks_per_quarter = 96;
};

// Selects the melody by `options` and builds the values and their vocabulary.
// Throws IoError if the track does not exist or holds no notes in the range,
// std::invalid_argument on bad options.
JazzCorpus build_corpus(const MidiFile& file, const JazzOptions& options = {});
// The corpus of the MIDI file `path` (read_midi, then build_corpus). Every
// error (missing file, malformed MIDI, no melody track) is an IoError naming `path`.
JazzCorpus load_jazz_corpus(const std::string& path, const JazzOptions& options = {});
// Identifies the vocabulary (a checkpoint keeps it: sampling needs the same one).
uint64_t vocab_fingerprint(const JazzVocab& vocab);

// The values of a melody: the notes are made monophonic and quantized as the
// header says; ticks_per_quarter is theirs. Used by build_corpus; also
// turns generated notes back into values.
std::vector<JazzValue> melody_values(std::vector<MidiNote> notes, int ticks_per_quarter,
                                     const JazzOptions& options = {});

// The course's training windows; x and y are m x Tx, row-major, -1 is the
// zero vector. The starts are drawn from sg::rng with `seed`.
struct JazzWindows {
  int m = 0, Tx = 0, n_values = 0;
  std::vector<int> x, y;
  std::vector<int64_t> starts; // s of each example
  int x_at(int i, int t) const { return x[static_cast<size_t>(i * Tx + t)]; }
  int y_at(int i, int t) const { return y[static_cast<size_t>(i * Tx + t)]; }
};
// Throws std::invalid_argument if the corpus has fewer than Tx + 1 values.
JazzWindows windows(const JazzCorpus& corpus, int m = 60, int Tx = 30, uint64_t seed = 0);
// Identifies the windows (resuming needs the same ones).
uint64_t windows_fingerprint(const JazzWindows& w);

// One-hot tensors in the course's layout: X (m, Tx, n_values) and
// Y (Tx, m, n_values); the zero vector stays all zeros.
std::pair<Tensor, Tensor> one_hot(const JazzWindows& w, DType dtype = DType::f32);

// A corpus' windows as fit batches: "X" (B, Tx, n_values) and "Y" (Tx, B,
// n_values), one_hot's layout for the windows of a batch, float32 (Keras').
class JazzDataset : public fit::Dataset {
public:
  JazzDataset(JazzCorpus corpus, JazzWindows w) : c_(std::move(corpus)), w_(std::move(w)) {}
  int64_t size() const override { return w_.m; }
  uint64_t fingerprint() const override { return windows_fingerprint(w_); }
  fit::Feeds batch(std::span<const int64_t> indices) const override;
  const JazzCorpus& corpus() const { return c_; }
  const JazzWindows& windows() const { return w_; }

private:
  JazzCorpus c_;
  JazzWindows w_;
};

// How values become notes.
struct JazzRender {
  int ticks_per_quarter = 96;
  int reference_pitch = 67;       // the pitch the first interval starts from
  int low_pitch = 0, high_pitch = 127; // a pitch outside is moved by octaves into it
  int velocity = 90;
  int channel = 0;
  int track = 1;
};
// The render settings matching a corpus (its reference pitch and pitch range).
JazzRender render_options(const JazzCorpus& corpus);

// Value indices -> notes, one after another from tick 0 (notes sound their
// full length). Throws std::out_of_range on an index outside the vocabulary.
std::vector<MidiNote> notes_from_values(const std::vector<int>& values, const JazzVocab& vocab,
                                        const JazzRender& render = {});
// The same, for values not necessarily in a vocabulary.
std::vector<MidiNote> notes_from_values(const std::vector<JazzValue>& values, int steps_per_quarter,
                                        const JazzRender& render = {});

// Values -> a playable MIDI file (make_midi with the corpus's tempo, program 26,
// the electric jazz guitar), e.g. write_midi("out.mid", jazz_midi(ids, corpus)).
MidiFile jazz_midi(const std::vector<int>& values, const JazzCorpus& corpus);

} // namespace sg
