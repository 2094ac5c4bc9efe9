// A matrix as a heat map with labelled rows and columns (the course's
// plot_attention_map: matplotlib's imshow with the "Blues" colour map and a
// horizontal colour bar), drawn with cairo as PNG, SVG or PDF.
#pragma once

#include "models/plot/canvas.hpp"

#include <string>
#include <vector>

namespace sg::plot {

struct Heatmap {
  std::string title, x_title, y_title;
  std::vector<std::vector<double>> values; // rows of equal length
  std::vector<std::string> x_labels;       // one per column (drawn at 45 degrees)
  std::vector<std::string> y_labels;       // one per row
  std::string scale_title = "Alpha value (the softmax's probability)";
};

// std::invalid_argument unless `path` ends in .png, .svg or .pdf (checked
// before any work).
void check_format(const std::string& path);
// Writes the map: the colour scale runs from 0 (white) to the largest value
// (dark blue); a non-finite value is drawn grey. std::invalid_argument for
// ragged rows, label counts that do not match or an empty matrix; IoError if
// the file cannot be written.
void write_heatmap(const std::string& path, const Heatmap& m);

// The "Blues" colour at t in [0, 1] (clamped; NaN as 0).
Rgb blues(double t);

} // namespace sg::plot
