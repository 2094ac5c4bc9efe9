// Jazz improvisation (models/jazz.cpp): the data pipeline in process, then
// training, evaluation, prediction, resume, generation and rendering through
// graph-run, as a user runs them, on the course's file with few epochs (a
// fraction of a second each), and on small MIDI files the tests write.
#include "graph/checkpoint.hpp"
#include "graph/npy.hpp"
#include "models/data/midi_render.hpp"
#include "models/jazz.hpp"
#include "models/train/fit.hpp"
#include "tests/cli_helpers.hpp"
#include "tests/helpers.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <doctest/doctest.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <set>
#include <sstream>

using namespace sg;
using sg::test::graph_run;
using sg::test::has;
using sg::test::lines_of;
using sg::test::read_file;
using sg::test::Result;
using sg::test::TempDir;

namespace {

const std::string kMetheny = std::string(SEQGRAPH_DATA_DIR) + "/jazz/original_metheny.mid";

std::vector<std::string> words_of(const std::string& s) {
  std::vector<std::string> r;
  std::istringstream in(s);
  for (std::string w; in >> w;) r.push_back(w);
  return r;
}

// The loss column of a history CSV, by epoch.
std::vector<double> losses(const std::string& csv) {
  auto rows = lines_of(read_file(csv));
  REQUIRE(!rows.empty());
  CHECK(rows[0] == "epoch,loss");
  std::vector<double> r;
  for (size_t i = 1; i < rows.size(); ++i) {
    auto comma = rows[i].find(',');
    REQUIRE(comma != std::string::npos);
    CHECK(std::stoll(rows[i].substr(0, comma)) == int64_t(i - 1));
    r.push_back(std::stod(rows[i].substr(comma + 1)));
  }
  return r;
}

// A small piece laid out as the course's file: the melody on track 11, from
// the tick where the Guitar solo starts; a scale up and down in eighths,
// so a vocabulary of a few values.
std::string write_tune(const TempDir& dir, const std::string& file = "tune.mid") {
  MidiFile f;
  f.tracks.resize(12);
  const int pitches[] = {60, 62, 64, 65, 67, 65, 64, 62};
  const int64_t start = JazzOptions{}.start_tick;
  for (int i = 0; i < 48; ++i)
    f.notes.push_back({11, 0, pitches[i % 8], 90, start + 48 * i, start + 48 * i + 40});
  write_midi(dir / file, f);
  return dir / file;
}

std::string write_bytes(const TempDir& dir, const std::string& file, const std::string& bytes) {
  std::ofstream(dir / file, std::ios::binary) << bytes;
  return dir / file;
}

void check_same_params(const Checkpoint& a, const Checkpoint& b) {
  REQUIRE(a.params.size() == b.params.size());
  for (auto& [name, t] : a.params.all()) {
    INFO(name);
    REQUIRE(b.params.contains(name));
    const Tensor& u = b.params.at(name);
    REQUIRE(u.shape() == t.shape());
    REQUIRE(u.dtype() == t.dtype());
    CHECK(std::memcmp(t.raw(), u.raw(), t.nbytes()) == 0); // bitwise
  }
}

template <class F> std::string io_error_of(F&& f) { return sg::test::error_of<IoError>(f); }

} // namespace

