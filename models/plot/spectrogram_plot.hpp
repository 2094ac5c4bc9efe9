// A clip as the trigger-word assignment shows it: its spectrogram (matplotlib's
// specgram image: time across, frequency up, 10 log10 of the power in the
// viridis colour map) above the model's output probability against time,
// the threshold dashed and the chimes as red lines, drawn with cairo as
// PNG, SVG or PDF.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sg::plot {

struct SpectrogramPlot {
  std::string title;
  int64_t frames = 0, bins = 0;
  std::vector<double> power; // frames x bins, frame-major (audio::Spectrogram::values)
  double max_hz = 4000;      // the top bin's frequency
  double duration_ms = 0;    // the clip's
  std::vector<double> track_ms;
  std::vector<float> track_p;
  double threshold = 0.5;
  std::vector<double> chimes_ms;
};

// std::invalid_argument for another extension (checked first), a power of
// the wrong size, or a track whose times and probabilities differ in
// number; IoError if the file cannot be written.
void write_spectrogram_plot(const std::string& path, const SpectrogramPlot& p);

} // namespace sg::plot
