// Training progress, as Keras shows it. On a terminal, one bar redrawn in
// place (at most ten times a second):
//
//     4000/22001 [=====>........................] - 12s - ETA 54s - loss: 31.2042
//
// with reports and samples printed as permanent lines above it. When stdout
// is not a terminal (a log file, a pipe), no bar: only the reports, one plain
// line each. Quiet: nothing but the final summary (errors go to stderr
// anyway).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace sg::train {

enum class ProgressMode : uint8_t { bar, lines, quiet };

// quiet if asked, else a bar when `out` is a terminal, else plain lines.
ProgressMode progress_mode(bool quiet, std::FILE* out = stdout);

// "7s", "1:04", "2:03:09" (Keras' ETA format).
std::string format_duration(double seconds);
// The bar line: "  4000/22001 [=====>......] - 12s - ETA 54s - loss: 31.2042"
// (the count right-aligned to the width of `total`; no ETA once done == total;
// eta < 0: none shown).
std::string format_bar(int64_t done, int64_t total, double elapsed, double eta, double loss,
                       int width = 30);

// The bar line with `metrics` after the loss, fitted to a terminal of
// `columns` (0: no limit): the bar narrows (to 5 at least), then the line is
// cut, so that it never wraps.
std::string format_line(int64_t done, int64_t total, double elapsed, double eta, double loss,
                        const std::string& metrics, int columns);

class Progress {
public:
  // `total` steps in all; `done` of them were done before this run (a resumed
  // run): the ETA is measured on the steps this run does.
  Progress(int64_t total, int64_t done, ProgressMode mode, std::FILE* out = stdout);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // `done` steps done, the running loss: redraws the bar when 0.1 s have
  // passed since the last draw, or when done == total.
  // `metrics`: shown after the loss, e.g. "accuracy: 0.8750 - val_loss: 0.5119".
  void update(int64_t done, double loss, const std::string& metrics = {});
  // Permanent text (a newline is added if missing): above the bar, or as
  // plain lines; nothing when quiet.
  void print(const std::string& text);
  // Ends the bar's line, then prints `summary` (if any) in every mode.
  void finish(const std::string& summary = {});

  double elapsed() const; // seconds since this run started
  ProgressMode mode() const { return mode_; }

private:
  void draw();
  void erase();

  int64_t total_, start_, done_;
  double loss_ = 0;
  std::string metrics_;
  ProgressMode mode_;
  std::FILE* out_;
  std::chrono::steady_clock::time_point t0_, last_draw_{};
  bool drawn_ = false, finished_ = false;
};

} // namespace sg::train