TEST_CASE("Jazz.DataPipeline") {
  const JazzCorpus c = load_jazz_corpus(kMetheny);
  CHECK(c.vocab.size() == jazz::kCourseValues); // 82 (the course's encoding has 78)
  CHECK(c.values.size() == 437);

  // the course's X and Y: m = 60 windows of Tx = 30, X⟨1⟩ = 0, Y⟨t⟩ = X⟨t+1⟩, Y⟨Tx⟩ = 0
  const JazzWindows w = windows(c, 60, jazz::kTx, 0);
  CHECK(w.m == 60);
  CHECK(w.Tx == 30);
  CHECK(w.n_values == 82);
  REQUIRE(w.x.size() == 60 * 30);
  for (int i = 0; i < w.m; ++i) {
    const auto s = size_t(w.starts[size_t(i)]);
    CHECK(w.x_at(i, 0) == -1);
    CHECK(w.y_at(i, 29) == -1);
    for (int t = 1; t < w.Tx; ++t) CHECK(w.x_at(i, t) == c.values[s + size_t(t)]);
    for (int t = 0; t + 1 < w.Tx; ++t) CHECK(w.y_at(i, t) == w.x_at(i, t + 1));
  }
  const auto [X, Y] = one_hot(w);
  CHECK(X.shape() == Shape{60, 30, 82});
  CHECK(Y.shape() == Shape{30, 60, 82});
  // seeded: the windows and their fingerprint follow the seed
  CHECK(windows(c, 60, jazz::kTx, 0).x == w.x);
  CHECK(windows_fingerprint(windows(c, 60, jazz::kTx, 0)) == windows_fingerprint(w));
  CHECK(windows_fingerprint(windows(c, 60, jazz::kTx, 1)) != windows_fingerprint(w));
  CHECK(windows_fingerprint(windows(c, 59, jazz::kTx, 0)) != windows_fingerprint(w));

  // Keras' fit: every epoch a new permutation of the 60, batches of 32 and 28
  std::set<std::vector<int64_t>> orders;
  for (int64_t epoch = 0; epoch < 5; ++epoch) {
    const auto batches = fit::epoch_batches(60, 32, true, 0, "jazz", epoch);
    REQUIRE(batches.size() == 2);
    CHECK(batches[0].size() == 32);
    CHECK(batches[1].size() == 28);
    std::vector<int64_t> order = batches[0];
    order.insert(order.end(), batches[1].begin(), batches[1].end());
    std::vector<int64_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    for (int i = 0; i < 60; ++i) CHECK(sorted[size_t(i)] == i);
    orders.insert(order);
    CHECK(fit::epoch_batches(60, 32, true, 0, "jazz", epoch) == batches); // a function of (seed, epoch)
  }
  CHECK(orders.size() == 5);
  CHECK(fit::epoch_batches(60, 32, true, 1, "jazz", 0) != fit::epoch_batches(60, 32, true, 0, "jazz", 0));
  CHECK(fit::epoch_batches(60, 60, true, 0, "jazz", 0).size() == 1);
  CHECK(fit::epoch_batches(20, 8, true, 0, "jazz", 0).size() == 3);
  CHECK(fit::epoch_batches(20, 8, true, 0, "jazz", 0).back().size() == 4);

  // a piece of our own: its own, smaller vocabulary
  TempDir dir;
  const JazzCorpus tune = load_jazz_corpus(write_tune(dir));
  CHECK(tune.vocab.size() < 10);
  CHECK(tune.values.size() == 48);
  CHECK(vocab_fingerprint(tune.vocab) != vocab_fingerprint(c.vocab));
  CHECK(vocab_fingerprint(load_jazz_corpus(kMetheny).vocab) == vocab_fingerprint(c.vocab));
}

TEST_CASE("Jazz.MalformedInput") {
  TempDir dir;
  // a truncated track, a file that is no MIDI at all, a missing file, a MIDI
  // file without the melody track: each error names the file
  const std::string broken = write_bytes(
      dir, "broken.mid", std::string("MThd\0\0\0\6\0\1\0\1\0\x60MTrk\0\0\0\x10\0\x90\x3c", 25));
  const std::string text = write_bytes(dir, "notes.mid", "C D E F G\n");
  const std::string other = dir / "two_tracks.mid";
  write_midi(other, std::vector<MidiNote>{{0, 0, 60, 90, 0, 96}});
  for (const std::string& path : {broken, text, dir / "missing.mid", other}) {
    INFO(path);
    CHECK(has(io_error_of([&] { load_jazz_corpus(path); }), path));
    Result r = graph_run(fmt::format("jazz train --data '{}' --checkpoint '{}' --epochs 1", path,
                                     dir / "x.ckpt"));
    CHECK(r.rc == 1);
    CHECK(has(r.out, "graph-run: error: "));
    CHECK(has(r.out, path));
    CHECK(!std::filesystem::exists(dir / "x.ckpt"));
  }
  CHECK(has(io_error_of([&] { load_jazz_corpus(broken); }), "track 0 at byte"));
  CHECK(has(io_error_of([&] { load_jazz_corpus(other); }), "melody track 11 is not in the file"));
  // too short for a window of 30 values
  MidiFile f;
  f.tracks.resize(12);
  for (int i = 0; i < 10; ++i) f.notes.push_back({11, 0, 60 + i, 90, 25728 + 48 * i, 25728 + 48 * i + 40});
  write_midi(dir / "short.mid", f);
  Result r = graph_run(fmt::format("jazz train --data '{}' --checkpoint '{}'", dir / "short.mid",
                                   dir / "x.ckpt"));
  CHECK(r.rc == 1);
  CHECK(has(r.out, dir / "short.mid" + ": jazz windows: a corpus of 10 values is too short"));
}

TEST_CASE("Jazz.TrainingLowersTheLoss") {
  TempDir dir;
  Result r = graph_run(fmt::format("jazz train --epochs 8 --checkpoint '{}' --history '{}'", dir / "j.ckpt",
                                   dir / "h.csv"));
  REQUIRE(r.rc == 0);
  // not a terminal: plain lines, no bar
  CHECK(!has(r.out, "\r"));
  CHECK(has(r.out, "jazz: 437 values over a vocabulary of 82 from "));
  CHECK(has(r.out, "60 windows of Tx = 30, batches of 32"));
  CHECK(has(r.out, "Epoch: 1, Loss: 12"));
  CHECK(has(r.out, "jazz: 8 epochs in "));

  // the untrained model's loss: 29 steps of ln 82 (the last target is the
  // zero vector: no loss), as the course's ~130 at its first epoch
  const std::vector<double> l = losses(dir / "h.csv");
  REQUIRE(l.size() == 8);
  CHECK(std::abs(l[0] - 29 * std::log(82.0)) < 3);
  for (size_t i = 1; i < l.size(); ++i) {
    INFO("epoch ", i);
    CHECK(l[i] < l[i - 1]);
  }
  CHECK(l[7] < l[0] - 10);

  // the course's weights, Keras' names and layout, and Adam's state: two
  // steps per epoch (batches of 32 and 28)
  Checkpoint ck = load_checkpoint(dir / "j.ckpt", "jazz");
  CHECK(ck.params.at("lstm/kernel").shape() == Shape{82, 256});
  CHECK(ck.params.at("lstm/recurrent_kernel").shape() == Shape{64, 256});
  CHECK(ck.params.at("lstm/bias").shape() == Shape{256});
  CHECK(ck.params.at("dense/kernel").shape() == Shape{64, 82});
  CHECK(ck.params.at("dense/bias").shape() == Shape{82});
  CHECK(ck.params.at("lstm/kernel/adam_m").shape() == Shape{82, 256});
  CHECK(ck.params.at("adam/iterations").at(0) == 16);
  CHECK(ck.meta.at("step") == "8");
  CHECK(ck.meta.at("unit") == "epoch");

  // full batch: one step per epoch; other batch sizes: a graph each
  REQUIRE(graph_run(fmt::format("jazz train --epochs 3 --batch-size 0 --checkpoint '{}' --quiet",
                                dir / "full.ckpt")).rc == 0);
  CHECK(load_checkpoint(dir / "full.ckpt").params.at("adam/iterations").at(0) == 3);
  r = graph_run(fmt::format("jazz train --epochs 2 -m 20 --batch-size 8 --checkpoint '{}' --history '{}'",
                            dir / "small.ckpt", dir / "small.csv"));
  REQUIRE(r.rc == 0);
  CHECK(has(r.out, "20 windows of Tx = 30, batches of 8"));
  const std::string small_loss = lines_of(r.out).back();
  CHECK(small_loss.starts_with("train: loss "));
  CHECK(load_checkpoint(dir / "small.ckpt").params.at("adam/iterations").at(0) == 6);
  CHECK(losses(dir / "small.csv").size() == 2);
  r = graph_run(fmt::format("jazz train --epochs 2 -m 0 --checkpoint '{}'", dir / "x.ckpt"));
  CHECK(r.rc == 2);
  CHECK(has(r.out, "-m must be an integer >= 1, got '0'"));
  r = graph_run(fmt::format("jazz train --epochs 2 --batch-size -1 --checkpoint '{}'", dir / "x.ckpt"));
  CHECK(r.rc == 2);
  CHECK(has(r.out, "--batch-size must be an integer >= 0, got '-1'"));
  // quiet: the summary, then the trained model's loss on the windows (fit::model's evaluation)
  r = graph_run(fmt::format("jazz train --epochs 1 --quiet --checkpoint '{}'", dir / "q.ckpt"));
  REQUIRE(r.rc == 0);
  const auto quiet = lines_of(r.out);
  REQUIRE(quiet.size() == 2);
  CHECK(quiet[0].starts_with("jazz: 1 epochs in "));
  CHECK(quiet[1].starts_with("train: loss "));
  // evaluate: that loss again, from the checkpoint and the options it was trained with
  r = graph_run(fmt::format("jazz evaluate --checkpoint '{}' --quiet", dir / "q.ckpt"));
  REQUIRE(r.rc == 0);
  CHECK(lines_of(r.out) == std::vector<std::string>{quiet[1]});
  r = graph_run(fmt::format("jazz evaluate --checkpoint '{}' --quiet", dir / "small.ckpt"));
  REQUIRE(r.rc == 0);
  CHECK(lines_of(r.out) == std::vector<std::string>{small_loss}); // on its own 20 windows (-m 20)
}

TEST_CASE("Jazz.ResumeEqualsUninterruptedRun") {
  TempDir dir;
  auto train = [&](const std::string& ckpt, const std::string& csv, int epochs, const std::string& extra = "") {
    return graph_run(fmt::format("jazz train --epochs {} --checkpoint '{}' --history '{}' --seed 3 "
                                 "--save-every 2 --quiet {}",
                                 epochs, dir / ckpt, dir / csv, extra));
  };
  REQUIRE(train("whole.ckpt", "whole.csv", 6).rc == 0);
  REQUIRE(train("part.ckpt", "part.csv", 3).rc == 0);
  // as if the first run had gone on past its checkpoint before stopping
  std::ofstream(dir / "part.csv", std::ios::app) << "3,1.5\n";
  Result r = train("part.ckpt", "part.csv", 6, "--resume");
  REQUIRE(r.rc == 0);
  CHECK(has(r.out, "resumed at epoch 3"));
  CHECK(read_file(dir / "part.csv") == read_file(dir / "whole.csv"));
  Checkpoint a = load_checkpoint(dir / "whole.ckpt"), b = load_checkpoint(dir / "part.ckpt");
  CHECK(a.meta == b.meta);
  check_same_params(a, b); // the weights, Adam's moments and its iteration count
  CHECK(a.params.at("adam/iterations").at(0) == 12);

  // resuming needs the same seed, windows and batch size
  Result e = graph_run(fmt::format("jazz train --epochs 8 --checkpoint '{}' --resume --seed 4",
                                   dir / "part.ckpt"));
  CHECK(e.rc == 1);
  CHECK(has(e.out, "comes from a run with --seed 3"));
  e = train("part.ckpt", "e.csv", 8, "--resume -m 50");
  CHECK(e.rc == 1);
  CHECK(has(e.out, "was trained with -m 60; this run has -m 50"));
  e = train("part.ckpt", "e.csv", 8, "--resume --batch-size 16");
  CHECK(e.rc == 1);
  CHECK(has(e.out, "was trained with --batch-size 32; this run has --batch-size 16"));
  e = train("part.ckpt", "e.csv", 8, "--resume --data '" + write_tune(dir) + "'");
  CHECK(e.rc == 1);
  CHECK(has(e.out, "was trained with --data ''; this run has --data"));
  e = train("part.ckpt", "e.csv", 4, "--resume");
  CHECK(has(e.out, "is at epoch 6, past the 4"));
}

TEST_CASE("Jazz.Sampling") {
  TempDir dir;
  const std::string ckpt = dir / "j.ckpt";
  REQUIRE(graph_run(fmt::format("jazz train --epochs 20 --checkpoint '{}' --quiet", ckpt)).rc == 0);
  const JazzCorpus c = load_jazz_corpus(kMetheny);

  // greedy (the course's argmax): the values as labels, then a summary; the
  // same every time, whatever the seed
  Result s = graph_run(fmt::format("jazz sample --checkpoint '{}' -o '{}'", ckpt, dir / "solo.mid"), true);
  REQUIRE(s.rc == 0);
  const auto out = lines_of(s.out);
  REQUIRE(out.size() == 2);
  const auto labels = words_of(out[0]);
  REQUIRE(labels.size() == 50);
  std::vector<int> ids;
  for (auto& l : labels) {
    INFO(l);
    ids.push_back(c.vocab.index_of(l));
    CHECK(ids.back() >= 0);
  }
  const auto notes = notes_from_values(ids, c.vocab, render_options(c));
  const auto rests = size_t(std::count_if(labels.begin(), labels.end(),
                                          [](const std::string& l) { return l.starts_with("rest:"); }));
  CHECK(notes.size() == 50 - rests);
  CHECK(has(out[1], fmt::format("jazz: 50 values -> {} notes, ", notes.size())));
  CHECK(has(out[1], "at 112 bpm -> " + (dir / "solo.mid")));

  // the file: the notes of those values, at the piece's tempo, on the guitar
  const MidiFile f = read_midi(dir / "solo.mid");
  CHECK(f.ticks_per_quarter == 96);
  REQUIRE(f.tempos.size() == 1);
  CHECK(f.tempos[0].bpm() == doctest::Approx(112.0).epsilon(1e-5));
  REQUIRE(f.notes.size() == notes.size());
  for (size_t i = 0; i < notes.size(); ++i) {
    INFO("note ", i);
    CHECK(f.notes[i].pitch == notes[i].pitch);
    CHECK(f.notes[i].start_tick == notes[i].start_tick);
    CHECK(f.notes[i].end_tick == notes[i].end_tick);
    CHECK(f.notes[i].pitch >= c.low_pitch);
    CHECK(f.notes[i].pitch <= c.high_pitch);
  }
  CHECK(std::any_of(f.events.begin(), f.events.end(), [](const ChannelEvent& e) {
    return e.kind == ChannelEvent::program_change && e.data1 == 26;
  }));
  Result again = graph_run(fmt::format("jazz sample --checkpoint '{}' -o '{}' --seed 9", ckpt,
                                       dir / "again.mid"), true);
  REQUIRE(again.rc == 0);
  CHECK(lines_of(again.out)[0] == out[0]);
  CHECK(read_file(dir / "again.mid") == read_file(dir / "solo.mid"));

  // with a temperature: drawn with the seed, repeatable
  auto drawn = [&](int seed) {
    Result d = graph_run(fmt::format("jazz sample --checkpoint '{}' -o '{}' --temperature 1 --seed {} "
                                     "--length 30", ckpt, dir / "t.mid", seed), true);
    REQUIRE(d.rc == 0);
    return lines_of(d.out)[0];
  };
  CHECK(words_of(drawn(1)).size() == 30);
  CHECK(drawn(1) == drawn(1));
  CHECK(drawn(1) != drawn(2));
  CHECK(drawn(1) != out[0]);
  Result q = graph_run(fmt::format("jazz sample --checkpoint '{}' -o '{}' --quiet", ckpt, dir / "q.mid"));
  CHECK(lines_of(q.out).size() == 1);

  // errors a user can make
  Result e = graph_run(fmt::format("jazz sample --checkpoint '{}' -o '{}'", dir / "none.ckpt", dir / "x.mid"));
  CHECK(e.rc == 1);
  CHECK(has(e.out, "there is no checkpoint '" + (dir / "none.ckpt") + "': train first"));
  e = graph_run(fmt::format("jazz sample --checkpoint '{}' --length 0", ckpt));
  CHECK(e.rc == 2);
  CHECK(has(e.out, "--length must be an integer >= 1, got '0'"));
  e = graph_run(fmt::format("jazz sample --checkpoint '{}' --temperature -1", ckpt));
  CHECK(e.rc == 2);
  CHECK(has(e.out, "--temperature must be a number >= 0, got '-1'"));
  e = graph_run(fmt::format("jazz sample --checkpoint '{}' --epochs 5", ckpt));
  CHECK(e.rc == 2); // a train option
  // a checkpoint of another piece: another vocabulary
  const std::string tune = write_tune(dir);
  REQUIRE(graph_run(fmt::format("jazz train --data '{}' --epochs 2 --checkpoint '{}' --quiet", tune,
                                dir / "tune.ckpt")).rc == 0);
  e = graph_run(fmt::format("jazz sample --checkpoint '{}' -o '{}'", dir / "tune.ckpt", dir / "x.mid"));
  CHECK(e.rc == 1);
  CHECK(has(e.out, "was trained on another vocabulary than the 82 values"));
  Result t = graph_run(fmt::format("jazz sample --data '{}' --checkpoint '{}' -o '{}' --length 8", tune,
                                   dir / "tune.ckpt", dir / "tune_solo.mid"), true);
  CHECK(t.rc == 0);
  CHECK(words_of(lines_of(t.out)[0]).size() == 8);
}

TEST_CASE("Jazz.Predict") {
  TempDir dir;
  const std::string ckpt = dir / "j.ckpt";
  REQUIRE(graph_run(fmt::format("jazz train --epochs 3 --checkpoint '{}' --quiet", ckpt)).rc == 0);
  // three short windows of the piece, 7 steps each, one-hot (3, 7, 82) as X
  const JazzCorpus c = load_jazz_corpus(kMetheny);
  const Tensor X = one_hot(windows(c, 3, 7, 5)).first;
  REQUIRE(X.shape() == Shape{3, 7, 82});
  save_npy(dir / "x.npy", X);
  Result r = graph_run(fmt::format("jazz predict X='{}' --output-dir '{}' --checkpoint '{}'", dir / "x.npy",
                                   dir / "out", ckpt));
  INFO(r.out);
  REQUIRE(r.rc == 0);
  const std::string y_hat = dir / "out/y_hat.npy";
  CHECK(has(r.out, "y_hat  (7, 3, 82)  -> " + y_hat));
  const Tensor P = load_npy(y_hat);
  REQUIRE(P.shape() == Shape{7, 3, 82}); // the course's list of Tx outputs (batch, n_values), stacked
  for (int64_t row = 0; row < 7 * 3; ++row) {
    double total = 0;
    for (int64_t v = 0; v < 82; ++v) total += P.at(row * 82 + v);
    CHECK(total == doctest::Approx(1.0).epsilon(1e-5));
  }

  // the model's predict in process, on the checkpoint's weights: the same bits
  ParamStore params;
  train::load_params(ckpt, "jazz", params);
  fit::Network net(jazz::spec(), params, 0);
  const Tensor Q = net.predict({{"X", X}}).at("y_hat");
  REQUIRE(Q.shape() == P.shape());
  CHECK(std::memcmp(P.raw(), Q.raw(), P.nbytes()) == 0);

  // and an independent computation in double: Keras' LSTM (gates i, f, c, o;
  // a⟨0⟩ = c⟨0⟩ = 0) and the softmax of a W + b at every step
  const Tensor &W = params.at("lstm/kernel"), &U = params.at("lstm/recurrent_kernel"), &bl = params.at("lstm/bias");
  const Tensor &Wd = params.at("dense/kernel"), &bd = params.at("dense/bias");
  const int64_t V = 82, u = jazz::n_a;
  auto sigmoid = [](double z) { return 1 / (1 + std::exp(-z)); };
  double worst = 0;
  for (int64_t b = 0; b < 3; ++b) {
    std::vector<double> a(size_t(u), 0.0), cell(size_t(u), 0.0), z(size_t(4 * u), 0.0), logits(size_t(V), 0.0);
    for (int64_t t = 0; t < 7; ++t) {
      for (int64_t k = 0; k < 4 * u; ++k) {
        double s = bl.at(k);
        for (int64_t i = 0; i < V; ++i) s += X.at((b * 7 + t) * V + i) * W.at(i * 4 * u + k);
        for (int64_t j = 0; j < u; ++j) s += a[size_t(j)] * U.at(j * 4 * u + k);
        z[size_t(k)] = s;
      }
      for (int64_t j = 0; j < u; ++j) {
        const auto J = size_t(j), U1 = size_t(u);
        cell[J] = sigmoid(z[U1 + J]) * cell[J] + sigmoid(z[J]) * std::tanh(z[2 * U1 + J]);
        a[J] = sigmoid(z[3 * U1 + J]) * std::tanh(cell[J]);
      }
      double top = -HUGE_VAL, total = 0;
      for (int64_t v = 0; v < V; ++v) {
        double s = bd.at(v);
        for (int64_t j = 0; j < u; ++j) s += a[size_t(j)] * Wd.at(j * V + v);
        logits[size_t(v)] = s;
        top = std::max(top, s);
      }
      for (double& l : logits) total += (l = std::exp(l - top));
      for (int64_t v = 0; v < V; ++v)
        worst = std::max(worst, std::abs(P.at((t * 3 + b) * V + v) - logits[size_t(v)] / total));
    }
  }
  CHECK(worst < 1e-5); // float32 against double

  // an input the model does not have
  r = graph_run(fmt::format("jazz predict Y='{}' --checkpoint '{}'", dir / "x.npy", ckpt));
  CHECK(r.rc != 0);
  CHECK(has(r.out, "jazz has no input 'Y'; its inputs: X"));
}

TEST_CASE("Jazz.Wav") {
  TempDir dir;
  // no renderer on PATH: none found, and the message says what to install
  CHECK(find_renderer("a.mid", "a.wav", "").program.empty());
  CHECK(find_renderer("a.mid", "a.wav", dir.path.string()).program.empty());
  CHECK(has(no_renderer_message("a.mid", "a.wav"), "apt-get install timidity"));
  CHECK(has(no_renderer_message("a.mid", "a.wav"), "timidity -Ow -o a.wav a.mid"));

  const std::string ckpt = dir / "j.ckpt";
  REQUIRE(graph_run(fmt::format("jazz train --epochs 1 --checkpoint '{}' --quiet", ckpt)).rc == 0);
  Result r = graph_run(fmt::format("jazz sample --checkpoint '{}' -o '{}' --wav '{}'", ckpt, dir / "s.mid",
                                   dir / "s.wav"),
                       false, "PATH=");
  CHECK(r.rc == 1);
  CHECK(has(r.out, "graph-run: error: cannot render '" + (dir / "s.wav") + "': neither timidity nor "
                   "fluidsynth"));
  CHECK(has(r.out, "apt-get install timidity"));
  CHECK(!read_midi(dir / "s.mid").notes.empty()); // the MIDI file is written all the same
  CHECK(!std::filesystem::exists(dir / "s.wav"));

  // a renderer found on PATH runs as `timidity -Ow -o out.wav in.mid` (here
  // a stand-in script that writes its third argument)
  const std::filesystem::path bin = dir.path / "bin";
  std::filesystem::create_directories(bin);
  std::ofstream(bin / "timidity") << "#!/bin/sh\nprintf 'RIFF' > \"$3\"\n";
  std::filesystem::permissions(bin / "timidity", std::filesystem::perms::owner_all);
  const Renderer found = find_renderer("a.mid", "a.wav", "/nonexistent:" + bin.string());
  CHECK(found.program == (bin / "timidity").string());
  CHECK(found.args == std::vector<std::string>{"-Ow", "-o", "a.wav", "a.mid"});
  r = graph_run(fmt::format("jazz sample --checkpoint '{}' -o '{}' --wav '{}'", ckpt, dir / "s.mid",
                            dir / "s.wav"),
                false, "PATH='" + bin.string() + "'");
  CHECK(r.rc == 0);
  CHECK(has(r.out, "jazz: rendered " + (dir / "s.wav") + " with timidity (4 bytes)"));
  CHECK(read_file(dir / "s.wav") == "RIFF");
  // a renderer that fails
  std::ofstream(bin / "timidity") << "#!/bin/sh\nexit 3\n";
  r = graph_run(fmt::format("jazz sample --checkpoint '{}' -o '{}' --wav '{}'", ckpt, dir / "s.mid",
                            dir / "f.wav"),
                false, "PATH='" + bin.string() + "'");
  CHECK(r.rc == 1);
  CHECK(has(r.out, "timidity failed to render"));
  CHECK(has(r.out, "(exit status 3)"));
}

TEST_CASE("Jazz.Graphs") {
  TempDir dir;
  // the unrolled training graph (5 steps by default; --input X=x.npy of
  // shape (m, Tx, n_values) for another size), with Adam's nodes if asked
  Result r = graph_run(fmt::format("dot jazz --backward --ops -o '{}'", dir / "train.dot"));
  REQUIRE(r.rc == 0);
  const std::string dot = read_file(dir / "train.dot");
  CHECK(has(dot, "t5/lstm"));
  CHECK(!has(dot, "t6/"));
  CHECK(has(dot, "adam/"));
  CHECK(has(dot, "lstm/recurrent_kernel"));
  CHECK(has(dot, "dense/kernel"));
  r = graph_run(fmt::format("dot jazz --graph sample_step -o '{}'", dir / "step.dot"));
  REQUIRE(r.rc == 0);
  CHECK(has(read_file(dir / "step.dot"), "y_hat"));
  // every gradient of both graphs against finite differences
  r = graph_run("gradcheck jazz");
  CHECK(r.rc == 0);
  CHECK(has(r.out, "loss    lstm/recurrent_kernel"));
  r = graph_run("gradcheck jazz --graph sample_step --quiet");
  CHECK(r.rc == 0);
}

TEST_CASE("Jazz.Help") {
  Result r = graph_run("jazz --help");
  CHECK(r.rc == 0);
  CHECK(has(r.out, "--epochs"));
  CHECK(has(r.out, "--epochs INT (>= 1, default 100)"));
  CHECK(has(r.out, "(train only)"));
  CHECK(has(r.out, "--checkpoint FILE (default jazz.ckpt)"));
  r = graph_run("sample jazz --help");
  CHECK(r.rc == 0);
  CHECK(has(r.out, "--wav"));
  CHECK(has(r.out, "--temperature"));
  CHECK(!has(r.out, "--epochs"));
}
